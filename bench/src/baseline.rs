//! The no-auth baseline of the throughput run: the example server's routes
//! answering a prepared body, with no layer. Used by `baseline-server`
//! (over loopback) and by `hit-instructions` (in process).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use fedauth_examples::TEXT_CONTENT_TYPE;
use serde_json::Value;

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TEXT_CONTENT_TYPE),
    );
    response
}

/// Like the example's `whoami`, which serialises a view borrowed from the
/// request's context: the prepared answer is serialised (not cloned) on
/// every request.
async fn whoami(State(body): State<Arc<Value>>) -> Response {
    Json(&*body).into_response()
}

/// The baseline's routes, answering `/whoami` with `body`.
pub fn baseline_router(body: Value) -> Router {
    Router::new()
        .route("/health", get(|| async { text(StatusCode::OK, "ok") }))
        .route("/ready", get(|| async { text(StatusCode::OK, "ready") }))
        .route("/whoami", get(whoami))
        .route("/properties/{property}/whoami", get(whoami))
        .with_state(Arc::new(body))
}
