//! Identity providers and registry services that misbehave on purpose: real
//! loopback servers (raw `tokio` sockets, so they can do what no framework
//! lets a server do) behind the key URL, discovery, userinfo, introspection
//! and the registry service, with every fault of issue 8:
//!
//! refuses connections; accepts and never answers; answers 500; answers 200
//! with garbage, with an empty document, with a 50 MiB body (with and
//! without `Content-Length`), slowly one byte a second; redirects in a loop;
//! rotates keys mid-load.
//!
//! For each: the status and code callers get with nothing cached, that no
//! request takes longer than the fetch timeout (plus 2 s of slack), that a
//! cached copy keeps serving within its stale bound (and stops after it),
//! and that service recovers by itself once the fault ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fedauth_tests::*;
use serde_json::Value;
use tower_fedauth::keys::{CachePolicy, FetchConfig};
use tower_fedauth::registry::{CacheConfig, HttpClientConfig, HttpRegistry, HttpRegistryConfig};
use tower_fedauth::{Authenticator, FedAuthLayer};

mod server;

use server::*;

/// The fetch timeout of every client under test. Generous: nine faults
/// run at once on a 2-core CI machine, one of them streaming 50 MiB, and a
/// healthy answer must never miss it.
const TIMEOUT: Duration = Duration::from_millis(1500);
/// Freshness of cached documents.
const TTL: Duration = Duration::from_millis(100);
/// How long past freshness a cached document serves while its source fails.
/// Above the timeout: a refresh that times out still finds its copy usable.
const STALE_FOR: Duration = Duration::from_millis(4000);
/// Slack on "nothing hangs past the timeout" (a loaded CI machine).
const SLACK: Duration = Duration::from_secs(3);

/// What a faulty server does with every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Serve correct answers.
    Healthy,
    /// Not listening: connections are refused.
    Refuse,
    /// Accept, read the request, never answer.
    Hang,
    /// `500` with a text body.
    Status500,
    /// `200`, `application/json`, a body that is not JSON.
    Garbage,
    /// `200` with an empty document: `{"keys":[]}` for keys, `{}` otherwise.
    Empty,
    /// `200` with `Content-Length: 52428800` and that many bytes.
    HugeWithLength,
    /// `200` streaming 50 MiB without a length, until the client hangs up.
    HugeStreamed,
    /// The correct answer, one byte a second.
    Slow,
    /// `302` to itself, forever.
    RedirectLoop,
    /// The correct answer as of the request, sent 300 ms later.
    Delayed,
}

const FAULTS: [Fault; 9] = [
    Fault::Refuse,
    Fault::Hang,
    Fault::Status500,
    Fault::Garbage,
    Fault::Empty,
    Fault::HugeWithLength,
    Fault::HugeStreamed,
    Fault::Slow,
    Fault::RedirectLoop,
];

/// The endpoint a scenario breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Keys,
    Discovery,
    Userinfo,
    Introspection,
    Registry,
}

/// One scenario: a healthy server, a faulty one for the endpoint under
/// test, and a layer configured with the test's timings.
struct Scenario {
    endpoint: Endpoint,
    idp: Arc<Idp>,
    #[allow(dead_code)]
    healthy: FaultServer,
    faulty: FaultServer,
    layer: FedAuthLayer,
}

fn fetch_config() -> FetchConfig {
    FetchConfig::default()
        .timeout(TIMEOUT)
        .egress(tower_fedauth::testkit::local_egress())
}

fn policy() -> CachePolicy {
    CachePolicy::default()
        .default_ttl(TTL)
        .min_ttl(TTL)
        .max_ttl(TTL)
        .stale_for(STALE_FOR)
        .refresh_cooldown(Duration::ZERO)
        .failure_backoff(Duration::ZERO)
}

impl Scenario {
    async fn new(endpoint: Endpoint) -> Scenario {
        Self::with(endpoint, fetch_config(), policy()).await
    }

