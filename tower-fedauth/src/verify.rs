//! The checks of a signed token, in the fixed order of checks (see
//! `docs/refusals.md` in the repository): algorithm, key, signature, token
//! kind, issuer, audience, time, claims.
//! No claim is read for a decision before the signature has verified.

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::claims::as_numeric_date;
use crate::error::{AuthError, ErrorCode};
use crate::keys::{KeySet, VerificationKey};
use crate::registration::{Registration, TokenUse};
use crate::token::{JoseHeader, MAX_KID_LEN};

fn refuse(code: ErrorCode, detail: impl Into<std::borrow::Cow<'static, str>>) -> AuthError {
    AuthError::token(code, detail)
}

/// The algorithm to verify with: the header's `alg`, only if the
/// registration allows it. `none` and `HS*` are never allowed.
pub(crate) fn select_algorithm(
    reg: &Registration,
    header: &JoseHeader,
) -> Result<Algorithm, AuthError> {
    select_algorithm_in(&reg.algorithms, header)
}

/// [`select_algorithm`] over an explicit allowlist (the JWS layer,
/// `crate::jws`): `none` and `HS*` are refused even when listed.
pub(crate) fn select_algorithm_in(
    allowed: &[Algorithm],
    header: &JoseHeader,
) -> Result<Algorithm, AuthError> {
    let name = &*header.alg;
    if name.eq_ignore_ascii_case("none") {
        return Err(refuse(
            ErrorCode::UnsupportedAlgorithm,
            "alg `none` is never accepted",
        ));
    }
    let alg: Algorithm = name.parse().map_err(|_| {
        refuse(
            ErrorCode::UnsupportedAlgorithm,
            format!(
                "alg `{}` is not a supported signature algorithm",
                printable(name, 16)
            ),
        )
    })?;
    if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(refuse(
            ErrorCode::UnsupportedAlgorithm,
            format!("alg `{name}` is symmetric and never accepted from a key set"),
        ));
    }
    if !allowed.contains(&alg) {
        return Err(refuse(
            ErrorCode::UnsupportedAlgorithm,
            format!("alg `{name}` is not allowed for this registration"),
        ));
    }
    Ok(alg)
}

/// A bounded, printable excerpt of an untrusted string for error details.
pub(crate) fn printable(s: &str, max: usize) -> String {
    Printable(s, max).to_string()
}

/// [`printable`] without the `String`: written only if someone reads it
/// (a span field that is disabled costs nothing).
pub(crate) struct Printable<'a>(pub &'a str, pub usize);

impl std::fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        let Self(s, max) = *self;
        for c in s.chars().filter(|c| c.is_ascii_graphic()).take(max) {
            f.write_char(c)?;
        }
        if s.len() > max {
            f.write_char('…')?;
        }
        Ok(())
    }
}

/// The outcome of looking a key up in one key set.
pub(crate) enum KeyChoice<'a> {
    Found(&'a VerificationKey),
    /// A key matched the `kid` (or was the only one) but cannot serve `alg`.
    Incompatible(&'a VerificationKey),
    NotFound,
    /// No `kid`, several candidate keys.
    Ambiguous,
}

/// `kid` selects the key; without `kid` only a single candidate is used.
pub(crate) fn select_key<'a>(set: &'a KeySet, kid: Option<&str>, alg: Algorithm) -> KeyChoice<'a> {
    match kid {
        Some(kid) => {
            let mut first = None;
            for key in set.by_kid(kid) {
                if key.allows(alg) {
                    return KeyChoice::Found(key);
                }
                first.get_or_insert(key);
            }
            first.map_or(KeyChoice::NotFound, KeyChoice::Incompatible)
        }
        None => {
            if let [only] = set.keys() {
                return if only.allows(alg) {
                    KeyChoice::Found(only)
                } else {
                    KeyChoice::Incompatible(only)
                };
            }
            let mut candidates = set.keys().iter().filter(|k| k.allows(alg));
            match (candidates.next(), candidates.next()) {
                (Some(key), None) => KeyChoice::Found(key),
                (None, _) => KeyChoice::NotFound,
                (Some(_), Some(_)) => KeyChoice::Ambiguous,
            }
        }
    }
}

