//! Project Wycheproof's JWS and JWK vectors (C2SP/wycheproof, Apache-2.0),
//! read unchanged from `../shared/vectors/wycheproof/`, through fedauth's
//! signature layer (`jws::verify_compact`, the code the request path runs
//! before it reads a claim) with each case's key, or key set, as the
//! registration's key set.
//!
//! As `../shared/vectors/README.md` asks: every `invalid` case is refused,
//! every `valid` case fedauth supports is accepted, and the `valid` cases it
//! refuses by policy (symmetric keys / HS*, ES512 on P-521, a key whose own
//! `alg` is not the token's) are refused with `unsupported_algorithm` and
//! listed by `tcId`. The counts of every outcome are printed (run with
//! `--nocapture`) and asserted exactly, so any change is noticed.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tower_fedauth::jws::{Algorithm, verify_compact};
use tower_fedauth::keys::KeySet;

/// What fedauth verifies with (every asymmetric JWS algorithm it supports).
const SUPPORTED: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// `valid` in Wycheproof, whose MAC covers a header or payload with a `?`
/// in it: fedauth's base64url is strict (RFC 7515 §2, no characters outside
/// the alphabet), so it refuses them as `malformed_token` — before the
/// algorithm (HS256, refused by policy anyway) is even read.
const STRICT_BASE64: [u64; 2] = [372, 373];

