//! The parts on their own: the replay cache's bound and floor, nonce
//! periods, `htu` normalisation, the proxies' certificate headers, a
//! token's `cnf`.

use std::time::Duration;

use serde_json::json;

use crate::binding::ClientCertFormat;
use crate::binding::cert;
use crate::binding::confirmation::{Confirmation, Thumbprint};
use crate::binding::htu::{RequestUrl, normalised, public_base};
use crate::binding::nonce::{Freshness, Nonces};
use crate::binding::replay::{ENTRY_BYTES, Refused, ReplayCache};
use crate::binding::{ClientCertSource, DpopConfig};
use crate::jws::Algorithm;
use crate::registration::Secret;
use crate::testkit::ClientCert;

#[test]
fn the_replay_cache_refuses_seen_ids_and_forgets_only_behind_its_floor() {
    let thumb = [7u8; 32];
    // Room for 16 ids per shard.
    let cache = ReplayCache::new(16 * 16 * ENTRY_BYTES);
    assert_eq!(cache.record(&thumb, "a", 200, 100), Ok(()));
    assert_eq!(cache.record(&thumb, "a", 200, 100), Err(Refused::Replayed));
    assert_eq!(cache.record(&[8u8; 32], "a", 200, 100), Ok(()));
    // Ids whose acceptance has ended are dropped, and their age with them.
    assert_eq!(cache.record(&thumb, "b", 150, 100), Ok(()));
    let now = 300;
    assert_eq!(cache.record(&thumb, "c", 400, now), Ok(()));
    // Flood it: far more ids than it holds. Every id stays refused once
    // seen, or is refused as too old: never accepted twice.
    let mut accepted = Vec::new();
    for i in 0..2000u64 {
        let jti = format!("flood-{i}");
        if cache.record(&thumb, &jti, 1000 + i, now) == Ok(()) {
            accepted.push((jti, 1000 + i));
        }
    }
    assert_eq!(
        accepted.len(),
        2000,
        "new ids are accepted while the floor is below them"
    );
    assert!(cache.len() <= 16 * 16, "{}", cache.len());
    for (jti, until) in &accepted {
        assert!(
            cache.record(&thumb, jti, *until, now).is_err(),
            "{jti} accepted twice"
        );
    }
    // The oldest are forgotten: a proof as old as them is refused.
    assert_eq!(
        cache.record(&thumb, "late", 1001, now),
        Err(Refused::TooOld)
    );
    // A young proof still passes.
    assert_eq!(cache.record(&thumb, "young", 5000, now), Ok(()));
}

#[test]
fn nonces_rotate_and_the_previous_one_stays_accepted() {
    let secret = Secret::new("s3cret");
    let nonces = Nonces::new(Some(&secret), Duration::from_secs(60));
    let first = nonces.current(120);
    assert_eq!(nonces.current(179), first);
    assert_eq!(nonces.freshness(&first, 150), Freshness::Current);
    let second = nonces.current(180);
    assert_ne!(second, first);
    assert_eq!(nonces.freshness(&first, 200), Freshness::Previous);
    assert_eq!(nonces.freshness(&second, 200), Freshness::Current);
    assert_eq!(nonces.freshness(&first, 240), Freshness::Stale);
    assert_eq!(nonces.freshness("anything", 200), Freshness::Stale);
    // The same secret, the same nonces; another secret, others.
    let twin = Nonces::new(Some(&secret), Duration::from_secs(60));
    assert_eq!(twin.current(200), second);
    let random = Nonces::new(None, Duration::from_secs(60));
    assert_ne!(random.current(200), second);
    assert_eq!(second.len(), 24, "18 bytes, base64url");
}

