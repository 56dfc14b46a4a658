//! RFC 7662 token introspection (`provider = "introspection"`).
//!
//! The token is POSTed as `token=…&token_type_hint=access_token`; the
//! resource server authenticates with `client_secret_basic` (RFC 6749
//! §2.3.1: id and secret form-urlencoded, then base64) or
//! `client_secret_post`. `active: false` is `inactive_token`. An active
//! answer is checked in the order of a token's claims: `iss` (when the
//! registration names an issuer, or several: any of them), then `client_id`
//! or `aud` naming the registration's client (with `audiences`: `aud`
//! naming one of them and `client_id` the client), then `exp` (optional in
//! RFC 7662: without it the server's `active: true` is trusted for at most
//! `cache_seconds`), `nbf` and `iat`, with the registration's leeway, then
//! the registration's `required_claims`.
//!
//! Principal: the `claims` mapping over the answer. RFC 7662 names the user
//! `username`, so with the default mapping `username` stands in for a
//! missing `preferred_username`; a token without `sub` (client credentials)
//! is the client acting for itself, so with the default mapping the
//! subject falls back to the answer's `client_id` (as RFC 9068 §2.2 sets
//! `sub` for such tokens). No subject at all is `invalid_claims`.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method};
use serde_json::{Map, Value};
use url::form_urlencoded;

use crate::claims::as_numeric_date;
use crate::context::Principal;
use crate::egress::{Fetcher, Outgoing, Redirects};
use crate::error::{AuthError, ErrorCode};
use crate::registration::{ClaimsMapping, ClientAuthMethod, IntrospectionConfig, Registration};

/// The fields of an introspection answer.
pub(crate) type Answer = Map<String, Value>;

/// An introspection answer, as cached.
#[derive(Debug, Clone)]
pub(crate) enum Introspected {
    /// `active: true`, with every field of the answer.
    Active(Arc<Answer>),
    /// `active: false`.
    Inactive,
}

/// How long an `active: false` answer is reused (bounded by
/// `cache_seconds`): long enough to absorb a burst of replays, short enough
/// that a token activated late is soon accepted.
pub(crate) const INACTIVE_TTL: Duration = Duration::from_secs(5);

fn refuse(code: ErrorCode, detail: impl Into<std::borrow::Cow<'static, str>>) -> AuthError {
    AuthError::token(code, detail)
}

/// RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`.
pub(crate) fn basic_credentials(client_id: &str, secret: &str) -> Option<HeaderValue> {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(secret));
    let b64 = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value = HeaderValue::from_str(&format!("Basic {b64}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The introspection request for `token`, authenticated as configured.
pub(crate) fn request(
    fetcher: &Fetcher,
    cfg: &IntrospectionConfig,
    token: &str,
) -> Result<Outgoing, AuthError> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("token", token)
        .append_pair("token_type_hint", "access_token");
    let mut basic = None;
    match cfg.auth_method {
        ClientAuthMethod::ClientSecretBasic => {
            let value =
                basic_credentials(&cfg.client_id, cfg.client_secret.expose()).ok_or_else(|| {
                    refuse(
                        ErrorCode::IdpUnavailable,
                        "introspection: the client credentials cannot form a Basic header",
                    )
                })?;
            basic = Some(value);
        }
        ClientAuthMethod::ClientSecretPost => {
            form.append_pair("client_id", &cfg.client_id)
                .append_pair("client_secret", cfg.client_secret.expose());
        }
    }
    let body = form.finish();
    let out = fetcher
        .request(Method::POST, &cfg.endpoint, Redirects::None)
        .map_err(|e| refuse(ErrorCode::IdpUnavailable, format!("introspection: {e}")))?;
    Ok(out.with(|req| {
        let req = req
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        match basic {
            Some(value) => req.header(AUTHORIZATION, value),
            None => req,
        }
    }))
}

/// Read an answer: a JSON object with a boolean `active` (RFC 7662 §2.2);
/// anything else is the endpoint misbehaving (`Err` with the reason).
pub(crate) fn parse(body: &[u8]) -> Result<Introspected, &'static str> {
    let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(body) else {
        return Err("the introspection answer is not a JSON object");
    };
    match answer.get("active") {
        Some(Value::Bool(true)) => Ok(Introspected::Active(Arc::new(answer))),
        Some(Value::Bool(false)) => Ok(Introspected::Inactive),
        _ => Err("the introspection answer has no boolean `active`"),
    }
}

