//! A key set: the usable signature keys of one JWKS document.
//!
//! A JWK that does not parse or must not be used (`use: enc`, symmetric,
//! RSA under 2048 bits, an RSA exponent that is even or 1, a modulus with
//! the ROCA fingerprint, private key material, an unsupported curve) is
//! skipped alone, with a logged reason; the rest of the set stays usable.
//! Keys that share a `kid` and a key type but differ are all skipped: the
//! `kid` cannot say which one signed (RFC 7517 §4.5, Wycheproof
//! `DuplicateKid`).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::certs;
use super::key::{KeyLiveness, KeyType, VerificationKey, rsa_key_problem};
use super::signature::SignatureKey;

/// The usable keys of one key set document.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
    skipped: usize,
}

/// Why a whole key set document was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[error("key set document refused: {0}")]
pub struct KeySetError(pub String);

fn b64_len(s: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(s).ok().map(|v| v.len())
}

#[cfg(test)]
fn rsa_bits(n: &str) -> Option<usize> {
    super::key::rsa_bits_of(&URL_SAFE_NO_PAD.decode(n).ok()?)
}

/// JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2).
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// What identifies a key's public material, to tell a repeated key from
/// two different keys under one `kid`.
fn material(value: &Value) -> String {
    ["kty", "crv", "n", "e", "x", "y"]
        .iter()
        .map(|m| value.get(*m).and_then(Value::as_str).unwrap_or(""))
        .collect::<Vec<_>>()
        .join(".")
}

/// Parse one JWK into a verification key, or say why it is skipped (also
/// the key rules of a DPoP proof's `jwk`, `crate::binding`).
pub(crate) fn parse_key(value: &Value) -> Result<VerificationKey, String> {
    let obj = value.as_object().ok_or("not a JSON object")?;
    if let Some(u) = obj.get("use") {
        if u != "sig" {
            return Err(format!("`use` is {u}, not \"sig\""));
        }
    }
    if let Some(ops) = obj.get("key_ops") {
        let ops = ops.as_array().ok_or("`key_ops` is not an array")?;
        if !ops.iter().any(|o| o == "verify") {
            return Err("`key_ops` does not include \"verify\"".into());
        }
    }
    if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
        return Err(format!(
            "holds private key material (`{member}`): a key set publishes public keys only"
        ));
    }
    let issuer = obj.get("issuer").and_then(Value::as_str).map(str::to_owned);
    let jwk: Jwk =
        serde_json::from_value(value.clone()).map_err(|e| format!("does not parse: {e}"))?;
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::HS256 | KeyAlgorithm::HS384 | KeyAlgorithm::HS512) => {
            return Err("symmetric algorithm: never accepted from a key set".into());
        }
        Some(a) => Some(
            Algorithm::try_from(a)
                .map_err(|_| format!("`alg` {a} is not a signature algorithm"))?,
        ),
    };
    let key_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(p) => {
            let n = URL_SAFE_NO_PAD
                .decode(&p.n)
                .map_err(|_| "RSA `n` is not base64url")?;
            let e = URL_SAFE_NO_PAD
                .decode(&p.e)
                .map_err(|_| "RSA `e` is not base64url")?;
            if let Some(problem) = rsa_key_problem(&n, &e) {
                return Err(problem);
            }
            KeyType::Rsa
        }
        AlgorithmParameters::EllipticCurve(p) => {
            let (kt, len) = match p.curve {
                EllipticCurve::P256 => (KeyType::EcP256, 32),
                EllipticCurve::P384 => (KeyType::EcP384, 48),
                ref c => return Err(format!("curve {c:?} is not supported")),
            };
            if b64_len(&p.x) != Some(len) || b64_len(&p.y) != Some(len) {
                return Err("EC coordinates have the wrong length".into());
            }
            kt
        }
        AlgorithmParameters::OctetKeyPair(p) => {
            if p.curve != EllipticCurve::Ed25519 {
                return Err(format!("OKP curve {:?} is not supported", p.curve));
            }
            if b64_len(&p.x) != Some(32) {
                return Err("Ed25519 `x` is not 32 bytes".into());
            }
            KeyType::Ed25519
        }
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric (`oct`) key: never accepted from a key set".into());
        }
        _ => return Err("unsupported key type".into()),
    };
    if let Some(alg) = alg {
        if !key_type.supports(alg) {
            return Err(format!("`alg` {alg:?} does not fit a {key_type:?} key"));
        }
    }
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| format!("unusable: {e}"))?;
    Ok(VerificationKey {
        kid: jwk.common.key_id.clone(),
        alg,
        key_type,
        issuer,
        signature: SignatureKey::new(decoding),
        liveness: KeyLiveness::new(material(value)),
    })
}

