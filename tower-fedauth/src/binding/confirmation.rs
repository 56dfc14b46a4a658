//! What a token is bound to: its `cnf` claim (RFC 7800), read once when the
//! token (or an introspection answer) is verified and remembered with it,
//! so a cached token is checked against the binding it was issued with.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A SHA-256 thumbprint a token names (`cnf.jkt`, `cnf["x5t#S256"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Thumbprint {
    /// 32 bytes, decoded from base64url.
    Sha256([u8; 32]),
    /// Present but not 32 bytes of base64url: nothing can match it, and the
    /// token is refused rather than taken for unbound.
    Malformed,
}

impl Thumbprint {
    fn of(value: &Value) -> Self {
        let mut out = [0u8; 32];
        match value.as_str().map(|s| decode32(s, &mut out)) {
            Some(true) => Thumbprint::Sha256(out),
            _ => Thumbprint::Malformed,
        }
    }
}

/// Decode unpadded base64url of exactly 32 bytes into `out`.
pub(super) fn decode32(text: &str, out: &mut [u8; 32]) -> bool {
    // 43 characters, no more: a longer text cannot be 32 bytes.
    let mut buf = [0u8; 33];
    text.len() == 43 && matches!(URL_SAFE_NO_PAD.decode_slice(text, &mut buf), Ok(32)) && {
        out.copy_from_slice(&buf[..32]);
        true
    }
}

/// base64url(SHA-256(token)): a DPoP proof's `ath` for `token`.
pub(super) fn ath_of(token: &[u8]) -> Box<str> {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token)).into()
}

/// What a token's `cnf` binds it to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Confirmation {
    /// `cnf.jkt`: the RFC 7638 thumbprint of the DPoP key (RFC 9449 §6).
    pub(crate) jkt: Option<Thumbprint>,
    /// `cnf["x5t#S256"]`: the client certificate's thumbprint (RFC 8705 §3).
    pub(crate) x5t_s256: Option<Thumbprint>,
    /// A `cnf` fedauth cannot check (not an object, or only confirmation
    /// methods other than these two): the token is bound to something no
    /// request can prove here, so it is refused.
    pub(crate) unsupported: Option<&'static str>,
    /// The `ath` a DPoP-bound token's proofs must carry:
    /// base64url(SHA-256(token)), computed once, with the verification.
    pub(crate) ath: Option<Box<str>>,
}

impl Confirmation {
    /// The confirmation of a token with these (verified) claims.
    pub(crate) fn of(claims: &Map<String, Value>, token: &str) -> Self {
        let Some(cnf) = claims.get("cnf") else {
            return Self::default();
        };
        let Value::Object(cnf) = cnf else {
            return Self {
                unsupported: Some("the token's cnf claim is not an object"),
                ..Self::default()
            };
        };
        let jkt = cnf.get("jkt").map(Thumbprint::of);
        let x5t_s256 = cnf.get("x5t#S256").map(Thumbprint::of);
        let unsupported = (jkt.is_none() && x5t_s256.is_none() && !cnf.is_empty())
            .then_some("the token's cnf names a confirmation method other than jkt and x5t#S256");
        let ath = jkt.map(|_| ath_of(token.as_bytes()));
        Self {
            jkt,
            x5t_s256,
            unsupported,
            ath,
        }
    }

    /// Bound to nothing: a bearer token.
    pub(crate) fn is_unbound(&self) -> bool {
        self.jkt.is_none() && self.x5t_s256.is_none() && self.unsupported.is_none()
    }
}
