//! Opaque tokens: tokens fedauth cannot read, checked by asking a server —
//! an RFC 7662 introspection endpoint ([`introspection`]) or the
//! application's own verification endpoint ([`verification`]).
//!
//! Both calls go out through the shared outgoing client ([`Fetcher`]: the
//! egress policy, timeout and size cap) and follow no redirect (a redirect
//! would carry the token, and with `client_secret_post` the secret, to
//! another server). Answers are cached
//! per token hash ([`cache`]) with one call for concurrent requests.

mod answer;
mod cache;
mod introspection;
mod template;
mod verification;

pub use answer::map_verification_answer;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::Value;

use crate::claims::Claims;
use crate::context::{Principal, TokenFacts};
use crate::error::{AuthError, ErrorCode};
use crate::keys::Fetcher;
use crate::registration::{ClientAuthMethod, Provider, ProviderConfig, Registration};
use crate::verify::now_unix;

use cache::AnswerCache;
use introspection::Introspected;

fn unavailable(detail: impl Into<std::borrow::Cow<'static, str>>) -> AuthError {
    AuthError::token(ErrorCode::IdpUnavailable, detail)
}

/// Verifies opaque tokens for `introspection` and `verification-endpoint`
/// registrations. Cheap to clone.
#[derive(Clone)]
pub(crate) struct OpaqueVerifier {
    fetcher: Fetcher,
    introspections: AnswerCache<Introspected>,
    verifications: AnswerCache<Arc<Value>>,
}

impl OpaqueVerifier {
    /// Call out through `fetcher`; cache answers within `policy`'s bounds.
    pub(crate) fn new(fetcher: &Fetcher, policy: &crate::keys::CachePolicy) -> Self {
        Self {
            fetcher: fetcher.clone(),
            introspections: AnswerCache::new("introspection", policy.introspection_max_bytes),
            verifications: AnswerCache::new("verification", policy.verification_max_bytes),
        }
    }

    /// What the introspection and verification answer caches hold.
    pub(crate) fn sizes(&self) -> (crate::CacheSize, crate::CacheSize) {
        (self.introspections.size(), self.verifications.size())
    }

    /// Verify `token` for an opaque-token registration: what the IdP (or
    /// the application's endpoint) established about it. The per-request
    /// decisions (user directory, property roles) are the authenticator's,
    /// as for signed tokens.
    pub(crate) async fn facts(
        &self,
        reg: &Registration,
        token: &str,
    ) -> Result<Arc<TokenFacts>, AuthError> {
        let (principal, claims, issuer) = match reg.provider.kind() {
            Provider::Introspection => self.introspect(reg, token).await?,
            Provider::VerificationEndpoint => self.call_endpoint(reg, token).await?,
            other => {
                return Err(unavailable(format!(
                    "provider `{other}` does not use opaque tokens"
                )));
            }
        };
        Ok(Arc::new(TokenFacts::new(issuer, principal, claims, token)))
    }

    async fn introspect(
        &self,
        reg: &Registration,
        token: &str,
    ) -> Result<(Principal, Claims, Option<String>), AuthError> {
        let ProviderConfig::Introspection(cfg) = &reg.provider else {
            return Err(unavailable("the registration has no introspection table"));
        };
        let auth_method: &[u8] = match cfg.auth_method {
            ClientAuthMethod::ClientSecretBasic => b"basic",
            ClientAuthMethod::ClientSecretPost => b"post",
        };
        let key = cache::key([
            b"introspection".as_slice(),
            reg.id.as_str().as_bytes(),
            token.as_bytes(),
            cfg.endpoint.as_str().as_bytes(),
            cfg.client_id.as_bytes(),
            auth_method,
        ]);
        let answer = self
            .introspections
            .get_or_fetch(key, || async {
                let req = introspection::request(&self.fetcher, cfg, token)?;
                let fetched = self
                    .fetcher
                    .send(req)
                    .await
                    .and_then(crate::egress::Answer::into_fetched)
                    .map_err(|e| unavailable(format!("introspection: {e}")))?;
                let answer = introspection::parse(&fetched.body)
                    .map_err(|why| unavailable(format!("introspection: {why}")))?;
                let ttl = introspection::ttl(cfg, &answer, now_unix());
                Ok((answer, ttl, fetched.body.len()))
            })
            .await?;
        let fields = match answer {
            Introspected::Active(fields) => fields,
            Introspected::Inactive => {
                return Err(AuthError::token(
                    ErrorCode::InactiveToken,
                    "the introspection endpoint answered active: false",
                ));
            }
        };
        introspection::check(reg, &fields, now_unix())?;
        let principal = introspection::principal(reg, &fields)?;
        let issuer = fields.get("iss").and_then(Value::as_str).map(str::to_owned);
        Ok((principal, Claims::from_map((*fields).clone()), issuer))
    }

    async fn call_endpoint(
        &self,
        reg: &Registration,
        token: &str,
    ) -> Result<(Principal, Claims, Option<String>), AuthError> {
        let ProviderConfig::VerificationEndpoint(cfg) = &reg.provider else {
            return Err(unavailable("the registration has no verification table"));
        };
        let vars = template::Vars {
            token,
            registration: reg.id.as_str(),
            client_id: reg.client_id().unwrap_or_default(),
        };
        let call = verification::build(cfg, &vars)?;
        let ttl = std::time::Duration::from_secs(cfg.cache_seconds);
        let max_body = self.fetcher.config().max_body_bytes;
        let answer = self
            .verifications
            .get_or_fetch(call.key(reg.id.as_str(), token), || async {
                let (answer, size) = verification::send(&call, &self.fetcher, max_body).await?;
                Ok((Arc::new(answer), ttl, size))
            })
            .await?;
        let map = answer.as_object().cloned().unwrap_or_default();
        // The answer's JSON stands for the token's claims (docs/registry.md).
        reg.required_claims.check(&map)?;
        let principal = verification::principal(reg, cfg, &answer)?;
        Ok((principal, Claims::from_map(map), None))
    }
}
