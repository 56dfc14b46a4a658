//! Entity tags of registrations: one function of the document, so every
//! store (and every instance) gives the same tag for the same registration.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A strong entity tag (RFC 9110 §8.8.3), quoted: the SHA-256 of the
/// document's canonical JSON (object keys sorted at every level, no
/// whitespace), base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(String);

impl ETag {
    /// The entity tag of a registration document.
    pub fn of(document: &Map<String, Value>) -> Self {
        let mut canonical = Vec::with_capacity(256);
        write_object(document, &mut canonical);
        let digest = Sha256::digest(&canonical);
        Self(format!("\"{}\"", URL_SAFE_NO_PAD.encode(digest)))
    }

    /// Reads one strong entity tag as sent in `If-Match` (with its
    /// quotes). `None` for a weak tag (`W/"…"`), `*` or anything that is
    /// not a quoted tag of visible ASCII.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let inner = value.strip_prefix('"')?.strip_suffix('"')?;
        let valid = inner
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b));
        valid.then(|| Self(value.to_owned()))
    }

    /// The tag as sent in the `ETag` header, quotes included.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn write_object(object: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort();
    write_joined(b'{', keys, b'}', out, |key, out| {
        write_string(key, out);
        out.push(b':');
        write_value(&object[key], out);
    });
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(object) => write_object(object, out),
        Value::Array(items) => write_joined(b'[', items, b']', out, write_value),
        // Scalars have one serde_json form whatever the map's order.
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

/// `open`, the items written by `each` and separated by commas, `close`.
fn write_joined<T>(
    open: u8,
    items: impl IntoIterator<Item = T>,
    close: u8,
    out: &mut Vec<u8>,
    mut each: impl FnMut(T, &mut Vec<u8>),
) {
    out.push(open);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(item, out);
    }
    out.push(close);
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(Value::String(s.to_owned()).to_string().as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("test documents are objects"),
        }
    }

    #[test]
    fn same_document_in_any_key_order_has_one_tag() {
        let a = object(json!({"id": "q", "properties": {"p1": ["a"], "p2": []}, "roles": ["x"]}));
        let mut b = Map::new();
        b.insert("roles".into(), json!(["x"]));
        b.insert("properties".into(), json!({"p2": [], "p1": ["a"]}));
        b.insert("id".into(), json!("q"));
        assert_eq!(ETag::of(&a), ETag::of(&b));
        // A fixed value: stores, instances and releases agree on it.
        assert_eq!(
            ETag::of(&object(json!({"id": "q"}))).as_str(),
            format!(
                "\"{}\"",
                URL_SAFE_NO_PAD.encode(Sha256::digest(br#"{"id":"q"}"#))
            )
        );
    }

    #[test]
    fn any_change_changes_the_tag() {
        let a = object(json!({"id": "q", "roles": ["x", "y"]}));
        let b = object(json!({"id": "q", "roles": ["y", "x"]}));
        let c = object(json!({"id": "q", "roles": ["x", "y"], "enabled": true}));
        assert_ne!(ETag::of(&a), ETag::of(&b));
        assert_ne!(ETag::of(&a), ETag::of(&c));
    }

    #[test]
    fn parse_takes_strong_quoted_tags_only() {
        let tag = ETag::of(&object(json!({"id": "q"})));
        assert_eq!(ETag::parse(tag.as_str()), Some(tag.clone()));
        assert_eq!(ETag::parse(&format!(" {tag} ")), Some(tag.clone()));
        assert_eq!(tag.to_string(), tag.as_str());
        for bad in ["", "*", "abc", "\"abc", "W/\"abc\"", "\"a b\"", "\"a\"b\""] {
            assert_eq!(ETag::parse(bad), None, "{bad:?}");
        }
    }
}
