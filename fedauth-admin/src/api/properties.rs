//! `/admin/v1/properties/{property}/registrations[/{id}]`: which
//! applications a property has enabled, with which roles (`properties` of
//! the registry format). A change re-reads the registration and writes it
//! if it has not changed meanwhile; losing that race twice is `409`. The
//! caller is a platform admin or an admin of the property (checked by the
//! dispatcher).

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::error::{AdminErrorCode, ApiError, ErrorDetail, Location};
use super::input::{Media, json_object};
use super::schema::{EnabledApplication, EnabledList, EnablementPath, Roles};
use super::validate::validate;
use super::{AdminApi, AdminResponse, Call};
use crate::store::{AuditAction, AuditRecord, Change, Precondition, StoreError, Stored};

/// Tries of a read-modify-write before `409 conflict`.
const TRIES: usize = 2;

/// The roles `doc` has in `property`, if enabled there.
fn roles_in(doc: &Map<String, Value>, property: &str) -> Option<Vec<String>> {
    let roles = doc.get("properties")?.get(property)?.as_array()?;
    Some(
        roles
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
    )
}

fn item(stored: &Stored, roles: Vec<String>) -> EnabledApplication {
    EnabledApplication {
        id: stored.id.clone(),
        name: stored
            .document
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        roles,
    }
}

fn to_json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// The applications enabled in a property.
#[utoipa::path(
    get,
    path = "/admin/v1/properties/{property}/registrations",
    tag = "properties",
    params(("property" = String, Path, description = "The property id")),
    responses((status = 200, description = "The applications enabled there, in id order", body = EnabledList))
)]
pub(crate) async fn list(api: &AdminApi, property: &str) -> Result<AdminResponse, ApiError> {
    let items = api
        .store()
        .enabled_in(property)
        .await?
        .iter()
        .map(|s| item(s, roles_in(&s.document, property).unwrap_or_default()))
        .collect();
    Ok(AdminResponse::json(
        StatusCode::OK,
        to_json(EnabledList { items }),
    ))
}

/// The roles of a `PUT` body, each problem named.
fn read_roles(body: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let mut problems: Vec<ErrorDetail> = body
        .keys()
        .filter(|k| *k != "roles")
        .map(|k| {
            ErrorDetail::new(
                Location::Body,
                Some(k),
                "unknown field; only `roles` is taken",
            )
        })
        .collect();
    let roles = match body.get("roles") {
        None => Err("is required"),
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| r.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("must be a list of strings"),
        Some(_) => Err("must be a list of strings"),
    };
    match roles {
        Ok(roles) if problems.is_empty() => Ok(roles),
        Ok(_) => Err(ApiError::invalid(problems)),
        Err(msg) => {
            problems.insert(0, ErrorDetail::new(Location::Body, Some("roles"), msg));
            Err(ApiError::invalid(problems))
        }
    }
}

/// What a property change does to one stored state.
enum Plan {
    /// Nothing to write: answer this.
    Done(AdminResponse),
    /// Write this document, recorded as this; then answer this.
    Write(Map<String, Value>, AuditRecord, AdminResponse),
}

/// Read, plan, write if unchanged meanwhile; again once, then `409`.
async fn read_modify_write(
    api: &AdminApi,
    id: &str,
    plan: impl Fn(Stored) -> Result<Plan, ApiError>,
) -> Result<AdminResponse, ApiError> {
    for _ in 0..TRIES {
        let stored = api.existing(id).await?;
        let etag = stored.etag.clone();
        let (doc, audit, response) = match plan(stored)? {
            Plan::Done(response) => return Ok(response),
            Plan::Write(doc, audit, response) => (doc, audit, response),
        };
        let change = Change::new(id, Precondition::Matches(etag), Some(doc), audit);
        match api.apply(change).await {
            Ok(_) => return Ok(response),
            Err(StoreError::PreconditionFailed) => continue,
            Err(StoreError::NotFound) => return Err(ApiError::no_registration(id)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(AdminErrorCode::Conflict))
}

/// Enable an application in a property with exactly these roles.
#[utoipa::path(
    put,
    path = "/admin/v1/properties/{property}/registrations/{id}",
    tag = "properties",
    params(EnablementPath),
    request_body(content = Roles, content_type = "application/json"),
    responses(
        (status = 201, description = "Newly enabled", body = EnabledApplication),
        (status = 200, description = "Its roles replaced (or already these)", body = EnabledApplication),
    )
)]
pub(crate) async fn enable(
    api: &AdminApi,
    call: &Call<'_>,
    at: (&str, &str),
) -> Result<AdminResponse, ApiError> {
    let (property, id) = at;
    let body = json_object(&call.req.headers, &call.req.body, Media::Json)?;
    let roles = read_roles(&body)?;
    read_modify_write(api, id, |stored| {
        let before = roles_in(&stored.document, property);
        let status = match before {
            None => StatusCode::CREATED,
            Some(_) => StatusCode::OK,
        };
        let response = AdminResponse::json(status, to_json(item(&stored, roles.clone())));
        if before.as_ref() == Some(&roles) {
            return Ok(Plan::Done(response));
        }
        let mut doc = stored.document;
        let properties = doc.entry("properties").or_insert_with(|| json!({}));
        if let Some(map) = properties.as_object_mut() {
            map.insert(property.to_owned(), json!(roles));
        }
        validate(&doc).map_err(as_roles_problem)?;
        let action = match before {
            None => AuditAction::PropertyEnable,
            Some(_) => AuditAction::PropertyUpdate,
        };
        let audit = AuditRecord::new(call.caller.actor(), action, id)
            .property(property)
            .before(before.map(|r| json!(Roles { roles: r })))
            .after(Some(json!(Roles {
                roles: roles.clone()
            })));
        Ok(Plan::Write(doc, audit, response))
    })
    .await
}

/// A refusal of the registry's rules about `properties` names what the
/// request said: the property id of the path, or `roles` of the body.
fn as_roles_problem(mut e: ApiError) -> ApiError {
    for d in &mut e.details {
        if d.param
            .as_deref()
            .is_some_and(|p| p.starts_with("properties"))
        {
            let (location, param) = match d.msg.starts_with("property id") {
                true => (Location::Path, "property"),
                false => (Location::Body, "roles"),
            };
            d.location = location;
            d.param = Some(param.into());
            d.value = None;
        }
    }
    e
}

/// Disable an application in a property.
#[utoipa::path(
    delete,
    path = "/admin/v1/properties/{property}/registrations/{id}",
    tag = "properties",
    params(EnablementPath),
    responses((status = 204, description = "Disabled there; in force before this answer"))
)]
pub(crate) async fn disable(
    api: &AdminApi,
    call: &Call<'_>,
    at: (&str, &str),
) -> Result<AdminResponse, ApiError> {
    let (property, id) = at;
    read_modify_write(api, id, |stored| {
        let Some(before) = roles_in(&stored.document, property) else {
            return Err(ApiError::detail(
                AdminErrorCode::NotFound,
                ErrorDetail::new(Location::Path, Some("id"), "not enabled in this property")
                    .with_value(Some(Value::String(id.to_owned()))),
            ));
        };
        let mut doc = stored.document;
        if let Some(Value::Object(map)) = doc.get_mut("properties") {
            map.remove(property);
            if map.is_empty() {
                doc.remove("properties");
            }
        }
        let audit = AuditRecord::new(call.caller.actor(), AuditAction::PropertyDisable, id)
            .property(property)
            .before(Some(json!(Roles { roles: before })));
        Ok(Plan::Write(doc, audit, AdminResponse::no_content()))
    })
    .await
}
