//! `fedauth explain` on sender-constrained requests: each DPoP check
//! (RFC 9449) and the client-certificate check (RFC 8705), passed, failed
//! with its reason and what the request presented, or not reached.

use tower_fedauth::jws::Algorithm;
use tower_fedauth::testkit::{ClientCert, DpopKey, DpopProof, MockIdp};

use super::{Run, Temp, explain_args, fedauth_async};

const URL: &str = "https://api.platform.example/orders";

/// The lines `run` must print, each whole.
#[track_caller]
fn assert_lines(run: &Run, code: i32, lines: &[&str]) {
    assert_eq!(run.code, code, "{}\n{}", run.stdout, run.stderr);
    for line in lines {
        assert!(
            run.stdout.lines().any(|l| l == *line),
            "no line `{line}` in\n{}",
            run.stdout
        );
    }
}

/// A registry of one `jwks` registration, `quid-1`, at the mock IdP.
fn registry(idp: &MockIdp) -> Temp {
    let (client, issuer, keys) = (idp.client_id(), idp.issuer(), idp.jwks_uri());
    let toml = format!(
        "[[registrations]]\nid = \"quid-1\"\nprovider = \"jwks\"\n\
         client_id = \"{client}\"\nissuer = \"{issuer}\"\njwks_uri = \"{keys}\"\n"
    );
    Temp::new("toml", &toml)
}

/// `fedauth explain` of `token` with `extra`, the mock IdP allowed.
async fn explain(registry: &Temp, token: &str, extra: &[&str]) -> Run {
    let mut all = vec!["--allow-network", "127.0.0.1/32"];
    all.extend_from_slice(extra);
    fedauth_async(explain_args(registry, "quid-1", token, &all), None).await
}

/// The same with the DPoP header `proof`, sent to [`URL`].
async fn with_proof(registry: &Temp, token: &str, proof: &str) -> Run {
    explain(registry, token, &["--dpop", proof, "--url", URL]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_each_dpop_check() {
    let idp = MockIdp::start().await;
    let registry = registry(&idp);
    let key = DpopKey::generate(Algorithm::ES256);
    let token = idp.token().dpop_bound(&key).sign(&idp.signing_key());
    let proof = |p: DpopProof| p.htu(URL).ath_for(&token).sign();
    let jkt = key.thumbprint();

    // A valid proof: every check passes.
    let valid = proof(DpopProof::new(&key).jti("proof-1"));
    let run = with_proof(&registry, &token, &valid).await;
    let key_line = format!(
        "      PASS  proof key     the token's cnf.jkt {jkt} is the proof key's thumbprint"
    );
    assert_lines(
        &run,
        0,
        &[
            "PASS  sender constraint a DPoP proof of the token's key",
            "      PASS  DPoP header   one DPoP header",
            "      PASS  proof header  typ dpop+jwt, alg ES256, a public jwk (EC)",
            "      PASS  signature     verifies with the proof's jwk",
            "      PASS  htm           GET is the request's method",
            &format!("      PASS  htu           {URL} names the request's URL"),
            "      PASS  ath           the hash of the access token",
            "      PASS  nonce         not required (dpop_nonce = false)",
            &key_line,
            "      PASS  jti           proof-1 not used before",
            "      PASS  certificate   the token is not certificate-bound (mtls = allowed, client certificate: none)",
        ],
    );
    assert!(
        run.stdout.contains(&format!("cnf={{\"jkt\":\"{jkt}\"}}")),
        "{}",
        run.stdout
    );

    // Refused proofs: the failing check with the reason and what the
    // request presented, the checks before it passed, those after not
    // reached.
    let post = proof(DpopProof::new(&key).htm("POST"));
    let other = proof(DpopProof::new(&DpopKey::generate(Algorithm::ES256)));
    let none = proof(DpopProof::new(&key).alg("none"));
    let other_key = format!(
        "      FAIL  proof key     the token's cnf.jkt is not the thumbprint of the DPoP \
         proof's key (the token's cnf.jkt: {jkt})"
    );
    let refused: [(&str, Vec<&str>); 3] = [
        (
            &post,
            vec![
                "FAIL  sender constraint invalid_dpop_proof: the DPoP proof's htm is not the request's method",
                "      PASS  signature     verifies with the proof's jwk",
                "      FAIL  htm           the DPoP proof's htm is not the request's method (proof POST, request GET)",
                "       --   htu           not reached",
                "       --   jti           not reached",
                "result: refused, HTTP 401, code invalid_dpop_proof (The DPoP proof is missing or invalid.)",
            ],
        ),
        (
            &other,
            vec![
                &other_key,
                "result: refused, HTTP 401, code invalid_token_binding (The token is bound to a key or certificate the request does not prove.)",
            ],
        ),
        // Refused on the proof's header, before the token is read.
        (
            &none,
            vec![
                " --   signature       not reached (the DPoP proof was refused first)",
                "      PASS  DPoP header   one DPoP header",
                "      FAIL  proof header  the DPoP proof's alg none is not an asymmetric signature algorithm",
                "       --   signature     not reached",
            ],
        ),
    ];
    for (proof, lines) in refused {
        assert_lines(&with_proof(&registry, &token, proof).await, 1, &lines);
    }
    // --method POST makes the POST proof pass.
    let run = explain(
        &registry,
        &token,
        &["--dpop", &post, "--url", URL, "--method", "POST"],
    )
    .await;
    assert_lines(
        &run,
        0,
        &["      PASS  htm           POST is the request's method"],
    );

    // The bound token without a proof, as a bearer token.
    let run = explain(&registry, &format!("Bearer {token}"), &[]).await;
    assert_lines(
        &run,
        1,
        &[&format!(
            "      FAIL  DPoP binding  the token is DPoP-bound (cnf.jkt) and was sent without the \
             DPoP scheme and its proof (the token's cnf.jkt: {jkt})"
        )],
    );

    // --dpop without --url is a usage error.
    let run = explain(&registry, &token, &["--dpop", &valid]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--dpop needs --url"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_the_client_certificate_check() {
    let idp = MockIdp::start().await;
    let registry = registry(&idp);
    let cert = ClientCert::generate();
    let other = ClientCert::generate();
    let token = idp.token().cert_bound(&cert).sign(&idp.signing_key());
    let pem = Temp::new("pem", &cert.pem());
    let other_pem = Temp::new("pem", &other.pem());

    let run = explain(&registry, &token, &["--client-cert", pem.path()]).await;
    assert_lines(
        &run,
        0,
        &[
            "      PASS  DPoP binding  the token is not DPoP-bound (no cnf.jkt)",
            "      PASS  dpop mode     dpop = allowed",
            &format!(
                "      PASS  certificate   the token's cnf x5t#S256 {} is the client certificate's",
                cert.thumbprint()
            ),
        ],
    );

    let run = explain(&registry, &token, &["--client-cert", other_pem.path()]).await;
    assert_lines(
        &run,
        1,
        &[&format!(
            "      FAIL  certificate   the client certificate is not the one the token is bound to \
             (cnf[\"x5t#S256\"]) (the token's cnf x5t#S256: {}; client certificate: x5t#S256 {})",
            cert.thumbprint(),
            other.thumbprint()
        )],
    );

    let run = explain(&registry, &token, &[]).await;
    assert_lines(
        &run,
        1,
        &[&format!(
            "      FAIL  certificate   the token is certificate-bound and the request has no client \
             certificate (the token's cnf x5t#S256: {}; client certificate: none)",
            cert.thumbprint()
        )],
    );
}