    async fn with(endpoint: Endpoint, fetch: FetchConfig, policy: CachePolicy) -> Scenario {
        let idp = Idp::new();
        let healthy = FaultServer::start(idp.clone()).await;
        let faulty = FaultServer::start(idp.clone()).await;
        *idp.issuer.lock().unwrap() = healthy.base();
        *idp.userinfo_url.lock().unwrap() = format!("{}/userinfo", healthy.base());
        let (h, f) = (healthy.base(), faulty.base());
        let reg = match endpoint {
            Endpoint::Keys => format!(
                "provider = \"jwks\"\nclient_id = \"app-1\"\nissuer = \"{h}\"\njwks_uri = \"{f}/jwks\"\n"
            ),
            Endpoint::Discovery => format!(
                "provider = \"oidc\"\nclient_id = \"app-1\"\nissuer = \"{h}\"\n\
                 discovery_url = \"{f}/.well-known/openid-configuration\"\n"
            ),
            Endpoint::Userinfo => {
                *idp.userinfo_url.lock().unwrap() = format!("{f}/userinfo");
                format!(
                    "provider = \"oidc\"\nclient_id = \"app-1\"\nissuer = \"{h}\"\n\
                     [registrations.claims]\nuserinfo = true\n"
                )
            }
            Endpoint::Introspection => format!(
                "provider = \"introspection\"\nclient_id = \"app-1\"\n\
                 [registrations.introspection]\nendpoint = \"{f}/introspect\"\n\
                 client_id = \"rs\"\nclient_secret = \"s3cret\"\n"
            ),
            Endpoint::Registry => format!(
                "provider = \"jwks\"\nclient_id = \"app-1\"\nissuer = \"{h}\"\njwks_uri = \"{h}/jwks\"\n"
            ),
        };
        let toml = format!("[[registrations]]\nid = \"quid-1\"\n{reg}");
        let builder = if endpoint == Endpoint::Registry {
            let doc: Value = serde_json::to_value(toml.parse::<toml::Table>().unwrap()).unwrap();
            idp.registrations
                .lock()
                .unwrap()
                .insert("quid-1".into(), doc["registrations"][0].clone());
            let source = HttpRegistry::new(
                &f,
                HttpRegistryConfig::default()
                    .client(
                        HttpClientConfig::default()
                            .timeout(TIMEOUT)
                            .egress(tower_fedauth::testkit::local_egress()),
                    )
                    .default_fresh(Duration::ZERO)
                    .max_fresh(TTL)
                    .max_stale(STALE_FOR)
                    .failure_backoff(Duration::ZERO),
            )
            .unwrap();
            Authenticator::builder(source)
                .registry_cache(CacheConfig::default().ttl(TTL).negative_ttl(TTL))
        } else {
            builder(&toml)
        };
        let auth = builder.fetch(fetch).key_cache(policy).build();
        Scenario {
            endpoint,
            idp,
            healthy,
            faulty,
            layer: FedAuthLayer::new(auth),
        }
    }

    /// A token: a fresh opaque string for introspection, else a fresh JWT.
    fn token(&self) -> String {
        match self.endpoint {
            Endpoint::Introspection => {
                static N: AtomicUsize = AtomicUsize::new(0);
                format!("opaque-{}", N.fetch_add(1, Ordering::Relaxed))
            }
            _ => self.idp.mint(),
        }
    }

    /// Call with `token`; assert it took no longer than the timeout + slack.
    async fn call(&self, token: &str, what: &str) -> Answer {
        let started = Instant::now();
        let a = call_with(&self.layer, token, "quid-1").await;
        let took = started.elapsed();
        assert!(
            took < TIMEOUT + SLACK,
            "{:?} {what}: took {took:?}",
            self.endpoint
        );
        a
    }
}

