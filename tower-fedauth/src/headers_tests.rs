//! The header reading's tests: the one-pass and the full checks agree,
//! the schemes, and every shape refusal.

use super::*;

fn req(headers: &[(&str, &[u8])]) -> http::Request<()> {
    let mut b = http::Request::builder().uri("/x");
    for (k, v) in headers {
        b = b.header(*k, http::HeaderValue::from_bytes(v).unwrap());
    }
    b.body(()).unwrap()
}

fn code(headers: &[(&str, &[u8])]) -> ErrorCode {
    read_credentials(&req(headers), &HeaderConfig::default())
        .unwrap_err()
        .code()
}

/// The one-pass reading and the full checks agree on every shape,
/// accepted or refused (and the refusal's detail is the full checks').
#[test]
fn the_fast_path_agrees_with_the_full_checks() {
    let cfg = HeaderConfig {
        max_token_bytes: 8,
        ..HeaderConfig::default()
    };
    let cases: &[&[u8]] = &[
        b"Bearer a.b.c",
        b"bearer a.b.c",
        b"BeArEr   a.b.c   ",
        b"Bearer",
        b"Bearer ",
        b"Bearer    ",
        b"Bearer a b",
        b"Bearer\ta.b",
        b"Bearer a.b\t",
        b"Bearer a.b\x7f",
        b"Basic a.b",
        b"Bearerx a.b",
        b"a.b.c",
        b"",
        b" a.b",
        b"a.b ",
        b"a\x80b",
        b"12345678",
        b"123456789",
        b"Bearer 12345678",
        b"Bearer 123456789",
        b"Bearer 12345678 ",
        b"Bearer         12345678",
        b"Bearer          12345678",
        b"DPoP a.b.c",
        b"dpop a.b.c",
        b"DPOP   a.b.c  ",
        b"DPoP",
        b"DPoP ",
        b"DPoP a b",
        b"DPoPx a.b",
        b"DPoP\ta.b",
        b"DPoP 12345678",
        b"DPoP 123456789",
    ];
    let outcome = |r: Result<(Scheme, &[u8]), AuthError>| {
        r.map(|(scheme, token)| (scheme, token.to_vec()))
            .map_err(|e| (e.code(), e.detail().to_owned()))
    };
    for &value in cases {
        let full = outcome(checked_token_from(value, &cfg));
        assert_eq!(outcome(token_from(value, &cfg)), full, "{value:?}");
        if let Some(fast) = well_formed_token(value, cfg.max_token_bytes) {
            assert_eq!(Ok((fast.0, fast.1.to_vec())), full, "{value:?}");
        }
    }
    // The common shapes do take the one-pass reading.
    for value in [&b"Bearer a.b.c"[..], b"bearer  a.b ", b"a.b.c"] {
        assert!(well_formed_token(value, 8).is_some(), "{value:?}");
    }
}

#[test]
fn the_dpop_scheme_is_read_in_any_case() {
    for (value, scheme) in [
        (&b"DPoP a.b.c"[..], Scheme::Dpop),
        (b"dpop  a.b.c ", Scheme::Dpop),
        (b"DPOP a.b.c", Scheme::Dpop),
        (b"Bearer a.b.c", Scheme::Bearer),
        (b"a.b.c", Scheme::Bearer),
    ] {
        let request = req(&[("authorization", value), ("x-sc-auth", b"quid-1")]);
        let refs = read_credential_refs(&request, &HeaderConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            (refs.scheme, refs.token),
            (scheme, &b"a.b.c"[..]),
            "{value:?}"
        );
    }
    // Any other scheme is still a 400.
    assert_eq!(
        code(&[("authorization", b"PoP a.b.c"), ("x-sc-auth", b"q")]),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn bearer_and_bare_tokens() {
    for v in [
        &b"Bearer a.b.c"[..],
        b"bearer a.b.c",
        b"BEARER  a.b.c",
        b"Bearer a.b.c ",
        b"Bearer  a.b.c  ",
        b"a.b.c",
    ] {
        let got = read_credentials(
            &req(&[("authorization", v), ("x-sc-auth", b"quid-1")]),
            &HeaderConfig::default(),
        )
        .unwrap();
        assert_eq!(
            got,
            Presented::Credentials(Credentials {
                token: "a.b.c".into(),
                registration: "quid-1".into()
            })
        );
    }
}

#[test]
fn shape_errors_are_400_and_come_first() {
    use ErrorCode::*;
    assert_eq!(
        code(&[("authorization", b"Basic abc"), ("x-sc-auth", b"q")]),
        InvalidRequest
    );
    // A space inside the token, however many follow the scheme.
    for value in [
        &b"Bearer a b"[..],
        b"Bearer  a b",
        b"Bearer a  b",
        b"Bearer a b ",
    ] {
        assert_eq!(
            code(&[("authorization", value), ("x-sc-auth", b"q")]),
            InvalidRequest,
            "{}",
            String::from_utf8_lossy(value)
        );
    }
    assert_eq!(
        code(&[("authorization", b"Bearer "), ("x-sc-auth", b"q")]),
        InvalidRequest
    );
    assert_eq!(
        code(&[("authorization", b"t\xc3\xa9"), ("x-sc-auth", b"q")]),
        InvalidRequest
    );
    assert_eq!(
        code(&[("authorization", b"t"), ("x-sc-auth", b"q\xc3\xa9")]),
        InvalidRequest
    );
    let long_id = vec![b'a'; 129];
    assert_eq!(
        code(&[("authorization", b"t"), ("x-sc-auth", &long_id)]),
        InvalidRequest
    );
    let big = vec![b'a'; 16 * 1024 + 1];
    assert_eq!(
        code(&[("authorization", &big), ("x-sc-auth", b"q")]),
        InvalidRequest
    );
    assert_eq!(
        code(&[
            ("authorization", b"t"),
            ("authorization", b"u"),
            ("x-sc-auth", b"q")
        ]),
        InvalidRequest
    );
    assert_eq!(
        code(&[("x-sc-auth", b"q"), ("x-sc-auth", b"r")]),
        InvalidRequest
    );
    assert_eq!(code(&[("x-sc-auth", b"q")]), MissingToken);
    assert_eq!(code(&[("authorization", b"t")]), MissingRegistration);
    assert_eq!(
        read_credentials(&req(&[]), &HeaderConfig::default()).unwrap(),
        Presented::Anonymous
    );
}

#[test]
fn debug_never_shows_the_token() {
    let c = Credentials {
        token: "secret.token.value".into(),
        registration: "q".into(),
    };
    assert!(!format!("{c:?}").contains("secret"));
}
