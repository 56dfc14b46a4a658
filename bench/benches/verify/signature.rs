//! The signature check alone, on each crypto backend in reach: what no
//! layer can go below (`s_*`), and so what a change of backend would move.
//!
//! - AWS-LC with the key parsed once: what fedauth does (default backend);
//! - *ring*, building the key from its components on every check: what
//!   jwt-authorizer does (through jsonwebtoken 9), so `s_ring / d` is the
//!   signature's share of (d);
//! - RustCrypto's `p256` with a prebuilt key (ES256 only): the backend of
//!   fedauth's `rust-crypto` feature, for the one algorithm whose target
//!   (b/d ≤ 0.8) AWS-LC cannot reach.

use std::hint::black_box;

use aws_lc_rs::signature::{self as lc, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fedauth_bench::Alg;
use p256::ecdsa::signature::Verifier as _;
use ring::signature::{self as ring_sig, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::Value;

/// One token's signing input and decoded signature.
pub struct Signed {
    message: Vec<u8>,
    signature: Vec<u8>,
}

impl Signed {
    pub fn new(token: &str) -> Self {
        let (message, signature) = token.rsplit_once('.').expect("a JWS has a signature");
        Self {
            message: message.as_bytes().to_vec(),
            signature: URL_SAFE_NO_PAD
                .decode(signature)
                .expect("the signature is base64url"),
        }
    }
}

/// A public key's material as a JWK carries it (base64url members).
fn member(jwk: &Value, name: &str) -> Vec<u8> {
    let text = jwk[name].as_str().expect("the JWK has the member");
    URL_SAFE_NO_PAD.decode(text).expect("base64url member")
}

/// The uncompressed SEC1 point of a P-256 JWK.
fn ec_point(jwk: &Value) -> Vec<u8> {
    [vec![4u8], member(jwk, "x"), member(jwk, "y")].concat()
}

/// AWS-LC, key parsed once (as fedauth's `keys::signature`).
pub struct AwsLc(ParsedPublicKey);

impl AwsLc {
    pub fn new(alg: Alg, spki_der: &[u8]) -> Self {
        let algorithm: &'static dyn lc::VerificationAlgorithm = match alg {
            Alg::Rs256 => &lc::RSA_PKCS1_2048_8192_SHA256,
            Alg::Ps256 => &lc::RSA_PSS_2048_8192_SHA256,
            Alg::Es256 => &lc::ECDSA_P256_SHA256_FIXED,
            Alg::EdDsa => &lc::ED25519,
        };
        Self(ParsedPublicKey::new(algorithm, spki_der).expect("the public key parses"))
    }

    pub fn verify(&self, signed: &Signed) -> bool {
        self.0
            .verify_sig(black_box(&signed.message), black_box(&signed.signature))
            .is_ok()
    }
}

/// *ring*, key built from its bytes on every check (as jsonwebtoken 9).
pub enum Ring {
    Rsa {
        params: &'static ring_sig::RsaParameters,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Other {
        algorithm: &'static dyn ring_sig::VerificationAlgorithm,
        bytes: Vec<u8>,
    },
}

impl Ring {
    pub fn new(alg: Alg, jwk: &Value) -> Self {
        let rsa = |params| Self::Rsa {
            params,
            n: member(jwk, "n"),
            e: member(jwk, "e"),
        };
        match alg {
            Alg::Rs256 => rsa(&ring_sig::RSA_PKCS1_2048_8192_SHA256),
            Alg::Ps256 => rsa(&ring_sig::RSA_PSS_2048_8192_SHA256),
            Alg::Es256 => Self::Other {
                algorithm: &ring_sig::ECDSA_P256_SHA256_FIXED,
                bytes: ec_point(jwk),
            },
            Alg::EdDsa => Self::Other {
                algorithm: &ring_sig::ED25519,
                bytes: member(jwk, "x"),
            },
        }
    }

    pub fn verify(&self, signed: &Signed) -> bool {
        let (message, signature) = (black_box(&signed.message), black_box(&signed.signature));
        match self {
            Self::Rsa { params, n, e } => RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok(),
            Self::Other { algorithm, bytes } => UnparsedPublicKey::new(*algorithm, bytes)
                .verify(message, signature)
                .is_ok(),
        }
    }
}

/// RustCrypto's P-256, key prebuilt.
pub struct RustCryptoP256(p256::ecdsa::VerifyingKey);

impl RustCryptoP256 {
    pub fn new(jwk: &Value) -> Self {
        Self(
            p256::ecdsa::VerifyingKey::from_sec1_bytes(&ec_point(jwk))
                .expect("the P-256 point parses"),
        )
    }

    pub fn verify(&self, signed: &Signed) -> bool {
        p256::ecdsa::Signature::from_slice(black_box(&signed.signature))
            .is_ok_and(|sig| self.0.verify(black_box(&signed.message), &sig).is_ok())
    }
}