/// The answer with nothing cached (or past the stale bound) under `fault`.
fn expected_cold(endpoint: Endpoint, fault: Fault) -> (u16, &'static str) {
    match (endpoint, fault) {
        // A key set that parses but holds no key: an answer, not an outage.
        (Endpoint::Keys, Fault::Empty) => (401, "unknown_key"),
        // A userinfo answer without `sub` cannot supply the claims.
        (Endpoint::Userinfo, Fault::Empty) => (401, "invalid_claims"),
        (Endpoint::Registry, _) => (503, "registry_unavailable"),
        _ => (503, "idp_unavailable"),
    }
}

fn check(a: &Answer, expected: (u16, &str), what: &str) {
    assert_eq!(
        (a.status.as_u16(), a.code().unwrap_or("(none)")),
        expected,
        "{what}: {:?}",
        a.body
    );
    if expected.0 != 200 {
        assert_refused(
            a,
            expected.0,
            expected.1,
            (expected.0 == 401).then_some("invalid_token"),
        );
    }
}

/// The whole life of one fault at one endpoint.
async fn run(s: Scenario, fault: Fault) {
    let endpoint = s.endpoint;
    let what = |phase: &str| format!("{endpoint:?} / {fault:?} / {phase}");
    let cold = expected_cold(endpoint, fault);

    // 1. Nothing cached, the source is faulty.
    s.faulty.set(fault).await;
    let token = s.token();
    let a = s.call(&token, &what("cold")).await;
    check(&a, cold, &what("cold"));

    // 2. The fault ends: service recovers by itself, for the very token
    //    refused during the fault too (no bad answer is kept for it).
    s.faulty.set(Fault::Healthy).await;
    let a = s.call(&token, &what("recovered")).await;
    check(&a, (200, "(none)"), &what("recovered"));
    let served = s.faulty.requests();

    // 3. Cached, past freshness, the source fails again.
    tokio::time::sleep(TTL + Duration::from_millis(50)).await;
    s.faulty.set(fault).await;
    match endpoint {
        // Answers cached per token: the same token is served from cache...
        Endpoint::Userinfo | Endpoint::Introspection => {
            let a = s.call(&token, &what("cached answer")).await;
            check(&a, (200, "(none)"), &what("cached answer"));
            // ...a new one needs the endpoint.
            let a = s.call(&s.token(), &what("new token")).await;
            check(&a, cold, &what("new token"));
        }
        // A parsed empty key set replaces the old one.
        Endpoint::Keys if fault == Fault::Empty => {
            let a = s.call(&s.token(), &what("stale")).await;
            check(&a, cold, &what("stale"));
        }
        // Last-known-good documents serve within the stale bound...
        _ => {
            let a = s.call(&s.token(), &what("stale")).await;
            check(&a, (200, "(none)"), &what("stale"));
            assert!(
                fault == Fault::Refuse || s.faulty.requests() > served,
                "{}: a refresh was attempted",
                what("stale")
            );
            // ...and not past it.
            tokio::time::sleep(STALE_FOR + Duration::from_millis(100)).await;
            let a = s.call(&s.token(), &what("past the stale bound")).await;
            check(&a, cold, &what("past the stale bound"));
        }
    }

    // 4. And recovers again.
    s.faulty.set(Fault::Healthy).await;
    let a = s.call(&s.token(), &what("recovered again")).await;
    check(&a, (200, "(none)"), &what("recovered again"));
}

fn kid_of(token: &str) -> Option<String> {
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next()?)
        .ok()?;
    serde_json::from_slice::<Value>(&header).ok()?["kid"]
        .as_str()
        .map(str::to_owned)
}

