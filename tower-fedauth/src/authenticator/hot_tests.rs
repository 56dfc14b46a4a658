//! The per-thread hot set against a real mock IdP: when an entry is made
//! and used, that its answers and metrics are the shared caches', and
//! every way an entry must stop being used.

use std::sync::Arc;
use std::time::Duration;

use http::Request;

use super::{
    Credentials, SLOTS, admitted_on_this_thread, hits_on_this_thread, slot_on_this_thread,
};
use crate::authenticator::{Immediate, test_request};
use crate::keys::CachePolicy;
use crate::metrics_tests::{accepted, hits_and_misses, recorded};
use crate::registration::{Provider, Registration};
use crate::registry::{CacheConfig, InMemoryRegistry};
use crate::testkit::{MockIdp, TestKey};
use crate::{Authenticator, ErrorCode, PropertyResolver, TokenCacheConfig};

fn registration(idp: &MockIdp, roles: &[&str]) -> Registration {
    Registration::builder("quid-1", Provider::Jwks)
        .client_id(idp.client_id())
        .issuer(idp.issuer())
        .jwks_uri(idp.jwks_uri())
        .leeway_seconds(0)
        .roles(roles.iter().copied())
        .property("p-1", ["writer"])
        .build()
        .unwrap()
}

struct Setup {
    idp: MockIdp,
    registry: Arc<InMemoryRegistry>,
    auth: Authenticator,
}

async fn setup_with(registry_ttl: Duration) -> Setup {
    setup_cached(CacheConfig {
        ttl: registry_ttl,
        ..CacheConfig::default()
    })
    .await
}

async fn setup_cached(registry_cache: CacheConfig) -> Setup {
    let idp = MockIdp::start().await;
    let registry = Arc::new(InMemoryRegistry::new(vec![registration(&idp, &["reader"])]).unwrap());
    let auth = Authenticator::builder_arc(registry.clone())
        .egress(crate::testkit::local_egress())
        .property(PropertyResolver::Header("x-property".parse().unwrap()))
        .registry_cache(registry_cache)
        .registration_metric_labels(true)
        .key_cache(CachePolicy {
            refresh_cooldown: Duration::from_millis(100),
            ..CachePolicy::default()
        })
        .build();
    Setup {
        idp,
        registry,
        auth,
    }
}

async fn setup() -> Setup {
    setup_with(CacheConfig::default().ttl).await
}

fn request(token: &str, property: Option<&str>) -> Request<()> {
    test_request(token, "quid-1", property)
}

/// One request as the layers make it: the granted roles, or the refusal.
async fn roles(
    auth: &Authenticator,
    token: &str,
    property: Option<&str>,
) -> Result<Vec<String>, ErrorCode> {
    let req = request(token, property);
    let ctx = match auth.authenticate_now(&req).map_err(|e| e.code())? {
        Immediate::Accepted(ctx) => ctx,
        Immediate::Pending(p) => auth.finish(p).await.map_err(|e| e.code())?,
        Immediate::Anonymous => return Err(ErrorCode::MissingToken),
    };
    Ok(ctx.roles().iter().map(str::to_owned).collect())
}

/// `n` requests; how many the hot set answered.
async fn hot_hits(s: &Setup, token: &str, property: Option<&str>, n: usize) -> u64 {
    let before = hits_on_this_thread();
    for _ in 0..n {
        roles(&s.auth, token, property).await.expect("accepted");
    }
    hits_on_this_thread() - before
}

/// `token` after five requests without a property: verified, met twice in
/// the shared caches, then answered twice by the hot set.
async fn in_hot_set(s: &Setup, token: String) -> String {
    assert_eq!(hot_hits(s, &token, None, 5).await, 2);
    token
}

