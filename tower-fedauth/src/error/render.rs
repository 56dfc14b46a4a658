//! Rendering a refusal to status, headers and body, framework-neutrally.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Serialize;

use super::{AuthError, ErrorCode};

/// A body that replaces the default JSON body of a refusal.
#[derive(Debug, Clone)]
pub struct RefusalBody {
    /// Its `Content-Type`.
    pub content_type: HeaderValue,
    /// The bytes.
    pub body: Bytes,
}

/// A hook that renders the body of a refusal; status, code and headers stay
/// fixed, so clients branch on them whatever the body says.
pub type RefusalResponder = Arc<dyn Fn(&AuthError) -> RefusalBody + Send + Sync>;

/// What a refusal's `WWW-Authenticate` challenge asks of the client beyond
/// `error=`, so that it can come back with a token that passes: each
/// parameter present is added after `error_description`, quoted and
/// escaped like it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Challenge {
    /// `scope="…"`: the scope the route requires (RFC 6750 §3.1),
    /// space-separated when several.
    pub scope: Option<String>,
    /// `acr_values="…"`: the authentication context classes the route
    /// accepts, space-separated (RFC 9470).
    pub acr_values: Option<String>,
    /// `max_age=N`: the largest age, in seconds, of the user's
    /// authentication the route accepts (RFC 9470).
    pub max_age: Option<u64>,
}

impl Challenge {
    /// Append the parameters present to a challenge being built: the
    /// strings quoted and escaped, `max_age` as the bare integer RFC 9470
    /// allows (a token: nothing in it to escape).
    fn push_to(&self, out: &mut String) {
        for (name, value) in [
            ("scope", self.scope.as_deref()),
            ("acr_values", self.acr_values.as_deref()),
        ] {
            if let Some(value) = value {
                out.push_str(", ");
                out.push_str(name);
                out.push_str("=\"");
                push_quoted(out, value);
                out.push('"');
            }
        }
        if let Some(max_age) = self.max_age {
            out.push_str(", max_age=");
            out.push_str(&max_age.to_string());
        }
    }
}

/// The sender-constraint side of a refusal (RFC 9449 §7.1, §8): the
/// `DPoP` challenge in place of the Bearer one, the Bearer challenge beside
/// it where the registration accepts bearer tokens too, and the
/// `DPoP-Nonce` header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SenderChallenge {
    /// Challenge with the `DPoP` scheme and `algs="…"` (the proof
    /// algorithms accepted, space-separated); `None`: the Bearer challenge.
    pub(crate) dpop_algs: Option<std::sync::Arc<str>>,
    /// After the `DPoP` challenge, a bare `Bearer realm="…"` one.
    pub(crate) bearer_too: bool,
    /// A fresh server nonce for the `DPoP-Nonce` header.
    pub(crate) nonce: Option<std::sync::Arc<str>>,
}

/// The `DPoP-Nonce` response header (RFC 9449 §8.1).
pub(crate) const DPOP_NONCE: http::HeaderName = http::HeaderName::from_static("dpop-nonce");

/// `scheme realm="…"`, the start of every challenge.
fn challenge_start(scheme: &str, realm: &str) -> String {
    let mut v = String::with_capacity(96);
    v.push_str(scheme);
    v.push_str(" realm=\"");
    push_quoted(&mut v, realm);
    v.push('"');
    v
}

impl SenderChallenge {
    /// The Bearer challenge beside the `DPoP` one, and `DPoP-Nonce`.
    fn push_to(&self, headers: &mut HeaderMap, realm: &str) {
        if self.dpop_algs.is_some() && self.bearer_too {
            let bearer = challenge_start("Bearer", realm);
            if let Ok(v) = HeaderValue::from_str(&bearer) {
                headers.append(WWW_AUTHENTICATE, v);
            }
        }
        if let Some(nonce) = self.nonce.as_deref() {
            if let Ok(v) = HeaderValue::from_str(nonce) {
                headers.insert(DPOP_NONCE, v);
            }
        }
    }
}

/// A refusal as status, headers and body, ready for any framework.
#[derive(Debug, Clone)]
pub struct RenderedRefusal {
    /// The status.
    pub status: StatusCode,
    /// `Content-Type`, `WWW-Authenticate`, `Retry-After`.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'static str,
    message: &'static str,
    details: [Detail<'a>; 1],
}

#[derive(Serialize)]
struct Detail<'a> {
    value: Option<&'a str>,
    msg: &'a str,
    param: &'a str,
    location: &'a str,
}

