//! axum integration of [`tower_fedauth`]: extractors for what the
//! [`FedAuthLayer`] verified, and route requirements (roles, scopes,
//! step-up).
//!
//! `Router::layer(FedAuthLayer::new(auth))` (or `route_layer`) authenticates
//! every request: the `Authorization` token against the identity provider
//! of the application named in `x-sc-auth`. Handlers then take
//! [`Auth`], [`Claims<T>`](Claims), [`Roles`] or [`Principal`]; each also
//! works as an `Option<...>` on routes under [`FedAuthLayer::optional`].
//! [`require_role`] and [`RequireRole`] refuse applications that lack a
//! role; [`require_scope`] and [`RequireScope`] tokens that lack an OAuth
//! scope; [`require_step_up`] and [`RequireStepUp`] users whose
//! authentication is not strong or recent enough (RFC 9470). Every refusal has the same status, `code`, JSON body and headers
//! (every code: `docs/refusals.md` in the repository), whether the layer,
//! an extractor or a role check refuses.
//!
//! ```
//! use axum::body::Body;
//! use axum::extract::State;
//! use axum::routing::get;
//! use axum::{Json, Router};
//! use fedauth_axum::{Auth, Claims, FedAuthLayer, Roles, require_role};
//! use http::{Request, StatusCode};
//! use serde::Deserialize;
//! use tower::ServiceExt as _;
//! use tower_fedauth::registration::{Provider, Registration};
//! use tower_fedauth::registry::InMemoryRegistry;
//! use tower_fedauth::testkit::MockIdp;
//! use tower_fedauth::{Authenticator, PropertyResolver};
//!
//! #[derive(Clone)]
//! struct AppState {
//!     greeting: &'static str,
//! }
//!
//! #[derive(Deserialize)]
//! struct MyClaims {
//!     sub: String,
//!     #[serde(default)]
//!     email: Option<String>,
//! }
//!
//! async fn whoami(
//!     State(state): State<AppState>,
//!     Auth(ctx): Auth,
//!     Claims(claims): Claims<MyClaims>,
//!     Roles(roles): Roles,
//! ) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({
//!         "greeting": state.greeting,
//!         "registration": ctx.registration_id(),
//!         "sub": claims.sub,
//!         "email": claims.email,
//!         "roles": roles,
//!     }))
//! }
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 1)]
//! # async fn main() {
//! // A local identity provider for the example; in production, the
//! // registry names each application's real IdP.
//! let idp = MockIdp::start().await;
//! let registration = Registration::builder("quid-1", Provider::Jwks)
//!     .client_id("app-1")
//!     .issuer(idp.issuer())
//!     .jwks_uri(idp.jwks_uri())
//!     .roles(["reader"])
//!     .property("property-42", ["admin"])
//!     .build()
//!     .unwrap();
//! let auth = Authenticator::builder(InMemoryRegistry::new(vec![registration]).unwrap())
//!     // The mock IdP serves plain http on 127.0.0.1: allow exactly that.
//!     .egress(tower_fedauth::testkit::local_egress())
//!     .property(PropertyResolver::PathSegmentAfter("properties".into()))
//!     .build();
//!
//! let app = Router::new()
//!     .route("/whoami", get(whoami))
//!     .route(
//!         "/properties/{property}/admin",
//!         get(whoami).route_layer(require_role("admin")),
//!     )
//!     .layer(FedAuthLayer::new(auth))
//!     .with_state(AppState { greeting: "hello" });
//!
//! let call = |uri: &str, token: Option<String>| {
//!     let mut req = Request::get(uri);
//!     if let Some(token) = token {
//!         req = req
//!             .header("authorization", format!("Bearer {token}"))
//!             .header("x-sc-auth", "quid-1");
//!     }
//!     app.clone().oneshot(req.body(Body::empty()).unwrap())
//! };
//!
//! let ok = call("/whoami", Some(idp.mint())).await.unwrap();
//! assert_eq!(ok.status(), StatusCode::OK);
//! let admin = call("/properties/property-42/admin", Some(idp.mint())).await.unwrap();
//! assert_eq!(admin.status(), StatusCode::OK);
//! let refused = call("/whoami", None).await.unwrap();
//! assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(refused.headers()["www-authenticate"], "Bearer realm=\"fedauth\"");
//! let not_admin = call("/properties/property-7/admin", Some(idp.mint())).await.unwrap();
//! assert_eq!(not_admin.status(), StatusCode::FORBIDDEN); // property_not_enabled
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod extract;
mod rejection;
mod require;

pub use extract::{Auth, Claims, Principal, RequireRole, RequireScope, RequireStepUp, Roles};
pub use rejection::{DEFAULT_REALM, Rejection};
pub use require::{
    RequireLayer, RequireService, require, require_role, require_scope, require_step_up,
};
pub use tower_fedauth::adapter::{Requirement, RoleName, ScopeName, StepUpPolicy};

pub use tower_fedauth;
pub use tower_fedauth::{
    AuthContext, AuthError, Authenticator, ErrorCode, FedAuthLayer, PropertyResolver,
    StandardClaims,
};
