//! Property tests (proptest) for the entry points the fuzz targets cover:
//! tokens, key sets, registry text and the verification-answer mapper never
//! panic on any input and answer only the codes the contract allows; and
//! the round trips that exist hold (claims serde, registry TOML → entries →
//! JSON). Case counts are modest so the suite stays fast; the fuzz targets
//! in `fuzz/` run the same entry points for minutes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fedauth_tests::*;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tower_fedauth::jws::{Algorithm, verify_compact};
use tower_fedauth::keys::KeySet;
use tower_fedauth::registry::{RegistryFormat, parse_registry_entries, parse_registry_str};
use tower_fedauth::testkit::TestKey;
use tower_fedauth::{Claims, ErrorCode, Registration, StandardClaims, map_verification_answer};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z_.0-9]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Token-shaped strings: three parts, each base64url of arbitrary bytes or
/// of JSON, or arbitrary text, so both structure and content vary.
fn token_like() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64).prop_map(b64),
        json_value().prop_map(|v| b64(v.to_string())),
        json_value().prop_map(|mut v| {
            if let Value::Object(m) = &mut v {
                m.insert("alg".into(), json!("RS256"));
                m.insert("kid".into(), json!("k"));
            }
            b64(v.to_string())
        }),
        "[A-Za-z0-9_=+/ .-]{0,24}",
    ];
    prop_oneof![
        (part.clone(), part.clone(), part).prop_map(|(h, p, s)| format!("{h}.{p}.{s}")),
        "[ -~]{0,80}",
        ".{0,40}",
    ]
}

const SIGNATURE_CODES: [ErrorCode; 4] = [
    ErrorCode::MalformedToken,
    ErrorCode::UnsupportedAlgorithm,
    ErrorCode::UnknownKey,
    ErrorCode::InvalidSignature,
];

fn key_set() -> KeySet {
    let rsa = TestKey::rsa("k");
    let ec = TestKey::ec_p256("ec");
    KeySet::from_jwks_value(&json!({"keys": [rsa.public_jwk(), ec.public_jwk()]})).unwrap()
}

fn registration(toml: &str) -> Registration {
    parse_registry_str(toml, RegistryFormat::Toml)
        .unwrap()
        .remove(0)
}

#[test]
fn tokens_never_panic_and_get_only_signature_layer_codes() {
    let keys = key_set();
    let reg = registration(
        "[[registrations]]\nid = \"p\"\nprovider = \"jwks\"\nclient_id = \"app-1\"\n\
         issuer = \"https://i\"\njwks_uri = \"https://i/keys\"\ntoken_use = \"access\"\n",
    );
    let all = [
        Algorithm::HS256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ];
    proptest!(config(512), |(token in token_like())| {
        match verify_compact(&keys, &all, &token) {
            Ok(_) => prop_assert!(false, "a random token verified: {token}"),
            Err(e) => prop_assert!(SIGNATURE_CODES.contains(&e.code()), "{e:?}"),
        }
        // The JWT front, claims checks included, on unverified claims.
        let _ = tower_fedauth::jws::__fuzz_jwt_front(&reg, &token, 1_800_000_000);
    });
}

#[test]
fn tokens_through_the_layer_are_refused_with_4xx_never_5xx() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(setup(""));
    // Warm the key cache so every case is answered without I/O.
    assert_eq!(
        rt.block_on(call_with(&s.layer, &s.idp.mint(), "quid-1"))
            .status,
        200
    );
    proptest!(config(256), |(token in token_like().prop_filter("a header value", |t| {
        !t.is_empty() && t.bytes().all(|b| (0x21..0x7f).contains(&b))
    }))| {
        let a = rt.block_on(call_with(&s.layer, &token, "quid-1"));
        prop_assert!(
            [400, 401].contains(&a.status.as_u16()),
            "{token}: {} {:?}", a.status, a.body
        );
        let code = a.code().unwrap_or_default().to_owned();
        prop_assert!(
            ["invalid_request", "malformed_token", "unsupported_algorithm", "unknown_key", "invalid_signature"]
                .contains(&code.as_str()),
            "{token}: {code}"
        );
    });
    // At most one refresh for all the unknown kids.
    assert!(s.idp.jwks_fetches() <= 2, "{}", s.idp.jwks_fetches());
}

