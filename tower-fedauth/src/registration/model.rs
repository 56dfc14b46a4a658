//! The validated registration model: what a registration *is* once it has
//! passed the rules of the registry format (`docs/registry.md` in the
//! repository).

use std::collections::BTreeMap;
use std::fmt;

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use super::id::RegistrationId;

/// Which identity provider preset a registration uses: it fixes what the
/// registration must name and what is derived (issuers, key URL, audience,
/// token kind; see [`crate::providers`] for each preset's rules).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// Any OpenID Connect IdP, keys found by discovery from `issuer`.
    #[default]
    Oidc,
    /// A bare JWKS URL (the minimal registration: client id + key URL).
    Jwks,
    /// Microsoft Entra ID (Azure AD): `tenant` (GUID, `common`,
    /// `organizations`, `consumers`), `version`; issuers
    /// `https://login.microsoftonline.com/{tid}/v2.0` and
    /// `https://sts.windows.net/{tid}/`, keys at
    /// `https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys`; RS256.
    /// A multi-tenant `tenant` is narrowed by `allowed_tenants`.
    AzureAd,
    /// Amazon Cognito user pools: `region`, `user_pool_id`; issuer
    /// `https://cognito-idp.{region}.amazonaws.com/{user_pool_id}` (or the
    /// `issuer.cognito-idp…` host), keys at `{issuer}/.well-known/jwks.json`;
    /// `token_use` default `access` (checked by the `client_id` claim); RS256.
    Cognito,
    /// Auth0, by tenant or custom domain: `domain`; issuer
    /// `https://{domain}/`, keys at `https://{domain}/.well-known/jwks.json`;
    /// RS256.
    Auth0,
    /// Firebase Authentication: `project_id`; issuer
    /// `https://securetoken.google.com/{project_id}`, audience the project,
    /// keys from Google's X.509 certificate map
    /// ([`crate::providers::FIREBASE_KEYS_URL`]); RS256, `kid` required.
    Firebase,
    /// Opaque tokens checked at an RFC 7662 introspection endpoint.
    Introspection,
    /// Tokens checked by a custom verification endpoint.
    VerificationEndpoint,
}

impl Provider {
    /// Every provider, in the order of the registry file documentation.
    pub const ALL: [Provider; 8] = [
        Provider::Oidc,
        Provider::Jwks,
        Provider::AzureAd,
        Provider::Cognito,
        Provider::Auth0,
        Provider::Firebase,
        Provider::Introspection,
        Provider::VerificationEndpoint,
    ];

    /// The name used in registry files and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Oidc => "oidc",
            Provider::Jwks => "jwks",
            Provider::AzureAd => "azure-ad",
            Provider::Cognito => "cognito",
            Provider::Auth0 => "auth0",
            Provider::Firebase => "firebase",
            Provider::Introspection => "introspection",
            Provider::VerificationEndpoint => "verification-endpoint",
        }
    }

    /// The provider with this registry-file name, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Whether tokens of this provider are JWTs checked against keys (and so
    /// whether `algorithms`, `issuer` and `jwks_uri` mean anything).
    pub fn uses_signed_tokens(self) -> bool {
        !matches!(
            self,
            Provider::Introspection | Provider::VerificationEndpoint
        )
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of token a registration accepts, so an ID token cannot be
/// replayed where an access token is meant, or the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    /// Access tokens only.
    Access,
    /// ID tokens only.
    Id,
    /// Either kind (the audience must still name the client).
    Any,
}

impl TokenUse {
    /// The name used in registry files.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
            TokenUse::Any => "any",
        }
    }

    /// The token use with this registry-file name, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        [TokenUse::Access, TokenUse::Id, TokenUse::Any]
            .into_iter()
            .find(|t| t.as_str() == name)
    }
}

impl fmt::Display for TokenUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which Entra ID token versions (issuer forms) an `azure-ad` registration
/// accepts; the two versions have different issuers and key URLs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AzureVersion {
    /// v1 tokens (`https://sts.windows.net/{tid}/`).
    V1,
    /// v2 tokens (`https://login.microsoftonline.com/{tid}/v2.0`).
    V2,
    /// Either version, told apart by the `ver` claim.
    #[default]
    Any,
}

