//! The framework-neutral core: request headers in, an [`AuthContext`] or a
//! typed [`AuthError`] out. The tower layer and the actix middleware are
//! thin shells around it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use crate::binding::{Binding, ClientCertSource, DpopConfig};
use crate::claims::Claims;
use crate::claims::as_numeric_date;
use crate::context::{AuthContext, TokenFacts};
use crate::directory::{CachedDirectory, DirectoryConfig, UserDirectory, UserGate};
use crate::egress::EgressPolicy;
use crate::error::{AuthError, Check, ErrorCode, RefusalResponder, RenderedRefusal};
use crate::headers::{CredentialRefs, HeaderConfig, RequestView, read_credential_refs};
use crate::keys::{CachePolicy, DiscoveryDocument, DocumentCache, FetchConfig, Fetcher, KeySet};
use crate::opaque::OpaqueVerifier;
use crate::property::PropertyResolver;
use crate::providers::userinfo::{self, UserinfoCache};
use crate::providers::{KeySource, ProviderRules};
use crate::registration::Registration;
use crate::registry::{CacheConfig, CachedRegistry, RegistrySource, Resolved};
use crate::token::UnverifiedToken;
use crate::token_cache::{TokenCache, TokenCacheConfig, TokenCacheStats, Verified};
use crate::verify::{self, KeyChoice};

mod decision;
mod hot;
mod path;
mod sizes;

use decision::registration_answer;
pub use path::{Immediate, Pending};

struct Inner {
    registry: CachedRegistry,
    keys: DocumentCache<KeySet>,
    discovery: DocumentCache<DiscoveryDocument>,
    userinfo: UserinfoCache,
    headers: HeaderConfig,
    property: PropertyResolver,
    realm: String,
    responder: Option<RefusalResponder>,
    opaque: OpaqueVerifier,
    directory: Option<UserGate>,
    tokens: TokenCache,
    /// This authenticator's number in the per-thread hot sets.
    owner: u64,
    /// Whether the hot sets are used: the token cache is on and no user
    /// directory takes part in the decision.
    hot: bool,
    /// Whether decisions are counted with the registration id as a label.
    registration_labels: bool,
    /// DPoP proofs and client certificates (the sender constraint).
    binding: Binding,
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
    directory: Option<UserGate>,
    token_cache: TokenCacheConfig,
    registration_labels: bool,
    dpop: DpopConfig,
    client_cert: ClientCertSource,
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

    /// Limits and egress policy of every request to identity providers
    /// (key sets, discovery, userinfo, introspection, verification).
    pub fn fetch(mut self, fetch: FetchConfig) -> Self {
        self.fetch = fetch;
        self
    }

    /// Which destinations requests to identity providers may reach
    /// (default: `https` to public unicast addresses only).
    pub fn egress(mut self, policy: EgressPolicy) -> Self {
        self.fetch.egress = policy;
        self
    }

