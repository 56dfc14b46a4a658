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

/// A directory that answers by subject alone, whatever the registration
/// (the worst case the cache and the tenant rule must hold against), and
/// records what it was asked.
#[derive(Default)]
struct Fake {
    users: Mutex<HashMap<String, User>>,
    down: AtomicBool,
    calls: AtomicUsize,
    asked: Mutex<Vec<(String, String)>>,
}

fn user(id: &str, blocked: bool, verified: bool) -> User {
    User {
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
    }
}

impl Fake {
    fn put(&self, id: &str, blocked: bool, verified: bool) {
        self.put_user(user(id, blocked, verified));
    }

    fn put_user(&self, user: User) {
        self.users.lock().unwrap().insert(user.id.clone(), user);
    }

    fn asked(&self) -> Vec<(String, String)> {
        self.asked.lock().unwrap().clone()
    }
}

impl UserDirectory for Fake {
    fn get_user<'a>(
        &'a self,
        query: UserQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<User>, DirectoryError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let pair = (query.registration.to_owned(), query.subject.to_owned());
            self.asked.lock().unwrap().push(pair);
            if self.down.load(Ordering::SeqCst) {
                return Err(DirectoryError::unavailable("down"));
            }
            Ok(self.users.lock().unwrap().get(query.subject).cloned())
        })
    }
}

fn reg(known: Option<bool>, verified: Option<bool>) -> Registration {
    reg_as("quid-1", known, verified)
}

fn reg_as(id: &str, known: Option<bool>, verified: Option<bool>) -> Registration {
    let mut b = Registration::builder(id, Provider::Jwks)
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
            ..DirectoryCacheConfig::default()
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
    g.directory().invalidate(UserQuery::new("quid-1", "alice"));
    assert_eq!(
        code(g.check(&reg(None, None), "alice").await),
        Some(ErrorCode::UserBlocked)
    );
}

/// The cache keeps answers per registration and subject: a user found for
/// one registration is never served to another that presents the same
/// subject, and each is asked of the directory under its own registration.
#[tokio::test]
async fn answers_are_kept_per_registration_and_subject() {
    let fake = Arc::new(Fake::default());
    fake.put("alice", false, true);
    let cache = CachedDirectory::new(fake.clone(), DirectoryCacheConfig::default());
    let one = UserQuery::new("quid-1", "alice");
    let two = UserQuery::new("quid-2", "alice");
    for _ in 0..3 {
        assert_eq!(cache.get(one).await.unwrap().unwrap().id, "alice");
        assert_eq!(cache.get(two).await.unwrap().unwrap().id, "alice");
    }
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(r, s)| ((*r).to_owned(), (*s).to_owned()))
            .collect()
    };
    assert_eq!(
        fake.asked(),
        pairs(&[("quid-1", "alice"), ("quid-2", "alice")]),
        "one directory call per registration, then the cache"
    );
    // Forgetting one registration's user leaves the other's answer.
    cache.invalidate(one);
    cache.get(two).await.unwrap();
    cache.get(one).await.unwrap();
    assert_eq!(fake.asked().len(), 3);
    assert_eq!(fake.asked()[2], ("quid-1".to_owned(), "alice".to_owned()));
    cache.invalidate_all();
    cache.get(two).await.unwrap();
    assert_eq!(fake.asked().len(), 4);
}

