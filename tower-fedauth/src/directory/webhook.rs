//! The platform's users webhook: the seven calls a federated identity
//! provider answers for the platform's Users service (get a user by id, by
//! email, by customer id; delete a user; mark its email verified; send it a
//! verification email; send a password reset email). The wire format is in
//! `docs/directory.md`:
//!
//! | call | request |
//! |---|---|
//! | [`get_by_id`](UsersWebhook::get_by_id) | `GET {base}/users/{id}` |
//! | [`get_by_email`](UsersWebhook::get_by_email) | `GET {base}/users?email={email}` |
//! | [`get_by_customer`](UsersWebhook::get_by_customer) | `GET {base}/users?customer={customer}` |
//! | [`delete`](UsersWebhook::delete) | `DELETE {base}/users/{id}` |
//! | [`mark_email_verified`](UsersWebhook::mark_email_verified) | `POST {base}/users/{id}/email-verified` |
//! | [`send_verification_email`](UsersWebhook::send_verification_email) | `POST {base}/users/{id}/verification-email` |
//! | [`send_password_reset_email`](UsersWebhook::send_password_reset_email) | `POST {base}/password-reset`, body `{"email": …}` |
//!
//! Every call also carries `registration={registration id}` in its query:
//! each application runs its own IdP, so a user only means something within
//! the registration (the tenant) that asks, and an answer is only used for
//! it.

use std::fmt;

use http::{HeaderName, HeaderValue, Method, StatusCode};
use url::Url;

use super::User;
use crate::egress::{Answer, FetchConfig, Fetcher, Redirects};
use crate::registration::Secret;
use crate::registry::{BaseUrlError, HttpClientConfig, base_url};

/// Ids and customer ids longer than this are not sent: no directory id is
/// that long, and the URL must stay bounded.
const MAX_ID_LEN: usize = 1024;

/// Email addresses longer than this are not sent (RFC 3696's 64 + 1 + 255,
/// rounded up).
const MAX_EMAIL_LEN: usize = 320;

/// Registration ids longer than this are not sent: no valid registration id
/// is (see [`crate::registration::MAX_ID_LEN`]).
const MAX_REGISTRATION_LEN: usize = crate::registration::MAX_ID_LEN;

/// Headers the client writes itself (or the HTTP stack does): a static
/// header may not replace them.
const RESERVED: [&str; 6] = [
    "accept",
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
];

/// Why a users webhook call failed. [`Unavailable`](Self::Unavailable)'s
/// text names the webhook and what the call met: for logs, never for a
/// response to a caller. No variant carries a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsersWebhookError {
    /// The webhook does not know the user (HTTP 404 or 410), or answered a
    /// record of another tenant (which is not used, as if unknown).
    #[error("the users webhook does not know the user")]
    NotFound,
    /// The webhook refused the call with this 4xx status (other than 404
    /// and 410): a bad credential, a call it does not allow, a conflict.
    #[error("the users webhook refused the call: HTTP {0}")]
    Rejected(u16),
    /// No usable answer: the egress policy refused the destination, the
    /// network failed or timed out, the webhook answered 5xx or a redirect,
    /// or its body is oversized, not JSON, or not the user asked for.
    #[error("the users webhook is unavailable: {0}")]
    Unavailable(String),
    /// This argument (`"registration"`, `"id"`, `"email"`, `"customer"`)
    /// cannot be sent: empty, too long, or (an id) `.` or `..`, which no
    /// path segment can carry. Nothing was sent.
    #[error("the {0} cannot be sent to the users webhook (empty, too long, or not a path segment)")]
    InvalidInput(&'static str),
}

/// A static header [`UsersWebhook::header`] cannot send. Never carries the
/// header's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookHeaderError {
    /// Not a valid header name.
    #[error("{0:?} is not a header name")]
    Name(String),
    /// The value holds characters a header cannot carry.
    #[error("the value of header {0} is not a valid header value")]
    Value(String),
    /// The client writes this header itself (`Authorization` included when
    /// a bearer credential is configured).
    #[error("header {0} is written by the client itself")]
    Reserved(String),
}

