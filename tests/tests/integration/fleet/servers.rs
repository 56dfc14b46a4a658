//! Small axum apps standing in for the platform's registry service and
//! users webhook, with knobs for outages, slowness and garbage.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

/// What a fake service answers, shared with its handler.
#[derive(Default)]
pub struct Knobs {
    /// Items by id (registrations or users), as JSON.
    pub items: Mutex<HashMap<String, Value>>,
    /// Answer this status to every request (an outage).
    pub status: Mutex<Option<u16>>,
    /// Answer this body with 200 to every request (garbage).
    pub raw_body: Mutex<Option<String>>,
    /// Wait this long before answering.
    pub delay: Mutex<Duration>,
    /// `Cache-Control` of 200 and 304 answers.
    pub cache_control: Mutex<Option<String>>,
    /// Require `Authorization: Bearer <this>`.
    pub bearer: Mutex<Option<String>>,
    /// Requests received.
    pub hits: AtomicUsize,
    /// 304 answers sent.
    pub not_modified: AtomicUsize,
    /// Ids requested, decoded.
    pub requested: Mutex<Vec<String>>,
}

impl Knobs {
    pub fn put(&self, id: &str, item: Value) {
        self.items.lock().unwrap().insert(id.to_owned(), item);
    }

    pub fn remove(&self, id: &str) {
        self.items.lock().unwrap().remove(id);
    }

    pub fn set_status(&self, status: Option<u16>) {
        *self.status.lock().unwrap() = status;
    }

    pub fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    pub fn set_raw_body(&self, body: Option<&str>) {
        *self.raw_body.lock().unwrap() = body.map(str::to_owned);
    }

    pub fn set_cache_control(&self, value: Option<&str>) {
        *self.cache_control.lock().unwrap() = value.map(str::to_owned);
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn not_modified(&self) -> usize {
        self.not_modified.load(Ordering::SeqCst)
    }
}

/// A running fake service.
pub struct Service {
    pub knobs: Arc<Knobs>,
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn etag_of(item: &Value) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    item.to_string().hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

async fn answer(knobs: Arc<Knobs>, id: String, headers: HeaderMap) -> Response {
    knobs.hits.fetch_add(1, Ordering::SeqCst);
    knobs.requested.lock().unwrap().push(id.clone());
    let delay = *knobs.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let wanted = knobs.bearer.lock().unwrap().clone();
    if let Some(token) = wanted {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if sent != Some(&format!("Bearer {token}")) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    if let Some(status) = *knobs.status.lock().unwrap() {
        return StatusCode::from_u16(status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response();
    }
    if let Some(body) = knobs.raw_body.lock().unwrap().clone() {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    let item = knobs.items.lock().unwrap().get(&id).cloned();
    let Some(item) = item else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = etag_of(&item);
    let cache_control = knobs.cache_control.lock().unwrap().clone();
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, etag.parse().unwrap());
    if let Some(cc) = cache_control {
        out.insert(header::CACHE_CONTROL, cc.parse().unwrap());
    }
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str());
    if matches {
        knobs.not_modified.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    (StatusCode::OK, out, item.to_string()).into_response()
}

/// Start a fake service answering `GET /{collection}/{id}`.
pub async fn start(collection: &str) -> Service {
    let knobs = Arc::new(Knobs::default());
    let app = Router::new()
        .route(
            &format!("/{collection}/{{id}}"),
            get(
                |State(k): State<Arc<Knobs>>, Path(id): Path<String>, headers: HeaderMap| async move {
                    answer(k, id, headers).await
                },
            ),
        )
        .with_state(knobs.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Service { knobs, base, task }
}
