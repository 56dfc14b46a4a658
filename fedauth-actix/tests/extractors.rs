//! What the behaviour table of the integration tests does not show:
//! actix's `Option<...>` semantics, routes without the middleware, custom
//! realms, the typed error in response extensions.

use actix_web::body::to_bytes;
use actix_web::dev::ServiceResponse;
use actix_web::{App, HttpResponse, test, web};
use fedauth_actix::{AuthError, Claims, ErrorCode, FedAuth, RequireRole, RoleName, require_role};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_fedauth::registration::{Provider, Registration};
use tower_fedauth::registry::InMemoryRegistry;
use tower_fedauth::testkit::MockIdp;
use tower_fedauth::{Authenticator, PropertyResolver};

#[derive(Deserialize)]
struct NeedsTenant {
    tenant: String,
}

struct Admin;
impl RoleName for Admin {
    const NAME: &'static str = "admin";
}

fn authenticator(idp: &MockIdp, realm: &str) -> Authenticator {
    let registration = Registration::builder("quid-1", Provider::Jwks)
        .client_id("app-1")
        .issuer(idp.issuer())
        .jwks_uri(idp.jwks_uri())
        .property("property-7", ["reader"])
        .build()
        .unwrap();
    Authenticator::builder(InMemoryRegistry::new(vec![registration]).unwrap())
        .egress(tower_fedauth::testkit::local_egress())
        .property(PropertyResolver::PathSegmentAfter("properties".into()))
        .realm(realm)
        .build()
}

fn request(uri: &str, token: Option<&str>) -> test::TestRequest {
    let mut req = test::TestRequest::get().uri(uri);
    if let Some(token) = token {
        req = req
            .insert_header(("authorization", format!("Bearer {token}")))
            .insert_header(("x-sc-auth", "quid-1"));
    }
    req
}

async fn answer<B: actix_web::body::MessageBody>(
    resp: ServiceResponse<B>,
) -> (u16, Option<String>, Value, Option<AuthError>) {
    let status = resp.status().as_u16();
    let www = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let error = resp.response().extensions().get::<AuthError>().cloned();
    let bytes = to_bytes(resp.into_body()).await.ok().unwrap();
    (
        status,
        www,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        error,
    )
}

#[actix_web::test]
async fn option_is_none_when_anonymous_or_when_claims_do_not_fit() {
    let idp = MockIdp::start().await;
    let app = test::init_service(
        App::new().service(
            web::resource("/maybe")
                .wrap(FedAuth::optional(authenticator(&idp, "fedauth")))
                .route(
                    web::get().to(|claims: Option<Claims<NeedsTenant>>| async move {
                        HttpResponse::Ok().json(json!({"tenant": claims.map(|c| c.0.tenant)}))
                    }),
                ),
        ),
    )
    .await;
    let resp = test::call_service(&app, request("/maybe", None).to_request()).await;
    assert_eq!(answer(resp).await.2, json!({"tenant": null}));
    let with_tenant = idp.token().claim("tenant", "t-1").sign(&idp.signing_key());
    let resp = test::call_service(&app, request("/maybe", Some(&with_tenant)).to_request()).await;
    assert_eq!(answer(resp).await.2, json!({"tenant": "t-1"}));
    // actix-web's `Option<T>` swallows the refusal.
    let resp = test::call_service(&app, request("/maybe", Some(&idp.mint())).to_request()).await;
    assert_eq!(answer(resp).await.2, json!({"tenant": null}));
    // Invalid credentials are still refused by the middleware.
    let resp = test::call_service(&app, request("/maybe", Some("not-a-jwt")).to_request()).await;
    let (status, _, body, error) = answer(resp).await;
    assert_eq!(
        (status, body["code"].clone()),
        (401, json!("malformed_token"))
    );
    assert_eq!(error.map(|e| e.code()), Some(ErrorCode::MalformedToken));
}

#[actix_web::test]
async fn without_the_middleware_extractors_refuse_with_missing_token() {
    let idp = MockIdp::start().await;
    let app = test::init_service(App::new().route(
        "/no-layer",
        web::get().to(|_: fedauth_actix::Auth| async { "unreachable" }),
    ))
    .await;
    let resp = test::call_service(&app, request("/no-layer", Some(&idp.mint())).to_request()).await;
    let (status, www, body, error) = answer(resp).await;
    assert_eq!(
        (status, www.as_deref()),
        (401, Some("Bearer realm=\"fedauth\""))
    );
    assert_eq!(
        body,
        json!({"code": "missing_token", "message": "The Authorization header is missing.",
               "details": [{"value": null, "msg": "no verified credentials for this route",
                            "param": "Authorization", "location": "header"}]})
    );
    assert_eq!(error.map(|e| e.code()), Some(ErrorCode::MissingToken));
}

#[actix_web::test]
async fn role_refusals_can_use_the_authenticators_realm() {
    let idp = MockIdp::start().await;
    let auth = authenticator(&idp, "api");
    let app = test::init_service(
        App::new()
            .service(
                web::resource("/properties/{property}/admin")
                    .wrap(require_role("admin").rendered_by(&auth))
                    .wrap(FedAuth::new(auth.clone()))
                    .route(web::get().to(|| async { "admin" })),
            )
            .service(
                web::resource("/properties/{property}/typed")
                    .wrap(FedAuth::new(auth))
                    .route(web::get().to(|_: RequireRole<Admin>| async { "admin" })),
            ),
    )
    .await;
    let token = idp.mint();
    let resp = test::call_service(
        &app,
        request("/properties/property-7/admin", Some(&token)).to_request(),
    )
    .await;
    let (status, www, body, error) = answer(resp).await;
    assert_eq!(status, 403);
    assert_eq!(
        www.as_deref(),
        Some(
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"The application does not hold the role this route requires.\""
        )
    );
    assert_eq!(body["details"][0]["value"], "admin");
    assert_eq!(error.map(|e| e.code()), Some(ErrorCode::InsufficientRole));
    // The extractor has no authenticator at hand: the default realm.
    let resp = test::call_service(
        &app,
        request("/properties/property-7/typed", Some(&token)).to_request(),
    )
    .await;
    let (status, www, _, error) = answer(resp).await;
    assert_eq!(status, 403);
    assert!(
        www.unwrap()
            .starts_with("Bearer realm=\"fedauth\", error=\"insufficient_scope\"")
    );
    assert_eq!(error.map(|e| e.code()), Some(ErrorCode::InsufficientRole));
}