/// A typed client of the platform's users webhook, over the shared outgoing
/// client: the egress policy on the destination and every address it
/// resolves to, no redirects (these calls identify users and carry a
/// credential), a whole-call timeout and a body cap ([`HttpClientConfig`]).
/// Optional credentials: a bearer token ([`HttpClientConfig::bearer`]) and
/// static headers ([`header`](Self::header)), never printed. Cheap to clone.
#[derive(Clone)]
pub struct UsersWebhook {
    base: Url,
    fetcher: Fetcher,
    bearer: Option<Secret>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// One segment of a call's path.
#[derive(Clone, Copy)]
enum Part<'a> {
    /// A fixed segment (`users`, `email-verified`).
    Fixed(&'static str),
    /// A user id: one percent-encoded segment.
    Id(&'a str),
}

/// What a call asks for, to check the answer against.
#[derive(Clone, Copy)]
enum Asked<'a> {
    Id(&'a str),
    Email(&'a str),
    Customer(&'a str),
}

impl Asked<'_> {
    fn name(self) -> &'static str {
        match self {
            Asked::Id(_) => "get by id",
            Asked::Email(_) => "get by email",
            Asked::Customer(_) => "get by customer",
        }
    }

    /// Whether `user` is the user asked for (an email compared without
    /// ASCII case, as mail domains are).
    fn matches(self, user: &User) -> bool {
        match self {
            Asked::Id(id) => user.id == id,
            Asked::Email(email) => user.email.eq_ignore_ascii_case(email),
            Asked::Customer(customer) => user.customer == customer,
        }
    }
}

impl UsersWebhook {
    /// The webhook at `base` (e.g. `https://idp.example/users-webhook/v1`):
    /// an absolute http(s) URL the egress policy allows, without
    /// credentials, query or fragment.
    pub fn new(base: &str, config: HttpClientConfig) -> Result<Self, BaseUrlError> {
        let fetch = FetchConfig::default()
            .timeout(config.timeout)
            .max_body_bytes(config.max_body_bytes)
            .egress(config.egress.clone());
        Ok(Self {
            base: base_url(base, &config.egress)?,
            fetcher: Fetcher::new(fetch),
            bearer: config.bearer,
            headers: Vec::new(),
        })
    }

    /// Send `name: value` with every call (an API key, say). The value is a
    /// secret: never logged, and `Debug` prints the name only.
    pub fn header(
        mut self,
        name: &str,
        value: impl Into<Secret>,
    ) -> Result<Self, WebhookHeaderError> {
        let name =
            HeaderName::try_from(name).map_err(|_| WebhookHeaderError::Name(name.to_owned()))?;
        let reserved = RESERVED.contains(&name.as_str())
            || (name == http::header::AUTHORIZATION && self.bearer.is_some());
        if reserved {
            return Err(WebhookHeaderError::Reserved(name.to_string()));
        }
        let mut value = HeaderValue::try_from(value.into().expose())
            .map_err(|_| WebhookHeaderError::Value(name.to_string()))?;
        value.set_sensitive(true);
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value));
        Ok(self)
    }

    /// The webhook's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The user `id` of `registration`: `GET {base}/users/{id}`.
    pub async fn get_by_id(&self, registration: &str, id: &str) -> Result<User, UsersWebhookError> {
        let url = self.url(registration, &[Part::Fixed("users"), Part::Id(id)], None)?;
        self.get(registration, url, Asked::Id(id)).await
    }

    /// The user of `registration` with this email address:
    /// `GET {base}/users?email={email}`.
    pub async fn get_by_email(
        &self,
        registration: &str,
        email: &str,
    ) -> Result<User, UsersWebhookError> {
        let email = checked(email, MAX_EMAIL_LEN, "email")?;
        self.find(registration, ("email", email), Asked::Email(email))
            .await
    }

    /// The user of `registration` with this customer id:
    /// `GET {base}/users?customer={customer}`.
    pub async fn get_by_customer(
        &self,
        registration: &str,
        customer: &str,
    ) -> Result<User, UsersWebhookError> {
        let customer = checked(customer, MAX_ID_LEN, "customer")?;
        let asked = Asked::Customer(customer);
        self.find(registration, ("customer", customer), asked).await
    }

    /// Delete the user `id` of `registration`: `DELETE {base}/users/{id}`.
    pub async fn delete(&self, registration: &str, id: &str) -> Result<(), UsersWebhookError> {
        let url = self.url(registration, &[Part::Fixed("users"), Part::Id(id)], None)?;
        self.act(Method::DELETE, url, None, "delete").await
    }

    /// Mark the email address of user `id` verified:
    /// `POST {base}/users/{id}/email-verified`.
    pub async fn mark_email_verified(
        &self,
        registration: &str,
        id: &str,
    ) -> Result<(), UsersWebhookError> {
        self.on_user(registration, id, "email-verified", "mark email verified")
            .await
    }

    /// Have the IdP send user `id` an email address verification email:
    /// `POST {base}/users/{id}/verification-email`.
    pub async fn send_verification_email(
        &self,
        registration: &str,
        id: &str,
    ) -> Result<(), UsersWebhookError> {
        let what = "send verification email";
        self.on_user(registration, id, "verification-email", what)
            .await
    }

    /// Have the IdP send a password reset email to `email`:
    /// `POST {base}/password-reset` with `{"email": "…"}`. The address
    /// travels in the body, not the URL, which proxies and access logs keep.
    pub async fn send_password_reset_email(
        &self,
        registration: &str,
        email: &str,
    ) -> Result<(), UsersWebhookError> {
        let body = serde_json::json!({ "email": checked(email, MAX_EMAIL_LEN, "email")? });
        let url = self.url(registration, &[Part::Fixed("password-reset")], None)?;
        self.act(Method::POST, url, Some(body), "send password reset email")
            .await
    }

    /// `GET {base}/users?{name}={value}`: the one user with this member.
    async fn find(
        &self,
        registration: &str,
        param: (&str, &str),
        asked: Asked<'_>,
    ) -> Result<User, UsersWebhookError> {
        let url = self.url(registration, &[Part::Fixed("users")], Some(param))?;
        self.get(registration, url, asked).await
    }

