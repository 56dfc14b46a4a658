//! What the behaviour table of the integration tests does not show: axum's
//! own `Option<...>` semantics, routes without the layer, custom realms.

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use fedauth_axum::{AuthError, Claims, ErrorCode, FedAuthLayer, Rejection, require_role};
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tower_fedauth::registration::{Provider, Registration};
use tower_fedauth::registry::InMemoryRegistry;
use tower_fedauth::testkit::MockIdp;
use tower_fedauth::{Authenticator, PropertyResolver};

#[derive(Deserialize)]
struct NeedsTenant {
    tenant: String,
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

async fn call(
    app: &Router,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, Option<String>, Value, Option<AuthError>) {
    let mut req = Request::get(uri);
    if let Some(token) = token {
        req = req
            .header("authorization", format!("Bearer {token}"))
            .header("x-sc-auth", "quid-1");
    }
    let resp: Response = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts
            .headers
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned()),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        parts.extensions.get::<AuthError>().cloned(),
    )
}

#[tokio::test]
async fn optional_claims_are_none_when_anonymous_and_refused_when_they_do_not_fit() {
    let idp = MockIdp::start().await;
    let app = Router::new()
        .route(
            "/maybe",
            get(|claims: Option<Claims<NeedsTenant>>| async move {
                axum::Json(json!({"tenant": claims.map(|c| c.0.tenant)}))
            }),
        )
        .layer(FedAuthLayer::optional(authenticator(&idp, "fedauth")));

    let (status, _, body, _) = call(&app, "/maybe", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"tenant": null})));
    let with_tenant = idp.token().claim("tenant", "t-1").sign(&idp.signing_key());
    let (status, _, body, _) = call(&app, "/maybe", Some(&with_tenant)).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"tenant": "t-1"})));
    let (status, www, body, error) = call(&app, "/maybe", Some(&idp.mint())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "invalid_claims");
    assert_eq!(
        body["details"][0]["msg"],
        "the claim `tenant` required by the handler is missing"
    );
    assert_eq!(error.map(|e| e.code()), Some(ErrorCode::InvalidClaims));
    assert_eq!(
        www.as_deref(),
        Some(
            "Bearer realm=\"fedauth\", error=\"invalid_token\", error_description=\"The token's claims are invalid.\""
        )
    );
}

#[tokio::test]
async fn wrong_types_are_refused_without_quoting_the_claim() {
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct NumericSub {
        sub: u64,
    }
    let idp = MockIdp::start().await;
    let app = Router::new()
        .route("/n", get(|_: Claims<NumericSub>| async { "unreachable" }))
        .layer(FedAuthLayer::new(authenticator(&idp, "fedauth")));
    let (status, _, body, _) = call(&app, "/n", Some(&idp.mint())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["details"][0]["msg"],
        "a claim does not have the type the handler requires"
    );
    assert!(!body.to_string().contains("alice"), "{body}");
}

#[tokio::test]
async fn without_the_layer_extractors_refuse_with_missing_token() {
    let idp = MockIdp::start().await;
    let app = Router::new().route(
        "/no-layer",
        get(|_: fedauth_axum::Auth| async { "unreachable" }),
    );
    let (status, www, body, error) = call(&app, "/no-layer", Some(&idp.mint())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(www.as_deref(), Some("Bearer realm=\"fedauth\""));
    assert_eq!(
        body,
        json!({"code": "missing_token", "message": "The Authorization header is missing.",
               "details": [{"value": null, "msg": "no verified credentials for this route",
                            "param": "Authorization", "location": "header"}]})
    );
    assert_eq!(error.map(|e| e.code()), Some(ErrorCode::MissingToken));
    let (_, _, body, _) = call(&app, "/no-layer", None).await;
    assert_eq!(body["details"][0]["msg"], "no Authorization header");
}

#[tokio::test]
async fn role_refusals_can_use_the_authenticators_realm() {
    let idp = MockIdp::start().await;
    let auth = authenticator(&idp, "api");
    let app = Router::new()
        .route(
            "/properties/{property}/admin",
            get(|| async { "admin" }).route_layer(require_role("admin").rendered_by(&auth)),
        )
        .route(
            "/properties/{property}/plain",
            get(|| async { "admin" }).route_layer(require_role("admin")),
        )
        .layer(FedAuthLayer::new(auth));
    let token = idp.mint();
    let (status, www, body, error) = call(&app, "/properties/property-7/admin", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        www.as_deref(),
        Some(
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"The application does not hold the role this route requires.\""
        )
    );
    assert_eq!(body["details"][0]["value"], "admin");
    assert_eq!(error.map(|e| e.code()), Some(ErrorCode::InsufficientRole));
    let (_, www, _, _) = call(&app, "/properties/property-7/plain", Some(&token)).await;
    assert!(
        www.unwrap()
            .starts_with("Bearer realm=\"fedauth\", error=\"insufficient_scope\"")
    );
}

#[test]
fn rejection_keeps_the_typed_error() {
    let error = AuthError::token(ErrorCode::TokenExpired, "exp 1 is before now minus leeway");
    let rejection = Rejection::from(error.clone());
    assert_eq!(rejection.error(), &error);
    assert_eq!(
        rejection.to_string(),
        "token_expired: exp 1 is before now minus leeway"
    );
    assert_eq!(rejection.into_error(), error);
}
