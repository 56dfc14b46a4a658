//! DPoP-bound tokens (RFC 9449) through both example servers as processes:
//! a valid proof, every refusal of §4.3 one by one, nonces, the `required`
//! and `off` modes and `--public-url`, each with the exact status, `code`,
//! detail and `WWW-Authenticate` challenges, and the same answer from
//! axum and actix. Tokens come from the test kit's mock IdP, and in
//! [`real_provider_token_through_both_servers`] from a real authorization
//! server (node `oidc-provider`, started by the `fedauth-oidc-provider`
//! crate that the integration suite uses too).

use fedauth_oidc_provider::{CLIENT_ID, OidcProvider, RESOURCE};
use serde_json::json;
use tower_fedauth::jws::Algorithm;
use tower_fedauth::testkit::{DpopKey, DpopProof, MockIdp};

use crate::harness::{
    Answer, RegistryFile, Server, header_values, json, send, start_both, stop_all,
};

/// The proof algorithms the servers accept: the challenge's `algs`.
const ALGS: &str = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA";
const PROOF_MESSAGE: &str = "The DPoP proof is missing or invalid.";
const NONCE_MESSAGE: &str = "The DPoP proof must carry the server's current nonce.";
const BINDING_MESSAGE: &str =
    "The token is bound to a key or certificate the request does not prove.";

/// The `DPoP` challenge of a refusal with `error` and its description.
fn dpop_challenge(error: &str, description: &str) -> String {
    format!(
        "DPoP realm=\"fedauth\", algs=\"{ALGS}\", error=\"{error}\", \
         error_description=\"{description}\""
    )
}

/// The bare Bearer challenge beside the `DPoP` one, where bearer tokens
/// are accepted too.
const BEARER_BESIDE: &str = "Bearer realm=\"fedauth\"";

/// What a refusal must be.
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: &'static str,
    pub(crate) detail: String,
    /// The header the refusal names (`DPoP` or `Authorization`).
    pub(crate) param: &'static str,
    /// Every `WWW-Authenticate` value, in order.
    pub(crate) challenges: Vec<String>,
    /// Whether a `DPoP-Nonce` header comes with it.
    pub(crate) nonce: bool,
}

impl Refusal {
    /// `invalid_dpop_proof` for `detail`, where bearer tokens are accepted.
    fn proof(detail: &str) -> Self {
        Self {
            status: 401,
            code: "invalid_dpop_proof",
            message: PROOF_MESSAGE,
            detail: detail.to_owned(),
            param: "DPoP",
            challenges: vec![
                dpop_challenge("invalid_dpop_proof", PROOF_MESSAGE),
                BEARER_BESIDE.to_owned(),
            ],
            nonce: false,
        }
    }

    /// `use_dpop_nonce` for `detail`, with a fresh `DPoP-Nonce`.
    fn nonce(detail: &str) -> Self {
        Self {
            code: "use_dpop_nonce",
            message: NONCE_MESSAGE,
            challenges: vec![
                dpop_challenge("use_dpop_nonce", NONCE_MESSAGE),
                BEARER_BESIDE.to_owned(),
            ],
            nonce: true,
            ..Self::proof(detail)
        }
    }

    /// `invalid_token_binding` for `detail` with the `DPoP` challenge,
    /// where bearer tokens are accepted.
    pub(crate) fn binding(detail: &str) -> Self {
        Self {
            status: 401,
            code: "invalid_token_binding",
            message: BINDING_MESSAGE,
            detail: detail.to_owned(),
            param: "Authorization",
            challenges: vec![
                dpop_challenge("invalid_token", BINDING_MESSAGE),
                BEARER_BESIDE.to_owned(),
            ],
            nonce: false,
        }
    }

    /// `invalid_token_binding` for `detail` with the Bearer challenge only.
    pub(crate) fn bearer_binding(detail: &str) -> Self {
        Self {
            challenges: vec![format!(
                "Bearer realm=\"fedauth\", error=\"invalid_token\", \
                 error_description=\"{BINDING_MESSAGE}\""
            )],
            ..Self::binding(detail)
        }
    }

