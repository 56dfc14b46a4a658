//! The framework-neutral core: request headers in, an [`AuthContext`] or a
//! typed [`AuthError`] out. The tower layer and the actix middleware are
//! thin shells around it.

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;
use url::Url;

use crate::claims::Claims;
use crate::context::{AuthContext, Principal, Roles};
use crate::error::{AuthError, ErrorCode, RefusalResponder, RenderedRefusal};
use crate::headers::{Credentials, HeaderConfig, Presented, RequestView, read_credentials};
use crate::keys::{
    CachePolicy, DiscoveryDocument, DocumentCache, FetchConfig, Fetcher, KeySet, discovery_url_for,
};
use crate::property::PropertyResolver;
use crate::registration::{Provider, Registration};
use crate::registry::{CacheConfig, CachedRegistry, RegistrySource};
use crate::token::UnverifiedToken;
use crate::verify::{self, KeyChoice};

/// What a request presented, read synchronously before any I/O.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// Neither auth header.
    Anonymous,
    /// Credentials to verify, and the request's property.
    Credentials {
        /// Token and registration id.
        credentials: Credentials,
        /// The property the request is for, if the resolver found one.
        property: Option<String>,
    },
}

struct Inner {
    registry: CachedRegistry,
    keys: DocumentCache<KeySet>,
    discovery: DocumentCache<DiscoveryDocument>,
    headers: HeaderConfig,
    property: PropertyResolver,
    realm: String,
    responder: Option<RefusalResponder>,
}

/// Verifies requests against the application registry. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("headers", &self.inner.headers)
            .field("property", &self.inner.property)
            .field("realm", &self.inner.realm)
            .finish_non_exhaustive()
    }
}

/// Configures an [`Authenticator`].
pub struct AuthenticatorBuilder {
    source: Arc<dyn RegistrySource>,
    registry_cache: CacheConfig,
    headers: HeaderConfig,
    fetch: FetchConfig,
    policy: CachePolicy,
    property: PropertyResolver,
    realm: String,
    responder: Option<RefusalResponder>,
}

impl AuthenticatorBuilder {
    /// The registry cache's TTLs and size.
    pub fn registry_cache(mut self, config: CacheConfig) -> Self {
        self.registry_cache = config;
        self
    }

    /// Header names and the token size limit.
    pub fn headers(mut self, headers: HeaderConfig) -> Self {
        self.headers = headers;
        self
    }

    /// Limits of fetches from identity providers.
    pub fn fetch(mut self, fetch: FetchConfig) -> Self {
        self.fetch = fetch;
        self
    }

    /// Accept `http://` key, discovery and userinfo URLs (local IdPs).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.fetch.allow_http = allow;
        self
    }

    /// Freshness and refresh rules of key sets and discovery documents.
    pub fn key_cache(mut self, policy: CachePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How the request's property is found.
    pub fn property(mut self, resolver: PropertyResolver) -> Self {
        self.property = resolver;
        self
    }

    /// The `realm` of `WWW-Authenticate` (default `fedauth`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Replace the body of refusals; status, code and headers stay.
    pub fn responder(mut self, responder: RefusalResponder) -> Self {
        self.responder = Some(responder);
        self
    }

    /// Build. Installs the crate's crypto provider for jsonwebtoken.
    pub fn build(self) -> Authenticator {
        crate::crypto::ensure_provider();
        let fetcher = Fetcher::new(self.fetch);
        Authenticator {
            inner: Arc::new(Inner {
                registry: CachedRegistry::new(self.source, self.registry_cache),
                keys: DocumentCache::new(fetcher.clone(), self.policy.clone()),
                discovery: DocumentCache::new(fetcher, self.policy),
                headers: self.headers,
                property: self.property,
                realm: self.realm,
                responder: self.responder,
            }),
        }
    }
}

fn idp_unavailable(detail: impl Into<String>) -> AuthError {
    AuthError::token(ErrorCode::IdpUnavailable, detail.into())
}

impl Authenticator {
    /// Start configuring an authenticator over a registry source.
    pub fn builder(source: impl RegistrySource) -> AuthenticatorBuilder {
        Self::builder_arc(Arc::new(source))
    }

