//! Real signing keys for tests: generation, public JWKs, SPKI DER/PEM and raw signing.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{self, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaEncoding};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

/// The kind of asymmetric key a [`TestKey`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// RSA with a 2048-bit modulus (RS256/384/512, PS256/384/512).
    Rsa2048,
    /// ECDSA on NIST P-256 (ES256).
    EcP256,
    /// ECDSA on NIST P-384 (ES384).
    EcP384,
    /// Ed25519 (EdDSA).
    Ed25519,
}

impl KeyKind {
    /// The JWS algorithm this kind of key signs with by default.
    pub fn default_alg(self) -> &'static str {
        match self {
            KeyKind::Rsa2048 => "RS256",
            KeyKind::EcP256 => "ES256",
            KeyKind::EcP384 => "ES384",
            KeyKind::Ed25519 => "EdDSA",
        }
    }
}

enum Material {
    Rsa(rsa::KeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

struct Inner {
    kid: String,
    kind: KeyKind,
    material: Material,
}

/// A freshly generated key pair with a key id, for signing test tokens.
///
/// Cloning is cheap (the key is shared behind an `Arc`). The `Debug` output
/// never shows private key material.
#[derive(Clone)]
pub struct TestKey {
    inner: Arc<Inner>,
}

impl fmt::Debug for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.inner.kid)
            .field("kind", &self.inner.kind)
            .finish_non_exhaustive()
    }
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TestKey {
    /// Generates a new key of the given kind with the given key id (`kid`).
    ///
    /// # Panics
    /// If the crypto library fails to generate a key (should never happen).
    pub fn generate(kind: KeyKind, kid: impl Into<String>) -> TestKey {
        let material = match kind {
            KeyKind::Rsa2048 => Material::Rsa(
                rsa::KeyPair::generate(KeySize::Rsa2048).expect("generate RSA-2048 key"),
            ),
            KeyKind::EcP256 => Material::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .expect("generate P-256 key"),
            ),
            KeyKind::EcP384 => Material::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING)
                    .expect("generate P-384 key"),
            ),
            KeyKind::Ed25519 => {
                Material::Ed(Ed25519KeyPair::generate().expect("generate Ed25519 key"))
            }
        };
        TestKey {
            inner: Arc::new(Inner {
                kid: kid.into(),
                kind,
                material,
            }),
        }
    }

    /// Generates an RSA-2048 key (default algorithm RS256).
    pub fn rsa(kid: impl Into<String>) -> TestKey {
        Self::generate(KeyKind::Rsa2048, kid)
    }

    /// Generates an ECDSA P-256 key (default algorithm ES256).
    pub fn ec_p256(kid: impl Into<String>) -> TestKey {
        Self::generate(KeyKind::EcP256, kid)
    }

    /// Generates an ECDSA P-384 key (default algorithm ES384).
    pub fn ec_p384(kid: impl Into<String>) -> TestKey {
        Self::generate(KeyKind::EcP384, kid)
    }

    /// Generates an Ed25519 key (algorithm EdDSA).
    pub fn ed25519(kid: impl Into<String>) -> TestKey {
        Self::generate(KeyKind::Ed25519, kid)
    }

    /// The key id (`kid`) of this key.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// The kind of this key.
    pub fn kind(&self) -> KeyKind {
        self.inner.kind
    }

    /// The default JWS algorithm: `"RS256"`, `"ES256"`, `"ES384"` or `"EdDSA"`.
    pub fn default_alg(&self) -> &'static str {
        self.inner.kind.default_alg()
    }

    /// The public key as a JWK with `"use":"sig"` and `"alg"` = [`Self::default_alg`].
    pub fn public_jwk(&self) -> Value {
        self.public_jwk_with_alg(Some(self.default_alg()))
    }

    /// The public key as a JWK; `alg` `None` omits the `"alg"` member.
    pub fn public_jwk_with_alg(&self, alg: Option<&str>) -> Value {
        let mut jwk = Map::new();
        match &self.inner.material {
            Material::Rsa(kp) => {
                let pk = kp.public_key();
                jwk.insert("kty".into(), json!("RSA"));
                jwk.insert(
                    "n".into(),
                    json!(b64url(pk.modulus().big_endian_without_leading_zero())),
                );
                jwk.insert(
                    "e".into(),
                    json!(b64url(pk.exponent().big_endian_without_leading_zero())),
                );
            }
            Material::Ec(kp) => {
                let point = kp.public_key().as_ref();
                let (crv, len) = match self.inner.kind {
                    KeyKind::EcP384 => ("P-384", 48),
                    _ => ("P-256", 32),
                };
                debug_assert_eq!(point.len(), 1 + 2 * len);
                debug_assert_eq!(point[0], 0x04);
                jwk.insert("kty".into(), json!("EC"));
                jwk.insert("crv".into(), json!(crv));
                jwk.insert("x".into(), json!(b64url(&point[1..=len])));
                jwk.insert("y".into(), json!(b64url(&point[1 + len..])));
            }
            Material::Ed(kp) => {
                jwk.insert("kty".into(), json!("OKP"));
                jwk.insert("crv".into(), json!("Ed25519"));
                jwk.insert("x".into(), json!(b64url(kp.public_key().as_ref())));
            }
        }
        jwk.insert("kid".into(), json!(self.inner.kid));
        jwk.insert("use".into(), json!("sig"));
        if let Some(alg) = alg {
            jwk.insert("alg".into(), json!(alg));
        }
        Value::Object(jwk)
    }

    /// The private key's secret bytes as a JWK's `d` holds them: the EC
    /// scalar, or the Ed25519 seed.
    ///
    /// # Panics
    /// For an RSA key (its private exponent is not exported).
    pub fn private_scalar(&self) -> Vec<u8> {
        match &self.inner.material {
            Material::Ec(kp) => kp
                .private_key()
                .as_be_bytes()
                .expect("EC scalar")
                .as_ref()
                .to_vec(),
            Material::Ed(kp) => kp
                .seed()
                .and_then(|seed| seed.as_be_bytes())
                .expect("Ed25519 seed")
                .as_ref()
                .to_vec(),
            Material::Rsa(_) => panic!(
                "TestKey {:?}: an RSA private key is not exported",
                self.kid()
            ),
        }
    }

    /// The public key as DER-encoded `SubjectPublicKeyInfo`.
    ///
    /// # Panics
    /// If the crypto library fails to serialise the key (should never happen).
    pub fn public_key_der(&self) -> Vec<u8> {
        let der = match &self.inner.material {
            Material::Rsa(kp) => kp.public_key().as_der(),
            Material::Ec(kp) => kp.public_key().as_der(),
            Material::Ed(kp) => kp.public_key().as_der(),
        }
        .expect("serialise public key");
        der.as_ref().to_vec()
    }

    /// The public key as a `-----BEGIN PUBLIC KEY-----` PEM (SPKI).
    pub fn public_key_pem(&self) -> String {
        let b64 = STANDARD.encode(self.public_key_der());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            // base64 output is ASCII, so every chunk is valid UTF-8.
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// Signs `signing_input` with the JWS algorithm `alg` and returns the raw
    /// signature (ECDSA signatures are fixed-size `r||s`).
    ///
    /// # Panics
    /// If `alg` does not fit this key (for example `ES256` on an RSA key), or
    /// if signing fails. This is test code: a panic is the clearest failure.
    pub fn sign(&self, alg: &str, signing_input: &[u8]) -> Vec<u8> {
        match (&self.inner.material, self.inner.kind, alg) {
            (Material::Rsa(kp), _, _) => {
                let padding: &'static dyn RsaEncoding = match alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    "PS512" => &signature::RSA_PSS_SHA512,
                    other => panic!("TestKey {:?}: RSA key cannot sign {other:?}", self.kid()),
                };
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(padding, &SystemRandom::new(), signing_input, &mut sig)
                    .expect("RSA signing");
                sig
            }
            (Material::Ec(kp), KeyKind::EcP256, "ES256")
            | (Material::Ec(kp), KeyKind::EcP384, "ES384") => kp
                .sign(&SystemRandom::new(), signing_input)
                .expect("ECDSA signing")
                .as_ref()
                .to_vec(),
            (Material::Ed(kp), _, "EdDSA") => kp.sign(signing_input).as_ref().to_vec(),
            (_, kind, other) => panic!(
                "TestKey {:?}: a {kind:?} key cannot sign {other:?}",
                self.kid()
            ),
        }
    }
}

/// A JWK Set `{"keys":[...]}` of the public JWKs of `keys`.
pub fn jwks(keys: &[TestKey]) -> Value {
    json!({ "keys": keys.iter().map(TestKey::public_jwk).collect::<Vec<_>>() })
}