#[test]
fn a_token_seen_twice_in_the_caches_is_answered_by_the_thread_then_counted_alike() {
    let all = recorded(async || {
        let s = setup().await;
        let token = s.idp.mint();
        // 1: verified in full; 2: the shared caches, and a candidate;
        // 3: the shared caches again, admitted; 4 and 5: the hot set.
        assert_eq!(hot_hits(&s, &token, Some("p-1"), 3).await, 0);
        assert_eq!(hot_hits(&s, &token, Some("p-1"), 2).await, 2);
        let Ok(Immediate::Accepted(ctx)) = s.auth.authenticate_now(&request(&token, Some("p-1")))
        else {
            panic!("answered at once");
        };
        assert_eq!(ctx.subject(), "alice");
        assert_eq!(ctx.registration_id(), "quid-1");
        assert_eq!(ctx.property(), Some("p-1"));
        assert_eq!(ctx.roles().as_slice(), ["reader", "writer"]);
        assert_eq!(ctx.issuer(), Some(s.idp.issuer().as_str()));
        assert_eq!(ctx.claims().get_str("sub"), Some("alice"));
        assert_eq!(ctx.claims().standard().sub.as_deref(), Some("alice"));
        assert_eq!(ctx.principal().subject, "alice");
        s.idp.shutdown().await;
    });
    // Six requests: the first missed both caches; every other one is
    // counted as a hit of both, wherever it was answered.
    assert_eq!(hits_and_misses(&all, "registry"), (5, 1));
    assert_eq!(hits_and_misses(&all, "token"), (5, 1));
    assert_eq!(accepted(&all, "quid-1"), 6);
}

/// A token of `s.idp` for another subject whose entry would take the
/// same slot as `token`'s on this thread.
fn rival_of(s: &Setup, token: &str) -> String {
    let slot = |token: &str| {
        slot_on_this_thread(&Credentials {
            owner: s.auth.inner.owner,
            registration: "quid-1",
            token: token.as_bytes(),
            property: None,
        })
    };
    (0..)
        .map(|i| {
            s.idp
                .token()
                .subject(format!("rival-{i}"))
                .sign(&s.idp.signing_key())
        })
        .find(|rival| slot(rival) == slot(token))
        .expect("some subject shares the slot")
}

#[tokio::test]
async fn two_tokens_taking_turns_in_one_slot_are_not_copied_back_and_forth() {
    let s = setup().await;
    let token = s.idp.mint();
    let rival = rival_of(&s, &token);
    // Each verified once, then alternately from the shared caches: each
    // offer replaces the other's candidacy, so neither is admitted.
    roles(&s.auth, &token, None).await.unwrap();
    roles(&s.auth, &rival, None).await.unwrap();
    let (hits, admitted) = (hits_on_this_thread(), admitted_on_this_thread());
    for _ in 0..4 {
        assert_eq!(roles(&s.auth, &token, None).await.unwrap(), ["reader"]);
        assert_eq!(roles(&s.auth, &rival, None).await.unwrap(), ["reader"]);
    }
    assert_eq!(hits_on_this_thread(), hits);
    assert_eq!(admitted_on_this_thread(), admitted, "no copies made");
    // Once one of them repeats, it is admitted, and the slot answers for
    // it alone.
    assert_eq!(hot_hits(&s, &token, None, 3).await, 1);
    let Ok(Immediate::Accepted(ctx)) = s.auth.authenticate_now(&request(&rival, None)) else {
        panic!("the rival is still answered from the shared caches");
    };
    assert!(ctx.subject().starts_with("rival-"));
    s.idp.shutdown().await;
}

