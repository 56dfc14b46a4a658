//! The users webhook client against a real server on 127.0.0.1: the exact
//! request of each of the seven calls, the typed result, every error class,
//! a destination the egress policy refuses. The server and client here also
//! serve the directory's test of its get path (`http_tests.rs`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;
use crate::egress::EgressPolicy;
use crate::registry::HttpClientConfig;
use crate::testkit::local_egress;

const BEARER: &str = "s3cret-bearer";
const API_KEY: &str = "s3cret-key";

/// One request the webhook saw.
#[derive(Debug)]
pub(super) struct Seen {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: String,
}

/// What the webhook answers next.
#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

/// A users webhook that records every request and answers `reply`.
pub(super) struct Hook {
    seen: Mutex<Vec<Seen>>,
    reply: Mutex<Reply>,
}

impl Hook {
    pub(super) fn answer(&self, status: u16, body: impl Into<String>) {
        *self.reply.lock().unwrap() = Reply {
            status,
            body: body.into(),
            delay: Duration::ZERO,
        };
    }

    pub(super) fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }

    /// The one request since the last `take`.
    pub(super) fn one(&self) -> Seen {
        let mut seen = self.take();
        assert_eq!(seen.len(), 1, "{seen:?}");
        seen.remove(0)
    }
}

async fn record(
    State(hook): State<Arc<Hook>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    hook.seen.lock().unwrap().push(Seen {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let reply = hook.reply.lock().unwrap().clone();
    tokio::time::sleep(reply.delay).await;
    let status = StatusCode::from_u16(reply.status).unwrap();
    let mut response = (status, reply.body).into_response();
    if status.is_redirection() {
        let location = ::http::HeaderValue::from_static("/v1/elsewhere");
        response.headers_mut().insert("location", location);
    }
    response
}

pub(super) struct Server {
    pub(super) hook: Arc<Hook>,
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(super) async fn start() -> Server {
    let hook = Arc::new(Hook {
        seen: Mutex::default(),
        reply: Mutex::new(Reply {
            status: 200,
            body: record_json().to_string(),
            delay: Duration::ZERO,
        }),
    });
    let app = Router::new().fallback(record).with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server { hook, base, task }
}

fn config() -> HttpClientConfig {
    HttpClientConfig::default()
        .timeout(Duration::from_millis(500))
        .max_body_bytes(4096)
        .egress(local_egress())
        .bearer(BEARER)
}

/// The client of the tests: a bearer and a static API key.
pub(super) fn webhook(server: &Server) -> UsersWebhook {
    UsersWebhook::new(&server.base, config())
        .unwrap()
        .header("X-Api-Key", API_KEY)
        .unwrap()
}

/// Every member of the seed's schema; an int64 past 2^53, as a string.
fn record_json() -> Value {
    json!({
        "id": "u/1 x", "customer": "c 1", "email": "al@example.com",
        "create_time": "2024-01-02T03:04:05Z", "update_time": "2024-02-03T04:05:06Z",
        "logins_count": "9007199254740993", "login_time": "2024-03-04T05:06:07Z",
        "email_verified": true, "blocked": false, "unknown": {"ignored": 1}
    })
}

pub(super) fn expected_user() -> User {
    User::new("u/1 x", "c 1", "al@example.com")
        .create_time(Some("2024-01-02T03:04:05Z".into()))
        .update_time(Some("2024-02-03T04:05:06Z".into()))
        .logins_count(Some(9_007_199_254_740_993))
        .login_time(Some("2024-03-04T05:06:07Z".into()))
        .email_verified(true)
}

/// A registration id that needs form encoding in the query.
pub(super) const REGISTRATION: &str = "q/1 +&=x";
pub(super) const REGISTRATION_QUERY: &str = "registration=q%2F1+%2B%26%3Dx";

/// `seen` is exactly this request, with the client's headers and
/// credentials.
pub(super) fn assert_sent(seen: &Seen, method: Method, path: &str, query: &str, body: &str) {
    assert_eq!(
        (&seen.method, seen.path.as_str(), seen.query.as_deref()),
        (&method, path, Some(query)),
    );
    let header = |name: &str| seen.headers.get(name).map(|v| v.to_str().unwrap());
    assert_eq!(header("accept"), Some("application/json"));
    assert_eq!(header("authorization"), Some("Bearer s3cret-bearer"));
    assert_eq!(header("x-api-key"), Some(API_KEY));
    let json = (!body.is_empty()).then_some("application/json");
    assert_eq!(
        header("content-type"),
        json,
        "a content type with a body only"
    );
    assert_eq!(seen.body, body);
}

#[tokio::test]
async fn the_three_gets_send_their_exact_request_and_answer_the_user() {
    let server = start().await;
    let hook = webhook(&server);
    let got = hook.get_by_id(REGISTRATION, "u/1 x").await.unwrap();
    assert_eq!(got, expected_user());
    let seen = server.hook.one();
    assert_sent(
        &seen,
        Method::GET,
        "/v1/users/u%2F1%20x",
        REGISTRATION_QUERY,
        "",
    );

    // The address compares without ASCII case, as the IdP may store it.
    let got = hook.get_by_email(REGISTRATION, "Al@Example.com").await;
    assert_eq!(got.unwrap(), expected_user());
    let query = format!("email=Al%40Example.com&{REGISTRATION_QUERY}");
    assert_sent(&server.hook.one(), Method::GET, "/v1/users", &query, "");

    let got = hook.get_by_customer(REGISTRATION, "c 1").await;
    assert_eq!(got.unwrap(), expected_user());
    let query = format!("customer=c+1&{REGISTRATION_QUERY}");
    assert_sent(&server.hook.one(), Method::GET, "/v1/users", &query, "");
}

#[tokio::test]
async fn the_four_actions_send_their_exact_request() {
    let server = start().await;
    let hook = webhook(&server);
    for status in [200, 202, 204] {
        server.hook.answer(status, "");
        hook.delete(REGISTRATION, "u/1 x").await.unwrap();
        let seen = server.hook.one();
        assert_sent(
            &seen,
            Method::DELETE,
            "/v1/users/u%2F1%20x",
            REGISTRATION_QUERY,
            "",
        );
    }
    server.hook.answer(204, "");
    for action in ["email-verified", "verification-email"] {
        let done = if action == "email-verified" {
            hook.mark_email_verified(REGISTRATION, "u/1 x").await
        } else {
            hook.send_verification_email(REGISTRATION, "u/1 x").await
        };
        assert_eq!(done, Ok(()), "{action}");
        let path = format!("/v1/users/u%2F1%20x/{action}");
        let seen = server.hook.one();
        assert_sent(&seen, Method::POST, &path, REGISTRATION_QUERY, "");
    }

    // The address goes in the body, never in the URL.
    hook.send_password_reset_email(REGISTRATION, "al+1@example.com")
        .await
        .unwrap();
    let seen = server.hook.one();
    let body = r#"{"email":"al+1@example.com"}"#;
    assert_sent(
        &seen,
        Method::POST,
        "/v1/password-reset",
        REGISTRATION_QUERY,
        body,
    );
}

/// The seven calls in turn, with `registration`; a get that answered a
/// user is `Ok(())`.
async fn each_call(hook: &UsersWebhook, registration: &str) -> Vec<Result<(), UsersWebhookError>> {
    let (id, email) = ("u/1 x", "al@example.com");
    vec![
        hook.get_by_id(registration, id).await.map(drop),
        hook.get_by_email(registration, email).await.map(drop),
        hook.get_by_customer(registration, "c 1").await.map(drop),
        hook.delete(registration, id).await,
        hook.mark_email_verified(registration, id).await,
        hook.send_verification_email(registration, id).await,
        hook.send_password_reset_email(registration, email).await,
    ]
}

/// `got` is `Unavailable`, its message saying `why` and no secret.
#[track_caller]
fn assert_unavailable<T: std::fmt::Debug>(got: Result<T, UsersWebhookError>, why: &str) {
    match &got {
        Err(UsersWebhookError::Unavailable(message)) => {
            assert!(message.contains(why), "{why}: {message}");
            assert!(!message.contains("s3cret"), "{message}");
        }
        other => panic!("not Unavailable ({why}): {other:?}"),
    }
}

#[tokio::test]
async fn statuses_become_typed_errors_on_every_call() {
    let server = start().await;
    let hook = webhook(&server);
    for (status, expected) in [
        (404, UsersWebhookError::NotFound),
        (410, UsersWebhookError::NotFound),
        (400, UsersWebhookError::Rejected(400)),
        (401, UsersWebhookError::Rejected(401)),
        (403, UsersWebhookError::Rejected(403)),
        (409, UsersWebhookError::Rejected(409)),
        (422, UsersWebhookError::Rejected(422)),
    ] {
        server.hook.answer(status, r#"{"error": "x"}"#);
        for got in each_call(&hook, "quid-1").await {
            assert_eq!(got, Err(expected.clone()), "{status}");
        }
        assert_eq!(server.hook.take().len(), 7);
    }
    for (status, why) in [
        (500, "500"),
        (502, "502"),
        (503, "503"),
        (302, "302 (redirects are not followed)"),
        (307, "307 (redirects are not followed)"),
    ] {
        server.hook.answer(status, "");
        for got in each_call(&hook, "quid-1").await {
            assert_unavailable(got, &format!("answered HTTP {why}"));
        }
        let seen = server.hook.take();
        assert_eq!(
            seen.len(),
            7,
            "{status}: one request per call, no redirect followed"
        );
        assert!(seen.iter().all(|s| s.path != "/v1/elsewhere"));
    }
}

#[tokio::test]
async fn unusable_answers_are_unavailable_never_a_panic() {
    let server = start().await;
    let hook = webhook(&server);
    let with = |member: &str, value: Value| {
        let mut record = record_json();
        record[member] = value;
        record.to_string()
    };
    let oversized = with("customer", json!("c".repeat(5000)));
    let not_a_user = "the answer is not a user";
    for (status, body, why) in [
        (200, String::new(), not_a_user),
        (200, "<html>users</html>".to_owned(), not_a_user),
        (200, "[]".to_owned(), not_a_user),
        (
            200,
            json!({"id": "u/1 x", "customer": "c 1"}).to_string(),
            not_a_user,
        ),
        (200, with("blocked", json!("yes")), not_a_user),
        (200, with("email_verified", json!(1)), not_a_user),
        (
            200,
            with("logins_count", json!("many")),
            "logins_count is not an int64",
        ),
        (
            200,
            with("logins_count", json!("9223372036854775808")),
            "logins_count is not an int64",
        ),
        (200, with("logins_count", json!(12.5)), not_a_user),
        (
            200,
            with("id", json!("someone-else")),
            "the record of another user",
        ),
        (200, oversized, "answer larger than 4096 bytes"),
        (204, String::new(), "answered HTTP 204 without a user"),
        (
            201,
            record_json().to_string(),
            "answered HTTP 201 without a user",
        ),
    ] {
        server.hook.answer(status, body.clone());
        let got = hook.get_by_id("quid-1", "u/1 x").await;
        assert_unavailable(got.clone(), "(get by id): ");
        assert_unavailable(got, why);
    }
    // The other gets check the answer is the user they asked for.
    server.hook.answer(200, record_json().to_string());
    for err in [
        hook.get_by_email("quid-1", "bob@example.com").await,
        hook.get_by_customer("quid-1", "c 2").await,
    ] {
        assert_unavailable(err, "the record of another user");
    }
    // An action's answer is not read as a user: any 2xx body is accepted,
    // unless it is over the cap.
    server.hook.answer(200, "not json");
    assert_eq!(hook.delete("quid-1", "u-1").await, Ok(()));
    server.hook.answer(200, "x".repeat(5000));
    let got = hook.delete("quid-1", "u-1").await;
    assert_unavailable(got, "(delete): answer larger than 4096 bytes");
}

#[tokio::test]
async fn a_record_of_another_tenant_is_not_found() {
    let server = start().await;
    let hook = webhook(&server);
    for (tenant, registration, expected) in [
        (json!("quid-1"), "quid-1", Ok(())),
        (json!(null), "quid-1", Ok(())),
        (json!("quid-2"), "quid-1", Err(UsersWebhookError::NotFound)),
        (json!(""), "quid-1", Err(UsersWebhookError::NotFound)),
        (json!("QUID-1"), "quid-1", Err(UsersWebhookError::NotFound)),
    ] {
        let mut record = record_json();
        record["tenant"] = tenant.clone();
        server.hook.answer(200, record.to_string());
        let calls = [
            hook.get_by_id(registration, "u/1 x").await,
            hook.get_by_email(registration, "al@example.com").await,
            hook.get_by_customer(registration, "c 1").await,
        ];
        for got in calls {
            assert_eq!(got.map(drop), expected, "{tenant}");
        }
    }
}

#[tokio::test]
async fn arguments_no_request_can_carry_are_refused_before_sending() {
    let server = start().await;
    let hook = webhook(&server);
    let long_id = "i".repeat(1025);
    let long_registration = "q".repeat(crate::registration::MAX_ID_LEN + 1);
    let long_email = format!("{}@example.com", "a".repeat(320));
    let invalid = UsersWebhookError::InvalidInput;
    for (registration, id) in [("", "u-1"), (long_registration.as_str(), "u-1")] {
        for got in each_call(&hook, registration).await {
            assert_eq!(got, Err(invalid("registration")));
        }
        assert_eq!(
            hook.get_by_id(registration, id).await,
            Err(invalid("registration"))
        );
    }
    for id in ["", ".", "..", long_id.as_str()] {
        assert_eq!(hook.get_by_id("quid-1", id).await, Err(invalid("id")));
        assert_eq!(hook.delete("quid-1", id).await, Err(invalid("id")));
        let verified = hook.mark_email_verified("quid-1", id).await;
        assert_eq!(verified, Err(invalid("id")));
        let sent = hook.send_verification_email("quid-1", id).await;
        assert_eq!(sent, Err(invalid("id")));
    }
    for email in ["", long_email.as_str()] {
        assert_eq!(
            hook.get_by_email("quid-1", email).await,
            Err(invalid("email"))
        );
        let reset = hook.send_password_reset_email("quid-1", email).await;
        assert_eq!(reset, Err(invalid("email")));
    }
    for customer in ["", long_id.as_str()] {
        let got = hook.get_by_customer("quid-1", customer).await;
        assert_eq!(got, Err(invalid("customer")));
    }
    assert!(server.hook.take().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_destination_the_policy_refuses_is_never_connected_to() {
    let server = start().await;
    // An address outside the policy is refused when the client is built.
    let err = UsersWebhook::new(&server.base, HttpClientConfig::default()).unwrap_err();
    assert!(err.reason.contains("egress policy"), "{err}");
    // A name is checked on what it resolves to, at every call.
    let port = server.base.split(':').nth(2).unwrap();
    let base = format!("http://localhost:{port}");
    let policy = EgressPolicy::new().allow_http(true);
    let config = HttpClientConfig::default().egress(policy).bearer(BEARER);
    let hook = UsersWebhook::new(&base, config).unwrap();
    for got in each_call(&hook, "quid-1").await {
        assert_unavailable(got, "refused by the egress policy");
    }
    assert!(server.hook.take().is_empty(), "the webhook saw no request");
}

#[tokio::test]
async fn a_slow_or_absent_webhook_is_unavailable_within_the_timeout() {
    let server = start().await;
    let hook = webhook(&server);
    server.hook.reply.lock().unwrap().delay = Duration::from_secs(3);
    let started = Instant::now();
    let got = hook.get_by_id("quid-1", "u/1 x").await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_unavailable(got, "timed out");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let hook = UsersWebhook::new(&closed, config()).unwrap();
    assert_unavailable(hook.delete("quid-1", "u-1").await, "connection failed");
}

#[tokio::test]
async fn static_headers_are_checked_and_never_printed() {
    let server = start().await;
    let hook = webhook(&server);
    let printed = format!("{hook:?}");
    assert!(
        printed.contains("x-api-key") && printed.contains("***"),
        "{printed}"
    );
    assert!(!printed.contains("s3cret"), "{printed}");
    let fresh = || UsersWebhook::new(&server.base, config());
    let header = |name: &str, value: &str| fresh().unwrap().header(name, value).map(drop);
    assert_eq!(
        header("bad name", "v"),
        Err(WebhookHeaderError::Name("bad name".into()))
    );
    for name in [
        "Content-Type",
        "accept",
        "host",
        "content-length",
        "authorization",
    ] {
        let reserved = WebhookHeaderError::Reserved(name.to_ascii_lowercase());
        assert_eq!(header(name, "v"), Err(reserved));
    }
    let err = header("x-api-key", "s3cret\nInjected: 1").unwrap_err();
    assert_eq!(err, WebhookHeaderError::Value("x-api-key".into()));
    assert!(!err.to_string().contains("s3cret"));
    // Without a bearer, Authorization is the operator's; a header set
    // twice is sent once, with the last value.
    let no_bearer = HttpClientConfig::default().egress(local_egress());
    let hook = UsersWebhook::new(&server.base, no_bearer)
        .unwrap()
        .header("authorization", "Basic czNjcmV0")
        .unwrap()
        .header("x-api-key", "old")
        .unwrap()
        .header("x-api-key", API_KEY)
        .unwrap();
    hook.get_by_id("quid-1", "u/1 x").await.unwrap();
    let seen = server.hook.one();
    assert_eq!(seen.headers["authorization"], "Basic czNjcmV0");
    let keys: Vec<_> = seen.headers.get_all("x-api-key").iter().collect();
    assert_eq!(keys, [API_KEY]);
}

#[test]
fn users_serialize_to_the_schema() {
    let user = expected_user().tenant(Some("quid-1".into()));
    let value = serde_json::to_value(&user).unwrap();
    assert_eq!(value["logins_count"], json!("9007199254740993"));
    assert_eq!(value["tenant"], json!("quid-1"));
    assert_eq!(serde_json::from_value::<User>(value).unwrap(), user);
    let bare = serde_json::to_value(User::new("u", "c", "e")).unwrap();
    assert_eq!(
        bare,
        json!({"id": "u", "customer": "c", "email": "e", "email_verified": false, "blocked": false})
    );
}
