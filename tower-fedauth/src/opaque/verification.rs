//! Custom verification endpoints (`provider = "verification-endpoint"`):
//! the application's own server checks the token.
//!
//! The call is a GET (params in the query) or a POST (params as a form
//! body) with `headers` and `params` rendered from templates (see
//! [`super::template`]). Redirects are not followed: they would carry the
//! token to another server.
//!
//! - A 2xx answer must be a JSON object; `response` maps it. `uid` is
//!   required (a string or a number) and becomes the subject; `login` (or
//!   `username`) the user name, `email` the email; every other mapped field
//!   (`full_name`, `external_user_id`, ...) an attribute with its JSON value,
//!   as do the claims named by `claims.persist`. The whole answer is the
//!   claims. Not JSON, or `uid` unresolvable: 401 `invalid_claims` naming
//!   the path.
//! - A 4xx or 5xx answer is the endpoint refusing: it is passed to the caller
//!   as it is ([`AuthError::pass_through`], code `verification_refused`).
//! - No answer, a 3xx, or a 2xx over the size cap: 503 `idp_unavailable`.

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::Value;
use url::{Url, form_urlencoded};

use super::cache::{self, Key};
use super::template::{self, PathError, Vars};
use crate::context::Principal;
use crate::egress::{FetchError, Fetcher, Outgoing, Redirects};
use crate::error::{AuthError, ErrorCode, PASS_THROUGH_MAX_BODY};
use crate::registration::{HttpMethod, Registration, VerificationConfig};

/// A rendered call to a verification endpoint.
#[derive(Debug)]
pub(crate) struct Call {
    url: Url,
    method: HttpMethod,
    headers: HeaderMap,
    form: Option<String>,
}

fn unavailable(detail: impl Into<std::borrow::Cow<'static, str>>) -> AuthError {
    AuthError::token(ErrorCode::IdpUnavailable, detail)
}

fn invalid_claims(detail: String) -> AuthError {
    AuthError::token(ErrorCode::InvalidClaims, detail)
}

/// Render the call for these values. A token that is not visible ASCII is a
/// 400 (it cannot have come through the header reader); a template that
/// cannot be sent is the registration's fault, a 503.
pub(crate) fn build(cfg: &VerificationConfig, vars: &Vars<'_>) -> Result<Call, AuthError> {
    if vars.token.is_empty() || !vars.token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthError::token(
            ErrorCode::InvalidRequest,
            "the token holds characters that are not visible ASCII",
        ));
    }
    let mut headers = HeaderMap::with_capacity(cfg.headers.len() + 1);
    for (name, value) in &cfg.headers {
        let header = template::header_name(name).ok_or_else(|| {
            unavailable(format!(
                "verification: header {name:?} cannot be set by a template"
            ))
        })?;
        let value =
            template::header_value(&template::render_request(value, vars)).ok_or_else(|| {
                unavailable(format!(
                    "verification: header {name:?} renders to characters that are not visible ASCII"
                ))
            })?;
        headers.append(header, value);
    }
    headers
        .entry(ACCEPT)
        .or_insert(HeaderValue::from_static("application/json"));
    let params = cfg
        .params
        .iter()
        .map(|(name, value)| (name.as_str(), template::render_request(value, vars)));
    let mut url = cfg.url.clone();
    let form = match cfg.method {
        HttpMethod::Get => {
            // Guarded: an empty `query_pairs_mut` would still add a `?`.
            if !cfg.params.is_empty() {
                let mut query = url.query_pairs_mut();
                for (name, value) in params {
                    query.append_pair(name, &value);
                }
            }
            None
        }
        HttpMethod::Post => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (name, value) in params {
                form.append_pair(name, &value);
            }
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            Some(form.finish())
        }
    };
    Ok(Call {
        url,
        method: cfg.method,
        headers,
        form,
    })
}

impl Call {
    /// The cache key: the registration, the whole rendered call and the
    /// token (which templates may not use at all).
    pub(crate) fn key(&self, registration: &str, token: &str) -> Key {
        let method: &[u8] = match self.method {
            HttpMethod::Get => b"GET",
            HttpMethod::Post => b"POST",
        };
        let mut parts: Vec<&[u8]> = vec![
            b"verification",
            registration.as_bytes(),
            token.as_bytes(),
            method,
            self.url.as_str().as_bytes(),
            self.form.as_deref().unwrap_or_default().as_bytes(),
        ];
        for (name, value) in &self.headers {
            parts.push(name.as_str().as_bytes());
            parts.push(value.as_bytes());
        }
        cache::key(parts)
    }

