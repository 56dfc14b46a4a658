//! OpenID Connect Discovery 1.0: where an issuer keeps its keys.

use serde::Deserialize;
use url::Url;

use super::Document;

/// The members of a discovery document that fedauth uses.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DiscoveryDocument {
    /// Must equal the configured issuer exactly (§4.3).
    pub issuer: String,
    /// Where the signing keys are.
    pub jwks_uri: Url,
    /// Where userinfo is served, if anywhere.
    #[serde(default)]
    pub userinfo_endpoint: Option<Url>,
}

impl Document for DiscoveryDocument {
    const KIND: &'static str = "discovery document";
    const METRIC_KIND: &'static str = "discovery";
    fn parse(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(body).map_err(|e| format!("not a discovery document: {e}"))
    }
}

/// `{issuer}/.well-known/openid-configuration`, keeping any issuer path.
pub(crate) fn discovery_url_for(issuer: &str) -> Option<Url> {
    let base = issuer.trim_end_matches('/');
    Url::parse(&format!("{base}/.well-known/openid-configuration")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_keeps_the_issuer_path() {
        assert_eq!(
            discovery_url_for("https://idp.example.com/tenant/v2.0/")
                .unwrap()
                .as_str(),
            "https://idp.example.com/tenant/v2.0/.well-known/openid-configuration"
        );
    }

    #[test]
    fn parses_the_members_it_needs() {
        let d = DiscoveryDocument::parse(
            br#"{"issuer":"https://i","jwks_uri":"https://i/keys","other":1}"#,
        )
        .unwrap();
        assert_eq!(d.jwks_uri.as_str(), "https://i/keys");
        assert!(DiscoveryDocument::parse(br#"{"issuer":"https://i"}"#).is_err());
    }
}