    /// Check one answer.
    pub(crate) fn assert(&self, answer: &Answer, at: &str) {
        assert_eq!(answer.0, self.status, "{at}: {}", answer.2);
        let body = json(&answer.2);
        assert_eq!(body["code"], self.code, "{at}: {body}");
        assert_eq!(body["message"], self.message, "{at}: {body}");
        assert_eq!(
            body["details"][0]["msg"],
            self.detail.as_str(),
            "{at}: {body}"
        );
        assert_eq!(body["details"][0]["param"], self.param, "{at}: {body}");
        assert_eq!(body["details"][0]["location"], "header", "{at}: {body}");
        assert_eq!(
            header_values(answer, "www-authenticate"),
            self.challenges,
            "{at}"
        );
        let nonces = header_values(answer, "dpop-nonce");
        assert_eq!(nonces.len(), usize::from(self.nonce), "{at}: {nonces:?}");
    }
}

/// The answers of both servers to the same request are the same, but for
/// each server's own nonce.
pub(crate) fn assert_alike(answers: &[Answer], at: &str) {
    let without_nonce = |a: &Answer| {
        let headers: Vec<_> =
            a.1.iter()
                .map(|(n, v)| match n.as_str() {
                    "dpop-nonce" => (n.clone(), "(nonce)".to_owned()),
                    _ => (n.clone(), v.clone()),
                })
                .collect();
        (a.0, headers, a.2.clone())
    };
    assert_eq!(
        without_nonce(&answers[0]),
        without_nonce(&answers[1]),
        "{at}: axum and actix differ"
    );
}

/// The request's headers: a `DPoP` token and the proofs given.
fn dpop_headers(token: &str, registration: &str, proofs: &[String]) -> Vec<(String, String)> {
    let mut headers = vec![
        ("authorization".to_owned(), format!("DPoP {token}")),
        ("x-sc-auth".to_owned(), registration.to_owned()),
    ];
    headers.extend(proofs.iter().map(|p| ("dpop".to_owned(), p.clone())));
    headers
}

async fn get(client: &reqwest::Client, server: &Server, headers: &[(String, String)]) -> Answer {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    send(client, "GET", &server.url("/whoami"), &headers).await
}

/// `GET /whoami` with `token` as a bearer token.
async fn bearer(
    client: &reqwest::Client,
    server: &Server,
    token: &str,
    registration: &str,
) -> Answer {
    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("x-sc-auth", registration),
    ];
    send(client, "GET", &server.url("/whoami"), &headers).await
}

