//! Sender-constrained tokens through both frameworks: one table of DPoP
//! (RFC 9449) and certificate-bound (RFC 8705) requests sent over real
//! HTTP to an axum app and an actix-web app (`binding/apps.rs`). Each
//! answer must be exactly the expected one — status, JSON body, every
//! `WWW-Authenticate` value, `DPoP-Nonce` — and the two frameworks'
//! answers identical. Then the sequences: a replayed proof, a nonce asked
//! for, used, and rotated.

mod apps;

use std::net::SocketAddr;

use serde_json::json;
use tower_fedauth::ErrorCode;
use tower_fedauth::jws::Algorithm;
use tower_fedauth::testkit::{ClientCert, DpopKey, DpopProof, MockIdp};

use apps::{Answer, Apps, CERT_HEADER, NONCE_ROTATION_SECS, TLS_CLIENT};

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

type Make = Box<dyn Fn(&Fx, SocketAddr) -> Request>;

struct Case {
    name: &'static str,
    make: Make,
    expect: Expect,
}

fn case(
    name: &'static str,
    make: impl Fn(&Fx, SocketAddr) -> Request + 'static,
    expect: Expect,
) -> Case {
    Case {
        name,
        make: Box::new(make),
        expect,
    }
}

/// A `DPoP` request to `quid-1` with the fixture's bound token and the
/// proof `change` makes of a valid one.
fn with_proof(change: impl Fn(DpopProof) -> DpopProof + 'static) -> Make {
    Box::new(move |fx: &Fx, to| {
        let token = fx.bound_to(&fx.key);
        dpop_request(
            "quid-1",
            &token,
            &[change(proof(&fx.key, to, &token)).sign()],
        )
    })
}

fn dpop_cases() -> Vec<Case> {
    let mut cases = vec![
        Case {
            name: "a valid proof",
            make: with_proof(|p| p),
            expect: Expect::Accepted,
        },
        Case {
            name: "wrong htm",
            make: with_proof(|p| p.htm("POST")),
            expect: bad_proof("the DPoP proof's htm is not the request's method"),
        },
        Case {
            name: "wrong htu",
            make: with_proof(|p| p.htu("http://127.0.0.1:1/whoami")),
            expect: bad_proof("the DPoP proof's htu is not the request's URL"),
        },
        Case {
            name: "old iat",
            make: with_proof(|p| p.iat(now() - 600)),
            expect: bad_proof("the DPoP proof's iat is too old"),
        },
        Case {
            name: "wrong ath",
            make: with_proof(|p| p.ath_for("another.access.token")),
            expect: bad_proof("the DPoP proof's ath is not the hash of the access token"),
        },
        Case {
            name: "corrupted signature",
            make: with_proof(DpopProof::corrupt_signature),
            expect: bad_proof("the DPoP proof's signature does not verify with its jwk"),
        },
        Case {
            name: "private key in jwk",
            make: with_proof(DpopProof::private_jwk),
            expect: bad_proof("the DPoP proof's jwk holds private or symmetric key material (`d`)"),
        },
        Case {
            name: "alg none",
            make: with_proof(|p| p.alg("none")),
            expect: bad_proof("the DPoP proof's alg none is not an asymmetric signature algorithm"),
        },
        Case {
            name: "alg HS256",
            make: with_proof(|p| p.alg("HS256")),
            expect: bad_proof(
                "the DPoP proof's alg HS256 is not an asymmetric signature algorithm",
            ),
        },
        Case {
            name: "typ not dpop+jwt",
            make: with_proof(|p| p.typ("JWT")),
            expect: bad_proof("the DPoP proof's typ is not dpop+jwt"),
        },
        case(
            "no proof",
            |fx, _| dpop_request("quid-1", &fx.bound_to(&fx.key), &[]),
            bad_proof("the DPoP scheme without a DPoP header"),
        ),
        case(
            "two proofs",
            |fx, to| {
                let token = fx.bound_to(&fx.key);
                let one = proof(&fx.key, to, &token).sign();
                let two = proof(&fx.key, to, &token).sign();
                dpop_request("quid-1", &token, &[one, two])
            },
            bad_proof("the request has more than one DPoP header"),
        ),
        case(
            "another key's proof",
            |fx, to| {
                let token = fx.bound_to(&fx.key);
                let thief = DpopKey::generate(Algorithm::ES256);
                dpop_request("quid-1", &token, &[proof(&thief, to, &token).sign()])
            },
            binding_dpop("the token's cnf.jkt is not the thumbprint of the DPoP proof's key"),
        ),
        case(
            "bound token sent as Bearer",
            |fx, _| bearer_request("quid-1", "/whoami", &fx.bound_to(&fx.key), vec![]),
            binding_dpop(
                "the token is DPoP-bound (cnf.jkt) and was sent without the DPoP scheme and its proof",
            ),
        ),
    ];
    for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA] {
        cases.push(case(
            "a valid proof of another algorithm",
            move |fx, to| {
                let key = DpopKey::generate(alg);
                let token = fx.bound_to(&key);
                dpop_request("quid-1", &token, &[proof(&key, to, &token).sign()])
            },
            Expect::Accepted,
        ));
    }
    cases
}

