//! A DPoP proof's `htu` against the request's URL (RFC 9449 §4.3 step 9):
//! the public base plus the request path, both without query and fragment
//! and normalised per RFC 3986 §6 — scheme and host lower-case, the
//! default port dropped, dot segments removed, an empty path as `/`
//! (the `url` crate's parsing), and percent-encodings in upper case with
//! unreserved characters decoded (§6.2.2.1–2).

use url::Url;

/// Where the request was sent: the base (`https://api.example.com` or
/// `http://{Host}`) and the request's path.
pub(crate) struct RequestUrl<'a> {
    pub(crate) base: &'a str,
    pub(crate) authority: Option<&'a str>,
    pub(crate) path: &'a str,
}

impl RequestUrl<'_> {
    /// The URL as written: base, then authority if any, then path.
    fn parts(&self) -> [&str; 3] {
        [self.base, self.authority.unwrap_or(""), self.path]
    }

    /// Whether `htu` names this URL.
    pub(crate) fn matches(&self, htu: &str) -> bool {
        // Clients usually send exactly what the server would build: equal
        // texts are equal once normalised, so no parsing is needed.
        let mut rest = htu;
        let exact = self
            .parts()
            .iter()
            .all(|part| match rest.strip_prefix(part) {
                Some(after) => {
                    rest = after;
                    true
                }
                None => false,
            })
            && rest.is_empty();
        if exact {
            return true;
        }
        let written: String = self.parts().concat();
        match (normalised(htu), normalised(&written)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

/// `text` as an http(s) URL without query and fragment, normalised; `None`
/// when it is not one.
pub(crate) fn normalised(text: &str) -> Option<String> {
    let mut url = Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = percent_normalised(url.path());
    url.set_path(&path);
    Some(url.into())
}

/// `path` with each `%xx` in upper case, and decoded when it encodes an
/// unreserved character (ALPHA, DIGIT, `-`, `.`, `_`, `~`).
fn percent_normalised(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = (hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8;
                if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
                    out.push(char::from(value));
                } else {
                    out.push('%');
                    out.push(char::from(h).to_ascii_uppercase());
                    out.push(char::from(l).to_ascii_uppercase());
                }
                i += 3;
            }
            (b, _, _) => {
                out.push(char::from(b));
                i += 1;
            }
        }
    }
    out
}

/// The base of a configured public URL: as written by the `url` crate
/// (scheme and host lower-case, default port dropped), without query,
/// fragment or trailing slash.
pub(crate) fn public_base(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let text: String = url.into();
    text.trim_end_matches('/').to_owned()
}
