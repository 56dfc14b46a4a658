//! The routes of `axum-server`: the tower layer and the fedauth-axum
//! extractors.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use fedauth_axum::{Auth, Claims, FedAuthLayer, Principal, Rejection, Roles, require_role};
use serde_json::Value;
use tower_fedauth::AuthError;

use crate::{AppState, METRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, WhoAmI};

/// Every route of the example servers (`examples/README.md`).
pub fn router(state: AppState) -> Router {
    let auth = state.auth.clone();
    let protected = Router::new()
        .route("/whoami", get(whoami))
        .route("/properties/{property}/whoami", get(whoami))
        .route(
            "/properties/{property}/admin",
            get(admin).route_layer(require_role("admin").rendered_by(&auth)),
        )
        .route("/scopes/{scope}/whoami", get(scope_whoami))
        .route("/step-up/whoami", get(step_up_whoami))
        .route_layer(FedAuthLayer::new(auth));
    let admin = state.admin.clone();
    let router = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .merge(protected)
        .with_state(state);
    // `/admin/v1/...` with `--admin-token` (fedauth-admin's router).
    match admin {
        Some(api) => router.merge(fedauth_admin::axum::router(api)),
        None => router,
    }
}

fn text(status: StatusCode, content_type: &'static str, body: impl Into<String>) -> Response {
    let mut response = (status, body.into()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

async fn health() -> Response {
    text(StatusCode::OK, TEXT_CONTENT_TYPE, "ok")
}

async fn ready(State(state): State<AppState>) -> Response {
    let (status, body) = state.readiness();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    text(status, TEXT_CONTENT_TYPE, body)
}

async fn metrics(State(state): State<AppState>) -> Response {
    text(StatusCode::OK, METRICS_CONTENT_TYPE, state.render_metrics())
}

/// Borrows everything from the context: the route the load benchmark
/// drives (`bench/scripts/load.sh`).
async fn whoami(Auth(ctx): Auth) -> Response {
    Json(crate::whoami_of(&ctx)).into_response()
}

/// The same answer through the typed extractors. `Claims<T>` deserialises
/// the claims into `T` on every request; to echo them, borrow them from
/// `Auth` as `whoami` does.
async fn admin(
    Auth(ctx): Auth,
    Roles(roles): Roles,
    Principal(principal): Principal,
    Claims(claims): Claims<Value>,
) -> Response {
    Json(crate::whoami(&ctx, &roles, &principal, &claims)).into_response()
}

/// `whoami`, provided the token grants the scope named in the path. The
/// requirement depends on the request, so the handler checks it (a fixed
/// scope would be `route_layer(require_scope("read"))`).
async fn scope_whoami(
    State(state): State<AppState>,
    Path(scope): Path<String>,
    Auth(ctx): Auth,
) -> Response {
    let requirement = crate::requirements::scope(scope);
    respond(
        &state,
        crate::requirements::whoami_if(&ctx, Ok(requirement)),
    )
}

/// `whoami`, provided the user's authentication meets the query's step-up
/// rule (a fixed rule would be `route_layer(require_step_up(..))`).
async fn step_up_whoami(
    State(state): State<AppState>,
    Query(query): Query<Vec<(String, String)>>,
    Auth(ctx): Auth,
) -> Response {
    let requirement = crate::requirements::step_up(&query);
    respond(&state, crate::requirements::whoami_if(&ctx, requirement))
}

/// The `whoami` answer, or the refusal rendered by the server's
/// authenticator.
fn respond(state: &AppState, answer: Result<WhoAmI<'_>, AuthError>) -> Response {
    match answer {
        Ok(whoami) => Json(whoami).into_response(),
        Err(error) => Rejection::from(error).render_with(&state.auth),
    }
}
