//! TLS client certificates for certificate-bound tokens (RFC 8705): a
//! self-signed certificate of a fresh key, its thumbprint, and the forms a
//! TLS-terminating proxy passes it in.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::keys::TestKey;
use super::x509::{certificate_der, pem_of};

/// A client's TLS certificate (self-signed, RSA-2048, `CN=fedauth test
/// client`).
#[derive(Clone, Debug)]
pub struct ClientCert {
    der: Vec<u8>,
}

impl ClientCert {
    /// A new certificate of a new key.
    pub fn generate() -> Self {
        let key = TestKey::rsa("client");
        Self {
            der: certificate_der(&key, "CN=fedauth test client"),
        }
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate, PEM.
    pub fn pem(&self) -> String {
        pem_of(&self.der)
    }

    /// base64url(SHA-256(DER)): the `cnf["x5t#S256"]` of tokens bound to
    /// it.
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest(&SHA256, &self.der).as_ref())
    }

    /// The PEM URL-encoded as nginx's `$ssl_client_escaped_cert`: every
    /// byte but the unreserved characters as `%XX`.
    pub fn nginx_header_value(&self) -> String {
        url_encoded(&self.pem())
    }

    /// An Envoy `x-forwarded-client-cert` value: a first entry from a
    /// proxy further out (with another certificate, which must not be the
    /// one read), then the entry of the proxy next to the server, whose
    /// `Cert` is this certificate.
    pub fn xfcc_header_value(&self) -> String {
        let outer = ClientCert::generate();
        format!(
            "By=spiffe://outer.example/proxy;Cert=\"{}\";Subject=\"CN=outer\",\
             By=spiffe://platform.example/api;Hash={};Cert=\"{}\";Subject=\"CN=fedauth test client\"",
            url_encoded(&outer.pem()),
            hex(digest(&SHA256, &self.der).as_ref()),
            url_encoded(&self.pem()),
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