/// Every fault at one endpoint, concurrently (each with its own servers).
/// The scenarios are built first: building clients is blocking work that
/// would stall the timed requests of the others.
async fn every_fault(endpoint: Endpoint) {
    let mut scenarios = Vec::new();
    for fault in FAULTS {
        scenarios.push((Scenario::new(endpoint).await, fault));
    }
    let runs = scenarios.into_iter().map(|(s, fault)| run(s, fault));
    futures_util::future::join_all(runs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_key_url() {
    every_fault(Endpoint::Keys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_discovery() {
    every_fault(Endpoint::Discovery).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_userinfo() {
    every_fault(Endpoint::Userinfo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_introspection() {
    every_fault(Endpoint::Introspection).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_registry_service() {
    every_fault(Endpoint::Registry).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotating_mid_load_are_picked_up_without_refusals() {
    // Timings for load on a small, shared machine: what is tested is the
    // rotation, not how fast a debug build answers under 16 workers.
    let fetch = fetch_config().timeout(Duration::from_secs(3));
    let policy = policy().stale_for(Duration::from_secs(30));
    let s = Scenario::with(Endpoint::Keys, fetch, policy).await;
    assert_eq!(
        call_with(&s.layer, &s.idp.mint(), "quid-1").await.status,
        200
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (layer, idp, stop) = (s.layer.clone(), s.idp.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut refused = Vec::new();
            let mut ok = 0;
            while !stop.load(Ordering::Relaxed) {
                // A request answered from cache completes without ever
                // waiting, so a loop of them would never give the runtime
                // back (to the servers, the timers, the fetch in flight):
                // a network server yields between requests; so does this.
                tokio::task::yield_now().await;
                let token = idp.mint();
                let started = Instant::now();
                let a = call_with(&layer, &token, "quid-1").await;
                match a.status.as_u16() {
                    200 => ok += 1,
                    _ => refused.push(format!(
                        "{} {:?} after {:?}: kid {:?}, served {:?}",
                        a.status,
                        a.code(),
                        started.elapsed(),
                        kid_of(&token),
                        idp.keys
                            .lock()
                            .unwrap()
                            .iter()
                            .map(|k| k.kid().to_owned())
                            .collect::<Vec<_>>()
                    )),
                }
            }
            (ok, refused)
        }));
    }
    // Rotate three times under load: each new key is published and signs at
    // once (an emergency roll-over); the older ones stay published, so that
    // a slow request with an older token is not refused for a key retired
    // meanwhile (which would be right, and is not what this test is about).
    for new in KEYS[1..].iter().cloned() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        s.idp.keys.lock().unwrap().insert(0, new);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for w in workers {
        let (ok, refused) = w.await.unwrap();
        assert!(refused.is_empty(), "{refused:?}");
        total += ok;
    }
    assert!(total > 16, "{total}");
    // Single-flight: about one fetch per TTL and per rotation, not per request.
    let fetches = s.faulty.requests();
    assert!(
        fetches < total / 4,
        "{fetches} fetches for {total} requests"
    );
}

/// Regression (found by `keys_rotating_mid_load_are_picked_up_without_refusals`):
/// a key-set fetch sent before a rotation, still in flight when a token
/// with the new `kid` arrives, used to answer that token's miss — without
/// the new key, so a valid token was refused `unknown_key`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_sent_before_a_rotation_does_not_answer_a_miss_after_it() {
    let s = Scenario::new(Endpoint::Keys).await;
    let old_token = s.idp.mint();
    assert_eq!(call_with(&s.layer, &old_token, "quid-1").await.status, 200);
    // Past freshness; the next fetch answers as of its request, 300 ms later.
    tokio::time::sleep(TTL + Duration::from_millis(50)).await;
    s.faulty.set(Fault::Delayed).await;
    let refresh = {
        let (layer, token) = (s.layer.clone(), s.idp.mint());
        tokio::spawn(async move { call_with(&layer, &token, "quid-1").await.status })
    };
    // While that fetch is in flight, the IdP rotates and signs with the new key.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let previous = s.idp.signing_key();
    *s.idp.keys.lock().unwrap() = vec![KEYS[1].clone(), previous];
    let fetches = s.faulty.requests();
    let a = call_with(&s.layer, &s.idp.mint(), "quid-1").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(refresh.await.unwrap(), 200);
    assert_eq!(
        s.faulty.requests(),
        fetches + 1,
        "one more fetch, after the miss"
    );
}