    /// Accept `http://` URLs (local IdPs); the destination rules still
    /// apply.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.fetch.egress = std::mem::take(&mut self.fetch.egress).allow_http(allow);
        self
    }

    /// Also reach this network (a local or internal IdP), beyond public
    /// unicast addresses.
    pub fn allow_network(mut self, network: ipnet::IpNet) -> Self {
        self.fetch.egress = std::mem::take(&mut self.fetch.egress).allow_network(network);
        self
    }

    /// Freshness, refresh and byte bounds of key sets and discovery
    /// documents, and the byte bounds of the userinfo, introspection and
    /// verification answer caches.
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

    /// Look every verified subject up in a user directory (see
    /// `docs/directory.md` in the repository):
    /// blocked users are refused, and unknown ones or unverified emails as
    /// `config` (or the registration) requires. The user record is in
    /// [`AuthContext::user`].
    pub fn user_directory(
        mut self,
        directory: impl UserDirectory,
        config: DirectoryConfig,
    ) -> Self {
        self.directory = Some(UserGate::new(Arc::new(directory), config));
        self
    }

    /// Bounds of the verified-token cache (on by default: 5 minutes,
    /// 100,000 tokens, 64 MiB); [`TokenCacheConfig::disabled`] turns it off.
    pub fn token_cache(mut self, config: TokenCacheConfig) -> Self {
        self.token_cache = config;
        self
    }

    /// Count decisions with the registration id as a metric label (default
    /// off: ids name the platform's customers, and `/metrics` is often
    /// unauthenticated; turn it on only where the metrics are private).
    pub fn registration_metric_labels(mut self, on: bool) -> Self {
        self.registration_labels = on;
        self
    }

    /// How DPoP proofs are checked (RFC 9449): the server's public URL
    /// (`htu`), proof algorithms, `iat` window, replay cache and nonces.
    /// Each registration says whether DPoP is off, allowed (the default) or
    /// required (`docs/dpop.md` in the repository).
    pub fn dpop(mut self, config: DpopConfig) -> Self {
        self.dpop = config;
        self
    }

    /// Where the client certificate of certificate-bound tokens (RFC 8705)
    /// comes from: the TLS connection (the default) or a trusted proxy's
    /// header.
    pub fn client_certificate(mut self, source: ClientCertSource) -> Self {
        self.client_cert = source;
        self
    }

    /// Build. Installs the crate's crypto provider for jsonwebtoken.
    pub fn build(self) -> Authenticator {
        crate::crypto::ensure_provider();
        let fetcher = Fetcher::new(self.fetch);
        let opaque = OpaqueVerifier::new(&fetcher, &self.policy);
        let hot = self.token_cache.enabled && self.directory.is_none();
        Authenticator {
            inner: Arc::new(Inner {
                registry: CachedRegistry::new(self.source, self.registry_cache),
                keys: DocumentCache::new(fetcher.clone(), self.policy.clone()),
                discovery: DocumentCache::new(fetcher.clone(), self.policy.clone()),
                userinfo: UserinfoCache::new(fetcher, self.policy.userinfo_max_bytes),
                headers: self.headers,
                property: self.property,
                realm: self.realm,
                responder: self.responder,
                opaque,
                directory: self.directory,
                tokens: TokenCache::new(self.token_cache),
                owner: hot::new_owner(),
                hot,
                registration_labels: self.registration_labels,
                binding: Binding::new(&self.dpop, self.client_cert),
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
            realm: crate::error::DEFAULT_REALM.into(),
            responder: None,
            directory: None,
            token_cache: TokenCacheConfig::default(),
            registration_labels: false,
            dpop: DpopConfig::default(),
            client_cert: ClientCertSource::default(),
        }
    }

    /// The cached registry (to invalidate entries after a change).
    pub fn registry(&self) -> &CachedRegistry {
        &self.inner.registry
    }

    /// The cached user directory, if one is configured (to invalidate users).
    pub fn user_directory(&self) -> Option<&CachedDirectory> {
        self.inner.directory.as_ref().map(UserGate::directory)
    }

    /// Key set fetches so far (observability, tests).
    pub fn key_fetches(&self) -> u64 {
        self.inner.keys.fetch_count()
    }

    /// Key set lookups that could not be answered from the cache at once
    /// and waited on a fetch (observability, tests). With refresh ahead of
    /// expiry, this stays flat under steady traffic.
    pub fn key_fetch_waits(&self) -> u64 {
        self.inner.keys.waited_count()
    }

    /// What the verified-token cache holds.
    pub fn token_cache_stats(&self) -> TokenCacheStats {
        self.inner.tokens.stats()
    }

    /// Forget every remembered token verification (the next request of
    /// each token is verified in full).
    pub fn invalidate_token_cache(&self) {
        self.inner.tokens.invalidate_all();
    }

    /// Render a refusal with this authenticator's realm and responder.
    pub fn render(&self, error: &AuthError) -> RenderedRefusal {
        error.render(&self.inner.realm, self.inner.responder.as_ref())
    }

    /// The credentials borrowed from the headers and the property (read
    /// only from a request that presents credentials); `None`: anonymous.
    /// A refusal is counted in the metrics.
    fn read_request<'r>(
        &self,
        req: &'r impl RequestView,
    ) -> Result<Option<(CredentialRefs<'r>, Option<String>)>, AuthError> {
        let read = read_credential_refs(req, &self.inner.headers).and_then(|refs| {
            refs.map(|refs| Ok((refs, self.inner.property.resolve(req)?)))
                .transpose()
        });
        if let Err(e) = &read {
            crate::metrics::refused(e, None, self.inner.registration_labels);
        }
        read
    }

    /// What the verified-token cache remembers of this token (only signed
    /// tokens are kept there).
    fn cached_facts(
        &self,
        reg: &Arc<Registration>,
        token: &[u8],
        now: Instant,
    ) -> Option<Arc<Verified>> {
        match reg.provider.uses_signed_tokens() {
            true => self.inner.tokens.get_at(reg, token, now),
            false => None,
        }
    }

    /// The `missing_token` refusal of a request that must be authenticated
    /// and presented no credentials (counted in the metrics).
    pub fn refuse_anonymous(&self) -> AuthError {
        let error = AuthError::token(ErrorCode::MissingToken, "no Authorization header");
        crate::metrics::refused(&error, None, self.inner.registration_labels);
        error
    }

    /// Authenticate a request: a missing token is `missing_token`.
    /// The caches answer first ([`Authenticator::authenticate_now`]).
    pub async fn authenticate(&self, req: &impl RequestView) -> Result<AuthContext, AuthError> {
        match self.authenticate_now(req)? {
            Immediate::Anonymous => Err(self.refuse_anonymous()),
            Immediate::Accepted(ctx) => Ok(ctx),
            Immediate::Pending(pending) => self.finish(pending).await,
        }
    }

    async fn registration(&self, id: &str) -> Result<Arc<Resolved>, AuthError> {
        registration_answer(id, self.inner.registry.resolve(id).await)
    }

    /// Where the registration's keys are (see [`ProviderRules::key_source`]).
    async fn keys_url(&self, rules: &ProviderRules<'_>) -> Result<Url, AuthError> {
        match rules.key_source() {
            Some(KeySource::Direct(url)) => Ok(url),
            Some(KeySource::Discovery(url)) => {
                Ok(self.discovery(rules, &url).await?.jwks_uri.clone())
            }
            None => Err(idp_unavailable(
                "the registration has no key URL, issuer or discovery URL",
            )),
        }
    }

    /// A discovery document, refused unless it names the registration's issuer.
    async fn discovery(
        &self,
        rules: &ProviderRules<'_>,
        url: &Url,
    ) -> Result<Arc<DiscoveryDocument>, AuthError> {
        let snap = self
            .inner
            .discovery
            .get(url)
            .await
            .map_err(|e| idp_unavailable(format!("discovery: {e}")))?;
        if !rules.accepts_discovery_issuer(&snap.doc.issuer) {
            tracing::error!(url = %url, "discovery document names another issuer; refusing to use it");
            return Err(idp_unavailable(
                "the discovery document's issuer is not the registration's issuer",
            ));
        }
        Ok(snap.doc.clone())
    }

    /// The userinfo answer for a token lacking mapped claims.
    async fn userinfo(
        &self,
        rules: &ProviderRules<'_>,
        token: &str,
        claims: &serde_json::Map<String, serde_json::Value>,
        now: i64,
    ) -> Result<Arc<serde_json::Map<String, serde_json::Value>>, AuthError> {
        let url = rules.discovery_url().ok_or_else(|| {
            idp_unavailable("userinfo: no discovery document to find the endpoint in")
        })?;
        let doc = self.discovery(rules, &url).await?;
        let endpoint = doc.userinfo_endpoint.as_ref().ok_or_else(|| {
            idp_unavailable("userinfo: the discovery document names no userinfo_endpoint")
        })?;
        let exp = claims.get("exp").and_then(as_numeric_date).unwrap_or(now);
        self.inner
            .userinfo
            .get(endpoint, token, claims, now, exp)
            .await
    }

    /// Steps 4–11 for a signed token not verified before: signature with the
    /// IdP's key, then the claims; remembered in the verified-token cache.
    async fn verify_signed(
        &self,
        reg: &Arc<Registration>,
        raw_token: &str,
    ) -> Result<Arc<TokenFacts>, AuthError> {
        let rules = ProviderRules::new(reg);
        let token = UnverifiedToken::parse(raw_token)?;
        let alg = verify::select_algorithm(reg, &token.header)?;
        let kid = token.header.kid.as_deref();
        if let Some(kid) = kid {
            let kid = tracing::field::display(verify::Printable(kid, 64));
            tracing::Span::current().record("kid", kid);
        }

        rules.check_key_id(&token.header)?;
        let url = self.keys_url(&rules).await?;
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
        let (header, claims) = token.into_verified();
        if let Some(iss) = claims.get("iss").and_then(|v| v.as_str()) {
            let iss = tracing::field::display(verify::Printable(iss, 128));
            tracing::Span::current().record("issuer", iss);
        }
        let now = verify::now_unix();
        rules.check_verified(Some(key), &header, &claims, now)?;

        let userinfo = match userinfo::wanted(reg, &claims) {
            true => Some(
                self.userinfo(&rules, raw_token, &claims, now)
                    .await
                    .map_err(|e| e.during(Check::Claims))?,
            ),
            false => None,
        };
        let principal = userinfo::principal(reg, &claims, userinfo.as_deref())?;
        // What the token established is settled: remember it before the
        // per-request decisions (user, property), which are made every time.
        let exp = claims.get("exp").and_then(as_numeric_date);
        let issuer = claims
            .get("iss")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let facts = Arc::new(TokenFacts::new(
            issuer,
            principal,
            Claims::from_map(claims),
            raw_token,
        ));
        let tokens = &self.inner.tokens;
        tokens.insert(reg, raw_token, &key.liveness, exp, now, &facts);
        Ok(facts)
    }

    /// Step 12: the user directory, if one is configured.
    async fn check_user(
        &self,
        reg: &Registration,
        subject: &str,
    ) -> Result<Option<Arc<crate::User>>, AuthError> {
        match &self.inner.directory {
            Some(gate) => Box::pin(gate.check(reg, subject)).await,
            None => Ok(None),
        }
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
                    let found = self.registration(&id).await?;
                    let reg = found.registration();
                    if !reg.provider.uses_signed_tokens() {
                        return Ok(());
                    }
                    let url = self.keys_url(&ProviderRules::new(reg)).await?;
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

/// Requests this thread answered from its hot set so far (tests of other
/// modules).
#[cfg(test)]
pub(crate) fn hot_hits_on_this_thread() -> u64 {
    hot::hits_on_this_thread()
}

/// A request with the two auth headers and, if given, the `x-property`
/// header the authenticator tests resolve properties from.
#[cfg(test)]
pub(crate) fn test_request(token: &str, id: &str, property: Option<&str>) -> http::Request<()> {
    let mut b = http::Request::builder()
        .header("authorization", format!("Bearer {token}"))
        .header("x-sc-auth", id);
    if let Some(p) = property {
        b = b.header("x-property", p);
    }
    b.body(()).unwrap()
}
