//! The sender-constraint step of `fedauth explain`: each check of a DPoP
//! proof (RFC 9449) and of a client certificate (RFC 8705), in the order
//! the authenticator runs them, each with what the request presented.
//!
//! The verdict is the authenticator's own: its refusal's code and detail
//! say which check failed; every check before it passed, the ones after
//! were not reached. What is shown of the proof and the token is read
//! without verifying it.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tower_fedauth::binding::DpopConfig;
use tower_fedauth::{AuthError, ErrorCode, Registration};

use super::{decode, now, shown, value};

/// What the request presented for the sender constraint.
pub(super) struct Presented<'a> {
    /// The `Authorization` scheme is `DPoP`.
    pub(super) dpop: bool,
    /// The `DPoP` headers.
    pub(super) proofs: &'a [String],
    /// The request method.
    pub(super) method: &'a str,
    /// The URL a proof's `htu` must name, if given.
    pub(super) url: Option<&'a str>,
    /// The client certificate (DER), if given.
    pub(super) cert: Option<&'a [u8]>,
}

/// The checks of the step, in the authenticator's order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Step {
    Proofs,
    Header,
    Signature,
    Claims,
    Htm,
    Htu,
    Iat,
    Ath,
    Nonce,
    Key,
    Jti,
    Bound,
    Required,
    Certificate,
}

/// Each check and its name, in order.
const STEPS: [(Step, &str); 14] = [
    (Step::Proofs, "DPoP header"),
    (Step::Header, "proof header"),
    (Step::Signature, "signature"),
    (Step::Claims, "proof claims"),
    (Step::Htm, "htm"),
    (Step::Htu, "htu"),
    (Step::Iat, "iat"),
    (Step::Ath, "ath"),
    (Step::Nonce, "nonce"),
    (Step::Key, "proof key"),
    (Step::Jti, "jti"),
    (Step::Bound, "DPoP binding"),
    (Step::Required, "dpop mode"),
    (Step::Certificate, "certificate"),
];

/// Whether a request of this kind meets `step`: a `DPoP` request the
/// proof's checks, a bearer one the binding and the mode; both the
/// certificate.
fn meets(dpop: bool, step: Step) -> bool {
    match step {
        Step::Certificate => true,
        Step::Bound | Step::Required => !dpop,
        _ => dpop,
    }
}

/// The check a sender-constraint refusal comes from, read from its code and
/// the authenticator's detail.
fn failed_step(e: &AuthError) -> Option<Step> {
    let has = |words: &str| e.detail().contains(words);
    let step = match e.code() {
        ErrorCode::UseDpopNonce => Step::Nonce,
        ErrorCode::InvalidDpopProof => match () {
            _ if has("DPoP header") || has("DPoP scheme without") || has("was not read") => {
                Step::Proofs
            }
            _ if has("claims") || has("lacks one of") || has("jti is empty") => Step::Claims,
            _ if has("NumericDate") => Step::Claims,
            _ if has("proof's signature") => Step::Signature,
            _ if has("proof's htm ") => Step::Htm,
            _ if has("proof's htu ") || has("no Host") => Step::Htu,
            _ if has("proof's iat ") => Step::Iat,
            _ if has("proof's ath ") || has("proof has no ath") => Step::Ath,
            _ if has("proof's jti ") || has("replay cache") => Step::Jti,
            _ => Step::Header,
        },
        ErrorCode::InvalidTokenBinding => match () {
            _ if has("certificate") || has("mtls") => Step::Certificate,
            _ if has("dpop = required") => Step::Required,
            _ if has("without the DPoP scheme") => Step::Bound,
            _ if has("cnf.jkt") => Step::Key,
            _ => Step::Bound,
        },
        _ => return None,
    };
    Some(step)
}

/// Whether `e` refused the request's DPoP proof before the token was read
/// (its header or the number of proofs): checks 3–11 were not reached.
pub(super) fn refused_early(e: &AuthError) -> bool {
    matches!(failed_step(e), Some(Step::Proofs | Step::Header))
}

/// base64url(SHA-256(`bytes`)).
fn sha256_b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
}

/// What the step looks at: the request, the token's `cnf` and the one
/// proof, decoded without verifying it.
struct View<'a> {
    presented: &'a Presented<'a>,
    reg: Option<&'a Registration>,
    cnf: Map<String, Value>,
    proof_header: Map<String, Value>,
    proof: Map<String, Value>,
}