    /// `POST {base}/users/{id}/{action}`, without a body.
    async fn on_user(
        &self,
        registration: &str,
        id: &str,
        action: &'static str,
        what: &str,
    ) -> Result<(), UsersWebhookError> {
        let path = [Part::Fixed("users"), Part::Id(id), Part::Fixed(action)];
        let url = self.url(registration, &path, None)?;
        self.act(Method::POST, url, None, what).await
    }

    /// `{base}/{path}?{param}&registration={registration}`, each id one
    /// percent-encoded segment (a `/` in it stays inside).
    fn url(
        &self,
        registration: &str,
        path: &[Part<'_>],
        param: Option<(&str, &str)>,
    ) -> Result<Url, UsersWebhookError> {
        checked(registration, MAX_REGISTRATION_LEN, "registration")?;
        let mut url = self.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| self.unavailable("url", "the base URL takes no path"))?;
            segments.pop_if_empty();
            for part in path {
                match *part {
                    Part::Fixed(segment) => segments.push(segment),
                    Part::Id(id) => match checked(id, MAX_ID_LEN, "id")? {
                        "." | ".." => return Err(UsersWebhookError::InvalidInput("id")),
                        id => segments.push(id),
                    },
                };
            }
        }
        let mut query = url.query_pairs_mut();
        if let Some((name, value)) = param {
            query.append_pair(name, value);
        }
        query.append_pair("registration", registration);
        drop(query);
        Ok(url)
    }

    /// A GET that answers one user: 200 with a [`User`] that is the one
    /// asked for and belongs to `registration`.
    async fn get(
        &self,
        registration: &str,
        url: Url,
        asked: Asked<'_>,
    ) -> Result<User, UsersWebhookError> {
        let what = asked.name();
        let answer = self.call(Method::GET, url, None, what).await?;
        if answer.status != StatusCode::OK {
            let why = format!("answered HTTP {} without a user", answer.status.as_u16());
            return Err(self.unavailable(what, &why));
        }
        let user: User = serde_json::from_slice(&answer.body)
            .map_err(|e| self.unavailable(what, &format!("the answer is not a user: {e}")))?;
        if !asked.matches(&user) {
            return Err(self.unavailable(what, "the answer is the record of another user"));
        }
        if !user.belongs_to(registration) {
            // A webhook that hands one registration another tenant's
            // record is misconfigured, or is being probed with a minted
            // subject: the record is not used, and the operator is told.
            tracing::warn!(
                webhook = %self.base,
                call = what,
                registration,
                tenant = ?user.tenant,
                "users webhook answered a record of another tenant; treated as unknown"
            );
            return Err(UsersWebhookError::NotFound);
        }
        Ok(user)
    }

    /// A call that changes something or has the IdP act: any 2xx.
    async fn act(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
        what: &str,
    ) -> Result<(), UsersWebhookError> {
        self.call(method, url, body, what).await.map(drop)
    }

    /// Send one call through the egress policy, without redirects, and
    /// sort its answer: a 2xx within the cap, or the error of its status.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
        what: &str,
    ) -> Result<Answer, UsersWebhookError> {
        let fail = |e: crate::egress::FetchError| self.unavailable(what, &e.reason());
        let out = self
            .fetcher
            .request(method, &url, Redirects::None)
            .map_err(fail)?
            .with(|mut req| {
                req = req.header(http::header::ACCEPT, "application/json");
                if let Some(token) = &self.bearer {
                    req = req.bearer_auth(token.expose());
                }
                for (name, value) in &self.headers {
                    req = req.header(name, value);
                }
                if let Some(body) = body {
                    req = req
                        .header(http::header::CONTENT_TYPE, "application/json")
                        .body(body.to_string());
                }
                req
            });
        let answer = self.fetcher.send(out).await.map_err(fail)?;
        let status = answer.status.as_u16();
        match status {
            200..=299 if answer.cut => {
                Err(self.unavailable(what, &format!("answer larger than {} bytes", answer.limit)))
            }
            200..=299 => Ok(answer),
            404 | 410 => Err(UsersWebhookError::NotFound),
            400..=499 => Err(UsersWebhookError::Rejected(status)),
            300..=399 => Err(self.unavailable(
                what,
                &format!("answered HTTP {status} (redirects are not followed)"),
            )),
            _ => Err(self.unavailable(what, &format!("answered HTTP {status}"))),
        }
    }

    fn unavailable(&self, what: &str, why: &str) -> UsersWebhookError {
        UsersWebhookError::Unavailable(format!("{} ({what}): {why}", self.base))
    }
}

/// `value` if a call can carry it: not empty, at most `max` bytes.
fn checked<'a>(
    value: &'a str,
    max: usize,
    field: &'static str,
) -> Result<&'a str, UsersWebhookError> {
    if value.is_empty() || value.len() > max {
        return Err(UsersWebhookError::InvalidInput(field));
    }
    Ok(value)
}

impl fmt::Debug for UsersWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("UsersWebhook")
            .field("base", &self.base.as_str())
            .field("bearer", &self.bearer.as_ref().map(|_| "***"))
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}
