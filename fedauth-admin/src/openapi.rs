//! The OpenAPI 3.1 document of the admin API, generated from the code: the
//! path annotations of the endpoint functions, the schemas of the bodies
//! they read and write, and each endpoint's refusals from the routing
//! table ([`crate::api::ENDPOINTS`]). Served at
//! `/admin/v1/openapi.json`; the repository's `docs/admin-api.md` is
//! rendered from it.

use std::sync::OnceLock;

use http::Method;
use serde_json::Value;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::api::schema::{
    AuditItem, AuditPage, EnabledApplication, EnabledList, RegistrationDocument, RegistrationPage,
    Roles,
};
use crate::api::{AdminErrorCode, ENDPOINTS, ErrorBody, ErrorDetail, Location};

/// The document's description.
const DESCRIPTION: &str = "Register applications (the server issues each one's QUID), \
enable them in properties with roles, and read the audit log of every change. \
Every call takes `Authorization: Bearer <token>` of a platform admin or of a property admin.";

#[derive(OpenApi)]
#[openapi(
    info(title = "fedauth admin API", description = DESCRIPTION),
    paths(
        crate::api::registrations::create,
        crate::api::registrations::list,
        crate::api::registrations::get,
        crate::api::registrations::patch,
        crate::api::registrations::delete,
        crate::api::properties::list,
        crate::api::properties::enable,
        crate::api::properties::disable,
        crate::api::audit::list,
        serve,
    ),
    components(schemas(
        RegistrationDocument, RegistrationPage, EnabledApplication, EnabledList, Roles,
        AuditItem, AuditPage, ErrorBody, ErrorDetail, Location,
    )),
    modifiers(&BearerAuth, &Refusals),
    security(("bearer" = [])),
    tags(
        (name = "registrations", description = "Applications and their IdP settings (platform admins)"),
        (name = "properties", description = "Which applications a property enabled, with which roles"),
        (name = "audit", description = "Every change, who made it, before and after"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// `bearer`: the admin credential of every call.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Each endpoint's refusals: those of every endpoint, and those the
/// routing table lists for it, with the error body.
struct Refusals;

impl Modify for Refusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let common = [AdminErrorCode::Unauthorized, AdminErrorCode::Forbidden];
        for endpoint in ENDPOINTS {
            let Some(item) = openapi.paths.paths.get_mut(endpoint.path) else {
                continue;
            };
            let Some(operation) = operation_mut(item, &endpoint.method) else {
                continue;
            };
            for code in common.iter().chain(endpoint.errors) {
                let content = ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build();
                let response = ResponseBuilder::new()
                    .description(format!("`{}`: {}", code.as_str(), code.message()))
                    .content("application/json", content)
                    .build();
                operation
                    .responses
                    .responses
                    .insert(code.status().as_u16().to_string(), response.into());
            }
        }
    }
}

fn operation_mut<'i>(
    item: &'i mut utoipa::openapi::PathItem,
    method: &Method,
) -> Option<&'i mut Operation> {
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PUT => item.put.as_mut(),
        Method::PATCH => item.patch.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        _ => None,
    }
}

/// This document (any admin credential).
#[utoipa::path(
    get,
    path = "/admin/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json"))
)]
pub(crate) fn serve() -> Value {
    static JSON: OnceLock<Value> = OnceLock::new();
    JSON.get_or_init(|| serde_json::to_value(document()).unwrap_or_default())
        .clone()
}

/// The OpenAPI document of the admin API.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as JSON.
pub fn document_json() -> Value {
    serve()
}
