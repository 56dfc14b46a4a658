//! The user directory through the authenticator: known, unknown, blocked,
//! unverified, down; per registration and global settings; its place in
//! the order of checks; the user record in the handler's context; tenant
//! isolation (two registrations minting the same subject).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use fedauth_tests::{assert_refused, builder, call, call_with, jwks_registration};
use http::Request;
use serde_json::{Value, json};
use tower_fedauth::directory::{DirectoryCacheConfig, HttpUserDirectory};
use tower_fedauth::registry::HttpClientConfig;
use tower_fedauth::testkit::{MockIdp, local_egress};
use tower_fedauth::{Authenticator, DirectoryConfig, FedAuthLayer, PropertyResolver};

use super::servers::{self, Service};

/// A record of the fixture's registration `quid-1` (its `tenant`).
fn user(id: &str, blocked: bool, verified: bool) -> Value {
    json!({
        "id": id, "customer": format!("cust-{id}"), "email": format!("{id}@example.com"),
        "tenant": "quid-1", "email_verified": verified, "blocked": blocked,
        "create_time": "2024-01-02T03:04:05Z", "update_time": "2024-02-03T04:05:06Z",
        "logins_count": "12",
    })
}

/// The directory's client: plain http to 127.0.0.1, short timeout.
fn client_config() -> HttpClientConfig {
    HttpClientConfig::default()
        .timeout(Duration::from_millis(500))
        .egress(local_egress())
}

struct Fixture {
    idp: MockIdp,
    users: Service,
}

impl Fixture {
    async fn start() -> Self {
        let users = servers::start("users").await;
        users.knobs.put("alice", user("alice", false, true));
        users.knobs.put("bob", user("bob", true, true));
        users.knobs.put("carol", user("carol", false, false));
        Self {
            idp: MockIdp::start().await,
            users,
        }
    }

    fn auth(&self, extra: &str, config: DirectoryConfig) -> Authenticator {
        let directory = HttpUserDirectory::new(&self.users.base, client_config()).unwrap();
        builder(&jwks_registration(&self.idp, "quid-1", extra))
            .property(PropertyResolver::PathSegmentAfter("properties".into()))
            .user_directory(directory, config)
            .build()
    }

    fn token(&self, subject: &str) -> String {
        self.idp
            .token()
            .subject(subject)
            .sign(&self.idp.signing_key())
    }
}

fn no_cache() -> DirectoryCacheConfig {
    DirectoryCacheConfig::default()
        .ttl(Duration::ZERO)
        .negative_ttl(Duration::ZERO)
        .max_stale(Duration::ZERO)
        .failure_backoff(Duration::ZERO)
}

async fn context(auth: &Authenticator, token: &str) -> Result<tower_fedauth::AuthContext, String> {
    context_as(auth, token, "quid-1").await
}

async fn context_as(
    auth: &Authenticator,
    token: &str,
    registration: &str,
) -> Result<tower_fedauth::AuthContext, String> {
    let req = Request::builder()
        .header("authorization", format!("Bearer {token}"))
        .header("x-sc-auth", registration)
        .body(())
        .unwrap();
    auth.authenticate(&req)
        .await
        .map_err(|e| e.code().as_str().to_owned())
}

#[tokio::test]
async fn the_handler_sees_the_user_record() {
    let f = Fixture::start().await;
    let auth = f.auth("", DirectoryConfig::default());
    let ctx = context(&auth, &f.token("alice")).await.unwrap();
    let user = ctx.user().expect("user record");
    assert_eq!(
        (user.id.as_str(), user.customer.as_str()),
        ("alice", "cust-alice")
    );
    assert_eq!(user.tenant.as_deref(), Some("quid-1"));
    assert_eq!(user.logins_count, Some(12));
    assert!(user.email_verified && !user.blocked);
    // Unknown users pass by default, with no record.
    let ctx = context(&auth, &f.token("nobody")).await.unwrap();
    assert!(ctx.user().is_none());
}

