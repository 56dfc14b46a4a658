//! `/admin/v1/audit`: who changed what, newest first.

use http::StatusCode;

use super::error::{AdminErrorCode, ApiError, ErrorDetail, Location};
use super::ids::{Cursor, page};
use super::schema::{AuditItem, AuditPage, PageQuery};
use super::{AdminApi, AdminResponse, Call, Caller};
use crate::store::AuditQuery;

/// Read the audit log (a property admin: only `property=` their own).
#[utoipa::path(
    get,
    path = "/admin/v1/audit",
    tag = "audit",
    params(
        ("registration" = Option<String>, Query, description = "Only changes of this registration"),
        ("property" = Option<String>, Query, description = "Only changes in this property (required of a property admin: their own)"),
        PageQuery,
    ),
    responses((status = 200, description = "One page, newest first", body = AuditPage))
)]
pub(crate) async fn list(api: &AdminApi, call: &Call<'_>) -> Result<AdminResponse, ApiError> {
    let q = &call.query;
    let property = q.get("property").map(str::to_owned);
    if let Caller::Property(own) = &call.caller
        && property.as_ref() != Some(own)
    {
        return Err(ApiError::detail(
            AdminErrorCode::Forbidden,
            ErrorDetail::new(
                Location::Query,
                Some("property"),
                "must be your own property",
            ),
        ));
    }
    let limit = q.limit()?;
    let before_seq = q.cursor(Cursor::before)?;
    let query = AuditQuery::new(limit + 1)
        .registration(q.get("registration").map(str::to_owned))
        .property(property)
        .before_seq(before_seq);
    let records = api.store().audit(&query).await?;
    let (records, next_cursor) = page(records, limit, |r| Cursor::Before(r.seq));
    let items = records.into_iter().map(AuditItem::from).collect();
    let body = AuditPage { items, next_cursor };
    Ok(AdminResponse::json(
        StatusCode::OK,
        serde_json::to_value(body).unwrap_or_default(),
    ))
}
