//! The verified-token cache through the authenticator, against a real
//! mock IdP: what it saves, and every way an entry must stop being used.

use std::sync::Arc;
use std::time::Duration;

use metrics_util::debugging::DebugValue;

use crate::metrics_tests::recorded;

use crate::keys::CachePolicy;
use crate::registration::{Provider, Registration};
use crate::registry::InMemoryRegistry;
use crate::testkit::{MockIdp, TestKey};
use crate::{Authenticator, Credentials, ErrorCode, TokenAdmission, TokenCacheConfig};

fn registration(idp: &MockIdp, id: &str) -> Registration {
    Registration::builder(id, Provider::Jwks)
        .client_id(idp.client_id())
        .issuer(idp.issuer())
        .jwks_uri(idp.jwks_uri())
        .leeway_seconds(0)
        .roles(["reader"])
        .property("property-42", ["admin"])
        .build()
        .unwrap()
}

fn credentials(token: &str, registration: &str) -> Credentials {
    Credentials {
        token: token.into(),
        registration: registration.into(),
    }
}

struct Setup {
    idp: MockIdp,
    registry: Arc<InMemoryRegistry>,
    auth: Authenticator,
}

async fn setup(config: TokenCacheConfig) -> Setup {
    let idp = MockIdp::start().await;
    let registry = Arc::new(InMemoryRegistry::new(vec![registration(&idp, "quid-1")]).unwrap());
    let auth = Authenticator::builder_arc(registry.clone())
        .egress(crate::testkit::local_egress())
        .key_cache(CachePolicy {
            refresh_cooldown: Duration::from_millis(100),
            ..CachePolicy::default()
        })
        .token_cache(config)
        .build();
    Setup {
        idp,
        registry,
        auth,
    }
}

impl Setup {
    async fn code(&self, token: &str, property: Option<&str>) -> Result<Vec<String>, ErrorCode> {
        self.auth
            .verify(&credentials(token, "quid-1"), property.map(str::to_owned))
            .await
            .map(|ctx| ctx.roles().iter().map(str::to_owned).collect())
            .map_err(|e| e.code())
    }

    /// Apply a registry edit now (as an admin's change would after the
    /// registry cache's TTL).
    async fn edit(&self, registration: Registration) {
        self.registry.insert(registration);
        self.auth.registry().invalidate("quid-1");
    }
}

/// Token cache hits and misses counted while `body` runs.
fn counting(body: impl AsyncFnOnce()) -> (u64, u64) {
    let (mut hits, mut misses) = (0, 0);
    for (name, labels, value) in recorded(body) {
        let token = labels.iter().any(|(k, v)| k == "cache" && v == "token");
        let (DebugValue::Counter(n), true) =
            (value, name == "fedauth_cache_requests_total" && token)
        else {
            continue;
        };
        match labels.iter().any(|(k, v)| k == "result" && v == "hit") {
            true => hits += n,
            false => misses += n,
        }
    }
    (hits, misses)
}

#[test]
fn a_repeated_token_is_verified_once() {
    let counts = counting(async || {
        let s = setup(TokenCacheConfig::default()).await;
        let token = s.idp.mint();
        for _ in 0..3 {
            let ctx = s.auth.verify(&credentials(&token, "quid-1"), None).await;
            let ctx = ctx.unwrap();
            assert_eq!(
                (ctx.subject(), ctx.issuer()),
                ("alice", Some(&*s.idp.issuer()))
            );
            assert_eq!(ctx.claims().get("sub"), Some(&serde_json::json!("alice")));
        }
        let stats = s.auth.token_cache_stats();
        assert_eq!(stats.entries, 1);
    });
    assert_eq!(counts, (2, 1));
}

/// A flood of tokens seen once (a scan) does not push out a token that
/// is being reused: a full cache evicts the one-off entries first.
#[test]
fn one_off_tokens_do_not_evict_a_reused_one() {
    let counts = counting(async || {
        let s = setup(TokenCacheConfig {
            max_entries: 16,
            ..TokenCacheConfig::default()
        })
        .await;
        let reused = s.idp.mint();
        assert!(s.code(&reused, None).await.is_ok());
        for i in 0..200 {
            let once = s.idp.token().claim("jti", i).sign(&s.idp.signing_key());
            assert!(s.code(&once, None).await.is_ok());
            if i % 10 == 9 {
                assert!(s.code(&reused, None).await.is_ok());
            }
        }
        assert!(s.auth.token_cache_stats().entries <= 16);
    });
    // `reused`: verified once, then 20 hits; each one-off token: a miss.
    assert_eq!(counts, (20, 201));
}

