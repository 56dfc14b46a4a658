//! Refusals of the admin API: the codes and statuses of the contract
//! (`docs/admin-api.md` in the repository), in the error body of
//! `docs/refusals.md`: `{"code", "message", "details": [{"value", "msg",
//! "param", "location"}]}`.

use http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::AdminResponse;
use crate::store::StoreError;

/// The `realm` of the admin API's challenges.
pub(crate) const REALM: &str = "fedauth-admin";

/// Seconds a client waits before retrying a store that failed.
const RETRY_AFTER_SECONDS: &str = "1";

/// What went wrong, as the `code` of the error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdminErrorCode {
    /// 401: no or unknown admin credential.
    Unauthorized,
    /// 403: a property admin outside their property, or a platform-only call.
    Forbidden,
    /// 404: no such registration (or not enabled in the property), or no
    /// such endpoint.
    NotFound,
    /// 405: the endpoint exists, not with this method.
    MethodNotAllowed,
    /// 422: the body breaks the registry's rules, a query parameter is out
    /// of range, or the IdP check failed.
    ValidationFailed,
    /// 400: not JSON, not an object, wrong `Content-Type`, body too large.
    MalformedRequest,
    /// 428: PATCH without `If-Match`.
    PreconditionRequired,
    /// 412: `If-Match` is not the current `ETag`.
    PreconditionFailed,
    /// 409: a concurrent change won.
    Conflict,
    /// 503: the store failed or is held by another process.
    StoreUnavailable,
}

impl AdminErrorCode {
    /// The `code` string.
    pub fn as_str(self) -> &'static str {
        self.parts().0
    }

    /// The status.
    pub fn status(self) -> StatusCode {
        self.parts().1
    }

    /// The default `message`.
    pub fn message(self) -> &'static str {
        self.parts().2
    }

    fn parts(self) -> (&'static str, StatusCode, &'static str) {
        use AdminErrorCode::*;
        match self {
            Unauthorized => (
                "unauthorized",
                StatusCode::UNAUTHORIZED,
                "An admin credential is required.",
            ),
            Forbidden => (
                "forbidden",
                StatusCode::FORBIDDEN,
                "This credential may not do this.",
            ),
            NotFound => ("not_found", StatusCode::NOT_FOUND, "No such resource."),
            MethodNotAllowed => (
                "method_not_allowed",
                StatusCode::METHOD_NOT_ALLOWED,
                "This resource does not take this method.",
            ),
            ValidationFailed => (
                "validation_failed",
                StatusCode::UNPROCESSABLE_ENTITY,
                "The request is not valid.",
            ),
            MalformedRequest => (
                "malformed_request",
                StatusCode::BAD_REQUEST,
                "The request body cannot be read.",
            ),
            PreconditionRequired => (
                "precondition_required",
                StatusCode::PRECONDITION_REQUIRED,
                "This change requires If-Match with the current ETag.",
            ),
            PreconditionFailed => (
                "precondition_failed",
                StatusCode::PRECONDITION_FAILED,
                "If-Match is not the current ETag.",
            ),
            Conflict => (
                "conflict",
                StatusCode::CONFLICT,
                "A concurrent change won; read the resource again.",
            ),
            StoreUnavailable => (
                "store_unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "The registry store is unavailable; retry later.",
            ),
        }
    }
}

/// Where a detail's `param` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// A field of the JSON body (`introspection.endpoint` when nested).
    Body,
    /// A segment of the path.
    Path,
    /// A query parameter.
    Query,
    /// A request header.
    Header,
}

/// One problem of a refused request.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The offending value when it is safe to show (never a secret or a
    /// credential), else `null`.
    pub value: Option<Value>,
    /// What is wrong.
    pub msg: String,
    /// The field, parameter or header (`null` for the body as a whole).
    pub param: Option<String>,
    /// Where `param` is.
    pub location: Location,
}

impl ErrorDetail {
    /// A problem of `param` at `location`, without a value.
    pub(crate) fn new(location: Location, param: Option<&str>, msg: impl Into<String>) -> Self {
        Self {
            value: None,
            msg: msg.into(),
            param: param.map(str::to_owned),
            location,
        }
    }