/// A proof of `key` for `GET {server}/whoami` with `token`.
fn proof(key: &DpopKey, server: &Server, token: &str) -> DpopProof {
    DpopProof::new(key)
        .htm("GET")
        .htu(server.url("/whoami"))
        .ath_for(token)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A `jwks` registration of the mock IdP with `extra` TOML keys.
fn registration(idp: &MockIdp, id: &str, extra: &str) -> String {
    format!(
        "[[registrations]]\nid = \"{id}\"\nprovider = \"jwks\"\nclient_id = \"{}\"\n\
         issuer = \"{}\"\njwks_uri = \"{}\"\nroles = [\"reader\"]\n{extra}\n",
        idp.client_id(),
        idp.issuer(),
        idp.jwks_uri()
    )
}

const LOCAL: [&str; 4] = [
    "--allow-http",
    "--allow-network",
    "127.0.0.1/32",
    "--registry",
];

/// Both servers over a registry file `name` holding `toml`, allowed to
/// fetch from 127.0.0.1, with `extra` flags.
async fn serve(name: &str, toml: &str, extra: &[&str]) -> (RegistryFile, Vec<Server>) {
    let registry = RegistryFile::new(name, toml);
    let args = [&LOCAL[..], &[registry.path()], extra].concat();
    let servers = start_both(&reqwest::Client::new(), &args).await;
    (registry, servers)
}

/// One request per case, built for each server from its URL; the answers
/// of both are checked and compared.
type Case<'a> = (&'a str, Box<dyn Fn(&Server) -> Vec<String> + 'a>, Refusal);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_proof_refusal_in_both_servers() {
    let client = reqwest::Client::new();
    let idp = MockIdp::start().await;
    let (_registry, servers) = serve("dpop", &registration(&idp, "quid-1", ""), &[]).await;
    let key = DpopKey::generate(Algorithm::ES256);
    let other = DpopKey::generate(Algorithm::ES256);
    let token = idp.token().dpop_bound(&key).sign(&idp.signing_key());

    // A valid proof; the token's binding is in the claims the handler sees.
    for server in &servers {
        let p = proof(&key, server, &token).sign();
        let answer = get(&client, server, &dpop_headers(&token, "quid-1", &[p])).await;
        assert_eq!(answer.0, 200, "{}: {}", server.bin, answer.2);
        let body = json(&answer.2);
        assert_eq!(body["registration"], "quid-1");
        assert_eq!(body["claims"]["cnf"], json!({"jkt": key.thumbprint()}));
        assert_eq!(body["roles"], json!(["reader"]));
        assert!(header_values(&answer, "www-authenticate").is_empty());
    }

    let cases: Vec<Case> = vec![
        (
            "wrong htm",
            Box::new(|s| vec![proof(&key, s, &token).htm("POST").sign()]),
            Refusal::proof("the DPoP proof's htm is not the request's method"),
        ),
        (
            "wrong htu",
            Box::new(|s| vec![proof(&key, s, &token).htu(s.url("/admin")).sign()]),
            Refusal::proof("the DPoP proof's htu is not the request's URL"),
        ),
        (
            "old iat",
            Box::new(|s| vec![proof(&key, s, &token).iat(now() - 600).sign()]),
            Refusal::proof("the DPoP proof's iat is too old"),
        ),
        (
            "wrong ath",
            Box::new(|s| {
                vec![
                    proof(&key, s, &token)
                        .ath_for("another.access.token")
                        .sign(),
                ]
            }),
            Refusal::proof("the DPoP proof's ath is not the hash of the access token"),
        ),
        (
            "no ath",
            Box::new(|s| vec![proof(&key, s, &token).remove_claim("ath").sign()]),
            Refusal::proof("the DPoP proof has no ath"),
        ),
        (
            "other key",
            Box::new(|s| vec![proof(&other, s, &token).sign()]),
            Refusal::binding("the token's cnf.jkt is not the thumbprint of the DPoP proof's key"),
        ),
        (
            "corrupted signature",
            Box::new(|s| vec![proof(&key, s, &token).corrupt_signature().sign()]),
            Refusal::proof("the DPoP proof's signature does not verify with its jwk"),
        ),
        (
            "another key's jwk in the header",
            Box::new(|s| vec![proof(&key, s, &token).jwk_of(&other).sign()]),
            Refusal::proof("the DPoP proof's signature does not verify with its jwk"),
        ),
        (
            "private key in jwk",
            Box::new(|s| vec![proof(&key, s, &token).private_jwk().sign()]),
            Refusal::proof("the DPoP proof's jwk holds private or symmetric key material (`d`)"),
        ),
        (
            "alg none",
            Box::new(|s| vec![proof(&key, s, &token).alg("none").sign()]),
            Refusal::proof("the DPoP proof's alg none is not an asymmetric signature algorithm"),
        ),
        (
            "alg HS256",
            Box::new(|s| vec![proof(&key, s, &token).alg("HS256").sign()]),
            Refusal::proof("the DPoP proof's alg HS256 is not an asymmetric signature algorithm"),
        ),
        (
            "typ JWT",
            Box::new(|s| vec![proof(&key, s, &token).typ("JWT").sign()]),
            Refusal::proof("the DPoP proof's typ is not dpop+jwt"),
        ),
        (
            "no proof",
            Box::new(|_| vec![]),
            Refusal::proof("the DPoP scheme without a DPoP header"),
        ),
        (
            "two proofs",
            Box::new(|s| vec![proof(&key, s, &token).sign(), proof(&key, s, &token).sign()]),
            Refusal::proof("the request has more than one DPoP header"),
        ),
    ];
    for (name, proofs, refusal) in &cases {
        let mut answers = Vec::new();
        for server in &servers {
            let headers = dpop_headers(&token, "quid-1", &proofs(server));
            let answer = get(&client, server, &headers).await;
            refusal.assert(&answer, &format!("{}: {name}", server.bin));
            answers.push(answer);
        }
        assert_alike(&answers, name);
    }

    // A replayed proof: accepted once, refused the second time.
    let mut answers = Vec::new();
    for server in &servers {
        let headers = dpop_headers(&token, "quid-1", &[proof(&key, server, &token).sign()]);
        assert_eq!(
            get(&client, server, &headers).await.0,
            200,
            "{}",
            server.bin
        );
        let answer = get(&client, server, &headers).await;
        Refusal::proof("the DPoP proof's jti was used before")
            .assert(&answer, &format!("{}: replayed jti", server.bin));
        answers.push(answer);
    }
    assert_alike(&answers, "replayed jti");

    // The bound token as a bearer token.
    let mut answers = Vec::new();
    for server in &servers {
        let answer = bearer(&client, server, &token, "quid-1").await;
        Refusal::binding(
            "the token is DPoP-bound (cnf.jkt) and was sent without the DPoP scheme and its proof",
        )
        .assert(&answer, &format!("{}: bound token as Bearer", server.bin));
        answers.push(answer);
    }
    assert_alike(&answers, "bound token as Bearer");

    stop_all(servers);
}

