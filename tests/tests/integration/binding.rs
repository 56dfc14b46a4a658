//! Sender-constrained tokens through both frameworks: one table of DPoP
//! (RFC 9449) and certificate-bound (RFC 8705) requests sent over real
//! HTTP to an axum app and an actix-web app (`binding/apps.rs`). Each
//! answer must be exactly the expected one — status, JSON body, every
//! `WWW-Authenticate` value, `DPoP-Nonce` — and the two frameworks'
//! answers identical. Then the sequences: a replayed proof, a nonce asked
//! for, used, and rotated.

mod apps;
mod cases;

use std::net::SocketAddr;

use serde_json::json;
use tower_fedauth::ErrorCode;
use tower_fedauth::jws::Algorithm;
use tower_fedauth::testkit::{ClientCert, DpopKey, DpopProof, MockIdp};

use apps::{Answer, Apps, NONCE_ROTATION_SECS};
use cases::{Case, dpop_cases, mode_cases, mtls_cases};

const ALGS: &str = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA";
const BEARER: &str = "Bearer realm=\"fedauth\"";

/// The `DPoP` challenge with `error` and the code's message.
fn dpop(error: &str, code: ErrorCode) -> String {
    format!(
        "DPoP realm=\"fedauth\", algs=\"{ALGS}\", error=\"{error}\", error_description=\"{}\"",
        code.message()
    )
}

/// The Bearer challenge of `invalid_token_binding`.
fn bearer_binding() -> String {
    format!(
        "{BEARER}, error=\"invalid_token\", error_description=\"{}\"",
        ErrorCode::InvalidTokenBinding.message()
    )
}

/// Seconds since the epoch.
fn now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.unwrap().as_secs() as i64
}

/// The tokens and keys of the table.
struct Fx {
    apps: Apps,
    key: DpopKey,
    cert: ClientCert,
}

impl Fx {
    fn idp(&self) -> &MockIdp {
        &self.apps.idp
    }

    fn bound_to(&self, key: &DpopKey) -> String {
        self.idp()
            .token()
            .dpop_bound(key)
            .sign(&self.idp().signing_key())
    }

    fn cert_bound(&self, cert: &ClientCert) -> String {
        self.idp()
            .token()
            .cert_bound(cert)
            .sign(&self.idp().signing_key())
    }
}

/// A request of the table, made for one server (its address: `htu`).
struct Request {
    registration: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
}

/// `DPoP <token>` with the proofs, for `registration`.
fn dpop_request(registration: &'static str, token: &str, proofs: &[String]) -> Request {
    let mut headers = vec![("authorization", format!("DPoP {token}"))];
    headers.extend(proofs.iter().map(|p| ("dpop", p.clone())));
    Request {
        registration,
        path: "/whoami",
        headers,
    }
}

