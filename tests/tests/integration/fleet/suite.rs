//! One behaviour suite for every registry source (as tower-sessions does
//! for its stores): known id, unknown id, an invalid registration refused
//! with its id, an update and a removal visible after the change reaches
//! the cache, and a source that goes down.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tower_fedauth::Registration;
use tower_fedauth::registry::{
    CacheConfig, CachedRegistry, FileRegistry, HttpRegistry, HttpRegistryConfig, InMemoryRegistry,
    RegistrySource,
};

use super::servers::{self, Service};

/// What a source does once its backing store is gone.
pub enum WhenDown {
    /// Lookups fail (the authenticator answers 503 `registry_unavailable`).
    Errors,
    /// Lookups keep serving the last good registry (a file source).
    KeepsServing,
}

/// A registry source under test and the means to change what it serves.
pub trait Harness {
    /// The source.
    fn source(&self) -> Arc<dyn RegistrySource>;
    /// Bind change notifications to the cache in front of the source.
    async fn attach(&self, _cache: &CachedRegistry) {}
    /// Serve this registration (JSON form), replacing one with its id.
    async fn put(&self, raw: Value);
    /// Stop serving this id.
    async fn remove(&self, id: &str);
    /// Try to serve an invalid registration: `Err(message)` when the
    /// source refuses it at once.
    async fn put_invalid(&self, raw: Value) -> Result<(), String>;
    /// Make a change reach `cache` (invalidate, or nothing when the source
    /// notifies by itself).
    async fn changed(&self, cache: &CachedRegistry, id: &str);
    /// Take the backing store away.
    async fn go_down(&self) -> WhenDown;
}

/// A valid registration's JSON form.
pub fn registration(id: &str, client_id: &str) -> Value {
    json!({
        "id": id,
        "provider": "jwks",
        "client_id": client_id,
        "jwks_uri": "https://idp.example.com/keys",
    })
}

/// A registration that breaks a rule (`HS256` is never allowed).
pub fn invalid_registration(id: &str) -> Value {
    let mut raw = registration(id, "app-bad");
    raw["algorithms"] = json!(["HS256"]);
    raw
}

/// Poll `check` until it holds or `bound` passes.
pub async fn eventually<F, Fut>(bound: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + bound;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn client_id(cache: &CachedRegistry, id: &str) -> Option<String> {
    match cache.get(id).await {
        Ok(Some(reg)) => reg.client_id.clone(),
        _ => None,
    }
}

/// The suite. `name` labels assertion failures.
pub async fn run(name: &str, h: &impl Harness) {
    h.put(registration("quid-a", "app-a")).await;
    h.put(registration("quid-cold", "app-cold")).await;
    let cache = CachedRegistry::new(
        h.source(),
        CacheConfig::default()
            .ttl(Duration::from_secs(600))
            .negative_ttl(Duration::from_secs(600))
            .max_entries(1000),
    );
    h.attach(&cache).await;

    // Known and unknown ids.
    let reg = cache
        .get("quid-a")
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        reg.and_then(|r| r.client_id.clone()).as_deref(),
        Some("app-a"),
        "{name}"
    );
    assert!(
        cache.get("quid-unknown").await.unwrap().is_none(),
        "{name}: unknown id"
    );

    // An invalid registration is never served, and the error names it.
    match h.put_invalid(invalid_registration("quid-bad")).await {
        Err(message) => assert!(
            message.contains("quid-bad") && message.contains("algorithms"),
            "{name}: {message}"
        ),
        Ok(()) => {
            let e = cache
                .get("quid-bad")
                .await
                .expect_err(&format!("{name}: an invalid registration must be refused"));
            assert!(
                e.message().contains("quid-bad") && e.message().contains("algorithms"),
                "{name}: {}",
                e.message()
            );
        }
    }
    assert_eq!(
        client_id(&cache, "quid-a").await.as_deref(),
        Some("app-a"),
        "{name}"
    );

    // An update, a new id (negative-cached before) and a removal.
    h.put(registration("quid-a", "app-a2")).await;
    h.changed(&cache, "quid-a").await;
    let updated = eventually(Duration::from_secs(1), || async {
        client_id(&cache, "quid-a").await.as_deref() == Some("app-a2")
    });
    assert!(updated.await, "{name}: update not visible within 1 s");
    h.put(registration("quid-unknown", "app-new")).await;
    h.changed(&cache, "quid-unknown").await;
    let added = eventually(Duration::from_secs(1), || async {
        client_id(&cache, "quid-unknown").await.as_deref() == Some("app-new")
    });
    assert!(
        added.await,
        "{name}: new registration not visible within 1 s"
    );
    h.remove("quid-a").await;
    h.changed(&cache, "quid-a").await;
    let removed = eventually(Duration::from_secs(1), || async {
        matches!(cache.get("quid-a").await, Ok(None))
    });
    assert!(removed.await, "{name}: removal not visible within 1 s");

    // The backing store goes away.
    match h.go_down().await {
        WhenDown::Errors => {
            let e = cache.get("quid-cold").await;
            assert!(
                e.is_err(),
                "{name}: a source that is down must fail, got {e:?}"
            );
        }
        WhenDown::KeepsServing => {
            let reg = cache.get("quid-cold").await.expect(name);
            assert!(
                reg.is_some(),
                "{name}: keeps serving the last good registry"
            );
        }
    }
}

