//! Secrets are write-only: `introspection.client_secret` and every
//! `verification.headers` value that is not a template are shown masked in
//! every answer and audit record, as the contract's masking rule says
//! (one asterisk per hidden character, then the last 5; under 20
//! characters, 8 asterisks only), and a masked value sent back keeps the
//! stored secret.

use serde_json::{Map, Value};

/// Secrets shorter than this show no character at all.
const SHOW_TAIL_FROM: usize = 20;
/// Characters shown at the end of a long secret.
const TAIL: usize = 5;

/// `secret` as answers show it.
pub(crate) fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n < SHOW_TAIL_FROM {
        return "*".repeat(8);
    }
    let tail: String = secret.chars().skip(n - TAIL).collect();
    format!("{}{tail}", "*".repeat(n - TAIL))
}

/// Where a secret can be: a path of keys in the document.
fn secret_paths(doc: &Map<String, Value>) -> Vec<[String; 3]> {
    let mut paths = Vec::new();
    if let Some(Value::String(_)) = doc
        .get("introspection")
        .and_then(|i| i.get("client_secret"))
    {
        paths.push([
            "introspection".into(),
            "client_secret".into(),
            String::new(),
        ]);
    }
    let headers = doc
        .get("verification")
        .and_then(|v| v.get("headers"))
        .and_then(Value::as_object);
    for (name, value) in headers.into_iter().flatten() {
        if value.as_str().is_some_and(|v| !v.contains("#{")) {
            paths.push(["verification".into(), "headers".into(), name.clone()]);
        }
    }
    paths
}

/// The string at `path` (two or three keys deep), for changing.
fn at_mut<'d>(doc: &'d mut Map<String, Value>, path: &[String; 3]) -> Option<&'d mut Value> {
    let mut value = doc.get_mut(&path[0])?.get_mut(&path[1])?;
    if !path[2].is_empty() {
        value = value.get_mut(&path[2])?;
    }
    value.is_string().then_some(value)
}

/// Whether a field name (`introspection.client_secret`,
/// `verification.headers.X`) may hold a secret: its value is never shown.
pub(crate) fn is_secret_field(field: &str) -> bool {
    field == "introspection.client_secret" || field.starts_with("verification.headers")
}

/// The document as answers show it.
pub(crate) fn masked(doc: &Map<String, Value>) -> Map<String, Value> {
    let mut shown = doc.clone();
    for path in secret_paths(doc) {
        if let Some(value) = at_mut(&mut shown, &path) {
            let m = mask(value.as_str().unwrap_or_default());
            *value = Value::String(m);
        }
    }
    shown
}

/// Put back each stored secret that `new` carries in its masked form.
pub(crate) fn restore(new: &mut Map<String, Value>, stored: &Map<String, Value>) {
    let mut stored = stored.clone();
    for path in secret_paths(&stored) {
        let Some(Value::String(real)) = at_mut(&mut stored, &path).map(Value::take) else {
            continue;
        };
        if let Some(value) = at_mut(new, &path)
            && value.as_str() == Some(mask(&real).as_str())
        {
            *value = Value::String(real);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn masks_like_the_contract() {
        assert_eq!(mask("s3cret"), "********");
        assert_eq!(mask("0123456789012345678"), "********");
        assert_eq!(mask("01234567890123456789"), "***************56789");
        assert_eq!(mask("abcdefghijklmnopqrstuvwx6-OjH").len(), 29);
        assert!(mask("abcdefghijklmnopqrstuvwx6-OjH").ends_with("*6-OjH"));
    }

    #[test]
    fn masks_the_client_secret_and_literal_headers_only() {
        let doc = obj(json!({
            "id": "x",
            "introspection": {"client_secret": "a-very-long-client-secret-value", "client_id": "rs"},
            "verification": {"headers": {"X_Key": "static-key", "Authorization": "Bearer #{token}"}},
        }));
        let shown = masked(&doc);
        assert_eq!(
            shown["introspection"]["client_secret"],
            "**************************value"
        );
        assert_eq!(shown["introspection"]["client_id"], "rs");
        assert_eq!(shown["verification"]["headers"]["X_Key"], "********");
        assert_eq!(
            shown["verification"]["headers"]["Authorization"],
            "Bearer #{token}"
        );
    }

    #[test]
    fn a_masked_value_sent_back_keeps_the_secret_and_a_new_one_replaces_it() {
        let stored = obj(json!({
            "introspection": {"client_secret": "old-secret"},
            "verification": {"headers": {"A": "key-a", "B": "key-b"}},
        }));
        let mut new = obj(json!({
            "introspection": {"client_secret": "********"},
            "verification": {"headers": {"A": "********", "B": "new-b"}},
        }));
        restore(&mut new, &stored);
        assert_eq!(new["introspection"]["client_secret"], "old-secret");
        assert_eq!(new["verification"]["headers"]["A"], "key-a");
        assert_eq!(new["verification"]["headers"]["B"], "new-b");
    }
}