/// Whether a `kid` is worth a refresh: bounded and printable.
pub(crate) fn plausible_kid(kid: &str) -> bool {
    !kid.is_empty() && kid.len() <= MAX_KID_LEN && kid.bytes().all(|b| (0x20..0x7f).contains(&b))
}

pub(crate) fn key_refusal(choice: &KeyChoice<'_>, kid: Option<&str>, alg: Algorithm) -> AuthError {
    match choice {
        KeyChoice::Incompatible(key) => refuse(
            ErrorCode::UnsupportedAlgorithm,
            format!(
                "alg {alg:?} does not fit the {:?} key{}",
                key.key_type,
                key.alg
                    .map(|a| format!(" restricted to {a:?}"))
                    .unwrap_or_default()
            ),
        ),
        KeyChoice::Ambiguous => refuse(
            ErrorCode::UnknownKey,
            "the token has no `kid` and the key set has several candidate keys",
        ),
        _ => match kid {
            Some(kid) => refuse(
                ErrorCode::UnknownKey,
                format!("no key with kid `{}` in the key set", printable(kid, 64)),
            ),
            None => refuse(
                ErrorCode::UnknownKey,
                "no key in the key set fits the token",
            ),
        },
    }
}

/// Verify the signature over the signing input.
pub(crate) fn verify_signature(
    key: &VerificationKey,
    alg: Algorithm,
    signing_input: &str,
    signature: &str,
) -> Result<(), AuthError> {
    match key
        .signature
        .verifies(alg, signing_input.as_bytes(), signature)
    {
        true => Ok(()),
        false => Err(refuse(
            ErrorCode::InvalidSignature,
            "the signature does not verify with the key",
        )),
    }
}

/// The media type of RFC 9068 JWT access tokens (`application/at+jwt`).
const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Token kind by explicit typing (RFC 9068 `typ: at+jwt`, RFC 8725 §3.11).
/// `typ` is a media type, so `at+jwt`, `AT+JWT` and `Application/at+jwt`
/// all name an access token (see [`JoseHeader::typ_is`]).
pub(crate) fn check_token_use(reg: &Registration, header: &JoseHeader) -> Result<(), AuthError> {
    let access = header.typ_is(ACCESS_TOKEN_TYP);
    match reg.token_use {
        TokenUse::Any => Ok(()),
        TokenUse::Access if access => Ok(()),
        TokenUse::Access => Err(refuse(
            ErrorCode::InvalidTokenUse,
            "an access token (typ at+jwt) is required",
        )),
        TokenUse::Id if access => Err(refuse(
            ErrorCode::InvalidTokenUse,
            "an ID token is required, not an access token (typ at+jwt)",
        )),
        TokenUse::Id => Ok(()),
    }
}

/// `iss` must be one of the `accepted` forms; nothing accepted: not checked.
pub(crate) fn check_issuer(
    accepted: &[String],
    claims: &Map<String, Value>,
) -> Result<(), AuthError> {
    if accepted.is_empty() {
        return Ok(());
    }
    match claims.get("iss") {
        Some(Value::String(iss)) if accepted.iter().any(|a| a == iss) => Ok(()),
        Some(Value::String(iss)) => Err(refuse(
            ErrorCode::InvalidIssuer,
            format!(
                "iss `{}` is not the registration's issuer",
                printable(iss, 128)
            ),
        )),
        Some(_) => Err(refuse(ErrorCode::InvalidIssuer, "iss is not a string")),
        None => Err(refuse(ErrorCode::InvalidIssuer, "iss is missing")),
    }
}