/// In memory: validated on insert, so an invalid registration is refused
/// at once; never down.
struct Memory(Arc<InMemoryRegistry>);

impl Harness for Memory {
    fn source(&self) -> Arc<dyn RegistrySource> {
        self.0.clone()
    }
    async fn put(&self, raw: Value) {
        let reg: Registration = serde_json::from_value(raw).expect("valid registration");
        self.0.insert(reg);
    }
    async fn remove(&self, id: &str) {
        self.0.remove(id);
    }
    async fn put_invalid(&self, raw: Value) -> Result<(), String> {
        let reg: Registration = serde_json::from_value(raw).map_err(|e| e.to_string())?;
        self.0.insert(reg);
        Ok(())
    }
    async fn changed(&self, cache: &CachedRegistry, id: &str) {
        cache.invalidate(id);
    }
    async fn go_down(&self) -> WhenDown {
        WhenDown::KeepsServing
    }
}

/// A registry file, rewritten and reloaded on each change; a bad file is
/// refused at reload (naming the registration), a missing one keeps the
/// last good registry.
struct File {
    path: std::path::PathBuf,
    entries: Mutex<Vec<Value>>,
    registry: Mutex<Option<Arc<FileRegistry>>>,
}

impl File {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "fedauth-suite-{}-{:?}.json",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, r#"{"registrations": []}"#).unwrap();
        let registry = Arc::new(FileRegistry::load(&path).unwrap());
        Self {
            path,
            entries: Mutex::new(Vec::new()),
            registry: Mutex::new(Some(registry)),
        }
    }

    fn registry(&self) -> Arc<FileRegistry> {
        self.registry.lock().unwrap().clone().unwrap()
    }

    fn write_and_reload(&self, entries: &[Value]) -> Result<usize, String> {
        let doc = json!({ "registrations": entries });
        std::fs::write(&self.path, doc.to_string()).unwrap();
        self.registry().reload().map_err(|e| e.to_string())
    }

    fn upsert(&self, raw: Value) -> Vec<Value> {
        let mut entries = self.entries.lock().unwrap().clone();
        entries.retain(|e| e["id"] != raw["id"]);
        entries.push(raw);
        entries
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Harness for File {
    fn source(&self) -> Arc<dyn RegistrySource> {
        self.registry()
    }
    async fn put(&self, raw: Value) {
        let entries = self.upsert(raw);
        self.write_and_reload(&entries)
            .expect("valid registry file");
        *self.entries.lock().unwrap() = entries;
    }
    async fn remove(&self, id: &str) {
        let mut entries = self.entries.lock().unwrap().clone();
        entries.retain(|e| e["id"] != id);
        self.write_and_reload(&entries)
            .expect("valid registry file");
        *self.entries.lock().unwrap() = entries;
    }
    async fn put_invalid(&self, raw: Value) -> Result<(), String> {
        let entries = self.upsert(raw);
        self.write_and_reload(&entries)?;
        Ok(())
    }
    async fn changed(&self, cache: &CachedRegistry, id: &str) {
        cache.invalidate(id);
    }
    async fn go_down(&self) -> WhenDown {
        std::fs::remove_file(&self.path).unwrap();
        assert!(
            self.registry().reload().is_err(),
            "reload of a missing file fails"
        );
        WhenDown::KeepsServing
    }
}

/// The registry service over HTTP: it serves whatever it holds, so an
/// invalid registration is refused when read.
pub struct Http {
    pub service: Service,
    pub registry: Arc<HttpRegistry>,
}

impl Http {
    pub async fn start(config: HttpRegistryConfig) -> Self {
        let service = servers::start("registrations").await;
        let registry = HttpRegistry::new(
            &service.base,
            config
                .clone()
                .client(config.client.egress(tower_fedauth::testkit::local_egress())),
        )
        .unwrap();
        Self {
            service,
            registry: Arc::new(registry),
        }
    }
}

impl Harness for Http {
    fn source(&self) -> Arc<dyn RegistrySource> {
        self.registry.clone()
    }
    async fn put(&self, raw: Value) {
        let id = raw["id"].as_str().unwrap().to_owned();
        self.service.knobs.put(&id, raw);
    }
    async fn remove(&self, id: &str) {
        self.service.knobs.remove(id);
    }
    async fn put_invalid(&self, raw: Value) -> Result<(), String> {
        self.put(raw).await;
        Ok(())
    }
    async fn changed(&self, cache: &CachedRegistry, id: &str) {
        cache.invalidate(id);
    }
    async fn go_down(&self) -> WhenDown {
        self.service.knobs.set_status(Some(503));
        WhenDown::Errors
    }
}

#[tokio::test]
async fn suite_in_memory() {
    run("in-memory", &Memory(Arc::new(InMemoryRegistry::default()))).await;
}

#[tokio::test]
async fn suite_file() {
    run("file", &File::new()).await;
}

#[tokio::test]
async fn suite_http() {
    run("http", &Http::start(HttpRegistryConfig::default()).await).await;
}
