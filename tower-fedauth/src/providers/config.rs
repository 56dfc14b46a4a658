//! What each provider preset's registry entry carries: the preset names
//! ([`Provider`]) and their settings ([`ProviderConfig`], one variant per
//! preset holding exactly its own keys, checked). Plain data: what each
//! preset derives from these keys is in its own file of this module, behind
//! [`Preset`](super::preset::Preset).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use crate::registration::Secret;

/// Which identity provider preset a registration uses: it fixes what the
/// registration must name and what is derived (issuers, key URL, audience,
/// token kind; see [`crate::providers`] for each preset's rules).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
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
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registration's provider preset with its own settings: one variant per
/// preset, carrying exactly the keys that preset takes, already checked.
/// (`jwks_uri`, `issuer` and `discovery_url` override what any preset
/// derives, so they are fields of the registration itself.)
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderConfig {
    /// Any OpenID Connect IdP: discovery from the registration's `issuer`.
    Oidc,
    /// A bare key URL: the registration's `jwks_uri`.
    Jwks,
    /// Microsoft Entra ID.
    AzureAd(AzureAd),
    /// An Amazon Cognito user pool.
    Cognito(Cognito),
    /// An Auth0 tenant or custom domain.
    Auth0(Auth0),
    /// A Firebase Authentication project.
    Firebase(Firebase),
    /// Opaque tokens checked at an RFC 7662 introspection endpoint.
    Introspection(IntrospectionConfig),
    /// Tokens checked by the application's own verification endpoint.
    VerificationEndpoint(VerificationConfig),
}

impl ProviderConfig {
    /// The preset's name.
    pub fn kind(&self) -> Provider {
        match self {
            ProviderConfig::Oidc => Provider::Oidc,
            ProviderConfig::Jwks => Provider::Jwks,
            ProviderConfig::AzureAd(_) => Provider::AzureAd,
            ProviderConfig::Cognito(_) => Provider::Cognito,
            ProviderConfig::Auth0(_) => Provider::Auth0,
            ProviderConfig::Firebase(_) => Provider::Firebase,
            ProviderConfig::Introspection(_) => Provider::Introspection,
            ProviderConfig::VerificationEndpoint(_) => Provider::VerificationEndpoint,
        }
    }

    /// The name used in registry files and logs.
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }
}

impl fmt::Display for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The settings of an `azure-ad` registration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AzureAd {
    /// Tenant GUID or `common` / `organizations` / `consumers` (lowercase).
    pub tenant: String,
    /// Accepted token versions.
    pub version: AzureVersion,
    /// With a multi-tenant `tenant`: the tenant GUIDs (lowercase) whose
    /// tokens pass; a token of any other tenant is refused as
    /// `invalid_issuer`. `None`: every tenant the `tenant` admits passes
    /// (`common`: every Entra ID tenant in the world), which is logged as a
    /// warning when the registration is loaded.
    pub allowed_tenants: Option<Vec<String>>,
}

/// The settings of a `cognito` registration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cognito {
    /// AWS region of the user pool.
    pub region: String,
    /// The user pool id (`{region}_…`).
    pub user_pool_id: String,
}

/// The settings of an `auth0` registration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Auth0 {
    /// The tenant or custom domain (host name, lowercase).
    pub domain: String,
}

/// The settings of a `firebase` registration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Firebase {
    /// The project id (also the audience).
    pub project_id: String,
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
/// How the resource server authenticates to the introspection endpoint
/// (RFC 7662 §2.1 leaves it to the IdP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// HTTP Basic with client id and secret.
    #[default]
    ClientSecretBasic,
    /// Client id and secret in the form body.
    ClientSecretPost,
}

/// An RFC 7662 introspection endpoint for opaque tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
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
