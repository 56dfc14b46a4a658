//! The client certificate of a request and its thumbprint (RFC 8705 §3.1):
//! base64url(SHA-256(DER)), compared with the token's `cnf["x5t#S256"]` in
//! constant time.
//!
//! From the connection the certificate is DER already; from a proxy's
//! header it is a URL-encoded PEM — nginx's `$ssl_client_escaped_cert`, or
//! the `Cert="…"` element of Envoy's `x-forwarded-client-cert` (its last
//! entry: the one the proxy next to this server appended).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ClientCertFormat, ClientCertSource};

/// The DER of the certificate `raw` holds, as `source` gives it.
pub(crate) fn der(raw: &[u8], source: &ClientCertSource) -> Result<Vec<u8>, &'static str> {
    match source {
        ClientCertSource::Connection => Ok(raw.to_vec()),
        ClientCertSource::Header { format, .. } => {
            let text = std::str::from_utf8(raw).map_err(|_| "the header is not text")?;
            let escaped = match format {
                ClientCertFormat::NginxEscapedPem => text,
                ClientCertFormat::EnvoyXfcc => xfcc_cert(text).ok_or("no Cert element")?,
            };
            pem_der(&percent_decoded(escaped)?)
        }
    }
}

/// Whether the DER's SHA-256 is `expected`, in constant time.
pub(crate) fn thumbprint_matches(der: &[u8], expected: &[u8; 32]) -> bool {
    let actual: [u8; 32] = Sha256::digest(der).into();
    actual.ct_eq(expected).into()
}

/// The `Cert` value of the last entry of an `x-forwarded-client-cert`.
fn xfcc_cert(header: &str) -> Option<&str> {
    let last = split_outside_quotes(header, ',').last()?;
    split_outside_quotes(last, ';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("cert")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// `text` split at `sep` where it is not inside double quotes.
fn split_outside_quotes(text: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    let mut escaped = false;
    text.split(move |c: char| {
        let split = c == sep && !quoted;
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            _ => {}
        }
        split
    })
}

/// `%xx` sequences decoded (a `+` stays a `+`: base64 has them).
fn percent_decoded(text: &str) -> Result<String, &'static str> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a broken %-escape")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the decoded certificate is not text")
}

/// The DER of the first `CERTIFICATE` block of a PEM.
fn pem_der(pem: &str) -> Result<Vec<u8>, &'static str> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem.find(BEGIN).ok_or("no BEGIN CERTIFICATE line")? + BEGIN.len();
    let len = pem[start..].find(END).ok_or("no END CERTIFICATE line")?;
    let body: String = pem[start..start + len]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD
        .decode(body)
        .map_err(|_| "the certificate is not base64")?;
    match der.is_empty() {
        true => Err("the certificate is empty"),
        false => Ok(der),
    }
}