impl Serialize for AzureVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AzureVersion::V1 => s.serialize_u8(1),
            AzureVersion::V2 => s.serialize_u8(2),
            AzureVersion::Any => s.serialize_str("any"),
        }
    }
}

impl<'de> Deserialize<'de> for AzureVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const EXPECTED: &str = "1, 2 or \"any\"";
        impl serde::de::Visitor<'_> for V {
            type Value = AzureVersion;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<AzureVersion, E> {
                match v {
                    1 => Ok(AzureVersion::V1),
                    2 => Ok(AzureVersion::V2),
                    _ => Err(E::invalid_value(
                        serde::de::Unexpected::Unsigned(v),
                        &EXPECTED,
                    )),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<AzureVersion, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(
                        serde::de::Unexpected::Signed(v),
                        &EXPECTED,
                    )),
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AzureVersion, E> {
                match v {
                    "1" => Ok(AzureVersion::V1),
                    "2" => Ok(AzureVersion::V2),
                    "any" => Ok(AzureVersion::Any),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &EXPECTED)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// How token claims map to the principal: IdPs name the user differently,
/// and the platform must not guess.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimsMapping {
    /// Claim that identifies the user or app.
    pub subject: String,
    /// Claim holding the user name.
    pub username: String,
    /// Claim holding the email (never a basis for authorization).
    pub email: String,
    /// Fetch the OIDC userinfo endpoint when a mapped claim is missing.
    pub userinfo: bool,
    /// Claims copied into the principal's attributes.
    pub persist: Vec<String>,
}

impl Default for ClaimsMapping {
    fn default() -> Self {
        Self {
            subject: "sub".into(),
            username: "preferred_username".into(),
            email: "email".into(),
            userinfo: false,
            persist: Vec::new(),
        }
    }
}

/// A credential that must never reach a log: `Debug` prints `Secret(***)`
/// and there is no `Display` or `Serialize`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a credential read from configuration.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, only where it is sent to the IdP.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// How the resource server authenticates to the introspection endpoint
/// (RFC 7662 §2.1 leaves it to the IdP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// HTTP Basic with client id and secret.
    #[default]
    ClientSecretBasic,
    /// Client id and secret in the form body.
    ClientSecretPost,
}

/// An RFC 7662 introspection endpoint for opaque tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectionConfig {
    /// The introspection URL.
    pub endpoint: Url,
    /// The resource server's client id at the IdP.
    pub client_id: String,
    /// The resource server's client secret at the IdP.
    pub client_secret: Secret,
    /// How the credentials are sent.
    pub auth_method: ClientAuthMethod,
    /// Upper bound on reusing an `active: true` answer (0: no caching).
    pub cache_seconds: u64,
}

impl IntrospectionConfig {
    /// A config with the default auth method and cache time, so code only
    /// names what the IdP requires.
    pub fn new(
        endpoint: Url,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        Self {
            endpoint,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            auth_method: ClientAuthMethod::default(),
            cache_seconds: DEFAULT_CACHE_SECONDS,
        }
    }
}

/// Default reuse time of an introspection or verification answer.
pub const DEFAULT_CACHE_SECONDS: u64 = 60;

/// The HTTP method of a custom verification endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpMethod {
    /// Params in the query string.
    #[serde(rename = "GET")]
    Get,
    /// Params as a form body.
    #[serde(rename = "POST")]
    Post,
}

/// A custom verification endpoint (the token is checked by a call to the
/// application's own server).
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationConfig {
    /// The verification URL.
    pub url: Url,
    /// GET (params in the query) or POST (params as a form body).
    pub method: HttpMethod,
    /// Header name → template; `_` in names becomes `-`.
    pub headers: BTreeMap<String, String>,
    /// Param name → template.
    pub params: BTreeMap<String, String>,
    /// Principal field → template over the JSON answer; has `uid`.
    pub response: BTreeMap<String, String>,
    /// How long a successful answer is reused for the same token (0: never).
    pub cache_seconds: u64,
}