impl Setup {
    /// A token of its own (`jti` = `name`).
    fn token(&self, name: &str) -> String {
        self.idp
            .token()
            .claim("jti", name)
            .sign(&self.idp.signing_key())
    }

    /// Fill a cache of 4 entries with 6 tokens: it has had to evict.
    async fn fill(&self) {
        for i in 0..6 {
            assert!(
                self.code(&self.token(&format!("fill-{i}")), None)
                    .await
                    .is_ok()
            );
        }
        assert_eq!(self.auth.token_cache_stats().entries, 4);
    }
}

/// A cache of 4 entries with `admission`.
fn four(admission: TokenAdmission) -> TokenCacheConfig {
    TokenCacheConfig::default()
        .max_entries(4)
        .admission(admission)
}

/// Token cache hits and misses of `token`'s `n` requests, and the entries
/// after each, once `before` ran.
fn sights(
    config: TokenCacheConfig,
    n: usize,
    before: impl AsyncFnOnce(&Setup),
) -> ((u64, u64), Vec<u64>) {
    let mut entries = Vec::new();
    let mut before = Some(before);
    let counts = counting(async || {
        let s = setup(config).await;
        if let Some(before) = before.take() {
            before(&s).await;
        }
        let token = s.token("watched");
        for _ in 0..n {
            assert!(s.code(&token, None).await.is_ok());
            entries.push(s.auth.token_cache_stats().entries);
        }
    });
    (counts, entries)
}

/// The default: a token is remembered at first sight while nothing has
/// been evicted, and from its second sight once the cache is full.
#[test]
fn once_full_a_token_is_remembered_from_its_second_sight() {
    let (counts, entries) = sights(four(TokenAdmission::default()), 3, async |_| {});
    assert_eq!(
        (counts, entries),
        ((2, 1), vec![1, 1, 1]),
        "room: first sight"
    );
    let (counts, entries) = sights(four(TokenAdmission::default()), 3, async |s| s.fill().await);
    // 6 misses filling; then `watched`: a miss not kept, a miss kept, a hit.
    assert_eq!(counts, (1, 8));
    assert_eq!(entries, vec![4, 4, 4]);
}

#[test]
fn first_sight_admission_remembers_every_token() {
    let (counts, entries) = sights(four(TokenAdmission::FirstSight), 2, async |s| {
        s.fill().await
    });
    assert_eq!(counts, (1, 7), "the second request is a hit");
    assert_eq!(entries, vec![4, 4]);
}

#[test]
fn second_sight_admission_waits_for_the_second_sight_even_with_room() {
    let (counts, entries) = sights(four(TokenAdmission::SecondSight), 3, async |_| {});
    assert_eq!(counts, (1, 2));
    assert_eq!(entries, vec![0, 1, 1]);
}

/// Tokens met once leave a full cache as it was: same entries, same
/// weight, and the tokens in it still answered from it.
#[test]
fn one_off_tokens_leave_a_full_cache_as_it_was() {
    let counts = counting(async || {
        let s = setup(four(TokenAdmission::default())).await;
        let kept: Vec<String> = (0..4).map(|i| s.token(&format!("kept-{i}"))).collect();
        for token in kept.iter().chain(kept.iter()) {
            assert!(s.code(token, None).await.is_ok());
        }
        // One more makes room by evicting: the cache is full.
        assert!(s.code(&s.token("evicting"), None).await.is_ok());
        let full = s.auth.token_cache_stats();
        assert_eq!(full.entries, 4);
        for i in 0..50 {
            assert!(s.code(&s.token(&format!("once-{i}")), None).await.is_ok());
        }
        assert_eq!(s.auth.token_cache_stats(), full);
    });
    // The 4 kept tokens: a miss, then a hit each; `evicting`: a miss; the
    // one-off tokens: 50 misses.
    assert_eq!(counts, (4, 55));
}

