//! Step-up authentication (RFC 9470): the token's `acr` among the values a
//! route accepts, its `auth_time` recent enough, and the 401
//! `insufficient_user_authentication` refusal whose challenge tells the
//! client what to ask its IdP for (`acr_values`, `max_age`).
//!
//! The refusal names the claim that fell short and the route's rule, never
//! the token's `acr` or `auth_time`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::claims::{Claims, as_numeric_date};
use crate::error::{AuthError, Challenge, ErrorCode};

/// A step-up rule: accepted `acr` values (none: any) and the largest age
/// of the authentication in seconds (none: any).
#[derive(Clone)]
pub(super) struct StepUp {
    acr: Values,
    max_age: Option<u64>,
}

/// The accepted `acr` values: borrowed when known at compile time.
#[derive(Clone)]
enum Values {
    Static(&'static [&'static str]),
    Shared(Arc<[Box<str>]>),
}

impl StepUp {
    /// The rule of [`Requirement::step_up`](super::Requirement::step_up).
    pub(super) fn new<A: AsRef<str>>(acr: &[A], max_age: Option<Duration>) -> Self {
        let acr = acr
            .iter()
            .map(AsRef::as_ref)
            .filter(|v| !v.is_empty())
            .map(Box::from)
            .collect();
        Self {
            acr: Values::Shared(acr),
            max_age: max_age.map(|age| age.as_secs()),
        }
    }

    /// The rule of a `StepUpPolicy`, without allocating.
    pub(super) const fn of(acr: &'static [&'static str], max_age: Option<Duration>) -> Self {
        let max_age = match max_age {
            Some(age) => Some(age.as_secs()),
            None => None,
        };
        Self {
            acr: Values::Static(acr),
            max_age,
        }
    }

    /// The accepted `acr` values, empty ones skipped.
    fn acr(&self) -> impl Iterator<Item = &str> {
        let (borrowed, shared): (&[&str], &[Box<str>]) = match &self.acr {
            Values::Static(values) => (values, &[]),
            Values::Shared(values) => (&[], values),
        };
        let shared = shared.iter().map(|v| &**v);
        borrowed
            .iter()
            .copied()
            .chain(shared)
            .filter(|v| !v.is_empty())
    }

    /// `Ok` when `claims` meet the rule at `now` (seconds since the
    /// epoch); otherwise 401 `insufficient_user_authentication`. `acr` is
    /// checked first.
    pub(super) fn check(&self, claims: &Claims, now: i64) -> Result<(), AuthError> {
        if self.acr().next().is_some() {
            let accepted = self.acr().map(|v| format!("`{v}`")).collect::<Vec<_>>();
            let accepted = accepted.join(", ");
            match claims.get("acr") {
                None => {
                    return Err(self.refusal(
                        "acr",
                        format!(
                            "the route accepts only the `acr` values {accepted}, and the token has no `acr` claim"
                        ),
                    ));
                }
                Some(acr) => match acr.as_str() {
                    Some(acr) if self.acr().any(|v| v == acr) => {}
                    Some(_) => {
                        return Err(self.refusal(
                            "acr",
                            format!(
                                "the token's `acr` is not one of the values the route accepts: {accepted}"
                            ),
                        ));
                    }
                    None => {
                        return Err(
                            self.refusal("acr", "the token's `acr` claim is not a string".into())
                        );
                    }
                },
            }
        }
        let Some(max_age) = self.max_age else {
            return Ok(());
        };
        let within = format!("at most {max_age} seconds ago");
        let auth_time = match claims.get("auth_time") {
            None => {
                return Err(self.refusal(
                    "max_age",
                    format!(
                        "the route requires an authentication {within}, and the token has no `auth_time` claim"
                    ),
                ));
            }
            Some(value) => as_numeric_date(value).ok_or_else(|| {
                self.refusal(
                    "max_age",
                    "the token's `auth_time` claim is not a number".into(),
                )
            })?,
        };
        // An authentication ahead of the clock is as recent as can be.
        let age = u64::try_from(now.saturating_sub(auth_time)).unwrap_or(0);
        if age > max_age {
            return Err(self.refusal(
                "max_age",
                format!("the route requires an authentication {within}, and the token's `auth_time` is older"),
            ));
        }
        Ok(())
    }

    /// The refusal, with the whole rule in its challenge: a client that
    /// steps up for one part must not fail the other next.
    fn refusal(&self, param: &'static str, detail: String) -> AuthError {
        let acr = self.acr().collect::<Vec<_>>();
        let challenge = Challenge {
            acr_values: (!acr.is_empty()).then(|| acr.join(" ")),
            max_age: self.max_age,
            ..Challenge::default()
        };
        AuthError::at(
            ErrorCode::InsufficientUserAuthentication,
            detail,
            param,
            "route",
        )
        .with_challenge(challenge)
    }
}

impl PartialEq for StepUp {
    fn eq(&self, other: &Self) -> bool {
        self.max_age == other.max_age && self.acr().eq(other.acr())
    }
}

impl Eq for StepUp {}

