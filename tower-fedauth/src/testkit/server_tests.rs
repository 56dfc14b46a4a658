//! Tests of [`MockIdp`] over real HTTP (client side: `reqwest`).

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::tests::part;
use super::{MockIdp, TestKey};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn get(url: &str) -> Result<Answer, reqwest::Error> {
    get_with(url, None).await
}

async fn get_with(url: &str, bearer: Option<&str>) -> Result<Answer, reqwest::Error> {
    let mut req = reqwest::Client::new().get(url);
    if let Some(token) = bearer {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys array")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

#[tokio::test]
async fn serves_jwks_and_discovery_and_counts() -> TestResult {
    let idp = MockIdp::start().await;
    let base = idp.base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(!base.ends_with(":0"));
    assert_eq!(idp.issuer(), base);
    assert_eq!(idp.jwks_uri(), format!("{base}/jwks"));
    assert_eq!(idp.userinfo_url(), format!("{base}/userinfo"));

    let doc = get(&idp.discovery_url()).await?;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("content-type"), Some("application/json"));
    assert_eq!(doc.header("cache-control"), Some("max-age=300"));
    let doc = doc.json();
    assert_eq!(doc["issuer"], base);
    assert_eq!(doc["jwks_uri"], idp.jwks_uri());
    assert_eq!(doc["userinfo_endpoint"], idp.userinfo_url());
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["subject_types_supported"], json!(["public"]));

    let set = get(&idp.jwks_uri()).await?;
    assert_eq!(set.status, 200);
    assert_eq!(set.header("content-type"), Some("application/json"));
    assert_eq!(set.header("cache-control"), Some("max-age=300"));
    assert_eq!(kids(&set.json()), vec!["key-1"]);
    get(&idp.jwks_uri()).await?;

    assert_eq!(idp.jwks_fetches(), 2);
    assert_eq!(idp.discovery_fetches(), 1);
    assert_eq!(idp.userinfo_fetches(), 0);

    idp.set_max_age(None);
    assert!(
        get(&idp.jwks_uri())
            .await?
            .header("cache-control")
            .is_none()
    );
    idp.set_max_age(Some(7));
    let doc = get(&idp.discovery_url()).await?;
    assert_eq!(doc.header("cache-control"), Some("max-age=7"));

    assert_eq!(get(&format!("{base}/nope")).await?.status, 404);
    idp.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn minted_token_verifies_against_served_jwks() -> TestResult {
    let idp =
        MockIdp::start_with_keys(vec![TestKey::ec_p256("ec-1"), TestKey::ed25519("ed-1")]).await;
    let token = idp.mint();
    assert_eq!(part(&token, 0)["kid"], "ec-1");
    assert_eq!(part(&token, 1)["sub"], "alice");
    assert_eq!(part(&token, 1)["aud"], idp.client_id());

    let set = get(&idp.jwks_uri()).await?.json();
    let jwk = set["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == "ec-1"))
        .ok_or("kid ec-1 not served")?;
    let key = DecodingKey::from_jwk(&serde_json::from_value(jwk.clone())?)?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["app-1"]);
    validation.set_issuer(&[idp.issuer()]);
    let data = jsonwebtoken::decode::<Value>(&token, &key, &validation)?;
    assert_eq!(data.claims["iss"], idp.issuer());

    let doc = get(&idp.discovery_url()).await?.json();
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["ES256", "EdDSA"])
    );
    Ok(())
}

#[tokio::test]
async fn rotation_and_raw_jwks() -> TestResult {
    let idp = MockIdp::start().await;
    let before = kids(&get(&idp.jwks_uri()).await?.json());
    assert_eq!(before, vec!["key-1"]);

    let new_key = idp.rotate();
    assert_ne!(new_key.kid(), "key-1");
    assert_eq!(idp.signing_key().kid(), new_key.kid());
    let after = kids(&get(&idp.jwks_uri()).await?.json());
    assert_eq!(after, vec![new_key.kid().to_owned()]);
    let again = idp.rotate();
    assert_ne!(again.kid(), new_key.kid());

    let extra = TestKey::ec_p384("p384");
    idp.set_keys(vec![extra.clone(), again.clone()]);
    assert_eq!(idp.keys().len(), 2);
    assert_eq!(
        kids(&get(&idp.jwks_uri()).await?.json()),
        vec!["p384".to_owned(), again.kid().to_owned()]
    );

    idp.set_raw_jwks(Some("{\"keys\": [ ]} ".to_owned()));
    let raw = get(&idp.jwks_uri()).await?;
    assert_eq!(raw.body, "{\"keys\": [ ]} ");
    assert_eq!(raw.header("content-type"), Some("application/json"));
    idp.set_raw_jwks(None);
    assert_eq!(kids(&get(&idp.jwks_uri()).await?.json()).len(), 2);
    Ok(())
}

