//! The route requirements of `/scopes/{scope}/whoami` and
//! `/step-up/whoami?acr=A,B&max_age=N`, shared by both servers so that they
//! answer alike: the requirement each request names, read from its path or
//! query, and checked by the core (`tower_fedauth::adapter::Requirement`).
//!
//! The query is read after authentication (the route's own parameters are
//! part of its requirement, the last step of the order of checks), so a
//! request without valid credentials gets its 401 whatever its query says.
//! A query that names no valid requirement is 400 `invalid_request`:
//! `max_age` must be a whole number of seconds (ASCII digits, at most
//! `u64::MAX`), `acr` a comma-separated list of values of visible ASCII
//! characters, and neither may be given twice. Other parameters are
//! ignored.

use std::borrow::Cow;
use std::time::Duration;

use tower_fedauth::adapter::Requirement;
use tower_fedauth::{AuthContext, AuthError, ErrorCode};

use crate::WhoAmI;

/// The requirement of `/scopes/{scope}/whoami`: the token grants `scope`.
pub fn scope(scope: String) -> Requirement {
    Requirement::scope(scope)
}

/// The requirement of `/step-up/whoami`, from its query's decoded pairs:
/// `acr` (any one of the comma-separated values) and `max_age` (seconds),
/// both optional; 400 `invalid_request` for a malformed or repeated one.
pub fn step_up(query: &[(String, String)]) -> Result<Requirement, AuthError> {
    let acr = single(query, "acr")?
        .map(|list| {
            let values: Vec<&str> = list.split(',').collect();
            let valid = |v: &&str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic());
            if values.iter().all(valid) {
                Ok(values)
            } else {
                Err(invalid(
                    "acr",
                    "the query parameter `acr` is not a comma-separated list of acr values",
                ))
            }
        })
        .transpose()?
        .unwrap_or_default();
    let max_age = single(query, "max_age")?
        .map(|value| {
            value
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| value.parse::<u64>().ok())
                .flatten()
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    invalid(
                        "max_age",
                        "the query parameter `max_age` is not a whole number of seconds",
                    )
                })
        })
        .transpose()?;
    Ok(Requirement::step_up(&acr, max_age))
}

/// The `whoami` answer when `ctx` meets `requirement`; otherwise the
/// refusal (of the requirement, or of its reading).
pub fn whoami_if(
    ctx: &AuthContext,
    requirement: Result<Requirement, AuthError>,
) -> Result<WhoAmI<'_>, AuthError> {
    requirement.and_then(|requirement| requirement.check(ctx))?;
    Ok(crate::whoami_of(ctx))
}

/// The value of the query parameter `name`, if given once; 400 if given
/// more than once.
fn single<'a>(
    query: &'a [(String, String)],
    name: &'static str,
) -> Result<Option<&'a str>, AuthError> {
    let mut values = query
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    match values.next() {
        Some(_) => Err(invalid(
            name,
            format!("the query parameter `{name}` is given more than once"),
        )),
        None => Ok(first),
    }
}

/// 400 `invalid_request` about the query parameter `name`.
fn invalid(name: &'static str, detail: impl Into<Cow<'static, str>>) -> AuthError {
    AuthError::at(ErrorCode::InvalidRequest, detail, name, "query")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn parsed(pairs: &[(&str, &str)]) -> Result<String, (String, String)> {
        step_up(&query(pairs))
            .map(|r| format!("{r:?}"))
            .map_err(|e| {
                assert_eq!(e.code(), ErrorCode::InvalidRequest);
                assert_eq!(e.source_param().location, "query");
                (e.source_param().param.to_string(), e.detail().to_owned())
            })
    }

    #[test]
    fn the_query_names_the_rule() {
        assert_eq!(
            parsed(&[]),
            Ok("StepUp { acr: [], max_age: None }".to_owned())
        );
        assert_eq!(
            parsed(&[("acr", "urn:a,b"), ("max_age", "0300"), ("other", "x")]),
            Ok("StepUp { acr: [\"urn:a\", \"b\"], max_age: Some(300) }".to_owned())
        );
        assert_eq!(
            parsed(&[("max_age", "18446744073709551615")]),
            Ok("StepUp { acr: [], max_age: Some(18446744073709551615) }".to_owned())
        );
    }

    #[test]
    fn a_malformed_or_repeated_parameter_is_refused() {
        let age = "the query parameter `max_age` is not a whole number of seconds";
        for bad in [
            "",
            "-1",
            "+5",
            " 5",
            "5s",
            "1.5",
            "18446744073709551616",
            "٣",
        ] {
            assert_eq!(
                parsed(&[("max_age", bad)]),
                Err(("max_age".to_owned(), age.to_owned())),
                "{bad:?}"
            );
        }
        let acr = "the query parameter `acr` is not a comma-separated list of acr values";
        for bad in ["", "a,", ",a", "a,,b", "a b", "ü", "a\tb"] {
            assert_eq!(
                parsed(&[("acr", bad)]),
                Err(("acr".to_owned(), acr.to_owned())),
                "{bad:?}"
            );
        }
        assert_eq!(
            parsed(&[("acr", "a"), ("acr", "b")]),
            Err((
                "acr".to_owned(),
                "the query parameter `acr` is given more than once".to_owned()
            ))
        );
        assert_eq!(
            parsed(&[("max_age", "1"), ("max_age", "1")]),
            Err((
                "max_age".to_owned(),
                "the query parameter `max_age` is given more than once".to_owned()
            ))
        );
    }
}
