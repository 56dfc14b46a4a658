//! The table of the sender-constraint suite: DPoP requests, the
//! registrations' modes, certificate-bound tokens.

use std::net::SocketAddr;

use tower_fedauth::ErrorCode;
use tower_fedauth::jws::Algorithm;
use tower_fedauth::testkit::{ClientCert, DpopKey, DpopProof};

use super::apps::{CERT_HEADER, TLS_CLIENT};
use super::{
    BEARER, Expect, Fx, Request, bad_proof, bearer_request, binding_bearer, binding_dpop, dpop,
    dpop_request, now, proof, refused,
};

pub(super) type Make = Box<dyn Fn(&Fx, SocketAddr) -> Request>;

pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) make: Make,
    pub(super) expect: Expect,
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

pub(super) fn dpop_cases() -> Vec<Case> {
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

pub(super) fn mode_cases() -> Vec<Case> {
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

pub(super) fn mtls_cases() -> Vec<Case> {
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
