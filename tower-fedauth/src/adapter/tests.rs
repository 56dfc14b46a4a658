use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use super::*;
use crate::context::{Principal, Roles};
use crate::registration::{Provider, Registration};

/// Claims from a JSON object, for the tests of this module and its parts.
pub(super) fn claims(value: serde_json::Value) -> Claims {
    match value {
        serde_json::Value::Object(map) => Claims::from_map(map),
        _ => unreachable!("test claims are objects"),
    }
}

fn context(roles: &[&str], property: Option<&str>) -> AuthContext {
    let registration = Registration::builder("quid-1", Provider::Jwks)
        .client_id("app-1")
        .issuer("https://idp.example.com")
        .jwks_uri("https://idp.example.com/jwks")
        .build()
        .unwrap();
    let claims = claims(json!({"sub": "alice", "tenant": "t-1"}));
    AuthContext::new(
        Arc::new(registration),
        Some("https://idp.example.com".into()),
        property.map(str::to_owned),
        Roles::new(roles.iter().map(|r| (*r).to_owned()).collect()),
        Principal::default(),
        claims,
    )
}

struct Admin;
impl RoleName for Admin {
    const NAME: &'static str = "admin";
}

#[derive(Deserialize)]
struct Tenant {
    tenant: String,
}

#[test]
fn without_a_context_the_refusal_is_missing_token_and_says_why() {
    let anonymous = RequestAuth::new(None, None, false).require_context();
    let unwired = RequestAuth::new(None, None, true).require_context();
    for (error, detail) in [
        (anonymous, "no Authorization header"),
        (unwired, "no verified credentials for this route"),
    ] {
        let error = error.unwrap_err();
        assert_eq!(
            (error.code(), error.detail()),
            (ErrorCode::MissingToken, detail)
        );
    }
    let nothing = RequestAuth::new(None, None, true);
    assert!(nothing.context().is_none() && nothing.claims::<Tenant>().is_none());
    let error = nothing.require_claims::<Tenant>().err().unwrap();
    assert_eq!(error.code(), ErrorCode::MissingToken);
}

#[test]
fn requirements_check_the_granted_roles() {
    let ctx = context(&["admin", "reader"], Some("property-7"));
    let found = RequestAuth::new(Some(&ctx), None, true);
    for requirement in [Requirement::role("admin"), Requirement::role_of::<Admin>()] {
        assert_eq!(requirement.as_role(), Some("admin"));
        assert!(found.require(&requirement).is_ok());
    }
    assert_eq!(Requirement::role("admin"), Requirement::role_of::<Admin>());
    assert_eq!(
        format!("{:?}", Requirement::role("admin")),
        "Role(\"admin\")"
    );

    let error = found.require(&Requirement::role("owner")).unwrap_err();
    assert_eq!(error.code(), ErrorCode::InsufficientRole);
    assert_eq!(error.value(), Some("owner"));
    assert_eq!(
        error.detail(),
        "the route requires the role `owner`, which the application does not hold in property `property-7`"
    );
}

#[test]
fn guards_render_with_the_default_realm_unless_given_an_authenticator() {
    let ctx = context(&["reader"], None);
    let guard = Guard::new(Requirement::role("admin"));
    assert_eq!(guard.requirement().as_role(), Some("admin"));
    let error = guard
        .check(RequestAuth::new(Some(&ctx), None, true))
        .unwrap_err();
    let rendered = guard.render(&error);
    assert_eq!(rendered.status, http::StatusCode::FORBIDDEN);
    let www = rendered.headers[http::header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap();
    assert!(
        www.starts_with("Bearer realm=\"fedauth\", error=\"insufficient_scope\""),
        "{www}"
    );
    let missing = guard
        .check(RequestAuth::new(None, None, false))
        .unwrap_err();
    assert_eq!(missing.code(), ErrorCode::MissingToken);
    assert_eq!(
        render_refusal(&missing, None).headers[http::header::WWW_AUTHENTICATE],
        "Bearer realm=\"fedauth\""
    );
}

#[test]
fn claims_come_from_the_request_first_then_from_the_context() {
    let ctx = context(&[], None);
    let from_context = RequestAuth::new(Some(&ctx), None, true);
    assert_eq!(
        from_context.require_claims::<Tenant>().unwrap().tenant,
        "t-1"
    );
    let own = claims(json!({"tenant": "t-2"}));
    let preferred = RequestAuth::new(Some(&ctx), Some(&own), true);
    assert_eq!(preferred.require_claims::<Tenant>().unwrap().tenant, "t-2");

    let mut extensions = http::Extensions::new();
    extensions.insert(ctx.clone());
    let headers = http::HeaderMap::new();
    let of = RequestAuth::of(&extensions, &headers);
    assert_eq!(of.context().map(AuthContext::subject), Some(ctx.subject()));
    assert_eq!(of.claims::<Tenant>().unwrap().unwrap().tenant, "t-1");
}

fn context_with(value: serde_json::Value) -> AuthContext {
    let base = context(&["reader"], None);
    AuthContext::new(
        base.registration().clone(),
        base.issuer().map(str::to_owned),
        None,
        base.roles().clone(),
        Principal::default(),
        claims(value),
    )
}

struct Read;
impl ScopeName for Read {
    const NAME: &'static str = "read";
}

struct Mfa;
impl StepUpPolicy for Mfa {
    const ACR: &'static [&'static str] = &["urn:mfa"];
    const MAX_AGE: Option<std::time::Duration> = Some(std::time::Duration::from_secs(300));
}

