use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};
use url::Url;

use super::introspection::{self, Introspected};
use super::template::{self, PathError, Vars};
use super::verification;
use crate::error::{AuthError, ErrorCode, PASS_THROUGH_MAX_BODY};
use crate::registration::{
    ClaimsMapping, HttpMethod, IntrospectionConfig, Provider, Registration, VerificationConfig,
};

const VARS: Vars<'static> = Vars {
    token: "tok",
    registration: "quid-1",
    client_id: "app-1",
};

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn map(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn introspection_reg(issuer: Option<&str>, claims: Option<ClaimsMapping>) -> Registration {
    let mut b = Registration::builder("q", Provider::Introspection)
        .client_id("app-1")
        .introspection(IntrospectionConfig::new(
            url("https://idp.example/introspect"),
            "rs",
            "secret",
        ));
    if let Some(iss) = issuer {
        b = b.issuer(iss);
    }
    if let Some(c) = claims {
        b = b.claims(c);
    }
    b.build().unwrap()
}

#[test]
fn request_templates_render_in_one_pass() {
    let vars = Vars {
        token: "#{registration}&x=1",
        ..VARS
    };
    assert_eq!(
        template::render_request("Bearer #{token} for #{client_id}", &vars),
        "Bearer #{registration}&x=1 for app-1"
    );
    assert_eq!(
        template::render_request("#{registration}/#{nope}/#{", &VARS),
        "quid-1/#{nope}/#{"
    );
    assert_eq!(template::render_request("plain", &VARS), "plain");
}

#[test]
fn header_names_and_values_cannot_break_out() {
    assert_eq!(template::header_name("IdP_token").unwrap(), "idp-token");
    assert!(template::header_name("Content_Length").is_none());
    assert!(template::header_name("host").is_none());
    assert!(template::header_name("bad name").is_none());
    assert!(template::header_value("a\r\nX-Evil: 1").is_none());
    assert!(template::header_value("a\nb").is_none());
    assert!(template::header_value("a\tb").is_none());
    assert!(template::header_value("é").is_none());
    let v = template::header_value("%0d%0aX-Evil: 1").unwrap();
    assert_eq!(v, "%0d%0aX-Evil: 1");
    assert!(v.is_sensitive());
}

#[test]
fn response_templates_read_paths_and_keep_types() {
    let answer = json!({"user": {"id": 4324, "login": "sam", "tags": ["a", "b"], "none": null}});
    let r = |t: &str| template::render_response(t, &answer);
    assert_eq!(r("#{user.id}"), Ok(json!(4324)));
    assert_eq!(r("#{user.tags.1}"), Ok(json!("b")));
    assert_eq!(r("#{user.tags}"), Ok(json!(["a", "b"])));
    assert_eq!(r("u-#{user.id}-#{user.login}"), Ok(json!("u-4324-sam")));
    assert_eq!(r("static"), Ok(json!("static")));
    assert_eq!(
        r("#{user.name}"),
        Err(PathError::Missing("user.name".into()))
    );
    assert_eq!(
        r("#{user.none}"),
        Err(PathError::Missing("user.none".into()))
    );
    assert_eq!(
        r("x #{user.tags}"),
        Err(PathError::NotText("user.tags".into()))
    );
    assert_eq!(
        r("#{user.id.deeper}"),
        Err(PathError::Missing("user.id.deeper".into()))
    );
}

fn verification_cfg(method: HttpMethod) -> VerificationConfig {
    let mut cfg =
        VerificationConfig::new(url("https://app.example/verify?v=1"), method, "#{user.id}");
    cfg.params.insert("IdP_token".into(), "#{token}".into());
    cfg.params.insert("app".into(), "#{client_id}".into());
    cfg.headers
        .insert("X_Registration".into(), "#{registration}".into());
    cfg
}

#[test]
fn get_calls_encode_params_into_the_query() {
    let vars = Vars {
        token: "a&x=1#frag%0d%0a+=",
        ..VARS
    };
    let call = verification::build(&verification_cfg(HttpMethod::Get), &vars).unwrap();
    let pairs: Vec<(String, String)> = call.url().query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        [
            ("v".into(), "1".into()),
            ("IdP_token".into(), "a&x=1#frag%0d%0a+=".into()),
            ("app".into(), "app-1".into()),
        ]
    );
    assert!(call.url().fragment().is_none());
    assert_eq!(call.shown_url(), "https://app.example/verify");
    let key = call.key("quid-1", vars.token);
    let other = verification::build(
        &verification_cfg(HttpMethod::Get),
        &Vars {
            token: "other",
            ..VARS
        },
    )
    .unwrap();
    assert_ne!(key, other.key("quid-1", "other"));
    assert_ne!(key, call.key("quid-2", vars.token));
}