impl VerificationConfig {
    /// A config mapping only `uid`, so code starts from the one required
    /// field and adds the rest.
    pub fn new(url: Url, method: HttpMethod, uid_template: impl Into<String>) -> Self {
        Self {
            url,
            method,
            headers: BTreeMap::new(),
            params: BTreeMap::new(),
            response: BTreeMap::from([("uid".to_owned(), uid_template.into())]),
            cache_seconds: DEFAULT_CACHE_SECONDS,
        }
    }
}

/// Header and param values may hold static API keys: only names are shown.
impl fmt::Debug for VerificationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
        f.debug_struct("VerificationConfig")
            .field("url", &self.url.as_str())
            .field("method", &self.method)
            .field("headers", &names(&self.headers))
            .field("params", &names(&self.params))
            .field("response", &self.response)
            .field("cache_seconds", &self.cache_seconds)
            .finish()
    }
}

/// One application registration, validated: every rule of the registry
/// format holds, so request-time code never re-checks configuration.
///
/// Build one with [`Registration::builder`] or read it from a registry file
/// (see `crate::registry`). `algorithms` and `token_use` hold the
/// *effective* values (provider defaults applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The QUID sent in `x-sc-auth`.
    pub id: RegistrationId,
    /// Human label, for logs.
    pub name: Option<String>,
    /// `false`: every request with this id is refused.
    pub enabled: bool,
    /// The application's client id at its IdP, as configured.
    pub client_id: Option<String>,
    /// The identity provider preset.
    pub provider: Provider,
    /// Exact expected `iss`, when configured (not derived here).
    pub issuer: Option<String>,
    /// Where the signing keys are, when configured.
    pub jwks_uri: Option<Url>,
    /// Override of `{issuer}/.well-known/openid-configuration`.
    pub discovery_url: Option<Url>,
    /// Effective algorithm allowlist (empty for providers without JWTs).
    pub algorithms: Vec<Algorithm>,
    /// Effective token kind accepted.
    pub token_use: TokenUse,
    /// Clock skew allowed on `exp`/`nbf`/`iat`, 0–300 s.
    pub leeway_seconds: u64,
    /// Roles granted in every property.
    pub roles: Vec<String>,
    /// Property id → roles granted there; a property not listed has not
    /// enabled the application.
    pub properties: BTreeMap<String, Vec<String>>,
    /// `azure-ad`: tenant GUID or `common`/`organizations`/`consumers` (lowercase).
    pub tenant: Option<String>,
    /// `azure-ad`: accepted token versions.
    pub version: AzureVersion,
    /// `azure-ad` with a multi-tenant `tenant`: the tenant GUIDs (lowercase)
    /// whose tokens pass; a token of any other tenant is refused as
    /// `invalid_issuer`. `None`: every tenant the `tenant` admits passes
    /// (`common`: every Entra ID tenant in the world), which is logged as a
    /// warning when the registration is loaded.
    pub allowed_tenants: Option<Vec<String>>,
    /// `cognito`: AWS region of the user pool.
    pub region: Option<String>,
    /// `cognito`: the user pool id.
    pub user_pool_id: Option<String>,
    /// `auth0`: the tenant or custom domain (host name, lowercase).
    pub domain: Option<String>,
    /// `firebase`: the project id (also the audience).
    pub project_id: Option<String>,
    /// Claims → principal mapping.
    pub claims: ClaimsMapping,
    /// `introspection`: the RFC 7662 endpoint.
    pub introspection: Option<IntrospectionConfig>,
    /// `verification-endpoint`: the custom endpoint.
    pub verification: Option<VerificationConfig>,
    /// The claims that name a token's *authorized party* (the client it was
    /// issued to), in order: the first one the token carries is the party.
    /// When `aud` lists more than one audience, the party must be present
    /// and equal the client id, else the token is refused as
    /// `invalid_audience`: the client id being one audience among several
    /// does not show the token was issued to this application (OpenID
    /// Connect Core §3.1.3.7). Default [`DEFAULT_AUTHORIZED_PARTY_CLAIMS`].
    pub authorized_party_claims: Vec<String>,
    /// With a user directory: refuse users it does not know (403
    /// `user_unknown`); `None` follows the authenticator's setting.
    pub require_known_user: Option<bool>,
    /// With a user directory: refuse users whose email it has not verified
    /// (403 `user_unknown`); `None` follows the authenticator's setting.
    pub require_verified_email: Option<bool>,
}

