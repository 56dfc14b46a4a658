//! The admin API as an axum [`Router`]: every request under `/admin/v1`
//! goes to [`AdminApi::handle`] as it is; this module only translates.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http_body_util::BodyExt as _;

use crate::api::{AdminApi, AdminRequest, BodyReader, PREFIX};

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
    let (parts, mut body) = req.into_parts();
    let mut reader = BodyReader::new(&api);
    let complete = loop {
        match body.frame().await {
            None => break true,
            Some(Err(_)) => break false,
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref()
                    && !reader.push(data)
                {
                    break false;
                }
            }
        }
    };
    let request = AdminRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body: reader.finish(complete),
    };
    let answer = api.handle(request).await;
    let body = Body::from(answer.body_bytes());
    (answer.status, answer.headers, body).into_response()
}
