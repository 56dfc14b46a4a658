//! Templates of a verification endpoint call: `#{token}`,
//! `#{registration}` and `#{client_id}` in `headers` and `params`; `#{a.b.c}`
//! paths over the JSON answer in `response`.
//!
//! Injection safety: rendering is one pass (a substituted value is never
//! scanned for placeholders again), params are only ever encoded by
//! `form_urlencoded` (never concatenated into a URL or body), and a header
//! value must be visible ASCII or spaces, so no value can add a header, a
//! parameter or a placeholder.

use http::{HeaderName, HeaderValue};
use serde_json::Value;

/// What request templates may name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vars<'a> {
    /// The `Authorization` value without scheme.
    pub(crate) token: &'a str,
    /// The QUID.
    pub(crate) registration: &'a str,
    /// The registration's client id (empty when it has none).
    pub(crate) client_id: &'a str,
}

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "token" => Some(self.token),
            "registration" => Some(self.registration),
            "client_id" => Some(self.client_id),
            _ => None,
        }
    }
}

/// Render a request template in one pass. An unknown placeholder (refused
/// at load, so only from code that skipped validation) stays literal.
pub(crate) fn render_request(template: &str, vars: &Vars<'_>) -> String {
    let mut out = String::with_capacity(template.len() + vars.token.len());
    let mut rest = template;
    while let Some(start) = rest.find("#{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        match vars.get(&after[..end]) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Headers that frame the request or that fedauth sets itself: a template
/// setting them could smuggle a second request or garble the body.
const RESERVED_HEADERS: [&str; 10] = [
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

/// The header a configured name stands for (`_` becomes `-`: the registry
/// format writes header names with underscores, e.g. `X_Api_Key`); `None`
/// for a name that is not a token or is reserved.
pub(crate) fn header_name(configured: &str) -> Option<HeaderName> {
    let name = HeaderName::from_bytes(configured.replace('_', "-").as_bytes()).ok()?;
    (!RESERVED_HEADERS.contains(&name.as_str())).then_some(name)
}

/// A rendered header value, if it cannot break out of its header: visible
/// ASCII and spaces only (no CR, LF, NUL or other control character).
/// Marked sensitive, as it usually holds the token.
pub(crate) fn header_value(rendered: &str) -> Option<HeaderValue> {
    if !rendered.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return None;
    }
    let mut value = HeaderValue::from_str(rendered).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Why a `response` template could not be rendered: the path it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathError {
    /// The answer has nothing (or `null`) at this path.
    Missing(String),
    /// An object or array where text is being built.
    NotText(String),
}

/// The value at a dotted path; a numeric segment indexes an array.
pub(crate) fn lookup<'v>(answer: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(answer, |v, segment| match v {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The one placeholder a template consists of, if it is exactly `#{path}`.
fn sole_placeholder(template: &str) -> Option<&str> {
    let path = template.strip_prefix("#{")?.strip_suffix('}')?;
    (!path.contains('}') && !path.contains("#{")).then_some(path)
}

/// Render a `response` template over the answer. `#{path}` alone keeps the
/// JSON type (a numeric `user.id` stays a number); mixed with text, each
/// placeholder must be a string, number or boolean.
pub(crate) fn render_response(template: &str, answer: &Value) -> Result<Value, PathError> {
    if let Some(path) = sole_placeholder(template) {
        return match lookup(answer, path) {
            None | Some(Value::Null) => Err(PathError::Missing(path.to_owned())),
            Some(v) => Ok(v.clone()),
        };
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("#{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(Value::String(out));
        };
        let path = &after[..end];
        match lookup(answer, path) {
            None | Some(Value::Null) => return Err(PathError::Missing(path.to_owned())),
            Some(Value::String(s)) => out.push_str(s),
            Some(Value::Number(n)) => out.push_str(&n.to_string()),
            Some(Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
            Some(_) => return Err(PathError::NotText(path.to_owned())),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}