impl Registration {
    /// The audience a token must carry: Firebase tokens name the project,
    /// so a firebase registration may omit `client_id`.
    pub fn client_id(&self) -> Option<&str> {
        match (&self.client_id, self.provider) {
            (Some(c), _) => Some(c),
            (None, Provider::Firebase) => self.project_id.as_deref(),
            (None, _) => None,
        }
    }

    /// Whether a token this registration accepted would be accepted by
    /// `other` too: every field that verification reads is equal. Name,
    /// `enabled`, roles and properties are decided per request, not here.
    pub fn verifies_like(&self, other: &Registration) -> bool {
        // Destructured so that a new field must be placed on one side.
        let Registration {
            id,
            name: _,
            enabled: _,
            client_id,
            provider,
            issuer,
            jwks_uri,
            discovery_url,
            algorithms,
            token_use,
            leeway_seconds,
            roles: _,
            properties: _,
            tenant,
            version,
            allowed_tenants,
            region,
            user_pool_id,
            domain,
            project_id,
            claims,
            introspection,
            verification,
            authorized_party_claims,
            require_known_user,
            require_verified_email,
        } = self;
        *id == other.id
            && *client_id == other.client_id
            && *provider == other.provider
            && *issuer == other.issuer
            && *jwks_uri == other.jwks_uri
            && *discovery_url == other.discovery_url
            && *algorithms == other.algorithms
            && *token_use == other.token_use
            && *leeway_seconds == other.leeway_seconds
            && *tenant == other.tenant
            && *version == other.version
            && *allowed_tenants == other.allowed_tenants
            && *region == other.region
            && *user_pool_id == other.user_pool_id
            && *domain == other.domain
            && *project_id == other.project_id
            && *claims == other.claims
            && *introspection == other.introspection
            && *verification == other.verification
            && *authorized_party_claims == other.authorized_party_claims
            && *require_known_user == other.require_known_user
            && *require_verified_email == other.require_verified_email
    }

    /// The roles this application has in `property` (or everywhere, for
    /// `None`), sorted and deduplicated; `None` when the property has not
    /// enabled the application, which must refuse the request.
    pub fn roles_in(&self, property: Option<&str>) -> Option<Vec<String>> {
        let mut roles = self.roles.clone();
        if let Some(property) = property {
            roles.extend(self.properties.get(property)?.iter().cloned());
        }
        roles.sort();
        roles.dedup();
        Some(roles)
    }
}

/// The claims read for a token's authorized party when a registration names
/// none: `azp` (OpenID Connect), `client_id` (RFC 9068 access tokens),
/// `appid` (Entra ID v1 access tokens), `cid` (Okta access tokens).
pub const DEFAULT_AUTHORIZED_PARTY_CLAIMS: [&str; 4] = ["azp", "client_id", "appid", "cid"];

/// Algorithms a registration may allow: asymmetric only.
pub const ALLOWED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The allowlist used when a registration names none: every supported
/// algorithm for `oidc` and `jwks`, RS256 alone for the vendor presets
/// (what those vendors sign with), none for opaque tokens.
pub fn default_algorithms(provider: Provider) -> Vec<Algorithm> {
    match provider {
        Provider::Oidc | Provider::Jwks => ALLOWED_ALGORITHMS.to_vec(),
        Provider::AzureAd | Provider::Cognito | Provider::Auth0 | Provider::Firebase => {
            vec![Algorithm::RS256]
        }
        Provider::Introspection | Provider::VerificationEndpoint => Vec::new(),
    }
}

/// The token kind accepted when a registration names none:
/// Cognito's access tokens are the API credential; elsewhere both pass.
pub fn default_token_use(provider: Provider) -> TokenUse {
    match provider {
        Provider::Cognito => TokenUse::Access,
        _ => TokenUse::Any,
    }
}
