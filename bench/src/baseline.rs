//! The no-auth baseline of the throughput run: the example server's routes
//! answering a prepared body, with no layer. Used by `baseline-server`
//! (over loopback) and by `hit-instructions` (in process).

use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// What `/whoami` answers, and the CPU work it does first.
struct Answer {
    body: Value,
    work: Duration,
}

/// Like the example's `whoami`, which serialises a view borrowed from the
/// request's context: the prepared answer is serialised (not cloned) on
/// every request, after `work` of busy CPU (none by default).
async fn whoami(State(answer): State<Arc<Answer>>) -> Response {
    if !answer.work.is_zero() {
        let started = Instant::now();
        while started.elapsed() < answer.work {
            std::hint::spin_loop();
        }
    }
    Json(&answer.body).into_response()
}

/// The baseline's routes, answering `/whoami` with `body` after `work` of
/// busy CPU per request: with `work` the size of what the layer adds, it
/// shows what that much work of any kind costs the throughput run.
pub fn baseline_router(body: Value, work: Duration) -> Router {
    Router::new()
        .route("/health", get(|| async { text(StatusCode::OK, "ok") }))
        .route("/ready", get(|| async { text(StatusCode::OK, "ready") }))
        .route("/whoami", get(whoami))
        .route("/properties/{property}/whoami", get(whoami))
        .with_state(Arc::new(Answer { body, work }))
}
