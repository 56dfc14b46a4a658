//! The egress policy through both example servers as processes: URLs a
//! third party registers (or that its documents name) on internal
//! addresses are never contacted, in any spelling, through redirects or
//! discovery; with the range allowed the same registrations work; and no
//! refusal tells the caller what an outgoing request met.

use serde_json::json;
use tower_fedauth::testkit::opaque::{DEFAULT_RS_CLIENT_ID, DEFAULT_RS_SECRET};
use tower_fedauth::testkit::{MockIdp, MockOpaqueIdp, jwks};

use crate::harness::{
    Canned, RegistryFile, SERVERS, Server, assert_silent_about_egress, get, json, wait_ready,
};

/// Every spelling of a loopback (or unspecified) address the URL parser
/// or the resolver turns into one.
const SPELLINGS: [&str; 10] = [
    "localhost",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "127.0.0.1",
    "0.0.0.0",
    "[::1]",
];

/// Spellings inside `127.0.0.0/8` (or resolving into it): allowed by
/// `--allow-network 127.0.0.0/8`; the last two stay refused.
const IN_127_8: usize = 8;

fn jwks_registration(id: &str, idp: &MockIdp, jwks_uri: &str) -> String {
    format!(
        "[[registrations]]\nid = \"{id}\"\nprovider = \"jwks\"\nclient_id = \"{}\"\n\
         issuer = \"{}\"\njwks_uri = \"{jwks_uri}\"\n\n",
        idp.client_id(),
        idp.issuer()
    )
}

fn with_host(url: &str, host: &str) -> String {
    url.replacen("127.0.0.1", host, 1)
}

/// `bin` on `registry`, plain http allowed, and `network` beyond public
/// addresses.
fn start(bin: &'static str, registry: &RegistryFile, network: Option<&str>) -> Server {
    let mut args = vec!["--registry", registry.path(), "--allow-http"];
    args.extend(network.iter().flat_map(|n| ["--allow-network", n]));
    Server::start(bin, &args)
}

