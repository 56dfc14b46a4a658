//! A DPoP proof (RFC 9449 §4.2): a JWT signed by the client's key, which
//! it carries in its header (`jwk`).
//!
//! The header is read first, on its own and without the token (its
//! structure may refuse a request before the token is read): `typ`
//! `dpop+jwt`, an `alg` of the accepted asymmetric list, no `crit`, and a
//! `jwk` that is a public key of a type that fits `alg` and passes the
//! key rules of a key set (no private members, no symmetric key, RSA of
//! 2048 bits or more). Its RFC 7638 thumbprint is jsonwebtoken's
//! [`Jwk::thumbprint`]. Clients send the same header with every proof, so
//! what it yields — the algorithm, the parsed key, the thumbprint — is
//! kept in a cache keyed by the header's text, bounded in bytes. The
//! claims are read only after the signature verifies with that key.

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use quick_cache::sync::Cache;
use quick_cache::{OptionsBuilder, Weighter};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::confirmation::decode32;
use crate::keys::{VerificationKey, parse_key};
use crate::token::media_type_is;

/// Longest proof accepted, in characters: an RSA-8192 `jwk` with room.
pub(crate) const MAX_PROOF_LEN: usize = 8 * 1024;

/// Longest `jti`: ids are random, and the replay cache holds their hash.
const MAX_JTI_LEN: usize = 256;

/// JWK members only a private or symmetric key has (RFC 7518 §6.2.2,
/// §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a proof's header establishes: the same for every proof a client
/// signs with one key.
pub(crate) struct ProofKey {
    pub(crate) alg: Algorithm,
    key: VerificationKey,
    /// The `jwk`'s RFC 7638 SHA-256 thumbprint.
    pub(crate) thumbprint: [u8; 32],
    /// The header's length, for the cache's weight.
    weight: u32,
}

impl std::fmt::Debug for ProofKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A proof split into its three parts (`header.payload.signature`).
pub(crate) struct Split<'p> {
    pub(crate) header: &'p str,
    pub(crate) signing_input: &'p str,
    pub(crate) payload: &'p str,
    pub(crate) signature: &'p str,
}

/// Where [`split`] cut a proof, to cut it again without a scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cuts {
    header: usize,
    signing_input: usize,
}

impl<'p> Split<'p> {
    pub(crate) fn cuts(&self) -> Cuts {
        Cuts {
            header: self.header.len(),
            signing_input: self.signing_input.len(),
        }
    }

    /// The parts of `proof` where [`split`] found them before.
    pub(crate) fn again(proof: &'p str, cuts: Cuts) -> Option<Self> {
        let signing_input = proof.get(..cuts.signing_input)?;
        Some(Self {
            header: signing_input.get(..cuts.header)?,
            signing_input,
            payload: signing_input.get(cuts.header + 1..)?,
            signature: proof.get(cuts.signing_input + 1..)?,
        })
    }
}

/// Split a compact JWS; why not, if it is not one.
pub(crate) fn split(proof: &str) -> Result<Split<'_>, &'static str> {
    if proof.len() > MAX_PROOF_LEN {
        return Err("the DPoP proof is over 8 KiB");
    }
    let mut parts = proof.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the DPoP proof is not a compact JWT (three parts)");
    };
    // An empty signature (`alg: none`) is refused by the header's rules,
    // or does not verify.
    if header.is_empty() || payload.is_empty() {
        return Err("the DPoP proof has an empty header or payload");
    }
    Ok(Split {
        header,
        signing_input: &proof[..header.len() + 1 + payload.len()],
        payload,
        signature,
    })
}

/// Parse a proof header: every rule of the module's documentation.
fn parse_header(segment: &str, accepted: &[Algorithm]) -> Result<ProofKey, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| "the DPoP proof's header is not base64url without padding")?;
    let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err("the DPoP proof's header is not a JSON object".into());
    };
    match header.get("typ").and_then(Value::as_str) {
        Some(typ) if media_type_is(typ, "dpop+jwt") => {}
        _ => return Err("the DPoP proof's typ is not dpop+jwt".into()),
    }
    if header.contains_key("crit") {
        return Err("the DPoP proof's header has crit, which is not understood".into());
    }
    let alg = algorithm(&header, accepted)?;
    let jwk = header
        .get("jwk")
        .ok_or("the DPoP proof's header has no jwk")?;
    let Value::Object(members) = jwk else {
        return Err("the DPoP proof's jwk is not a JSON object".into());
    };
    if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| members.contains_key(**m)) {
        return Err(format!(
            "the DPoP proof's jwk holds private or symmetric key material (`{member}`)"
        ));
    }
    let key = parse_key(jwk).map_err(|why| format!("the DPoP proof's jwk is refused: {why}"))?;
    if !key.allows(alg) {
        return Err(format!(
            "the DPoP proof's alg {alg:?} does not fit its jwk ({:?})",
            key.key_type
        ));
    }
    let thumbprint = thumbprint(jwk)?;
    Ok(ProofKey {
        alg,
        key,
        thumbprint,
        weight: u32::try_from(segment.len()).unwrap_or(u32::MAX),
    })
}

