//! The cache-hit path against a real mock IdP: what it answers at once,
//! what it leaves pending, and that every lookup and decision is counted
//! exactly once whichever path a request takes.

use std::time::Duration;

use http::Request;

use super::Immediate;
use crate::authenticator::test_request as request;
use crate::metrics::DECISIONS;
use crate::metrics_tests::{accepted, counter, hits_and_misses, recorded};
use crate::registration::{Provider, Registration};
use crate::registry::InMemoryRegistry;
use crate::testkit::MockIdp;
use crate::{AuthContext, Authenticator, ErrorCode, PropertyResolver};

fn registration(idp: &MockIdp, id: &str, enabled: bool) -> Registration {
    Registration::builder(id, Provider::Jwks)
        .client_id(idp.client_id())
        .issuer(idp.issuer())
        .jwks_uri(idp.jwks_uri())
        .enabled(enabled)
        .leeway_seconds(0)
        .roles(["reader"])
        .property("p-1", ["writer"])
        .build()
        .unwrap()
}

/// `quid-1` (enabled, in property `p-1`) and `quid-off` (disabled); the
/// property is read from the `x-property` header.
fn authenticator(idp: &MockIdp) -> Authenticator {
    let registry = InMemoryRegistry::new(vec![
        registration(idp, "quid-1", true),
        registration(idp, "quid-off", false),
    ])
    .unwrap();
    Authenticator::builder(registry)
        .egress(crate::testkit::local_egress())
        .property(PropertyResolver::Header("x-property".parse().unwrap()))
        .registration_metric_labels(true)
        .build()
}

/// How far [`Authenticator::authenticate_now`] got, as its Debug names it.
fn outcome(auth: &Authenticator, req: &Request<()>) -> String {
    match auth.authenticate_now(req) {
        Err(e) => format!("refused {}", e.code().as_str()),
        Ok(Immediate::Anonymous) => "anonymous".into(),
        Ok(Immediate::Accepted(ctx)) => format!("accepted {}", ctx.subject()),
        Ok(Immediate::Pending(p)) => {
            let debug = format!("{p:?}");
            let progress = ["started", "registered", "established"]
                .into_iter()
                .find(|name| debug.contains(&format!("progress: \"{name}\"")))
                .expect("a progress name");
            format!("pending {progress}")
        }
    }
}

/// Authenticate through both halves, as the layers do.
async fn through(auth: &Authenticator, req: &Request<()>) -> Result<AuthContext, ErrorCode> {
    match auth.authenticate_now(req).map_err(|e| e.code())? {
        Immediate::Accepted(ctx) => Ok(ctx),
        Immediate::Pending(p) => auth.finish(p).await.map_err(|e| e.code()),
        Immediate::Anonymous => Err(ErrorCode::MissingToken),
    }
}

#[test]
fn a_repeated_token_is_accepted_at_once_and_each_lookup_counts_once() {
    let all = recorded(async || {
        let idp = MockIdp::start().await;
        let auth = authenticator(&idp);
        let token = idp.mint();
        let req = request(&token, "quid-1", Some("p-1"));

        // Cold: nothing cached, the whole verification is left pending.
        assert_eq!(outcome(&auth, &req), "pending started");
        let ctx = through(&auth, &req).await.unwrap();
        assert_eq!(ctx.subject(), "alice");
        // Warm: both caches answer, synchronously.
        let Ok(Immediate::Accepted(ctx)) = auth.authenticate_now(&req) else {
            panic!("a repeated token is accepted at once");
        };
        assert_eq!(ctx.subject(), "alice");
        assert_eq!(ctx.registration().id.as_str(), "quid-1");
        assert_eq!(ctx.property(), Some("p-1"));
        assert_eq!(ctx.roles().as_slice(), ["reader", "writer"]);
        assert_eq!(ctx.claims().get("sub").unwrap(), "alice");

        // Another token of a cached registration: only the signature remains.
        let other = idp.token().subject("bob").sign(&idp.signing_key());
        let req = request(&other, "quid-1", None);
        assert_eq!(outcome(&auth, &req), "pending registered");
        let ctx = through(&auth, &req).await.unwrap();
        assert_eq!(
            (ctx.subject(), ctx.roles().as_slice()),
            ("bob", &["reader".to_owned()][..])
        );
        idp.shutdown().await;
    });
    // Registry: the cold `outcome` looked nothing up (an id not in the
    // cache is left to the pending half, which counts it); the cold
    // `through` missed once; then the at-once acceptance and both calls
    // with the other token hit.
    assert_eq!(hits_and_misses(&all, "registry"), (3, 1));
    // Token cache: the cold `through` missed, the at-once acceptance hit,
    // both calls with the other token missed (the pending half did not ask
    // again).
    assert_eq!(hits_and_misses(&all, "token"), (1, 3));
    assert_eq!(
        accepted(&all, "quid-1"),
        3,
        "one decision per authenticated request"
    );
}

