//! Certificate-bound tokens (RFC 8705): the connection's certificate, a
//! proxy's header only where configured, the `mtls` modes, and an
//! introspection answer's `cnf`.

use super::*;
use crate::binding::ClientCertFormat;
use crate::registration::{BindingMode, IntrospectionConfig};
use crate::testkit::{ClientCert, MockOpaqueIdp};

const HEADER: &str = "x-ssl-client-cert";

/// `quid-1` (mtls allowed), `quid-mtls` (required), `quid-no-mtls` (off),
/// with certificates from `certs`.
async fn setup(certs: ClientCertSource) -> (MockIdp, Authenticator) {
    let idp = MockIdp::start().await;
    let regs = vec![
        reg(&idp, "quid-1", |b| b),
        reg(&idp, "quid-mtls", |b| b.mtls(BindingMode::Required)),
        reg(&idp, "quid-no-mtls", |b| b.mtls(BindingMode::Off)),
    ];
    let dpop = DpopConfig::default().public_url(PUBLIC.parse().unwrap());
    let auth = authenticator(regs, dpop, certs);
    (idp, auth)
}

fn cert_bound(idp: &MockIdp, cert: &ClientCert) -> String {
    idp.token().cert_bound(cert).sign(&idp.signing_key())
}

fn with_cert(token: &str, der: &[u8]) -> Req {
    Req {
        cert: Some(der.to_vec()),
        ..Req::bearer(token)
    }
}

#[tokio::test]
async fn the_connections_certificate_must_be_the_tokens() {
    let (idp, auth) = setup(ClientCertSource::Connection).await;
    let cert = ClientCert::generate();
    let token = cert_bound(&idp, &cert);
    assert_accepted(with_cert(&token, cert.der()).send(&auth).await);
    let other = ClientCert::generate();
    assert_refused(
        &auth,
        with_cert(&token, other.der()).send(&auth).await,
        ErrorCode::InvalidTokenBinding,
        &bearer_binding(),
        "the client certificate is not the one the token is bound to (cnf[\"x5t#S256\"])",
    );
    assert_refused(
        &auth,
        Req::bearer(&token).send(&auth).await,
        ErrorCode::InvalidTokenBinding,
        &bearer_binding(),
        "the token is certificate-bound and the request has no client certificate",
    );
    // A header is never read unless configured.
    let header = Req {
        headers: vec![(HEADER, cert.nginx_header_value())],
        ..Req::bearer(&token)
    };
    let error = header.send(&auth).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidTokenBinding);
}

#[tokio::test]
async fn the_modes_require_or_ignore_certificates() {
    let (idp, auth) = setup(ClientCertSource::Connection).await;
    let cert = ClientCert::generate();
    let token = cert_bound(&idp, &cert);
    // Unbound tokens: fine where allowed, refused where required.
    assert_accepted(with_cert(&idp.mint(), cert.der()).send(&auth).await);
    assert_refused(
        &auth,
        with_cert(&idp.mint(), cert.der())
            .to("quid-mtls")
            .send(&auth)
            .await,
        ErrorCode::InvalidTokenBinding,
        &bearer_binding(),
        "the registration requires certificate-bound tokens (mtls = required); this one has no cnf[\"x5t#S256\"]",
    );
    assert_accepted(
        with_cert(&token, cert.der())
            .to("quid-mtls")
            .send(&auth)
            .await,
    );
    // Off: the certificate is ignored, so a bound token cannot pass.
    assert_refused(
        &auth,
        with_cert(&token, cert.der())
            .to("quid-no-mtls")
            .send(&auth)
            .await,
        ErrorCode::InvalidTokenBinding,
        &bearer_binding(),
        "the token is certificate-bound and the registration ignores client certificates (mtls = off)",
    );
    assert_accepted(
        with_cert(&idp.mint(), cert.der())
            .to("quid-no-mtls")
            .send(&auth)
            .await,
    );
}

