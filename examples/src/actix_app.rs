//! The routes of `actix-server`: the fedauth-actix middleware and
//! extractors.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use fedauth_actix::{Auth, Claims, FedAuth, Principal, Rejection, Roles, require_role};
use serde_json::Value;
use tower_fedauth::AuthError;

use crate::{AppState, METRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, WhoAmI};

/// Every route of the example servers (`examples/README.md`), for
/// `App::configure`.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let auth = state.auth.clone();
        // `/admin/v1/...` with `--admin-token` (fedauth-admin's scope).
        if let Some(api) = state.admin.clone() {
            cfg.service(fedauth_admin::actix::scope(api));
        }
        cfg.app_data(web::Data::new(state))
            .route("/health", web::get().to(health))
            .route("/ready", web::get().to(ready))
            .route("/metrics", web::get().to(metrics))
            .service(
                web::resource("/whoami")
                    .wrap(FedAuth::new(auth.clone()))
                    .route(web::get().to(whoami)),
            )
            .service(
                web::resource("/properties/{property}/whoami")
                    .wrap(FedAuth::new(auth.clone()))
                    .route(web::get().to(whoami)),
            )
            .service(
                web::resource("/properties/{property}/admin")
                    .wrap(require_role("admin").rendered_by(&auth))
                    .wrap(FedAuth::new(auth.clone()))
                    .route(web::get().to(admin)),
            )
            .service(
                web::resource("/scopes/{scope}/whoami")
                    .wrap(FedAuth::new(auth.clone()))
                    .route(web::get().to(scope_whoami)),
            )
            .service(
                web::resource("/step-up/whoami")
                    .wrap(FedAuth::new(auth))
                    .route(web::get().to(step_up_whoami)),
            );
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("content-type", content_type))
        .body(body)
}

async fn health() -> HttpResponse {
    text(StatusCode::OK, TEXT_CONTENT_TYPE, "ok".to_owned())
}

async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (status, body) = state.readiness();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    text(status, TEXT_CONTENT_TYPE, body.to_owned())
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    text(StatusCode::OK, METRICS_CONTENT_TYPE, state.render_metrics())
}

/// Borrows everything from the context.
async fn whoami(Auth(ctx): Auth) -> HttpResponse {
    HttpResponse::Ok().json(crate::whoami_of(&ctx))
}

/// The same answer through the typed extractors. `Claims<T>` deserialises
/// the claims into `T` on every request; to echo them, borrow them from
/// `Auth` as `whoami` does.
async fn admin(
    Auth(ctx): Auth,
    Roles(roles): Roles,
    Principal(principal): Principal,
    Claims(claims): Claims<Value>,
) -> HttpResponse {
    HttpResponse::Ok().json(crate::whoami(&ctx, &roles, &principal, &claims))
}

/// `whoami`, provided the token grants the scope named in the path. The
/// requirement depends on the request, so the handler checks it (a fixed
/// scope would be `.wrap(require_scope("read"))`).
async fn scope_whoami(
    state: web::Data<AppState>,
    scope: web::Path<String>,
    Auth(ctx): Auth,
) -> HttpResponse {
    let requirement = crate::requirements::scope(scope.into_inner());
    respond(
        &state,
        crate::requirements::whoami_if(&ctx, Ok(requirement)),
    )
}

/// `whoami`, provided the user's authentication meets the query's step-up
/// rule (a fixed rule would be `.wrap(require_step_up(..))`).
async fn step_up_whoami(
    state: web::Data<AppState>,
    query: web::Query<Vec<(String, String)>>,
    Auth(ctx): Auth,
) -> HttpResponse {
    let requirement = crate::requirements::step_up(&query);
    respond(&state, crate::requirements::whoami_if(&ctx, requirement))
}

/// The `whoami` answer, or the refusal rendered by the server's
/// authenticator.
fn respond(state: &AppState, answer: Result<WhoAmI<'_>, AuthError>) -> HttpResponse {
    match answer {
        Ok(whoami) => HttpResponse::Ok().json(whoami),
        Err(error) => Rejection::from(error).render_with(&state.auth),
    }
}
