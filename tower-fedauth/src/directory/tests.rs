use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::error::ErrorCode;
use crate::registration::{Provider, Registration};

#[test]
fn users_parse_the_seed_schema() {
    let user: User = serde_json::from_value(json!({
        "tenant": "t-1", "id": "u-1", "customer": "c-1", "email": "a@example.com",
        "create_time": "2024-01-01T00:00:00Z", "update_time": "2024-02-01T00:00:00Z",
        "logins_count": "42", "login_time": "2024-03-01T00:00:00Z",
        "email_verified": true, "blocked": false, "extra": {"ignored": 1}
    }))
    .unwrap();
    assert_eq!(user.id, "u-1");
    assert_eq!(user.logins_count, Some(42));
    assert!(user.email_verified && !user.blocked);
    let minimal: User = serde_json::from_value(
        json!({"id": "u", "customer": "c", "email": "e", "blocked": null, "logins_count": 7}),
    )
    .unwrap();
    assert!(!minimal.email_verified && !minimal.blocked);
    assert_eq!(minimal.logins_count, Some(7));
    for bad in [
        json!({"customer": "c", "email": "e"}),
        json!({"id": "u", "email": "e"}),
        json!({"id": "u", "customer": "c", "email": "e", "logins_count": "many"}),
        json!({"id": "u", "customer": "c", "email": "e", "blocked": "yes"}),
    ] {
        assert!(
            serde_json::from_value::<User>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[derive(Default)]
struct Fake {
    users: Mutex<HashMap<String, User>>,
    down: AtomicBool,
    calls: AtomicUsize,
}

impl Fake {
    fn put(&self, id: &str, blocked: bool, verified: bool) {
        let user = User {
            id: id.into(),
            customer: format!("c-{id}"),
            email: format!("{id}@example.com"),
            email_verified: verified,
            blocked,
            tenant: None,
            create_time: None,
            update_time: None,
            login_time: None,
            logins_count: None,
        };
        self.users.lock().unwrap().insert(id.into(), user);
    }
}

impl UserDirectory for Fake {
    fn get_user<'a>(
        &'a self,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<User>, DirectoryError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(DirectoryError::unavailable("down"));
            }
            Ok(self.users.lock().unwrap().get(subject).cloned())
        })
    }
}

fn reg(known: Option<bool>, verified: Option<bool>) -> Registration {
    let mut b = Registration::builder("quid-1", Provider::Jwks)
        .client_id("a")
        .jwks_uri("https://i.example/k");
    if let Some(k) = known {
        b = b.require_known_user(k);
    }
    if let Some(v) = verified {
        b = b.require_verified_email(v);
    }
    b.build().unwrap()
}

fn gate(fake: &Arc<Fake>, config: DirectoryConfig) -> UserGate {
    UserGate::new(fake.clone(), config)
}

fn code(r: Result<Option<Arc<User>>, crate::AuthError>) -> Option<ErrorCode> {
    r.err().map(|e| e.code())
}

#[tokio::test]
async fn policy_per_registration_and_global() {
    let fake = Arc::new(Fake::default());
    fake.put("alice", false, true);
    fake.put("bob", true, true);
    fake.put("carol", false, false);
    let lax = gate(&fake, DirectoryConfig::default());
    assert_eq!(
        lax.check(&reg(None, None), "alice")
            .await
            .unwrap()
            .unwrap()
            .id,
        "alice"
    );
    assert!(
        lax.check(&reg(None, None), "nobody")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        code(lax.check(&reg(None, None), "bob").await),
        Some(ErrorCode::UserBlocked)
    );
    assert_eq!(
        code(lax.check(&reg(Some(true), None), "nobody").await),
        Some(ErrorCode::UserUnknown)
    );
    assert_eq!(
        code(lax.check(&reg(None, Some(true)), "carol").await),
        Some(ErrorCode::UserUnknown)
    );
    assert_eq!(
        code(lax.check(&reg(None, Some(true)), "nobody").await),
        Some(ErrorCode::UserUnknown)
    );

    let strict = gate(
        &fake,
        DirectoryConfig {
            require_known_user: true,
            require_verified_email: true,
            ..DirectoryConfig::default()
        },
    );
    assert_eq!(
        code(strict.check(&reg(None, None), "nobody").await),
        Some(ErrorCode::UserUnknown)
    );
    assert_eq!(
        code(strict.check(&reg(None, None), "carol").await),
        Some(ErrorCode::UserUnknown)
    );
    // A registration may relax the global setting.
    assert!(
        strict
            .check(&reg(Some(false), Some(false)), "nobody")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        strict
            .check(&reg(None, None), "alice")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn outages_serve_cached_answers_then_refuse() {
    let fake = Arc::new(Fake::default());
    fake.put("alice", false, true);
    let config = DirectoryConfig {
        cache: DirectoryCacheConfig {
            ttl: Duration::ZERO,
            negative_ttl: Duration::ZERO,
            max_stale: Duration::from_millis(300),
            failure_backoff: Duration::ZERO,
            max_entries: 100,
        },
        ..DirectoryConfig::default()
    };
    let g = gate(&fake, config);
    assert!(g.check(&reg(None, None), "alice").await.unwrap().is_some());
    fake.down.store(true, Ordering::SeqCst);
    assert!(
        g.check(&reg(None, None), "alice").await.unwrap().is_some(),
        "stale answer serves"
    );
    assert_eq!(
        code(g.check(&reg(None, None), "dave").await),
        Some(ErrorCode::DirectoryUnavailable)
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        code(g.check(&reg(None, None), "alice").await),
        Some(ErrorCode::DirectoryUnavailable)
    );
}

#[tokio::test]
async fn answers_are_cached_for_their_ttl() {
    let fake = Arc::new(Fake::default());
    fake.put("alice", false, true);
    let g = gate(&fake, DirectoryConfig::default());
    for _ in 0..5 {
        assert!(g.check(&reg(None, None), "alice").await.unwrap().is_some());
        assert!(g.check(&reg(None, None), "nobody").await.unwrap().is_none());
    }
    assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
    fake.put("alice", true, true);
    g.directory().invalidate("alice").await;
    assert_eq!(
        code(g.check(&reg(None, None), "alice").await),
        Some(ErrorCode::UserBlocked)
    );
}
