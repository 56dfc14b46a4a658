//! Who may call the admin API: an [`AdminAuthorizer`] turns a request's
//! headers into an [`AdminIdentity`]; [`StaticTokens`] is the example
//! servers' one (`--admin-token`, `--property-admin P=TOKEN`). A platform
//! plugs its own (its SSO, fedauth's own layer with roles from its
//! registry) as the repository's `docs/admin-api.md` shows.

use std::fmt;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a caller of the admin API is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdminIdentity {
    /// A platform admin: every endpoint.
    Platform,
    /// An admin of this property: its enablements, and reading the
    /// registrations enabled in it.
    PropertyAdmin(String),
    /// A known caller who is no admin: `403 forbidden` everywhere.
    Refused,
    /// No credential, or one nobody knows: `401 unauthorized`.
    Unknown,
}

/// Resolves the caller of an admin request from its headers.
#[async_trait::async_trait]
pub trait AdminAuthorizer: Send + Sync + 'static {
    /// Who sent a request with these headers.
    async fn identify(&self, headers: &HeaderMap) -> AdminIdentity;
}

/// Fixed bearer tokens: one for the platform admin, any number for
/// property admins. Tokens are compared in constant time (their SHA-256
/// digests, every configured one each time), so neither the time of an
/// answer nor its length tells how much of a guess was right.
#[derive(Clone, Default)]
pub struct StaticTokens {
    platform: Option<[u8; 32]>,
    properties: Vec<(String, [u8; 32])>,
}

impl fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokens")
            .field("platform", &self.platform.is_some())
            .field(
                "properties",
                &self.properties.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl StaticTokens {
    /// `token` is the platform admin's.
    pub fn new(platform_token: impl AsRef<str>) -> Self {
        Self {
            platform: Some(digest(platform_token.as_ref())),
            properties: Vec::new(),
        }
    }

    /// No platform admin (only property admins, added next).
    pub fn without_platform() -> Self {
        Self::default()
    }

    /// `token` is an admin of `property` (repeatable; a property may have
    /// several).
    pub fn property_admin(mut self, property: impl Into<String>, token: impl AsRef<str>) -> Self {
        self.properties
            .push((property.into(), digest(token.as_ref())));
        self
    }

    /// Who holds `token`: every configured token is compared, whatever
    /// matched first.
    fn resolve(&self, token: &str) -> AdminIdentity {
        let presented = digest(token);
        let mut found = AdminIdentity::Unknown;
        for (property, known) in self.properties.iter().rev() {
            if bool::from(known.ct_eq(&presented)) {
                found = AdminIdentity::PropertyAdmin(property.clone());
            }
        }
        if let Some(known) = &self.platform
            && bool::from(known.ct_eq(&presented))
        {
            found = AdminIdentity::Platform;
        }
        found
    }
}

#[async_trait::async_trait]
impl AdminAuthorizer for StaticTokens {
    async fn identify(&self, headers: &HeaderMap) -> AdminIdentity {
        match bearer_token(headers) {
            Some(token) => self.resolve(token),
            None => AdminIdentity::Unknown,
        }
    }
}

/// The token of the one `Authorization: Bearer <token>` header (scheme
/// case-insensitive); `None` for no header, several, or another scheme.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[tokio::test]
    async fn each_token_is_its_holder_and_anything_else_unknown() {
        let tokens = StaticTokens::new("plat")
            .property_admin("p1", "one")
            .property_admin("p2", "two");
        let who = |v: &[&str]| {
            let h = headers(v);
            let t = tokens.clone();
            async move { t.identify(&h).await }
        };
        assert_eq!(who(&["Bearer plat"]).await, AdminIdentity::Platform);
        assert_eq!(
            who(&["bearer two"]).await,
            AdminIdentity::PropertyAdmin("p2".into())
        );
        assert_eq!(
            who(&["Bearer one"]).await,
            AdminIdentity::PropertyAdmin("p1".into())
        );
        for refused in [
            &["Bearer pla"][..],
            &["Bearer plat2"],
            &["Basic plat"],
            &["plat"],
            &[],
            &["Bearer plat", "Bearer plat"],
            &["Bearer "],
        ] {
            assert_eq!(who(refused).await, AdminIdentity::Unknown, "{refused:?}");
        }
    }

    #[test]
    fn debug_never_shows_a_token() {
        let shown = format!(
            "{:?}",
            StaticTokens::new("secret-platform").property_admin("p", "secret-prop")
        );
        assert!(!shown.contains("secret"), "{shown}");
    }
}