fn vectors(name: &str) -> Value {
    let path = format!(
        "{}/../../shared/vectors/wycheproof/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The registration's allowlist: every supported algorithm.
fn allowed() -> Vec<Algorithm> {
    SUPPORTED.iter().map(|a| a.parse().unwrap()).collect()
}

/// The `alg` of a JWS header, if the header decodes.
fn header_alg(jws: &str) -> Option<String> {
    let header = URL_SAFE_NO_PAD.decode(jws.split('.').next()?).ok()?;
    let header: Value = serde_json::from_slice(&header).ok()?;
    header.get("alg")?.as_str().map(str::to_owned)
}

/// Why fedauth refuses a `valid` case by policy, decided from the vector
/// (never from fedauth's answer), or `None` if it must accept it.
fn policy(keys: &[Value], jws: &str) -> Option<String> {
    let alg = header_alg(jws);
    let key = keys
        .iter()
        .find(|k| {
            k.get("kid").and_then(Value::as_str) == jws_kid(jws).as_deref() || keys.len() == 1
        })
        .cloned()
        .unwrap_or(Value::Null);
    if key["kty"] == "oct" {
        return Some(format!(
            "symmetric key (kty oct, {})",
            alg.unwrap_or_default()
        ));
    }
    let alg = alg.unwrap_or_default();
    if !SUPPORTED.contains(&alg.as_str()) {
        return Some(format!("alg {alg} not supported"));
    }
    match key.get("alg").and_then(Value::as_str) {
        Some(key_alg) if key_alg != alg => {
            Some(format!("key restricted to {key_alg}, token {alg}"))
        }
        _ => None,
    }
}

fn jws_kid(jws: &str) -> Option<String> {
    let header = URL_SAFE_NO_PAD.decode(jws.split('.').next()?).ok()?;
    let header: Value = serde_json::from_slice(&header).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
}

/// The outcome of every case of one file.
#[derive(Default)]
struct Tally {
    /// `invalid` cases refused, by code.
    refused: BTreeMap<String, usize>,
    /// The same, with their tcIds.
    refused_ids: BTreeMap<String, Vec<u64>>,
    /// `valid` cases accepted.
    accepted: usize,
    /// `valid` cases refused by policy: (tcId, why).
    policy: Vec<(u64, String)>,
    /// `valid` cases refused by strict base64url.
    strict: Vec<u64>,
    /// Anything else: (tcId, what went wrong).
    failures: Vec<String>,
}

impl Tally {
    fn run(&mut self, keys: &[Value], set: &KeySet, case: &Value) {
        let id = case["tcId"].as_u64().unwrap();
        let jws = case["jws"].as_str().unwrap();
        let valid = match case["result"].as_str().unwrap() {
            "valid" => true,
            "invalid" => false,
            other => panic!("tcId {id}: result {other}"),
        };
        let outcome = verify_compact(set, &allowed(), jws);
        let code = outcome.as_ref().err().map(|e| e.code().as_str().to_owned());
        match (valid, &outcome) {
            (false, Ok(_)) => self.failures.push(format!(
                "tcId {id} ({}): invalid but accepted",
                case["comment"]
            )),
            (false, Err(e)) => {
                *self.refused.entry(e.code().as_str().into()).or_default() += 1;
                self.refused_ids
                    .entry(e.code().as_str().into())
                    .or_default()
                    .push(id);
            }
            (true, _) if STRICT_BASE64.contains(&id) => match code.as_deref() {
                Some("malformed_token") => self.strict.push(id),
                other => self.failures.push(format!(
                    "tcId {id}: strict base64url case answered {other:?}"
                )),
            },
            (true, _) => match (policy(keys, jws), code.as_deref()) {
                (None, None) => {
                    // The payload is returned as signed.
                    let payload = URL_SAFE_NO_PAD
                        .decode(jws.split('.').nth(1).unwrap())
                        .unwrap();
                    assert_eq!(outcome.unwrap(), payload, "tcId {id}");
                    self.accepted += 1;
                }
                (Some(why), Some("unsupported_algorithm")) => self.policy.push((id, why)),
                (why, code) => self.failures.push(format!(
                    "tcId {id} ({}): valid, policy {why:?}, answered {code:?}",
                    case["comment"]
                )),
            },
        }
    }

    fn print(&self, file: &str, total: usize) {
        println!("wycheproof {file}: {total} cases");
        let refused: usize = self.refused.values().sum();
        println!("  invalid, refused:              {refused:4}");
        for (code, ids) in &self.refused_ids {
            if ids.len() <= 40 {
                println!("      {code:22} {:4}  tcIds {ids:?}", ids.len());
            } else {
                println!("      {code:22} {:4}", ids.len());
            }
        }
        println!("  valid, accepted:               {:4}", self.accepted);
        println!(
            "  valid, refused by policy:      {:4}  (unsupported_algorithm)",
            self.policy.len()
        );
        for (id, why) in &self.policy {
            println!("      tcId {id:3}: {why}");
        }
        println!(
            "  valid, refused as malformed:   {:4}  (strict base64url) tcIds {:?}",
            self.strict.len(),
            self.strict
        );
        println!("  failures:                      {:4}", self.failures.len());
        for f in &self.failures {
            println!("      {f}");
        }
    }
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[test]
fn wycheproof_json_web_signature_vectors() {
    let file = vectors("json_web_signature_test.json");
    let mut tally = Tally::default();
    let mut total = 0;
    for group in file["testGroups"].as_array().unwrap() {
        // The public key when there is one; symmetric groups only have `private`.
        let key = group.get("public").unwrap_or(&group["private"]).clone();
        let keys = vec![key];
        let set = KeySet::from_jwks_value(&json!({ "keys": keys })).unwrap();
        for case in group["tests"].as_array().unwrap() {
            total += 1;
            tally.run(&keys, &set, case);
        }
    }
    tally.print("json_web_signature_test.json", total);
    assert_eq!(total, file["numberOfTests"].as_u64().unwrap() as usize);
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    assert_eq!(
        tally.refused,
        counts(&[
            ("invalid_signature", 295),
            ("malformed_token", 36),
            ("unknown_key", 6),
            ("unsupported_algorithm", 18),
        ])
    );
    assert_eq!(tally.accepted, 32);
    let ids: Vec<u64> = tally.policy.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        [1, 346, 347, 348, 350, 351, 352, 357, 358, 359, 376, 377]
    );
    assert_eq!(tally.strict, STRICT_BASE64);
}

/// Groups of `json_web_key_test.json` whose key set KeySet parsing leaves
/// empty, key by key: symmetric keys (`jws_keyset`, `HS*`, AES), an
/// ambiguous `kid` (`jws_duplicate_kid`), `use: enc` (the second `rs256`,
/// `invalid_use`), the ROCA fingerprint, 1024 bits, `e = 1`, an `alg` that
/// is not a signature algorithm (`ES521`, `ES224`), coordinates that do not
/// fit the curve, `kty` not matching the members. Not emptied:
/// `jws_mixedSymmetryKeyset` (its public EC key stays usable, the secret is
/// skipped) and `invalid_point` (a point off the curve is refused when
/// verifying, `invalid_signature`; see `RELIABILITY.md`).
const REFUSED_AT_PARSE: [&str; 22] = [
    "jws_keyset",
    "jws_duplicate_kid",
    "rs256",
    "jws_rsa_roca_key",
    "keysize_too_small",
    "exponentOne",
    "HS256",
    "HS384",
    "HS512",
    "HS256",
    "HS384",
    "HS512",
    "HS256",
    "HS384",
    "HS512",
    "wrong_algorithm",
    "invalid_algorithm",
    "invalid_use",
    "wrong_curve",
    "wrong_kty",
    "invalid_aes_gcm_key",
    "invalid_aes_kw_key",
];

#[test]
fn wycheproof_json_web_key_vectors() {
    let file = vectors("json_web_key_test.json");
    let mut tally = Tally::default();
    let mut total = 0;
    let mut emptied = Vec::new();
    for group in file["testGroups"].as_array().unwrap() {
        let doc = group.get("public").unwrap_or(&group["private"]).clone();
        let keys = doc["keys"].as_array().unwrap().clone();
        let set = KeySet::from_jwks_value(&doc).unwrap();
        if set.keys().is_empty() {
            emptied.push(group["comment"].as_str().unwrap().to_owned());
        }
        for case in group["tests"].as_array().unwrap() {
            total += 1;
            tally.run(&keys, &set, case);
        }
    }
    tally.print("json_web_key_test.json", total);
    println!("  key sets left empty by KeySet parsing: {emptied:?}");
    assert_eq!(total, file["numberOfTests"].as_u64().unwrap() as usize);
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    assert_eq!(emptied, REFUSED_AT_PARSE);
    assert_eq!(
        tally.refused,
        counts(&[
            ("invalid_signature", 1),
            ("unknown_key", 9),
            ("unsupported_algorithm", 11),
        ])
    );
    assert_eq!(tally.refused_ids["invalid_signature"], [22]);
    assert_eq!(tally.accepted, 1);
    let ids: Vec<u64> = tally.policy.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [2, 13, 14, 15]);
    assert!(tally.strict.is_empty());
}