#[test]
fn tokens_that_are_not_visible_ascii_are_refused_before_any_call() {
    for token in ["a\r\nX-Evil: 1", "a b", "", "é"] {
        let vars = Vars { token, ..VARS };
        let err = verification::build(&verification_cfg(HttpMethod::Post), &vars).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest, "{token:?}");
    }
}

#[test]
fn verification_principal_maps_fields() {
    let mut cfg = verification_cfg(HttpMethod::Get);
    cfg.response.insert("login".into(), "#{user.login}".into());
    cfg.response.insert("email".into(), "#{user.email}".into());
    cfg.response
        .insert("full_name".into(), "#{user.full_name}".into());
    cfg.response
        .insert("external_user_id".into(), "#{user.id}".into());
    cfg.response
        .insert("missing".into(), "#{user.nothing}".into());
    let reg = Registration::builder("q", Provider::VerificationEndpoint)
        .verification(cfg.clone())
        .build()
        .unwrap();
    let answer = json!({"user": {"id": 4324, "login": "samuel456", "full_name": "Samuel Johnson", "email": "s@x"}});
    let p = verification::principal(&reg, &cfg, &answer).unwrap();
    assert_eq!(p.subject, "4324");
    assert_eq!(p.username.as_deref(), Some("samuel456"));
    assert_eq!(p.email.as_deref(), Some("s@x"));
    assert_eq!(p.attributes["full_name"], json!("Samuel Johnson"));
    assert_eq!(p.attributes["external_user_id"], json!(4324));
    assert!(!p.attributes.contains_key("missing"));

    let p = verification::principal(&reg, &cfg, &json!({"user": {"id": "u-1"}})).unwrap();
    assert_eq!((p.subject.as_str(), p.username), ("u-1", None));

    for (answer, needle) in [
        (json!({"user": {}}), "no `user.id`"),
        (json!({"user": {"id": ""}}), "empty"),
        (
            json!({"user": {"id": true}}),
            "neither a string nor a number",
        ),
        (
            json!({"user": {"id": {"a": 1}}}),
            "neither a string nor a number",
        ),
    ] {
        let err = verification::principal(&reg, &cfg, &answer).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidClaims);
        assert!(err.detail().contains(needle), "{}", err.detail());
    }
}

#[test]
fn basic_credentials_form_encode_before_base64() {
    use base64::Engine;
    let v = introspection::basic_credentials("rs id", "s:é+/%").unwrap();
    let b64 = v.to_str().unwrap().strip_prefix("Basic ").unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(decoded, b"rs+id:s%3A%C3%A9%2B%2F%25");
    assert!(v.is_sensitive());
}

