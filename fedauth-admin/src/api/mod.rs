//! The admin API, framework-neutral: [`AdminApi::handle`] takes an
//! [`AdminRequest`] and answers an [`AdminResponse`]. The axum router and
//! the actix-web scope only translate to and from these, so both serve one
//! behaviour table ([`ENDPOINTS`]); the contract is the repository's
//! `docs/admin-api.md`.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;
use tower_fedauth::egress::EgressPolicy;
use tower_fedauth::keys::{FetchConfig, IdpProbe};

use crate::authz::{AdminAuthorizer, AdminIdentity};
use crate::store::{Actor, AdminStore, Change, StoreError, Stored};

pub(crate) mod audit;
#[cfg(any(feature = "axum", feature = "actix"))]
mod body;
mod error;
mod ids;
mod input;
mod merge;
pub(crate) mod properties;
pub(crate) mod registrations;
mod route;
pub(crate) mod schema;
mod secrets;
mod validate;

#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) use body::BodyReader;
use error::ApiError;
pub use error::{AdminErrorCode, ErrorBody, ErrorDetail, Location};
use input::Query;
use route::Resource;
pub use route::{ENDPOINTS, Endpoint, PREFIX};

/// Largest request body accepted by default: 64 KiB (the contract's).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// Called with a registration's id after each change the store applied,
/// before the API answers: the server's wiring drops the registration from
/// its authenticator's cache (`authenticator.registry().invalidate(id)`),
/// so the instance that made a change serves it at once.
pub type OnChange = Arc<dyn Fn(&str) + Send + Sync>;

/// A request to the admin API, whatever framework received it.
#[derive(Debug, Clone)]
pub struct AdminRequest {
    /// The method.
    pub method: Method,
    /// The absolute path, starting with `/admin/v1` (still percent-encoded).
    pub path: String,
    /// The query string, without `?`.
    pub query: Option<String>,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, as read by the framework: at most
    /// [`AdminApi::max_body_bytes`] plus one byte (more is refused).
    pub body: Bytes,
}

impl AdminRequest {
    /// A request without query, headers or body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }
}

/// An answer of the admin API: status, headers (`Content-Type`, `ETag`,
/// `Location`, `WWW-Authenticate`, `Retry-After`, `Allow` as called for)
/// and a JSON body (none for `204`).
#[derive(Debug, Clone)]
pub struct AdminResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

impl AdminResponse {
    /// An answer with a JSON body.
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Self {
            status,
            headers,
            body: Some(body),
        }
    }

    /// `204 No Content`.
    pub(crate) fn no_content() -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Self {
            status: StatusCode::NO_CONTENT,
            headers,
            body: None,
        }
    }

    /// The same answer with one more header (a value that is not a valid
    /// header value is left out).
    pub(crate) fn header(mut self, name: http::HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(name, value);
        }
        self
    }

    /// The body as bytes (empty without one).
    pub fn body_bytes(&self) -> Bytes {
        self.body
            .as_ref()
            .and_then(|b| serde_json::to_vec(b).ok())
            .map(Bytes::from)
            .unwrap_or_default()
    }
}

/// Who is calling, once the authorizer let them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    Platform,
    Property(String),
}

impl Caller {
    /// `403` unless a platform admin.
    pub(crate) fn platform_only(&self) -> Result<(), ApiError> {
        match self {
            Caller::Platform => Ok(()),
            Caller::Property(_) => Err(ApiError::new(AdminErrorCode::Forbidden)),
        }
    }

    /// `403` unless a platform admin or an admin of `property`.
    pub(crate) fn admin_of(&self, property: &str) -> Result<(), ApiError> {
        match self {
            Caller::Property(p) if p != property => Err(ApiError::new(AdminErrorCode::Forbidden)),
            _ => Ok(()),
        }
    }

    /// Who the audit log says made a change.
    pub(crate) fn actor(&self) -> Actor {
        match self {
            Caller::Platform => Actor::Platform,
            Caller::Property(p) => Actor::Property(p.clone()),
        }
    }
}

/// One request being answered.
pub(crate) struct Call<'r> {
    pub(crate) req: &'r AdminRequest,
    pub(crate) caller: Caller,
    pub(crate) query: Query,
}

/// What the API is given, the same in the builder and the built API.
struct Wiring {
    store: Arc<dyn AdminStore>,
    authorizer: Arc<dyn AdminAuthorizer>,
    on_change: Option<OnChange>,
    max_body_bytes: usize,
}

/// The admin API over a store. Build it with [`AdminApi::builder`]; share
/// it in an `Arc` between the framework adapters.
pub struct AdminApi {
    wiring: Wiring,
    probe: IdpProbe,
}