#[tokio::test]
async fn outage_answers_503_and_still_counts() -> TestResult {
    let idp = MockIdp::start().await;
    idp.set_outage(true);
    for url in [
        idp.jwks_uri(),
        idp.discovery_url(),
        idp.userinfo_url(),
        format!("{}/anything", idp.base_url()),
    ] {
        let answer = get(&url).await?;
        assert_eq!(answer.status, 503, "{url}");
        assert_eq!(answer.body, "down", "{url}");
    }
    assert_eq!(idp.jwks_fetches(), 1);
    assert_eq!(idp.discovery_fetches(), 1);
    assert_eq!(idp.userinfo_fetches(), 1);

    idp.set_outage(false);
    assert_eq!(get(&idp.jwks_uri()).await?.status, 200);
    assert_eq!(idp.jwks_fetches(), 2);
    Ok(())
}

#[tokio::test]
async fn delay_and_discovery_issuer_override() -> TestResult {
    let idp = MockIdp::start().await;
    idp.set_delay(Duration::from_millis(300));
    let started = Instant::now();
    let (jwks_uri, discovery_url) = (idp.jwks_uri(), idp.discovery_url());
    let (a, b) = tokio::join!(get(&jwks_uri), get(&discovery_url));
    assert_eq!((a?.status, b?.status), (200, 200));
    assert!(started.elapsed() >= Duration::from_millis(300));
    idp.set_delay(Duration::ZERO);

    idp.set_discovery_issuer(Some("https://evil.example".to_owned()));
    let doc = get(&idp.discovery_url()).await?.json();
    assert_eq!(doc["issuer"], "https://evil.example");
    assert_eq!(doc["jwks_uri"], idp.jwks_uri());
    idp.set_discovery_issuer(None);
    assert_eq!(
        get(&idp.discovery_url()).await?.json()["issuer"],
        idp.issuer()
    );
    Ok(())
}

#[tokio::test]
async fn userinfo_requires_a_bearer_token() -> TestResult {
    let idp = MockIdp::start().await;
    let anonymous = get(&idp.userinfo_url()).await?;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.header("www-authenticate").is_some());
    assert_eq!(get_with(&idp.userinfo_url(), Some("")).await?.status, 401);

    let ok = get_with(&idp.userinfo_url(), Some("abc")).await?;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json(), json!({"sub": "alice"}));

    idp.set_userinfo(json!({"sub": "bob", "email": "bob@example.com"}));
    let ok = get_with(&idp.userinfo_url(), Some(&idp.mint())).await?;
    assert_eq!(ok.json()["email"], "bob@example.com");
    assert_eq!(idp.userinfo_fetches(), 4);
    Ok(())
}

#[tokio::test]
async fn shutdown_refuses_connections() -> TestResult {
    let idp = MockIdp::start().await;
    let url = idp.jwks_uri();
    assert_eq!(get(&url).await?.status, 200);
    idp.shutdown().await;
    let err = get(&url)
        .await
        .err()
        .ok_or("request after shutdown succeeded")?;
    assert!(err.is_connect(), "{err:?}");
    idp.shutdown().await; // idempotent
    Ok(())
}

#[tokio::test]
async fn dropping_the_last_clone_stops_the_server() -> TestResult {
    let idp = MockIdp::start().await;
    let url = idp.jwks_uri();
    let clone = idp.clone();
    drop(idp);
    assert_eq!(get(&url).await?.status, 200, "a clone keeps it alive");
    drop(clone);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match get(&url).await {
            Err(e) if e.is_connect() => break,
            _ if Instant::now() > deadline => return Err("server still up after drop".into()),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    Ok(())
}
