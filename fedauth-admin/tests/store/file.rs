//! The file store's own behaviour: the file it writes (format, order,
//! secrets, permissions) still loads in the core; the serving registry sees
//! a change before it is answered; other tools' edits; the writer's lock;
//! and failures at each step of a change (a read-only directory, an
//! unrenameable file, an unwritable log, a crash) that leave the registry
//! file and the audit log exactly as they were.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fedauth_admin::store::{AdminStore, AuditQuery, FileStore, Precondition, StoreError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower_fedauth::registry::{FileRegistry, RegistryLoadError, check_registry_file};

use crate::Fixture;
use crate::suite::{create, created, delete, doc, renamed, seqs, update};

pub const EMPTY_TOML: &str = "registrations = []\n";
const EMPTY_JSON: &str = "{\"registrations\": []}\n";

/// A directory of its own under the target directory (a real disk:
/// `chattr` works there), removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "fedauth-admin-store-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Writes `text` to `name` in the directory; its path.
    pub fn registry(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = Command::new("chattr")
            .arg("-R")
            .arg("-i")
            .arg(&self.0)
            .output();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn empty_store(name: &str, text: &str) -> Fixture {
    let dir = TempDir::new("suite");
    let store = FileStore::open(dir.registry(name, text)).unwrap();
    Fixture::new(store, dir)
}

pub async fn empty_toml_store() -> Fixture {
    empty_store("registry.toml", EMPTY_TOML).await
}

pub async fn empty_json_store() -> Fixture {
    empty_store("registry.json", EMPTY_JSON).await
}

/// Sets or clears the immutable attribute (`chattr +i`): what stops root
/// too, where permission bits do not. Needs root on a file system with
/// attributes (the target directory's, as scripts/test.sh runs).
fn immutable(path: &Path, on: bool) {
    let out = Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("chattr: {e} (install e2fsprogs)"));
    assert!(
        out.status.success(),
        "chattr {} failed: {} — these failure tests need root on a file system with attributes (ext4, xfs, btrfs)",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The registry file and the audit log, byte for byte, and whether a
/// temporary file is left.
fn files(store: &FileStore) -> (Vec<u8>, Vec<u8>, bool) {
    let mut temp = store.path().as_os_str().to_owned();
    temp.push(".tmp");
    (
        std::fs::read(store.path()).unwrap(),
        std::fs::read(store.audit_path()).unwrap_or_default(),
        Path::new(&temp).exists(),
    )
}

/// The examples of docs/registry.md, every provider, in both formats.
const SPEC_TOML: &str = include_str!("../../../fuzz/seeds/registry/spec.toml");
const SPEC_JSON: &str = include_str!("../../../fuzz/seeds/registry/spec.json");
const SPEC_IDS: [&str; 8] = [
    "quid-azure-1",
    "quid-cognito-1",
    "quid-auth0-1",
    "quid-firebase-1",
    "quid-oidc-1",
    "quid-minimal-1",
    "quid-opaque-1",
    "quid-quickblox-style-1",
];

/// A store on a fresh empty TOML registry.
fn opened(name: &str) -> (TempDir, FileStore) {
    let dir = TempDir::new(name);
    let store = FileStore::open(dir.registry("registry.toml", EMPTY_TOML)).unwrap();
    (dir, store)
}

/// Create, change and delete through the store; the file keeps its format,
/// its order, its real secrets, and loads in the core and in
/// `fedauth registry check`; a new store reads the same state.
async fn written_file_still_loads(name: &str, text: &str) {
    let dir = TempDir::new("format");
    let path = dir.registry(name, text);
    let store = FileStore::open(&path).unwrap();
    let azure = store.get("quid-azure-1").await.unwrap().unwrap();
    let properties = json!({"property-42": ["admin", "reader"]});
    assert_eq!(azure.document["properties"], properties);
    let enabled_in = |p: Value| doc("quid-new-1", json!({ "properties": p }));
    store
        .apply(create("quid-new-1", enabled_in(json!({"p-7": ["reader"]}))))
        .await
        .unwrap();
    let mut enabled = azure.document.clone();
    enabled["properties"]["p-7"] = json!(["admin"]);
    let matches = Precondition::Matches(azure.etag);
    store
        .apply(update("quid-azure-1", matches, enabled))
        .await
        .unwrap();
    let gone = "quid-quickblox-style-1";
    store
        .apply(delete(gone, Precondition::Exists))
        .await
        .unwrap();

    let written = std::fs::read_to_string(&path).unwrap();
    if name.ends_with(".toml") {
        let start = "[[registrations]]\nid = \"quid-azure-1\"\n";
        assert!(written.starts_with(start), "{written}");
    } else {
        let doc: Value = serde_json::from_str(&written).unwrap();
        assert_eq!(doc["registrations"][0]["id"], "quid-azure-1");
    }
    assert!(
        written.contains("\"s3cret\""),
        "the file keeps the real secret"
    );
    // Every registration still there, in file order, the new one last.
    let mut ids: Vec<&str> = SPEC_IDS.into_iter().filter(|id| *id != gone).collect();
    ids.push("quid-new-1");
    let loaded = FileRegistry::load(&path).unwrap();
    assert_eq!(loaded.registrations().len(), ids.len());
    let positions: Vec<usize> = ids.iter().map(|id| written.find(id).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{written}");
    for id in &ids {
        assert!(
            loaded.registrations().get(id).is_some(),
            "{id} in {written}"
        );
    }
    let problems: Vec<String> = check_registry_file(&path)
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(problems.is_empty(), "{problems:?}");

    let before = store.list(None, 10).await.unwrap();
    let log = store.audit(&AuditQuery::new(10)).await.unwrap();
    drop(store);
    let reopened = FileStore::open(&path).unwrap();
    assert_eq!(reopened.list(None, 10).await.unwrap(), before);
    assert_eq!(reopened.audit(&AuditQuery::new(10)).await.unwrap(), log);
    ids.sort();
    assert_eq!(
        before.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(seqs(&reopened).await, [3, 2, 1]);
}

#[tokio::test]
async fn a_toml_file_is_written_as_toml_and_still_loads() {
    written_file_still_loads("registry.toml", SPEC_TOML).await;
}

#[tokio::test]
async fn a_json_file_is_written_as_json_and_still_loads() {
    written_file_still_loads("registry.json", SPEC_JSON).await;
}

#[tokio::test]
async fn the_serving_registry_sees_a_change_before_it_is_answered() {
    let dir = TempDir::new("serving");
    let path = dir.registry("registry.toml", EMPTY_TOML);
    let registry = Arc::new(FileRegistry::load(&path).unwrap());
    let store = FileStore::open(&path)
        .unwrap()
        .with_registry(registry.clone());
    created(&store, "quid-1").await;
    assert!(registry.registrations().get("quid-1").is_some());
    store
        .apply(delete("quid-1", Precondition::Exists))
        .await
        .unwrap();
    assert!(registry.registrations().get("quid-1").is_none());
}

#[tokio::test]
async fn another_tools_edit_is_read_and_kept() {
    let (_dir, store) = opened("edit");
    created(&store, "quid-1").await;
    let mut text = std::fs::read_to_string(store.path()).unwrap();
    text.push_str("[[registrations]]\nid = \"by-hand\"\nprovider = \"jwks\"\n");
    text.push_str("client_id = \"c\"\njwks_uri = \"https://idp.example.com/k\"\n");
    std::fs::write(store.path(), text).unwrap();
    let by_hand = store.get("by-hand").await.unwrap().unwrap();
    assert_eq!(by_hand.document["client_id"], "c");
    created(&store, "quid-2").await;
    let loaded = FileRegistry::load(store.path()).unwrap();
    for id in ["quid-1", "by-hand", "quid-2"] {
        assert!(loaded.registrations().get(id).is_some(), "{id}");
    }
}

const UNKNOWN_PROVIDER: &str = "[[registrations]]\nid = \"x\"\nprovider = \"nope\"\n";

#[tokio::test]
async fn a_file_broken_on_disk_refuses_writes_and_keeps_serving_reads() {
    let (_dir, store) = opened("broken");
    let kept = created(&store, "quid-1").await;
    std::fs::write(store.path(), UNKNOWN_PROVIDER).unwrap();
    let before = files(&store);
    let refused = store
        .apply(create("quid-2", doc("quid-2", json!({}))))
        .await;
    let message = match refused {
        Err(StoreError::Unavailable(message)) => message,
        other => panic!("{other:?}"),
    };
    assert!(message.contains("does not load"), "{message}");
    assert_eq!(files(&store), before);
    assert_eq!(store.get("quid-1").await.unwrap(), Some(kept));
}

#[tokio::test]
async fn open_refuses_what_does_not_load_naming_the_file() {
    let dir = TempDir::new("open");
    let broken = dir.registry("broken.toml", UNKNOWN_PROVIDER);
    let error = FileStore::open(&broken).unwrap_err();
    assert_eq!(error.path(), Some(broken.as_path()));
    let field = error.registration_error().map(|e| e.field.as_str());
    assert_eq!(field, Some("provider"));
    let yaml = FileStore::open(dir.registry("registry.yaml", EMPTY_TOML));
    assert!(matches!(yaml, Err(RegistryLoadError::UnknownFormat { .. })));
    let missing = FileStore::open(dir.0.join("missing.toml")).unwrap_err();
    assert!(
        matches!(missing, RegistryLoadError::Read { .. }),
        "{missing}"
    );
}

#[tokio::test]
async fn a_second_writer_is_refused_at_once_until_the_first_is_gone() {
    let (_dir, first) = opened("lock");
    created(&first, "quid-1").await;
    // flock is per open file description: a second open in this process
    // is refused as another process would be.
    let second = FileStore::open(first.path()).unwrap();
    let before = files(&second);
    let started = Instant::now();
    let refused = second
        .apply(create("quid-2", doc("quid-2", json!({}))))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let message = match refused {
        Err(StoreError::Unavailable(message)) => message,
        other => panic!("{other:?}"),
    };
    assert!(message.contains("lock"), "{message}");
    assert_eq!(files(&second), before);
    assert!(
        second.get("quid-1").await.unwrap().is_some(),
        "reads need no lock"
    );
    drop(first);
    // Free once the first is gone: at once, unless a child process that
    // another test forks that instant still holds a copy of the descriptor
    // until its exec.
    let mut retries = 0;
    while let Err(error) = second
        .apply(create("quid-2", doc("quid-2", json!({}))))
        .await
    {
        assert!(retries < 40, "{error:?}");
        retries += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seqs(&second).await, [2, 1]);
}

#[cfg(unix)]
#[tokio::test]
async fn the_file_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, store) = opened("mode");
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    std::fs::set_permissions(store.path(), PermissionsExt::from_mode(0o640)).unwrap();
    created(&store, "quid-1").await;
    assert_eq!(mode(store.path()), 0o640);
    assert_eq!(mode(store.audit_path()), 0o640);
}

/// A store with one change made, and the state of its files.
async fn one_change(name: &str) -> (TempDir, FileStore, (Vec<u8>, Vec<u8>, bool)) {
    let (dir, store) = opened(name);
    created(&store, "quid-1").await;
    let state = files(&store);
    assert!(!state.1.is_empty());
    (dir, store, state)
}

/// The change that each failure test attempts, then makes again once the
/// fault is gone: it lands with the next seq.
async fn refused_then_applied(
    store: &FileStore,
    before: &(Vec<u8>, Vec<u8>, bool),
    undo: impl FnOnce(),
) {
    let change = || renamed("quid-1", Precondition::Exists, "changed");
    let refused = store.apply(change()).await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    assert_eq!(
        &files(store),
        before,
        "both files as they were, no temporary file"
    );
    let unchanged = store.get("quid-1").await.unwrap().unwrap();
    assert_eq!(unchanged.document, doc("quid-1", json!({})));
    undo();
    store.apply(change()).await.unwrap();
    assert_eq!(seqs(store).await, [2, 1]);
    let loaded = FileRegistry::load(store.path()).unwrap();
    let name = loaded.registrations().get("quid-1").unwrap().name.clone();
    assert_eq!(name.as_deref(), Some("changed"));
}

#[tokio::test]
async fn a_read_only_directory_mid_way_leaves_both_files_as_they_were() {
    let (dir, store, before) = one_change("readonly").await;
    immutable(&dir.0, true);
    refused_then_applied(&store, &before, || immutable(&dir.0, false)).await;
}

#[tokio::test]
async fn a_failed_rename_cuts_the_audit_line_back() {
    // The temporary file and the audit line are written; the rename over an
    // immutable file fails: the line must go.
    let (_dir, store, before) = one_change("rename").await;
    immutable(store.path(), true);
    refused_then_applied(&store, &before, || immutable(store.path(), false)).await;
}

#[tokio::test]
async fn an_unwritable_audit_log_leaves_the_registry_file_as_it_was() {
    let (_dir, store, before) = one_change("audit").await;
    immutable(store.audit_path(), true);
    refused_then_applied(&store, &before, || immutable(store.audit_path(), false)).await;
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_crash_between_the_audit_line_and_the_rename_is_undone_at_the_next_open() {
    let (_dir, store, (registry, log, _)) = one_change("crash").await;
    let (path, audit_path) = (store.path().to_path_buf(), store.audit_path().to_path_buf());
    drop(store);
    // What a process killed after its append and before its rename leaves:
    // a line naming the file's current digest as `before`, then a torn one.
    let mut orphan: Value = serde_json::from_slice(log.trim_ascii_end()).unwrap();
    orphan["seq"] = json!(2);
    orphan["action"] = json!("registration.update");
    orphan["file"] = json!({"before": hex(&registry), "after": hex(b"never written")});
    let mut crashed = log.clone();
    crashed.extend(serde_json::to_vec(&orphan).unwrap());
    crashed.extend(b"\n{\"seq\": 3, \"at\"");
    std::fs::write(&audit_path, &crashed).unwrap();

    let store = FileStore::open(&path).unwrap();
    assert_eq!(std::fs::read(&audit_path).unwrap(), log);
    assert_eq!(seqs(&store).await, [1]);
    store
        .apply(delete("quid-1", Precondition::Exists))
        .await
        .unwrap();
    assert_eq!(seqs(&store).await, [2, 1]);
}

#[tokio::test]
async fn a_landed_change_is_kept_at_the_next_open() {
    let (_dir, store, (_, log, _)) = one_change("landed").await;
    let (path, audit_path) = (store.path().to_path_buf(), store.audit_path().to_path_buf());
    drop(store);
    FileStore::open(&path).unwrap();
    assert_eq!(std::fs::read(audit_path).unwrap(), log);
}
