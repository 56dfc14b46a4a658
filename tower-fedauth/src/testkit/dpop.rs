//! DPoP keys and proofs (RFC 9449) for tests: a client's key pair, its
//! public JWK and RFC 7638 thumbprint (computed here, independently of the
//! verifier), and a proof builder that can craft every refusal — another
//! `typ` or `alg`, a private or foreign `jwk`, a broken signature, `none`
//! and `HS256`.
//!
//! ```
//! use tower_fedauth::jws::Algorithm;
//! use tower_fedauth::testkit::{DpopKey, DpopProof};
//!
//! let key = DpopKey::generate(Algorithm::ES256);
//! let proof = DpopProof::new(&key)
//!     .htm("GET")
//!     .htu("https://api.example.com/whoami")
//!     .ath_for("the.access.token")
//!     .sign();
//! assert_eq!(proof.split('.').count(), 3);
//! ```

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::keys::{KeyKind, TestKey};
use super::token::{TokenBuilder, now, random_id};

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A client's DPoP key pair and the algorithm its proofs use.
#[derive(Clone, Debug)]
pub struct DpopKey {
    key: TestKey,
    alg: Algorithm,
}

impl DpopKey {
    /// A new key for `alg`: RS256–512 and PS256–512 (RSA-2048), ES256
    /// (P-256), ES384 (P-384) or EdDSA (Ed25519).
    ///
    /// # Panics
    /// For any other algorithm (`HS*` has no key pair).
    pub fn generate(alg: Algorithm) -> Self {
        use Algorithm::*;
        let kind = match alg {
            RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => KeyKind::Rsa2048,
            ES256 => KeyKind::EcP256,
            ES384 => KeyKind::EcP384,
            EdDSA => KeyKind::Ed25519,
            other => panic!("DpopKey::generate: {other:?} is not an asymmetric algorithm"),
        };
        Self {
            key: TestKey::generate(kind, "dpop"),
            alg,
        }
    }

    /// The algorithm its proofs are signed with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key pair.
    pub fn test_key(&self) -> &TestKey {
        &self.key
    }

    /// The public JWK, with its required members only (as clients send
    /// it in a proof).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.key.public_jwk_with_alg(None);
        if let Value::Object(members) = &mut jwk {
            members.remove("kid");
            members.remove("use");
        }
        jwk
    }

    /// The JWK with its private member (`d`: the EC scalar or the Ed25519
    /// seed), which a proof must never carry.
    ///
    /// # Panics
    /// For an RSA key (its private exponent is not exported).
    pub fn private_jwk(&self) -> Value {
        let mut jwk = self.public_jwk();
        let d = self.key.private_scalar();
        if let Value::Object(members) = &mut jwk {
            members.insert("d".into(), json!(b64url(&d)));
        }
        jwk
    }

    /// The RFC 7638 SHA-256 thumbprint of the public JWK, base64url: the
    /// `cnf.jkt` of tokens bound to this key.
    pub fn thumbprint(&self) -> String {
        let jwk = self.public_jwk();
        let member = |name: &str| jwk[name].as_str().unwrap_or_default().to_owned();
        // The required members, in lexicographic order, no whitespace.
        let canonical = match member("kty").as_str() {
            "RSA" => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                member("e"),
                member("n")
            ),
            "EC" => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                member("crv"),
                member("x"),
                member("y")
            ),
            _ => format!(
                r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
                member("crv"),
                member("x")
            ),
        };
        b64url(digest(&SHA256, canonical.as_bytes()).as_ref())
    }
}

/// The `ath` of `token`: base64url(SHA-256(token)).
pub fn ath_of(token: &str) -> String {
    b64url(digest(&SHA256, token.as_bytes()).as_ref())
}

/// Builds a DPoP proof: header `typ: dpop+jwt`, the key's `alg` and
/// public `jwk`; claims `jti` (random), `htm` (`GET`) and `iat` (now).
/// Set `htu`, and `ath` for a request with a token; every header member
/// and claim may be changed or removed to craft a refusal.
#[derive(Clone, Debug)]
pub struct DpopProof {
    key: DpopKey,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    corrupt: bool,
}

impl DpopProof {
    /// A proof signed by `key`.
    pub fn new(key: &DpopKey) -> Self {
        let mut header = Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        header.insert("alg".into(), json!(format!("{:?}", key.alg)));
        header.insert("jwk".into(), key.public_jwk());
        let mut claims = Map::new();
        claims.insert("jti".into(), json!(random_id()));
        claims.insert("htm".into(), json!("GET"));
        claims.insert("iat".into(), json!(now()));
        Self {
            key: key.clone(),
            header,
            claims,
            corrupt: false,
        }
    }

