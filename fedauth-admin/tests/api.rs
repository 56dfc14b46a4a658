//! The admin API's behaviour table, through axum and actix-web alike: real
//! HTTP on 127.0.0.1, the memory store, a mock IdP with real keys behind
//! the test egress policy.

mod common;

#[path = "api/audit.rs"]
mod audit;
#[path = "api/auth.rs"]
mod auth;
#[path = "api/errors.rs"]
mod errors;
#[path = "api/idp.rs"]
mod idp;
#[path = "api/openapi.rs"]
mod openapi;
#[path = "api/properties.rs"]
mod properties;
#[path = "api/reference.rs"]
mod reference;
#[path = "api/registrations.rs"]
mod registrations;
#[path = "api/secrets.rs"]
mod secrets;
