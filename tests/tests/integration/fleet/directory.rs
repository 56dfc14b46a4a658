//! The user directory through the authenticator: known, unknown, blocked,
//! unverified, down; per registration and global settings; its place in
//! the order of checks; the user record in the handler's context.

use std::time::Duration;

use fedauth_tests::{assert_refused, builder, call, call_with, jwks_registration};
use http::Request;
use serde_json::{Value, json};
use tower_fedauth::directory::{DirectoryCacheConfig, HttpUserDirectory};
use tower_fedauth::registry::HttpClientConfig;
use tower_fedauth::testkit::MockIdp;
use tower_fedauth::{Authenticator, DirectoryConfig, FedAuthLayer, PropertyResolver};

use super::servers::{self, Service};

fn user(id: &str, blocked: bool, verified: bool) -> Value {
    json!({
        "id": id, "customer": format!("cust-{id}"), "email": format!("{id}@example.com"),
        "tenant": "tenant-1", "email_verified": verified, "blocked": blocked,
        "create_time": "2024-01-02T03:04:05Z", "update_time": "2024-02-03T04:05:06Z",
        "logins_count": "12",
    })
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
        let directory = HttpUserDirectory::new(
            &self.users.base,
            HttpClientConfig {
                allow_http: true,
                timeout: Duration::from_millis(500),
                ..HttpClientConfig::default()
            },
        )
        .unwrap();
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
    DirectoryCacheConfig {
        ttl: Duration::ZERO,
        negative_ttl: Duration::ZERO,
        max_stale: Duration::ZERO,
        failure_backoff: Duration::ZERO,
        ..DirectoryCacheConfig::default()
    }
}

async fn context(auth: &Authenticator, token: &str) -> Result<tower_fedauth::AuthContext, String> {
    let req = Request::builder()
        .header("authorization", format!("Bearer {token}"))
        .header("x-sc-auth", "quid-1")
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
    assert_eq!(user.tenant.as_deref(), Some("tenant-1"));
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

    let strict = FedAuthLayer::new(f.auth(
        "",
        DirectoryConfig {
            require_known_user: true,
            require_verified_email: true,
            ..DirectoryConfig::default()
        },
    ));
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
        DirectoryConfig {
            require_known_user: true,
            ..DirectoryConfig::default()
        },
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
    let cached = FedAuthLayer::new(f.auth(
        "",
        DirectoryConfig {
            cache: DirectoryCacheConfig {
                ttl: Duration::ZERO,
                failure_backoff: Duration::ZERO,
                ..DirectoryCacheConfig::default()
            },
            ..DirectoryConfig::default()
        },
    ));
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

    let uncached = FedAuthLayer::new(f.auth(
        "",
        DirectoryConfig {
            cache: no_cache(),
            ..DirectoryConfig::default()
        },
    ));
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
        DirectoryConfig {
            require_known_user: true,
            ..DirectoryConfig::default()
        },
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
    let auth = f.auth(
        "",
        DirectoryConfig {
            cache: no_cache(),
            ..DirectoryConfig::default()
        },
    );
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
            auth.token_cache_stats().await.entries,
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