    /// Sets (or replaces) a claim.
    pub fn claim(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).expect("value serialises to JSON");
        self.claims.insert(name.to_owned(), value);
        self
    }

    /// Removes a claim.
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets (or replaces) a header member.
    pub fn header(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).expect("value serialises to JSON");
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Removes a header member.
    pub fn remove_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// `htm`: the request method.
    pub fn htm(self, method: &str) -> Self {
        self.claim("htm", method)
    }

    /// `htu`: the request URL.
    pub fn htu(self, url: impl AsRef<str>) -> Self {
        self.claim("htu", url.as_ref())
    }

    /// `ath`: the hash of the access token sent with the proof.
    pub fn ath_for(self, token: &str) -> Self {
        self.claim("ath", ath_of(token))
    }

    /// `nonce`: a server nonce (from a `DPoP-Nonce` header).
    pub fn nonce(self, nonce: &str) -> Self {
        self.claim("nonce", nonce)
    }

    /// `iat`, seconds since the epoch.
    pub fn iat(self, iat: i64) -> Self {
        self.claim("iat", iat)
    }

    /// `jti`: the proof's id (random by default).
    pub fn jti(self, jti: &str) -> Self {
        self.claim("jti", jti)
    }

    /// The header's `typ`.
    pub fn typ(self, typ: &str) -> Self {
        self.header("typ", typ)
    }

    /// The header's `alg`; [`sign`](Self::sign) then signs with it:
    /// `none` leaves the signature empty, `HS256` is an HMAC.
    pub fn alg(self, alg: &str) -> Self {
        self.header("alg", alg)
    }

    /// The header's `jwk`.
    pub fn jwk(self, jwk: Value) -> Self {
        self.header("jwk", jwk)
    }

    /// The key's JWK with its private member in the header.
    pub fn private_jwk(self) -> Self {
        let jwk = self.key.private_jwk();
        self.jwk(jwk)
    }

    /// Another key's public JWK in the header (the proof is still signed by
    /// this builder's key).
    pub fn jwk_of(self, other: &DpopKey) -> Self {
        self.jwk(other.public_jwk())
    }

    /// Flip a bit of the signature once signed.
    pub fn corrupt_signature(mut self) -> Self {
        self.corrupt = true;
        self
    }

    /// The compact proof.
    ///
    /// # Panics
    /// If the header's `alg` is not a string, or an asymmetric one the key
    /// cannot sign with.
    pub fn sign(&self) -> String {
        let alg = match self.header.get("alg") {
            Some(Value::String(alg)) => alg.clone(),
            _ => panic!("DpopProof::sign: the header's alg is not a string"),
        };
        let encode = |map: &Map<String, Value>| {
            b64url(&serde_json::to_vec(map).expect("JSON object serialises"))
        };
        let input = format!("{}.{}", encode(&self.header), encode(&self.claims));
        let mut signature = match alg.as_str() {
            "none" => Vec::new(),
            hs if hs.starts_with("HS") => {
                let key = hmac::Key::new(hmac::HMAC_SHA256, self.key.thumbprint().as_bytes());
                hmac::sign(&key, input.as_bytes()).as_ref().to_vec()
            }
            alg => self.key.key.sign(alg, input.as_bytes()),
        };
        if self.corrupt {
            match signature.last_mut() {
                Some(last) => *last ^= 1,
                None => signature.push(0),
            }
        }
        format!("{input}.{}", b64url(&signature))
    }
}

impl TokenBuilder {
    /// Bind the token to a DPoP key: `cnf.jkt` is its thumbprint (other
    /// `cnf` members are kept).
    pub fn dpop_bound(self, key: &DpopKey) -> Self {
        self.confirmation("jkt", key.thumbprint())
    }

    /// Bind the token to a client certificate: `cnf["x5t#S256"]` is its
    /// thumbprint (other `cnf` members are kept).
    pub fn cert_bound(self, cert: &super::ClientCert) -> Self {
        self.confirmation("x5t#S256", cert.thumbprint())
    }

    /// Set one member of the `cnf` claim.
    pub fn confirmation(self, member: &str, value: impl Serialize) -> Self {
        let mut cnf = match self.claims().get("cnf") {
            Some(Value::Object(cnf)) => cnf.clone(),
            _ => Map::new(),
        };
        let value = serde_json::to_value(value).expect("value serialises to JSON");
        cnf.insert(member.to_owned(), value);
        self.claim("cnf", cnf)
    }
}
