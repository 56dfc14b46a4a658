//! `/admin/v1/registrations[/{id}]`: create (the server issues the QUID),
//! read, list, merge-patch and delete registrations.

use http::StatusCode;
use http::header::{ETAG, LOCATION};
use serde_json::{Map, Value};

use super::error::{AdminErrorCode, ApiError, ErrorDetail, Location};
use super::ids::{Cursor, new_quid, page};
use super::input::{IfMatch, Media, json_object};
use super::merge::merge_patch;
use super::schema::{PageQuery, RegistrationDocument, RegistrationPage, RegistrationPath};
use super::secrets::{masked, restore};
use super::validate::{check_idp, idp_changed, validate};
use super::{AdminApi, AdminResponse, Call, Caller, PREFIX};
use crate::store::{
    AuditAction, AuditRecord, Change, Precondition, StoreError, Stored, is_enabled_in,
};

/// A stored registration as answered: secrets masked, its `ETag`.
fn answer(status: StatusCode, stored: &Stored) -> AdminResponse {
    AdminResponse::json(status, Value::Object(masked(&stored.document)))
        .header(ETAG, stored.etag.as_str())
}

/// The document as the audit log shows it.
fn shown(doc: &Map<String, Value>) -> Option<Value> {
    Some(Value::Object(masked(doc)))
}

/// The state after a change that keeps a registration (`None` only if the
/// store broke its contract: reported as unavailable).
fn kept(state: Option<Stored>) -> Result<Stored, ApiError> {
    state.ok_or_else(|| {
        ApiError::from(StoreError::Unavailable(
            "the store returned no state after a write".into(),
        ))
    })
}

/// Create a registration; the server issues its QUID.
#[utoipa::path(
    post,
    path = "/admin/v1/registrations",
    tag = "registrations",
    params(("check" = Option<bool>, Query, description = "`false` skips the IdP check (platform admin)")),
    request_body(content = RegistrationDocument, content_type = "application/json",
        description = "A registration without `id`: validated like a registry file, then checked against its IdP"),
    responses((status = 201, description = "Created, secrets masked", body = RegistrationDocument,
        headers(("Location" = String, description = "`/admin/v1/registrations/{id}`"),
                ("ETag" = String, description = "Strong entity tag"))))
)]
pub(crate) async fn create(api: &AdminApi, call: &Call<'_>) -> Result<AdminResponse, ApiError> {
    call.caller.platform_only()?;
    let check = call.query.check()?;
    let mut doc = json_object(&call.req.headers, &call.req.body, Media::Json)?;
    if doc.contains_key("id") {
        return Err(ApiError::invalid(vec![ErrorDetail::new(
            Location::Body,
            Some("id"),
            "is issued by the server: leave it out",
        )]));
    }
    let id = new_quid().ok_or_else(|| {
        ApiError::from(StoreError::Unavailable(
            "the operating system's random generator failed".into(),
        ))
    })?;
    doc.insert("id".into(), Value::String(id.clone()));
    let registration = validate(&doc)?;
    if check {
        check_idp(api.probe(), &registration).await?;
    }
    let audit = AuditRecord::new(call.caller.actor(), AuditAction::RegistrationCreate, &id)
        .after(shown(&doc));
    let change = Change::new(&id, Precondition::Absent, Some(doc), audit);
    let stored = match api.apply(change).await {
        Err(StoreError::PreconditionFailed) => return Err(ApiError::new(AdminErrorCode::Conflict)),
        other => kept(other?)?,
    };
    Ok(answer(StatusCode::CREATED, &stored)
        .header(LOCATION, &format!("{PREFIX}/registrations/{id}")))
}

/// Read a registration (a property admin: one enabled in their property).
#[utoipa::path(
    get,
    path = "/admin/v1/registrations/{id}",
    tag = "registrations",
    params(RegistrationPath),
    responses((status = 200, description = "The registration, secrets masked", body = RegistrationDocument,
        headers(("ETag" = String, description = "Strong entity tag"))))
)]
pub(crate) async fn get(
    api: &AdminApi,
    call: &Call<'_>,
    id: &str,
) -> Result<AdminResponse, ApiError> {
    let stored = api.existing(id).await?;
    if let Caller::Property(p) = &call.caller
        && !is_enabled_in(&stored.document, p)
    {
        // As if it did not exist: a property admin learns nothing of others.
        return Err(ApiError::no_registration(id));
    }
    Ok(answer(StatusCode::OK, &stored))
}

