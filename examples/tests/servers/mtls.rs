//! Certificate-bound tokens (RFC 8705) through both example servers as
//! processes, the certificate passed by a TLS-terminating proxy in
//! `--client-cert-header` (URL-encoded PEM, as nginx writes it): the right
//! certificate, another one, none, the header sent to a server that was
//! not told to trust it, and `mtls = "required"`; the exact status, `code`,
//! detail and challenge, and the same answer from axum and actix.

use serde_json::json;
use tower_fedauth::testkit::{ClientCert, MockIdp};

use crate::dpop::{Refusal, assert_alike};
use crate::harness::{Answer, RegistryFile, Server, json, send, start_both, stop_all};

const CERT_HEADER: &str = "X-SSL-Client-Cert";

/// `GET /whoami` with a bearer `token` for `registration`, and `cert` in
/// the proxy's header.
async fn call(
    client: &reqwest::Client,
    server: &Server,
    token: &str,
    registration: &str,
    cert: Option<&ClientCert>,
) -> Answer {
    let auth = format!("Bearer {token}");
    let escaped = cert.map(ClientCert::nginx_header_value);
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("x-sc-auth", registration),
    ];
    if let Some(value) = &escaped {
        headers.push((CERT_HEADER, value.as_str()));
    }
    send(client, "GET", &server.url("/whoami"), &headers).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_bound_tokens_in_both_servers() {
    let client = reqwest::Client::new();
    let idp = MockIdp::start().await;
    let toml = ["quid-1", "quid-mtls"]
        .map(|id| {
            format!(
                "[[registrations]]\nid = \"{id}\"\nprovider = \"jwks\"\nclient_id = \"{}\"\n\
                 issuer = \"{}\"\njwks_uri = \"{}\"\n{}\n",
                idp.client_id(),
                idp.issuer(),
                idp.jwks_uri(),
                if id == "quid-mtls" {
                    "mtls = \"required\""
                } else {
                    ""
                }
            )
        })
        .concat();
    let registry = RegistryFile::new("mtls", &toml);
    let local = [
        "--allow-http",
        "--allow-network",
        "127.0.0.1/32",
        "--registry",
        registry.path(),
    ];
    let proxied = start_both(
        &client,
        &[&local[..], &["--client-cert-header", CERT_HEADER]].concat(),
    )
    .await;
    let direct = start_both(&client, &local).await;
    let cert = ClientCert::generate();
    let other = ClientCert::generate();
    let token = idp.token().cert_bound(&cert).sign(&idp.signing_key());
    let unbound = idp.token().sign(&idp.signing_key());

    for server in &proxied {
        let at = format!("{}: right certificate", server.bin);
        let answer = call(&client, server, &token, "quid-1", Some(&cert)).await;
        assert_eq!(answer.0, 200, "{at}: {}", answer.2);
        let body = json(&answer.2);
        assert_eq!(
            body["claims"]["cnf"],
            json!({"x5t#S256": cert.thumbprint()}),
            "{at}"
        );
        let required = call(&client, server, &token, "quid-mtls", Some(&cert)).await;
        assert_eq!(required.0, 200, "{at}, mtls = required: {}", required.2);
    }

    let other_cert = Refusal::bearer_binding(
        "the client certificate is not the one the token is bound to (cnf[\"x5t#S256\"])",
    );
    let no_cert = Refusal::bearer_binding(
        "the token is certificate-bound and the request has no client certificate",
    );
    let not_bound = Refusal::bearer_binding(
        "the registration requires certificate-bound tokens (mtls = required); \
         this one has no cnf[\"x5t#S256\"]",
    );
    let cases = [
        (
            "other certificate",
            &proxied,
            &token,
            "quid-1",
            Some(&other),
            &other_cert,
        ),
        ("no certificate", &proxied, &token, "quid-1", None, &no_cert),
        (
            "header not configured",
            &direct,
            &token,
            "quid-1",
            Some(&cert),
            &no_cert,
        ),
        (
            "mtls = required, unbound token",
            &proxied,
            &unbound,
            "quid-mtls",
            Some(&cert),
            &not_bound,
        ),
    ];
    for (name, servers, token, registration, cert, refusal) in cases {
        let mut answers = Vec::new();
        for server in servers {
            let answer = call(&client, server, token, registration, cert).await;
            refusal.assert(&answer, &format!("{}: {name}", server.bin));
            answers.push(answer);
        }
        assert_alike(&answers, name);
    }

    // An unbound token needs no certificate where mtls is allowed.
    for server in &direct {
        let answer = call(&client, server, &unbound, "quid-1", None).await;
        assert_eq!(answer.0, 200, "{}: unbound token: {}", server.bin, answer.2);
    }
    stop_all(proxied.into_iter().chain(direct));
}
