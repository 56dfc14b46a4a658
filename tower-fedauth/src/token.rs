//! Splitting and decoding a compact JWS, before anything is trusted.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::error::{AuthError, ErrorCode};

/// Longest `kid` we look up; longer ones cannot name a key we hold.
pub(crate) const MAX_KID_LEN: usize = 256;

/// Header members this implementation understands, so a `crit` naming one
/// of them is acceptable (RFC 7515 §4.1.11).
const UNDERSTOOD_CRIT: &[&str] = &[];

/// The JOSE header, decoded but not trusted. `alg` and `typ` borrow the
/// usual values from static strings instead of allocating.
#[derive(Debug, Clone)]
pub(crate) struct JoseHeader {
    pub alg: Cow<'static, str>,
    pub kid: Option<String>,
    pub typ: Option<Cow<'static, str>>,
}

impl JoseHeader {
    /// Whether `typ` names the media type `application/{subtype}`. A media
    /// type is compared case-insensitively, and a `typ` without `/` means
    /// `application/` followed by it (RFC 7515 §4.1.9), so `at+jwt`,
    /// `AT+JWT` and `Application/At+Jwt` are one type. No allocation: this
    /// runs for every token verified.
    pub(crate) fn typ_is(&self, subtype: &str) -> bool {
        self.typ
            .as_deref()
            .is_some_and(|t| media_type_is(t, subtype))
    }
}

/// See [`JoseHeader::typ_is`]; `subtype` holds no `/`.
pub(crate) fn media_type_is(typ: &str, subtype: &str) -> bool {
    const PREFIX: &str = "application/";
    let bare = match typ.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => &typ[PREFIX.len()..],
        _ => typ,
    };
    bare.eq_ignore_ascii_case(subtype)
}

/// `alg` values worth not allocating: the ones a key set can verify.
const USUAL_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// `typ` values worth not allocating (RFC 7519 §5.1, RFC 9068 §2.1); any
/// other spelling is kept as written and compared by [`media_type_is`].
const USUAL_TYPS: &[&str] = &[
    "JWT",
    "at+jwt",
    "jwt",
    "at+JWT",
    "application/at+jwt",
    "application/jwt",
];

/// `value` as a static string if it is one of `usual`, else owned.
fn interned<S: AsRef<str> + Into<String>>(value: S, usual: &[&'static str]) -> Cow<'static, str> {
    match usual.iter().find(|u| **u == value.as_ref()) {
        Some(u) => Cow::Borrowed(u),
        None => Cow::Owned(value.into()),
    }
}

/// A compact JWS (RFC 7515 §7.1) split and decoded, before anything is
/// trusted. The payload is any bytes: the JWT reading of it
/// ([`UnverifiedToken`]) and the bare signature layer (`crate::jws`) share
/// this parser.
#[derive(Debug)]
pub(crate) struct JwsParts<'t> {
    pub header: JoseHeader,
    /// `base64(header) "." base64(payload)`
    pub signing_input: &'t str,
    /// The signature, base64url.
    pub signature: &'t str,
    /// The decoded payload, NOT trusted until the signature has verified.
    pub payload: Vec<u8>,
}

/// A compact JWS split into its parts; claims are decoded but NOT trusted
/// until the signature has been verified.
#[derive(Debug)]
pub(crate) struct UnverifiedToken<'t> {
    pub header: JoseHeader,
    /// `base64(header) "." base64(payload)`
    pub signing_input: &'t str,
    /// The signature, base64url.
    pub signature: &'t str,
    payload: Map<String, Value>,
}

fn malformed(detail: impl Into<std::borrow::Cow<'static, str>>) -> AuthError {
    AuthError::token(ErrorCode::MalformedToken, detail)
}

fn decode_part(part: &str, what: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| malformed(format!("the {what} is not base64url without padding")))
}

/// Longest decoded header or payload read from the stack.
const DECODED_ON_STACK: usize = 1536;

/// `f` of the decoded `part`, decoded on the stack when it is of the usual
/// size: the header and the payload are read and dropped at once, so a
/// heap copy would be an allocation for nothing.
fn with_decoded<R>(
    part: &str,
    what: &str,
    f: impl FnOnce(&[u8]) -> Result<R, AuthError>,
) -> Result<R, AuthError> {
    if part.len() <= DECODED_ON_STACK / 3 * 4 {
        let mut buf = [0u8; DECODED_ON_STACK];
        let len = URL_SAFE_NO_PAD
            .decode_slice(part, &mut buf)
            .map_err(|_| malformed(format!("the {what} is not base64url without padding")))?;
        return f(&buf[..len]);
    }
    f(&decode_part(part, what)?)
}

fn json_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, AuthError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(malformed(format!("the {what} is not a JSON object"))),
        Err(_) => Err(malformed(format!("the {what} is not valid JSON"))),
    }
}