    /// The same, showing `value`.
    pub(crate) fn with_value(mut self, value: Option<Value>) -> Self {
        self.value = value;
        self
    }
}

/// The body of every refusal.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable: `unauthorized`, `forbidden`, `not_found`,
    /// `validation_failed`, `malformed_request`, `precondition_required`,
    /// `precondition_failed`, `conflict`, `store_unavailable`.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// For people.
    pub message: String,
    /// One entry per problem.
    pub details: Vec<ErrorDetail>,
}

/// A refused admin request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) code: AdminErrorCode,
    pub(crate) details: Vec<ErrorDetail>,
    /// `Allow` of a 405.
    allow: Option<String>,
}

impl ApiError {
    pub(crate) fn new(code: AdminErrorCode) -> Self {
        Self {
            code,
            details: Vec::new(),
            allow: None,
        }
    }

    /// `code` with one detail.
    pub(crate) fn detail(code: AdminErrorCode, detail: ErrorDetail) -> Self {
        Self::new(code).with(detail)
    }

    pub(crate) fn with(mut self, detail: ErrorDetail) -> Self {
        self.details.push(detail);
        self
    }

    /// `422 validation_failed` of these problems.
    pub(crate) fn invalid(details: Vec<ErrorDetail>) -> Self {
        Self {
            details,
            ..Self::new(AdminErrorCode::ValidationFailed)
        }
    }

    /// `422` naming a query parameter.
    pub(crate) fn query(param: &str, value: &str, msg: impl Into<String>) -> Self {
        Self::invalid(vec![
            ErrorDetail::new(Location::Query, Some(param), msg)
                .with_value(Some(Value::String(shown(value)))),
        ])
    }

    /// `400 malformed_request` about the body or a header.
    pub(crate) fn malformed(location: Location, param: Option<&str>, msg: &str) -> Self {
        Self::detail(
            AdminErrorCode::MalformedRequest,
            ErrorDetail::new(location, param, msg),
        )
    }

    /// `412`: `If-Match` is not the current `ETag` (any more).
    pub(crate) fn stale() -> Self {
        Self::detail(
            AdminErrorCode::PreconditionFailed,
            ErrorDetail::new(
                Location::Header,
                Some("If-Match"),
                "is not the current ETag",
            ),
        )
    }

    /// `404 not_found` of a registration.
    pub(crate) fn no_registration(id: &str) -> Self {
        Self::detail(
            AdminErrorCode::NotFound,
            ErrorDetail::new(Location::Path, Some("id"), "no such registration")
                .with_value(Some(Value::String(shown(id)))),
        )
    }

    /// `405` with the methods the path takes.
    pub(crate) fn method_not_allowed(allow: String) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(AdminErrorCode::MethodNotAllowed)
        }
    }

    /// The response: status, JSON body and the headers the code calls for.
    pub(crate) fn into_response(self) -> AdminResponse {
        let body = ErrorBody {
            code: self.code.as_str().to_owned(),
            message: self.code.message().to_owned(),
            details: self.details,
        };
        let value = serde_json::to_value(body).unwrap_or(Value::Null);
        let mut response = AdminResponse::json(self.code.status(), value);
        let challenge = match self.code {
            AdminErrorCode::Unauthorized => Some(format!("Bearer realm=\"{REALM}\"")),
            AdminErrorCode::Forbidden => Some(format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\""
            )),
            _ => None,
        };
        if let Some(challenge) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers.insert(WWW_AUTHENTICATE, challenge);
        }
        if self.code == AdminErrorCode::StoreUnavailable {
            response
                .headers
                .insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        if let Some(allow) = self.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            response.headers.insert(ALLOW, allow);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    /// The store's answer as a refusal; what the store met goes to the
    /// logs only.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::PreconditionFailed => Self::stale(),
            StoreError::NotFound => Self::new(AdminErrorCode::NotFound),
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "admin store unavailable");
                Self::new(AdminErrorCode::StoreUnavailable)
            }
        }
    }
}

/// A value quoted into a detail, cut short.
pub(crate) fn shown(value: &str) -> String {
    value.chars().take(128).collect()
}