/// How long to reuse an answer fetched at `now`: active ones until
/// `min(exp, cache_seconds)`, inactive ones [`INACTIVE_TTL`] at most.
pub(crate) fn ttl(cfg: &IntrospectionConfig, answer: &Introspected, now: i64) -> Duration {
    let bound = Duration::from_secs(cfg.cache_seconds);
    match answer {
        Introspected::Inactive => bound.min(INACTIVE_TTL),
        Introspected::Active(fields) => match fields.get("exp").and_then(as_numeric_date) {
            Some(exp) => bound.min(Duration::from_secs(
                u64::try_from(exp.saturating_sub(now)).unwrap_or(0),
            )),
            None => bound,
        },
    }
}

/// Whether `aud` (a string or an array) names `client`.
fn names(aud: Option<&Value>, client: &str) -> bool {
    match aud {
        Some(Value::String(s)) => s == client,
        Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(client)),
        _ => false,
    }
}

/// The checks of an active answer, in the order of a token's: issuer,
/// audience, time, then the registration's `required_claims`.
pub(crate) fn check(reg: &Registration, answer: &Answer, now: i64) -> Result<(), AuthError> {
    if !reg.issuer.is_empty() {
        match answer.get("iss") {
            Some(Value::String(iss)) if reg.issuer.contains(iss) => {}
            Some(_) => {
                return Err(refuse(
                    ErrorCode::InvalidIssuer,
                    "iss of the introspection answer is not the registration's issuer",
                ));
            }
            None => {
                return Err(refuse(
                    ErrorCode::InvalidIssuer,
                    "the introspection answer has no iss",
                ));
            }
        }
    }
    check_audience(reg, answer)?;
    let leeway = i64::try_from(reg.leeway_seconds).unwrap_or(0);
    crate::verify::check_time_of(now, leeway, answer, false)?;
    reg.required_claims.check(answer)
}

/// Without `audiences`: the answer's `client_id` or `aud` names the
/// registration's client. With them (RFC 7662 §2.2: `aud` is whom the
/// token is for, `client_id` the client it was issued to): `aud` names one
/// of them and `client_id` is the registration's client.
fn check_audience(reg: &Registration, answer: &Answer) -> Result<(), AuthError> {
    let client = reg.client_id().unwrap_or_default();
    let by_client =
        !client.is_empty() && answer.get("client_id").and_then(Value::as_str) == Some(client);
    if reg.audiences.is_empty() {
        if by_client || (!client.is_empty() && names(answer.get("aud"), client)) {
            return Ok(());
        }
        return Err(refuse(
            ErrorCode::InvalidAudience,
            "neither client_id nor aud of the introspection answer names the registration's client",
        ));
    }
    if !reg
        .audiences
        .iter()
        .any(|api| names(answer.get("aud"), api))
    {
        return Err(refuse(
            ErrorCode::InvalidAudience,
            "aud of the introspection answer does not name one of the registration's audiences",
        ));
    }
    if !by_client {
        return Err(refuse(
            ErrorCode::InvalidAudience,
            "client_id of the introspection answer is not the registration's client",
        ));
    }
    Ok(())
}

/// The principal of an active answer (see the module documentation for the
/// fallbacks of the default mapping).
pub(crate) fn principal(reg: &Registration, answer: &Answer) -> Result<Principal, AuthError> {
    let mapping = &reg.claims;
    let defaults = ClaimsMapping::default();
    let get = |name: &str| answer.get(name).filter(|v| !v.is_null());
    let with_fallback = |name: &str, default: &str, fallback: &str| {
        get(name).or_else(|| (name == default).then(|| get(fallback)).flatten())
    };
    let subject = match with_fallback(&mapping.subject, &defaults.subject, "client_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) => {
            return Err(refuse(
                ErrorCode::InvalidClaims,
                format!("the subject claim `{}` is empty", mapping.subject),
            ));
        }
        Some(_) => {
            return Err(refuse(
                ErrorCode::InvalidClaims,
                format!("the subject claim `{}` is not a string", mapping.subject),
            ));
        }
        None => {
            return Err(refuse(
                ErrorCode::InvalidClaims,
                format!(
                    "the introspection answer has no subject claim `{}`",
                    mapping.subject
                ),
            ));
        }
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    Ok(Principal {
        subject,
        username: text(with_fallback(
            &mapping.username,
            &defaults.username,
            "username",
        )),
        email: text(get(&mapping.email)),
        attributes: mapping
            .persist
            .iter()
            .filter_map(|name| answer.get(name).map(|v| (name.clone(), v.clone())))
            .collect(),
    })
}
