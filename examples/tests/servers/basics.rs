//! The example servers as a newcomer and the outside tests run them: real
//! processes, `--listen 127.0.0.1:0`, the `listening on` line, the demo's
//! `curl` line, `--registry` with `--allow-http`, `/health`, `/ready`,
//! `/metrics`, and a clean exit on SIGTERM / SIGINT.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tower_fedauth::testkit::MockIdp;

use crate::harness::{SERVERS, Server, get, json, wait_ready};

/// The token and registration of the demo's curl line.
fn parse_curl(line: &str, base: &str) -> (String, String) {
    let rest = line
        .strip_prefix("curl -H 'Authorization: Bearer ")
        .unwrap_or_else(|| panic!("{line}"));
    let (token, rest) = rest.split_once('\'').unwrap();
    let rest = rest
        .strip_prefix(" -H 'x-sc-auth: ")
        .unwrap_or_else(|| panic!("{line}"));
    let (registration, rest) = rest.split_once('\'').unwrap();
    assert_eq!(rest, format!(" {base}/whoami"), "{line}");
    (token.to_owned(), registration.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_prints_a_working_curl_line() {
    let client = reqwest::Client::new();
    for bin in SERVERS {
        let server = Server::start(bin, &[]);
        let (token, registration) = parse_curl(&server.line(), &server.base);
        assert_eq!(registration, "demo");
        let bearer = format!("Bearer {token}");
        let auth = [("authorization", bearer.as_str()), ("x-sc-auth", "demo")];

        let (status, body) = get(&client, &server.url("/whoami"), &auth).await;
        assert_eq!(status, 200, "{bin}: {body}");
        let body = json(&body);
        let issuer = body["issuer"].as_str().unwrap().to_owned();
        assert!(issuer.starts_with("http://127.0.0.1:"), "{issuer}");
        let claims = body["claims"].clone();
        assert_eq!(claims["iss"], issuer.as_str());
        assert_eq!(
            body,
            json!({
                "registration": "demo",
                "client_id": "app-1",
                "provider": "jwks",
                "issuer": issuer,
                "subject": "alice",
                "property": null,
                "roles": ["reader"],
                "principal": {"subject": "alice", "username": "alice", "email": "alice@example.com", "attributes": {}},
                "claims": {
                    "iss": issuer, "sub": "alice", "aud": "app-1", "preferred_username": "alice",
                    "email": "alice@example.com", "iat": claims["iat"], "exp": claims["exp"],
                },
            })
        );
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );

        let (status, body) =
            get(&client, &server.url("/properties/property-42/admin"), &auth).await;
        assert_eq!(status, 200, "{bin}: {body}");
        assert_eq!(json(&body)["roles"], json!(["admin", "reader"]));
        assert_eq!(json(&body)["property"], "property-42");

        let (status, body) =
            get(&client, &server.url("/properties/property-7/whoami"), &auth).await;
        assert_eq!(
            (status, json(&body)["code"].clone()),
            (403, json!("property_not_enabled"))
        );
        let (status, body) = get(&client, &server.url("/whoami"), &[]).await;
        assert_eq!(
            (status, json(&body)["code"].clone()),
            (401, json!("missing_token"))
        );

        assert_eq!(
            get(&client, &server.url("/health"), &[]).await,
            (200, "ok".to_owned())
        );
        wait_ready(&client, &server).await;
        let (status, metrics) = get(&client, &server.url("/metrics"), &[]).await;
        assert_eq!(status, 200);
        for line in [
            "fedauth_warmup_registrations{outcome=\"ready\"} 1",
            "fedauth_warmup_registrations{outcome=\"failed\"} 0",
            "fedauth_decisions_total{outcome=\"accepted\",code=\"none\"} 2",
            "fedauth_decisions_total{outcome=\"refused\",code=\"property_not_enabled\"} 1",
            "fedauth_decisions_total{outcome=\"refused\",code=\"missing_token\"} 1",
            "fedauth_key_fetches_total{kind=\"jwks\",outcome=\"ok\"} 1",
        ] {
            assert!(
                metrics.lines().any(|l| l == line),
                "{bin}: no `{line}` in\n{metrics}"
            );
        }

        assert!(
            !metrics.contains("registration="),
            "{bin}: registration ids on /metrics:\n{metrics}"
        );
        let status = server.stop("-INT");
        assert_eq!(status.code(), Some(0), "{bin} after SIGINT");
    }
}

/// A registry TOML: `quid-1` at `idp`, `quid-down` at an IdP that is down.
fn registry_file(idp: &MockIdp, down: &MockIdp, name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "fedauth-examples-{}-{name}.toml",
        std::process::id()
    ));
    let toml = format!(
        "[[registrations]]\nid = \"quid-1\"\nprovider = \"jwks\"\nclient_id = \"app-1\"\n\
         issuer = \"{}\"\njwks_uri = \"{}\"\nroles = [\"reader\"]\n\
         [registrations.properties]\n\"property-42\" = [\"admin\"]\n\n\
         [[registrations]]\nid = \"quid-down\"\nprovider = \"jwks\"\nclient_id = \"app-1\"\n\
         jwks_uri = \"{}\"\n",
        idp.issuer(),
        idp.jwks_uri(),
        down.jwks_uri()
    );
    std::fs::write(&path, toml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_file_with_allow_http() {
    let client = reqwest::Client::new();
    let idp = MockIdp::start().await;
    let down = MockIdp::start().await;
    down.set_outage(true);
    let path = registry_file(&idp, &down, "allow-http");
    for bin in SERVERS {
        // A slow IdP keeps the pre-warm pass, and so /ready, waiting.
        idp.set_delay(Duration::from_secs(2));
        let server = Server::start(
            bin,
            &[
                "--registry",
                path.to_str().unwrap(),
                "--allow-http",
                "--allow-network",
                "127.0.0.1/32",
            ],
        );
        let (status, body) = get(&client, &server.url("/ready"), &[]).await;
        assert_eq!((status, body.as_str()), (503, "warming up"), "{bin}");
        assert_eq!(
            get(&client, &server.url("/health"), &[]).await,
            (200, "ok".to_owned())
        );
        wait_ready(&client, &server).await;
        idp.set_delay(Duration::ZERO);

        let token = idp.mint();
        let bearer = format!("Bearer {token}");
        let auth = [("authorization", bearer.as_str()), ("x-sc-auth", "quid-1")];
        let (status, body) =
            get(&client, &server.url("/properties/property-42/admin"), &auth).await;
        assert_eq!(status, 200, "{bin}: {body}");
        let body = json(&body);
        assert_eq!(
            (
                &body["registration"],
                &body["issuer"],
                &body["roles"],
                &body["principal"]["username"]
            ),
            (
                &json!("quid-1"),
                &json!(idp.issuer()),
                &json!(["admin", "reader"]),
                &Value::Null
            )
        );
        let down_auth = [
            ("authorization", bearer.as_str()),
            ("x-sc-auth", "quid-down"),
        ];
        let (status, body) = get(&client, &server.url("/whoami"), &down_auth).await;
        assert_eq!(
            (status, json(&body)["code"].clone()),
            (503, json!("idp_unavailable")),
            "{bin}"
        );

        let (_, metrics) = get(&client, &server.url("/metrics"), &[]).await;
        for line in [
            "fedauth_warmup_registrations{outcome=\"ready\"} 1",
            "fedauth_warmup_registrations{outcome=\"failed\"} 1",
            "fedauth_decisions_total{outcome=\"refused\",code=\"idp_unavailable\"} 1",
        ] {
            assert!(
                metrics.lines().any(|l| l == line),
                "{bin}: no `{line}` in\n{metrics}"
            );
        }
        assert!(
            !metrics.contains("quid-"),
            "{bin}: registration ids on /metrics:\n{metrics}"
        );
        let status = server.stop("-TERM");
        assert_eq!(status.code(), Some(0), "{bin} after SIGTERM");
    }
    let _ = std::fs::remove_file(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_allow_http_plain_http_idps_are_not_fetched() {
    let client = reqwest::Client::new();
    let idp = MockIdp::start().await;
    let down = MockIdp::start().await;
    let path = registry_file(&idp, &down, "https-only");
    for bin in SERVERS {
        let server = Server::start(bin, &["--registry", path.to_str().unwrap()]);
        wait_ready(&client, &server).await;
        let bearer = format!("Bearer {}", idp.mint());
        let auth = [("authorization", bearer.as_str()), ("x-sc-auth", "quid-1")];
        let (status, body) = get(&client, &server.url("/whoami"), &auth).await;
        assert_eq!(
            (status, json(&body)["code"].clone()),
            (503, json!("idp_unavailable")),
            "{bin}"
        );
        assert_eq!(server.stop("-TERM").code(), Some(0), "{bin}");
    }
    assert_eq!(idp.jwks_fetches(), 0);
    let _ = std::fs::remove_file(path);
}

/// Run `bin` to completion: exit code, stdout, stderr.
fn run(bin: &'static str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn command_line_errors() {
    for bin in SERVERS {
        let name = if bin.ends_with("axum-server") {
            "axum-server"
        } else {
            "actix-server"
        };
        let usage = format!(
            "usage: {name} [--registry PATH | --database-url URL] [--listen ADDR] [--allow-http]"
        );

        let (code, stdout, stderr) = run(bin, &["--verbose"]);
        assert_eq!(code, Some(2), "{bin}");
        assert_eq!(stdout, "");
        assert!(
            stderr.starts_with(&format!(
                "{name}: unknown argument `--verbose`\n\n{usage}\n"
            )),
            "{stderr}"
        );

        let (code, _, stderr) = run(bin, &["--listen"]);
        assert_eq!(code, Some(2));
        assert!(
            stderr.starts_with(&format!("{name}: --listen needs a value\n")),
            "{stderr}"
        );

        let (code, stdout, stderr) = run(bin, &["--help"]);
        assert_eq!((code, stderr.as_str()), (Some(0), ""));
        assert!(stdout.starts_with(&usage), "{stdout}");

        let missing = std::env::temp_dir().join("fedauth-examples-no-such-registry.toml");
        let (code, stdout, stderr) = run(
            bin,
            &[
                "--registry",
                missing.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ],
        );
        assert_eq!((code, stdout.as_str()), (Some(1), ""), "{bin}: {stderr}");
        assert!(
            stderr.contains(&missing.display().to_string()),
            "the error names the file: {stderr}"
        );
    }
}
