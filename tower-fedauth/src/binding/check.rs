//! The sender-constraint step of the decision: what the request presents
//! (scheme, DPoP proof, client certificate) against what the token is
//! bound to and what its registration requires.
//!
//! Before the token ([`Binding::early`]): the `DPoP` scheme of a
//! registration with `dpop = off` (400 `invalid_request`), and a `DPoP`
//! request without exactly one proof, or whose proof header is broken
//! (`invalid_dpop_proof`) — read without the token. At step 12
//! ([`Binding::check`]), in this order: the proof (signature, `htm`,
//! `htu`, `iat`, `ath`, the nonce), its key against `cnf.jkt`, the `jti`
//! (recorded last, so a refused proof does not use up its id); a bound
//! token without the `DPoP` scheme; `dpop = required`; then the client
//! certificate against `cnf["x5t#S256"]` and `mtls = required`.

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use subtle::ConstantTimeEq;

use super::confirmation::{Confirmation, Thumbprint, ath_of};
use super::htu::{RequestUrl, public_base};
use super::nonce::{Freshness, Nonces};
use super::presented::{DpopRequest, Presented, Proofs, Scheme};
use super::proof::{Cuts, ProofClaims, ProofKey, ProofKeys, Split, split};
use super::replay::{Refused, ReplayCache};
use super::{ClientCertSource, DpopConfig, algs_text, cert};
use crate::error::{AuthError, ErrorCode, SenderChallenge};
use crate::registration::{BindingMode, Registration};

/// The sender-constraint settings of an authenticator and their state
/// (parsed proof keys, replay cache, nonces).
pub(crate) struct Binding {
    accepted: Vec<Algorithm>,
    algs: Arc<str>,
    iat_window: u64,
    public_base: Option<String>,
    keys: ProofKeys,
    replay: ReplayCache,
    nonces: Nonces,
    certs: ClientCertSource,
}

/// What [`Binding::early`] found of a `DPoP` request's proof: its key, and
/// where its parts are.
#[derive(Debug, Clone)]
pub(crate) struct EarlyProof {
    key: Arc<ProofKey>,
    cuts: Cuts,
}

fn now_unix() -> u64 {
    u64::try_from(crate::verify::now_unix()).unwrap_or(0)
}

impl Binding {
    pub(crate) fn new(dpop: &DpopConfig, certs: ClientCertSource) -> Self {
        let accepted = dpop.accepted_algorithms();
        Self {
            algs: algs_text(&accepted),
            accepted,
            iat_window: dpop.iat_window.as_secs(),
            public_base: dpop.public_url.as_ref().map(public_base),
            keys: ProofKeys::new(dpop.key_cache_bytes),
            replay: ReplayCache::new(dpop.replay_cache_bytes),
            nonces: Nonces::new(dpop.nonce_secret.as_ref(), dpop.nonce_rotation),
            certs,
        }
    }

    /// Where client certificates come from.
    pub(crate) fn cert_source(&self) -> &ClientCertSource {
        &self.certs
    }

    /// A refusal of the sender constraint for `reg`: the `DPoP` challenge
    /// when `dpop_challenge`, the Bearer one beside it unless the
    /// registration requires DPoP, and a fresh nonce when it requires
    /// nonces.
    fn refuse(
        &self,
        reg: &Registration,
        code: ErrorCode,
        detail: impl Into<Cow<'static, str>>,
        dpop_challenge: bool,
    ) -> AuthError {
        let param = match code {
            ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce => "DPoP",
            _ => "Authorization",
        };
        let error = AuthError::at(code, detail, param, "header");
        let sender = SenderChallenge {
            dpop_algs: dpop_challenge.then(|| self.algs.clone()),
            bearer_too: reg.dpop != BindingMode::Required,
            nonce: reg.dpop_nonce.then(|| self.nonces.current(now_unix())),
        };
        match sender.dpop_algs.is_some() || sender.nonce.is_some() {
            true => error.with_sender(sender),
            false => error,
        }
    }

    fn bad_proof(&self, reg: &Registration, detail: impl Into<Cow<'static, str>>) -> AuthError {
        self.refuse(reg, ErrorCode::InvalidDpopProof, detail, true)
    }

    /// What can be decided before the token is read: the `DPoP` scheme
    /// where it is off, the number of proofs, the proof's header.
    #[inline]
    pub(crate) fn early(
        &self,
        reg: &Registration,
        presented: &Presented<'_>,
    ) -> Result<Option<EarlyProof>, AuthError> {
        match &presented.dpop {
            None => Ok(None),
            Some(dpop) => self.early_dpop(reg, dpop).map(Some),
        }
    }

