//! Self-signed X.509 certificates of test keys, and Google's certificate map
//! format (`{kid: PEM}`) in which Firebase publishes its keys.
//!
//! Built with `x509-cert`'s types (already the verifier's parser) and signed
//! by the [`TestKey`] itself, so the test kit needs no certificate generator.

use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use x509_cert::der::asn1::BitString;
use x509_cert::der::{Any, Decode, Encode};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::time::Validity;
use x509_cert::{Certificate, TbsCertificate, Version};

use super::keys::{KeyKind, TestKey};

/// `sha256WithRSAEncryption` (RFC 8017, A.2.4).
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// The subject and issuer of the certificates, as Google's.
const SUBJECT: &str = "CN=securetoken.system.gserviceaccount.com";

/// A self-signed X.509 v3 certificate of an RSA `key`, valid for a week
/// from now, as a `-----BEGIN CERTIFICATE-----` PEM.
///
/// # Panics
/// If `key` is not an RSA key (Google's certificates hold RSA keys), or if
/// encoding fails (should never happen).
pub fn certificate_pem(key: &TestKey) -> String {
    pem_of(&certificate_der(key, SUBJECT))
}

/// A self-signed X.509 v3 certificate of an RSA `key` for `subject` (an
/// RFC 4514 name such as `CN=client`), valid for a week from now, as DER.
///
/// # Panics
/// If `key` is not an RSA key, `subject` is not a name, or encoding fails.
pub fn certificate_der(key: &TestKey, subject: &str) -> Vec<u8> {
    assert_eq!(
        key.kind(),
        KeyKind::Rsa2048,
        "TestKey {:?}: certificates are made for RSA keys only",
        key.kid()
    );
    let algorithm = AlgorithmIdentifierOwned {
        oid: SHA256_WITH_RSA,
        parameters: Some(Any::null()),
    };
    let name = Name::from_str(subject).expect("subject name");
    let mut serial = [0u8; 8];
    aws_lc_rs::rand::fill(&mut serial).expect("system random");
    serial[0] = (serial[0] & 0x7f) | 0x01;
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial).expect("serial number"),
        signature: algorithm.clone(),
        issuer: name.clone(),
        validity: Validity::from_now(Duration::from_secs(7 * 24 * 3600)).expect("validity"),
        subject: name,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(&key.public_key_der())
            .expect("SubjectPublicKeyInfo"),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: None,
    };
    let signature = key.sign("RS256", &tbs.to_der().expect("encode tbsCertificate"));
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature).expect("signature bit string"),
    };
    cert.to_der().expect("encode certificate")
}

/// A DER certificate as a `-----BEGIN CERTIFICATE-----` PEM, 64 characters
/// a line.
pub(crate) fn pem_of(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Google's X.509 certificate map of RSA `keys`: `{kid: PEM certificate}`.
///
/// # Panics
/// If a key is not RSA (see [`certificate_pem`]).
pub fn certificate_map(keys: &[TestKey]) -> Value {
    let map: Map<String, Value> = keys
        .iter()
        .map(|k| (k.kid().to_owned(), Value::String(certificate_pem(k))))
        .collect();
    Value::Object(map)
}