fn header_string(map: &Map<String, Value>, name: &str) -> Result<Option<String>, AuthError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(format!("the header's `{name}` is not a string"))),
    }
}

/// A compact JWS split, its header read and its signature's encoding
/// checked; the payload still encoded.
struct Split<'t> {
    header: JoseHeader,
    signing_input: &'t str,
    signature: &'t str,
    payload: &'t str,
}

impl<'t> Split<'t> {
    /// Refuses anything but three base64url parts whose header is a JSON
    /// object with a string `alg`; an unknown `crit` is refused here too.
    fn parse(compact: &'t str) -> Result<Self, AuthError> {
        let mut parts = compact.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("a JWT has exactly three dot-separated parts"));
        };
        if h.is_empty() {
            return Err(malformed("the header part is empty"));
        }
        let header = with_decoded(h, "header", jose_header)?;
        // Validate the signature's encoding now, so a bad one is a structure
        // error (it is decoded where it is checked).
        if !is_base64url_unpadded(s.as_bytes()) {
            return Err(malformed("the signature is not base64url without padding"));
        }
        Ok(Self {
            header,
            signing_input: &compact[..h.len() + 1 + p.len()],
            signature: s,
            payload: p,
        })
    }
}

impl<'t> JwsParts<'t> {
    /// Split and decode. Refuses anything but three base64url parts whose
    /// header is a JSON object with a string `alg`; an unknown `crit` is
    /// refused here too. The payload may be empty (RFC 7515 allows it).
    pub(crate) fn parse(compact: &'t str) -> Result<Self, AuthError> {
        let split = Split::parse(compact)?;
        Ok(Self {
            payload: decode_part(split.payload, "payload")?,
            header: split.header,
            signing_input: split.signing_input,
            signature: split.signature,
        })
    }
}

/// Whether `URL_SAFE_NO_PAD` decodes `s`, without decoding it: only the
/// alphabet, no length that leaves a lone symbol, and no stray bits in the
/// last symbol (the engine refuses trailing bits).
fn is_base64url_unpadded(s: &[u8]) -> bool {
    fn value(b: u8) -> Option<u8> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        })
    }
    let alphabet = s.iter().fold(true, |ok, &b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_'))
    });
    let unused_bits_clear = match (s.len() % 4, s.last().and_then(|&b| value(b))) {
        (0, _) | (_, None) => true,
        (1, _) => false,
        (2, Some(v)) => v & 0x0f == 0,
        (_, Some(v)) => v & 0x03 == 0,
    };
    alphabet && unused_bits_clear
}

/// The header members fedauth reads, borrowed from the decoded header. A
/// member that is present must be a string without escapes (`null`
/// included: it is not absent); anything else fails here and is judged by
/// [`header_from_object`].
#[derive(serde::Deserialize)]
struct TypedHeader<'a> {
    alg: &'a str,
    #[serde(default, deserialize_with = "present")]
    kid: Option<&'a str>,
    #[serde(default, deserialize_with = "present")]
    typ: Option<&'a str>,
    #[serde(default, deserialize_with = "present")]
    crit: Option<serde::de::IgnoredAny>,
}

/// A member that is there, whatever its value (`null` too).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// The JOSE header. The common shape (string `alg`, `kid`, `typ`, no
/// `crit`) is read straight into its fields; anything else (a `crit`, a
/// member of the wrong type, a repeated member, not JSON) goes through the
/// JSON object, which applies every rule with its own refusal.
fn jose_header(bytes: &[u8]) -> Result<JoseHeader, AuthError> {
    // A derived struct also reads a JSON array as its fields in order;
    // only an object may take the typed path.
    let is_object = bytes.trim_ascii_start().first() == Some(&b'{');
    if is_object
        && let Ok(typed) = serde_json::from_slice::<TypedHeader<'_>>(bytes)
        && typed.crit.is_none()
    {
        return Ok(JoseHeader {
            alg: interned(typed.alg, USUAL_ALGS),
            kid: typed.kid.map(str::to_owned),
            typ: typed.typ.map(|t| interned(t, USUAL_TYPS)),
        });
    }
    header_from_object(&json_object(bytes, "header")?)
}

/// The JOSE header from its JSON object: `alg` a string, `kid` and `typ`
/// strings if present, and a `crit` naming only understood members.
fn header_from_object(header: &Map<String, Value>) -> Result<JoseHeader, AuthError> {
    let alg = header_string(header, "alg")?.ok_or_else(|| malformed("the header has no `alg`"))?;
    let kid = header_string(header, "kid")?;
    let typ = header_string(header, "typ")?;
    if let Some(crit) = header.get("crit") {
        let names = crit
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| malformed("the header's `crit` is not a non-empty array"))?;
        for name in names {
            let name = name.as_str().unwrap_or("");
            if !UNDERSTOOD_CRIT.contains(&name) {
                return Err(AuthError::token(
                    ErrorCode::MalformedToken,
                    "the header marks an extension critical that is not understood",
                ));
            }
        }
    }
    Ok(JoseHeader {
        alg: interned(alg, USUAL_ALGS),
        kid,
        typ: typ.map(|t| interned(t, USUAL_TYPS)),
    })
}

