//! The signature check itself, with each key parsed once.
//!
//! `jsonwebtoken::crypto::verify` rebuilds the backend's key from its bytes
//! on every call: for RSA that is a fresh Montgomery context from `n` and
//! `e`, for Ed25519 a point decompression, plus a boxed verifier and a copy
//! of the key. Those costs are per *key*, not per *token*. With the AWS-LC
//! backend (the default) a key is therefore parsed the first time it
//! serves an algorithm and the parsed key is kept with the key set, shared
//! by every copy of it; the check is AWS-LC's own, with the same algorithm
//! parameters jsonwebtoken uses (PKCS#1 v1.5 and PSS over 2048–8192-bit
//! moduli, fixed-length `r‖s` ECDSA, Ed25519). With only the RustCrypto
//! backend the check goes through jsonwebtoken as before. So under the
//! AWS-LC backend a jsonwebtoken `CryptoProvider` that the application
//! installs itself does not take part in fedauth's signature checks.
//!
//! The signature is decoded into a stack buffer: nothing is allocated per
//! request.

#[cfg(feature = "aws-lc-rs")]
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};

/// The longest signature any supported algorithm makes: RSA with an
/// 8192-bit modulus.
#[cfg(feature = "aws-lc-rs")]
const MAX_SIGNATURE_BYTES: usize = 1024;

/// A verification key in the form the backend checks signatures with.
#[derive(Clone)]
pub(crate) struct SignatureKey {
    decoding: DecodingKey,
    #[cfg(feature = "aws-lc-rs")]
    parsed: std::sync::Arc<parsed::Slots>,
}

impl SignatureKey {
    pub(crate) fn new(decoding: DecodingKey) -> Self {
        Self {
            decoding,
            #[cfg(feature = "aws-lc-rs")]
            parsed: Default::default(),
        }
    }

    /// The key as jsonwebtoken holds it.
    #[cfg(all(test, feature = "testkit"))]
    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// Whether `signature` (base64url, unpadded) is `alg`'s signature of
    /// `message` under this key. The caller has already checked that the
    /// key may serve `alg`.
    #[cfg(feature = "aws-lc-rs")]
    pub(crate) fn verifies(&self, alg: Algorithm, message: &[u8], signature: &str) -> bool {
        let mut buf = [0u8; MAX_SIGNATURE_BYTES];
        // A signature that does not fit is longer than any key here makes.
        if signature.len() > base64_len(MAX_SIGNATURE_BYTES) {
            return false;
        }
        let Ok(len) = URL_SAFE_NO_PAD.decode_slice(signature, &mut buf) else {
            return false;
        };
        self.parsed
            .get(alg, &self.decoding)
            .is_some_and(|key| key.verify_sig(message, &buf[..len]).is_ok())
    }

    /// The same through jsonwebtoken, for the RustCrypto backend.
    #[cfg(not(feature = "aws-lc-rs"))]
    pub(crate) fn verifies(&self, alg: Algorithm, message: &[u8], signature: &str) -> bool {
        crate::crypto::ensure_provider();
        jsonwebtoken::crypto::verify(signature, message, &self.decoding, alg).unwrap_or(false)
    }
}

/// Characters of unpadded base64 for `bytes` bytes.
#[cfg(feature = "aws-lc-rs")]
const fn base64_len(bytes: usize) -> usize {
    (bytes * 4).div_ceil(3)
}

#[cfg(feature = "aws-lc-rs")]
mod parsed {
    use std::sync::OnceLock;

    use aws_lc_rs::signature::{
        self as lc, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents, VerificationAlgorithm,
    };
    use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};

    /// What each supported algorithm is in AWS-LC's terms.
    enum Backend {
        Rsa(&'static RsaParameters),
        Other(&'static dyn VerificationAlgorithm),
    }

    /// Slot index and AWS-LC algorithm of a supported `alg`.
    fn backend(alg: Algorithm) -> Option<(usize, Backend)> {
        use Backend::*;
        Some(match alg {
            Algorithm::RS256 => (0, Rsa(&lc::RSA_PKCS1_2048_8192_SHA256)),
            Algorithm::RS384 => (1, Rsa(&lc::RSA_PKCS1_2048_8192_SHA384)),
            Algorithm::RS512 => (2, Rsa(&lc::RSA_PKCS1_2048_8192_SHA512)),
            Algorithm::PS256 => (3, Rsa(&lc::RSA_PSS_2048_8192_SHA256)),
            Algorithm::PS384 => (4, Rsa(&lc::RSA_PSS_2048_8192_SHA384)),
            Algorithm::PS512 => (5, Rsa(&lc::RSA_PSS_2048_8192_SHA512)),
            Algorithm::ES256 => (6, Other(&lc::ECDSA_P256_SHA256_FIXED)),
            Algorithm::ES384 => (7, Other(&lc::ECDSA_P384_SHA384_FIXED)),
            Algorithm::EdDSA => (8, Other(&lc::ED25519)),
            _ => return None,
        })
    }

    /// One parsed key per algorithm the key has served; `None` when the
    /// material does not parse for it (then nothing verifies).
    #[derive(Default)]
    pub(super) struct Slots([OnceLock<Option<ParsedPublicKey>>; 9]);

    impl Slots {
        pub(super) fn get(&self, alg: Algorithm, key: &DecodingKey) -> Option<&ParsedPublicKey> {
            let (slot, backend) = backend(alg)?;
            self.0[slot].get_or_init(|| parse(&backend, key)).as_ref()
        }
    }

    fn parse(backend: &Backend, key: &DecodingKey) -> Option<ParsedPublicKey> {
        let parsed = match (backend, key.kind()) {
            (Backend::Rsa(params), DecodingKeyKind::RsaModulusExponent { n, e }) => {
                RsaPublicKeyComponents { n, e }.to_parsed_public_key(params)
            }
            (Backend::Rsa(params), DecodingKeyKind::SecretOrDer(der)) => {
                ParsedPublicKey::new(*params, der)
            }
            (Backend::Other(alg), DecodingKeyKind::SecretOrDer(bytes)) => {
                ParsedPublicKey::new(*alg, bytes)
            }
            (Backend::Other(_), DecodingKeyKind::RsaModulusExponent { .. }) => return None,
        };
        match parsed {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                tracing::warn!(error = %e, "a key of the key set does not parse for its algorithm");
                None
            }
        }
    }
}
