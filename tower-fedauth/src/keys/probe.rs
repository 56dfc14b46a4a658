//! The IdP check of a registration before it is stored (the admin API,
//! `docs/admin-api.md` in the repository): fetch what verification will
//! fetch, through the same egress policy, and say which registry field led
//! to what failed.
//!
//! It follows the request path's own rules (`ProviderRules::key_source`,
//! the discovery issuer match, the key set parser), so a registration that
//! passes is one that verification can use, and the checks are not written
//! twice.

use std::fmt;

use url::Url;

use super::{DiscoveryDocument, Document, FetchConfig, Fetcher, KeySet};
use crate::providers::{KeySource, ProviderRules};
use crate::registration::Registration;

/// Fetches a registration's discovery document and key set, through the
/// egress policy of its [`FetchConfig`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct IdpProbe {
    fetcher: Fetcher,
}

/// The registry field a failing URL came from (the admin API's rule:
/// `jwks_uri` when given, else `discovery_url` when given, else `issuer`,
/// given or derived by the provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProbeField {
    /// `jwks_uri`.
    JwksUri,
    /// `discovery_url`.
    DiscoveryUrl,
    /// `issuer` (discovery from it, and a key set found through it, or the
    /// provider's own key location).
    Issuer,
}

impl ProbeField {
    /// The field's name in the registry format.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeField::JwksUri => "jwks_uri",
            ProbeField::DiscoveryUrl => "discovery_url",
            ProbeField::Issuer => "issuer",
        }
    }
}

/// What was wrong, in words safe to show the caller: never the fetched
/// body, URL, address or status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProbeProblem {
    /// The request failed or was refused by the egress policy, or the
    /// answer was not a success.
    NotReachable,
    /// The discovery document names another issuer.
    IssuerMismatch,
    /// The discovery document does not parse or names no `jwks_uri`.
    NotADiscoveryDocument,
    /// The key set holds no key for any of the registration's algorithms.
    NoUsableSigningKey,
}

impl ProbeProblem {
    /// The problem in words for a response.
    pub fn message(self) -> &'static str {
        match self {
            ProbeProblem::NotReachable => "not reachable",
            ProbeProblem::IssuerMismatch => "issuer mismatch",
            ProbeProblem::NotADiscoveryDocument => "not a discovery document naming a jwks_uri",
            ProbeProblem::NoUsableSigningKey => "no usable signing key",
        }
    }
}

/// Why a registration failed the IdP check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    /// The field the failing URL came from.
    pub field: ProbeField,
    /// What was wrong (safe to show).
    pub problem: ProbeProblem,
    /// What the request met (URL, status, error): for logs only.
    pub detail: String,
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.field.as_str(),
            self.problem.message(),
            self.detail
        )
    }
}

impl std::error::Error for ProbeFailure {}

impl IdpProbe {
    /// A probe with these limits and this egress policy (the ones the
    /// authenticator verifies with).
    pub fn new(config: FetchConfig) -> Self {
        Self {
            fetcher: Fetcher::new(config),
        }
    }

    /// Check `reg` against its IdP: the discovery document when keys are
    /// found through one (its issuer one the registration accepts, a
    /// `jwks_uri` named), then the key set (at least one key for one of the
    /// registration's algorithms). `Ok` without a request for providers
    /// whose tokens are not signed.
    pub async fn check(&self, reg: &Registration) -> Result<(), ProbeFailure> {
        let rules = ProviderRules::new(reg);
        let field = if reg.jwks_uri.is_some() {
            ProbeField::JwksUri
        } else if reg.discovery_url.is_some() {
            ProbeField::DiscoveryUrl
        } else {
            ProbeField::Issuer
        };
        let fail = |problem, detail: String| ProbeFailure {
            field,
            problem,
            detail,
        };
        let keys_url = match rules.key_source() {
            None => return Ok(()),
            Some(KeySource::Direct(url)) => url,
            Some(KeySource::Discovery(url)) => {
                let body = self
                    .fetch(&url)
                    .await
                    .map_err(|d| fail(ProbeProblem::NotReachable, d))?;
                let doc = DiscoveryDocument::parse(&body).map_err(|e| {
                    fail(ProbeProblem::NotADiscoveryDocument, format!("{url}: {e}"))
                })?;
                if !rules.accepts_discovery_issuer(&doc.issuer) {
                    return Err(fail(
                        ProbeProblem::IssuerMismatch,
                        format!("{url} names the issuer {:?}", shown(&doc.issuer)),
                    ));
                }
                doc.jwks_uri
            }
        };
        let body = self
            .fetch(&keys_url)
            .await
            .map_err(|d| fail(ProbeProblem::NotReachable, d))?;
        let set = KeySet::from_document_slice(&body)
            .map_err(|e| fail(ProbeProblem::NoUsableSigningKey, format!("{keys_url}: {e}")))?;
        let usable = set
            .keys()
            .iter()
            .any(|k| reg.algorithms.iter().any(|alg| k.allows(*alg)));
        match usable {
            true => Ok(()),
            false => Err(fail(
                ProbeProblem::NoUsableSigningKey,
                format!(
                    "{keys_url}: {} usable keys, none for {:?} ({} skipped)",
                    set.keys().len(),
                    reg.algorithms,
                    set.skipped()
                ),
            )),
        }
    }

    /// A document's body, or what the request met.
    async fn fetch(&self, url: &Url) -> Result<bytes::Bytes, String> {
        self.fetcher
            .get(url)
            .await
            .map(|f| f.body)
            .map_err(|e| e.to_string())
    }
}

/// A fetched value quoted into a log line, cut short.
fn shown(value: &str) -> String {
    value.chars().take(128).collect()
}