impl View<'_> {
    fn cnf(&self, member: &str) -> String {
        value(&self.cnf, member).unwrap_or_else(|| "(none)".into())
    }

    fn claim(&self, name: &str) -> String {
        value(&self.proof, name).unwrap_or_else(|| "(none)".into())
    }

    fn cert(&self) -> String {
        self.presented.cert.map_or_else(
            || "none".into(),
            |der| format!("x5t#S256 {}", sha256_b64(der)),
        )
    }

    fn iat(&self) -> String {
        match self.proof.get("iat").and_then(Value::as_i64) {
            Some(iat) if iat <= now() => format!("issued {} s ago", now() - iat),
            Some(iat) => format!("issued {} s in the future", iat - now()),
            None => "(no iat)".into(),
        }
    }

    /// What a passed check established.
    fn passed(&self, step: Step) -> String {
        let mode = |m: Option<&str>| m.unwrap_or("-").to_owned();
        let reg = self.reg;
        match step {
            Step::Proofs => "one DPoP header".into(),
            Step::Header => format!(
                "typ {}, alg {}, a public jwk ({})",
                value(&self.proof_header, "typ").unwrap_or_default(),
                value(&self.proof_header, "alg").unwrap_or_default(),
                self.proof_header
                    .get("jwk")
                    .and_then(|jwk| jwk.get("kty"))
                    .and_then(Value::as_str)
                    .map(shown)
                    .unwrap_or_default()
            ),
            Step::Signature => "verifies with the proof's jwk".into(),
            Step::Claims => "jti, htm, htu and iat present".into(),
            Step::Htm => format!("{} is the request's method", self.claim("htm")),
            Step::Htu => format!("{} names the request's URL", self.claim("htu")),
            Step::Iat => format!(
                "{}, within {} s plus the registration's leeway ({} s)",
                self.iat(),
                DpopConfig::default().iat_window.as_secs(),
                reg.map_or(0, |r| r.leeway_seconds)
            ),
            Step::Ath => "the hash of the access token".into(),
            Step::Nonce => match reg.is_some_and(|r| r.dpop_nonce) {
                true => "the server's current nonce".into(),
                false => "not required (dpop_nonce = false)".into(),
            },
            Step::Key => format!(
                "the token's cnf.jkt {} is the proof key's thumbprint",
                self.cnf("jkt")
            ),
            Step::Jti => format!("{} not used before", self.claim("jti")),
            Step::Bound => "the token is not DPoP-bound (no cnf.jkt)".into(),
            Step::Required => format!("dpop = {}", mode(reg.map(|r| r.dpop.as_str()))),
            Step::Certificate => match self.cnf.contains_key("x5t#S256") {
                true => format!(
                    "the token's cnf x5t#S256 {} is the client certificate's",
                    self.cnf("x5t#S256")
                ),
                false => format!(
                    "the token is not certificate-bound (mtls = {}, client certificate: {})",
                    mode(reg.map(|r| r.mtls.as_str())),
                    self.cert()
                ),
            },
        }
    }

    /// What the request presented, beside a failed check's reason.
    fn presented(&self, step: Step) -> Option<String> {
        let p = self.presented;
        Some(match step {
            Step::Proofs => format!("{} DPoP headers", p.proofs.len()),
            Step::Htm => format!("proof {}, request {}", self.claim("htm"), shown(p.method)),
            Step::Htu => format!(
                "proof {}, request {}",
                self.claim("htu"),
                p.url.map_or_else(|| "(no --url)".into(), shown)
            ),
            Step::Iat => self.iat(),
            Step::Key | Step::Bound => format!("the token's cnf.jkt: {}", self.cnf("jkt")),
            Step::Certificate => format!(
                "the token's cnf x5t#S256: {}; client certificate: {}",
                self.cnf("x5t#S256"),
                self.cert()
            ),
            _ => return None,
        })
    }
}

/// The summary of the step when it passed.
pub(super) fn summary(presented: &Presented<'_>, claims: &Map<String, Value>) -> String {
    let cnf = claims.get("cnf").and_then(Value::as_object);
    let bound = |member: &str| cnf.is_some_and(|c| c.contains_key(member));
    let dpop = match presented.dpop {
        true => "a DPoP proof of the token's key",
        false => "a bearer token, not DPoP-bound",
    };
    match bound("x5t#S256") {
        true => format!("{dpop}; the client certificate the token is bound to"),
        false => dpop.to_owned(),
    }
}

/// Print each check of the step: PASS, FAIL with the reason, or not
/// reached, after the refusal `outcome` (`None`: the step passed).
pub(super) fn print_steps(
    presented: &Presented<'_>,
    reg: Option<&Registration>,
    claims: &Map<String, Value>,
    refusal: Option<&AuthError>,
) {
    let (proof_header, proof) = match presented.proofs {
        [one] => decode(one),
        _ => Default::default(),
    };
    let view = View {
        presented,
        reg,
        cnf: claims
            .get("cnf")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        proof_header,
        proof,
    };
    let failed = refusal.and_then(failed_step);
    if failed.is_some_and(|f| !meets(presented.dpop, f)) {
        return;
    }
    for (step, name) in STEPS.into_iter().filter(|(s, _)| meets(presented.dpop, *s)) {
        let line = match (failed, refusal) {
            (Some(at), Some(e)) if step == at => {
                let seen = view
                    .presented(step)
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                format!("FAIL  {name:<13} {}{seen}", e.detail())
            }
            (Some(at), _) if step > at => format!(" --   {name:<13} not reached"),
            _ => format!("PASS  {name:<13} {}", view.passed(step)),
        };
        println!("      {line}");
    }
}
