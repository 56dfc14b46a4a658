//! The route requirements of both servers as processes:
//! `/scopes/{scope}/whoami` (403 `insufficient_scope`) and
//! `/step-up/whoami?acr=A,B&max_age=N` (401
//! `insufficient_user_authentication`, 400 `invalid_request` for a
//! malformed query), with the exact body and challenge, and the same
//! answer from both.

use serde_json::{Value, json};
use tower_fedauth::testkit::MockIdp;

use crate::harness::{RegistryFile, SERVERS, Server, json, wait_ready};

/// Status, every header but `date` (sorted), and the body.
type Answer = (u16, Vec<(String, String)>, String);

async fn call(client: &reqwest::Client, server: &Server, path: &str, token: &str) -> Answer {
    let resp = client
        .get(server.url(path))
        .header("authorization", format!("Bearer {token}"))
        .header("x-sc-auth", "quid-1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status().as_u16();
    let mut headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    (status, headers, resp.text().await.unwrap())
}

/// The one `WWW-Authenticate` header of an answer, if any.
fn challenge(answer: &Answer) -> Option<&str> {
    let mut found = answer.1.iter().filter(|(n, _)| n == "www-authenticate");
    let first = found.next().map(|(_, v)| v.as_str());
    assert!(found.next().is_none(), "{:?}", answer.1);
    first
}

/// The refusal body of `code` about `param` in `location`.
fn refusal(code: &str, message: &str, msg: &str, value: Option<&str>, param: &str) -> Value {
    let location = if code == "invalid_request" {
        "query"
    } else {
        "route"
    };
    json!({
        "code": code,
        "message": message,
        "details": [{"value": value, "msg": msg, "param": param, "location": location}],
    })
}

const SCOPE_MESSAGE: &str = "The token does not grant the scope this route requires.";
const STEP_UP_MESSAGE: &str =
    "The user's authentication is not strong or recent enough for this route.";

/// One request: path, token claims (besides the IdP's), and the expected
/// status, body (`None`: the whoami answer) and challenge.
type Case = (&'static str, Value, u16, Option<Value>, Option<String>);

fn cases(now: i64) -> Vec<Case> {
    let scope_www = format!(
        "Bearer realm=\"fedauth\", error=\"insufficient_scope\", \
         error_description=\"{SCOPE_MESSAGE}\", scope=\"read\""
    );
    let step_up_www = |params: &str| {
        format!(
            "Bearer realm=\"fedauth\", error=\"insufficient_user_authentication\", \
             error_description=\"{STEP_UP_MESSAGE}\", {params}"
        )
    };
    let too_old = "the route requires an authentication at most 300 seconds ago, \
                   and the token's `auth_time` is older";
    vec![
        (
            "/scopes/read/whoami",
            json!({"scp": ["write", "read"]}),
            200,
            None,
            None,
        ),
        (
            "/scopes/read/whoami",
            json!({"scope": "openid read"}),
            200,
            None,
            None,
        ),
        (
            "/scopes/read/whoami",
            json!({"scope": "openid write"}),
            403,
            Some(refusal(
                "insufficient_scope",
                SCOPE_MESSAGE,
                "the route requires the scope `read`, which the token's `scope` claim does not grant",
                Some("read"),
                "scope",
            )),
            Some(scope_www.clone()),
        ),
        (
            "/scopes/read/whoami",
            json!({}),
            403,
            Some(refusal(
                "insufficient_scope",
                SCOPE_MESSAGE,
                "the route requires the scope `read`, and the token has neither a `scope` nor an `scp` claim",
                Some("read"),
                "scope",
            )),
            Some(scope_www),
        ),
        (
            "/step-up/whoami?acr=urn:mfa,urn:hwk&max_age=300",
            json!({"acr": "urn:hwk", "auth_time": now - 10}),
            200,
            None,
            None,
        ),
        ("/step-up/whoami", json!({}), 200, None, None),
        (
            "/step-up/whoami?acr=urn:mfa,urn:hwk&max_age=300",
            json!({"acr": "urn:pwd", "auth_time": now - 10}),
            401,
            Some(refusal(
                "insufficient_user_authentication",
                STEP_UP_MESSAGE,
                "the token's `acr` is not one of the values the route accepts: `urn:mfa`, `urn:hwk`",
                None,
                "acr",
            )),
            Some(step_up_www("acr_values=\"urn:mfa urn:hwk\", max_age=300")),
        ),
        (
            "/step-up/whoami?max_age=300",
            json!({"acr": "urn:mfa", "auth_time": now - 900}),
            401,
            Some(refusal(
                "insufficient_user_authentication",
                STEP_UP_MESSAGE,
                too_old,
                None,
                "max_age",
            )),
            Some(step_up_www("max_age=300")),
        ),
        (
            "/step-up/whoami?max_age=300",
            json!({"acr": "urn:mfa"}),
            401,
            Some(refusal(
                "insufficient_user_authentication",
                STEP_UP_MESSAGE,
                "the route requires an authentication at most 300 seconds ago, \
                 and the token has no `auth_time` claim",
                None,
                "max_age",
            )),
            Some(step_up_www("max_age=300")),
        ),
        (
            "/step-up/whoami?max_age=five",
            json!({"auth_time": now}),
            400,
            Some(refusal(
                "invalid_request",
                "The authentication headers of the request are malformed.",
                "the query parameter `max_age` is not a whole number of seconds",
                None,
                "max_age",
            )),
            None,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_and_step_up_routes_answer_alike_in_both_servers() {
    let client = reqwest::Client::new();
    let idp = MockIdp::start().await;
    let registry = RegistryFile::new(
        "routes",
        &format!(
            "[[registrations]]\nid = \"quid-1\"\nprovider = \"jwks\"\nclient_id = \"{}\"\n\
             issuer = \"{}\"\njwks_uri = \"{}\"\nroles = [\"reader\"]\n",
            idp.client_id(),
            idp.issuer(),
            idp.jwks_uri()
        ),
    );
    let servers: Vec<Server> = SERVERS
        .into_iter()
        .map(|bin| {
            let args = ["--registry", registry.path(), "--allow-http"];
            Server::start(
                bin,
                &[&args[..], &["--allow-network", "127.0.0.1/32"]].concat(),
            )
        })
        .collect();
    for server in &servers {
        wait_ready(&client, server).await;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for (path, extra, status, body, www) in cases(now) {
        let mut token = idp.token();
        for (name, value) in extra.as_object().unwrap() {
            token = token.claim(name, value);
        }
        let claims = Value::Object(token.claims().clone());
        let token = token.sign(&idp.signing_key());
        let mut answers = Vec::new();
        for server in &servers {
            let answer = call(&client, server, path, &token).await;
            let at = format!("{} GET {path} with {extra}", server.bin);
            assert_eq!(answer.0, status, "{at}: {}", answer.2);
            let expected = body.clone().unwrap_or_else(|| {
                json!({
                    "registration": "quid-1",
                    "client_id": idp.client_id(),
                    "provider": "jwks",
                    "issuer": idp.issuer(),
                    "subject": claims["sub"],
                    "property": null,
                    "roles": ["reader"],
                    "principal": {"subject": claims["sub"], "username": null, "email": null, "attributes": {}},
                    "claims": claims,
                })
            });
            assert_eq!(json(&answer.2), expected, "{at}");
            assert_eq!(challenge(&answer), www.as_deref(), "{at}");
            answers.push(answer);
        }
        assert_eq!(answers[0], answers[1], "GET {path}: axum and actix differ");
    }
    for server in servers {
        let bin = server.bin;
        assert_eq!(server.stop("-TERM").code(), Some(0), "{bin}");
    }
}