fn mode_cases() -> Vec<Case> {
    vec![
        case(
            "required: a bearer token",
            |fx, _| bearer_request("quid-required", "/whoami", &fx.idp().mint(), vec![]),
            binding_bearer(
                "the registration requires DPoP-bound tokens (dpop = required); this one has no cnf.jkt",
            ),
        ),
        case(
            "required: a bound token with its proof",
            |fx, to| {
                let token = fx.bound_to(&fx.key);
                let p = proof(&fx.key, to, &token).sign();
                dpop_request("quid-required", &token, &[p])
            },
            Expect::Accepted,
        ),
        case(
            "off: the DPoP scheme",
            |fx, to| {
                let token = fx.bound_to(&fx.key);
                dpop_request("quid-off", &token, &[proof(&fx.key, to, &token).sign()])
            },
            refused(
                ErrorCode::InvalidRequest,
                "the DPoP scheme is not accepted for this registration (dpop = off)",
                vec![],
            ),
        ),
        case(
            "allowed: a bearer token",
            |fx, _| bearer_request("quid-1", "/whoami", &fx.idp().mint(), vec![]),
            Expect::Accepted,
        ),
        case(
            "nonce required, none sent",
            |fx, to| {
                let token = fx.bound_to(&fx.key);
                dpop_request("quid-nonce", &token, &[proof(&fx.key, to, &token).sign()])
            },
            Expect::Refused {
                code: ErrorCode::UseDpopNonce,
                detail: "the registration requires a server nonce in DPoP proofs",
                param: "DPoP",
                challenges: vec![
                    dpop("use_dpop_nonce", ErrorCode::UseDpopNonce),
                    BEARER.into(),
                ],
                nonce: true,
            },
        ),
    ]
}

fn mtls_cases() -> Vec<Case> {
    let header = |cert: &ClientCert| vec![(CERT_HEADER, cert.nginx_header_value())];
    vec![
        case(
            "mTLS: the right certificate (proxy header)",
            move |fx, _| {
                bearer_request(
                    "quid-1",
                    "/whoami",
                    &fx.cert_bound(&fx.cert),
                    header(&fx.cert),
                )
            },
            Expect::Accepted,
        ),
        case(
            "mTLS: another certificate",
            move |fx, _| {
                let other = ClientCert::generate();
                bearer_request(
                    "quid-1",
                    "/whoami",
                    &fx.cert_bound(&fx.cert),
                    header(&other),
                )
            },
            binding_bearer(
                "the client certificate is not the one the token is bound to (cnf[\"x5t#S256\"])",
            ),
        ),
        case(
            "mTLS: no certificate",
            |fx, _| bearer_request("quid-1", "/whoami", &fx.cert_bound(&fx.cert), vec![]),
            binding_bearer(
                "the token is certificate-bound and the request has no client certificate",
            ),
        ),
        case(
            "mTLS required: an unbound token",
            move |fx, _| bearer_request("quid-mtls", "/whoami", &fx.idp().mint(), header(&fx.cert)),
            binding_bearer(
                "the registration requires certificate-bound tokens (mtls = required); this one has no cnf[\"x5t#S256\"]",
            ),
        ),
        case(
            "mTLS off: a bound token",
            move |fx, _| {
                bearer_request(
                    "quid-no-mtls",
                    "/whoami",
                    &fx.cert_bound(&fx.cert),
                    header(&fx.cert),
                )
            },
            binding_bearer(
                "the token is certificate-bound and the registration ignores client certificates (mtls = off)",
            ),
        ),
        case(
            "mTLS: the connection's certificate",
            |fx, _| bearer_request("quid-1", "/tls/whoami", &fx.cert_bound(&TLS_CLIENT), vec![]),
            Expect::Accepted,
        ),
        case(
            "mTLS: a header where none is configured",
            move |fx, _| {
                bearer_request(
                    "quid-1",
                    "/tls/whoami",
                    &fx.cert_bound(&fx.cert),
                    header(&fx.cert),
                )
            },
            binding_bearer(
                "the client certificate is not the one the token is bound to (cnf[\"x5t#S256\"])",
            ),
        ),
    ]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_proof_is_refused_by_both() {
    let apps = Apps::start().await;
    let key = DpopKey::generate(Algorithm::ES256);
    let token = apps
        .idp
        .token()
        .dpop_bound(&key)
        .sign(&apps.idp.signing_key());
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
    let apps = Apps::start().await;
    let key = DpopKey::generate(Algorithm::ES256);
    let token = apps
        .idp
        .token()
        .dpop_bound(&key)
        .sign(&apps.idp.signing_key());
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