/// `aud` (a string or an array) must name `client_id`. When it names more
/// than one audience, being one of them does not show the token was issued
/// to this client: its authorized party must then be present and be the
/// client (OpenID Connect Core §3.1.3.7; see [`authorized_party`]).
pub(crate) fn check_audience(
    client_id: &str,
    party_claims: &[String],
    claims: &Map<String, Value>,
) -> Result<(), AuthError> {
    let several = match claims.get("aud") {
        Some(Value::String(aud)) if aud == client_id => false,
        Some(Value::Array(auds)) if auds.iter().any(|a| a.as_str() == Some(client_id)) => {
            auds.len() > 1
        }
        Some(Value::String(_) | Value::Array(_)) => {
            return Err(refuse(
                ErrorCode::InvalidAudience,
                "aud does not name the registration's client",
            ));
        }
        Some(_) => {
            return Err(refuse(
                ErrorCode::InvalidAudience,
                "aud is neither a string nor an array",
            ));
        }
        None => return Err(refuse(ErrorCode::InvalidAudience, "aud is missing")),
    };
    if several {
        check_authorized_party(client_id, party_claims, claims)?;
    }
    Ok(())
}

/// The token's authorized party: the first of `party_claims` the token
/// carries, with its name (`None`: it carries none of them).
pub(crate) fn authorized_party<'c, 'n>(
    party_claims: &'n [String],
    claims: &'c Map<String, Value>,
) -> Option<(&'n str, &'c Value)> {
    party_claims
        .iter()
        .find_map(|name| claims.get(name).map(|v| (name.as_str(), v)))
}

/// The authorized party must be present, a string, and `client_id`.
pub(crate) fn check_authorized_party(
    client_id: &str,
    party_claims: &[String],
    claims: &Map<String, Value>,
) -> Result<(), AuthError> {
    check_party(
        client_id,
        party_claims,
        claims,
        "aud names several audiences and the token names no authorized party",
    )
}

/// With the registration's `audiences` (the platform's API identifiers):
/// `aud` (a string or an array) must name one of them — `names_api` says
/// whether one value does — and the token's authorized party must be
/// present and be `client_id`, however many audiences `aud` names: the API
/// being the audience does not show which application the token was issued
/// to.
pub(crate) fn check_api_audience(
    names_api: impl Fn(&str) -> bool,
    client_id: &str,
    party_claims: &[String],
    claims: &Map<String, Value>,
) -> Result<(), AuthError> {
    let named = match claims.get("aud") {
        Some(Value::String(aud)) => names_api(aud),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(names_api),
        Some(_) => {
            return Err(refuse(
                ErrorCode::InvalidAudience,
                "aud is neither a string nor an array",
            ));
        }
        None => return Err(refuse(ErrorCode::InvalidAudience, "aud is missing")),
    };
    if !named {
        return Err(refuse(
            ErrorCode::InvalidAudience,
            "aud does not name one of the registration's audiences",
        ));
    }
    check_party(
        client_id,
        party_claims,
        claims,
        "the token names no authorized party",
    )
}

