//! The key-set parser: a JWKS or Google's X.509 certificate map, the format
//! recognised from the document. Input: the document; or, after a leading
//! 0x00 byte, the DER of one certificate, wrapped as a one-entry PEM map so
//! the fuzzer reaches the X.509 parser directly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_fedauth::keys::KeySet;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (kept here to avoid a dependency).
fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let doc = match data.split_first() {
        Some((0, der)) => {
            let pem = format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                base64(der)
            );
            serde_json::json!({ "kid": pem }).to_string().into_bytes()
        }
        _ => data.to_vec(),
    };
    if let Ok(set) = KeySet::from_document_slice(&doc) {
        for key in set.keys() {
            // Every key kept serves at least one algorithm, and only its own.
            let _ = key.kid.as_deref().map(|kid| set.contains_kid(kid));
            if let Some(alg) = key.alg {
                assert!(key.allows(alg));
            }
        }
    }
    let _ = KeySet::from_jwks_slice(&doc);
});
