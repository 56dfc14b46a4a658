//! The example servers as real processes (one test binary).

mod admin;
mod admin_errors;
mod admin_flow;
mod admin_stores;
mod basics;
mod dpop;
mod egress;
mod harness;
mod mtls;
mod routes;
