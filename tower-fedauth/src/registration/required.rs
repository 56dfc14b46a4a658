//! `required_claims`: claims a token must carry with one of the listed
//! values (`docs/registry.md` in the repository). They narrow who may call
//! (an `email_verified = true`, a tenant among a few) and never grant a
//! platform role.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use super::field::{Ctx, RegistrationError, shown};
use crate::error::{AuthError, ErrorCode};
use crate::verify::Printable;

/// The `required_claims` of a registration: claim name → the values it
/// may have (a scalar in the registry is a list of one). Empty: no rule.
///
/// A claim passes when it equals one of the values, JSON type included
/// (`true` is not `"true"`, `1` is not `"1"`; numbers compare by value, so
/// `1` is `1.0`), or when it is an array holding one of them. Missing, or
/// anything else, is `invalid_claims` naming the claim, never its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequiredClaims(BTreeMap<String, Vec<Value>>);

impl RequiredClaims {
    /// No rule.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values one claim may have, if it is required.
    pub fn get(&self, claim: &str) -> Option<&[Value]> {
        self.0.get(claim).map(Vec::as_slice)
    }

    /// Every required claim with its values, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Value])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The Claims step: every required claim is present with an accepted
    /// value, else `invalid_claims` naming the first that is not.
    pub(crate) fn check(&self, claims: &Map<String, Value>) -> Result<(), AuthError> {
        for (name, accepted) in &self.0 {
            let refuse = |why: &str| {
                AuthError::token(
                    ErrorCode::InvalidClaims,
                    format!("the required claim `{}` {why}", Printable(name, 128)),
                )
            };
            match claims.get(name) {
                None => return Err(refuse("is missing")),
                Some(value) if passes(value, accepted) => {}
                Some(_) => return Err(refuse("does not have a required value")),
            }
        }
        Ok(())
    }
}

/// A claim value against the accepted ones: equal to one, or an array
/// holding one.
fn passes(value: &Value, accepted: &[Value]) -> bool {
    let equal = |v: &Value| accepted.iter().any(|a| same(v, a));
    match value {
        Value::Array(items) => items.iter().any(equal),
        scalar => equal(scalar),
    }
}

/// Equal with the JSON type: strings and booleans exactly, numbers by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => same_number(x, y),
        (Value::String(_) | Value::Bool(_), _) => a == b,
        _ => false,
    }
}

fn same_number(x: &Number, y: &Number) -> bool {
    match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
        (Some(x), Some(y), _, _) => x == y,
        (_, _, Some(x), Some(y)) => x == y,
        _ => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// `required_claims`: a table of claim name → a string, number or boolean,
/// or a non-empty list of them. A nested table, a list in a list, or a
/// JSON `null` is refused naming `required_claims.<claim>`; so is an empty
/// table (omit the key instead).
pub(super) fn required_claims(
    cx: &Ctx,
    table: Option<&Map<String, Value>>,
) -> Result<RequiredClaims, RegistrationError> {
    const FIELD: &str = "required_claims";
    let Some(table) = table else {
        return Ok(RequiredClaims::default());
    };
    if table.is_empty() {
        return Err(cx.err(
            FIELD,
            "must not be empty (omit the key to require no claim)",
        ));
    }
    let mut out = BTreeMap::new();
    for (name, value) in table {
        cx.text(FIELD, name)
            .map_err(|e| cx.err(FIELD, format!("claim name {}", e.message)))?;
        let field = format!("{FIELD}.{}", shown(name));
        let values = match value {
            Value::Array(items) if items.is_empty() => {
                return Err(cx.err(&field, "must not be an empty list (no token could pass)"));
            }
            Value::Array(items) => items.clone(),
            scalar => vec![scalar.clone()],
        };
        if let Some(bad) = values.iter().find(|v| !is_scalar(v)) {
            return Err(cx.err(
                &field,
                format!(
                    "must be a string, number or boolean, or a list of them, not {}",
                    kind(bad)
                ),
            ));
        }
        let mut unique: Vec<Value> = Vec::with_capacity(values.len());
        for v in values {
            if !unique.iter().any(|u| same(u, &v)) {
                unique.push(v);
            }
        }
        out.insert(name.clone(), unique);
    }
    Ok(RequiredClaims(out))
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// What a refused value is, for the message (never the value itself).
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Array(_) => "a list inside the list",
        Value::Object(_) => "a table",
        _ => "a scalar",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(table: Value) -> Result<RequiredClaims, RegistrationError> {
        required_claims(&Ctx::new(Some("quid")), table.as_object())
    }

    fn detail(rules: &RequiredClaims, claims: Value) -> Option<String> {
        rules
            .check(claims.as_object().unwrap())
            .err()
            .inspect(|e| assert_eq!(e.code(), ErrorCode::InvalidClaims))
            .map(|e| e.detail().to_owned())
    }

    #[test]
    fn matchers() {
        let r = rules(json!({
            "email_verified": true,
            "tid": ["t1", "t2"],
            "level": 2,
            "groups": ["g1", "g2"],
        }))
        .unwrap();
        let ok = json!({"email_verified": true, "tid": "t2", "level": 2.0, "groups": ["x", "g2"]});
        assert_eq!(detail(&r, ok.clone()), None);
        let with = |name: &str, value: Value| {
            let mut claims = ok.clone();
            claims[name] = value;
            detail(&r, claims)
        };
        let wrong = |name: &str| {
            Some(format!(
                "the required claim `{name}` does not have a required value"
            ))
        };
        assert_eq!(
            with("email_verified", json!("true")),
            wrong("email_verified")
        );
        assert_eq!(
            with("email_verified", json!(false)),
            wrong("email_verified")
        );
        assert_eq!(with("level", json!("2")), wrong("level"));
        assert_eq!(with("level", json!(3)), wrong("level"));
        assert_eq!(with("tid", json!("t3")), wrong("tid"));
        assert_eq!(with("tid", json!(["t3", "t1"])), None);
        assert_eq!(with("groups", json!("g1")), None);
        assert_eq!(with("groups", json!([])), wrong("groups"));
        assert_eq!(with("groups", json!({"g1": true})), wrong("groups"));
        assert_eq!(with("groups", json!(null)), wrong("groups"));
        let mut missing = ok.clone();
        missing.as_object_mut().unwrap().remove("tid");
        assert_eq!(
            detail(&r, missing).as_deref(),
            Some("the required claim `tid` is missing")
        );
        assert_eq!(detail(&RequiredClaims::default(), json!({})), None);
    }

    #[test]
    fn load_rules_name_the_claim() {
        let field = |table: Value| rules(table).unwrap_err().field;
        assert_eq!(field(json!({})), "required_claims");
        assert_eq!(field(json!({"tid": []})), "required_claims.tid");
        assert_eq!(field(json!({"tid": {"a": 1}})), "required_claims.tid");
        assert_eq!(field(json!({"tid": [["a"]]})), "required_claims.tid");
        assert_eq!(field(json!({"tid": null})), "required_claims.tid");
        assert_eq!(field(json!({" tid": "a"})), "required_claims");
        let table = rules(json!({"tid": {"a": 1}})).unwrap_err().message;
        assert!(table.contains("not a table"), "{table}");
        let r = rules(json!({"n": [1, 1.0, "1"]})).unwrap();
        assert_eq!(r.get("n").unwrap(), [json!(1), json!("1")]);
        assert_eq!(r.get("m"), None);
    }
}