/// After `invalidate_token_cache` the cache is empty, so it admits at
/// first sight again.
#[test]
fn an_emptied_cache_admits_at_first_sight_again() {
    let (counts, entries) = sights(four(TokenAdmission::default()), 2, async |s| {
        s.fill().await;
        s.auth.invalidate_token_cache();
    });
    assert_eq!(counts, (1, 7));
    assert_eq!(entries, vec![1, 1]);
}

#[test]
fn a_disabled_cache_verifies_every_time() {
    let counts = counting(async || {
        let s = setup(TokenCacheConfig::disabled()).await;
        let token = s.idp.mint();
        for _ in 0..3 {
            assert_eq!(s.code(&token, None).await, Ok(vec!["reader".into()]));
        }
        assert_eq!(s.auth.token_cache_stats().entries, 0);
    });
    assert_eq!(counts, (0, 0));
}

#[test]
fn platform_decisions_are_made_on_every_hit() {
    let counts = counting(async || {
        let s = setup(TokenCacheConfig::default()).await;
        let token = s.idp.mint();
        let roles = s.code(&token, Some("property-42")).await;
        assert_eq!(roles, Ok(vec!["admin".into(), "reader".into()]));
        // Same token, a property the app is not enabled in.
        let refused = s.code(&token, Some("property-9")).await;
        assert_eq!(refused, Err(ErrorCode::PropertyNotEnabled));
        // Roles changed by an admin.
        let mut changed = registration(&s.idp, "quid-1");
        changed.roles = vec!["writer".into()];
        s.edit(changed.clone()).await;
        assert_eq!(s.code(&token, None).await, Ok(vec!["writer".into()]));
        // The application disabled.
        changed.enabled = false;
        s.edit(changed).await;
        let refused = s.code(&token, None).await;
        assert_eq!(refused, Err(ErrorCode::RegistrationDisabled));
    });
    // The disabled app is refused before the token cache is asked.
    assert_eq!(
        counts,
        (2, 1),
        "every verification after the first was a hit"
    );
}

#[tokio::test]
async fn a_registration_that_verifies_differently_verifies_again() {
    let s = setup(TokenCacheConfig::default()).await;
    let token = s.idp.mint();
    assert!(s.code(&token, None).await.is_ok());
    let mut changed = registration(&s.idp, "quid-1");
    changed.issuer = vec!["https://elsewhere.example.com".into()];
    s.edit(changed).await;
    assert_eq!(s.code(&token, None).await, Err(ErrorCode::InvalidIssuer));
}

#[tokio::test]
async fn an_entry_belongs_to_its_registration() {
    let s = setup(TokenCacheConfig::default()).await;
    let mut other = registration(&s.idp, "quid-2");
    other.client_id = Some("another-app".into());
    s.registry.insert(other);
    let token = s.idp.mint();
    assert!(s.code(&token, None).await.is_ok());
    let refused = s.auth.verify(&credentials(&token, "quid-2"), None).await;
    assert_eq!(refused.unwrap_err().code(), ErrorCode::InvalidAudience);
}

#[test]
fn a_key_removed_by_the_idp_stops_its_entries_and_a_kept_key_does_not() {
    let counts = counting(async || {
        let s = setup(TokenCacheConfig::default()).await;
        let first = s.idp.signing_key();
        let old = s.idp.mint();
        assert!(s.code(&old, None).await.is_ok());
        // A second key is published beside the first: a token signed by it
        // makes the key set refresh; the first key stays, so does its entry.
        let second = TestKey::rsa("second");
        s.idp.set_keys(vec![second.clone(), first.clone()]);
        let new = s.idp.token().sign(&second);
        assert!(s.code(&new, None).await.is_ok());
        assert!(s.code(&old, None).await.is_ok(), "kept key, kept entry");
        // Now the first key is withdrawn; the next refresh sees it gone.
        let third = TestKey::rsa("third");
        s.idp.set_keys(vec![third.clone(), second]);
        tokio::time::sleep(Duration::from_millis(150)).await; // past the kid-miss cooldown
        assert!(s.code(&s.idp.token().sign(&third), None).await.is_ok());
        assert_eq!(s.code(&old, None).await, Err(ErrorCode::UnknownKey));
    });
    // Hits: `old` once (kept key). Misses: old, new, third, old again.
    assert_eq!(counts, (1, 4));
}

