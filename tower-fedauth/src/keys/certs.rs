//! Google's X.509 certificate map, the format Firebase publishes its
//! signing keys in: a JSON object `{kid: "-----BEGIN CERTIFICATE-----…"}`.
//!
//! Only the certificate's public key is used, as Google's own SDKs do: the
//! certificates are self-signed and are not validated as a chain, and their
//! validity dates are not consulted (the map's `Cache-Control: max-age`
//! decides how long its keys are used). RSA keys under 2048 bits, non-RSA
//! keys and certificates that do not parse are skipped alone, like bad JWKs.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use serde_json::{Map, Value};
use x509_cert::Certificate;
use x509_cert::der::asn1::UintRef;
use x509_cert::der::{Decode, Reader, SliceReader};
use x509_cert::spki::ObjectIdentifier;

use super::key::{KeyLiveness, KeyType, VerificationKey, rsa_key_problem};
use super::signature::SignatureKey;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// `rsaEncryption` (RFC 8017, A.1).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Whether a key document is a certificate map: no `keys` member, at least
/// one entry, and every value a PEM certificate.
pub(super) fn is_certificate_map(doc: &Map<String, Value>) -> bool {
    !doc.is_empty()
        && !doc.contains_key("keys")
        && doc.values().all(|v| {
            v.as_str()
                .is_some_and(|s| s.trim_start().starts_with(BEGIN))
        })
}

/// The DER of the first certificate in a PEM text. Lenient on line length
/// and line endings (only the base64 between the boundaries matters).
fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    let start = pem.find(BEGIN).ok_or("no BEGIN CERTIFICATE line")? + BEGIN.len();
    let len = pem[start..].find(END).ok_or("no END CERTIFICATE line")?;
    let b64: String = pem[start..start + len]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(b64)
        .map_err(|_| "the certificate is not valid base64".to_owned())
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`,
/// as (n, e) big-endian without leading zeros.
fn rsa_components(pkcs1: &[u8]) -> Result<(Vec<u8>, Vec<u8>), x509_cert::der::Error> {
    let mut reader = SliceReader::new(pkcs1)?;
    let (n, e) = reader.sequence(|r| Ok((UintRef::decode(r)?, UintRef::decode(r)?)))?;
    reader.finish((n.as_bytes().to_vec(), e.as_bytes().to_vec()))
}

/// The verification key in one PEM certificate, or why it is skipped.
pub(super) fn key_from_certificate(kid: &str, pem: &str) -> Result<VerificationKey, String> {
    let der = pem_to_der(pem)?;
    let cert = Certificate::from_der(&der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(format!(
            "public key algorithm {} is not RSA",
            spki.algorithm.oid
        ));
    }
    let pkcs1 = spki
        .subject_public_key
        .as_bytes()
        .ok_or("the public key bit string is not whole bytes")?;
    let (n, e) =
        rsa_components(pkcs1).map_err(|e| format!("the RSA public key does not parse: {e}"))?;
    if let Some(problem) = rsa_key_problem(&n, &e) {
        return Err(problem);
    }
    Ok(VerificationKey {
        kid: Some(kid.to_owned()),
        alg: None,
        key_type: KeyType::Rsa,
        issuer: None,
        signature: SignatureKey::new(DecodingKey::from_rsa_raw_components(&n, &e)),
        liveness: KeyLiveness::new(format!(
            "x509.{}.{}",
            URL_SAFE_NO_PAD.encode(&n),
            URL_SAFE_NO_PAD.encode(&e)
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_the_format_from_the_document() {
        let map = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(is_certificate_map(&map(
            json!({"a": "-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n"})
        )));
        assert!(!is_certificate_map(&map(json!({}))));
        assert!(!is_certificate_map(&map(json!({"keys": []}))));
        assert!(!is_certificate_map(&map(
            json!({"a": "-----BEGIN CERTIFICATE-----", "b": 1})
        )));
        assert!(!is_certificate_map(&map(
            json!({"a": "-----BEGIN PUBLIC KEY-----\nMII=\n-----END PUBLIC KEY-----"})
        )));
    }

    #[test]
    fn bad_certificates_say_why() {
        let err = |pem: &str| key_from_certificate("k", pem).unwrap_err();
        assert!(err("-----BEGIN CERTIFICATE-----\nMII=").contains("END"));
        assert!(
            err("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----").contains("base64")
        );
        assert!(
            err("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
                .contains("not an X.509 certificate")
        );
    }

    /// DER tag-length-value.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n @ 0..=0x7f => out.push(n as u8),
            n @ 0x80..=0xff => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    /// A certificate holding `spki` (its signature is never checked).
    fn certificate(oid: &[u8], public_key: &[u8]) -> String {
        let alg = tlv(0x30, &[tlv(0x06, oid), vec![0x05, 0x00]].concat());
        let name = tlv(
            0x30,
            &tlv(
                0x31,
                &tlv(0x30, &[tlv(0x06, &[0x55, 4, 3]), tlv(0x0c, b"t")].concat()),
            ),
        );
        let time = tlv(0x17, b"250101000000Z");
        let validity = tlv(0x30, &[time.clone(), time].concat());
        let spki = tlv(
            0x30,
            &[alg.clone(), tlv(0x03, &[&[0u8][..], public_key].concat())].concat(),
        );
        let tbs = tlv(
            0x30,
            &[
                tlv(0x02, &[1]),
                alg.clone(),
                name.clone(),
                validity,
                name,
                spki,
            ]
            .concat(),
        );
        let der = tlv(0x30, &[tbs, alg, tlv(0x03, &[0, 0xaa])].concat());
        format!("{BEGIN}\n{}\n{END}\n", STANDARD.encode(der))
    }

    const RSA_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

    fn rsa_public_key(bits: usize) -> Vec<u8> {
        let mut n = vec![0u8; bits / 8 + 1];
        n[1] = 0xc1;
        tlv(0x30, &[tlv(0x02, &n), tlv(0x02, &[1, 0, 1])].concat())
    }

    #[test]
    fn weak_and_non_rsa_keys_are_skipped() {
        let key =
            key_from_certificate("ok", &certificate(&RSA_OID, &rsa_public_key(2048))).unwrap();
        assert_eq!(key.kid.as_deref(), Some("ok"));
        assert_eq!(key.key_type, KeyType::Rsa);
        let weak = key_from_certificate("weak", &certificate(&RSA_OID, &rsa_public_key(1024)));
        assert!(weak.unwrap_err().contains("1024 bits"));
        let ec_oid = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        let ec = key_from_certificate("ec", &certificate(&ec_oid, &[4; 65]));
        assert!(ec.unwrap_err().contains("not RSA"));

        let map = json!({
            "ok": certificate(&RSA_OID, &rsa_public_key(2048)),
            "weak": certificate(&RSA_OID, &rsa_public_key(1024)),
        });
        let set = crate::keys::KeySet::from_document_slice(map.to_string().as_bytes()).unwrap();
        assert_eq!((set.keys().len(), set.skipped()), (1, 1));
    }

    #[test]
    fn rsa_public_key_structure() {
        // SEQUENCE { INTEGER 0x00c1..., INTEGER 65537 }
        let der = [
            0x30, 0x0a, 0x02, 0x03, 0x00, 0xc1, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01,
        ];
        let (n, e) = rsa_components(&der).unwrap();
        assert_eq!(n, vec![0xc1, 0x01]);
        assert_eq!(e, vec![0x01, 0x00, 0x01]);
        assert!(rsa_components(&der[..6]).is_err());
    }
}