/// `Bearer <token>` and more headers, for `registration` on `path`.
fn bearer_request(
    registration: &'static str,
    path: &'static str,
    token: &str,
    more: Vec<(&'static str, String)>,
) -> Request {
    let mut headers = vec![("authorization", format!("Bearer {token}"))];
    headers.extend(more);
    Request {
        registration,
        path,
        headers,
    }
}

/// A valid proof of `key` for `GET /whoami` at `to` with `token`.
fn proof(key: &DpopKey, to: SocketAddr, token: &str) -> DpopProof {
    DpopProof::new(key)
        .htu(format!("http://{to}/whoami"))
        .ath_for(token)
}

enum Expect {
    /// 200, the registration and the token's `cnf`.
    Accepted,
    /// The refusal: code, detail, param, challenges, a `DPoP-Nonce`.
    Refused {
        code: ErrorCode,
        detail: &'static str,
        param: &'static str,
        challenges: Vec<String>,
        nonce: bool,
    },
}

fn refused(code: ErrorCode, detail: &'static str, challenges: Vec<String>) -> Expect {
    let param = match code {
        ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce => "DPoP",
        _ => "Authorization",
    };
    Expect::Refused {
        code,
        detail,
        param,
        challenges,
        nonce: false,
    }
}

fn bad_proof(detail: &'static str) -> Expect {
    let challenges = vec![
        dpop("invalid_dpop_proof", ErrorCode::InvalidDpopProof),
        BEARER.into(),
    ];
    refused(ErrorCode::InvalidDpopProof, detail, challenges)
}

fn binding_dpop(detail: &'static str) -> Expect {
    let challenges = vec![
        dpop("invalid_token", ErrorCode::InvalidTokenBinding),
        BEARER.into(),
    ];
    refused(ErrorCode::InvalidTokenBinding, detail, challenges)
}

fn binding_bearer(detail: &'static str) -> Expect {
    refused(
        ErrorCode::InvalidTokenBinding,
        detail,
        vec![bearer_binding()],
    )
}

/// The answer `expect` describes, checked in full.
fn check(name: &str, at: &str, answer: &Answer, expect: &Expect, registration: &str) {
    let at = format!("case `{name}` on {at}");
    let body = answer.json();
    match expect {
        Expect::Accepted => {
            assert_eq!(answer.status, 200, "{at}: {body}");
            assert_eq!(body["registration"], registration, "{at}");
            assert_eq!(body["subject"], "alice", "{at}");
            assert!(answer.all("www-authenticate").is_empty(), "{at}");
            assert!(answer.all("dpop-nonce").is_empty(), "{at}");
        }
        Expect::Refused {
            code,
            detail,
            param,
            challenges,
            nonce,
        } => {
            assert_eq!(answer.status, code.status().as_u16(), "{at}: {body}");
            let expected = json!({
                "code": code.as_str(),
                "message": code.message(),
                "details": [{"value": null, "msg": detail, "param": param, "location": "header"}],
            });
            assert_eq!(body, expected, "{at}");
            assert_eq!(answer.all("www-authenticate"), *challenges, "{at}");
            let nonces = answer.all("dpop-nonce");
            assert_eq!(nonces.len(), usize::from(*nonce), "{at}: {nonces:?}");
            assert!(nonces.iter().all(|n| n.len() == 24), "{at}: {nonces:?}");
        }
    }
}

/// The answer with its `DPoP-Nonce` value hidden (a period may end between
/// two requests).
fn masked(answer: &Answer) -> Answer {
    let mut answer = answer.clone();
    for (name, value) in &mut answer.headers {
        if name == "dpop-nonce" {
            *value = "…".into();
        }
    }
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_table_of_bound_tokens_for_axum_and_actix() {
    let fx = Fx {
        apps: Apps::start().await,
        key: DpopKey::generate(Algorithm::ES256),
        cert: ClientCert::generate(),
    };
    let cases: Vec<Case> = [dpop_cases(), mode_cases(), mtls_cases()]
        .into_iter()
        .flatten()
        .collect();
    let mut codes = std::collections::BTreeSet::new();
    for case in &cases {
        let mut answers = Vec::new();
        for (at, to) in [("axum", fx.apps.axum), ("actix", fx.apps.actix)] {
            let req = (case.make)(&fx, to);
            let mut headers = req.headers.clone();
            headers.push(("x-sc-auth", req.registration.to_owned()));
            let answer = fx.apps.send(to, "GET", req.path, &headers).await;
            check(case.name, at, &answer, &case.expect, req.registration);
            answers.push(masked(&answer));
        }
        if let Expect::Refused { code, .. } = &case.expect {
            codes.insert(code.as_str());
        } else {
            // Accepted bodies carry each server's own token: compare shapes.
            for answer in &mut answers {
                answer.body = bytes::Bytes::new();
            }
        }
        assert_eq!(
            answers[0], answers[1],
            "case `{}`: axum and actix differ",
            case.name
        );
    }
    let reached: Vec<&str> = codes.into_iter().collect();
    assert_eq!(
        reached,
        [
            "invalid_dpop_proof",
            "invalid_request",
            "invalid_token_binding",
            "use_dpop_nonce"
        ]
    );
    fx.apps.stop().await;
}

/// `DPoP <token>` with one proof to `to`, as `registration`.
async fn send_proof(
    apps: &Apps,
    to: SocketAddr,
    registration: &str,
    token: &str,
    proof: &DpopProof,
) -> Answer {
    let headers = [
        ("authorization", format!("DPoP {token}")),
        ("dpop", proof.sign()),
        ("x-sc-auth", registration.to_owned()),
    ];
    apps.send(to, "GET", "/whoami", &headers).await
}

/// Both apps, a client's key and a token bound to it.
async fn bound_apps() -> (Apps, DpopKey, String) {
    let apps = Apps::start().await;
    let key = DpopKey::generate(Algorithm::ES256);
    let token = apps.idp.token().dpop_bound(&key);
    let token = token.sign(&apps.idp.signing_key());
    (apps, key, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_proof_is_refused_by_both() {
    let (apps, key, token) = bound_apps().await;
    let mut answers = Vec::new();
    for (at, to) in [("axum", apps.axum), ("actix", apps.actix)] {
        let p = proof(&key, to, &token);
        let first = send_proof(&apps, to, "quid-1", &token, &p).await;
        check("replay, first use", at, &first, &Expect::Accepted, "quid-1");
        let again = send_proof(&apps, to, "quid-1", &token, &p).await;
        let expect = bad_proof("the DPoP proof's jti was used before");
        check("replay, second use", at, &again, &expect, "quid-1");
        // A fresh proof of the same key: accepted.
        let fresh = send_proof(&apps, to, "quid-1", &token, &proof(&key, to, &token)).await;
        check(
            "replay, fresh proof",
            at,
            &fresh,
            &Expect::Accepted,
            "quid-1",
        );
        answers.push(again);
    }
    assert_eq!(answers[0], answers[1]);
    apps.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_is_asked_for_used_and_rotated_by_both() {
    let (apps, key, token) = bound_apps().await;
    for (at, to) in [("axum", apps.axum), ("actix", apps.actix)] {
        // Start early in a period, so that it does not end mid-test.
        let rotation = NONCE_ROTATION_SECS as i64;
        while now() % rotation != 0 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let asked = send_proof(&apps, to, "quid-nonce", &token, &proof(&key, to, &token)).await;
        assert_eq!(asked.status, 401, "{at}");
        assert_eq!(asked.json()["code"], "use_dpop_nonce", "{at}");
        let nonce = asked.all("dpop-nonce")[0].to_owned();
        let used = proof(&key, to, &token).nonce(&nonce);
        let ok = send_proof(&apps, to, "quid-nonce", &token, &used).await;
        check("nonce used", at, &ok, &Expect::Accepted, "quid-nonce");
        // The next period: the old nonce still works, and the answer
        // hands out the new one.
        tokio::time::sleep(std::time::Duration::from_secs(NONCE_ROTATION_SECS)).await;
        let used = proof(&key, to, &token).nonce(&nonce);
        let rotated = send_proof(&apps, to, "quid-nonce", &token, &used).await;
        assert_eq!(rotated.status, 200, "{at}: {:?}", rotated.json());
        let fresh = rotated.all("dpop-nonce");
        assert_eq!(fresh.len(), 1, "{at}");
        assert_ne!(fresh[0], nonce, "{at}");
        // A made-up nonce: refused with the current one.
        let stale = proof(&key, to, &token).nonce("made-up");
        let refused = send_proof(&apps, to, "quid-nonce", &token, &stale).await;
        assert_eq!(refused.json()["code"], "use_dpop_nonce", "{at}");
        assert_eq!(refused.all("dpop-nonce"), fresh, "{at}");
    }
    apps.stop().await;
}