#[tokio::test]
async fn an_entry_ends_when_the_token_expires() {
    let s = setup(TokenCacheConfig::default()).await;
    let token = s.idp.token().expires_in(2).sign(&s.idp.signing_key());
    assert!(s.code(&token, None).await.is_ok());
    assert!(s.code(&token, None).await.is_ok());
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(s.code(&token, None).await, Err(ErrorCode::TokenExpired));
}

#[test]
fn an_entry_ends_after_max_ttl() {
    let counts = counting(async || {
        let config = TokenCacheConfig {
            max_ttl: Duration::from_millis(300),
            ..TokenCacheConfig::default()
        };
        let s = setup(config).await;
        let token = s.idp.mint();
        assert!(s.code(&token, None).await.is_ok());
        assert!(s.code(&token, None).await.is_ok());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(s.code(&token, None).await.is_ok());
    });
    assert_eq!(counts, (1, 2));
}

#[tokio::test]
async fn memory_is_bounded_by_entries_and_by_bytes() {
    for (config, most) in [
        (
            TokenCacheConfig {
                max_entries: 8,
                ..TokenCacheConfig::default()
            },
            8,
        ),
        (
            TokenCacheConfig {
                max_bytes: 16 * 1024,
                ..TokenCacheConfig::default()
            },
            16 * 1024,
        ),
        (
            TokenCacheConfig {
                max_entries: 1,
                ..TokenCacheConfig::default()
            },
            1,
        ),
    ] {
        let by_bytes = config.max_entries == TokenCacheConfig::default().max_entries;
        let s = setup(config).await;
        for i in 0..200 {
            let token = s.idp.token().claim("jti", i).sign(&s.idp.signing_key());
            assert!(s.code(&token, None).await.is_ok());
        }
        let stats = s.auth.token_cache_stats();
        let held = if by_bytes {
            stats.weighted_bytes
        } else {
            stats.entries
        };
        assert!(held <= most, "{stats:?}");
        assert!(stats.entries >= 1, "{stats:?}");
    }
}

/// `quid-1` at `idp`, reading the user name from userinfo, whose answer
/// carries a name of `bytes` bytes (returned).
pub(crate) fn large_userinfo(idp: &MockIdp, bytes: usize) -> (Registration, String) {
    let name = "u".repeat(bytes);
    idp.set_userinfo(serde_json::json!({"sub": "alice", "preferred_username": name}));
    let registration = Registration::builder("quid-1", Provider::Oidc)
        .client_id(idp.client_id())
        .issuer(idp.issuer())
        .claims(crate::registration::ClaimsMapping {
            userinfo: true,
            ..Default::default()
        })
        .build()
        .unwrap();
    (registration, name)
}

/// An entry weighs what the token established, userinfo values copied into
/// its principal included: tokens whose userinfo answers carry a 30 KB user
/// name fill a 128 KiB cache with four entries, not forty.
#[tokio::test]
async fn entries_weigh_the_userinfo_values_copied_into_them() {
    let idp = MockIdp::start().await;
    let (registration, name) = large_userinfo(&idp, 30_000);
    let max_bytes = 128 * 1024;
    let auth = Authenticator::builder(InMemoryRegistry::new(vec![registration]).unwrap())
        .egress(crate::testkit::local_egress())
        .token_cache(TokenCacheConfig {
            max_bytes,
            ..TokenCacheConfig::default()
        })
        .build();
    for i in 0..40 {
        let token = idp.token().claim("jti", i).sign(&idp.signing_key());
        let ctx = auth.verify(&credentials(&token, "quid-1"), None).await;
        assert_eq!(ctx.unwrap().principal().username.as_deref(), Some(&*name));
        let stats = auth.token_cache_stats();
        assert!(stats.weighted_bytes <= max_bytes, "after {i}: {stats:?}");
        assert!(stats.entries <= 4, "after {i}: {stats:?}");
        assert!(
            stats.weighted_bytes >= stats.entries * 30_000,
            "after {i}: {stats:?}"
        );
    }
    assert_eq!(idp.userinfo_fetches(), 40);
    let sizes = auth.cache_sizes();
    assert!(
        sizes.tokens.entries >= 1,
        "such entries are kept: {sizes:?}"
    );
    assert_eq!(sizes.tokens.max_bytes, max_bytes);
    assert!(sizes.within_bounds(), "{sizes:?}");
    idp.shutdown().await;
}