#[test]
fn introspection_answers_parse_strictly() {
    assert!(matches!(
        introspection::parse(br#"{"active":false}"#),
        Ok(Introspected::Inactive)
    ));
    assert!(matches!(
        introspection::parse(br#"{"active":true,"sub":"a"}"#),
        Ok(Introspected::Active(_))
    ));
    for garbage in [&b"not json"[..], b"[]", b"{}", br#"{"active":"true"}"#] {
        assert!(introspection::parse(garbage).is_err());
    }
}

#[test]
fn introspection_ttl_is_bounded_by_exp_and_cache_seconds() {
    let mut cfg = IntrospectionConfig::new(url("https://idp.example/i"), "rs", "s");
    cfg.cache_seconds = 60;
    let active = |v: Value| Introspected::Active(std::sync::Arc::new(map(v)));
    let now = 1_000;
    let secs = |d: Duration| d.as_secs();
    assert_eq!(
        secs(introspection::ttl(&cfg, &active(json!({"exp": 1010})), now)),
        10
    );
    assert_eq!(
        secs(introspection::ttl(&cfg, &active(json!({"exp": 5000})), now)),
        60
    );
    assert_eq!(
        secs(introspection::ttl(&cfg, &active(json!({"exp": 900})), now)),
        0
    );
    assert_eq!(secs(introspection::ttl(&cfg, &active(json!({})), now)), 60);
    assert_eq!(
        secs(introspection::ttl(&cfg, &Introspected::Inactive, now)),
        5
    );
    cfg.cache_seconds = 0;
    assert_eq!(secs(introspection::ttl(&cfg, &active(json!({})), now)), 0);
    assert_eq!(
        secs(introspection::ttl(&cfg, &Introspected::Inactive, now)),
        0
    );
}

#[test]
fn introspection_checks_follow_the_contract_order() {
    let now = 1_000_000;
    let reg = introspection_reg(Some("https://idp.example"), None);
    let ok = json!({"active": true, "iss": "https://idp.example", "client_id": "app-1",
                    "exp": now + 100, "nbf": now - 10, "sub": "alice"});
    assert!(introspection::check(&reg, &map(ok.clone()), now).is_ok());
    let code = |patch: Value| {
        let mut v = ok.clone();
        for (k, val) in patch.as_object().unwrap() {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        introspection::check(&reg, &map(v), now)
            .err()
            .map(|e| e.code())
    };
    assert_eq!(
        code(json!({"iss": "https://evil"})),
        Some(ErrorCode::InvalidIssuer)
    );
    assert_eq!(code(json!({"iss": null})), Some(ErrorCode::InvalidIssuer));
    assert_eq!(
        code(json!({"client_id": "other"})),
        Some(ErrorCode::InvalidAudience)
    );
    assert_eq!(
        code(json!({"client_id": "other", "aud": ["x", "app-1"]})),
        None
    );
    assert_eq!(code(json!({"client_id": null, "aud": "app-1"})), None);
    assert_eq!(
        code(json!({"client_id": "other", "exp": now - 1000})),
        Some(ErrorCode::InvalidAudience),
        "audience is reported before time"
    );
    assert_eq!(
        code(json!({"exp": now - 61})),
        Some(ErrorCode::TokenExpired)
    );
    assert_eq!(code(json!({"exp": now - 30})), None, "leeway");
    assert_eq!(code(json!({"exp": "soon"})), Some(ErrorCode::TokenExpired));
    assert_eq!(
        code(json!({"exp": null})),
        None,
        "exp is optional in RFC 7662"
    );
    assert_eq!(
        code(json!({"nbf": now + 100})),
        Some(ErrorCode::TokenNotYetValid)
    );
    assert_eq!(code(json!({"iat": "x"})), Some(ErrorCode::TokenNotYetValid));
    let no_issuer = introspection_reg(None, None);
    assert!(introspection::check(&no_issuer, &map(json!({"client_id": "app-1"})), now).is_ok());
}

#[test]
fn introspection_principal_falls_back_only_with_the_default_mapping() {
    let reg = introspection_reg(None, None);
    let p = introspection::principal(
        &reg,
        &map(json!({"sub": "alice", "client_id": "app-1", "username": "al", "email": "a@x"})),
    )
    .unwrap();
    assert_eq!(p.subject, "alice");
    assert_eq!(p.username.as_deref(), Some("al"));
    assert_eq!(p.email.as_deref(), Some("a@x"));
    let p = introspection::principal(&reg, &map(json!({"client_id": "app-1"}))).unwrap();
    assert_eq!(p.subject, "app-1", "client credentials: the client itself");
    let err = introspection::principal(&reg, &map(json!({"aud": "app-1"}))).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidClaims);
    let err = introspection::principal(&reg, &map(json!({"sub": 5}))).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidClaims);

    let custom = introspection_reg(
        None,
        Some(ClaimsMapping {
            subject: "uid".into(),
            username: "login".into(),
            persist: vec!["scope".into()],
            ..ClaimsMapping::default()
        }),
    );
    let err = introspection::principal(&custom, &map(json!({"client_id": "app-1"}))).unwrap_err();
    assert!(err.detail().contains("`uid`"), "{}", err.detail());
    let p = introspection::principal(
        &custom,
        &map(json!({"uid": "u", "username": "ignored", "scope": "read"})),
    )
    .unwrap();
    assert_eq!((p.subject.as_str(), p.username), ("u", None));
    assert_eq!(p.attributes["scope"], json!("read"));
}

#[test]
fn pass_through_renders_the_endpoint_answer_as_it_is() {
    let body = Bytes::from_static(b"{\"error\":\"nope\"}\n");
    let e = AuthError::pass_through(
        StatusCode::FORBIDDEN,
        Some(HeaderValue::from_static("application/problem+json")),
        body.clone(),
    );
    assert_eq!(e.code(), ErrorCode::VerificationRefused);
    assert_eq!(e.code().as_str(), "verification_refused");
    assert_eq!(e.status(), StatusCode::FORBIDDEN);
    let responder: crate::error::RefusalResponder =
        std::sync::Arc::new(|_| crate::error::RefusalBody {
            content_type: HeaderValue::from_static("text/plain"),
            body: Bytes::from_static(b"custom"),
        });
    for r in [e.render("api", None), e.render("api", Some(&responder))] {
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.body, body);
        // Only JSON and plain text keep their media type.
        assert_eq!(r.headers[http::header::CONTENT_TYPE], "text/plain");
        assert_eq!(r.headers[http::header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            r.headers[http::header::WWW_AUTHENTICATE],
            "Bearer realm=\"api\""
        );
        assert_eq!(r.headers.len(), 3);
    }
    let down = AuthError::pass_through(StatusCode::BAD_GATEWAY, None, Bytes::new());
    let r = down.render("api", None);
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        r.headers.keys().collect::<Vec<_>>(),
        [http::header::X_CONTENT_TYPE_OPTIONS],
        "no Retry-After, no Content-Type invented"
    );
    let big = AuthError::pass_through(
        StatusCode::UNAUTHORIZED,
        None,
        Bytes::from(vec![b'x'; PASS_THROUGH_MAX_BODY + 10]),
    );
    assert_eq!(big.render("api", None).body.len(), PASS_THROUGH_MAX_BODY);
}