/// JWK-shaped objects: a known or odd `kty` with random members.
fn jwk_like() -> impl Strategy<Value = Value> {
    let member = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| Value::from(b64(b))),
        json_value(),
    ];
    (
        prop::sample::select(vec!["RSA", "EC", "OKP", "oct", "rsa", ""]),
        prop::sample::select(vec![
            "P-256",
            "P-384",
            "P-521",
            "Ed25519",
            "X25519",
            "secp256k1",
        ]),
        prop::option::of(prop::sample::select(vec![
            "RS256", "PS512", "ES256", "ES384", "EdDSA", "HS256", "none", "RSA-OAEP",
        ])),
        prop::option::of(prop::sample::select(vec!["sig", "enc", "x"])),
        prop::collection::btree_map(
            prop::sample::select(vec![
                "n", "e", "x", "y", "d", "k", "kid", "key_ops", "issuer",
            ]),
            member,
            0..6,
        ),
    )
        .prop_map(|(kty, crv, alg, usage, members)| {
            let mut jwk: Map<String, Value> = members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            jwk.insert("kty".into(), kty.into());
            jwk.insert("crv".into(), crv.into());
            if let Some(alg) = alg {
                jwk.insert("alg".into(), alg.into());
            }
            if let Some(u) = usage {
                jwk.insert("use".into(), u.into());
            }
            Value::Object(jwk)
        })
}