/// `dpop_nonce = true`: a proof without the nonce is refused with
/// `use_dpop_nonce` and a `DPoP-Nonce` header; the same request with that
/// nonce in a new proof is accepted. `dpop = "required"` refuses a bearer
/// token and accepts a bound one; `dpop = "off"` refuses the scheme.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_and_modes_in_both_servers() {
    let client = reqwest::Client::new();
    let idp = MockIdp::start().await;
    let toml = [
        registration(&idp, "quid-nonce", "dpop_nonce = true"),
        registration(&idp, "quid-required", "dpop = \"required\""),
        registration(&idp, "quid-off", "dpop = \"off\""),
    ]
    .concat();
    let (_registry, servers) = serve("dpop-modes", &toml, &[]).await;
    let key = DpopKey::generate(Algorithm::EdDSA);
    let token = idp.token().dpop_bound(&key).sign(&idp.signing_key());
    let unbound = idp.token().sign(&idp.signing_key());

    let mut answers = Vec::new();
    for server in &servers {
        let at = format!("{}: nonce required", server.bin);
        let first = proof(&key, server, &token).sign();
        let answer = get(
            &client,
            server,
            &dpop_headers(&token, "quid-nonce", &[first]),
        )
        .await;
        Refusal::nonce("the registration requires a server nonce in DPoP proofs")
            .assert(&answer, &at);
        let nonce = header_values(&answer, "dpop-nonce")[0].to_owned();
        assert!(nonce.len() >= 16, "{at}: {nonce:?}");
        let second = proof(&key, server, &token).nonce(&nonce).sign();
        let accepted = get(
            &client,
            server,
            &dpop_headers(&token, "quid-nonce", &[second]),
        )
        .await;
        assert_eq!(accepted.0, 200, "{at}, then satisfied: {}", accepted.2);
        assert_eq!(json(&accepted.2)["registration"], "quid-nonce");
        // A nonce from nowhere is stale: a fresh one is sent again.
        let made_up = proof(&key, server, &token)
            .nonce("not-a-server-nonce")
            .sign();
        let stale = get(
            &client,
            server,
            &dpop_headers(&token, "quid-nonce", &[made_up]),
        )
        .await;
        Refusal::nonce("the DPoP proof's nonce is not the server's current one")
            .assert(&stale, &format!("{at}: made-up nonce"));
        answers.push(answer);
    }
    assert_alike(&answers, "nonce required");

    let mut answers = Vec::new();
    for server in &servers {
        let at = format!("{}: dpop = required", server.bin);
        let answer = bearer(&client, server, &unbound, "quid-required").await;
        Refusal::bearer_binding(
            "the registration requires DPoP-bound tokens (dpop = required); this one has no cnf.jkt",
        )
        .assert(&answer, &at);
        let p = proof(&key, server, &token).sign();
        let bound = get(
            &client,
            server,
            &dpop_headers(&token, "quid-required", &[p]),
        )
        .await;
        assert_eq!(bound.0, 200, "{at}, bound token: {}", bound.2);
        answers.push(answer);
    }
    assert_alike(&answers, "dpop = required");

    let mut answers = Vec::new();
    for server in &servers {
        let at = format!("{}: dpop = off", server.bin);
        let p = proof(&key, server, &token).sign();
        let answer = get(&client, server, &dpop_headers(&token, "quid-off", &[p])).await;
        assert_eq!(answer.0, 400, "{at}: {}", answer.2);
        let body = json(&answer.2);
        assert_eq!(body["code"], "invalid_request", "{at}: {body}");
        assert_eq!(
            body["details"][0]["msg"],
            "the DPoP scheme is not accepted for this registration (dpop = off)",
            "{at}: {body}"
        );
        assert!(
            header_values(&answer, "www-authenticate").is_empty(),
            "{at}"
        );
        // Bearer tokens are still accepted there.
        let plain = bearer(&client, server, &unbound, "quid-off").await;
        assert_eq!(plain.0, 200, "{at}, bearer token: {}", plain.2);
        answers.push(answer);
    }
    assert_alike(&answers, "dpop = off");

    stop_all(servers);
}