impl<'t> UnverifiedToken<'t> {
    /// Split and decode. Refuses anything but three base64url parts whose
    /// first two are JSON objects; an unknown `crit` is refused here too.
    pub(crate) fn parse(token: &'t str) -> Result<Self, AuthError> {
        let split = Split::parse(token)?;
        // A JWT's payload is a JSON object (RFC 7519 §7.2, step 10).
        let payload = with_decoded(split.payload, "payload", |bytes| {
            json_object(bytes, "payload")
        })?;
        Ok(Self {
            header: split.header,
            signing_input: split.signing_input,
            signature: split.signature,
            payload,
        })
    }

    /// The header and the claims; call only after the signature has verified.
    pub(crate) fn into_verified(self) -> (JoseHeader, Map<String, Value>) {
        (self.header, self.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn code(t: &str) -> ErrorCode {
        UnverifiedToken::parse(t).unwrap_err().code()
    }

    #[test]
    fn structure_errors_are_malformed_token() {
        let h = b64(r#"{"alg":"RS256","kid":"k"}"#);
        let p = b64(r#"{"sub":"a"}"#);
        assert!(UnverifiedToken::parse(&format!("{h}.{p}.c2ln")).is_ok());
        for bad in [
            "abc".to_string(),
            format!("{h}.{p}"),
            format!("{h}.{p}.c2ln.x"),
            format!("{h}.!!!.c2ln"),
            format!("{}.{p}.c2ln", b64("[1]")),
            format!("{h}.{}.c2ln", b64("not json")),
            format!("{}.{p}.c2ln", b64(r#"{"kid":"k"}"#)),
            format!("{}.{p}.c2ln", b64(r#"{"alg":1}"#)),
            format!("{h}.{p}.c2ln="),
            format!(".{p}.c2ln"),
        ] {
            assert_eq!(code(&bad), ErrorCode::MalformedToken, "{bad}");
        }
    }

    /// Parts decoded on the stack and parts too long for it are read alike,
    /// at and around the bound, valid or not: headers and payloads.
    #[test]
    fn parts_of_every_length_decode_alike() {
        // 24 bytes around the kid and 10 around the claim `x`.
        let near =
            |around: usize| (DECODED_ON_STACK - 3..=DECODED_ON_STACK + 3).map(move |n| n - around);
        let detail = |t: String| UnverifiedToken::parse(&t).unwrap_err().detail().to_string();
        let mangled = |part: &str| [format!("{part}!"), format!("{part}="), format!("*{part}")];
        let p = b64(r#"{"sub":"a"}"#);
        for kid_len in [0, 100, 2000].into_iter().chain(near(24)) {
            let h = b64(&format!(
                r#"{{"alg":"RS256","kid":"{}"}}"#,
                "k".repeat(kid_len)
            ));
            let token = format!("{h}.{p}.c2ln");
            let parsed = UnverifiedToken::parse(&token).unwrap();
            assert_eq!(parsed.header.kid.as_deref().map(str::len), Some(kid_len));
            for bad in mangled(&h) {
                let refused = detail(format!("{bad}.{p}.c2ln"));
                assert_eq!(refused, "the header is not base64url without padding");
            }
        }
        let h = b64(r#"{"alg":"RS256"}"#);
        for x_len in [0, 100, 2000].into_iter().chain(near(10)) {
            let p = b64(&format!(r#"{{"x":"{}"}}"#, "x".repeat(x_len)));
            let token = format!("{h}.{p}.c2ln");
            let (_, claims) = UnverifiedToken::parse(&token).unwrap().into_verified();
            assert_eq!(claims["x"].as_str().map(str::len), Some(x_len));
            for bad in mangled(&p) {
                let refused = detail(format!("{h}.{bad}.c2ln"));
                assert_eq!(refused, "the payload is not base64url without padding");
            }
        }
    }

    /// The typed reading of the header and the JSON object's rules agree on
    /// every shape, accepted or refused.
    #[test]
    fn the_typed_header_agrees_with_the_object_rules() {
        for header in [
            r#"{"alg":"RS256","kid":"k","typ":"JWT"}"#,
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"RS256","x5t":"abc","nested":{"a":[1,2]}}"#,
            r#"{"alg":"RS\u0032256","kid":"k\"q"}"#,
            r#"{"alg":"RS256","kid":null}"#,
            r#"{"alg":"RS256","typ":null}"#,
            r#"{"alg":"RS256","typ":7}"#,
            r#"{"alg":null}"#,
            r#"{"alg":"RS256","alg":"ES256"}"#,
            r#"{"alg":"RS256","kid":"a","kid":"b"}"#,
            r#"{"alg":"RS256","crit":null}"#,
            r#"{"alg":"RS256","crit":[]}"#,
            r#"{"alg":"RS256","crit":["exp"],"exp":1}"#,
            r#"{"kid":"k"}"#,
            r#"[1]"#,
            r#"["RS256"]"#,
            r#"["RS256","k","JWT"]"#,
            r#" {"alg":"RS256"}"#,
            r#"{"alg":"RS256""#,
            "",
        ] {
            let expected =
                json_object(header.as_bytes(), "header").and_then(|map| header_from_object(&map));
            let got = jose_header(header.as_bytes());
            let seen = |r: Result<JoseHeader, AuthError>| {
                r.map(|h| (h.alg, h.kid, h.typ))
                    .map_err(|e| e.detail().to_owned())
            };
            assert_eq!(seen(got), seen(expected), "{header}");
        }
    }

    /// The signature check matches the engine that decodes it.
    #[test]
    fn the_signature_encoding_check_matches_the_decoder() {
        let mut cases: Vec<String> = [
            "", "c2ln", "c2ln=", "c2l", "c2k", "c2", "c3", "c", "a+b/", "a b", "____", "-_-A",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Every ASCII last symbol after 0 to 4 `A`s: every length modulo 4,
        // so every trailing-bit case.
        for prefix in ["", "A", "AA", "AAA", "AAAA"] {
            for last in (0u8..=127).map(char::from) {
                cases.push(format!("{prefix}{last}"));
            }
        }
        for case in cases {
            assert_eq!(
                is_base64url_unpadded(case.as_bytes()),
                URL_SAFE_NO_PAD.decode(&case).is_ok(),
                "{case:?}"
            );
        }
    }

    /// `typ` is a media type: case-insensitive, `application/` optional;
    /// nothing else matches (another top-level type, parameters, spaces).
    #[test]
    fn typ_compares_as_a_media_type() {
        for same in [
            "at+jwt",
            "AT+JWT",
            "at+JWT",
            "application/at+jwt",
            "Application/AT+JWT",
            "APPLICATION/at+jwt",
        ] {
            assert!(media_type_is(same, "at+jwt"), "{same}");
            assert!(!media_type_is(same, "jwt"), "{same}");
        }
        for same in ["JWT", "jwt", "application/jwt", "Application/JWT"] {
            assert!(media_type_is(same, "jwt"), "{same}");
            assert!(!media_type_is(same, "at+jwt"), "{same}");
        }
        for other in [
            "",
            "application/",
            "text/at+jwt",
            "application/at+jwt; charset=utf-8",
            " at+jwt",
            "application/application/at+jwt",
            "applicatio/at+jwt",
            "at+jwt+jwt",
            "é/at+jwt",
            "applicationé/at+jwt",
        ] {
            assert!(!media_type_is(other, "at+jwt"), "{other:?}");
        }
    }

    /// The usual spellings stay borrowed from static strings on both header
    /// paths; the others are kept as written and still compare.
    #[test]
    fn usual_typs_are_borrowed() {
        let typ = |t: &str| {
            let bytes = format!(r#"{{"alg":"RS256","typ":"{t}"}}"#);
            let typed = jose_header(bytes.as_bytes()).unwrap();
            let crit = format!(r#"{{"alg":"RS256","typ":"{t}","crit":["b64"],"b64":1}}"#);
            assert!(jose_header(crit.as_bytes()).is_err(), "crit still refused");
            let object = json_object(bytes.as_bytes(), "header").unwrap();
            let slow = header_from_object(&object).unwrap();
            assert_eq!(typed.typ, slow.typ);
            typed
        };
        for usual in ["JWT", "at+jwt", "application/at+jwt", "application/jwt"] {
            let header = typ(usual);
            assert!(
                matches!(header.typ, Some(Cow::Borrowed(t)) if t == usual),
                "{usual}"
            );
        }
        let rare = typ("Application/AT+JWT");
        assert!(matches!(rare.typ, Some(Cow::Owned(ref t)) if t == "Application/AT+JWT"));
        assert!(rare.typ_is("at+jwt"));
        assert!(typ("JWT").typ_is("jwt"));
        let none = jose_header(br#"{"alg":"RS256"}"#).unwrap();
        assert!(!none.typ_is("at+jwt") && !none.typ_is("jwt"));
    }

    #[test]
    fn unknown_crit_is_refused() {
        let h = b64(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#);
        let p = b64(r#"{"sub":"a"}"#);
        assert_eq!(code(&format!("{h}.{p}.c2ln")), ErrorCode::MalformedToken);
    }
}
