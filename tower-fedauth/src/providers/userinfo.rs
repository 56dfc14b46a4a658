//! The principal: mapped from the claims by the registration's `claims`
//! table, with the OIDC userinfo endpoint as a fallback for missing claims
//! (`claims.userinfo = true`: a claim is looked for in the token first,
//! then in the userinfo answer).
//!
//! Userinfo answers are cached per token (key: SHA-256 of the endpoint and
//! the token, never the token itself) until the token's `exp`, and fetched
//! once for concurrent requests with the same token. The cache is bounded
//! in bytes (`CachePolicy::userinfo_max_bytes`, default 32 MiB): an answer
//! weighs what its parsed JSON keeps alive, so a few hundred large answers
//! cannot take the server's memory. The answer's `sub` must
//! equal the token's (OIDC Core §5.3.2), else `invalid_claims`. A fetch that
//! fails is `idp_unavailable` (503): a principal is never silently built
//! without the claims it was meant to have. The endpoint refusing the token
//! (401/403) is `invalid_claims`: the token cannot supply the claims.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

use crate::cache::{Cache, Shape};
use crate::context::Principal;
use crate::egress::{FetchError, Fetcher, Redirects};
use crate::error::{AuthError, ErrorCode};
use crate::registration::Registration;
use http::Method;

/// Bytes an answer keeps alive besides its claims: the cache's entry and
/// key, the `Arc`.
const ENTRY_OVERHEAD: usize = 256;
/// Longest time an answer is reused, whatever the token's `exp`.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

type Claims = Map<String, Value>;

fn invalid_claims(detail: impl Into<std::borrow::Cow<'static, str>>) -> AuthError {
    AuthError::token(ErrorCode::InvalidClaims, detail)
}

/// Whether the registration wants userinfo and the token lacks a mapped claim.
pub(crate) fn wanted(reg: &Registration, claims: &Claims) -> bool {
    let m = &reg.claims;
    m.userinfo
        && [&m.subject, &m.username, &m.email]
            .into_iter()
            .any(|name| claims.get(name.as_str()).is_none_or(Value::is_null))
}

/// Map claims to the principal; a claim missing from the token is taken
/// from `userinfo`, when given.
pub(crate) fn principal(
    reg: &Registration,
    claims: &Claims,
    userinfo: Option<&Claims>,
) -> Result<Principal, AuthError> {
    let mapping = &reg.claims;
    let lookup = |name: &str| {
        claims
            .get(name)
            .filter(|v| !v.is_null())
            .or_else(|| userinfo.and_then(|u| u.get(name)))
    };
    let subject = match lookup(&mapping.subject) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) => {
            return Err(invalid_claims(format!(
                "the subject claim `{}` is empty",
                mapping.subject
            )));
        }
        Some(_) => {
            return Err(invalid_claims(format!(
                "the subject claim `{}` is not a string",
                mapping.subject
            )));
        }
        None => {
            return Err(invalid_claims(format!(
                "the subject claim `{}` is missing",
                mapping.subject
            )));
        }
    };
    let string = |name: &str| lookup(name).and_then(Value::as_str).map(str::to_owned);
    Ok(Principal {
        subject,
        username: string(&mapping.username),
        email: string(&mapping.email),
        attributes: mapping
            .persist
            .iter()
            .filter_map(|name| claims.get(name).map(|v| (name.clone(), v.clone())))
            .collect(),
    })
}

/// What an answer weighs: its claims as they sit in memory, the `Arc`, and
/// the entry's bookkeeping.
fn weight(claims: &Claims) -> usize {
    ENTRY_OVERHEAD + crate::weigh::ARC + crate::weigh::map(claims)
}

/// What an answer typically weighs (sizes the cache, bounds nothing).
const TYPICAL_BYTES: u64 = 2048;

/// The userinfo answer must be about the token's subject (OIDC Core §5.3.2).
fn same_subject(answer: &Claims, sub: &str) -> Result<(), AuthError> {
    match answer.get("sub") {
        Some(Value::String(s)) if s == sub => Ok(()),
        Some(Value::String(_)) => Err(invalid_claims(
            "the userinfo answer is about another subject (sub differs from the token's)",
        )),
        _ => Err(invalid_claims("the userinfo answer has no sub")),
    }
}

/// Fetches and caches userinfo answers (the crate's one cache shape,
/// bounded by bytes alone). Cheap to clone.
#[derive(Clone)]
pub(crate) struct UserinfoCache {
    cache: Cache<[u8; 32], Arc<Claims>, AuthError>,
    fetcher: Fetcher,
}

impl UserinfoCache {
    /// Fetch through `fetcher`; keep at most `max_bytes` of answers.
    pub(crate) fn new(fetcher: Fetcher, max_bytes: u64) -> Self {
        let shape = Shape {
            metric: Some("userinfo"),
            ..Shape::bytes(max_bytes, TYPICAL_BYTES)
        };
        let weigh = |_: &[u8; 32], answer: Option<&Arc<Claims>>, _: Option<&AuthError>| {
            answer.map_or(ENTRY_OVERHEAD, |claims| weight(claims))
        };
        Self {
            cache: Cache::new(shape, weigh),
            fetcher,
        }
    }

    /// What the cache holds now.
    pub(crate) fn size(&self) -> crate::CacheSize {
        self.cache.size()
    }