/// A record whose `tenant` is another registration's is not used: the user
/// counts as unknown (403 `user_unknown` when a known user is required,
/// no record otherwise), even when that record is blocked. A record of the
/// registration's own tenant, or of none, is used.
#[tokio::test]
async fn a_record_of_another_tenant_is_unknown() {
    let fake = Arc::new(Fake::default());
    let tenant = |id: &str, tenant: Option<&str>, blocked: bool| User {
        tenant: tenant.map(str::to_owned),
        ..user(id, blocked, true)
    };
    fake.put_user(tenant("alice", Some("quid-2"), false));
    fake.put_user(tenant("bob", Some("quid-2"), true));
    fake.put_user(tenant("erin", Some(""), false));
    fake.put_user(tenant("carol", None, false));
    let g = gate(&fake, DirectoryConfig::default());
    let lax = reg_as("quid-1", None, None);
    let strict = reg_as("quid-1", Some(true), None);
    let owner = reg_as("quid-2", Some(true), None);
    for subject in ["alice", "bob", "erin"] {
        assert!(
            g.check(&lax, subject).await.unwrap().is_none(),
            "{subject}: another tenant's record is no record"
        );
        assert_eq!(
            code(g.check(&strict, subject).await),
            Some(ErrorCode::UserUnknown),
            "{subject}"
        );
    }
    let alice = g.check(&owner, "alice").await.unwrap().unwrap();
    assert_eq!(
        (alice.id.as_str(), alice.tenant.as_deref()),
        ("alice", Some("quid-2"))
    );
    assert_eq!(
        code(g.check(&owner, "bob").await),
        Some(ErrorCode::UserBlocked)
    );
    assert_eq!(
        g.check(&strict, "carol").await.unwrap().unwrap().id,
        "carol"
    );
    assert_eq!(g.check(&owner, "carol").await.unwrap().unwrap().id, "carol");
}

#[test]
fn belongs_to_compares_the_tenant_exactly() {
    let mut u = user("u", false, true);
    assert!(u.belongs_to("quid-1"), "no tenant: anyone's");
    u.tenant = Some("quid-1".into());
    assert!(u.belongs_to("quid-1"));
    for other in ["quid-2", "QUID-1", "quid-1 ", "quid", ""] {
        assert!(!u.belongs_to(other), "{other:?}");
    }
    u.tenant = Some(String::new());
    assert!(!u.belongs_to("quid-1"), "an empty tenant is set");
}

/// The cache is bounded by bytes: records of about 4 KiB each, far more of
/// them than 64 KiB holds, leave at most 64 KiB weighed in the cache while
/// each lookup still answers its record. With entries only (`max_entries`
/// is a million here) all hundred would stay.
#[tokio::test]
async fn the_byte_bound_evicts() {
    let fake = Arc::new(Fake::default());
    let big = "x".repeat(4096);
    for n in 0..100 {
        fake.put_user(User {
            email: format!("{big}{n}@example.com"),
            ..user(&format!("user-{n}"), false, true)
        });
    }
    let max_bytes = 64 * 1024;
    let config = DirectoryCacheConfig {
        max_entries: 1_000_000,
        max_bytes,
        ..DirectoryCacheConfig::default()
    };
    let cache = CachedDirectory::new(fake.clone(), config);
    for n in 0..100 {
        let subject = format!("user-{n}");
        let found = cache.get(UserQuery::new("quid-1", &subject)).await;
        assert_eq!(
            found.unwrap().unwrap().id,
            subject,
            "the answer, kept or not"
        );
        let stats = cache.stats();
        assert!(stats.weighted_bytes <= max_bytes, "after {n}: {stats:?}");
    }
    let stats = cache.stats();
    assert!(
        stats.entries >= 1 && stats.entries <= max_bytes / 4096,
        "{stats:?}"
    );
    assert!(
        stats.weighted_bytes >= stats.entries * 4096,
        "each record weighs its bytes: {stats:?}"
    );
}

/// The byte bound also bounds the count: each answer weighs at least
/// `max_bytes / max_entries`, so small records stop at `max_entries`.
#[tokio::test]
async fn max_entries_still_bounds_the_count() {
    let fake = Arc::new(Fake::default());
    for n in 0..50 {
        fake.put(&format!("user-{n}"), false, true);
    }
    let config = DirectoryCacheConfig {
        max_entries: 5,
        ..DirectoryCacheConfig::default()
    };
    let cache = CachedDirectory::new(fake.clone(), config);
    for n in 0..50 {
        let subject = format!("user-{n}");
        cache.get(UserQuery::new("quid-1", &subject)).await.unwrap();
    }
    let stats = cache.stats();
    assert!((1..=5).contains(&stats.entries), "{stats:?}");
    assert!(stats.weighted_bytes <= config.max_bytes, "{stats:?}");
}