/// Append `s` to `out` as the inside of an RFC 7230 quoted-string: `"` and
/// `\` become quoted-pairs, control characters are dropped.
fn push_quoted(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || !c.is_ascii() => {}
            c => out.push(c),
        }
    }
}

impl AuthError {
    /// The default JSON body: `code`, `message` and one `details` entry
    /// (`value`, `msg`, `param`, `location`).
    pub fn json_body(&self) -> Bytes {
        let body = Body {
            code: self.code.as_str(),
            message: self.code.message(),
            details: [Detail {
                value: self.value.as_deref(),
                msg: self.public_detail(),
                param: &self.source.param,
                location: self.source.location,
            }],
        };
        // Serialising plain strings into a Vec cannot fail.
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
    }

    /// The `WWW-Authenticate` value for 401 and 403 refusals.
    pub fn www_authenticate(&self, realm: &str) -> Option<HeaderValue> {
        let status = self.status();
        if status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN {
            return None;
        }
        let dpop_algs = self.sender.as_ref().and_then(|s| s.dpop_algs.as_deref());
        let mut v = challenge_start(dpop_algs.map_or("Bearer", |_| "DPoP"), realm);
        if let Some(algs) = dpop_algs {
            v.push_str(", algs=\"");
            push_quoted(&mut v, algs);
            v.push('"');
        }
        // A pass-through refusal speaks for the endpoint: no error of ours.
        if self.pass_through.is_some() {
            return HeaderValue::from_str(&v).ok();
        }
        if let Some(error) = self.code.bearer_error() {
            v.push_str(", error=\"");
            v.push_str(error.as_str());
            v.push('"');
        }
        // RFC 6750 §3.1: a request without any credentials gets no error details.
        if self.code != ErrorCode::MissingToken {
            v.push_str(", error_description=\"");
            push_quoted(&mut v, self.code.message());
            v.push('"');
        }
        if let Some(challenge) = &self.challenge {
            challenge.push_to(&mut v);
        }
        HeaderValue::from_str(&v).ok()
    }

    /// Status, headers and body, with the body from `responder` when given.
    ///
    /// A pass-through refusal ([`AuthError::pass_through`]) renders as the
    /// endpoint's status and body, untouched by `responder` (passed through
    /// as it is), with its `Content-Type` narrowed to `application/json` or
    /// `text/plain` ([`PassThrough::content_type`](super::PassThrough::content_type)),
    /// `X-Content-Type-Options: nosniff` so that no browser renders it as
    /// anything else, and the bare `WWW-Authenticate: Bearer realm`
    /// RFC 6750 asks of a 401/403.
    pub fn render(&self, realm: &str, responder: Option<&RefusalResponder>) -> RenderedRefusal {
        let mut headers = HeaderMap::with_capacity(3);
        if let Some(p) = &self.pass_through {
            if let Some(ct) = &p.content_type {
                headers.insert(CONTENT_TYPE, ct.clone());
            }
            headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            if let Some(v) = self.www_authenticate(realm) {
                headers.insert(WWW_AUTHENTICATE, v);
            }
            return RenderedRefusal {
                status: p.status,
                headers,
                body: p.body.clone(),
            };
        }
        let body = match responder {
            Some(responder) => {
                let custom = responder(self);
                headers.insert(CONTENT_TYPE, custom.content_type);
                custom.body
            }
            None => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                self.json_body()
            }
        };
        if let Some(v) = self.www_authenticate(realm) {
            headers.insert(WWW_AUTHENTICATE, v);
        }
        if let Some(sender) = &self.sender {
            sender.push_to(&mut headers, realm);
        }
        if let Some(secs) = self.retry_after() {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        RenderedRefusal {
            status: self.status(),
            headers,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_contract_shape() {
        let e = AuthError::token(ErrorCode::TokenExpired, "exp 5 is before now minus leeway");
        let v: serde_json::Value = serde_json::from_slice(&e.json_body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "code": "token_expired",
                "message": "The token has expired.",
                "details": [{"value": null, "msg": "exp 5 is before now minus leeway",
                             "param": "Authorization", "location": "header"}]
            })
        );
    }

