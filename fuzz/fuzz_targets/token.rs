//! The token front: compact JWS parsing (header JSON, base64url, `crit`),
//! algorithm and key selection and the signature check
//! (`jws::verify_compact`), then the JWT reading of the payload and the
//! claim checks (`__fuzz_jwt_front`). Input: the token text.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tower_fedauth::jws::{Algorithm, verify_compact};
use tower_fedauth::keys::KeySet;
use tower_fedauth::registry::{RegistryFormat, parse_registry_str};
use tower_fedauth::{ErrorCode, Registration};

/// RSA, P-256, P-384 (restricted to ES384) and Ed25519 public keys; the
/// seeds in `fuzz/seeds/token` are signed with their private halves.
static KEYS: LazyLock<KeySet> = LazyLock::new(|| {
    KeySet::from_jwks_slice(include_bytes!("keys.json")).expect("the fuzz key set parses")
});

static REGISTRATION: LazyLock<Registration> = LazyLock::new(|| {
    let toml = "[[registrations]]\nid = \"fuzz\"\nprovider = \"jwks\"\nclient_id = \"app-1\"\n\
                issuer = \"https://idp.example\"\njwks_uri = \"https://idp.example/keys\"\n\
                algorithms = [\"RS256\", \"RS384\", \"RS512\", \"PS256\", \"PS384\", \"PS512\", \"ES256\", \"ES384\", \"EdDSA\"]\n";
    parse_registry_str(toml, RegistryFormat::Toml)
        .expect("the fuzz registration parses")
        .remove(0)
});

const ALL: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    match verify_compact(&KEYS, &ALL, token) {
        // Only a compact JWS signed by one of the keys verifies (HS* is in
        // `ALL` but never accepted: the set holds no symmetric key anyway).
        Ok(_) => assert_eq!(token.split('.').count(), 3),
        // The signature layer's refusals are these four codes, nothing else.
        Err(e) => assert!(
            matches!(
                e.code(),
                ErrorCode::MalformedToken
                    | ErrorCode::UnsupportedAlgorithm
                    | ErrorCode::UnknownKey
                    | ErrorCode::InvalidSignature
            ),
            "{e:?}"
        ),
    }
    let _ = tower_fedauth::jws::__fuzz_jwt_front(&REGISTRATION, token, 1_800_000_000);
});