impl fmt::Debug for AdminApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminApi")
            .field("max_body_bytes", &self.wiring.max_body_bytes)
            .field("on_change", &self.wiring.on_change.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds an [`AdminApi`].
#[non_exhaustive]
pub struct AdminApiBuilder {
    wiring: Wiring,
    fetch: FetchConfig,
}

impl AdminApiBuilder {
    /// Limits and egress policy of the IdP check: use the authenticator's
    /// own, so the check fetches only what verification may fetch. Default:
    /// [`FetchConfig::default`] (https to public addresses only).
    pub fn fetch_config(mut self, config: FetchConfig) -> Self {
        self.fetch = config;
        self
    }

    /// The egress policy of the IdP check, other limits unchanged.
    pub fn egress(mut self, policy: EgressPolicy) -> Self {
        self.fetch = self.fetch.egress(policy);
        self
    }

    /// Called with the id of each changed registration before the answer
    /// (see [`OnChange`]).
    pub fn on_change(mut self, hook: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.wiring.on_change = Some(Arc::new(hook));
        self
    }

    /// Largest request body (default [`DEFAULT_MAX_BODY_BYTES`]); a larger
    /// one is `400 malformed_request`.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.wiring.max_body_bytes = bytes;
        self
    }

    /// The API.
    pub fn build(self) -> AdminApi {
        AdminApi {
            wiring: self.wiring,
            probe: IdpProbe::new(self.fetch),
        }
    }
}

impl AdminApi {
    /// An API over `store`, its callers resolved by `authorizer`.
    pub fn builder(
        store: Arc<dyn AdminStore>,
        authorizer: Arc<dyn AdminAuthorizer>,
    ) -> AdminApiBuilder {
        AdminApiBuilder {
            wiring: Wiring {
                store,
                authorizer,
                on_change: None,
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            },
            fetch: FetchConfig::default(),
        }
    }

    /// Largest request body accepted; adapters read at most one byte more.
    pub fn max_body_bytes(&self) -> usize {
        self.wiring.max_body_bytes
    }

    /// The store it writes.
    pub fn store(&self) -> &Arc<dyn AdminStore> {
        &self.wiring.store
    }

    /// Answer one request.
    pub async fn handle(&self, req: AdminRequest) -> AdminResponse {
        match self.respond(&req).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        }
    }

    async fn respond(&self, req: &AdminRequest) -> Result<AdminResponse, ApiError> {
        let caller = match self.wiring.authorizer.identify(&req.headers).await {
            AdminIdentity::Platform => Caller::Platform,
            AdminIdentity::PropertyAdmin(p) => Caller::Property(p),
            AdminIdentity::Refused => return Err(ApiError::new(AdminErrorCode::Forbidden)),
            AdminIdentity::Unknown => return Err(ApiError::new(AdminErrorCode::Unauthorized)),
        };
        let resource = Resource::parse(&req.path)?;
        if req.body.len() > self.wiring.max_body_bytes {
            let msg = format!(
                "the body is larger than {} bytes",
                self.wiring.max_body_bytes
            );
            return Err(ApiError::malformed(Location::Body, None, &msg));
        }
        let call = Call {
            req,
            caller,
            query: Query::parse(req.query.as_deref()),
        };
        if let Resource::PropertyRegistrations(p) | Resource::PropertyRegistration(p, _) = &resource
        {
            call.caller.admin_of(p)?;
        }
        let m = &req.method;
        match resource {
            Resource::Registrations if m == Method::POST => {
                registrations::create(self, &call).await
            }
            Resource::Registrations if m == Method::GET => registrations::list(self, &call).await,
            Resource::Registration(id) if m == Method::GET => {
                registrations::get(self, &call, &id).await
            }
            Resource::Registration(id) if m == Method::PATCH => {
                registrations::patch(self, &call, &id).await
            }
            Resource::Registration(id) if m == Method::DELETE => {
                registrations::delete(self, &call, &id).await
            }
            Resource::PropertyRegistrations(p) if m == Method::GET => {
                properties::list(self, &p).await
            }
            Resource::PropertyRegistration(p, id) if m == Method::PUT => {
                properties::enable(self, &call, (&p, &id)).await
            }
            Resource::PropertyRegistration(p, id) if m == Method::DELETE => {
                properties::disable(self, &call, (&p, &id)).await
            }
            Resource::Audit if m == Method::GET => audit::list(self, &call).await,
            Resource::OpenApi if m == Method::GET => Ok(AdminResponse::json(
                StatusCode::OK,
                crate::openapi::document_json(),
            )),
            other => Err(other.wrong_method()),
        }
    }

    /// The stored registration, or `404`.
    pub(crate) async fn existing(&self, id: &str) -> Result<Stored, ApiError> {
        self.wiring
            .store
            .get(id)
            .await?
            .ok_or_else(|| ApiError::no_registration(id))
    }

    /// Apply a change, then tell the hook, before anyone is answered.
    pub(crate) async fn apply(&self, change: Change) -> Result<Option<Stored>, StoreError> {
        let id = change.id.clone();
        let state = self.wiring.store.apply(change).await?;
        if let Some(hook) = &self.wiring.on_change {
            hook(&id);
        }
        Ok(state)
    }

    pub(crate) fn probe(&self) -> &IdpProbe {
        &self.probe
    }
}