    #[test]
    fn www_authenticate_is_escaped_and_typed() {
        let e = AuthError::token(ErrorCode::InvalidSignature, "x");
        let h = e.www_authenticate("a\"b\\c\n").unwrap();
        assert_eq!(
            h.to_str().unwrap(),
            "Bearer realm=\"a\\\"b\\\\c\", error=\"invalid_token\", \
             error_description=\"The token's signature is invalid.\""
        );
        let missing = AuthError::token(ErrorCode::MissingToken, "x");
        assert_eq!(
            missing.www_authenticate("api").unwrap().to_str().unwrap(),
            "Bearer realm=\"api\""
        );
        let down = AuthError::token(ErrorCode::IdpUnavailable, "x");
        assert!(down.www_authenticate("api").is_none());
        let r = down.render("api", None);
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers[RETRY_AFTER], "5");
    }

    #[test]
    fn challenge_parameters_follow_the_description_quoted_and_escaped() {
        let scope = AuthError::token(ErrorCode::InsufficientScope, "x").with_challenge(Challenge {
            scope: Some("read \"all\"\\\u{7}".into()),
            ..Challenge::default()
        });
        let r = scope.render("api", None);
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            r.headers[WWW_AUTHENTICATE].to_str().unwrap(),
            "Bearer realm=\"api\", error=\"insufficient_scope\", \
             error_description=\"The token does not grant the scope this route requires.\", \
             scope=\"read \\\"all\\\"\\\\\""
        );
        let step_up = AuthError::token(ErrorCode::InsufficientUserAuthentication, "x")
            .with_challenge(Challenge {
                acr_values: Some("urn:a b".into()),
                max_age: Some(300),
                ..Challenge::default()
            });
        assert_eq!(step_up.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            step_up.www_authenticate("api").unwrap().to_str().unwrap(),
            "Bearer realm=\"api\", error=\"insufficient_user_authentication\", \
             error_description=\"The user's authentication is not strong or recent enough for this route.\", \
             acr_values=\"urn:a b\", max_age=300"
        );
        let age_only = AuthError::token(ErrorCode::InsufficientUserAuthentication, "x")
            .with_challenge(Challenge {
                max_age: Some(0),
                ..Challenge::default()
            });
        let www = age_only.www_authenticate("api").unwrap();
        assert!(
            www.to_str().unwrap().ends_with("route.\", max_age=0"),
            "{www:?}"
        );
        assert_eq!(age_only.challenge().and_then(|c| c.max_age), Some(0));
    }

    /// The `Content-Type` and `X-Content-Type-Options` a passed-through
    /// answer sent with `content_type` is rendered with.
    fn passed(content_type: Option<&'static str>) -> (Option<String>, HeaderMap) {
        let e = AuthError::pass_through(
            StatusCode::FORBIDDEN,
            content_type.map(HeaderValue::from_static),
            Bytes::from_static(b"<script>alert(1)</script>"),
        );
        let r = e.render("api", None);
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.body, "<script>alert(1)</script>", "the body as it is");
        assert_eq!(r.headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
        let shown = r
            .headers
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let kept = e.passed_through().unwrap().content_type.clone();
        assert_eq!(shown, kept.map(|v| v.to_str().unwrap().to_owned()));
        (shown, r.headers)
    }

    #[test]
    fn a_passed_through_answer_keeps_only_json_or_plain_text_and_is_never_sniffed() {
        for (sent, shown) in [
            ("text/html", "text/plain"),
            ("text/html; charset=utf-8", "text/plain"),
            ("application/problem+json", "text/plain"),
            ("application/javascript", "text/plain"),
            ("image/svg+xml", "text/plain"),
            ("text/plain-but-not", "text/plain"),
            ("", "text/plain"),
            ("application/json", "application/json"),
            (
                "application/json;charset=utf-8",
                "application/json;charset=utf-8",
            ),
            (
                "Application/JSON ; charset=UTF-8",
                "Application/JSON ; charset=UTF-8",
            ),
            ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
            ("TEXT/PLAIN", "TEXT/PLAIN"),
        ] {
            let (content_type, headers) = passed(Some(sent));
            assert_eq!(content_type.as_deref(), Some(shown), "{sent:?}");
            // Content-Type, nosniff, WWW-Authenticate; no Retry-After.
            assert_eq!(headers.len(), 3, "{sent:?}: {headers:?}");
        }
        // None sent: none invented (as before), and nothing sniffed.
        let (content_type, headers) = passed(None);
        assert_eq!(content_type, None);
        assert_eq!(headers.len(), 2, "{headers:?}");
        // Not representable as text: plain text.
        let odd = HeaderValue::from_bytes(b"text/html\xff").unwrap();
        let e = AuthError::pass_through(StatusCode::BAD_REQUEST, Some(odd), Bytes::new());
        let r = e.render("api", None);
        assert_eq!(r.headers[CONTENT_TYPE], "text/plain");
        assert_eq!(r.headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}
