//! The document cache against a real mock IdP: its byte bound, and how
//! long a key set is trusted whatever its `Cache-Control` says.

use std::time::Duration;

use url::Url;

use super::{CachePolicy, DEFAULT_MAX_TTL, DocumentCache, STATE_OVERHEAD};
use crate::egress::{FetchConfig, Fetcher};
use crate::keys::KeySet;
use crate::registration::{Provider, Registration};
use crate::registry::InMemoryRegistry;
use crate::testkit::{MockIdp, TestKey, local_egress};
use crate::{Authenticator, Credentials, ErrorCode, TokenCacheConfig};

fn fetcher() -> Fetcher {
    Fetcher::new(FetchConfig {
        egress: local_egress(),
        ..FetchConfig::default()
    })
}

/// The mock IdP's key set under a distinct URL (the query is ignored by
/// the IdP, so each URL serves the same set and has a state of its own).
fn url(idp: &MockIdp, n: usize) -> Url {
    Url::parse(&format!("{}?n={n}", idp.jwks_uri())).unwrap()
}

/// What one URL's state weighs: its bookkeeping, its URL and its keys.
fn weight_of(url: &Url, set: &KeySet) -> u64 {
    let keys: usize = set
        .keys()
        .iter()
        .map(|k| 4096 + k.kid.as_ref().map_or(0, String::len))
        .sum();
    (STATE_OVERHEAD + url.as_str().len() + keys + std::mem::size_of::<KeySet>()) as u64
}

#[test]
fn a_key_set_is_trusted_one_hour_at_most_by_default() {
    assert_eq!(DEFAULT_MAX_TTL, Duration::from_secs(3600));
    assert_eq!(CachePolicy::default().max_ttl, Duration::from_secs(3600));
}

#[tokio::test]
async fn a_day_long_max_age_is_cut_to_the_hour() {
    let idp = MockIdp::start().await;
    idp.set_max_age(Some(86_400));
    let cache = DocumentCache::<KeySet>::new(fetcher(), CachePolicy::default());
    let snap = cache.get(&url(&idp, 0)).await.unwrap();
    assert_eq!(
        snap.fresh_until - snap.fetched_at,
        Duration::from_secs(3600)
    );
    // Refreshed ahead of that bound, between 80 and 95 % of it.
    let ahead = snap.refresh_after - snap.fetched_at;
    assert!(
        ahead >= Duration::from_secs(2880) && ahead <= Duration::from_secs(3420),
        "{ahead:?}"
    );
    idp.shutdown().await;
}

#[tokio::test]
async fn one_state_weighs_its_parsed_keys() {
    let idp = MockIdp::start_with_keys(vec![TestKey::rsa("k-1"), TestKey::ec_p256("k-2")]).await;
    let cache = DocumentCache::<KeySet>::new(fetcher(), CachePolicy::default());
    let u = url(&idp, 0);
    let snap = cache.get(&u).await.unwrap();
    assert_eq!(snap.doc.keys().len(), 2);
    let size = cache.size();
    assert_eq!(size.entries, 1);
    assert_eq!(size.weighted_bytes, weight_of(&u, &snap.doc));
    assert_eq!(size.max_bytes, 64 * 1024 * 1024);
    idp.shutdown().await;
}

#[tokio::test]
async fn key_sets_past_the_byte_bound_are_evicted() {
    let idp = MockIdp::start().await;
    let max_bytes = 24 * 1024;
    let policy = CachePolicy {
        max_bytes,
        ..CachePolicy::default()
    };
    let cache = DocumentCache::<KeySet>::new(fetcher(), policy);
    let one = weight_of(
        &url(&idp, 10),
        &cache.get(&url(&idp, 10)).await.unwrap().doc,
    );
    assert!(one * 4 < max_bytes && one * 5 > max_bytes, "{one}: 4 fit");
    for n in 11..50 {
        let snap = cache.get(&url(&idp, n)).await.unwrap();
        assert_eq!(snap.doc.keys().len(), 1, "every lookup is answered");
        let size = cache.size();
        assert!(size.within_bound(), "after {n}: {size:?}");
        assert!(size.entries <= 4, "after {n}: {size:?}");
    }
    assert_eq!(idp.jwks_fetches(), 40, "one fetch per URL");
    idp.shutdown().await;
}

#[tokio::test]
async fn the_url_bound_still_holds_through_the_weight_floor() {
    let idp = MockIdp::start().await;
    let policy = CachePolicy {
        max_urls: 3,
        ..CachePolicy::default()
    };
    let cache = DocumentCache::<KeySet>::new(fetcher(), policy);
    for n in 0..10 {
        cache.get(&url(&idp, n)).await.unwrap();
        let size = cache.size();
        assert!(
            size.entries <= 3 && size.within_bound(),
            "after {n}: {size:?}"
        );
    }
    idp.shutdown().await;
}

/// A key set served with `Cache-Control: max-age=86400` is refetched once
/// the trust bound (here 2 s) has passed, and a key the IdP withdrew then
/// stops verifying: a new token it signed is `unknown_key`, and a token it
/// verified before leaves the verified-token cache with it.
#[tokio::test]
async fn a_withdrawn_key_stops_verifying_after_the_trust_bound() {
    let idp = MockIdp::start().await;
    idp.set_max_age(Some(86_400));
    let withdrawn = idp.signing_key();
    let registration = Registration::builder("quid-1", Provider::Jwks)
        .client_id(idp.client_id())
        .issuer(idp.issuer())
        .jwks_uri(idp.jwks_uri())
        .build()
        .unwrap();
    let bound = Duration::from_secs(2);
    let auth = Authenticator::builder(InMemoryRegistry::new(vec![registration]).unwrap())
        .egress(local_egress())
        .key_cache(CachePolicy {
            min_ttl: Duration::from_millis(100),
            max_ttl: bound,
            ..CachePolicy::default()
        })
        .token_cache(TokenCacheConfig::default())
        .build();
    let creds = |token: String| Credentials {
        token,
        registration: "quid-1".into(),
    };
    let before = idp.token().claim("jti", "before").sign(&withdrawn);
    auth.verify(&creds(before.clone()), None).await.unwrap();
    assert_eq!(idp.jwks_fetches(), 1);

    // The IdP withdraws the key. Within the bound, the cached set is trusted.
    let replacement = TestKey::rsa("key-replacement");
    idp.set_keys(vec![replacement.clone()]);
    let during = idp.token().claim("jti", "during").sign(&withdrawn);
    auth.verify(&creds(during), None).await.unwrap();
    assert_eq!(idp.jwks_fetches(), 1, "no fetch within the bound");

    tokio::time::sleep(bound + Duration::from_millis(300)).await;
    let after = idp.token().claim("jti", "after").sign(&withdrawn);
    let refused = auth.verify(&creds(after), None).await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::UnknownKey);
    // One fetch because the set expired, one forced by the unknown kid.
    assert_eq!(idp.jwks_fetches(), 3);
    // The token verified with the withdrawn key is not served from the
    // verified-token cache any more.
    let refused = auth.verify(&creds(before), None).await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::UnknownKey);
    // The replacement key verifies.
    let fresh = idp.token().claim("jti", "fresh").sign(&replacement);
    assert_eq!(
        auth.verify(&creds(fresh), None).await.unwrap().subject(),
        "alice"
    );
    idp.shutdown().await;
}
