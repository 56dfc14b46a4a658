//! Which platform property a request is for: roles are granted per property.

use std::fmt;
use std::sync::Arc;

use http::HeaderName;

use crate::error::{AuthError, ErrorCode};
use crate::headers::RequestView;

/// A closure that finds the property in the request's path and query.
pub type PropertyFn = Arc<dyn Fn(&str, Option<&str>) -> Option<String> + Send + Sync>;

/// How the property of a request is found. Default: none (registration-wide roles).
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum PropertyResolver {
    /// Requests are not scoped to a property.
    #[default]
    None,
    /// The value of this header.
    Header(HeaderName),
    /// The path segment after this one: `PathSegmentAfter("properties")`
    /// reads `p-42` from `/properties/p-42/whoami`.
    PathSegmentAfter(String),
    /// A closure over path and query.
    Custom(PropertyFn),
}

impl fmt::Debug for PropertyResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Header(h) => write!(f, "Header({h})"),
            Self::PathSegmentAfter(s) => write!(f, "PathSegmentAfter({s:?})"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Longest property id accepted.
const MAX_PROPERTY: usize = 256;

fn valid_property(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_PROPERTY
        && value.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

impl PropertyResolver {
    /// A closure resolver.
    pub fn custom(
        f: impl Fn(&str, Option<&str>) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self::Custom(Arc::new(f))
    }

    /// The property of `req`, if any. A malformed one is a 400.
    pub fn resolve(&self, req: &impl RequestView) -> Result<Option<String>, AuthError> {
        let found = match self {
            Self::None => None,
            Self::Header(name) => {
                let mut values = req.header_values(name);
                let first = values.next();
                if values.next().is_some() {
                    return Err(bad(
                        format!("duplicate {name} header"),
                        name.as_str(),
                        "header",
                    ));
                }
                match first {
                    None => None,
                    Some(v) => Some(
                        std::str::from_utf8(v)
                            .ok()
                            .filter(|s| valid_property(s))
                            .ok_or_else(|| {
                                bad(
                                    format!("{name} is not a valid property id"),
                                    name.as_str(),
                                    "header",
                                )
                            })?
                            .to_owned(),
                    ),
                }
            }
            Self::PathSegmentAfter(marker) => {
                let mut segments = req.path().split('/');
                segments.by_ref().find(|s| s == marker);
                segments.next().filter(|s| !s.is_empty()).map(str::to_owned)
            }
            Self::Custom(f) => f(req.path(), req.query()),
        };
        match found {
            Some(p) if !valid_property(&p) => Err(bad(
                "the property id is not valid".into(),
                "property",
                "path",
            )),
            other => Ok(other),
        }
    }
}

fn bad(detail: String, param: &str, location: &'static str) -> AuthError {
    AuthError::at(
        ErrorCode::InvalidRequest,
        detail,
        param.to_owned(),
        location,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str) -> http::Request<()> {
        http::Request::builder()
            .uri(uri)
            .header("x-property", "p-1")
            .body(())
            .unwrap()
    }

    #[test]
    fn resolvers() {
        let path = PropertyResolver::PathSegmentAfter("properties".into());
        assert_eq!(
            path.resolve(&req("/properties/p-42/whoami"))
                .unwrap()
                .as_deref(),
            Some("p-42")
        );
        assert_eq!(path.resolve(&req("/whoami")).unwrap(), None);
        let header = PropertyResolver::Header(HeaderName::from_static("x-property"));
        assert_eq!(header.resolve(&req("/")).unwrap().as_deref(), Some("p-1"));
        let custom = PropertyResolver::custom(|_, q| {
            q.and_then(|q| q.strip_prefix("property="))
                .map(str::to_owned)
        });
        assert_eq!(
            custom.resolve(&req("/?property=p-9")).unwrap().as_deref(),
            Some("p-9")
        );
        assert_eq!(
            PropertyResolver::None
                .resolve(&req("/properties/x"))
                .unwrap(),
            None
        );
    }
}