#[test]
fn htu_normalisation_follows_rfc_3986() {
    for (a, b) in [
        ("HTTPS://Api.Example.com:443/a", "https://api.example.com/a"),
        ("http://api.example.com:80/a", "http://api.example.com/a"),
        ("https://api.example.com", "https://api.example.com/"),
        (
            "https://api.example.com/a?q=1#f",
            "https://api.example.com/a",
        ),
        (
            "https://api.example.com/a/./b/../c",
            "https://api.example.com/a/c",
        ),
        (
            "https://api.example.com/%7euser/%41",
            "https://api.example.com/~user/A",
        ),
        (
            "https://api.example.com/a%2fb",
            "https://api.example.com/a%2Fb",
        ),
    ] {
        assert_eq!(normalised(a).as_deref(), Some(b), "{a}");
    }
    for bad in [
        "ftp://api.example.com/a",
        "/relative",
        "not a url",
        "https://",
    ] {
        assert_eq!(normalised(bad), None, "{bad}");
    }
    assert_ne!(
        normalised("https://api.example.com:8443/a"),
        normalised("https://api.example.com/a")
    );
    let base = public_base(&"https://API.example.com:443/prefix/".parse().unwrap());
    assert_eq!(base, "https://api.example.com/prefix");
    let url = RequestUrl {
        base: &base,
        authority: None,
        path: "/whoami",
    };
    assert!(url.matches("https://api.example.com/prefix/whoami"));
    assert!(url.matches("https://API.EXAMPLE.COM/prefix/whoami?x"));
    assert!(!url.matches("https://api.example.com/whoami"));
    let url = RequestUrl {
        base: "http://",
        authority: Some("Internal:8080"),
        path: "/a",
    };
    assert!(url.matches("http://internal:8080/a"));
    assert!(!url.matches("https://internal:8080/a"));
}

#[test]
fn proxies_certificate_headers_decode_to_the_der() {
    let cert = ClientCert::generate();
    let header = |format| ClientCertSource::Header {
        name: "x-client-cert".parse().unwrap(),
        format,
    };
    let nginx = header(ClientCertFormat::NginxEscapedPem);
    let der = cert::der(cert.nginx_header_value().as_bytes(), &nginx).unwrap();
    assert_eq!(der, cert.der());
    let envoy = header(ClientCertFormat::EnvoyXfcc);
    let der = cert::der(cert.xfcc_header_value().as_bytes(), &envoy).unwrap();
    assert_eq!(der, cert.der(), "the last entry's Cert");
    // A PEM whose base64 keeps its `+` as is.
    let plain = cert.pem().replace('\n', "%0A").replace(' ', "%20");
    assert_eq!(cert::der(plain.as_bytes(), &nginx).unwrap(), cert.der());
    for (bad, format) in [
        ("%ZZ", ClientCertFormat::NginxEscapedPem),
        ("no pem here", ClientCertFormat::NginxEscapedPem),
        ("By=x;Hash=y", ClientCertFormat::EnvoyXfcc),
        (
            "-----BEGIN%20CERTIFICATE-----%0A!!!%0A-----END%20CERTIFICATE-----",
            ClientCertFormat::NginxEscapedPem,
        ),
    ] {
        assert!(cert::der(bad.as_bytes(), &header(format)).is_err(), "{bad}");
    }
    let mut expected = [0u8; 32];
    let thumbprint = cert.thumbprint();
    assert!(crate::binding::confirmation::decode32(
        &thumbprint,
        &mut expected
    ));
    assert!(cert::thumbprint_matches(cert.der(), &expected));
    assert!(!cert::thumbprint_matches(
        ClientCert::generate().der(),
        &expected
    ));
}

#[test]
fn a_tokens_cnf_is_read_once() {
    let key = crate::testkit::DpopKey::generate(Algorithm::EdDSA);
    let claims = |cnf: serde_json::Value| json!({"cnf": cnf}).as_object().cloned().unwrap();
    let bound = Confirmation::of(&claims(json!({"jkt": key.thumbprint()})), "tok");
    assert!(matches!(bound.jkt, Some(Thumbprint::Sha256(_))));
    assert_eq!(
        bound.ath.as_deref(),
        Some(crate::testkit::ath_of("tok").as_str())
    );
    assert!(!bound.is_unbound());
    let none = Confirmation::of(&serde_json::Map::new(), "tok");
    assert!(none.is_unbound() && none.ath.is_none());
    assert!(Confirmation::of(&claims(json!({})), "tok").is_unbound());
    let short = Confirmation::of(&claims(json!({"x5t#S256": "abc"})), "tok");
    assert_eq!(short.x5t_s256, Some(Thumbprint::Malformed));
    assert!(
        Confirmation::of(&claims(json!({"kid": "k"})), "tok")
            .unsupported
            .is_some()
    );
    assert!(
        Confirmation::of(&claims(json!([1])), "tok")
            .unsupported
            .is_some()
    );
}

#[test]
fn only_asymmetric_algorithms_are_ever_accepted_or_listed() {
    let config = DpopConfig::default().algorithms(vec![
        Algorithm::HS256,
        Algorithm::ES256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ]);
    assert_eq!(
        config.accepted_algorithms(),
        [Algorithm::ES256, Algorithm::EdDSA]
    );
}
