//! The HTTP side of `fedauth admin`: one request to the admin API, its
//! answer, and a refusal told apart by exit status.
//!
//! The admin API is the operator's own service, not an identity provider:
//! these requests do not go through the egress policy. Redirects are never
//! followed, so the token is only ever sent to `--url`.

use std::process::ExitCode;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The most of an answer that is read (the API's bodies are far smaller).
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// Where the admin API lives below the server's base URL.
pub const API_PREFIX: &str = "/admin/v1";

/// Exit statuses, one per kind of refusal (see the help text).
pub mod exit {
    /// The server could not be reached, or answered something unexpected.
    pub const FAILED: u8 = 1;
    /// 401 `unauthorized` or 403 `forbidden`.
    pub const REFUSED: u8 = 3;
    /// 404 `not_found`.
    pub const NOT_FOUND: u8 = 4;
    /// 400 `malformed_request` or 422 `validation_failed`.
    pub const INVALID: u8 = 5;
    /// 409 `conflict`, 412 `precondition_failed`, 428 `precondition_required`.
    pub const PRECONDITION: u8 = 6;
    /// 503 `store_unavailable`: try again later.
    pub const UNAVAILABLE: u8 = 7;
}

/// A successful answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub etag: Option<String>,
    /// The JSON body; `Null` when there is none (204).
    pub body: Value,
}

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The API refused, with its error body (errors.md).
    Refused {
        status: StatusCode,
        code: String,
        message: String,
        details: Vec<Value>,
    },
    /// No answer, or one that is not the API's.
    Failed(String),
}

impl Failure {
    /// The process exit status of this failure.
    pub fn exit_code(&self) -> ExitCode {
        let code = match self {
            Failure::Failed(_) => exit::FAILED,
            Failure::Refused { status, .. } => match status.as_u16() {
                401 | 403 => exit::REFUSED,
                404 => exit::NOT_FOUND,
                400 | 413 | 415 | 422 => exit::INVALID,
                409 | 412 | 428 => exit::PRECONDITION,
                503 => exit::UNAVAILABLE,
                _ => exit::FAILED,
            },
        };
        ExitCode::from(code)
    }

    /// What is printed on stderr: the API's `code`, `message` and each
    /// detail, one per line.
    pub fn render(&self) -> String {
        match self {
            Failure::Failed(why) => format!("fedauth admin: {why}\n"),
            Failure::Refused {
                status,
                code,
                message,
                details,
            } => {
                let mut out = format!("fedauth admin: {code} ({}): {message}\n", status.as_u16());
                for detail in details {
                    out.push_str(&format!("  {}\n", render_detail(detail)));
                }
                out
            }
        }
    }
}

/// `param (location): msg [value: V]`.
fn render_detail(detail: &Value) -> String {
    let text = |key: &str| detail.get(key).and_then(Value::as_str).unwrap_or("-");
    let mut line = format!("{} ({}): {}", text("param"), text("location"), text("msg"));
    match detail.get("value") {
        None | Some(Value::Null) => {}
        Some(Value::String(value)) => line.push_str(&format!(" [value: {value}]")),
        Some(value) => line.push_str(&format!(" [value: {value}]")),
    }
    line
}

/// The admin API of one server, with one credential.
pub struct Client {
    http: reqwest::Client,
    /// `{--url}/admin/v1`, without a trailing slash.
    api: String,
}

impl Client {
    /// A client of the admin API below `url` (a server's base URL, or one
    /// that already ends in `/admin/v1`), sending `token`.
    pub fn new(url: &str, token: &str) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("--url {url:?}: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(format!(
                "--url {url:?}: expected an http(s) base URL without query or fragment"
            ));
        }
        let base = url.trim_end_matches('/');
        let api = if base.ends_with(API_PREFIX) {
            base.to_owned()
        } else {
            format!("{base}{API_PREFIX}")
        };
        let mut bearer = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| "the admin token is not a valid header value".to_owned())?;
        bearer.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, bearer);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self { http, api })
    }

    /// Send `method` to `path` (below `/admin/v1`, already encoded) with
    /// `query`, extra `headers` and a JSON `body` of `content_type`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        headers: &[(header::HeaderName, String)],
        body: Option<(&'static str, &Value)>,
    ) -> Result<Answer, Failure> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.api))
            .map_err(|e| Failure::Failed(format!("{path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut request = self.http.request(method.clone(), url.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some((content_type, body)) = body {
            request = request
                .header(header::CONTENT_TYPE, content_type)
                .body(body.to_string());
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| Failure::Failed(format!("{method} {url}: {}", without_url(&e))))?;
        let status = response.status();
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if status.is_redirection() {
            return Err(Failure::Failed(format!(
                "{method} {url}: the server answered {} (a redirect); it is not followed, \
                 so the token goes to --url only",
                status.as_u16()
            )));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Failure::Failed(format!("{method} {url}: {}", without_url(&e))))?
        {
            if bytes.len() + chunk.len() > MAX_ANSWER {
                return Err(Failure::Failed(format!(
                    "{method} {url}: the answer is over {MAX_ANSWER} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| {
                Failure::Failed(format!(
                    "{method} {url}: the server answered {} with a body that is not JSON \
                     (is --url the admin API's server?)",
                    status.as_u16()
                ))
            })?
        };
        if status.is_success() {
            return Ok(Answer { status, etag, body });
        }
        Err(refusal(status, body))
    }
}

/// A refusal from its errors.md body; anything else is not the API's.
fn refusal(status: StatusCode, body: Value) -> Failure {
    match body.get("code").and_then(Value::as_str) {
        Some(code) => Failure::Refused {
            status,
            code: code.to_owned(),
            message: body
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            details: body
                .get("details")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        },
        None => Failure::Failed(format!(
            "the server answered {} without an error code (is --url the admin API's server?)",
            status.as_u16()
        )),
    }
}

/// A reqwest error without the URL it repeats (the caller names it once).
fn without_url(error: &reqwest::Error) -> String {
    let mut why = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        why.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    why
}
