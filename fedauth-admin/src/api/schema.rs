//! The bodies of the admin API as OpenAPI schemas. The pages, items and
//! role lists are the types the handlers serialize; a registration is
//! JSON as the registry reads it, checked by the core's rules, so its
//! schema ([`RegistrationDocument`]) only documents it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::store::AuditRecord;

/// A registration in the registry format's JSON form (the repository's
/// `docs/registry.md`): the common keys below, plus the keys of its
/// provider (`tenant`, `region`, `user_pool_id`, `domain`, `project_id`,
/// `version`, `allowed_tenants`, `introspection`, `verification`, …).
/// Secrets (`introspection.client_secret`, `verification.headers` values
/// that are not templates) are shown masked and kept when sent back
/// masked.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents a body read as JSON; never built.
pub(crate) struct RegistrationDocument {
    /// The QUID, issued by the server; not sent on create.
    #[schema(read_only, example = "quid-3x7kq2m4vb5n6c8d9f2g3h4j5k6l7m8n")]
    id: Option<String>,
    /// Human label.
    name: Option<String>,
    /// `false` refuses every request of the application.
    enabled: Option<bool>,
    /// The application's client id at its IdP.
    client_id: Option<String>,
    /// `oidc` (default), `jwks`, `azure-ad`, `cognito`, `auth0`,
    /// `firebase`, `introspection`, `verification-endpoint`.
    provider: Option<String>,
    /// The issuer (a string, or a list of them).
    #[schema(value_type = Option<Object>)]
    issuer: Option<Value>,
    /// Where the signing keys are.
    jwks_uri: Option<String>,
    /// Override of `{issuer}/.well-known/openid-configuration`.
    discovery_url: Option<String>,
    /// Allowed JWS algorithms (never `none` or `HS*`).
    algorithms: Option<Vec<String>>,
    /// `access`, `id` or `any`.
    token_use: Option<String>,
    /// Clock skew allowed, 0–300 s.
    leeway_seconds: Option<u64>,
    /// The platform's API identifiers a token's `aud` must name.
    audiences: Option<Vec<String>>,
    /// Claims naming a token's authorized party.
    authorized_party_claims: Option<Vec<String>>,
    /// Claims a token must carry with one of the given values.
    #[schema(value_type = Option<Object>)]
    required_claims: Option<Value>,
    /// Roles granted in every property.
    roles: Option<Vec<String>>,
    /// Property id → roles granted there (see the property endpoints).
    properties: Option<BTreeMap<String, Vec<String>>>,
    /// Principal mapping.
    #[schema(value_type = Option<Object>)]
    claims: Option<Value>,
    /// RFC 7662 introspection settings (`client_secret` masked).
    #[schema(value_type = Option<Object>)]
    introspection: Option<Value>,
    /// Custom verification endpoint settings (literal header values masked).
    #[schema(value_type = Option<Object>)]
    verification: Option<Value>,
}

/// One page of registrations, in id order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegistrationPage {
    /// The registrations, secrets masked.
    #[schema(value_type = Vec<RegistrationDocument>)]
    pub(crate) items: Vec<Value>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub(crate) next_cursor: Option<String>,
}

/// An application enabled in a property.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EnabledApplication {
    /// Its QUID.
    pub(crate) id: String,
    /// Its name, if it has one.
    pub(crate) name: Option<String>,
    /// Its roles in the property.
    pub(crate) roles: Vec<String>,
}

/// The applications enabled in a property, in id order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EnabledList {
    /// The applications.
    pub(crate) items: Vec<EnabledApplication>,
}

/// The roles of an application in a property.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Roles {
    /// Exactly these roles.
    pub(crate) roles: Vec<String>,
}

/// One change in the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditItem {
    /// When (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub(crate) at: String,
    /// `platform` or `property:P`.
    #[schema(example = "property:property-42")]
    pub(crate) actor: String,
    /// `registration.create`, `registration.update`,
    /// `registration.delete`, `property.enable`, `property.update` or
    /// `property.disable`.
    #[schema(example = "property.enable")]
    pub(crate) action: String,
    /// The registration changed.
    pub(crate) registration: String,
    /// The property, for `property.*`.
    pub(crate) property: Option<String>,
    /// Before: the registration (masked) or `{"roles": [...]}`.
    #[schema(value_type = Option<Object>)]
    pub(crate) before: Option<Value>,
    /// After: the registration (masked) or `{"roles": [...]}`.
    #[schema(value_type = Option<Object>)]
    pub(crate) after: Option<Value>,
}

impl From<AuditRecord> for AuditItem {
    fn from(r: AuditRecord) -> Self {
        let at =
            r.at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
        Self {
            at,
            actor: r.actor.to_string(),
            action: r.action.to_string(),
            registration: r.registration,
            property: r.property,
            before: r.before,
            after: r.after,
        }
    }
}

/// One page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditPage {
    /// The changes.
    pub(crate) items: Vec<AuditItem>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub(crate) next_cursor: Option<String>,
}

/// The path of one registration.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Documents path parameters; never built.
pub(crate) struct RegistrationPath {
    /// The QUID.
    id: String,
}

/// The path of one application's enablement in a property.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Documents path parameters; never built.
pub(crate) struct EnablementPath {
    /// The property id.
    property: String,
    /// The QUID.
    id: String,
}

/// Which page of a list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents query parameters; never built.
pub(crate) struct PageQuery {
    /// 1–500, default 100.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}