impl fmt::Debug for StepUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepUp")
            .field("acr", &self.acr().collect::<Vec<_>>())
            .field("max_age", &self.max_age)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::tests::claims;
    use serde_json::{Value, json};

    const NOW: i64 = 1_800_000_000;

    /// The refusal's detail, param and challenge (`acr_values`, `max_age`),
    /// or `None` when the claims pass.
    fn refusal(
        rule: &StepUp,
        value: Value,
    ) -> Option<(String, String, Option<String>, Option<u64>)> {
        let error = rule.check(&claims(value), NOW).err()?;
        assert_eq!(error.code(), ErrorCode::InsufficientUserAuthentication);
        assert_eq!(error.source_param().location, "route");
        assert_eq!(error.value(), None);
        let challenge = error.challenge().unwrap();
        assert_eq!(challenge.scope, None);
        Some((
            error.detail().to_owned(),
            error.source_param().param.to_string(),
            challenge.acr_values.clone(),
            challenge.max_age,
        ))
    }

    #[test]
    fn acr_must_be_one_of_the_listed_values() {
        let rule = StepUp::new(&["urn:mfa", "", "urn:hwk"], None);
        let acr_values = Some("urn:mfa urn:hwk".to_owned());
        assert_eq!(refusal(&rule, json!({"acr": "urn:mfa"})), None);
        assert_eq!(
            refusal(&rule, json!({"acr": "urn:hwk", "auth_time": "x"})),
            None
        );
        let not_listed =
            "the token's `acr` is not one of the values the route accepts: `urn:mfa`, `urn:hwk`";
        for acr in [json!("urn:pwd-secret"), json!(""), json!("URN:MFA")] {
            assert_eq!(
                refusal(&rule, json!({"acr": acr})),
                Some((not_listed.into(), "acr".into(), acr_values.clone(), None))
            );
        }
        assert_eq!(
            refusal(&rule, json!({"sub": "alice"})),
            Some((
                "the route accepts only the `acr` values `urn:mfa`, `urn:hwk`, and the token has no `acr` claim".into(),
                "acr".into(),
                acr_values.clone(),
                None
            ))
        );
        for acr in [json!(["urn:mfa"]), json!(2), json!(null)] {
            assert_eq!(
                refusal(&rule, json!({"acr": acr})),
                Some((
                    "the token's `acr` claim is not a string".into(),
                    "acr".into(),
                    acr_values.clone(),
                    None
                ))
            );
        }
    }

    #[test]
    fn auth_time_must_be_at_most_max_age_ago_without_leeway() {
        let rule = StepUp::new::<&str>(&[], Some(Duration::from_millis(300_999)));
        assert_eq!(
            rule.max_age,
            Some(300),
            "whole seconds, the fraction dropped"
        );
        for recent in [NOW, NOW - 300, NOW + 3600] {
            assert_eq!(
                refusal(&rule, json!({"auth_time": recent})),
                None,
                "{recent}"
            );
        }
        assert_eq!(
            refusal(&rule, json!({"auth_time": (NOW - 10) as f64 + 0.5})),
            None
        );
        let too_old = (
            "the route requires an authentication at most 300 seconds ago, and the token's `auth_time` is older".to_owned(),
            "max_age".to_owned(),
            None,
            Some(300),
        );
        assert_eq!(
            refusal(&rule, json!({"auth_time": NOW - 301})),
            Some(too_old.clone())
        );
        assert_eq!(
            refusal(&rule, json!({"auth_time": i64::MIN})),
            Some(too_old)
        );
        assert_eq!(
            refusal(&rule, json!({"acr": "any"})),
            Some((
                "the route requires an authentication at most 300 seconds ago, and the token has no `auth_time` claim".into(),
                "max_age".into(),
                None,
                Some(300)
            ))
        );
        for bad in [json!("1800000000"), json!(null), json!([NOW])] {
            assert_eq!(
                refusal(&rule, json!({"auth_time": bad})).map(|r| r.0),
                Some("the token's `auth_time` claim is not a number".to_owned())
            );
        }
        let now_only = StepUp::new::<&str>(&[], Some(Duration::ZERO));
        assert_eq!(refusal(&now_only, json!({"auth_time": NOW})), None);
        assert!(refusal(&now_only, json!({"auth_time": NOW - 1})).is_some());
    }

    #[test]
    fn acr_is_checked_first_and_the_challenge_carries_the_whole_rule() {
        let rule = StepUp::new(&["urn:mfa".to_owned()], Some(Duration::from_secs(60)));
        let whole = (Some("urn:mfa".to_owned()), Some(60));
        let (_, param, acr, age) =
            refusal(&rule, json!({"acr": "urn:pwd", "auth_time": 0})).unwrap();
        assert_eq!((param.as_str(), (acr, age)), ("acr", whole.clone()));
        let (_, param, acr, age) =
            refusal(&rule, json!({"acr": "urn:mfa", "auth_time": 0})).unwrap();
        assert_eq!((param.as_str(), (acr, age)), ("max_age", whole));
        assert_eq!(
            refusal(&rule, json!({"acr": "urn:mfa", "auth_time": NOW - 60})),
            None
        );
    }

    #[test]
    fn an_empty_rule_asks_nothing_and_static_rules_equal_shared_ones() {
        let empty = StepUp::new::<&str>(&[""], None);
        assert_eq!(refusal(&empty, json!({})), None);
        const MFA: StepUp = StepUp::of(&["urn:mfa", ""], Some(Duration::from_secs(60)));
        assert!(MFA == StepUp::new(&["urn:mfa"], Some(Duration::from_secs(60))));
        assert!(MFA != StepUp::new(&["urn:mfa"], None));
        assert_eq!(
            format!("{MFA:?}"),
            "StepUp { acr: [\"urn:mfa\"], max_age: Some(60) }"
        );
    }
}
