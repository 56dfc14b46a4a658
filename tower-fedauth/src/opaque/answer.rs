//! The verification-endpoint answer mapper as a public function, for fuzzing
//! and tools: the body of a 2xx answer in, the principal out, through the
//! registration's `response` templates — the code the request path runs on
//! an answer, without the HTTP call.

use serde_json::Value;

use super::verification;
use crate::context::Principal;
use crate::error::{AuthError, ErrorCode};
use crate::registration::{ProviderConfig, Registration};

/// Map the body of a verification endpoint's 2xx answer to the principal,
/// as a request would: the body must be a JSON object, and the
/// registration's `response` templates must resolve `uid`
/// (`invalid_claims` otherwise). A registration without a `verification`
/// table is `idp_unavailable`, as on the request path.
pub fn map_verification_answer(reg: &Registration, body: &[u8]) -> Result<Principal, AuthError> {
    let ProviderConfig::VerificationEndpoint(cfg) = &reg.provider else {
        return Err(AuthError::token(
            ErrorCode::IdpUnavailable,
            "the registration has no verification table",
        ));
    };
    let answer = match serde_json::from_slice::<Value>(body) {
        Ok(answer @ Value::Object(_)) => answer,
        Ok(_) => {
            return Err(AuthError::token(
                ErrorCode::InvalidClaims,
                "the verification answer is JSON but not an object",
            ));
        }
        Err(_) => {
            return Err(AuthError::token(
                ErrorCode::InvalidClaims,
                "the verification answer is not JSON",
            ));
        }
    };
    verification::principal(reg, cfg, &answer)
}
