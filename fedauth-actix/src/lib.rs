//! actix-web integration of [`tower_fedauth`]: the [`FedAuth`] middleware,
//! extractors for what it verified, and route requirements (roles,
//! scopes, step-up).
//!
//! [`FedAuth`] drives the same [`Authenticator`] as the tower layer and
//! refuses with the same status, `code`, JSON body and headers (every
//! code: `docs/refusals.md` in the repository). Handlers take [`Auth`],
//! [`Claims<T>`](Claims), [`Roles`] or [`Principal`] (each also as
//! `Option<...>`, `None` when absent); [`require_role`] and [`RequireRole`]
//! refuse applications that lack a role with 403 `insufficient_role`;
//! [`require_scope`] and [`RequireScope`] tokens that lack an OAuth scope
//! with 403 `insufficient_scope`; [`require_step_up`] and
//! [`RequireStepUp`] users whose authentication is not strong or recent
//! enough with 401 `insufficient_user_authentication` (RFC 9470).
//!
//! ```
//! use actix_web::{App, HttpResponse, web};
//! use fedauth_actix::{Auth, Claims, FedAuth, Roles, require_role};
//! use tower_fedauth::{Authenticator, PropertyResolver};
//!
//! async fn whoami(Auth(ctx): Auth, Claims(claims): Claims, Roles(roles): Roles) -> HttpResponse {
//!     HttpResponse::Ok().json(serde_json::json!({
//!         "registration": ctx.registration_id(),
//!         "sub": claims.sub,
//!         "roles": roles,
//!     }))
//! }
//!
//! fn routes(auth: Authenticator) -> impl FnOnce(&mut web::ServiceConfig) {
//!     move |cfg| {
//!         cfg.service(web::resource("/whoami").wrap(FedAuth::new(auth.clone())).route(web::get().to(whoami)))
//!             .service(
//!                 web::resource("/properties/{property}/admin")
//!                     .wrap(require_role("admin"))
//!                     .wrap(FedAuth::new(auth))
//!                     .route(web::get().to(whoami)),
//!             );
//!     }
//! }
//! # fn demo(auth: Authenticator) { let _ = App::new().configure(routes(auth)); }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod extract;
mod middleware;
mod require;
mod response;

pub use extract::{Auth, Claims, Principal, RequireRole, RequireScope, RequireStepUp, Roles};
pub use middleware::{FedAuth, FedAuthMiddleware};
pub use require::{
    RequireGuard, RequireGuardMiddleware, require, require_role, require_scope, require_step_up,
};
pub use response::{ActixRequestView, DEFAULT_REALM, Rejection, refusal_response};
pub use tower_fedauth::adapter::{Requirement, RoleName, ScopeName, StepUpPolicy};

pub use tower_fedauth;
pub use tower_fedauth::{
    AuthContext, AuthError, Authenticator, ErrorCode, PropertyResolver, StandardClaims,
};
