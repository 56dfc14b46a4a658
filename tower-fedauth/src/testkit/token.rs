//! Building and signing test tokens, including malformed and malicious ones.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::keys::TestKey;

/// Seconds since the Unix epoch, now.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A random 128-bit identifier as lowercase hex (for `jti`, `oid`, ...).
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("system random");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random UUID-shaped identifier (as Entra ID uses for `oid`).
fn random_uuid() -> String {
    let h = random_id();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Builds a JWT: a JOSE header and a claims set, both JSON objects, signed
/// with a [`TestKey`], with HMAC, or not at all.
///
/// The builder is deliberately permissive: any header or claim can be set or
/// removed so that tests can mint invalid and malicious tokens.
#[derive(Clone, Debug)]
pub struct TokenBuilder {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    /// `true` once the `kid` header was set or removed explicitly.
    kid_explicit: bool,
}

impl Default for TokenBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn to_value(value: impl Serialize) -> Value {
    serde_json::to_value(value).expect("value serialises to JSON")
}

fn b64_json(map: &Map<String, Value>) -> String {
    let bytes = serde_json::to_vec(map).expect("JSON object serialises");
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TokenBuilder {
    /// Header `{"typ":"JWT"}`; claims `iat` = now and `exp` = now + 300 s.
    pub fn new() -> Self {
        let now = now();
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        let mut claims = Map::new();
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 300));
        TokenBuilder {
            header,
            claims,
            kid_explicit: false,
        }
    }

    /// Sets (or replaces) a claim.
    pub fn claim(mut self, name: &str, value: impl Serialize) -> Self {
        self.claims.insert(name.to_owned(), to_value(value));
        self
    }

    /// Removes a claim.
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets (or replaces) a header member. Setting `kid` this way is explicit:
    /// [`Self::sign`] keeps it instead of using the key's kid.
    pub fn header(mut self, name: &str, value: impl Serialize) -> Self {
        if name == "kid" {
            self.kid_explicit = true;
        }
        self.header.insert(name.to_owned(), to_value(value));
        self
    }

    /// Removes a header member. Removing `kid` is explicit: [`Self::sign`]
    /// then produces a token without a kid.
    pub fn remove_header(mut self, name: &str) -> Self {
        if name == "kid" {
            self.kid_explicit = true;
        }
        self.header.remove(name);
        self
    }

    /// Sets the `iss` claim.
    pub fn issuer(self, iss: impl Into<String>) -> Self {
        self.claim("iss", iss.into())
    }

    /// Sets the `sub` claim.
    pub fn subject(self, sub: impl Into<String>) -> Self {
        self.claim("sub", sub.into())
    }

    /// Sets the `aud` claim to a single string (use [`Self::claim`] for an array).
    pub fn audience(self, aud: &str) -> Self {
        self.claim("aud", aud)
    }

    /// Sets `exp` = now + `secs` (negative: already expired).
    pub fn expires_in(self, secs: i64) -> Self {
        self.claim("exp", now() + secs)
    }

    /// Sets the `kid` header explicitly (overrides the signing key's kid).
    pub fn kid(self, kid: impl Into<String>) -> Self {
        self.header("kid", kid.into())
    }

    /// Sets the `alg` header; [`Self::sign`] then signs with that algorithm.
    pub fn alg(self, alg: &str) -> Self {
        self.header("alg", alg)
    }

    /// The claims set as built so far.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The header as built so far (before signing fills in `alg`/`kid`).
    pub fn headers(&self) -> &Map<String, Value> {
        &self.header
    }

    /// Encodes `header.claims` and appends the signature computed by `signer`.
    fn assemble(
        &self,
        header: &Map<String, Value>,
        signer: impl FnOnce(&[u8]) -> Vec<u8>,
    ) -> String {
        let signing_input = format!("{}.{}", b64_json(header), b64_json(&self.claims));
        let signature = signer(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Signs with `key`: `alg` is the header `alg` if set (see [`Self::alg`]),
    /// else the key's default; `kid` is the key's kid unless set or removed
    /// explicitly.
    ///
    /// # Panics
    /// If the header `alg` is not a string or does not fit the key.
    pub fn sign(&self, key: &TestKey) -> String {
        let mut header = self.header.clone();
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => alg.clone(),
            Some(other) => panic!("TokenBuilder::sign: header alg {other} is not a string"),
            None => {
                header.insert("alg".into(), json!(key.default_alg()));
                key.default_alg().to_owned()
            }
        };
        if !self.kid_explicit {
            header.insert("kid".into(), json!(key.kid()));
        }
        self.assemble(&header, |input| key.sign(&alg, input))
    }

    /// Signs with HMAC-SHA256 under `secret`, header `alg` = `HS256` (for
    /// key-confusion attacks, e.g. `secret` = a public key's PEM). `kid` only
    /// if set explicitly.
    pub fn sign_hs256(&self, secret: &[u8]) -> String {
        let mut header = self.header.clone();
        header.insert("alg".into(), json!("HS256"));
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        self.assemble(&header, |input| hmac::sign(&key, input).as_ref().to_vec())
    }

    /// An unsecured token: header `alg` = `none` and an empty signature
    /// (`"header.payload."`). `kid` only if set explicitly.
    pub fn unsigned(&self) -> String {
        let mut header = self.header.clone();
        header.insert("alg".into(), json!("none"));
        self.assemble(&header, |_| Vec::new())
    }

    /// Sets `scope`, the space-separated scopes of RFC 9068 access tokens
    /// (Auth0, Cognito, Keycloak).
    pub fn scope(self, scopes: &str) -> Self {
        self.claim("scope", scopes)
    }

    /// Sets `scp` as a space-separated string (Microsoft Entra ID).
    pub fn scp(self, scopes: &str) -> Self {
        self.claim("scp", scopes)
    }

    /// Sets `scp` as an array of strings (Okta).
    pub fn scp_list<S: Into<String>>(self, scopes: impl IntoIterator<Item = S>) -> Self {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.claim("scp", scopes)
    }

    /// Sets `acr`, the authentication context class the user met.
    pub fn acr(self, acr: &str) -> Self {
        self.claim("acr", acr)
    }

    /// Sets `auth_time` to `at` (seconds since the epoch).
    pub fn auth_time(self, at: i64) -> Self {
        self.claim("auth_time", at)
    }

    /// Sets `auth_time` to `secs` seconds ago.
    pub fn authenticated_ago(self, secs: i64) -> Self {
        self.auth_time(now() - secs)
    }

    /// Claims shaped like an RFC 9068 JWT access token of any OpenID
    /// provider: header `typ: at+jwt`, `aud` the API (resource), the
    /// calling application in `client_id`, scopes in `scope`.
    pub fn rfc9068_access(issuer: &str, api: &str, client_id: &str) -> Self {
        Self::new()
            .header("typ", "at+jwt")
            .issuer(issuer)
            .audience(api)
            .subject("alice")
            .claim("client_id", client_id)
            .claim("jti", random_id())
            .scope("openid read")
    }

    /// Claims shaped like an Auth0 access token for the API whose
    /// identifier is `api`: `aud` names it and Auth0's userinfo endpoint
    /// (as when `openid` is asked), the calling application is `azp`,
    /// scopes in `scope`. `domain_issuer` is used as given (with its slash).
    pub fn auth0_access(domain_issuer: &str, api: &str, client_id: &str) -> Self {
        Self::new()
            .issuer(domain_issuer)
            .claim("aud", [api.to_owned(), format!("{domain_issuer}userinfo")])
            .subject("auth0|alice")
            .claim("azp", client_id)
            .scope("openid profile read:reports")
    }

    /// Claims shaped like an Okta access token of a custom authorization
    /// server (`issuer` such as `https://{domain}/oauth2/default`): `aud`
    /// the server's audience (`api://default` or the API's), the calling
    /// application in `cid`, the user in `uid`, scopes as an `scp` array.
    pub fn okta_access(issuer: &str, api: &str, client_id: &str) -> Self {
        Self::new()
            .issuer(issuer)
            .audience(api)
            .subject("alice@example.com")
            .claim("cid", client_id)
            .claim("uid", "00u1a2b3c4d5e6f7g8h9")
            .claim("ver", 1)
            .claim("jti", format!("AT.{}", random_id()))
            .scp_list(["openid", "email", "read"])
    }

    /// Claims shaped like a Microsoft Entra ID v2.0 access token for an
    /// API: `aud` is the API's application (client) id, a GUID; the calling
    /// application is `azp`; delegated scopes in `scp` (a string).
    pub fn azure_ad_v2_access(tenant_id: &str, api: &str, client_id: &str) -> Self {
        Self::azure_ad_v2(tenant_id, api)
            .claim("azp", client_id)
            .claim("azpacr", "0")
            .scp("access_as_user")
    }

    /// Claims shaped like a Microsoft Entra ID v1.0 access token for an
    /// API: `aud` is the API's Application ID URI (`api://…`); the calling
    /// application is `appid`; delegated scopes in `scp` (a string).
    pub fn azure_ad_v1_access(tenant_id: &str, api: &str, client_id: &str) -> Self {
        Self::azure_ad_v1(tenant_id, api)
            .claim("appid", client_id)
            .claim("appidacr", "0")
            .scp("access_as_user")
    }

    /// Claims shaped like a Microsoft Entra ID (Azure AD) v2.0 token.
    pub fn azure_ad_v2(tenant_id: &str, client_id: &str) -> Self {
        Self::new()
            .issuer(format!(
                "https://login.microsoftonline.com/{tenant_id}/v2.0"
            ))
            .audience(client_id)
            .subject("AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ")
            .claim("tid", tenant_id)
            .claim("oid", random_uuid())
            .claim("ver", "2.0")
            .claim("preferred_username", "alice@contoso.example")
            .claim("name", "Alice Example")
    }

    /// Claims shaped like a Microsoft Entra ID (Azure AD) v1.0 token.
    pub fn azure_ad_v1(tenant_id: &str, client_id: &str) -> Self {
        Self::new()
            .issuer(format!("https://sts.windows.net/{tenant_id}/"))
            .audience(client_id)
            .subject("l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA")
            .claim("tid", tenant_id)
            .claim("oid", random_uuid())
            .claim("ver", "1.0")
            .claim("upn", "alice@contoso.example")
            .claim("unique_name", "alice@contoso.example")
    }

    /// Claims shaped like an Amazon Cognito access token (no `aud`;
    /// `client_id` and `token_use` = `access` instead).
    pub fn cognito_access(issuer: &str, client_id: &str) -> Self {
        let now = now();
        Self::new()
            .issuer(issuer)
            .subject("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
            .remove_claim("aud")
            .claim("token_use", "access")
            .claim("client_id", client_id)
            .claim("scope", "openid email")
            .claim("username", "alice")
            .claim("jti", random_uuid())
            .claim("auth_time", now)
    }

    /// Claims shaped like an Amazon Cognito ID token (`token_use` = `id`).
    pub fn cognito_id(issuer: &str, client_id: &str) -> Self {
        let now = now();
        Self::new()
            .issuer(issuer)
            .audience(client_id)
            .subject("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
            .claim("token_use", "id")
            .claim("cognito:username", "alice")
            .claim("email", "alice@example.com")
            .claim("email_verified", true)
            .claim("jti", random_uuid())
            .claim("auth_time", now)
    }

    /// Claims shaped like an Auth0 ID token; `domain_issuer` is used as given
    /// (Auth0 issuers end with a slash).
    pub fn auth0_id(domain_issuer: &str, client_id: &str) -> Self {
        Self::new()
            .issuer(domain_issuer)
            .audience(client_id)
            .subject("auth0|alice")
            .claim("email", "alice@example.com")
            .claim("email_verified", true)
            .claim("nickname", "alice")
    }

    /// Claims shaped like a Firebase Authentication ID token.
    pub fn firebase_id(project_id: &str) -> Self {
        let now = now();
        Self::new()
            .issuer(format!("https://securetoken.google.com/{project_id}"))
            .audience(project_id)
            .subject("alice-uid")
            .claim("user_id", "alice-uid")
            .claim("auth_time", now)
            .claim("email", "alice@example.com")
            .claim(
                "firebase",
                json!({
                    "sign_in_provider": "password",
                    "identities": { "email": ["alice@example.com"] }
                }),
            )
    }
}
