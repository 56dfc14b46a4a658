//! OAuth scopes: what the token's `scope` and `scp` claims grant, and the
//! 403 `insufficient_scope` refusal of a route whose scope they do not.
//!
//! Both claims are read alike, as IdPs use them: a string is a
//! space-separated list (RFC 8693 `scope`; Entra ID's `scp`), an array a
//! list of strings (Okta's `scp`). A scope is granted when either claim
//! lists it. The refusal names the claims and the required scope, never
//! what the token holds.

use serde_json::Value;

use crate::claims::Claims;
use crate::error::{AuthError, Challenge, ErrorCode};

/// The claims that grant scopes, in the order the refusal names them.
const CLAIMS: [&str; 2] = ["scope", "scp"];

/// Whether one claim's value lists `scope`. Runs of spaces (or any ASCII
/// white space) separate a string's scopes; an array's items that are not
/// strings are skipped; any other value grants nothing.
pub(super) fn lists(value: &Value, scope: &str) -> bool {
    if scope.is_empty() {
        return false;
    }
    match value {
        Value::String(list) => list.split_ascii_whitespace().any(|s| s == scope),
        Value::Array(items) => items.iter().any(|item| item.as_str() == Some(scope)),
        _ => false,
    }
}

/// `Ok` when `claims` grant `scope`; otherwise 403 `insufficient_scope`
/// with `scope="…"` in the challenge. An empty scope is never granted.
pub(super) fn check(claims: &Claims, scope: &str) -> Result<(), AuthError> {
    let present: Vec<&str> = CLAIMS
        .into_iter()
        .filter(|name| claims.get(name).is_some())
        .collect();
    if present
        .iter()
        .any(|name| claims.get(name).is_some_and(|v| lists(v, scope)))
    {
        return Ok(());
    }
    let detail = match present.as_slice() {
        [] => format!(
            "the route requires the scope `{scope}`, and the token has neither a `scope` nor an `scp` claim"
        ),
        [one] => format!(
            "the route requires the scope `{scope}`, which the token's `{one}` claim does not grant"
        ),
        _ => format!(
            "the route requires the scope `{scope}`, which the token's `scope` and `scp` claims do not grant"
        ),
    };
    let challenge = Challenge {
        scope: Some(scope.to_owned()),
        ..Challenge::default()
    };
    Err(
        AuthError::at(ErrorCode::InsufficientScope, detail, "scope", "route")
            .with_value(scope)
            .with_challenge(challenge),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::tests::claims;
    use serde_json::json;

    #[test]
    fn a_string_is_a_list_separated_by_runs_of_white_space() {
        let list = json!("  read   write\tadmin:all\n");
        for granted in ["read", "write", "admin:all"] {
            assert!(lists(&list, granted), "{granted}");
        }
        for refused in ["", " ", "rea", "read write", "admin", "all", "Read"] {
            assert!(!lists(&list, refused), "{refused:?}");
        }
        assert!(!lists(&json!(""), "read"));
        assert!(!lists(&json!("   "), ""));
    }

    #[test]
    fn an_array_lists_its_strings_and_skips_everything_else() {
        let list = json!([1, null, "read", ["write"], {"write": true}, "a b", true]);
        assert!(lists(&list, "read"));
        assert!(lists(&list, "a b"), "an item is one scope, not split");
        for refused in ["write", "1", "true", "a", "b"] {
            assert!(!lists(&list, refused), "{refused}");
        }
        assert!(!lists(&json!([""]), ""), "the empty scope is never granted");
        assert!(!lists(&json!([]), "read"));
    }

    #[test]
    fn other_values_grant_nothing() {
        for value in [json!(null), json!(true), json!(7), json!({"read": true})] {
            assert!(!lists(&value, "read"), "{value}");
        }
    }

    #[test]
    fn either_claim_grants_and_the_refusal_names_the_claims_not_their_values() {
        let both = claims(json!({"scope": "openid secret-scope", "scp": ["read"]}));
        assert!(check(&both, "read").is_ok());
        assert!(check(&both, "openid").is_ok());
        for (claims, detail) in [
            (
                both,
                "the route requires the scope `write`, which the token's `scope` and `scp` claims do not grant",
            ),
            (
                claims(json!({"scp": "secret-scope"})),
                "the route requires the scope `write`, which the token's `scp` claim does not grant",
            ),
            (
                claims(json!({"scope": 42})),
                "the route requires the scope `write`, which the token's `scope` claim does not grant",
            ),
            (
                claims(json!({"sub": "alice"})),
                "the route requires the scope `write`, and the token has neither a `scope` nor an `scp` claim",
            ),
        ] {
            let error = check(&claims, "write").unwrap_err();
            assert_eq!(error.code(), ErrorCode::InsufficientScope);
            assert_eq!(error.detail(), detail);
            assert!(!error.detail().contains("secret"), "{}", error.detail());
            assert_eq!(error.value(), Some("write"));
            assert_eq!(
                (
                    error.source_param().param.as_ref(),
                    error.source_param().location
                ),
                ("scope", "route")
            );
            let challenge = error.challenge().unwrap();
            assert_eq!(challenge.scope.as_deref(), Some("write"));
            assert_eq!((&challenge.acr_values, challenge.max_age), (&None, None));
        }
    }
}