#[tokio::test]
async fn a_proxys_header_is_read_when_configured() {
    let cert = ClientCert::generate();
    for (format, value) in [
        (ClientCertFormat::NginxEscapedPem, cert.nginx_header_value()),
        (ClientCertFormat::EnvoyXfcc, cert.xfcc_header_value()),
    ] {
        let name = match format {
            ClientCertFormat::EnvoyXfcc => "x-forwarded-client-cert",
            _ => HEADER,
        };
        let source = ClientCertSource::Header {
            name: name.parse().unwrap(),
            format,
        };
        let (idp, auth) = setup(source).await;
        let token = cert_bound(&idp, &cert);
        let req = Req {
            headers: vec![(name, value.clone())],
            ..Req::bearer(&token)
        };
        assert_accepted(req.send(&auth).await);
        // The connection's certificate is not the source then.
        let error = with_cert(&token, cert.der()).send(&auth).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidTokenBinding, "{format:?}");
        // Another certificate in the header.
        let other = ClientCert::generate();
        let req = Req {
            headers: vec![(name, other.nginx_header_value())],
            ..Req::bearer(&token)
        };
        let error = req.send(&auth).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidTokenBinding, "{format:?}");
        // Two headers: neither is trusted.
        let req = Req {
            headers: vec![(name, value.clone()), (name, value.clone())],
            ..Req::bearer(&token)
        };
        assert_refused(
            &auth,
            req.send(&auth).await,
            ErrorCode::InvalidTokenBinding,
            &bearer_binding(),
            "the token is certificate-bound and the request has no client certificate",
        );
    }
}

#[tokio::test]
async fn an_introspection_answers_cnf_binds_the_token_alike() {
    let opaque = MockOpaqueIdp::start().await;
    let key = DpopKey::generate(Algorithm::ES256);
    let cert = ClientCert::generate();
    let config = IntrospectionConfig::new(
        opaque.introspection_url().parse().unwrap(),
        crate::testkit::opaque::DEFAULT_RS_CLIENT_ID,
        crate::testkit::opaque::DEFAULT_RS_SECRET,
    );
    let reg = Registration::builder("quid-opaque", Provider::Introspection)
        .client_id("app-1")
        .introspection(config)
        .build()
        .unwrap();
    let dpop = DpopConfig::default().public_url(PUBLIC.parse().unwrap());
    let auth = authenticator(vec![reg], dpop, ClientCertSource::Connection);
    let answer = |cnf: serde_json::Value| serde_json::json!({"active": true, "sub": "alice", "client_id": "app-1", "cnf": cnf});
    opaque.set_introspection(
        "opaque-dpop",
        answer(serde_json::json!({"jkt": key.thumbprint()})),
    );
    opaque.set_introspection(
        "opaque-cert",
        answer(serde_json::json!({"x5t#S256": cert.thumbprint()})),
    );
    let proof = DpopProof::new(&key).htu(HTU).ath_for("opaque-dpop");
    let req = Req::dpop("opaque-dpop", &proof).to("quid-opaque");
    assert_accepted(req.send(&auth).await);
    assert_refused(
        &auth,
        Req::bearer("opaque-dpop")
            .to("quid-opaque")
            .send(&auth)
            .await,
        ErrorCode::InvalidTokenBinding,
        &dpop_binding(),
        "the token is DPoP-bound (cnf.jkt) and was sent without the DPoP scheme and its proof",
    );
    let thief = DpopKey::generate(Algorithm::ES256);
    let proof = DpopProof::new(&thief).htu(HTU).ath_for("opaque-dpop");
    let error = Req::dpop("opaque-dpop", &proof)
        .to("quid-opaque")
        .send(&auth)
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidTokenBinding);
    assert_accepted(
        with_cert("opaque-cert", cert.der())
            .to("quid-opaque")
            .send(&auth)
            .await,
    );
    let error = Req::bearer("opaque-cert")
        .to("quid-opaque")
        .send(&auth)
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidTokenBinding);
}