#[tokio::test]
async fn the_property_and_the_authenticator_are_part_of_the_entry() {
    let s = setup().await;
    let token = s.idp.mint();
    assert_eq!(hot_hits(&s, &token, Some("p-1"), 5).await, 2);
    // Same token, no property: its own answer, never the p-1 entry's.
    assert_eq!(roles(&s.auth, &token, None).await.unwrap(), ["reader"]);
    // That was its first shared hit (a candidate); the next is admitted.
    assert_eq!(hot_hits(&s, &token, None, 4).await, 3);
    assert_eq!(
        roles(&s.auth, &token, Some("p-1")).await.unwrap(),
        ["reader", "writer"]
    );
    // A second authenticator with the same registration id and token but
    // other roles, on the same thread: its own answers.
    let other_registry =
        Arc::new(InMemoryRegistry::new(vec![registration(&s.idp, &["auditor"])]).unwrap());
    let other = Authenticator::builder_arc(other_registry)
        .egress(crate::testkit::local_egress())
        .build();
    for _ in 0..5 {
        assert_eq!(roles(&other, &token, None).await.unwrap(), ["auditor"]);
    }
    assert_eq!(roles(&s.auth, &token, None).await.unwrap(), ["reader"]);
    s.idp.shutdown().await;
}

#[tokio::test]
async fn a_registry_invalidation_stops_the_entry_at_once() {
    let s = setup().await;
    let token = in_hot_set(&s, s.idp.mint()).await;
    let mut disabled = registration(&s.idp, &["reader"]);
    disabled.enabled = false;
    s.registry.insert(disabled);
    s.auth.registry().invalidate("quid-1");
    assert_eq!(
        roles(&s.auth, &token, None).await,
        Err(ErrorCode::RegistrationDisabled)
    );
    // invalidate_all too.
    s.registry.insert(registration(&s.idp, &["editor"]));
    s.auth.registry().invalidate("quid-1");
    assert_eq!(hot_hits(&s, &token, None, 4).await, 1);
    s.registry.insert(registration(&s.idp, &["viewer"]));
    s.auth.registry().invalidate_all();
    assert_eq!(roles(&s.auth, &token, None).await.unwrap(), ["viewer"]);
    s.idp.shutdown().await;
}

#[tokio::test]
async fn an_entry_ends_with_the_registry_answer_it_came_from() {
    let s = setup_with(Duration::from_millis(400)).await;
    let token = in_hot_set(&s, s.idp.mint()).await;
    // An edit at the source, not announced: it shows once the registry
    // cache's answer expires, as it would without the hot set.
    s.registry.insert(registration(&s.idp, &["editor"]));
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(roles(&s.auth, &token, None).await.unwrap(), ["editor"]);
    s.idp.shutdown().await;
}

#[tokio::test]
async fn an_entry_ends_when_the_registry_cache_lets_its_answer_go() {
    // A registry cache of two answers: a run of other ids, each asked
    // three times (so each is kept and marked used), evicts quid-1's.
    let s = setup_cached(CacheConfig {
        max_entries: 2,
        ..CacheConfig::default()
    })
    .await;
    let token = in_hot_set(&s, s.idp.mint()).await;
    // An edit at the source, not announced: a registry lookup sees it as
    // soon as the cache no longer holds the old answer.
    s.registry.insert(registration(&s.idp, &["editor"]));
    for i in 0..20 {
        let req = test_request(&token, &format!("quid-other-{i}"), None);
        for _ in 0..3 {
            let refused = match s.auth.authenticate_now(&req) {
                Err(e) => e.code(),
                Ok(Immediate::Pending(p)) => s.auth.finish(p).await.unwrap_err().code(),
                Ok(other) => panic!("an unknown id answered {other:?}"),
            };
            assert_eq!(refused, ErrorCode::UnknownRegistration);
        }
    }
    assert!(s.auth.registry().entry_count() <= 2);
    assert_eq!(roles(&s.auth, &token, None).await.unwrap(), ["editor"]);
    s.idp.shutdown().await;
}

#[tokio::test]
async fn a_token_cache_invalidation_stops_the_entry_at_once() {
    let s = setup().await;
    let token = in_hot_set(&s, s.idp.mint()).await;
    s.auth.invalidate_token_cache();
    let Ok(Immediate::Pending(_)) = s.auth.authenticate_now(&request(&token, None)) else {
        panic!("verified in full again after the token cache was cleared");
    };
    s.idp.shutdown().await;
}