/// With `--public-url`, `htu` must name it: a proof for the address the
/// request was sent to (`http://{Host}`) is refused, one for the public
/// URL accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_url_is_the_htu_in_both_servers() {
    let client = reqwest::Client::new();
    let idp = MockIdp::start().await;
    let public = ["--public-url", "https://API.Platform.example:443/"];
    let (_registry, servers) =
        serve("dpop-public", &registration(&idp, "quid-1", ""), &public).await;
    let key = DpopKey::generate(Algorithm::ES256);
    let token = idp.token().dpop_bound(&key).sign(&idp.signing_key());

    let mut answers = Vec::new();
    for server in &servers {
        let at = format!("{}: --public-url", server.bin);
        let direct = proof(&key, server, &token).sign();
        let answer = get(&client, server, &dpop_headers(&token, "quid-1", &[direct])).await;
        Refusal::proof("the DPoP proof's htu is not the request's URL").assert(&answer, &at);
        let public = DpopProof::new(&key)
            .htu("https://api.platform.example/whoami?ignored=1")
            .ath_for(&token)
            .sign();
        let accepted = get(&client, server, &dpop_headers(&token, "quid-1", &[public])).await;
        assert_eq!(accepted.0, 200, "{at}, public URL: {}", accepted.2);
        answers.push(answer);
    }
    assert_alike(&answers, "--public-url");

    stop_all(servers);
}

/// A DPoP-bound access token from a real authorization server (node
/// `oidc-provider`, which bound it to the key of the proof sent to its
/// token endpoint): accepted with a valid proof, refused as a bearer
/// token, in both servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_provider_token_through_both_servers() {
    let client = reqwest::Client::new();
    let op = OidcProvider::start().await;
    let key = DpopKey::generate(Algorithm::ES256);
    let grant = op
        .dpop_access_token(RESOURCE, "read", |htu, nonce| {
            let proof = DpopProof::new(&key).htm("POST").htu(htu);
            nonce.map_or(proof.clone(), |n| proof.nonce(n)).sign()
        })
        .await;
    assert!(grant.nonce.is_some(), "the provider asked for its nonce");
    let token = grant.access_token;
    let toml = format!(
        "[[registrations]]\nid = \"quid-op\"\nprovider = \"oidc\"\nissuer = \"{}\"\n\
         client_id = \"{CLIENT_ID}\"\ntoken_use = \"access\"\naudiences = [\"{RESOURCE}\"]\n",
        op.issuer()
    );
    let (_registry, servers) = serve("dpop-op", &toml, &[]).await;

    let mut answers = Vec::new();
    for server in &servers {
        let at = format!("{}: oidc-provider token", server.bin);
        let p = proof(&key, server, &token).sign();
        let accepted = get(&client, server, &dpop_headers(&token, "quid-op", &[p])).await;
        assert_eq!(accepted.0, 200, "{at}: {}", accepted.2);
        let body = json(&accepted.2);
        assert_eq!(body["registration"], "quid-op", "{at}");
        assert_eq!(body["issuer"], op.issuer(), "{at}");
        assert_eq!(body["subject"], CLIENT_ID, "{at}");
        assert_eq!(
            body["claims"]["cnf"],
            json!({"jkt": key.thumbprint()}),
            "{at}"
        );
        assert_eq!(body["claims"]["aud"], RESOURCE, "{at}");

        let answer = bearer(&client, server, &token, "quid-op").await;
        Refusal::binding(
            "the token is DPoP-bound (cnf.jkt) and was sent without the DPoP scheme and its proof",
        )
        .assert(&answer, &format!("{at} as Bearer"));
        answers.push(answer);
    }
    assert_alike(&answers, "oidc-provider token as Bearer");

    stop_all(servers);
}