impl KeySet {
    /// Parse a key document, its format recognised from the document itself:
    /// a JWKS (`{"keys": [...]}`), or Google's X.509 certificate map
    /// (`{kid: "-----BEGIN CERTIFICATE-----..."}`, Firebase) whose keys are
    /// the certificates' public keys.
    pub fn from_document_slice(bytes: &[u8]) -> Result<Self, KeySetError> {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| KeySetError(format!("not JSON: {e}")))?;
        match doc.as_object() {
            Some(map) if certs::is_certificate_map(map) => Ok(Self::from_certificate_map(map)),
            _ => Self::from_jwks_value(&doc),
        }
    }

    /// Parse Google's X.509 certificate map (`kid` → PEM certificate).
    /// Entries that are not usable RSA certificates are skipped alone.
    pub fn from_certificate_map(map: &serde_json::Map<String, Value>) -> Self {
        let mut set = KeySet::default();
        for (kid, pem) in map {
            match certs::key_from_certificate(kid, pem.as_str().unwrap_or_default()) {
                Ok(key) => set.keys.push(key),
                Err(why) => {
                    set.skipped += 1;
                    tracing::warn!(kid = %kid.chars().take(64).collect::<String>(), reason = %why, "skipping a certificate of the key set");
                }
            }
        }
        set
    }

    /// Parse a JWKS document (`{"keys": [...]}`).
    pub fn from_jwks_slice(bytes: &[u8]) -> Result<Self, KeySetError> {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| KeySetError(format!("not JSON: {e}")))?;
        Self::from_jwks_value(&doc)
    }

    /// Parse a JWKS document already decoded as JSON.
    pub fn from_jwks_value(doc: &Value) -> Result<Self, KeySetError> {
        let keys = doc.get("keys").and_then(Value::as_array).ok_or_else(|| {
            KeySetError("neither a JWKS (`keys` array) nor an X.509 certificate map".into())
        })?;
        let mut set = KeySet::default();
        let mut parsed = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            match parse_key(k) {
                Ok(key) => parsed.push((key, material(k))),
                Err(why) => {
                    set.skipped += 1;
                    let kid = k.get("kid").and_then(Value::as_str).unwrap_or("");
                    tracing::warn!(index = i, kid = %kid.chars().take(64).collect::<String>(), reason = %why, "skipping a key of the key set");
                }
            }
        }
        // A `kid` naming two different keys of one type is ambiguous: skip them all.
        let mut by_kid: HashMap<(&str, KeyType), (&str, bool)> = HashMap::new();
        for (key, material) in &parsed {
            if let Some(kid) = key.kid.as_deref() {
                let entry = by_kid
                    .entry((kid, key.key_type))
                    .or_insert((material.as_str(), false));
                entry.1 |= entry.0 != material.as_str();
            }
        }
        let ambiguous = |key: &VerificationKey| {
            key.kid
                .as_deref()
                .is_some_and(|kid| by_kid.get(&(kid, key.key_type)).is_some_and(|e| e.1))
        };
        for (key, _) in &parsed {
            if ambiguous(key) {
                set.skipped += 1;
                let kid = key.kid.as_deref().unwrap_or_default();
                tracing::warn!(kid = %kid.chars().take(64).collect::<String>(), "skipping a key of the key set: its kid names another key of the same type too");
            }
        }
        set.keys = parsed
            .iter()
            .filter(|(key, _)| !ambiguous(key))
            .map(|(key, _)| key.clone())
            .collect();
        Ok(set)
    }

    /// Build from keys already parsed (tests, custom sources).
    pub fn from_keys(keys: Vec<VerificationKey>) -> Self {
        Self { keys, skipped: 0 }
    }

    /// The usable keys.
    pub fn keys(&self) -> &[VerificationKey] {
        &self.keys
    }

    /// How many keys of the document were skipped as unusable.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Keys with this `kid`.
    pub fn by_kid<'a, 'k>(
        &'a self,
        kid: &'k str,
    ) -> impl Iterator<Item = &'a VerificationKey> + use<'a, 'k> {
        self.keys
            .iter()
            .filter(move |k| k.kid.as_deref() == Some(kid))
    }

    /// Whether a key with this `kid` exists.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.by_kid(kid).next().is_some()
    }

    /// Take over the liveness of the keys `previous` shares with this copy,
    /// and retire the keys it had that this copy no longer has.
    pub(crate) fn succeed(&mut self, previous: &KeySet) {
        for key in &mut self.keys {
            let same = previous.keys.iter().find(|p| {
                p.liveness.is_live()
                    && p.kid == key.kid
                    && p.alg == key.alg
                    && p.issuer == key.issuer
                    && p.liveness.material == key.liveness.material
            });
            if let Some(same) = same {
                key.liveness = same.liveness.clone();
            }
        }
        for old in &previous.keys {
            if !self
                .keys
                .iter()
                .any(|k| k.liveness.same_flag(&old.liveness))
            {
                old.liveness.retire();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::key::has_roca_fingerprint;
    use serde_json::json;

    fn n_of_bits(bits: usize) -> String {
        let mut n = vec![0xffu8; bits / 8];
        n[0] = 0xc1;
        URL_SAFE_NO_PAD.encode(n)
    }

    #[test]
    fn bad_keys_are_skipped_alone() {
        let good = json!({"kty":"RSA","kid":"good","n":n_of_bits(2048),"e":"AQAB"});
        let doc = json!({"keys":[
            good,
            {"kty":"RSA","kid":"weak","n":n_of_bits(1024),"e":"AQAB"},
            {"kty":"RSA","kid":"enc","use":"enc","n":n_of_bits(2048),"e":"AQAB"},
            {"kty":"oct","kid":"sym","k":"c2VjcmV0"},
            {"kty":"RSA","kid":"hs","alg":"HS256","n":n_of_bits(2048),"e":"AQAB"},
            {"kty":"RSA","kid":"mismatch","alg":"ES256","n":n_of_bits(2048),"e":"AQAB"},
            {"kty":"EC","kid":"p521","crv":"P-521","x":"AA","y":"AA"},
            {"kty":"XYZ","kid":"unknown"},
            "not an object",
        ]});
        let set = KeySet::from_jwks_value(&doc).unwrap();
        assert_eq!(set.keys().len(), 1);
        assert_eq!(set.skipped(), 8);
        assert!(set.contains_kid("good"));
        assert!(set.keys()[0].allows(Algorithm::PS256));
        assert!(!set.keys()[0].allows(Algorithm::ES256));
    }

    /// The ROCA-vulnerable modulus of Wycheproof's `json_web_key_test.json`
    /// (C2SP/wycheproof, Apache-2.0), group `jws_rsa_roca_key`.
    const ROCA_N: &str = "AanFpofbj7KjD4Lf-N2hVMKR7yewSyXhhbirIMTGpfYEhZ_lnt5UoK98DnKIgArXGTu3MaW_HhFw16HGaTDUHqPrId7fe4r11CqRw09yBFuW79V8sYIwHdzCaWflUI6auImYbVfoN9_nD5n8N8SY9DwXw7mwZM9wREPXoDPgOoIWl6q_MPsp7n0zs3Z5ZaiQWOOzl1S9OhwAfSiiOwz6efnXEaxuTEtPd7BjSx7NaFka8Dx9U7YqXy2RFj1O9PjyaDGuRh7YXsX3iMUSP_wSyHQg_c_qHRtKUsNSGCT7OZg0hzm2KphtjnayKJvC64vAbROBR4Ubg6Bxg9IQVZ-QYyE";

    fn kids(doc: Value) -> (Vec<String>, usize) {
        let set = KeySet::from_jwks_value(&doc).unwrap();
        let kids = set.keys().iter().filter_map(|k| k.kid.clone()).collect();
        (kids, set.skipped())
    }

    #[test]
    fn weak_rsa_exponents_roca_and_private_material_are_skipped() {
        let n = n_of_bits(2048);
        let (kids, skipped) = kids(json!({"keys":[
            {"kty":"RSA","kid":"e1","n":n,"e":"AQ"},
            {"kty":"RSA","kid":"e0","n":n,"e":"AA"},
            {"kty":"RSA","kid":"even","n":n,"e":"AQAA"},
            {"kty":"RSA","kid":"huge","n":n,"e":"AQAAAAAAAAAB"},
            {"kty":"RSA","kid":"roca","n":ROCA_N,"e":"AQAB"},
            {"kty":"RSA","kid":"private","n":n,"e":"AQAB","d":"AQ"},
            {"kty":"EC","kid":"ec-private","crv":"P-256","x":URL_SAFE_NO_PAD.encode([1u8; 32]),"y":URL_SAFE_NO_PAD.encode([2u8; 32]),"d":"AQ"},
            {"kty":"RSA","kid":"e3","n":n,"e":"Aw"},
            {"kty":"RSA","kid":"ok","n":n,"e":"AAEAAQ"},
        ]}));
        assert_eq!(kids, ["e3", "ok"]);
        assert_eq!(skipped, 7);
        let roca = URL_SAFE_NO_PAD.decode(ROCA_N).unwrap();
        assert!(has_roca_fingerprint(&roca));
        assert!(!has_roca_fingerprint(&URL_SAFE_NO_PAD.decode(&n).unwrap()));
        assert!(rsa_key_problem(&roca, &[1, 0, 1]).unwrap().contains("ROCA"));
    }

    #[test]
    fn a_kid_naming_two_different_keys_of_one_type_is_ambiguous() {
        let a = n_of_bits(2048);
        let mut b = URL_SAFE_NO_PAD.decode(&a).unwrap();
        b[10] = 0x17;
        let b = URL_SAFE_NO_PAD.encode(b);
        let ec = json!({"kty":"EC","kid":"dup","crv":"P-256","x":URL_SAFE_NO_PAD.encode([1u8; 32]),"y":URL_SAFE_NO_PAD.encode([2u8; 32])});
        let (kids, skipped) = kids(json!({"keys":[
            {"kty":"RSA","kid":"dup","n":a,"e":"AQAB"},
            {"kty":"RSA","kid":"dup","n":b,"e":"AQAB"},
            // The same kid on another key type is allowed (RFC 7517 §4.5).
            ec,
            // The same key twice is not ambiguous.
            {"kty":"RSA","kid":"twice","n":a,"e":"AQAB"},
            {"kty":"RSA","kid":"twice","n":a,"e":"AQAB","alg":"RS256"},
        ]}));
        assert_eq!(kids, ["dup", "twice", "twice"]);
        assert_eq!(skipped, 2);
    }

    #[test]
    fn documents_without_keys_are_refused() {
        assert!(KeySet::from_jwks_slice(b"{}").is_err());
        assert!(KeySet::from_jwks_slice(b"garbage").is_err());
        assert_eq!(
            KeySet::from_jwks_slice(br#"{"keys":[]}"#)
                .unwrap()
                .keys()
                .len(),
            0
        );
    }

    #[test]
    fn rsa_bits_counts_the_leading_byte() {
        assert_eq!(rsa_bits(&n_of_bits(2048)), Some(2048));
        assert_eq!(rsa_bits(&URL_SAFE_NO_PAD.encode([0, 1, 0])), Some(9));
    }
}