    /// The URL for messages: never the query, which may hold the token.
    pub(crate) fn shown_url(&self) -> String {
        let mut shown = self.url.clone();
        shown.set_query(None);
        shown.set_fragment(None);
        let _ = shown.set_password(None);
        shown.to_string()
    }

    /// The URL called.
    #[cfg(test)]
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The request, through the egress policy, following no redirect.
    fn request(&self, fetcher: &Fetcher, max_body: usize) -> Result<Outgoing, FetchError> {
        let method = match self.method {
            HttpMethod::Get => Method::GET,
            HttpMethod::Post => Method::POST,
        };
        Ok(fetcher
            .request(method, &self.url, Redirects::None)?
            .max_body(max_body)
            .with(|req| {
                let req = req.headers(self.headers.clone());
                match &self.form {
                    Some(form) => req.body(form.clone()),
                    None => req,
                }
            }))
    }
}

/// Send the call and read the answer: the JSON object of a 2xx (with its
/// size), the pass-through refusal of a 4xx/5xx, `idp_unavailable` otherwise.
pub(crate) async fn send(
    call: &Call,
    fetcher: &Fetcher,
    max_body: usize,
) -> Result<(Value, usize), AuthError> {
    let failed = |e: FetchError| unavailable(format!("verification endpoint: {e}"));
    let out = call
        .request(fetcher, max_body.max(PASS_THROUGH_MAX_BODY))
        .map_err(failed)?;
    let answer = fetcher.send(out).await.map_err(failed)?;
    let status = answer.status;
    if status.is_client_error() || status.is_server_error() {
        if answer.cut || answer.body.len() > PASS_THROUGH_MAX_BODY {
            tracing::warn!(url = %call.shown_url(), status = status.as_u16(),
                "verification endpoint's error answer is over 64 KiB; passing the first 64 KiB");
        }
        let content_type = answer.headers.get(CONTENT_TYPE).cloned();
        return Err(AuthError::pass_through(status, content_type, answer.body));
    }
    if !status.is_success() {
        return Err(unavailable(format!(
            "verification endpoint {} answered HTTP {} (redirects are not followed)",
            call.shown_url(),
            status.as_u16()
        )));
    }
    if answer.cut || answer.body.len() > max_body {
        return Err(unavailable(format!(
            "verification endpoint {} answered more than {max_body} bytes",
            call.shown_url()
        )));
    }
    let body = answer.body;
    match serde_json::from_slice::<Value>(&body) {
        Ok(answer @ Value::Object(_)) => Ok((answer, body.len())),
        Ok(_) => Err(invalid_claims(
            "the verification answer is JSON but not an object".into(),
        )),
        Err(_) => Err(invalid_claims("the verification answer is not JSON".into())),
    }
}

/// A mapped field as text (a number is written out), for names and emails.
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The principal the `response` mapping makes of a 2xx answer.
pub(crate) fn principal(
    reg: &Registration,
    cfg: &VerificationConfig,
    answer: &Value,
) -> Result<Principal, AuthError> {
    let uid_template = cfg
        .response
        .get("uid")
        .ok_or_else(|| invalid_claims("the registration maps no `uid`".into()))?;
    let subject = match template::render_response(uid_template, answer) {
        Ok(Value::String(s)) if !s.is_empty() => s,
        Ok(Value::Number(n)) => n.to_string(),
        Ok(Value::String(_)) => {
            return Err(invalid_claims(format!(
                "the uid of the verification answer ({uid_template}) is empty"
            )));
        }
        Ok(_) => {
            return Err(invalid_claims(format!(
                "the uid of the verification answer ({uid_template}) is neither a string nor a number"
            )));
        }
        Err(PathError::Missing(path)) => {
            return Err(invalid_claims(format!(
                "the verification answer has no `{path}` (mapped to uid)"
            )));
        }
        Err(PathError::NotText(path)) => {
            return Err(invalid_claims(format!(
                "`{path}` of the verification answer (mapped to uid) is not a string or a number"
            )));
        }
    };
    let mut principal = Principal {
        subject,
        ..Principal::default()
    };
    for name in &reg.claims.persist {
        if let Some(v) = answer.get(name) {
            principal.attributes.insert(name.clone(), v.clone());
        }
    }
    let mut login = None;
    let mut username = None;
    for (field, tpl) in &cfg.response {
        let Ok(value) = template::render_response(tpl, answer) else {
            continue;
        };
        match field.as_str() {
            "uid" => {}
            "login" => login = as_text(&value),
            "username" => username = as_text(&value),
            "email" => principal.email = value.as_str().map(str::to_owned),
            _ => {
                principal.attributes.insert(field.clone(), value);
            }
        }
    }
    principal.username = login.or(username);
    Ok(principal)
}
