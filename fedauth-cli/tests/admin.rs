//! `fedauth admin` as a process against the admin API's axum router served
//! in this test on 127.0.0.1 (a memory store, a platform token and a
//! property-7 admin's): each subcommand's exact output in table and json
//! form, each refusal's exit status and message, the token never printed
//! and never sent where a redirect points.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fedauth_admin::store::{
    AuditQuery, AuditRecord, Change, ETag, MemoryStore, StoreError, Stored,
};
use fedauth_admin::{AdminApi, StaticTokens};
use serde_json::{Map, Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_fedauth");
const ADMIN: &str = "cli-platform-token-0123456789";
const P7_TOKEN: &str = "cli-property-7-token-abcdef";

/// `quid-a` (enabled nowhere) and `quid-b`, as the store holds them.
fn seeded() -> [Map<String, Value>; 2] {
    let document = |id: &str, name: &str, secret: &str| {
        json!({
            "id": id, "name": name, "provider": "introspection", "client_id": format!("client-{id}"),
            "introspection": {"endpoint": "https://idp.example.com/introspect", "client_id": "rs", "client_secret": secret},
        })
        .as_object()
        .unwrap()
        .clone()
    };
    [
        document("quid-a", "App A", "a-secret-of-twenty-five-x"),
        document("quid-b", "App B", "short"),
    ]
}

/// The admin API over the seeded store, served on a free port.
async fn serve() -> String {
    let store = MemoryStore::with_documents(seeded()).unwrap();
    let authorizer = StaticTokens::new(ADMIN).property_admin("property-7", P7_TOKEN);
    let api = AdminApi::builder(Arc::new(store), Arc::new(authorizer))
        .egress(tower_fedauth::testkit::local_egress())
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = fedauth_admin::axum::router(Arc::new(api));
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `fedauth admin ARGS` with `--url`, the token in `FEDAUTH_ADMIN_TOKEN`
/// (none if `token` is `None`), off the async threads.
async fn admin(url: &str, token: Option<&str>, args: &[&str]) -> Run {
    let mut command = Command::new(BIN);
    command.arg("admin").args(args).args(["--url", url]);
    command
        .env_remove("FEDAUTH_ADMIN_TOKEN")
        .env_remove("FEDAUTH_ADMIN_URL");
    if let Some(token) = token {
        command.env("FEDAUTH_ADMIN_TOKEN", token);
    }
    command.stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for text in [&run.stdout, &run.stderr] {
        for secret in [ADMIN, P7_TOKEN, "a-secret-of-twenty-five-x"] {
            assert!(!text.contains(secret), "{args:?} printed a secret: {text}");
        }
    }
    run
}

/// Succeeded with exactly `stdout` and nothing on stderr.
fn printed(run: &Run, stdout: &str) {
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{}", run.stdout);
    assert_eq!(run.stdout, stdout);
}

/// Failed with exit status `code`, exactly `stderr`, nothing on stdout.
fn failed(run: &Run, code: i32, stderr: &str) {
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (code, ""),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr, stderr);
}

fn etag(document: &Value) -> String {
    ETag::of(document.as_object().unwrap()).as_str().to_owned()
}

/// A directory of files for one test, removed on drop.
struct Files(std::path::PathBuf);

impl Files {
    fn new(test: &str) -> Files {
        let dir =
            std::env::temp_dir().join(format!("fedauth-cli-admin-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Files(dir)
    }

    /// Writes `name`; its path.
    fn write(&self, name: &str, content: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// quid-a as answered: its secret masked.
fn quid_a() -> Value {
    json!({
        "id": "quid-a", "name": "App A", "provider": "introspection", "client_id": "client-quid-a",
        "introspection": {"endpoint": "https://idp.example.com/introspect", "client_id": "rs",
                          "client_secret": "********************ive-x"},
    })
}

/// The JSON `fedauth admin` printed.
fn parsed(run: &Run) -> Value {
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_list_and_property_subcommands_print_tables_and_json() {
    let url = &serve().await;
    let tag_a = etag(&Value::Object(seeded()[0].clone()));
    printed(
        &admin(url, Some(ADMIN), &["get", "quid-a"]).await,
        &format!(
            "FIELD          VALUE\n\
             id             quid-a\n\
             etag           {tag_a}\n\
             client_id      client-quid-a\n\
             introspection  {{\"client_id\":\"rs\",\"client_secret\":\"********************ive-x\",\"endpoint\":\"https://idp.example.com/introspect\"}}\n\
             name           App A\n\
             provider       introspection\n"
        ),
    );
    let json = json!({"etag": tag_a, "registration": quid_a()});
    printed(
        &admin(url, Some(ADMIN), &["get", "quid-a", "--output", "json"]).await,
        &format!("{}\n", serde_json::to_string_pretty(&json).unwrap()),
    );

    // A page and its cursor, then every page.
    let page = parsed(
        &admin(
            url,
            Some(ADMIN),
            &["list", "--limit", "1", "--output", "json"],
        )
        .await,
    );
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(page["items"], json!([quid_a()]));
    let header = "ID      NAME   PROVIDER       CLIENT_ID      PROPERTIES\n";
    let row_a = "quid-a  App A  introspection  client-quid-a  -\n";
    printed(
        &admin(url, Some(ADMIN), &["list", "--limit", "1"]).await,
        &format!("{header}{row_a}next cursor: {cursor}\n"),
    );
    let rest = parsed(
        &admin(
            url,
            Some(ADMIN),
            &["list", "--cursor", &cursor, "--output", "json"],
        )
        .await,
    );
    assert_eq!(rest["items"][0]["id"], "quid-b");
    assert_eq!(rest["next_cursor"], Value::Null);
    let row_b = "quid-b  App B  introspection  client-quid-b  -\n";
    printed(
        &admin(url, Some(ADMIN), &["list", "--all"]).await,
        &format!("{header}{row_a}{row_b}"),
    );
    // --token instead of the variable (and over it).
    printed(
        &admin(url, Some("stale"), &["list", "--all", "--token", ADMIN]).await,
        &format!("{header}{row_a}{row_b}"),
    );

    // The property admin enables, replaces the roles, lists, disables.
    let enable = [
        "enable",
        "quid-a",
        "--property",
        "property-7",
        "--role",
        "reader",
    ];
    printed(
        &admin(url, Some(P7_TOKEN), &enable).await,
        "enabled quid-a in property-7 with roles [reader] (newly enabled)\n",
    );
    let both = [
        "enable",
        "quid-a",
        "--property",
        "property-7",
        "--role",
        "admin",
        "--role",
        "reader",
        "--output",
        "json",
    ];
    printed(
        &admin(url, Some(P7_TOKEN), &both).await,
        "{\n  \"created\": false,\n  \"property\": \"property-7\",\n  \"registration\": \"quid-a\",\n  \"roles\": [\n    \"admin\",\n    \"reader\"\n  ]\n}\n",
    );
    printed(
        &admin(
            url,
            Some(P7_TOKEN),
            &["enabled", "--property", "property-7"],
        )
        .await,
        "ID      NAME   ROLES\nquid-a  App A  admin,reader\n",
    );
    assert_eq!(
        parsed(
            &admin(
                url,
                Some(P7_TOKEN),
                &["enabled", "--property", "property-7", "--output", "json"]
            )
            .await
        ),
        json!({"items": [{"id": "quid-a", "name": "App A", "roles": ["admin", "reader"]}]})
    );
    printed(
        &admin(url, Some(ADMIN), &["list", "--all"]).await,
        &format!("{header}quid-a  App A  introspection  client-quid-a  property-7\n{row_b}"),
    );
    printed(
        &admin(
            url,
            Some(P7_TOKEN),
            &["disable", "quid-a", "--property", "property-7"],
        )
        .await,
        "disabled quid-a in property-7\n",
    );
    failed(
        &admin(
            url,
            Some(P7_TOKEN),
            &["disable", "quid-a", "--property", "property-7"],
        )
        .await,
        4,
        "fedauth admin: not_found (404): No such resource.\n  id (path): not enabled in this property [value: quid-a]\n",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_patch_delete_and_audit() {
    let url = &serve().await;
    // create: a TOML file; the server issues the id.
    let files = Files::new("create");
    let toml = files.write(
        "new.toml",
        "name = \"From TOML\"\nprovider = \"introspection\"\nclient_id = \"app-t\"\n\
         [introspection]\nendpoint = \"https://idp.example.com/introspect\"\nclient_id = \"rs\"\nclient_secret = \"tiny\"\n",
    );
    let created = admin(url, Some(ADMIN), &["create", &toml]).await;
    let field = |n: usize, name: &str| {
        let line = created.stdout.lines().nth(n).unwrap_or_default();
        line.strip_prefix(&format!("{name:<13}  "))
            .unwrap_or_else(|| panic!("{}", created.stdout))
            .to_owned()
    };
    let (id, tag) = (field(1, "id"), field(2, "etag"));
    assert!(
        id.starts_with("quid-") && tag.starts_with('"'),
        "{}",
        created.stdout
    );
    printed(
        &created,
        &format!(
            "FIELD          VALUE\n\
             id             {id}\n\
             etag           {tag}\n\
             client_id      app-t\n\
             introspection  {{\"client_id\":\"rs\",\"client_secret\":\"********\",\"endpoint\":\"https://idp.example.com/introspect\"}}\n\
             name           From TOML\n\
             provider       introspection\n"
        ),
    );
    let got = parsed(&admin(url, Some(ADMIN), &["get", &id, "--output", "json"]).await);
    assert_eq!(got["etag"], tag.as_str());

    // patch from a JSON file, the current ETag read first: the answer is
    // what a get then shows.
    let patch = files.write("patch.json", r#"{"name": "App A2", "roles": ["reader"]}"#);
    let before = parsed(&admin(url, Some(ADMIN), &["get", "quid-a", "--output", "json"]).await);
    let patched = parsed(
        &admin(
            url,
            Some(ADMIN),
            &["patch", "quid-a", &patch, "--output", "json"],
        )
        .await,
    );
    let mut expected = before["registration"].clone();
    expected["name"] = json!("App A2");
    expected["roles"] = json!(["reader"]);
    assert_eq!(patched["registration"], expected);
    assert_ne!(patched["etag"], before["etag"]);
    assert_eq!(
        patched,
        parsed(&admin(url, Some(ADMIN), &["get", "quid-a", "--output", "json"]).await)
    );
    // With the old ETag: refused, exit 6.
    let stale = before["etag"].as_str().unwrap();
    failed(
        &admin(
            url,
            Some(ADMIN),
            &["patch", "quid-a", &patch, "--if-match", stale],
        )
        .await,
        6,
        "fedauth admin: precondition_failed (412): If-Match is not the current ETag.\n  If-Match (header): is not the current ETag\n",
    );

    printed(
        &admin(url, Some(ADMIN), &["delete", "quid-b"]).await,
        "deleted quid-b\n",
    );
    printed(
        &admin(url, Some(ADMIN), &["delete", &id, "--output", "json"]).await,
        &format!("{{\n  \"deleted\": true,\n  \"registration\": \"{id}\"\n}}\n"),
    );
    failed(
        &admin(url, Some(ADMIN), &["get", "quid-b"]).await,
        4,
        "fedauth admin: not_found (404): No such resource.\n  id (path): no such registration [value: quid-b]\n",
    );

    // audit: the API's items, newest first, as JSON and as a table.
    let audit = parsed(&admin(url, Some(ADMIN), &["audit", "--output", "json"]).await);
    let items = audit["items"].as_array().unwrap();
    let column = |key: &str| -> Vec<&str> {
        items
            .iter()
            .map(|i| i[key].as_str().unwrap_or("-"))
            .collect()
    };
    assert_eq!(
        column("action"),
        [
            "registration.delete",
            "registration.delete",
            "registration.update",
            "registration.create"
        ]
    );
    assert_eq!(
        column("registration"),
        [id.as_str(), "quid-b", "quid-a", id.as_str()]
    );
    let at = column("at");
    let width = at.iter().map(|a| a.len()).max().unwrap();
    let mut table = format!(
        "{:<width$}  ACTOR     ACTION               REGISTRATION                           PROPERTY\n",
        "AT"
    );
    for (n, item) in items.iter().enumerate() {
        let (action, registration) = (column("action")[n], column("registration")[n]);
        table.push_str(&format!(
            "{:<width$}  platform  {action:<19}  {registration:<37}  -\n",
            at[n]
        ));
        assert_eq!(item["actor"], "platform");
    }
    printed(&admin(url, Some(ADMIN), &["audit"]).await, &table);
    let only_a = parsed(
        &admin(
            url,
            Some(ADMIN),
            &["audit", "--registration", "quid-a", "--output", "json"],
        )
        .await,
    );
    assert_eq!(only_a["items"], json!([items[2]]));
}

/// A server answering every request with `status`, `headers` and `body`;
/// the count of requests it saw.
async fn canned(
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let answer = move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let mut response = axum::response::Response::new(axum::body::Body::from(body));
        *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
        for (name, value) in &headers {
            response.headers_mut().insert(*name, value.parse().unwrap());
        }
        std::future::ready(response)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(answer)).await });
    (addr, hits)
}

/// A store whose every call fails, as a store that lost its disk.
struct Down;

#[async_trait::async_trait]
impl fedauth_admin::store::AdminStore for Down {
    async fn get(&self, _: &str) -> Result<Option<Stored>, StoreError> {
        Err(StoreError::Unavailable("disk gone".into()))
    }
    async fn list(&self, _: Option<&str>, _: usize) -> Result<Vec<Stored>, StoreError> {
        Err(StoreError::Unavailable("disk gone".into()))
    }
    async fn enabled_in(&self, _: &str) -> Result<Vec<Stored>, StoreError> {
        Err(StoreError::Unavailable("disk gone".into()))
    }
    async fn apply(&self, _: Change) -> Result<Option<Stored>, StoreError> {
        Err(StoreError::Unavailable("disk gone".into()))
    }
    async fn audit(&self, _: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        Err(StoreError::Unavailable("disk gone".into()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_exit_with_their_own_status_and_the_apis_message() {
    let url = &serve().await;
    failed(
        &admin(url, Some("not-a-known-token"), &["get", "quid-a"]).await,
        3,
        "fedauth admin: unauthorized (401): An admin credential is required.\n",
    );
    failed(
        &admin(url, Some(P7_TOKEN), &["list"]).await,
        3,
        "fedauth admin: forbidden (403): This credential may not do this.\n",
    );
    let files = Files::new("refusals");
    let bad = files.write(
        "bad.json",
        r#"{"provider": "jwks", "client_id": "a", "jwks_uri": "https://idp.example.com/keys", "algorithms": ["HS256"]}"#,
    );
    failed(
        &admin(url, Some(ADMIN), &["create", &bad]).await,
        5,
        "fedauth admin: validation_failed (422): The request is not valid.\n  \
         algorithms (body): HS256 is a symmetric algorithm and is never accepted [value: [\"HS256\"]]\n",
    );
    failed(
        &admin(url, Some(ADMIN), &["list", "--limit", "0"]).await,
        5,
        "fedauth admin: validation_failed (422): The request is not valid.\n  \
         limit (query): must be an integer from 1 to 500 [value: 0]\n",
    );
    failed(
        &admin(
            url,
            Some(ADMIN),
            &["patch", "quid-a", &bad, "--if-match", "\"x\""],
        )
        .await,
        6,
        "fedauth admin: precondition_failed (412): If-Match is not the current ETag.\n  If-Match (header): is not the current ETag\n",
    );

    // A store that fails: 503, exit 7.
    let api = AdminApi::builder(Arc::new(Down), Arc::new(StaticTokens::new(ADMIN))).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        async move { axum::serve(listener, fedauth_admin::axum::router(Arc::new(api))).await },
    );
    failed(
        &admin(&down, Some(ADMIN), &["list"]).await,
        7,
        "fedauth admin: store_unavailable (503): The registry store is unavailable; retry later.\n",
    );

    // Usage errors: exit 2.
    for (args, message) in [
        (&["list"][..], None),
        (
            &["list", "--output", "yaml"],
            Some("--output \"yaml\": expected json or table"),
        ),
        (
            &["frobnicate"],
            Some(
                "unknown admin subcommand \"frobnicate\" (create, get, list, patch, delete, enable, disable, enabled, audit)",
            ),
        ),
        (&["enable", "quid-a"], Some("--property is required")),
        (&["patch", "quid-a"], Some("patch needs ID and FILE")),
    ] {
        let token = message.map(|_| ADMIN);
        let message = message.unwrap_or("--token (or $FEDAUTH_ADMIN_TOKEN) is required");
        failed(
            &admin(url, token, args).await,
            2,
            &format!("fedauth: {message}\nRun `fedauth --help` for usage.\n"),
        );
    }
    let help = admin(url, None, &["--help"]).await;
    assert!(
        help.code == 0
            && help
                .stdout
                .starts_with("fedauth admin: register applications"),
        "{}",
        help.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_or_a_redirect_is_exit_1_and_the_token_goes_nowhere_else() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let run = admin(
        &format!("http://127.0.0.1:{port}"),
        Some(ADMIN),
        &["get", "quid-a"],
    )
    .await;
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    let want = format!(
        "fedauth admin: GET http://127.0.0.1:{port}/admin/v1/registrations/quid-a: cannot connect"
    );
    assert!(run.stderr.starts_with(&want), "{}", run.stderr);

    let (elsewhere, elsewhere_hits) = canned(200, vec![], "{}").await;
    let target = format!("http://{elsewhere}/admin/v1/registrations/quid-a");
    let (addr, hits) = canned(307, vec![("location", target)], "").await;
    failed(
        &admin(&format!("http://{addr}"), Some(ADMIN), &["get", "quid-a"]).await,
        1,
        &format!(
            "fedauth admin: GET http://{addr}/admin/v1/registrations/quid-a: the server answered 307 \
             (a redirect); it is not followed, so the token goes to --url only\n"
        ),
    );
    assert_eq!(
        (
            hits.load(Ordering::SeqCst),
            elsewhere_hits.load(Ordering::SeqCst)
        ),
        (1, 0)
    );

    let (other, _) = canned(404, vec![], "not here\n").await;
    failed(
        &admin(&format!("http://{other}/"), Some(ADMIN), &["list"]).await,
        1,
        &format!(
            "fedauth admin: GET http://{other}/admin/v1/registrations: the server answered 404 with a body \
             that is not JSON (is --url the admin API's server?)\n"
        ),
    );
}
