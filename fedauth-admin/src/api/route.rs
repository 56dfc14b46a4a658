//! The routing table: every endpoint of the admin API, its path under
//! `/admin/v1`, and the refusals it can answer (for the OpenAPI document).
//! Both frameworks route every request under the prefix here, so they
//! cannot differ.

use http::Method;
use percent_encoding::percent_decode_str;

use super::error::{AdminErrorCode, ApiError, ErrorDetail, Location};

/// The prefix every path of the API starts with.
pub const PREFIX: &str = "/admin/v1";

/// One endpoint: method, path template (OpenAPI's `{param}` form), and the
/// error codes it answers beyond those of every endpoint (`unauthorized`,
/// `forbidden`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The method.
    pub method: Method,
    /// The absolute path template.
    pub path: &'static str,
    /// The refusals particular to it.
    pub errors: &'static [AdminErrorCode],
}

const fn endpoint(
    method: Method,
    path: &'static str,
    errors: &'static [AdminErrorCode],
) -> Endpoint {
    Endpoint {
        method,
        path,
        errors,
    }
}

use AdminErrorCode::{
    Conflict, MalformedRequest, NotFound, PreconditionFailed, PreconditionRequired,
    StoreUnavailable, ValidationFailed,
};

/// Every endpoint: the behaviour table both frameworks serve.
pub const ENDPOINTS: &[Endpoint] = &[
    endpoint(
        Method::POST,
        "/admin/v1/registrations",
        &[
            MalformedRequest,
            ValidationFailed,
            Conflict,
            StoreUnavailable,
        ],
    ),
    endpoint(
        Method::GET,
        "/admin/v1/registrations",
        &[ValidationFailed, StoreUnavailable],
    ),
    endpoint(
        Method::GET,
        "/admin/v1/registrations/{id}",
        &[NotFound, StoreUnavailable],
    ),
    endpoint(
        Method::PATCH,
        "/admin/v1/registrations/{id}",
        &[
            MalformedRequest,
            NotFound,
            ValidationFailed,
            PreconditionRequired,
            PreconditionFailed,
            StoreUnavailable,
        ],
    ),
    endpoint(
        Method::DELETE,
        "/admin/v1/registrations/{id}",
        &[NotFound, PreconditionFailed, StoreUnavailable],
    ),
    endpoint(
        Method::GET,
        "/admin/v1/properties/{property}/registrations",
        &[StoreUnavailable],
    ),
    endpoint(
        Method::PUT,
        "/admin/v1/properties/{property}/registrations/{id}",
        &[
            MalformedRequest,
            NotFound,
            ValidationFailed,
            Conflict,
            StoreUnavailable,
        ],
    ),
    endpoint(
        Method::DELETE,
        "/admin/v1/properties/{property}/registrations/{id}",
        &[NotFound, Conflict, StoreUnavailable],
    ),
    endpoint(
        Method::GET,
        "/admin/v1/audit",
        &[ValidationFailed, StoreUnavailable],
    ),
    endpoint(Method::GET, "/admin/v1/openapi.json", &[]),
];

/// A resource of the API, its path parameters decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `/registrations`
    Registrations,
    /// `/registrations/{id}`
    Registration(String),
    /// `/properties/{property}/registrations`
    PropertyRegistrations(String),
    /// `/properties/{property}/registrations/{id}`
    PropertyRegistration(String, String),
    /// `/audit`
    Audit,
    /// `/openapi.json`
    OpenApi,
}

impl Resource {
    /// The resource at an absolute path, or `404`.
    pub(crate) fn parse(path: &str) -> Result<Self, ApiError> {
        let not_found = || {
            ApiError::detail(
                AdminErrorCode::NotFound,
                ErrorDetail::new(Location::Path, None, "no such endpoint"),
            )
        };
        let rest = path.strip_prefix(PREFIX).ok_or_else(not_found)?;
        let segments: Vec<String> = match rest.strip_prefix('/') {
            Some(rest) => rest.split('/').map(decode).collect::<Option<_>>(),
            None => None,
        }
        .ok_or_else(not_found)?;
        if segments.iter().any(String::is_empty) {
            return Err(not_found());
        }
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        Ok(match s.as_slice() {
            ["registrations"] => Resource::Registrations,
            ["registrations", id] => Resource::Registration((*id).to_owned()),
            ["properties", p, "registrations"] => Resource::PropertyRegistrations((*p).to_owned()),
            ["properties", p, "registrations", id] => {
                Resource::PropertyRegistration((*p).to_owned(), (*id).to_owned())
            }
            ["audit"] => Resource::Audit,
            ["openapi.json"] => Resource::OpenApi,
            _ => return Err(not_found()),
        })
    }

    /// Its template in [`ENDPOINTS`].
    fn template(&self) -> &'static str {
        match self {
            Resource::Registrations => "/admin/v1/registrations",
            Resource::Registration(_) => "/admin/v1/registrations/{id}",
            Resource::PropertyRegistrations(_) => "/admin/v1/properties/{property}/registrations",
            Resource::PropertyRegistration(..) => {
                "/admin/v1/properties/{property}/registrations/{id}"
            }
            Resource::Audit => "/admin/v1/audit",
            Resource::OpenApi => "/admin/v1/openapi.json",
        }
    }

    /// `405` listing the methods the resource takes.
    pub(crate) fn wrong_method(&self) -> ApiError {
        let allow: Vec<&str> = ENDPOINTS
            .iter()
            .filter(|e| e.path == self.template())
            .map(|e| e.method.as_str())
            .collect();
        ApiError::method_not_allowed(allow.join(", "))
    }
}

/// A path segment, percent-decoded (`None` if not UTF-8).
fn decode(segment: &str) -> Option<String> {
    percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_to_their_resource_and_others_are_not_found() {
        let ok = [
            ("/admin/v1/registrations", Resource::Registrations),
            (
                "/admin/v1/registrations/quid-a%2Fb",
                Resource::Registration("quid-a/b".into()),
            ),
            (
                "/admin/v1/properties/p-1/registrations",
                Resource::PropertyRegistrations("p-1".into()),
            ),
            (
                "/admin/v1/properties/p/registrations/r",
                Resource::PropertyRegistration("p".into(), "r".into()),
            ),
            ("/admin/v1/audit", Resource::Audit),
            ("/admin/v1/openapi.json", Resource::OpenApi),
        ];
        for (path, want) in ok {
            assert_eq!(Resource::parse(path).unwrap(), want, "{path}");
            assert!(ENDPOINTS.iter().any(|e| e.path == want.template()));
        }
        for path in [
            "/admin/v1",
            "/admin/v1/",
            "/admin/v1/registrations/",
            "/admin/v1//registrations",
            "/admin/v2/audit",
            "/admin/v1/registrations/a/b",
            "/admin/v1/registrations/%ff",
        ] {
            let e = Resource::parse(path).unwrap_err();
            assert_eq!(e.code, AdminErrorCode::NotFound, "{path}");
        }
    }
}
