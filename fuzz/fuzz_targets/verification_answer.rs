//! The verification-endpoint answer mapper: a registration's `response`
//! templates over a JSON answer (`map_verification_answer`). Input: up to
//! five templates (for `uid`, `login`, `email`, `username`, `full_name`),
//! one per line, then a 0x00 byte, then the answer body. Templates the
//! registry refuses fall back to a fixed registration.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use tower_fedauth::registry::{RegistryFormat, parse_registry_str};
use tower_fedauth::{Registration, map_verification_answer};

fn registration(response: Map<String, Value>) -> Option<Registration> {
    let doc = json!({"registrations": [{
        "id": "fuzz",
        "provider": "verification-endpoint",
        "claims": {"persist": ["email", "user"]},
        "verification": {
            "url": "https://verify.example/users/identity",
            "method": "GET",
            "params": {"IdP_token": "#{token}"},
            "response": response,
        },
    }]});
    parse_registry_str(&doc.to_string(), RegistryFormat::Json)
        .ok()?
        .pop()
}

static FIXED: LazyLock<Registration> = LazyLock::new(|| {
    let mut response = Map::new();
    response.insert("uid".into(), "#{user.id}".into());
    response.insert("login".into(), "#{user.login}".into());
    response.insert("full_name".into(), "#{user.first} #{user.last}".into());
    registration(response).expect("the fixed registration parses")
});

const FIELDS: [&str; 5] = ["uid", "login", "email", "username", "full_name"];

fuzz_target!(|data: &[u8]| {
    let (templates, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let reg = std::str::from_utf8(templates).ok().and_then(|t| {
        let response: Map<String, Value> = FIELDS
            .iter()
            .zip(t.split('\n'))
            .filter(|(_, tpl)| !tpl.is_empty())
            .map(|(field, tpl)| ((*field).to_owned(), Value::from(tpl)))
            .collect();
        registration(response)
    });
    let reg = reg.as_ref().unwrap_or(&FIXED);
    if let Ok(principal) = map_verification_answer(reg, body) {
        assert!(!principal.subject.is_empty());
    }
});