    /// Like [`Authenticator::builder`], for a source already shared.
    pub fn builder_arc(source: Arc<dyn RegistrySource>) -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            source,
            registry_cache: CacheConfig::default(),
            headers: HeaderConfig::default(),
            fetch: FetchConfig::default(),
            policy: CachePolicy::default(),
            property: PropertyResolver::None,
            realm: "fedauth".into(),
            responder: None,
        }
    }

    /// The cached registry (to invalidate entries after a change).
    pub fn registry(&self) -> &CachedRegistry {
        &self.inner.registry
    }

    /// Key set fetches so far (observability, tests).
    pub fn key_fetches(&self) -> u64 {
        self.inner.keys.fetch_count()
    }

    /// Render a refusal with this authenticator's realm and responder.
    pub fn render(&self, error: &AuthError) -> RenderedRefusal {
        error.render(&self.inner.realm, self.inner.responder.as_ref())
    }

    /// Read the auth headers and the property, without I/O.
    pub fn prepare(&self, req: &impl RequestView) -> Result<Prepared, AuthError> {
        match read_credentials(req, &self.inner.headers)? {
            Presented::Anonymous => Ok(Prepared::Anonymous),
            Presented::Credentials(credentials) => Ok(Prepared::Credentials {
                credentials,
                property: self.inner.property.resolve(req)?,
            }),
        }
    }

    /// Authenticate a request: a missing token is `missing_token`.
    pub async fn authenticate(&self, req: &impl RequestView) -> Result<AuthContext, AuthError> {
        match self.prepare(req)? {
            Prepared::Anonymous => Err(AuthError::token(
                ErrorCode::MissingToken,
                "no Authorization header",
            )),
            Prepared::Credentials {
                credentials,
                property,
            } => self.verify(&credentials, property).await,
        }
    }

    /// Verify credentials read by [`Authenticator::prepare`].
    pub async fn verify(
        &self,
        credentials: &Credentials,
        property: Option<String>,
    ) -> Result<AuthContext, AuthError> {
        let span = tracing::debug_span!(
            "fedauth.verify",
            registration = %credentials.registration,
            issuer = tracing::field::Empty,
            kid = tracing::field::Empty,
        );
        let result = self
            .verify_inner(credentials, property)
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        match &result {
            Ok(ctx) => {
                tracing::debug!(outcome = "accepted", subject = %ctx.subject(), "request authenticated")
            }
            Err(e) => {
                tracing::info!(outcome = "refused", code = e.code().as_str(), detail = %e.detail(), "request refused")
            }
        }
        result
    }

    async fn registration(&self, id: &str) -> Result<Arc<Registration>, AuthError> {
        let reg_err = |code, detail: &str| {
            AuthError::at(code, detail.to_owned(), "x-sc-auth", "header").with_value(id)
        };
        match self.inner.registry.get(id).await {
            Ok(Some(reg)) if !reg.enabled => Err(reg_err(
                ErrorCode::RegistrationDisabled,
                "the registration is disabled",
            )),
            Ok(Some(reg)) => Ok(reg),
            Ok(None) => Err(reg_err(
                ErrorCode::UnknownRegistration,
                "no registration with this id",
            )),
            Err(e) => {
                tracing::warn!(registration = %id, error = %e, "registry source failed");
                Err(reg_err(
                    ErrorCode::RegistryUnavailable,
                    "the registry source could not be read",
                ))
            }
        }
    }

    /// Where the registration's keys are: `jwks_uri`, or by discovery.
    async fn keys_url(&self, reg: &Registration) -> Result<Url, AuthError> {
        if let Some(url) = &reg.jwks_uri {
            return Ok(url.clone());
        }
        let issuer = reg.issuer.as_deref();
        let discovery_url = reg
            .discovery_url
            .clone()
            .or_else(|| issuer.and_then(discovery_url_for))
            .ok_or_else(|| {
                idp_unavailable("the registration has no key URL, issuer or discovery URL")
            })?;
        let doc = self
            .inner
            .discovery
            .get(&discovery_url)
            .await
            .map_err(|e| idp_unavailable(format!("discovery: {e}")))?;
        if let Some(issuer) = issuer {
            if doc.doc.issuer != issuer {
                tracing::error!(url = %discovery_url, "discovery document names another issuer; refusing to use it");
                return Err(idp_unavailable(
                    "the discovery document's issuer is not the registration's issuer",
                ));
            }
        }
        Ok(doc.doc.jwks_uri.clone())
    }

    async fn verify_inner(
        &self,
        credentials: &Credentials,
        property: Option<String>,
    ) -> Result<AuthContext, AuthError> {
        let reg = self.registration(&credentials.registration).await?;
        if matches!(
            reg.provider,
            Provider::Introspection | Provider::VerificationEndpoint
        ) {
            return Err(idp_unavailable(format!(
                "provider `{}` is not supported by this version",
                reg.provider
            )));
        }
        let token = UnverifiedToken::parse(&credentials.token)?;
        let alg = verify::select_algorithm(&reg, &token.header)?;
        let kid = token.header.kid.as_deref();
        if let Some(kid) = kid {
            tracing::Span::current().record("kid", verify::printable(kid, 64));
        }

        let url = self.keys_url(&reg).await?;
        let keys = &self.inner.keys;
        let mut snap = keys
            .get(&url)
            .await
            .map_err(|e| idp_unavailable(format!("key set: {e}")))?;
        if matches!(verify::select_key(&snap.doc, kid, alg), KeyChoice::NotFound)
            && kid.is_some_and(verify::plausible_kid)
        {
            snap = keys
                .refresh_for_miss(&url, &snap)
                .await
                .map_err(|e| idp_unavailable(format!("key set: {e}")))?;
        }
        let key = match verify::select_key(&snap.doc, kid, alg) {
            KeyChoice::Found(key) => key,
            other => return Err(verify::key_refusal(&other, kid, alg)),
        };
        verify::verify_signature(key, alg, token.signing_input, token.signature)?;

        // The signature holds: the claims may now be read.
        verify::check_token_use(&reg, &token.header)?;
        let claims = token.into_verified_claims();
        verify::check_issuer(reg.issuer.as_deref(), &claims)?;
        if let Some(expected) = key.issuer.as_deref().filter(|i| !i.contains('{')) {
            verify::check_issuer(Some(expected), &claims)?;
        }
        let client_id = reg.client_id().ok_or_else(|| {
            AuthError::token(
                ErrorCode::InvalidAudience,
                "the registration has no client id",
            )
        })?;
        verify::check_audience(client_id, &claims)?;
        verify::check_time(verify::now_unix(), reg.leeway_seconds as i64, &claims)?;

        let principal = principal(&reg, &claims)?;
        let roles = match reg.roles_in(property.as_deref()) {
            Some(roles) => Roles::new(roles),
            None => {
                return Err(AuthError::at(
                    ErrorCode::PropertyNotEnabled,
                    "the application is not enabled in this property",
                    "property",
                    "path",
                )
                .with_value(property.unwrap_or_default()));
            }
        };
        let issuer = claims
            .get("iss")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        if let Some(iss) = &issuer {
            tracing::Span::current().record("issuer", verify::printable(iss, 128));
        }
        Ok(AuthContext::new(
            reg,
            issuer,
            property,
            roles,
            principal,
            Claims::from_map(claims),
        ))
    }

    /// Fetch the discovery documents and key sets of these registrations
    /// before serving, concurrently, each within `bound`. A registration
    /// whose IdP is down is logged and counted; it does not hold the others.
    pub async fn warm_up<I>(&self, ids: I, bound: Duration) -> WarmUpReport
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let tasks = ids.into_iter().map(|id| {
            let id = id.as_ref().to_owned();
            async move {
                let work = async {
                    let reg = self.registration(&id).await?;
                    if matches!(
                        reg.provider,
                        Provider::Introspection | Provider::VerificationEndpoint
                    ) {
                        return Ok(());
                    }
                    let url = self.keys_url(&reg).await?;
                    self.inner
                        .keys
                        .get(&url)
                        .await
                        .map(|_| ())
                        .map_err(|e| idp_unavailable(e.to_string()))
                };
                let outcome = match tokio::time::timeout(bound, work).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(e.detail().to_owned()),
                    Err(_) => Err(format!("no answer within {bound:?}")),
                };
                if let Err(why) = &outcome {
                    tracing::warn!(registration = %id, reason = %why, "warm-up failed");
                }
                (id, outcome)
            }
        });
        let results = futures_util::future::join_all(tasks).await;
        let mut report = WarmUpReport::default();
        for (id, outcome) in results {
            match outcome {
                Ok(()) => report.ready.push(id),
                Err(why) => report.failed.push((id, why)),
            }
        }
        report
    }
}

/// The outcome of [`Authenticator::warm_up`].
#[derive(Debug, Clone, Default)]
pub struct WarmUpReport {
    /// Registrations whose keys are cached.
    pub ready: Vec<String>,
    /// Registrations whose keys could not be fetched, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Map claims to the principal with the registration's `claims` table.
fn principal(
    reg: &Registration,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Result<Principal, AuthError> {
    let mapping = &reg.claims;
    let subject = match claims.get(&mapping.subject) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
        Some(serde_json::Value::String(_)) => {
            return Err(AuthError::token(
                ErrorCode::InvalidClaims,
                format!("the subject claim `{}` is empty", mapping.subject),
            ));
        }
        Some(_) => {
            return Err(AuthError::token(
                ErrorCode::InvalidClaims,
                format!("the subject claim `{}` is not a string", mapping.subject),
            ));
        }
        None => {
            return Err(AuthError::token(
                ErrorCode::InvalidClaims,
                format!("the subject claim `{}` is missing", mapping.subject),
            ));
        }
    };
    let string = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
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
