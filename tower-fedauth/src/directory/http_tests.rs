//! The HTTP directory against a real users webhook on 127.0.0.1: the
//! request carries the registration, and two registrations presenting the
//! same subject get their own records, never each other's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::http::{StatusCode, Uri};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::webhook_tests::{
    REGISTRATION, REGISTRATION_QUERY, assert_sent, expected_user, start as start_webhook, webhook,
};
use super::*;
use crate::registry::HttpClientConfig;

/// A users webhook. Scoped, it answers `(registration, id)`; unscoped it
/// ignores the registration (a directory shared by tenants that relies on
/// each record's `tenant`). It records every request's path and query.
#[derive(Default)]
struct Webhook {
    scoped: bool,
    users: Mutex<HashMap<(String, String), Value>>,
    seen: Mutex<Vec<(String, Option<String>)>>,
}

impl Webhook {
    fn put(&self, registration: &str, id: &str, customer: &str, tenant: Option<&str>) {
        let mut user =
            json!({"id": id, "customer": customer, "email": format!("{id}@example.com")});
        if let Some(tenant) = tenant {
            user["tenant"] = json!(tenant);
        }
        let key = (registration.to_owned(), id.to_owned());
        self.users.lock().unwrap().insert(key, user);
    }

    fn seen(&self) -> Vec<(String, Option<String>)> {
        self.seen.lock().unwrap().clone()
    }
}