/// The authorized party is `client_id`; `none` says why its absence is
/// refused.
fn check_party(
    client_id: &str,
    party_claims: &[String],
    claims: &Map<String, Value>,
    none: &str,
) -> Result<(), AuthError> {
    match authorized_party(party_claims, claims) {
        Some((_, Value::String(party))) if party == client_id => Ok(()),
        Some((name, Value::String(_))) => Err(refuse(
            ErrorCode::InvalidAudience,
            format!(
                "the authorized party ({}) is not the registration's client",
                Printable(name, 64)
            ),
        )),
        Some((name, _)) => Err(refuse(
            ErrorCode::InvalidAudience,
            format!(
                "the authorized party ({}) is not a string",
                Printable(name, 64)
            ),
        )),
        None => Err(refuse(
            ErrorCode::InvalidAudience,
            format!(
                "{none} ({})",
                party_claims
                    .iter()
                    .map(|n| printable(n, 64))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// `exp` required and numeric; `nbf` and `iat` honoured; all with leeway.
pub(crate) fn check_time(
    now: i64,
    leeway: i64,
    claims: &Map<String, Value>,
) -> Result<(), AuthError> {
    check_time_of(now, leeway, claims, true)
}

/// [`check_time`], with `exp` optional when `exp_required` is false (an
/// RFC 7662 introspection answer need not carry one).
pub(crate) fn check_time_of(
    now: i64,
    leeway: i64,
    claims: &Map<String, Value>,
    exp_required: bool,
) -> Result<(), AuthError> {
    match claims.get("exp") {
        None if exp_required => return Err(refuse(ErrorCode::TokenExpired, "exp is missing")),
        None => {}
        Some(v) => {
            let exp = as_numeric_date(v)
                .ok_or_else(|| refuse(ErrorCode::TokenExpired, "exp is not a number"))?;
            if now >= exp.saturating_add(leeway) {
                return Err(refuse(
                    ErrorCode::TokenExpired,
                    format!("exp {exp} is before now minus leeway"),
                ));
            }
        }
    }
    for name in ["nbf", "iat"] {
        if let Some(v) = claims.get(name) {
            let t = as_numeric_date(v).ok_or_else(|| {
                refuse(
                    ErrorCode::TokenNotYetValid,
                    format!("{name} is not a number"),
                )
            })?;
            if t > now.saturating_add(leeway) {
                return Err(refuse(
                    ErrorCode::TokenNotYetValid,
                    format!("{name} {t} is after now plus leeway"),
                ));
            }
        }
    }
    Ok(())
}

/// Seconds since the epoch.
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn time_rules() {
        let now = 1_000_000;
        let code = |v: Value| check_time(now, 60, &map(v)).unwrap_err().code();
        assert!(check_time(now, 60, &map(json!({"exp": now + 10}))).is_ok());
        assert!(
            check_time(now, 60, &map(json!({"exp": now - 30}))).is_ok(),
            "within leeway"
        );
        assert_eq!(code(json!({"exp": now - 61})), ErrorCode::TokenExpired);
        assert_eq!(code(json!({})), ErrorCode::TokenExpired);
        assert_eq!(
            code(json!({"exp": (now + 10).to_string()})),
            ErrorCode::TokenExpired
        );
        assert_eq!(
            code(json!({"exp": now + 10, "nbf": now + 61})),
            ErrorCode::TokenNotYetValid
        );
        assert_eq!(
            code(json!({"exp": now + 10, "iat": now + 61})),
            ErrorCode::TokenNotYetValid
        );
        assert_eq!(
            code(json!({"exp": now + 10, "nbf": "0"})),
            ErrorCode::TokenNotYetValid
        );
        assert!(check_time(now, 60, &map(json!({"exp": now + 10, "nbf": now + 59}))).is_ok());
    }

    fn party_claims() -> Vec<String> {
        crate::registration::DEFAULT_AUTHORIZED_PARTY_CLAIMS
            .iter()
            .map(|&n| n.to_owned())
            .collect()
    }

    /// The refusal detail of `check_audience` for client `app`, `None` when accepted.
    fn audience(claims: Value) -> Option<String> {
        check_audience("app", &party_claims(), &map(claims))
            .err()
            .inspect(|e| assert_eq!(e.code(), ErrorCode::InvalidAudience))
            .map(|e| e.detail().to_owned())
    }

    #[test]
    fn audience_and_issuer_rules() {
        assert_eq!(audience(json!({"aud": "app"})), None);
        assert_eq!(
            audience(json!({"aud": ["app"]})),
            None,
            "one audience, no party needed"
        );
        assert_eq!(audience(json!({"aud": ["x", "app"], "azp": "app"})), None);
        let not_named = Some("aud does not name the registration's client".to_owned());
        assert_eq!(audience(json!({"aud": "x"})), not_named);
        assert_eq!(
            audience(json!({"aud": ["x", "y"], "azp": "app"})),
            not_named
        );
        assert_eq!(audience(json!({"aud": []})), not_named);
        assert_eq!(audience(json!({})), Some("aud is missing".to_owned()));
        let accepted = ["https://i".to_owned(), "https://j".to_owned()];
        assert!(check_issuer(&accepted, &map(json!({"iss": "https://i"}))).is_ok());
        assert!(check_issuer(&accepted, &map(json!({"iss": "https://j"}))).is_ok());
        assert_eq!(
            check_issuer(&accepted, &map(json!({"iss": "https://i/"})))
                .unwrap_err()
                .code(),
            ErrorCode::InvalidIssuer
        );
        assert!(check_issuer(&[], &map(json!({}))).is_ok());
    }

    /// Several audiences: the first party claim present decides, and it
    /// must be a string naming the client.
    #[test]
    fn several_audiences_need_the_authorized_party() {
        let aud = || json!(["app", "https://api.example"]);
        let no_party = "aud names several audiences and the token names no authorized party (azp, client_id, appid, cid)";
        assert_eq!(audience(json!({"aud": aud()})).as_deref(), Some(no_party));
        assert_eq!(
            audience(json!({"aud": ["app", "app"]})).as_deref(),
            Some(no_party)
        );
        for party in ["azp", "client_id", "appid", "cid"] {
            assert_eq!(
                audience(json!({"aud": aud(), party: "app"})),
                None,
                "{party}"
            );
            assert_eq!(
                audience(json!({"aud": aud(), party: "other"})).as_deref(),
                Some(&*format!(
                    "the authorized party ({party}) is not the registration's client"
                )),
            );
        }
        // The first one present is the party, even when a later one is the client.
        assert!(audience(json!({"aud": aud(), "azp": "other", "client_id": "app"})).is_some());
        assert_eq!(
            audience(json!({"aud": aud(), "azp": "app", "client_id": "other"})),
            None
        );
        assert_eq!(
            audience(json!({"aud": aud(), "azp": 7})).as_deref(),
            Some("the authorized party (azp) is not a string")
        );
        assert!(audience(json!({"aud": aud(), "azp": null, "client_id": "app"})).is_some());
        // A registration's own list replaces the default.
        let custom = ["client".to_owned()];
        let ok = map(json!({"aud": aud(), "client": "app", "azp": "other"}));
        assert!(check_audience("app", &custom, &ok).is_ok());
        let missing = map(json!({"aud": aud(), "azp": "app"}));
        assert_eq!(
            check_audience("app", &custom, &missing)
                .unwrap_err()
                .detail(),
            "aud names several audiences and the token names no authorized party (client)"
        );
    }

    /// With `audiences`: `aud` names an API, and the party is the client
    /// even for a single audience.
    #[test]
    fn api_audiences_need_the_client_as_party() {
        let apis = ["https://api".to_owned()];
        let check = |claims: Value| {
            check_api_audience(
                |a| apis.contains(&a.to_owned()),
                "app",
                &party_claims(),
                &map(claims),
            )
            .err()
            .inspect(|e| assert_eq!(e.code(), ErrorCode::InvalidAudience))
            .map(|e| e.detail().to_owned())
        };
        assert_eq!(check(json!({"aud": "https://api", "azp": "app"})), None);
        assert_eq!(
            check(json!({"aud": ["x", "https://api"], "cid": "app"})),
            None
        );
        assert_eq!(
            check(json!({"aud": "https://api"})).as_deref(),
            Some("the token names no authorized party (azp, client_id, appid, cid)")
        );
        assert_eq!(
            check(json!({"aud": "https://api", "azp": "other"})).as_deref(),
            Some("the authorized party (azp) is not the registration's client")
        );
        let not_named = Some("aud does not name one of the registration's audiences".to_owned());
        assert_eq!(check(json!({"aud": "app", "azp": "app"})), not_named);
        assert_eq!(check(json!({"aud": [7], "azp": "app"})), not_named);
        assert_eq!(
            check(json!({"azp": "app"})).as_deref(),
            Some("aud is missing")
        );
        assert_eq!(
            check(json!({"aud": {"x": 1}, "azp": "app"})).as_deref(),
            Some("aud is neither a string nor an array")
        );
    }

    #[test]
    fn kid_plausibility() {
        assert!(plausible_kid("key-1"));
        assert!(!plausible_kid(&"k".repeat(MAX_KID_LEN + 1)));
        assert!(!plausible_kid("a\u{0}b"));
    }
}