/// The header's `alg`: never `none` or `HS*`, and one of `accepted`.
fn algorithm(header: &Map<String, Value>, accepted: &[Algorithm]) -> Result<Algorithm, String> {
    let Some(name) = header.get("alg").and_then(Value::as_str) else {
        return Err("the DPoP proof's header has no alg".into());
    };
    let shown = crate::verify::printable(name, 16);
    if name.eq_ignore_ascii_case("none") || name.to_ascii_uppercase().starts_with("HS") {
        return Err(format!(
            "the DPoP proof's alg {shown} is not an asymmetric signature algorithm"
        ));
    }
    name.parse::<Algorithm>()
        .ok()
        .filter(|alg| accepted.contains(alg))
        .ok_or_else(|| format!("the DPoP proof's alg {shown} is not accepted"))
}

/// The RFC 7638 SHA-256 thumbprint of a public `jwk` (jsonwebtoken's).
pub(crate) fn thumbprint(jwk: &Value) -> Result<[u8; 32], String> {
    let jwk = Jwk::deserialize(jwk).map_err(|e| format!("the DPoP proof's jwk: {e}"))?;
    crate::crypto::ensure_provider();
    let text = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| format!("the DPoP proof's jwk has no thumbprint: {e}"))?;
    let mut out = [0u8; 32];
    match decode32(&text, &mut out) {
        true => Ok(out),
        false => Err("the DPoP proof's jwk thumbprint is not 32 bytes".into()),
    }
}

/// Each cached header weighs its text and its parsed key.
#[derive(Clone, Copy)]
struct ByWeight;

impl Weighter<Box<str>, Arc<ProofKey>> for ByWeight {
    fn weight(&self, key: &Box<str>, value: &Arc<ProofKey>) -> u64 {
        // The key as parsed (components, the backend's key): up to 4 KiB,
        // as a key set's keys are weighed.
        key.len() as u64 + u64::from(value.weight) + 4096
    }
}

/// A keyed fast hash: headers are long and chosen by callers.
type Hashing = foldhash::quality::RandomState;

/// The parsed proof headers, by their text. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ProofKeys {
    cache: Arc<Cache<Box<str>, Arc<ProofKey>, ByWeight, Hashing>>,
}

impl ProofKeys {
    pub(crate) fn new(max_bytes: u64) -> Self {
        let options = OptionsBuilder::new()
            .estimated_items_capacity(usize::try_from(max_bytes / 5000).unwrap_or(1).max(1))
            .weight_capacity(max_bytes.max(1))
            .build()
            .expect("capacity and weight are both set");
        Self {
            cache: Arc::new(Cache::with_options(
                options,
                ByWeight,
                Default::default(),
                Default::default(),
            )),
        }
    }

    /// The key of a proof header, parsed now or before.
    pub(crate) fn get(
        &self,
        header: &str,
        accepted: &[Algorithm],
    ) -> Result<Arc<ProofKey>, String> {
        if let Some(hit) = self.cache.get(header) {
            return Ok(hit);
        }
        let parsed = Arc::new(parse_header(header, accepted)?);
        self.cache.insert(header.into(), parsed.clone());
        Ok(parsed)
    }
}

impl ProofKey {
    /// Whether `signature` is this key's signature of `signing_input`.
    pub(crate) fn verifies(&self, signing_input: &str, signature: &str) -> bool {
        self.key
            .signature
            .verifies(self.alg, signing_input.as_bytes(), signature)
    }
}

/// The claims of a proof (RFC 9449 §4.2), borrowed where they can be.
#[derive(Deserialize)]
pub(crate) struct ProofClaims<'a> {
    #[serde(borrow, default)]
    pub(crate) jti: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) htm: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) htu: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) iat: Option<serde_json::Number>,
    #[serde(borrow, default)]
    pub(crate) ath: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) nonce: Option<Cow<'a, str>>,
}

/// The claims a proof must carry, checked for presence and shape.
pub(crate) struct Required<'a> {
    pub(crate) jti: &'a str,
    pub(crate) htm: &'a str,
    pub(crate) htu: &'a str,
    pub(crate) iat: i64,
}

impl<'a> ProofClaims<'a> {
    /// Parse the decoded payload.
    pub(crate) fn parse(payload: &'a [u8]) -> Result<Self, &'static str> {
        serde_json::from_slice(payload)
            .map_err(|_| "the DPoP proof's claims are not a JSON object of the RFC 9449 types")
    }

    /// `jti`, `htm`, `htu` and `iat`, present and well formed.
    pub(crate) fn required(&self) -> Result<Required<'_>, &'static str> {
        let (Some(jti), Some(htm), Some(htu), Some(iat)) =
            (&self.jti, &self.htm, &self.htu, &self.iat)
        else {
            return Err("the DPoP proof lacks one of jti, htm, htu, iat");
        };
        if jti.is_empty() || jti.len() > MAX_JTI_LEN {
            return Err("the DPoP proof's jti is empty or over 256 characters");
        }
        let iat = match (iat.as_i64(), iat.as_f64()) {
            (Some(i), _) => i,
            // A NumericDate may have a fraction (RFC 7519 §2).
            (None, Some(f)) if f.is_finite() && f.abs() < 1e15 => f.floor() as i64,
            _ => return Err("the DPoP proof's iat is not a NumericDate"),
        };
        Ok(Required { jti, htm, htu, iat })
    }
}
