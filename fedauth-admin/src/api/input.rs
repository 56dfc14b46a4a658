//! Reading a request: its JSON body (`Content-Type`, size, an object), its
//! query parameters (`limit`, `cursor`, `check`, filters) and `If-Match`.
//! Each refusal names what it refused.

use http::HeaderMap;
use http::header::{CONTENT_TYPE, IF_MATCH};
use serde_json::{Map, Value};

use super::error::{ApiError, Location};
use super::ids::Cursor;
use crate::store::ETag;

/// Page size when the client names none.
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// Largest page.
pub(crate) const MAX_LIMIT: usize = 500;

/// Which media type a body must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    /// `application/json` (create, property enablement).
    Json,
    /// `application/merge-patch+json` (PATCH).
    MergePatch,
}

impl Media {
    fn essence(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::MergePatch => "application/merge-patch+json",
        }
    }
}

/// The body as a JSON object, refused as `malformed_request` when it has
/// another media type, is not JSON or is not an object.
pub(crate) fn json_object(
    headers: &HeaderMap,
    body: &[u8],
    media: Media,
) -> Result<Map<String, Value>, ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(media.essence()) {
        let msg = format!("must be {}", media.essence());
        return Err(ApiError::malformed(
            Location::Header,
            Some("Content-Type"),
            &msg,
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::malformed(
            Location::Body,
            None,
            "the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::malformed(
            Location::Body,
            None,
            &format!("not JSON: {e}"),
        )),
    }
}

/// The query parameters, decoded, in order.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let pairs = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self(pairs)
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `limit`: 1–500, default 100.
    pub(crate) fn limit(&self) -> Result<usize, ApiError> {
        let Some(text) = self.get("limit") else {
            return Ok(DEFAULT_LIMIT);
        };
        match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::query(
                "limit",
                text,
                format!("must be an integer from 1 to {MAX_LIMIT}"),
            )),
        }
    }

    /// `cursor`, as issued by this API for the list asked (`kind` picks
    /// what it points at).
    pub(crate) fn cursor<T>(&self, kind: fn(Cursor) -> Option<T>) -> Result<Option<T>, ApiError> {
        self.get("cursor")
            .map(|text| {
                Cursor::decode(text)
                    .and_then(kind)
                    .ok_or_else(|| ApiError::query("cursor", text, "not a cursor of this list"))
            })
            .transpose()
    }

    /// `check`: `true` (default) or `false`.
    pub(crate) fn check(&self) -> Result<bool, ApiError> {
        match self.get("check") {
            None | Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ApiError::query("check", other, "must be true or false")),
        }
    }
}

/// What `If-Match` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IfMatch {
    /// No `If-Match`.
    Absent,
    /// `*`: any current representation.
    Any,
    /// These strong tags (a tag that is not one never matches).
    Tags(Vec<ETag>),
}

impl IfMatch {
    pub(crate) fn read(headers: &HeaderMap) -> Self {
        let values: Vec<&str> = headers
            .get_all(IF_MATCH)
            .iter()
            .map(|v| v.to_str().unwrap_or(""))
            .collect();
        if values.is_empty() {
            return IfMatch::Absent;
        }
        if values.iter().any(|v| v.trim() == "*") {
            return IfMatch::Any;
        }
        IfMatch::Tags(
            values
                .iter()
                .flat_map(|v| v.split(','))
                .filter_map(ETag::parse)
                .collect(),
        )
    }

    /// Refused with `412` unless `current` is what it asks.
    pub(crate) fn check(&self, current: &ETag) -> Result<(), ApiError> {
        match self {
            IfMatch::Tags(tags) if !tags.contains(current) => Err(ApiError::stale()),
            _ => Ok(()),
        }
    }
}
