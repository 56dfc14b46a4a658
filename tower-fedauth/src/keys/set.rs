//! A key set: the usable signature keys of one JWKS document.
//!
//! A JWK that does not parse or must not be used (`use: enc`, symmetric,
//! RSA under 2048 bits, an unsupported curve) is skipped alone, with a
//! logged reason; the rest of the set stays usable.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3 requires 2048).
pub const MIN_RSA_BITS: usize = 2048;

/// The kind of a verification key, which fixes the algorithms it can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// RSA: RS* and PS*.
    Rsa,
    /// EC P-256: ES256.
    EcP256,
    /// EC P-384: ES384.
    EcP384,
    /// Ed25519: EdDSA.
    Ed25519,
}

impl KeyType {
    /// Whether a key of this type can verify `alg`.
    pub fn supports(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        matches!(
            (self, alg),
            (KeyType::Rsa, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
                | (KeyType::EcP256, ES256)
                | (KeyType::EcP384, ES384)
                | (KeyType::Ed25519, EdDSA)
        )
    }
}

/// One usable signature key.
#[derive(Clone)]
pub struct VerificationKey {
    /// `kid`, if the JWK has one.
    pub kid: Option<String>,
    /// The JWK's `alg`, if present: then only that algorithm may use the key.
    pub alg: Option<Algorithm>,
    /// What kind of key it is.
    pub key_type: KeyType,
    /// Azure AD: the issuer this key may sign for (`issuer` member).
    pub issuer: Option<String>,
    pub(crate) decoding: DecodingKey,
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("key_type", &self.key_type)
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl VerificationKey {
    /// Whether this key may verify a token signed with `alg`.
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.key_type.supports(alg) && self.alg.is_none_or(|a| a == alg)
    }
}

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

fn rsa_bits(n: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(n).ok()?;
    let first = bytes.iter().position(|&b| b != 0)?;
    let lead = bytes[first];
    Some((bytes.len() - first - 1) * 8 + (8 - lead.leading_zeros() as usize))
}

/// Parse one JWK into a verification key, or say why it is skipped.
fn parse_key(value: &Value) -> Result<VerificationKey, String> {
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
            let bits = rsa_bits(&p.n).ok_or("RSA `n` is not base64url")?;
            if bits < MIN_RSA_BITS {
                return Err(format!("RSA key of {bits} bits, under {MIN_RSA_BITS}"));
            }
            if b64_len(&p.e).is_none_or(|l| l == 0 || l > 8) {
                return Err("RSA `e` is not a valid exponent".into());
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
        decoding,
    })
}

impl KeySet {
    /// Parse a JWKS document (`{"keys": [...]}`).
    pub fn from_jwks_slice(bytes: &[u8]) -> Result<Self, KeySetError> {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| KeySetError(format!("not JSON: {e}")))?;
        Self::from_jwks_value(&doc)
    }

    /// Parse a JWKS document already decoded as JSON.
    pub fn from_jwks_value(doc: &Value) -> Result<Self, KeySetError> {
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| KeySetError("no `keys` array".into()))?;
        let mut set = KeySet::default();
        for (i, k) in keys.iter().enumerate() {
            match parse_key(k) {
                Ok(key) => set.keys.push(key),
                Err(why) => {
                    set.skipped += 1;
                    let kid = k.get("kid").and_then(Value::as_str).unwrap_or("");
                    tracing::warn!(index = i, kid = %kid.chars().take(64).collect::<String>(), reason = %why, "skipping a key of the key set");
                }
            }
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
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