#[tokio::test]
async fn unknown_blocked_and_unverified_users_are_refused() {
    let f = Fixture::start().await;
    let layer = FedAuthLayer::new(f.auth("", DirectoryConfig::default()));
    assert_refused(
        &call_with(&layer, &f.token("bob"), "quid-1").await,
        403,
        "user_blocked",
        None,
    );
    assert_eq!(
        call_with(&layer, &f.token("carol"), "quid-1").await.status,
        200
    );

    let strict = FedAuthLayer::new(
        f.auth(
            "",
            DirectoryConfig::default()
                .require_known_user(true)
                .require_verified_email(true),
        ),
    );
    assert_refused(
        &call_with(&strict, &f.token("nobody"), "quid-1").await,
        403,
        "user_unknown",
        None,
    );
    let a = call_with(&strict, &f.token("carol"), "quid-1").await;
    assert_refused(&a, 403, "user_unknown", None);
    assert!(
        a.body["details"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("not verified")
    );
    assert_eq!(
        call_with(&strict, &f.token("alice"), "quid-1").await.status,
        200
    );

    // Per registration: require_known_user in the registry overrides the global default.
    let per_reg =
        FedAuthLayer::new(f.auth("require_known_user = true\n", DirectoryConfig::default()));
    assert_refused(
        &call_with(&per_reg, &f.token("nobody"), "quid-1").await,
        403,
        "user_unknown",
        None,
    );
    let relaxed = FedAuthLayer::new(f.auth(
        "require_known_user = false\n",
        DirectoryConfig::default().require_known_user(true),
    ));
    assert_eq!(
        call_with(&relaxed, &f.token("nobody"), "quid-1")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn directory_down_is_503_unless_a_cached_answer_serves() {
    let f = Fixture::start().await;
    let cached = FedAuthLayer::new(
        f.auth(
            "",
            DirectoryConfig::default().cache(
                DirectoryCacheConfig::default()
                    .ttl(Duration::ZERO)
                    .failure_backoff(Duration::ZERO),
            ),
        ),
    );
    assert_eq!(
        call_with(&cached, &f.token("alice"), "quid-1").await.status,
        200
    );
    f.users.knobs.set_status(Some(503));
    assert_eq!(
        call_with(&cached, &f.token("alice"), "quid-1").await.status,
        200,
        "the last answer serves while the directory is down"
    );
    let a = call_with(&cached, &f.token("dave"), "quid-1").await;
    assert_refused(&a, 503, "directory_unavailable", None);

    let uncached = FedAuthLayer::new(f.auth("", DirectoryConfig::default().cache(no_cache())));
    assert_refused(
        &call_with(&uncached, &f.token("alice"), "quid-1").await,
        503,
        "directory_unavailable",
        None,
    );
    f.users.knobs.set_status(None);
    f.users.knobs.set_delay(Duration::from_secs(3));
    assert_refused(
        &call_with(&uncached, &f.token("alice"), "quid-1").await,
        503,
        "directory_unavailable",
        None,
    );
    f.users.knobs.set_delay(Duration::ZERO);
    f.users.knobs.set_raw_body(Some("{\"id\": \"alice\"}"));
    assert_refused(
        &call_with(&uncached, &f.token("alice"), "quid-1").await,
        503,
        "directory_unavailable",
        None,
    );
}

#[tokio::test]
async fn the_directory_is_step_12() {
    let f = Fixture::start().await;
    let layer = FedAuthLayer::new(f.auth(
        "[registrations.properties]\n\"property-1\" = [\"reader\"]\n",
        DirectoryConfig::default().require_known_user(true),
    ));
    // A token that fails an earlier check never reaches the directory.
    let expired = f
        .idp
        .token()
        .subject("nobody")
        .expires_in(-3600)
        .sign(&f.idp.signing_key());
    let before = f.users.knobs.hits();
    assert_refused(
        &call_with(&layer, &expired, "quid-1").await,
        401,
        "token_expired",
        Some("invalid_token"),
    );
    assert_eq!(
        f.users.knobs.hits(),
        before,
        "directory not asked for a refused token"
    );
    // The directory comes before property and roles.
    let bearer = format!("Bearer {}", f.token("nobody"));
    let headers = [("authorization", bearer.as_str()), ("x-sc-auth", "quid-1")];
    let a = call(&layer, &headers, "/properties/property-9/x").await;
    assert_refused(&a, 403, "user_unknown", None);
    let bearer = format!("Bearer {}", f.token("alice"));
    let headers = [("authorization", bearer.as_str()), ("x-sc-auth", "quid-1")];
    let a = call(&layer, &headers, "/properties/property-9/x").await;
    assert_refused(&a, 403, "property_not_enabled", None);
}

/// A token answered from the verified-token cache still meets the
/// directory on every request: a user blocked after their token was first
/// accepted is refused on the next request with that same token.
#[tokio::test]
async fn a_cached_token_still_asks_the_directory_every_time() {
    let f = Fixture::start().await;
    f.users.knobs.put("dave", user("dave", false, true));
    let auth = f.auth("", DirectoryConfig::default().cache(no_cache()));
    let layer = FedAuthLayer::new(auth.clone());
    let token = f.token("dave");
    for round in 1..=2 {
        let before = f.users.knobs.hits();
        assert_eq!(
            call_with(&layer, &token, "quid-1").await.status,
            200,
            "round {round}"
        );
        assert_eq!(
            f.users.knobs.hits(),
            before + 1,
            "round {round}: directory asked"
        );
        assert_eq!(
            auth.token_cache_stats().entries,
            1,
            "round {round}: token cached"
        );
    }
    f.users.knobs.put("dave", user("dave", true, true));
    assert_refused(
        &call_with(&layer, &token, "quid-1").await,
        403,
        "user_blocked",
        None,
    );
}

/// A users webhook shared by tenants that scopes each lookup by the
/// `registration` query parameter, and records each request's query.
struct ScopedUsers {
    state: Arc<Scoped>,
    base: String,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Scoped {
    users: Mutex<HashMap<(String, String), Value>>,
    queries: Mutex<Vec<String>>,
}

impl ScopedUsers {
    async fn start() -> Self {
        let state = Arc::new(Scoped::default());
        let app = Router::new()
            .route(
                "/users/{id}",
                get(
                    |State(s): State<Arc<Scoped>>,
                     Path(id): Path<String>,
                     uri: Uri,
                     Query(q): Query<HashMap<String, String>>| async move {
                        let query = uri.query().unwrap_or_default().to_owned();
                        s.queries.lock().unwrap().push(query);
                        let registration = q.get("registration").cloned().unwrap_or_default();
                        match s.users.lock().unwrap().get(&(registration, id)) {
                            Some(user) => (StatusCode::OK, user.to_string()).into_response(),
                            None => StatusCode::NOT_FOUND.into_response(),
                        }
                    },
                ),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { state, base, task }
    }

    fn put(&self, registration: &str, id: &str, customer: &str) {
        let user = json!({
            "id": id, "customer": customer, "email": format!("{customer}@example.com"),
            "tenant": registration, "email_verified": true,
        });
        let key = (registration.to_owned(), id.to_owned());
        self.state.users.lock().unwrap().insert(key, user);
    }

    fn queries(&self) -> Vec<String> {
        self.state.queries.lock().unwrap().clone()
    }
}

impl Drop for ScopedUsers {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn token_of(idp: &MockIdp, subject: &str) -> String {
    idp.token().subject(subject).sign(&idp.signing_key())
}

/// Three applications, each with its own IdP, mint the same `sub`. Each
/// gets its own user record (quid-3 has none), in any order and from the
/// cache, never another's; every directory request names the registration.
#[tokio::test]
async fn registrations_minting_the_same_subject_get_their_own_users() {
    let idps = [
        MockIdp::start().await,
        MockIdp::start().await,
        MockIdp::start().await,
    ];
    let users = ScopedUsers::start().await;
    users.put("quid-1", "shared", "cust-1");
    users.put("quid-2", "shared", "cust-2");
    let toml = [
        jwks_registration(&idps[0], "quid-1", ""),
        jwks_registration(&idps[1], "quid-2", ""),
        jwks_registration(&idps[2], "quid-3", ""),
        jwks_registration(&idps[2], "quid-4", "require_known_user = true\n"),
    ]
    .concat();
    let directory = HttpUserDirectory::new(&users.base, client_config()).unwrap();
    let auth = builder(&toml)
        .user_directory(directory, DirectoryConfig::default())
        .build();
    let cases = [
        (&idps[1], "quid-2", Some("cust-2")),
        (&idps[0], "quid-1", Some("cust-1")),
        (&idps[2], "quid-3", None),
    ];
    for round in 1..=2 {
        for (idp, registration, customer) in cases {
            let ctx = context_as(&auth, &token_of(idp, "shared"), registration)
                .await
                .unwrap();
            assert_eq!(ctx.subject(), "shared");
            assert_eq!(
                ctx.user().map(|u| u.customer.as_str()),
                customer,
                "round {round}, {registration}"
            );
        }
    }
    assert_eq!(
        users.queries(),
        [
            "registration=quid-2",
            "registration=quid-1",
            "registration=quid-3"
        ],
        "each registration asked once under its own id, then cached"
    );
    // Where a known user is required, no record of its own is a refusal,
    // whoever else knows the subject.
    let layer = FedAuthLayer::new(auth);
    let a = call_with(&layer, &token_of(&idps[2], "shared"), "quid-4").await;
    assert_refused(&a, 403, "user_unknown", None);
    assert_eq!(users.queries().last().unwrap(), "registration=quid-4");
}

/// A directory that answers by subject alone hands quid-1's record to any
/// registration: its `tenant` says it is quid-1's, so quid-2 does not get
/// it (no record; 403 `user_unknown` when a known user is required), not
/// even to be refused as blocked.
#[tokio::test]
async fn a_record_of_another_tenant_is_not_used() {
    let f = Fixture::start().await;
    let other = MockIdp::start().await;
    let toml = [
        jwks_registration(&f.idp, "quid-1", ""),
        jwks_registration(&other, "quid-2", ""),
    ]
    .concat();
    let auth = |config: DirectoryConfig| {
        let directory = HttpUserDirectory::new(&f.users.base, client_config()).unwrap();
        builder(&toml).user_directory(directory, config).build()
    };
    let lax = auth(DirectoryConfig::default());
    let strict = auth(DirectoryConfig::default().require_known_user(true));

    let own = context_as(&lax, &f.token("alice"), "quid-1").await.unwrap();
    assert_eq!(own.user().unwrap().customer, "cust-alice");
    for subject in ["alice", "bob"] {
        let before = f.users.knobs.hits();
        let ctx = context_as(&lax, &token_of(&other, subject), "quid-2")
            .await
            .unwrap();
        assert!(
            ctx.user().is_none(),
            "{subject}: quid-1's record is not quid-2's"
        );
        assert_eq!(
            f.users.knobs.hits(),
            before + 1,
            "{subject}: asked, not used"
        );
    }
    let strict = FedAuthLayer::new(strict);
    let a = call_with(&strict, &token_of(&other, "alice"), "quid-2").await;
    assert_refused(&a, 403, "user_unknown", None);
    assert_eq!(
        call_with(&strict, &f.token("alice"), "quid-1").await.status,
        200
    );
    assert_refused(
        &call_with(&strict, &f.token("bob"), "quid-1").await,
        403,
        "user_blocked",
        None,
    );
}