async fn status_and_body(server: &Server, id: &str, token: &str) -> (u16, String) {
    let client = reqwest::Client::new();
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str()), ("x-sc-auth", id)];
    get(&client, &server.url("/whoami"), &auth).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_loopback_urls_are_never_contacted_in_any_spelling() {
    let idp = MockIdp::start().await;
    let opaque = MockOpaqueIdp::start().await;
    opaque.set_introspection(
        "opaque-token",
        json!({"active": true, "sub": "alice", "client_id": "app-3"}),
    );
    let idp_port = idp.local_addr().port();
    let opaque_port: u16 = opaque
        .base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut toml = String::new();
    for (i, host) in SPELLINGS.iter().enumerate() {
        toml += &jwks_registration(
            &format!("jwks-{i}"),
            &idp,
            &with_host(&idp.jwks_uri(), host),
        );
    }
    toml += &format!(
        "[[registrations]]\nid = \"oidc-1\"\nprovider = \"oidc\"\nclient_id = \"{}\"\nissuer = \"{}\"\n\n\
         [[registrations]]\nid = \"oidc-2\"\nprovider = \"oidc\"\nclient_id = \"{}\"\nissuer = \"{}\"\n\
         discovery_url = \"{}\"\n\n\
         [[registrations]]\nid = \"introspection-1\"\nprovider = \"introspection\"\nclient_id = \"app-3\"\n\
         [registrations.introspection]\nendpoint = \"{}\"\nclient_id = \"{DEFAULT_RS_CLIENT_ID}\"\n\
         client_secret = \"{}\"\n\n\
         [[registrations]]\nid = \"verification-1\"\nprovider = \"verification-endpoint\"\n\
         [registrations.verification]\nurl = \"{}\"\nmethod = \"GET\"\n\
         params = {{ IdP_token = \"#{{token}}\" }}\nresponse = {{ uid = \"#{{user.id}}\" }}\n",
        idp.client_id(),
        idp.issuer(),
        idp.client_id(),
        idp.issuer(),
        with_host(&idp.discovery_url(), "2130706433"),
        with_host(&opaque.introspection_url(), "localhost"),
        DEFAULT_RS_SECRET.replace('\\', "\\\\").replace('"', "\\\""),
        with_host(&opaque.verification_url(), "127.1"),
    );
    let registry = RegistryFile::new("egress-spellings", &toml);
    let token = idp.mint();

    for bin in SERVERS {
        // Plain http allowed, no network: every registration is refused.
        let server = start(bin, &registry, None);
        wait_ready(&reqwest::Client::new(), &server).await;
        let mut all: Vec<(String, &str)> = (0..SPELLINGS.len())
            .map(|i| (format!("jwks-{i}"), token.as_str()))
            .collect();
        all.push(("oidc-1".into(), &token));
        all.push(("oidc-2".into(), &token));
        all.push(("introspection-1".into(), "opaque-token"));
        all.push(("verification-1".into(), "opaque-token"));
        for (id, token) in &all {
            let (status, body) = status_and_body(&server, id, token).await;
            let context = format!("{bin} {id}");
            assert_eq!(
                (status, json(&body)["code"].clone()),
                (503, json!("idp_unavailable")),
                "{context}: {body}"
            );
            assert_silent_about_egress(&body, &[idp_port, opaque_port], &context);
        }
        assert_eq!(
            (idp.jwks_fetches(), idp.discovery_fetches()),
            (0, 0),
            "{bin}: the internal IdP saw a request"
        );
        assert_eq!(
            (opaque.introspection_calls(), opaque.verification_calls()),
            (0, 0),
            "{bin}: the internal endpoints saw a request"
        );
        let logs = server.logs();
        assert!(
            logs.contains("refused by the egress policy") && logs.contains("jwks-0"),
            "{bin}: the operator's log names the refusal and the registration:\n{logs}"
        );
        assert!(!logs.contains(&token), "{bin}: a token in the logs");
        assert_eq!(server.stop("-TERM").code(), Some(0));
    }

    // The same registrations with the range allowed: every spelling inside
    // 127.0.0.0/8 works; 0.0.0.0 and [::1] are outside it.
    for bin in SERVERS {
        let server = start(bin, &registry, Some("127.0.0.0/8"));
        for (i, host) in SPELLINGS.iter().enumerate() {
            let (status, body) = status_and_body(&server, &format!("jwks-{i}"), &token).await;
            let want = if i < IN_127_8 { 200 } else { 503 };
            assert_eq!(status, want, "{bin} {host}: {body}");
        }
        for id in ["oidc-1", "oidc-2"] {
            let (status, body) = status_and_body(&server, id, &token).await;
            assert_eq!(status, 200, "{bin} {id}: {body}");
        }
        for id in ["introspection-1", "verification-1"] {
            let (status, body) = status_and_body(&server, id, "opaque-token").await;
            assert_eq!(status, 200, "{bin} {id}: {body}");
        }
        assert_eq!(server.stop("-TERM").code(), Some(0));
    }
    assert!(idp.jwks_fetches() > 0 && idp.discovery_fetches() > 0);
    assert!(opaque.introspection_calls() > 0 && opaque.verification_calls() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_and_discovered_urls_never_reach_a_refused_address() {
    let idp = MockIdp::start().await;
    let keys = jwks(&idp.keys()).to_string();
    let json_type = [("content-type", "application/json")];
    // The internal service, on a loopback address the policy does not allow.
    let internal = Canned::start("127.0.0.2", 200, &json_type, |_| keys.clone()).await;
    let internal_jwks = internal.url("/jwks");
    // An allowed IdP that redirects its key set there.
    let redirector = Canned::start(
        "127.0.0.1",
        302,
        &[("location", internal_jwks.as_str())],
        |_| String::new(),
    )
    .await;
    // An allowed IdP whose discovery document names a key set there.
    let discovery = Canned::start("127.0.0.1", 200, &json_type, |addr| {
        json!({"issuer": format!("http://{addr}"), "jwks_uri": internal_jwks}).to_string()
    })
    .await;
    // A verification endpoint that redirects (the call carries the token:
    // no redirect is followed, even to an allowed address).
    let target = Canned::start("127.0.0.1", 200, &json_type, |_| {
        r#"{"user":{"id":1}}"#.into()
    })
    .await;
    let target_url = target.url("/verify");
    let verify_redirect = Canned::start(
        "127.0.0.1",
        307,
        &[("location", target_url.as_str())],
        |_| String::new(),
    )
    .await;
    // An IdP answering 500, and one whose port is closed.
    let failing = Canned::start("127.0.0.1", 500, &[], |_| {
        "internal error at 10.1.2.3".into()
    })
    .await;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let token = idp.mint();
    let discovery_issuer = format!("http://{}", discovery.addr);
    let token_for_discovery = idp
        .token()
        .issuer(&discovery_issuer)
        .sign(&idp.signing_key());
    let toml = format!(
        "{}{}{}[[registrations]]\nid = \"discovery\"\nprovider = \"oidc\"\nclient_id = \"{}\"\nissuer = \"{discovery_issuer}\"\n\n\
         [[registrations]]\nid = \"verify-redirect\"\nprovider = \"verification-endpoint\"\n\
         [registrations.verification]\nurl = \"{}\"\nmethod = \"GET\"\n\
         params = {{ t = \"#{{token}}\" }}\nresponse = {{ uid = \"#{{user.id}}\" }}\n",
        jwks_registration("redirect", &idp, &redirector.url("/jwks")),
        jwks_registration("status-500", &idp, &failing.url("/jwks")),
        jwks_registration(
            "closed",
            &idp,
            &format!("http://127.0.0.1:{closed_port}/jwks")
        ),
        idp.client_id(),
        verify_redirect.url("/verify"),
    );
    let registry = RegistryFile::new("egress-redirects", &toml);
    let ports = [
        internal.addr.port(),
        redirector.addr.port(),
        discovery.addr.port(),
        target.addr.port(),
        verify_redirect.addr.port(),
        failing.addr.port(),
        closed_port,
        idp.local_addr().port(),
    ];

    for bin in SERVERS {
        let server = start(bin, &registry, Some("127.0.0.1/32"));
        wait_ready(&reqwest::Client::new(), &server).await;
        for (id, token) in [
            ("redirect", token.as_str()),
            ("discovery", token_for_discovery.as_str()),
            ("verify-redirect", "opaque-token"),
            ("status-500", token.as_str()),
            ("closed", token.as_str()),
        ] {
            let (status, body) = status_and_body(&server, id, token).await;
            let context = format!("{bin} {id}");
            assert_eq!(
                (status, json(&body)["code"].clone()),
                (503, json!("idp_unavailable")),
                "{context}: {body}"
            );
            assert_silent_about_egress(&body, &ports, &context);
            assert!(!body.contains("10.1.2.3"), "{context}: {body}");
        }
        assert!(redirector.hits() > 0 && discovery.hits() > 0 && verify_redirect.hits() > 0);
        assert_eq!(
            internal.hits(),
            0,
            "{bin}: a redirect or discovery reached 127.0.0.2"
        );
        assert_eq!(
            target.hits(),
            0,
            "{bin}: a token-carrying call followed a redirect"
        );
        assert_eq!(server.stop("-TERM").code(), Some(0));
    }

    // With 127.0.0.0/8 allowed, the redirect and the discovered key set are
    // followed (the internal service serves the IdP's real keys); the
    // token-carrying redirect still is not.
    for bin in SERVERS {
        let server = start(bin, &registry, Some("127.0.0.0/8"));
        let (status, body) = status_and_body(&server, "redirect", &token).await;
        assert_eq!(status, 200, "{bin}: {body}");
        let (status, body) = status_and_body(&server, "discovery", &token_for_discovery).await;
        assert_eq!(status, 200, "{bin}: {body}");
        let (status, body) = status_and_body(&server, "verify-redirect", "opaque-token").await;
        assert_eq!(
            (status, json(&body)["code"].clone()),
            (503, json!("idp_unavailable")),
            "{bin}"
        );
        assert_eq!(server.stop("-TERM").code(), Some(0));
    }
    assert!(internal.hits() > 0);
    assert_eq!(target.hits(), 0);
}