/// List registrations in id order.
#[utoipa::path(
    get,
    path = "/admin/v1/registrations",
    tag = "registrations",
    params(PageQuery),
    responses((status = 200, description = "One page", body = RegistrationPage))
)]
pub(crate) async fn list(api: &AdminApi, call: &Call<'_>) -> Result<AdminResponse, ApiError> {
    call.caller.platform_only()?;
    let limit = call.query.limit()?;
    let after = call.query.cursor(Cursor::after)?;
    let found = api.store().list(after.as_deref(), limit + 1).await?;
    let (found, next_cursor) = page(found, limit, |s| Cursor::After(s.id.clone()));
    let items = found
        .iter()
        .map(|s| Value::Object(masked(&s.document)))
        .collect();
    let body = RegistrationPage { items, next_cursor };
    Ok(AdminResponse::json(
        StatusCode::OK,
        serde_json::to_value(body).unwrap_or_default(),
    ))
}

/// Change a registration by JSON merge patch.
#[utoipa::path(
    patch,
    path = "/admin/v1/registrations/{id}",
    tag = "registrations",
    params(
        RegistrationPath,
        ("If-Match" = String, Header, description = "The current `ETag` (required)"),
        ("check" = Option<bool>, Query, description = "`false` skips the IdP check"),
    ),
    request_body(content = RegistrationDocument, content_type = "application/merge-patch+json",
        description = "RFC 7396 merge patch; `null` removes a key; `id` cannot change; masked secrets sent back are kept"),
    responses((status = 200, description = "The changed registration, secrets masked", body = RegistrationDocument,
        headers(("ETag" = String, description = "The new entity tag"))))
)]
pub(crate) async fn patch(
    api: &AdminApi,
    call: &Call<'_>,
    id: &str,
) -> Result<AdminResponse, ApiError> {
    call.caller.platform_only()?;
    let check = call.query.check()?;
    let patch = json_object(&call.req.headers, &call.req.body, Media::MergePatch)?;
    let if_match = IfMatch::read(&call.req.headers);
    if if_match == IfMatch::Absent {
        return Err(ApiError::detail(
            AdminErrorCode::PreconditionRequired,
            ErrorDetail::new(Location::Header, Some("If-Match"), "is required"),
        ));
    }
    let stored = api.existing(id).await?;
    if_match.check(&stored.etag)?;
    if patch.get("id").is_some_and(|v| v.as_str() != Some(id)) {
        return Err(ApiError::invalid(vec![
            ErrorDetail::new(Location::Body, Some("id"), "cannot change")
                .with_value(patch.get("id").cloned()),
        ]));
    }
    let mut merged = Value::Object(stored.document.clone());
    merge_patch(&mut merged, &Value::Object(patch));
    let Value::Object(mut doc) = merged else {
        return Err(ApiError::malformed(
            Location::Body,
            None,
            "the result must be an object",
        ));
    };
    restore(&mut doc, &stored.document);
    if doc == stored.document {
        // Nothing changes: nothing to write, check or record.
        return Ok(answer(StatusCode::OK, &stored));
    }
    let registration = validate(&doc)?;
    let before = validate(&stored.document).ok();
    if check && idp_changed(before.as_ref(), &registration) {
        check_idp(api.probe(), &registration).await?;
    }
    let audit = AuditRecord::new(call.caller.actor(), AuditAction::RegistrationUpdate, id)
        .before(shown(&stored.document))
        .after(shown(&doc));
    let change = Change::new(id, Precondition::Matches(stored.etag), Some(doc), audit);
    let stored = kept(api.apply(change).await?)?;
    Ok(answer(StatusCode::OK, &stored))
}

/// Delete a registration.
#[utoipa::path(
    delete,
    path = "/admin/v1/registrations/{id}",
    tag = "registrations",
    params(
        RegistrationPath,
        ("If-Match" = Option<String>, Header, description = "The current `ETag` (optional)"),
    ),
    responses((status = 204, description = "Deleted"))
)]
pub(crate) async fn delete(
    api: &AdminApi,
    call: &Call<'_>,
    id: &str,
) -> Result<AdminResponse, ApiError> {
    call.caller.platform_only()?;
    let stored = api.existing(id).await?;
    let if_match = IfMatch::read(&call.req.headers);
    if_match.check(&stored.etag)?;
    let precondition = match if_match {
        IfMatch::Tags(_) => Precondition::Matches(stored.etag),
        IfMatch::Absent | IfMatch::Any => Precondition::Exists,
    };
    let audit = AuditRecord::new(call.caller.actor(), AuditAction::RegistrationDelete, id)
        .before(shown(&stored.document));
    match api.apply(Change::new(id, precondition, None, audit)).await {
        Ok(_) => Ok(AdminResponse::no_content()),
        // Deleted meanwhile: as if it had not been there.
        Err(StoreError::PreconditionFailed | StoreError::NotFound)
            if !matches!(if_match, IfMatch::Tags(_)) =>
        {
            Err(ApiError::no_registration(id))
        }
        Err(e) => Err(e.into()),
    }
}