#[tokio::test]
async fn a_key_removed_by_the_idp_stops_the_entry() {
    let s = setup().await;
    let old = in_hot_set(&s, s.idp.mint()).await;
    // The first key is withdrawn; a token of the new key makes the key set
    // refresh and retire it.
    let second = TestKey::rsa("second");
    s.idp.set_keys(vec![second.clone()]);
    tokio::time::sleep(Duration::from_millis(150)).await; // past the kid-miss cooldown
    assert!(
        roles(&s.auth, &s.idp.token().sign(&second), None)
            .await
            .is_ok()
    );
    assert_eq!(roles(&s.auth, &old, None).await, Err(ErrorCode::UnknownKey));
    s.idp.shutdown().await;
}

#[tokio::test]
async fn an_entry_ends_when_the_token_expires() {
    let s = setup().await;
    let token = in_hot_set(&s, s.idp.token().expires_in(1).sign(&s.idp.signing_key())).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        roles(&s.auth, &token, None).await,
        Err(ErrorCode::TokenExpired)
    );
    s.idp.shutdown().await;
}

#[tokio::test]
async fn no_hot_set_without_a_token_cache() {
    let idp = MockIdp::start().await;
    let registry = InMemoryRegistry::new(vec![registration(&idp, &["reader"])]).unwrap();
    let auth = Authenticator::builder(registry)
        .egress(crate::testkit::local_egress())
        .token_cache(TokenCacheConfig::disabled())
        .build();
    let token = idp.mint();
    let before = hits_on_this_thread();
    for _ in 0..5 {
        assert_eq!(roles(&auth, &token, None).await.unwrap(), ["reader"]);
    }
    assert_eq!(hits_on_this_thread(), before);
    idp.shutdown().await;
}

#[tokio::test]
async fn long_tokens_are_not_kept() {
    let s = setup().await;
    let padding = "x".repeat(super::MAX_TOKEN_BYTES);
    let token = s
        .idp
        .token()
        .claim("padding", padding.as_str())
        .sign(&s.idp.signing_key());
    assert!(token.len() > super::MAX_TOKEN_BYTES);
    assert_eq!(hot_hits(&s, &token, None, 5).await, 0);
    s.idp.shutdown().await;
}

/// A short token whose principal holds a 40 KB user name from userinfo is
/// answered by the shared caches, never copied into a thread's hot set.
#[tokio::test]
async fn entries_holding_large_userinfo_values_are_not_kept() {
    let idp = MockIdp::start().await;
    let (registration, _) = crate::token_cache_tests::large_userinfo(&idp, 40_000);
    let registry = Arc::new(InMemoryRegistry::new(vec![registration]).unwrap());
    let auth = Authenticator::builder_arc(registry.clone())
        .egress(crate::testkit::local_egress())
        .build();
    let s = Setup {
        idp,
        registry,
        auth,
    };
    let token = s.idp.mint();
    assert!(token.len() <= super::MAX_TOKEN_BYTES);
    assert_eq!(hot_hits(&s, &token, None, 5).await, 0);
    assert_eq!(s.idp.userinfo_fetches(), 1, "the shared caches answered");
    s.idp.shutdown().await;
}

#[tokio::test]
async fn more_tokens_than_slots_are_all_answered_right() {
    let s = setup().await;
    let tokens: Vec<String> = (0..SLOTS * 3)
        .map(|i| {
            s.idp
                .token()
                .subject(format!("user-{i}"))
                .sign(&s.idp.signing_key())
        })
        .collect();
    for round in 0..4 {
        for (i, token) in tokens.iter().enumerate() {
            let req = request(token, None);
            let ctx = match s.auth.authenticate_now(&req).unwrap() {
                Immediate::Accepted(ctx) => ctx,
                Immediate::Pending(p) => s.auth.finish(p).await.unwrap(),
                Immediate::Anonymous => unreachable!(),
            };
            assert_eq!(ctx.subject(), format!("user-{i}"), "round {round}");
        }
    }
    s.idp.shutdown().await;
}
