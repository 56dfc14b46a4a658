//! The admin API as an axum [`Router`]: every request under `/admin/v1`
//! goes to [`AdminApi::handle`] as it is; this module only translates.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http_body_util::{BodyExt, Limited};

use crate::api::{AdminApi, AdminRequest, PREFIX};

/// A router serving `/admin/v1/*` (merge or nest it into the server's
/// own). Bodies up to [`AdminApi::max_body_bytes`] are taken; a larger one
/// is `400 malformed_request`.
pub fn router(api: Arc<AdminApi>) -> Router {
    Router::new()
        .route(PREFIX, any(handle))
        .route(&format!("{PREFIX}/"), any(handle))
        .route(&format!("{PREFIX}/{{*rest}}"), any(handle))
        .with_state(api)
}

async fn handle(State(api): State<Arc<AdminApi>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    // One byte more than the limit tells the API the body was too large.
    let limit = api.max_body_bytes() + 1;
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        // Over the limit, or the client broke off: keep what makes the
        // API refuse it (more than the limit) or an empty body.
        Err(e) if e.is::<http_body_util::LengthLimitError>() => vec![0; limit].into(),
        Err(_) => Default::default(),
    };
    let request = AdminRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
    };
    let answer = api.handle(request).await;
    let body = Body::from(answer.body_bytes());
    (answer.status, answer.headers, body).into_response()
}