#[test]
fn refusals_known_to_the_caches_are_answered_at_once_and_counted_once() {
    let all = recorded(async || {
        let idp = MockIdp::start().await;
        let auth = authenticator(&idp);
        let token = idp.mint();
        for (id, property, code) in [
            ("quid-off", None, ErrorCode::RegistrationDisabled),
            ("quid-nobody", None, ErrorCode::UnknownRegistration),
            ("quid-1", Some("p-9"), ErrorCode::PropertyNotEnabled),
        ] {
            let req = request(&token, id, property);
            // The first request waits on the registry (and, for quid-1, the
            // key set); the second finds its answer in the caches.
            assert_eq!(through(&auth, &req).await.unwrap_err(), code, "{id}");
            assert_eq!(
                outcome(&auth, &req),
                format!("refused {}", code.as_str()),
                "{id}"
            );
        }
        // Header refusals never reach a cache.
        let bare = Request::builder()
            .header("x-sc-auth", "quid-1")
            .body(())
            .unwrap();
        assert_eq!(outcome(&auth, &bare), "refused missing_token");
        // Neither header: anonymous, whatever the property header holds.
        let anonymous = Request::builder()
            .header("x-property", "not a property!")
            .body(())
            .unwrap();
        assert_eq!(outcome(&auth, &anonymous), "anonymous");
        // A malformed property of a request with credentials is refused.
        let bad_property = request(&token, "quid-1", Some("not a property!"));
        assert_eq!(outcome(&auth, &bad_property), "refused invalid_request");
        idp.shutdown().await;
    });
    let refused = |code, registration| {
        counter(
            &all,
            DECISIONS,
            &[
                ("outcome", "refused"),
                ("code", code),
                ("registration", registration),
            ],
        )
    };
    assert_eq!(
        refused("registration_disabled", "quid-off"),
        0,
        "a disabled id is not a label"
    );
    assert_eq!(refused("registration_disabled", ""), 2);
    assert_eq!(refused("unknown_registration", ""), 2);
    assert_eq!(refused("property_not_enabled", "quid-1"), 2);
    assert_eq!(refused("missing_token", ""), 1);
    assert_eq!(refused("invalid_request", ""), 1);
    assert_eq!(hits_and_misses(&all, "registry"), (3, 3));
    // The token verified once (for the property refusal) and hit after.
    assert_eq!(hits_and_misses(&all, "token"), (1, 1));
}

#[test]
fn a_cached_token_past_its_exp_is_verified_again_and_refused() {
    let all = recorded(async || {
        let idp = MockIdp::start().await;
        let auth = authenticator(&idp);
        let token = idp.token().expires_in(1).sign(&idp.signing_key());
        let req = request(&token, "quid-1", None);
        assert_eq!(through(&auth, &req).await.unwrap().subject(), "alice");
        assert_eq!(outcome(&auth, &req), "accepted alice");
        // The entry ends at `exp`: the hit path leaves it to a full check.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(outcome(&auth, &req), "pending registered");
        assert_eq!(
            through(&auth, &req).await.unwrap_err(),
            ErrorCode::TokenExpired
        );
        idp.shutdown().await;
    });
    assert_eq!(hits_and_misses(&all, "token"), (1, 3));
}