#[test]
fn scope_requirements_read_the_token_and_never_the_roles() {
    let ctx = context_with(json!({"sub": "alice", "scope": "admin  read", "scp": ["write", 7]}));
    let found = RequestAuth::new(Some(&ctx), None, true);
    for scope in ["read", "admin", "write"] {
        assert!(found.require(&Requirement::scope(scope)).is_ok(), "{scope}");
    }
    assert_eq!(Requirement::scope("read"), Requirement::scope_of::<Read>());
    assert_ne!(Requirement::scope("read"), Requirement::role("read"));
    assert_eq!(Requirement::scope_of::<Read>().as_scope(), Some("read"));
    assert_eq!(Requirement::scope("read").as_role(), None);
    assert_eq!(
        format!("{:?}", Requirement::scope("read")),
        "Scope(\"read\")"
    );

    // The token's scope `admin` is not the platform role `admin`, and the
    // role `reader` is no scope.
    let role = found.require(&Requirement::role("admin")).unwrap_err();
    assert_eq!(role.code(), ErrorCode::InsufficientRole);
    let scope = found.require(&Requirement::scope("reader")).unwrap_err();
    assert_eq!(scope.code(), ErrorCode::InsufficientScope);
    let rendered = Guard::new(Requirement::scope("reader")).render(&scope);
    assert_eq!(rendered.status, http::StatusCode::FORBIDDEN);
    assert_eq!(
        rendered.headers[http::header::WWW_AUTHENTICATE],
        "Bearer realm=\"fedauth\", error=\"insufficient_scope\", \
         error_description=\"The token does not grant the scope this route requires.\", \
         scope=\"reader\""
    );
}

#[test]
fn step_up_requirements_check_acr_then_auth_time() {
    let now = crate::verify::now_unix();
    let fresh = context_with(json!({"sub": "alice", "acr": "urn:mfa", "auth_time": now - 10}));
    let stale = context_with(json!({"sub": "alice", "acr": "urn:mfa", "auth_time": now - 900}));
    let weak = context_with(json!({"sub": "alice", "acr": "urn:pwd", "auth_time": now}));
    let rule = Requirement::step_up_of::<Mfa>();
    assert_eq!(
        rule,
        Requirement::step_up(&["urn:mfa"], Some(std::time::Duration::from_secs(300)))
    );
    assert_eq!((rule.as_role(), rule.as_scope()), (None, None));
    assert_eq!(
        format!("{rule:?}"),
        "StepUp { acr: [\"urn:mfa\"], max_age: Some(300) }"
    );
    assert!(rule.check(&fresh).is_ok());
    let www = "Bearer realm=\"fedauth\", error=\"insufficient_user_authentication\", \
               error_description=\"The user's authentication is not strong or recent enough for this route.\", \
               acr_values=\"urn:mfa\", max_age=300";
    for (ctx, param) in [(&stale, "max_age"), (&weak, "acr")] {
        let error = rule.check(ctx).unwrap_err();
        assert_eq!(error.code(), ErrorCode::InsufficientUserAuthentication);
        assert_eq!(error.source_param().param, param);
        let rendered = render_refusal(&error, None);
        assert_eq!(rendered.status, http::StatusCode::UNAUTHORIZED);
        assert_eq!(rendered.headers[http::header::WWW_AUTHENTICATE], www);
    }
    let anything = Requirement::step_up::<String>(&[], None);
    assert!(
        anything
            .check(&context_with(json!({"sub": "alice"})))
            .is_ok()
    );
}