#[test]
fn key_sets_never_panic_and_keep_only_usable_keys() {
    let real = TestKey::rsa("real").public_jwk();
    proptest!(config(384), |(
        jwks in prop::collection::vec(jwk_like(), 0..6),
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        with_real in any::<bool>(),
    )| {
        let _ = KeySet::from_document_slice(&bytes);
        let mut keys = jwks.clone();
        if with_real {
            keys.push(real.clone());
        }
        let doc = json!({"keys": keys});
        let set = KeySet::from_jwks_value(&doc).unwrap();
        prop_assert_eq!(set.keys().len() + set.skipped(), keys.len());
        for key in set.keys() {
            if let Some(alg) = key.alg {
                prop_assert!(key.allows(alg));
                prop_assert!(!matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512));
            }
        }
        if with_real {
            prop_assert!(set.contains_kid("real"));
        }
        let _ = KeySet::from_document_slice(doc.to_string().as_bytes());
        // The X.509 map path: any text under a PEM boundary.
        let map = json!({"kid": format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----", b64(&bytes))});
        let set = KeySet::from_document_slice(map.to_string().as_bytes()).unwrap();
        prop_assert_eq!(set.keys().len() + set.skipped(), 1);
    });
}

#[test]
fn registry_text_never_panics() {
    proptest!(config(512), |(text in prop_oneof![
        ".{0,200}",
        json_value().prop_map(|v| json!({"registrations": [v]}).to_string()),
        json_value().prop_map(|v| v.to_string()),
        json_value().prop_filter_map("a TOML table", |v| {
            toml::to_string(&json!({"registrations": [v]})).ok()
        }),
    ])| {
        for format in [RegistryFormat::Toml, RegistryFormat::Json] {
            let loaded = parse_registry_str(&text, format);
            let entries = parse_registry_entries(&text, format);
            prop_assert_eq!(loaded.is_ok(), entries.is_ok());
            if let Err(e) = loaded {
                let _ = e.to_string();
            }
        }
    });
}

/// Registrations as an operator writes them, within the rules.
fn registration_entry() -> impl Strategy<Value = Value> {
    let provider = prop_oneof![
        Just(json!({"provider": "jwks", "jwks_uri": "https://idp.example/keys"})),
        Just(json!({"provider": "oidc", "issuer": "https://idp.example"})),
        Just(json!({"provider": "auth0", "domain": "acme.eu.auth0.com"})),
        Just(
            json!({"provider": "cognito", "region": "eu-west-1", "user_pool_id": "eu-west-1_AbC"})
        ),
        Just(json!({"provider": "azure-ad", "tenant": "common"})),
    ];
    (
        provider,
        "[A-Za-z0-9]{1,12}",
        prop::option::of("[A-Za-z0-9]([ -~]{0,18}[A-Za-z0-9])?"),
        any::<bool>(),
        0u64..=300,
        prop::collection::vec("[a-z]{1,8}", 0..4),
        prop::collection::btree_map(
            "[a-z0-9-]{1,10}",
            prop::collection::vec("[a-z]{1,8}", 0..3),
            0..3,
        ),
        prop::sample::subsequence(vec!["RS256", "PS384", "ES256", "EdDSA"], 1..4),
    )
        .prop_map(
            |(provider, client, name, enabled, leeway, roles, properties, algs)| {
                let mut entry = provider.as_object().unwrap().clone();
                entry.insert("client_id".into(), client.into());
                if let Some(name) = name {
                    entry.insert("name".into(), name.into());
                }
                entry.insert("enabled".into(), enabled.into());
                entry.insert("leeway_seconds".into(), leeway.into());
                entry.insert("roles".into(), json!(roles));
                entry.insert("properties".into(), json!(properties));
                if entry["provider"] != "auth0" && entry["provider"] != "cognito" {
                    entry.insert("algorithms".into(), json!(algs));
                }
                Value::Object(entry)
            },
        )
}

#[test]
fn registry_round_trips_toml_entries_json() {
    proptest!(config(128), |(mut entries in prop::collection::vec(registration_entry(), 1..5))| {
        for (i, e) in entries.iter_mut().enumerate() {
            e["id"] = format!("quid-{i}").into();
        }
        let doc = json!({"registrations": entries});
        let toml_text = toml::to_string(&doc).unwrap();
        let from_toml = parse_registry_str(&toml_text, RegistryFormat::Toml)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{toml_text}")))?;
        let from_json = parse_registry_str(&doc.to_string(), RegistryFormat::Json).unwrap();
        prop_assert_eq!(&from_toml, &from_json);
        // TOML → entries as written → JSON text → the same registrations.
        let raw: Vec<Value> = parse_registry_entries(&toml_text, RegistryFormat::Toml)
            .unwrap()
            .into_iter()
            .map(|e| e.raw)
            .collect();
        let again = json!({"registrations": raw}).to_string();
        prop_assert_eq!(&parse_registry_str(&again, RegistryFormat::Json).unwrap(), &from_toml);
    });
}

fn verification_registration(response: &Map<String, Value>) -> Option<Registration> {
    let doc = json!({"registrations": [{
        "id": "v",
        "provider": "verification-endpoint",
        "claims": {"persist": ["email", "a"]},
        "verification": {
            "url": "https://verify.example/identity",
            "method": "POST",
            "params": {"token": "#{token}"},
            "response": response,
        },
    }]});
    parse_registry_str(&doc.to_string(), RegistryFormat::Json)
        .ok()?
        .pop()
}

#[test]
fn verification_answers_never_panic_and_uid_is_what_the_path_names() {
    let template = prop_oneof![
        "[a-z0-9.]{1,8}".prop_map(|p| format!("#{{{p}}}")),
        "[ -~]{0,16}",
        ("[a-z]{1,4}", "[a-z.0-9]{1,6}").prop_map(|(t, p)| format!("{t} #{{{p}}} {t}")),
    ];
    proptest!(config(384), |(
        answer in json_value(),
        body in prop::collection::vec(any::<u8>(), 0..64),
        uid in template.clone(),
        others in prop::collection::vec(template, 0..4),
    )| {
        let mut response = Map::new();
        response.insert("uid".into(), uid.clone().into());
        for (field, t) in ["login", "email", "full_name", "username"].iter().zip(others) {
            response.insert((*field).into(), t.into());
        }
        let Some(reg) = verification_registration(&response) else { return Ok(()) };
        let _ = map_verification_answer(&reg, &body);
        match map_verification_answer(&reg, answer.to_string().as_bytes()) {
            Ok(principal) => {
                prop_assert!(!principal.subject.is_empty());
                prop_assert!(answer.is_object());
            }
            Err(e) => prop_assert_eq!(e.code(), ErrorCode::InvalidClaims),
        }
    });
    // The exact mapping on a known answer.
    let mut response = Map::new();
    response.insert("uid".into(), "#{user.id}".into());
    response.insert("login".into(), "#{user.login}".into());
    response.insert("full_name".into(), "#{user.first} #{user.last}".into());
    let reg = verification_registration(&response).unwrap();
    let answer = json!({"user": {"id": 42, "login": "alice", "first": "A", "last": "B"}});
    let p = map_verification_answer(&reg, answer.to_string().as_bytes()).unwrap();
    assert_eq!(
        (p.subject.as_str(), p.username.as_deref()),
        ("42", Some("alice"))
    );
    assert_eq!(p.attributes.get("full_name"), Some(&json!("A B")));
}

fn numeric_date() -> impl Strategy<Value = Option<i64>> {
    prop::option::of(prop_oneof![
        any::<i64>(),
        -10_000_000_000i64..10_000_000_000
    ])
}

#[test]
fn standard_claims_round_trip_and_agree_with_claims_from_map() {
    proptest!(config(512), |(
        iss in prop::option::of(".{0,10}"),
        sub in prop::option::of(".{0,10}"),
        aud in prop::collection::vec(".{0,6}", 0..3),
        exp in numeric_date(),
        nbf in numeric_date(),
        iat in numeric_date(),
        jti in prop::option::of("[a-z0-9]{0,10}"),
        extra in json_value(),
    )| {
        let claims = StandardClaims { iss, sub, aud, exp, nbf, iat, jti };
        let value = serde_json::to_value(&claims).unwrap();
        let back: StandardClaims = serde_json::from_value(value.clone()).unwrap();
        prop_assert_eq!(&back, &claims);
        let text: StandardClaims = serde_json::from_str(&value.to_string()).unwrap();
        prop_assert_eq!(&text, &claims);
        // The typed view of a verified claim set is the same either way.
        let mut map = value.as_object().unwrap().clone();
        map.insert("extra".into(), extra);
        let wrapped = Claims::from_map(map);
        prop_assert_eq!(wrapped.standard(), &claims);
        prop_assert_eq!(&wrapped.deserialize::<StandardClaims>().unwrap(), &claims);
    });
}