    /// The userinfo answer for `token` at `endpoint`, its `sub` checked
    /// against the token's; cached until `exp` (seconds since the epoch).
    pub(crate) async fn get(
        &self,
        endpoint: &Url,
        token: &str,
        token_claims: &Claims,
        now: i64,
        exp: i64,
    ) -> Result<Arc<Claims>, AuthError> {
        let sub = match token_claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => s,
            _ => {
                return Err(invalid_claims(
                    "the token has no sub to match a userinfo answer with",
                ));
            }
        };
        let mut hasher = Sha256::new();
        hasher.update(endpoint.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(token.as_bytes());
        let key: [u8; 32] = hasher.finalize().into();
        let ttl =
            Duration::from_secs(u64::try_from(exp.saturating_sub(now)).unwrap_or(0)).min(MAX_TTL);
        let load = || async {
            let claims = self.fetch(endpoint, token).await?;
            // Only an answer about this token's subject is kept: a bad
            // one (`{}` or an error object served with a 200, another
            // subject) must not stick to the token until it expires.
            same_subject(&claims, sub)?;
            Ok((Arc::new(claims), ttl))
        };
        let claims = self.cache.get_or_load(&key, load).await?;
        same_subject(&claims, sub)?;
        Ok(claims)
    }

    /// GET the userinfo endpoint with the token: no redirect (it would
    /// carry the token elsewhere), the answer capped before it is parsed.
    async fn fetch(&self, endpoint: &Url, token: &str) -> Result<Claims, AuthError> {
        let unavailable =
            |e: FetchError| AuthError::token(ErrorCode::IdpUnavailable, format!("userinfo: {e}"));
        let out = self
            .fetcher
            .request(Method::GET, endpoint, Redirects::None)
            .map_err(unavailable)?
            .max_body(self.fetcher.config().max_userinfo_bytes)
            .with(|req| {
                req.header(http::header::ACCEPT, "application/json")
                    .bearer_auth(token)
            });
        let answer = self.fetcher.send(out).await.map_err(unavailable)?;
        if matches!(answer.status.as_u16(), 401 | 403) {
            return Err(invalid_claims(
                "the userinfo endpoint refused the token, so the missing claims cannot be read",
            ));
        }
        let fetched = answer.into_fetched().map_err(unavailable)?;
        match serde_json::from_slice::<Value>(&fetched.body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(AuthError::token(
                ErrorCode::IdpUnavailable,
                format!("userinfo: {endpoint} answered something other than a JSON object"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registration::{ClaimsMapping, Provider};
    use serde_json::json;

    fn reg(userinfo: bool) -> Registration {
        Registration::builder("quid", Provider::Jwks)
            .client_id("app")
            .jwks_uri("https://idp.example/keys")
            .claims(ClaimsMapping {
                userinfo,
                persist: vec!["name".into()],
                ..ClaimsMapping::default()
            })
            .build()
            .unwrap()
    }

    fn map(v: Value) -> Claims {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn userinfo_is_wanted_only_for_missing_mapped_claims() {
        let full = map(json!({"sub": "a", "preferred_username": "u", "email": "e"}));
        assert!(!wanted(&reg(true), &full));
        assert!(wanted(&reg(true), &map(json!({"sub": "a", "email": "e"}))));
        assert!(wanted(
            &reg(true),
            &map(json!({"sub": "a", "preferred_username": "u", "email": null}))
        ));
        assert!(!wanted(&reg(false), &map(json!({"sub": "a"}))));
    }

    #[test]
    fn token_claims_win_over_userinfo() {
        let claims = map(json!({"sub": "a", "email": "token@x", "name": "N"}));
        let info = map(json!({"sub": "a", "email": "info@x", "preferred_username": "u"}));
        let p = principal(&reg(true), &claims, Some(&info)).unwrap();
        assert_eq!(p.username.as_deref(), Some("u"));
        assert_eq!(p.email.as_deref(), Some("token@x"));
        assert_eq!(p.attributes.get("name"), Some(&json!("N")));
        let err = principal(&reg(true), &map(json!({"sub": ""})), None).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidClaims);
        let err = principal(&reg(true), &map(json!({})), Some(&map(json!({})))).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidClaims);
    }

    /// Answers of about 20 KB each through a cache bounded at 100 000
    /// bytes: at most four are kept, whatever the number of tokens.
    #[cfg(feature = "testkit")]
    #[tokio::test]
    async fn answers_past_the_byte_bound_are_evicted() {
        use crate::egress::FetchConfig;
        use crate::testkit::{MockIdp, local_egress};
        let idp = MockIdp::start().await;
        let answer = map(json!({"sub": "alice", "name": "n".repeat(20_000)}));
        idp.set_userinfo(Value::Object(answer.clone()));
        let fetcher = Fetcher::new(FetchConfig {
            egress: local_egress(),
            ..FetchConfig::default()
        });
        let cache = UserinfoCache::new(fetcher, 100_000);
        let endpoint = Url::parse(&idp.userinfo_url()).unwrap();
        let token_claims = map(json!({"sub": "alice"}));
        let (now, exp) = (1_000, 4_600);
        let one = weight(&answer) as u64;
        assert!((20_000..22_000).contains(&one), "{one}");
        for i in 0..20 {
            let token = format!("token-{i}");
            let got = cache.get(&endpoint, &token, &token_claims, now, exp).await;
            assert_eq!(*got.unwrap(), answer);
            let size = cache.size();
            assert!(size.within_bound(), "after {i}: {size:?}");
            assert!(size.entries <= 4, "after {i}: {size:?}");
            assert_eq!(
                size.weighted_bytes,
                size.entries * one,
                "after {i}: {size:?}"
            );
        }
        assert_eq!(idp.userinfo_fetches(), 20, "one fetch per token");
        idp.shutdown().await;
    }
}