async fn answer(
    hook: Arc<Webhook>,
    id: String,
    uri: Uri,
    params: HashMap<String, String>,
) -> Response {
    let seen = (uri.path().to_owned(), uri.query().map(str::to_owned));
    hook.seen.lock().unwrap().push(seen);
    let registration = params.get("registration").cloned().unwrap_or_default();
    let users = hook.users.lock().unwrap();
    let found = if hook.scoped {
        users.get(&(registration, id)).cloned()
    } else {
        users
            .iter()
            .find(|((_, u), _)| *u == id)
            .map(|(_, v)| v.clone())
    };
    match found {
        Some(user) => (StatusCode::OK, user.to_string()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn start(scoped: bool) -> (Arc<Webhook>, HttpUserDirectory, tokio::task::JoinHandle<()>) {
    let hook = Arc::new(Webhook {
        scoped,
        ..Webhook::default()
    });
    let app = Router::new()
        .route(
            "/v1/users/{id}",
            get(
                |State(h): State<Arc<Webhook>>,
                 Path(id): Path<String>,
                 uri: Uri,
                 Query(params): Query<HashMap<String, String>>| async move {
                    answer(h, id, uri, params).await
                },
            ),
        )
        .with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let config = HttpClientConfig {
        timeout: Duration::from_secs(2),
        egress: crate::testkit::local_egress(),
        ..HttpClientConfig::default()
    };
    let directory = HttpUserDirectory::new(&base, config).unwrap();
    (hook, directory, task)
}

/// Every request names the registration, percent-encoded in the query,
/// and the subject as one path segment.
#[tokio::test]
async fn the_request_carries_the_registration() {
    let (hook, directory, task) = start(true).await;
    hook.put("quid/1+&=x", "al ice", "c-1", None);
    let found = directory
        .get_user(UserQuery::new("quid/1+&=x", "al ice"))
        .await
        .unwrap()
        .expect("the scoped record");
    assert_eq!(
        (found.id.as_str(), found.customer.as_str()),
        ("al ice", "c-1")
    );
    assert_eq!(
        directory
            .get_user(UserQuery::new("quid-2", "al ice"))
            .await
            .unwrap(),
        None,
        "another registration's question"
    );
    assert_eq!(
        hook.seen(),
        vec![
            (
                "/v1/users/al%20ice".to_owned(),
                Some("registration=quid%2F1%2B%26%3Dx".to_owned())
            ),
            (
                "/v1/users/al%20ice".to_owned(),
                Some("registration=quid-2".to_owned())
            ),
        ]
    );
    // What no request can carry is not asked at all.
    let long = "q".repeat(crate::registration::MAX_ID_LEN + 1);
    for query in [
        UserQuery::new("", "al ice"),
        UserQuery::new(&long, "al ice"),
    ] {
        assert_eq!(directory.get_user(query).await.unwrap(), None);
    }
    assert_eq!(
        hook.seen().len(),
        2,
        "no request for an unusable registration"
    );
    task.abort();
}

/// Two registrations presenting the same subject through one cached HTTP
/// directory get their own records, in either order and from the cache,
/// and a registration the directory has no record for gets none.
#[tokio::test]
async fn the_same_subject_under_two_registrations_is_two_users() {
    let (hook, directory, task) = start(true).await;
    hook.put("quid-1", "shared", "cust-1", Some("quid-1"));
    hook.put("quid-2", "shared", "cust-2", None);
    let cache = CachedDirectory::new(Arc::new(directory), DirectoryCacheConfig::default());
    for _ in 0..2 {
        for (registration, customer) in [
            ("quid-2", Some("cust-2")),
            ("quid-1", Some("cust-1")),
            ("quid-3", None),
        ] {
            let user = cache
                .get(UserQuery::new(registration, "shared"))
                .await
                .unwrap();
            assert_eq!(
                user.as_deref().map(|u| u.customer.as_str()),
                customer,
                "{registration}"
            );
        }
    }
    let queries: Vec<_> = hook.seen().into_iter().map(|(_, q)| q.unwrap()).collect();
    assert_eq!(
        queries,
        [
            "registration=quid-2",
            "registration=quid-1",
            "registration=quid-3"
        ],
        "each registration asked once, then answered from the cache"
    );
    task.abort();
}

/// A directory that ignores the registration answers quid-1's record to
/// quid-2 too: its `tenant` says whose it is, and quid-2 does not get it.
#[tokio::test]
async fn a_directory_that_ignores_the_registration_is_held_by_the_tenant() {
    let (hook, directory, task) = start(false).await;
    hook.put("", "shared", "cust-1", Some("quid-1"));
    let cache = CachedDirectory::new(Arc::new(directory), DirectoryCacheConfig::default());
    let other = cache.get(UserQuery::new("quid-2", "shared")).await.unwrap();
    assert_eq!(other, None, "another tenant's record is not used");
    let own = cache.get(UserQuery::new("quid-1", "shared")).await.unwrap();
    assert_eq!(own.unwrap().customer, "cust-1");
    assert_eq!(
        hook.seen().len(),
        2,
        "both registrations asked the directory"
    );
    task.abort();
}

/// The directory is the webhook's get-by-id: the same request (static
/// headers included), 404 and 410 unknown, any other refusal an error, and
/// a subject no request can carry not asked about.
#[tokio::test]
async fn the_directory_asks_through_get_by_id() {
    let server = start_webhook().await;
    let directory = HttpUserDirectory::from(webhook(&server));
    let query = UserQuery::new(REGISTRATION, "u/1 x");
    let found = directory.get_user(query).await.unwrap();
    assert_eq!(found, Some(expected_user()));
    let seen = server.hook.one();
    assert_sent(
        &seen,
        ::http::Method::GET,
        "/v1/users/u%2F1%20x",
        REGISTRATION_QUERY,
        "",
    );
    for (status, expected) in [
        (404, Ok(None)),
        (410, Ok(None)),
        (403, Err("answered HTTP 403")),
    ] {
        server.hook.answer(status, "");
        let got = directory.get_user(query).await;
        match expected {
            Ok(none) => assert_eq!(got.unwrap(), none, "{status}"),
            Err(why) => assert!(got.unwrap_err().message().contains(why), "{status}"),
        }
    }
    let unusable = directory.get_user(UserQuery::new("quid-1", "..")).await;
    assert_eq!(unusable.unwrap(), None);
    assert_eq!(server.hook.take().len(), 3, "no request for an unusable id");
}