    fn early_dpop(
        &self,
        reg: &Registration,
        dpop: &DpopRequest<'_>,
    ) -> Result<EarlyProof, AuthError> {
        if reg.dpop == BindingMode::Off {
            return Err(AuthError::token(
                ErrorCode::InvalidRequest,
                "the DPoP scheme is not accepted for this registration (dpop = off)",
            ));
        }
        let proof = match &dpop.proofs {
            Proofs::None => {
                return Err(self.bad_proof(reg, "the DPoP scheme without a DPoP header"));
            }
            Proofs::Unusable(why) => return Err(self.bad_proof(reg, *why)),
            Proofs::One(proof) => proof,
        };
        let parts = split(proof).map_err(|why| self.bad_proof(reg, why))?;
        let key = self
            .keys
            .get(parts.header, &self.accepted)
            .map_err(|why| self.bad_proof(reg, why))?;
        Ok(EarlyProof {
            key,
            cuts: parts.cuts(),
        })
    }

    /// Step 12 for a token whose facts say `bound`, presented with
    /// `token`; `early` is what [`Binding::early`] found. `Ok` carries a
    /// fresh nonce the response should send, if any.
    pub(crate) fn check(
        &self,
        reg: &Registration,
        bound: &Confirmation,
        presented: &Presented<'_>,
        early: Option<&EarlyProof>,
        token: &[u8],
    ) -> Result<Option<Arc<str>>, AuthError> {
        // The common case: a bearer token, presented as one, where no
        // binding is required.
        if bound.is_unbound()
            && presented.scheme == Scheme::Bearer
            && reg.dpop != BindingMode::Required
            && reg.mtls != BindingMode::Required
        {
            return Ok(None);
        }
        let dpop_request = presented.scheme == Scheme::Dpop;
        let dpop_challenge = dpop_request || bound.jkt.is_some();
        let binding = |detail: Cow<'static, str>| {
            self.refuse(reg, ErrorCode::InvalidTokenBinding, detail, dpop_challenge)
        };
        if let Some(why) = bound.unsupported {
            return Err(binding(why.into()));
        }
        let mut nonce = None;
        match (&presented.dpop, early, bound.jkt) {
            (Some(request), Some(early), jkt) => {
                nonce = self.proof(reg, bound, request, early, jkt, token)?;
            }
            (Some(_), None, _) => return Err(self.bad_proof(reg, "the DPoP proof was not read")),
            (None, _, Some(_)) => {
                return Err(binding(
                    "the token is DPoP-bound (cnf.jkt) and was sent without the DPoP scheme and its proof"
                        .into(),
                ));
            }
            (None, _, None) if reg.dpop == BindingMode::Required => {
                return Err(binding(
                    "the registration requires DPoP-bound tokens (dpop = required); this one has no cnf.jkt"
                        .into(),
                ));
            }
            (None, _, None) => {}
        }
        self.certificate(reg, bound, presented)
            .map_err(|why| binding(why.into()))?;
        Ok(nonce)
    }

    /// The proof of a `DPoP` request (RFC 9449 §4.3), then its key against
    /// the token's `jkt`, then its `jti`.
    fn proof(
        &self,
        reg: &Registration,
        bound: &Confirmation,
        request: &DpopRequest<'_>,
        early: &EarlyProof,
        jkt: Option<Thumbprint>,
        token: &[u8],
    ) -> Result<Option<Arc<str>>, AuthError> {
        let bad = |detail: &'static str| self.bad_proof(reg, detail);
        let (Proofs::One(proof), key) = (&request.proofs, &*early.key) else {
            return Err(bad("the DPoP proof was not read"));
        };
        let parts = Split::again(proof, early.cuts).ok_or("the DPoP proof was not read");
        let parts = parts.map_err(bad)?;
        if !key.verifies(parts.signing_input, parts.signature) {
            return Err(bad(
                "the DPoP proof's signature does not verify with its jwk",
            ));
        }
        // The signature holds: the claims may now be read.
        let mut buf = [0u8; 1024];
        let payload =
            match URL_SAFE_NO_PAD.decode_slice(parts.payload, &mut buf) {
                Ok(len) => Cow::Borrowed(&buf[..len]),
                Err(_) => Cow::Owned(URL_SAFE_NO_PAD.decode(parts.payload).map_err(|_| {
                    bad("the DPoP proof's claims are not base64url without padding")
                })?),
            };
        let claims = ProofClaims::parse(&payload).map_err(bad)?;
        let required = claims.required().map_err(bad)?;
        if required.htm != request.method.as_str() {
            return Err(bad("the DPoP proof's htm is not the request's method"));
        }
        let url = match &self.public_base {
            Some(base) => RequestUrl {
                base,
                authority: None,
                path: &request.path,
            },
            None => RequestUrl {
                base: "http://",
                authority: Some(request.authority.as_deref().ok_or_else(|| {
                    bad("the request has no Host to check the DPoP proof's htu against")
                })?),
                path: &request.path,
            },
        };
        if !url.matches(required.htu) {
            return Err(bad("the DPoP proof's htu is not the request's URL"));
        }
        let now = now_unix();
        let window = self.iat_window.saturating_add(reg.leeway_seconds);
        let iat = u64::try_from(required.iat).unwrap_or(0);
        if iat.saturating_add(window) < now {
            return Err(bad("the DPoP proof's iat is too old"));
        }
        if iat > now.saturating_add(window) {
            return Err(bad("the DPoP proof's iat is in the future"));
        }
        self.ath(claims.ath.as_deref(), bound, token).map_err(bad)?;
        let fresh = match (reg.dpop_nonce, claims.nonce.as_deref()) {
            (false, _) => None,
            (true, None) => {
                return Err(self.refuse(
                    reg,
                    ErrorCode::UseDpopNonce,
                    "the registration requires a server nonce in DPoP proofs",
                    true,
                ));
            }
            (true, Some(nonce)) => match self.nonces.freshness(nonce, now) {
                Freshness::Current => None,
                Freshness::Previous => Some(self.nonces.current(now)),
                Freshness::Stale => {
                    return Err(self.refuse(
                        reg,
                        ErrorCode::UseDpopNonce,
                        "the DPoP proof's nonce is not the server's current one",
                        true,
                    ));
                }
            },
        };
        match jkt {
            None => {
                return Err(self.refuse(
                    reg,
                    ErrorCode::InvalidTokenBinding,
                    "the DPoP scheme with a token that is not DPoP-bound (no cnf.jkt)",
                    true,
                ));
            }
            Some(Thumbprint::Sha256(jkt)) if bool::from(jkt.ct_eq(&key.thumbprint)) => {}
            Some(_) => {
                return Err(self.refuse(
                    reg,
                    ErrorCode::InvalidTokenBinding,
                    "the token's cnf.jkt is not the thumbprint of the DPoP proof's key",
                    true,
                ));
            }
        }
        let until = iat.saturating_add(window);
        match self
            .replay
            .record(&key.thumbprint, required.jti, until, now)
        {
            Ok(()) => Ok(fresh),
            Err(Refused::Replayed) => Err(bad("the DPoP proof's jti was used before")),
            Err(Refused::TooOld) => Err(bad(
                "the DPoP proof is older than the replay cache remembers (it is full)",
            )),
        }
    }

    /// `ath`: present, and base64url(SHA-256(token)) — remembered with a
    /// verified token, computed for an opaque one.
    fn ath(
        &self,
        ath: Option<&str>,
        bound: &Confirmation,
        token: &[u8],
    ) -> Result<(), &'static str> {
        let ath = ath.ok_or("the DPoP proof has no ath")?;
        let matches = match &bound.ath {
            Some(expected) => **expected == *ath,
            None => *ath_of(token) == *ath,
        };
        match matches {
            true => Ok(()),
            false => Err("the DPoP proof's ath is not the hash of the access token"),
        }
    }

    /// The client certificate against `cnf["x5t#S256"]`, and `mtls`.
    fn certificate(
        &self,
        reg: &Registration,
        bound: &Confirmation,
        presented: &Presented<'_>,
    ) -> Result<(), String> {
        let Some(expected) = bound.x5t_s256 else {
            return match reg.mtls {
                BindingMode::Required => Err(
                    "the registration requires certificate-bound tokens (mtls = required); this one has no cnf[\"x5t#S256\"]"
                        .into(),
                ),
                _ => Ok(()),
            };
        };
        let raw = match (reg.mtls, presented.cert.as_deref()) {
            (BindingMode::Off, _) => {
                return Err(
                    "the token is certificate-bound and the registration ignores client certificates (mtls = off)"
                        .into(),
                );
            }
            (_, None) => {
                return Err(
                    "the token is certificate-bound and the request has no client certificate"
                        .into(),
                );
            }
            (_, Some(raw)) => raw,
        };
        let der = cert::der(raw, &self.certs)
            .map_err(|why| format!("the client certificate could not be read: {why}"))?;
        match expected {
            Thumbprint::Sha256(expected) if cert::thumbprint_matches(&der, &expected) => Ok(()),
            _ => Err(
                "the client certificate is not the one the token is bound to (cnf[\"x5t#S256\"])"
                    .into(),
            ),
        }
    }
}
