//! What a request presents for the sender constraint, read with its auth
//! headers: the scheme, and — for the `DPoP` scheme only — the proofs, the
//! method and the URL; the client certificate from the configured source.
//! Borrowed from the request on the path that answers at once, owned when
//! the decision waits.

use std::borrow::Cow;

use http::{HeaderName, Method};

use super::ClientCertSource;
use crate::headers::RequestView;

/// The DPoP proof header (RFC 9449 §4.1).
pub(crate) const DPOP: HeaderName = HeaderName::from_static("dpop");

/// The `Authorization` scheme the token came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Scheme {
    /// `Bearer`, or the bare token.
    #[default]
    Bearer,
    /// `DPoP` (RFC 9449 §7.1).
    Dpop,
}

/// The `DPoP` headers of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Proofs<'a> {
    None,
    One(Cow<'a, str>),
    /// Several `DPoP` headers, or one that is not visible ASCII.
    Unusable(&'static str),
}

/// The parts of a `DPoP` request a proof is checked against.
#[derive(Debug, Clone)]
pub(crate) struct DpopRequest<'a> {
    pub(crate) proofs: Proofs<'a>,
    pub(crate) method: Method,
    /// The request's authority (`Host`), for `htu` without a public URL.
    pub(crate) authority: Option<Cow<'a, str>>,
    pub(crate) path: Cow<'a, str>,
}

/// What the request presents for the sender constraint.
#[derive(Debug, Clone, Default)]
pub(crate) struct Presented<'a> {
    pub(crate) scheme: Scheme,
    /// Read for the `DPoP` scheme only.
    pub(crate) dpop: Option<DpopRequest<'a>>,
    /// The client certificate as the source gives it: DER from the
    /// connection, or the configured header's single value (decoded when a
    /// token needs it).
    pub(crate) cert: Option<Cow<'a, [u8]>>,
}

fn owned<T: ToOwned + ?Sized>(c: Cow<'_, T>) -> Cow<'static, T> {
    Cow::Owned(c.into_owned())
}

impl<'a> Presented<'a> {
    /// Read what `req` presents with a token of `scheme`.
    pub(crate) fn read(
        req: &'a impl RequestView,
        scheme: Scheme,
        source: &ClientCertSource,
    ) -> Self {
        let dpop = (scheme == Scheme::Dpop).then(|| DpopRequest {
            proofs: proofs(req),
            method: req.method().clone(),
            authority: req.authority().map(Cow::Borrowed),
            path: Cow::Borrowed(req.path()),
        });
        let cert = match source {
            ClientCertSource::Connection => req.client_certificate_der(),
            ClientCertSource::Header { name, .. } => single(req.header_values(name)),
        };
        Self {
            scheme,
            dpop,
            cert: cert.map(Cow::Borrowed),
        }
    }

    /// The same, owning its parts (for a decision that waits).
    pub(crate) fn into_owned(self) -> Presented<'static> {
        Presented {
            scheme: self.scheme,
            dpop: self.dpop.map(|d| DpopRequest {
                proofs: match d.proofs {
                    Proofs::None => Proofs::None,
                    Proofs::One(p) => Proofs::One(owned(p)),
                    Proofs::Unusable(why) => Proofs::Unusable(why),
                },
                method: d.method,
                authority: d.authority.map(owned),
                path: owned(d.path),
            }),
            cert: self.cert.map(owned),
        }
    }
}

/// The one value of a header; none when it is absent or repeated.
fn single<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> Option<&'a [u8]> {
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

fn proofs<'a>(req: &'a impl RequestView) -> Proofs<'a> {
    let name = DPOP;
    let mut values = req.header_values(&name);
    let Some(first) = values.next() else {
        return Proofs::None;
    };
    if values.next().is_some() {
        return Proofs::Unusable("the request has more than one DPoP header");
    }
    // Anything but base64url and dots is refused when the proof is decoded.
    match std::str::from_utf8(first) {
        Ok(text) => Proofs::One(Cow::Borrowed(text)),
        Err(_) => Proofs::Unusable("the DPoP header is not a compact JWT of visible ASCII"),
    }
}
