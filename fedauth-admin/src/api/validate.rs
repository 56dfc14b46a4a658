//! A document checked "like a registry file": the core's own registration
//! rules (no second set here), then the IdP check through the egress
//! policy. Each problem is a detail naming its field.

use serde_json::{Map, Value};
use tower_fedauth::Registration;
use tower_fedauth::keys::IdpProbe;
use tower_fedauth::registration::RegistrationError;

use super::error::{ApiError, ErrorDetail, Location};
use super::secrets::{is_secret_field, mask, masked};

/// At most this many problems are reported at once.
const MAX_DETAILS: usize = 8;
/// A value longer than this (as JSON) is not quoted back.
const MAX_SHOWN_VALUE: usize = 256;

/// The registration `doc` describes, or `422` with one detail per problem.
///
/// The core stops at the first broken rule. To report more than one, the
/// field it named is taken out and the rest checked again, for as long as
/// each round names a new field; a field whose absence is itself the
/// problem (`provider`, `id`, a required key) ends the rounds, so no detail
/// is an artefact of a removal.
pub(crate) fn validate(doc: &Map<String, Value>) -> Result<Registration, ApiError> {
    let first = match Registration::from_document(&Value::Object(doc.clone())) {
        Ok(registration) => return Ok(registration),
        Err(e) => e,
    };
    let shown = masked(doc);
    let mut details = vec![detail(&first, doc, &shown)];
    let mut fields = vec![first.field];
    let mut work = doc.clone();
    while details.len() < MAX_DETAILS {
        let last = fields.last().map(String::as_str).unwrap_or_default();
        if matches!(last, "id" | "provider" | "registrations") || !remove(&mut work, last) {
            break;
        }
        let next = match Registration::from_document(&Value::Object(work.clone())) {
            Ok(_) => break,
            Err(e) => e,
        };
        if fields.iter().any(|f| related(f, &next.field)) {
            break;
        }
        details.push(detail(&next, doc, &shown));
        fields.push(next.field);
    }
    Err(ApiError::invalid(details))
}

/// Whether two field names are the same field or one holds the other.
fn related(a: &str, b: &str) -> bool {
    let within = |outer: &str, inner: &str| {
        inner == outer
            || inner
                .strip_prefix(outer)
                .is_some_and(|r| r.starts_with('.'))
    };
    within(a, b) || within(b, a)
}

/// The value at a dotted field path (`introspection.endpoint`).
fn at<'d>(doc: &'d Map<String, Value>, field: &str) -> Option<&'d Value> {
    let mut parts = field.split('.');
    let mut value = doc.get(parts.next()?)?;
    for part in parts {
        value = value.get(part)?;
    }
    Some(value)
}

/// Take the field at a dotted path out of `doc`; `false` if absent.
fn remove(doc: &mut Map<String, Value>, field: &str) -> bool {
    match field.rsplit_once('.') {
        None => doc.remove(field).is_some(),
        Some((outer, key)) => {
            let mut parts = outer.split('.');
            let first = parts.next().unwrap_or_default();
            let mut value = doc.get_mut(first);
            for part in parts {
                value = value.and_then(|v| v.get_mut(part));
            }
            value
                .and_then(Value::as_object_mut)
                .is_some_and(|m| m.remove(key).is_some())
        }
    }
}

/// A rule's refusal as a detail: the value shown masked, and never for a
/// secret field, whose value quoted by the rule's message is replaced by
/// its mask.
fn detail(
    e: &RegistrationError,
    doc: &Map<String, Value>,
    shown: &Map<String, Value>,
) -> ErrorDetail {
    let param = (e.field != "registrations").then_some(e.field.as_str());
    let mut msg = e.message.clone();
    let value = if is_secret_field(&e.field) {
        let raw = match at(doc, &e.field) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        if !raw.is_empty() {
            msg = msg.replace(&raw, &mask(&raw));
        }
        None
    } else {
        at(shown, &e.field)
            .filter(|v| v.to_string().len() <= MAX_SHOWN_VALUE)
            .cloned()
    };
    ErrorDetail::new(Location::Body, param, msg).with_value(value)
}

/// Whether `before` and `after` would fetch something else from the IdP:
/// another provider or provider key, issuer, discovery or key URL, or
/// algorithms (the key set must hold a key for them).
pub(crate) fn idp_changed(before: Option<&Registration>, after: &Registration) -> bool {
    before.is_none_or(|b| {
        b.provider != after.provider
            || b.issuer != after.issuer
            || b.discovery_url != after.discovery_url
            || b.jwks_uri != after.jwks_uri
            || b.algorithms != after.algorithms
    })
}

/// The IdP check, its failure a `422` naming the field the failing URL
/// came from; what the request met goes to the logs only.
pub(crate) async fn check_idp(
    probe: &IdpProbe,
    registration: &Registration,
) -> Result<(), ApiError> {
    probe.check(registration).await.map_err(|failure| {
        tracing::warn!(
            registration = registration.id.as_str(),
            field = failure.field.as_str(),
            detail = %failure.detail,
            "admin API: the registration failed the IdP check"
        );
        ApiError::invalid(vec![ErrorDetail::new(
            Location::Body,
            Some(failure.field.as_str()),
            failure.problem.message(),
        )])
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn details(doc: Value) -> Vec<(Option<String>, String)> {
        let e = validate(doc.as_object().unwrap()).unwrap_err();
        e.details.into_iter().map(|d| (d.param, d.msg)).collect()
    }

    #[test]
    fn independent_problems_are_each_named() {
        let got = details(json!({
            "id": "quid-x", "provider": "jwks", "client_id": "app",
            "jwks_uri": "https://idp.example/keys",
            "algorithms": ["HS256"], "leeway_seconds": 9999, "colour": "red",
        }));
        let params: Vec<_> = got.iter().map(|(p, _)| p.clone().unwrap()).collect();
        assert!(params.contains(&"algorithms".to_owned()), "{got:?}");
        assert!(params.contains(&"leeway_seconds".to_owned()), "{got:?}");
        assert!(params.contains(&"colour".to_owned()), "{got:?}");
        assert_eq!(params.len(), 3, "{got:?}");
    }

    #[test]
    fn a_missing_required_key_is_one_detail() {
        let got = details(json!({"id": "quid-x", "provider": "jwks", "client_id": "app"}));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0.as_deref(), Some("jwks_uri"));
    }

    #[test]
    fn a_secret_never_appears_in_a_detail() {
        let doc = json!({
            "id": "quid-x", "provider": "introspection", "client_id": "app",
            "introspection": {"endpoint": "https://idp.example/i", "client_id": "rs", "client_secret": 987654321},
        });
        let e = validate(doc.as_object().unwrap()).unwrap_err();
        let text = serde_json::to_string(&e.details).unwrap();
        assert!(text.contains("introspection.client_secret"), "{text}");
        assert!(!text.contains("987654321"), "{text}");
    }
}
