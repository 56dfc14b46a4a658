//! Reload and watch: a bad edit keeps the last good registry, a good one is
//! picked up.

use std::sync::Arc;
use std::time::Duration;

use super::TempFile;
use crate::registration::{Provider, Registration};
use crate::registry::{FileRegistry, InMemoryRegistry, RegistryLoadError, RegistrySource};

fn entry(id: &str, client_id: &str) -> String {
    format!(
        "[[registrations]]\nid = \"{id}\"\nprovider = \"jwks\"\nclient_id = \"{client_id}\"\n\
         jwks_uri = \"https://idp.example.com/keys\"\n\n"
    )
}

#[tokio::test]
async fn reload_keeps_the_last_good_registry() {
    let file = TempFile::new("toml", &entry("quid-1", "app-1"));
    let registry = FileRegistry::load(&file.path).unwrap();
    assert_eq!(
        registry.get("quid-1").await.unwrap().unwrap().client_id(),
        Some("app-1")
    );

    file.write(&format!(
        "{}algorithms = [\"HS256\"]\n",
        entry("quid-1", "app-2")
    ));
    let err = registry.reload().unwrap_err();
    assert!(
        err.to_string().contains(&file.path.display().to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("algorithms"), "{err}");
    let kept = registry.get("quid-1").await.unwrap().unwrap();
    assert_eq!(kept.client_id(), Some("app-1"));

    file.write("[[registrations]\nbroken");
    assert!(matches!(
        registry.reload(),
        Err(RegistryLoadError::Syntax { .. })
    ));
    std::fs::remove_file(&file.path).unwrap();
    assert!(matches!(
        registry.reload(),
        Err(RegistryLoadError::Read { .. })
    ));
    assert_eq!(registry.registrations().len(), 1);

    file.write(&format!(
        "{}{}",
        entry("quid-1", "app-2"),
        entry("quid-2", "app-3")
    ));
    assert_eq!(registry.reload().unwrap(), 2);
    assert_eq!(
        registry.get("quid-1").await.unwrap().unwrap().client_id(),
        Some("app-2")
    );
    assert_eq!(
        registry
            .registrations()
            .ids()
            .iter()
            .map(|i| i.as_str())
            .collect::<Vec<_>>(),
        ["quid-1", "quid-2"]
    );
    assert!(registry.get("quid-3").await.unwrap().is_none());
}

/// Poll `check` for up to 5 s.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..250 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_picks_up_changes_and_survives_bad_ones() {
    let file = TempFile::new("json", r#"{"registrations": []}"#);
    let registry = Arc::new(FileRegistry::load(&file.path).unwrap());
    assert!(registry.registrations().is_empty());
    let handle = registry.watch(Duration::from_millis(20));

    file.write(
        r#"{"registrations": [{"id": "quid-new", "provider": "jwks", "client_id": "a",
            "jwks_uri": "https://idp.example.com/keys"}]}"#,
    );
    eventually("the new registration", || {
        registry.registrations().get("quid-new").is_some()
    })
    .await;

    // A bad edit: the watcher logs and keeps serving the last good set.
    file.write(r#"{"registrations": [{"id": "quid-new", "provider": "okta"}]}"#);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(registry.registrations().get("quid-new").is_some());
    assert!(!handle.is_finished());

    // A good edit after the bad one is picked up.
    file.write(
        r#"{"registrations": [{"id": "quid-newer", "provider": "jwks", "client_id": "b",
            "jwks_uri": "https://idp.example.com/keys"}, {"id": "quid-new", "provider": "jwks",
            "client_id": "a", "jwks_uri": "https://idp.example.com/keys"}]}"#,
    );
    eventually("the second change", || {
        registry.registrations().get("quid-newer").is_some()
    })
    .await;
    assert_eq!(registry.registrations().len(), 2);

    // The task ends once the registry is dropped.
    drop(registry);
    for _ in 0..250 {
        if handle.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(handle.is_finished());
}

#[tokio::test]
async fn in_memory_registry() {
    let reg = |id: &str| {
        Registration::builder(id, Provider::Jwks)
            .client_id("a")
            .jwks_uri("https://idp.example.com/keys")
            .build()
            .unwrap()
    };
    let err = InMemoryRegistry::new(vec![reg("q1"), reg("q1")]).unwrap_err();
    assert!(err.to_string().contains("field \"id\""), "{err}");
    let registry = InMemoryRegistry::new(vec![reg("q1")]).unwrap();
    assert!(registry.get("q1").await.unwrap().is_some());
    assert!(registry.insert(reg("q2")).is_none());
    assert!(registry.insert(reg("q2")).is_some());
    assert_eq!(registry.registrations().len(), 2);
    assert!(registry.remove("q1").is_some());
    assert!(registry.get("q1").await.unwrap().is_none());
    assert!(registry.replace_all(vec![reg("q3"), reg("q3")]).is_err());
    assert_eq!(
        registry.registrations().ids().len(),
        1,
        "a refused replace changes nothing"
    );
    registry.replace_all(vec![reg("q3"), reg("q4")]).unwrap();
    assert_eq!(
        registry
            .registrations()
            .ids()
            .iter()
            .map(|i| i.as_str())
            .collect::<Vec<_>>(),
        ["q3", "q4"]
    );
    // Shared sources work through the Arc blanket impl.
    let shared: Arc<dyn RegistrySource> = Arc::new(Arc::new(registry));
    assert!(shared.get("q4").await.unwrap().is_some());
    assert!(shared.describe().contains("2 registrations"));
}
