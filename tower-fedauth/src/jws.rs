//! The signature layer alone: verify a compact JWS (RFC 7515 §7.1) whose
//! payload is anything, not only a JWT's JSON claims.
//!
//! [`verify_compact`] runs exactly the code the request path runs before it
//! reads a single claim — the same header parser (strict base64url, a JSON
//! object header with a string `alg`, unknown `crit` refused), the same
//! algorithm selection (`none` and `HS*` never accepted, then the
//! allowlist), the same key selection (`kid` rules, key type and the key's
//! own `alg`) and the same signature check — and stops there. It exists for
//! outside test vectors (Wycheproof's payloads are `"foo"`, not JWTs) and
//! for callers that sign something other than claims.
//!
//! Nothing is fetched: the key set is given. There is no size limit here;
//! the request path bounds tokens before they get this far.

pub use jsonwebtoken::Algorithm;

use crate::error::AuthError;
use crate::keys::KeySet;
use crate::token::JwsParts;
use crate::verify::{self, KeyChoice};

/// Verify a compact JWS with one of `keys`, the algorithm limited to
/// `allowed`, and return the payload bytes.
///
/// Refusals carry the authenticator's codes: `malformed_token` (structure,
/// base64url, header JSON, `crit`), `unsupported_algorithm` (`none`,
/// `HS*`, not in `allowed`, or not fitting the key's type or `alg`),
/// `unknown_key` (no key with the `kid`; no `kid` and several candidate
/// keys) and `invalid_signature`.
///
/// ```
/// use tower_fedauth::jws::{Algorithm, verify_compact};
/// use tower_fedauth::keys::KeySet;
/// use tower_fedauth::ErrorCode;
///
/// let keys = KeySet::from_jwks_slice(br#"{"keys":[]}"#).unwrap();
/// let err = verify_compact(&keys, &[Algorithm::RS256], "eyJhbGciOiJub25lIn0.Zm9v.")
///     .unwrap_err();
/// assert_eq!(err.code(), ErrorCode::UnsupportedAlgorithm);
/// ```
pub fn verify_compact(
    keys: &KeySet,
    allowed: &[Algorithm],
    compact: &str,
) -> Result<Vec<u8>, AuthError> {
    crate::crypto::ensure_provider();
    let jws = JwsParts::parse(compact)?;
    let alg = verify::select_algorithm_in(allowed, &jws.header)?;
    let kid = jws.header.kid.as_deref();
    let key = match verify::select_key(keys, kid, alg) {
        KeyChoice::Found(key) => key,
        other => return Err(verify::key_refusal(&other, kid, alg)),
    };
    verify::verify_signature(key, alg, jws.signing_input, jws.signature)?;
    Ok(jws.payload)
}

/// Not an API: the JWT front of the request path for fuzzing and property
/// tests — parse (JSON-object payload), algorithm selection for `reg`, then
/// the very claim checks the request path runs after a signature
/// (`ProviderRules::check_verified`: token kind, issuer, audience, time,
/// the provider's and the registration's claim rules) and the claim
/// wrappers, here on claims whose signature was NOT verified, so that no
/// input can make them panic. Never use it to accept a token.
#[doc(hidden)]
pub fn __fuzz_jwt_front(
    reg: &crate::registration::Registration,
    token: &str,
    now: i64,
) -> Result<(), AuthError> {
    let token = crate::token::UnverifiedToken::parse(token)?;
    verify::select_algorithm(reg, &token.header)?;
    let (header, claims) = token.into_verified();
    let checks =
        crate::providers::ProviderRules::new(reg).check_verified(None, &header, &claims, now);
    let wrapped = crate::claims::Claims::from_map(claims);
    let _ = wrapped.deserialize::<crate::claims::StandardClaims>();
    checks
}
