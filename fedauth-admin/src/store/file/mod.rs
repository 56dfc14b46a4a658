//! The file store: the registry file the core's `FileRegistry` serves,
//! rewritten whole and atomically on each change, in the format it was
//! read in, with the audit log as JSON lines beside it.
//!
//! A change, under the writer's lock: re-read the file if it changed on
//! disk; check the precondition; write the new file to `<file>.tmp` and
//! fsync it; append the audit line and fsync it; rename the temporary file
//! over the registry file and fsync the directory. A failure before the
//! rename removes the temporary file and cuts the audit line back, so the
//! registry file and the audit log are exactly as they were.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tower_fedauth::registry::{FileRegistry, RegistryFormat, RegistryLoadError};

use super::{AdminStore, AuditQuery, AuditRecord, Change, StoreError, Stored};

mod journal;
mod snapshot;
mod write;

use journal::{Digests, Line};
use snapshot::{Snapshot, Stamp};
use write::WriterLock;

/// Registrations in the registry file (TOML or JSON, see the repository's
/// `docs/registry.md`), the audit log in `<registry file>.audit.jsonl`.
///
/// One writer process at a time: the first store to take the advisory
/// lock on `<registry file>.lock` keeps it until it is dropped; another
/// store's changes fail with [`StoreError::Unavailable`] meanwhile, at once.
/// Reads see edits made by other tools (the file is read again when it
/// changed on disk). Cheap to clone (clones share the file and the lock).
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    format: RegistryFormat,
    audit_path: PathBuf,
    lock_path: PathBuf,
    temp_path: PathBuf,
    registry: Mutex<Option<Arc<FileRegistry>>>,
    state: Mutex<State>,
}

struct State {
    snapshot: Snapshot,
    stamp: Option<Stamp>,
    lock: Option<WriterLock>,
}

impl FileStore {
    /// Opens the registry file (it must load, as the core's loader reads
    /// it) and takes the writer's lock if no one holds it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RegistryLoadError> {
        let given = path.as_ref();
        let read_error = |source| RegistryLoadError::Read {
            path: given.to_path_buf(),
            source,
        };
        // The real file, so the rename replaces it and not a symlink to it.
        let path = std::fs::canonicalize(given).map_err(read_error)?;
        let format =
            RegistryFormat::from_path(&path).ok_or_else(|| RegistryLoadError::UnknownFormat {
                path: given.to_path_buf(),
            })?;
        let stamp = Stamp::of(&path).ok();
        let bytes = std::fs::read(&path).map_err(read_error)?;
        let snapshot = Snapshot::parse(&bytes, format).map_err(|e| in_file(e, given))?;
        let beside = |suffix: &str| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        let inner = Inner {
            audit_path: beside(".audit.jsonl"),
            lock_path: beside(".lock"),
            temp_path: beside(".tmp"),
            path,
            format,
            registry: Mutex::new(None),
            state: Mutex::new(State {
                snapshot,
                stamp,
                lock: None,
            }),
        };
        {
            let mut state = inner.state();
            match inner.take_lock(&mut state) {
                Ok(()) => {
                    let digest = state.snapshot.digest;
                    if let Err(error) = journal::prepare(&inner.audit_path, &digest) {
                        tracing::warn!(path = %inner.audit_path.display(), %error, "cannot read the audit log");
                    }
                }
                Err(error) => {
                    tracing::info!(path = %inner.path.display(), %error, "registry file store opened without the writer's lock");
                }
            }
        }
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Reloads `registry` after each change, before the change is
    /// answered, so the instance serving the file sees it at once.
    pub fn with_registry(self, registry: Arc<FileRegistry>) -> Self {
        *self
            .inner
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(registry);
        self
    }

    /// The registry file (its real path).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The audit log, `<registry file>.audit.jsonl`.
    pub fn audit_path(&self) -> &Path {
        &self.inner.audit_path
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| StoreError::Unavailable(format!("file store task failed: {e}")))?
    }
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.inner.path)
            .field("format", &self.inner.format)
            .finish_non_exhaustive()
    }
}

fn in_file(mut error: RegistryLoadError, file: &Path) -> RegistryLoadError {
    if let RegistryLoadError::Syntax { path, .. } | RegistryLoadError::Invalid { path, .. } =
        &mut error
    {
        *path = Some(file.to_path_buf());
    }
    error
}

fn unavailable(what: &str, path: &Path, error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("{what} {}: {error}", path.display()))
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic mid-change leaves the files as they were (the rename is
        // the last step) and the snapshot is re-read when it differs.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the writer's lock if this store does not hold it, and makes
    /// the audit log agree with the file (a crash may have left a line).
    fn take_lock(&self, state: &mut State) -> Result<(), StoreError> {
        if state.lock.is_some() {
            return Ok(());
        }
        let lock = WriterLock::try_take(&self.lock_path)
            .map_err(|e| unavailable("cannot open the lock file", &self.lock_path, e))?
            .ok_or_else(|| {
                StoreError::Unavailable(format!(
                    "another process holds the registry file's lock {}",
                    self.lock_path.display()
                ))
            })?;
        state.lock = Some(lock);
        Ok(())
    }

    /// The state, with the file read again if it changed on disk since.
    /// A file that no longer loads keeps the last good registrations.
    fn fresh(&self) -> MutexGuard<'_, State> {
        let mut state = self.state();
        let stamp = Stamp::of(&self.path).ok();
        if stamp.is_some() && stamp != state.stamp {
            state.stamp = stamp;
            if let Err(error) = self.reread(&mut state) {
                tracing::warn!(path = %self.path.display(), %error, "registry file changed on disk and does not load; the admin API keeps the last good registrations");
            }
        }
        state
    }

    /// Reads the file and takes its registrations if its bytes changed.
    fn reread(&self, state: &mut State) -> Result<[u8; 32], StoreError> {
        let bytes = std::fs::read(&self.path)
            .map_err(|e| unavailable("cannot read the registry file", &self.path, e))?;
        let digest = snapshot::digest(&bytes);
        if digest != state.snapshot.digest {
            state.snapshot = Snapshot::parse(&bytes, self.format)
                .map_err(|e| unavailable("the registry file does not load:", &self.path, e))?;
        }
        Ok(digest)
    }

    fn apply(&self, change: Change) -> Result<Option<Stored>, StoreError> {
        let mut state = self.state();
        self.take_lock(&mut state)?;
        state.stamp = Stamp::of(&self.path).ok();
        let current = self.reread(&mut state)?;
        let last_seq = journal::prepare(&self.audit_path, &current)
            .map_err(|e| unavailable("cannot read the audit log", &self.audit_path, e))?;
        super::check(&change, state.snapshot.by_id.get(&change.id))?;
        let after = super::new_state(&change.id, change.document);
        let text = snapshot::encode(
            &state.snapshot.with(&change.id, after.as_ref()),
            self.format,
        )
        .map_err(|e| unavailable("cannot write", &self.path, e))?;
        // What the serving registry will read: validated by its own loader.
        let next = Snapshot::parse(text.as_bytes(), self.format).map_err(|e| {
            unavailable(
                "the changed registry would not load, nothing written:",
                &self.path,
                e,
            )
        })?;
        let line = Line {
            record: change.audit.stored_as(last_seq + 1),
            file: Digests {
                before: journal::hex(&current),
                after: journal::hex(&next.digest),
            },
        };
        self.replace(text.as_bytes(), &line)?;
        let stored = next.by_id.get(&change.id).cloned();
        state.snapshot = next;
        state.stamp = Stamp::of(&self.path).ok();
        drop(state);
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(registry) = registry {
            // Failures are logged by reload(); the file loads (checked above).
            let _ = registry.reload();
        }
        Ok(stored)
    }

    /// Temporary file, audit line, rename: both or neither.
    fn replace(&self, bytes: &[u8], line: &Line) -> Result<(), StoreError> {
        let mode = write::mode_of(&self.path);
        write::write_temp(&self.temp_path, bytes, mode)
            .map_err(|e| unavailable("cannot write", &self.temp_path, e))?;
        let audit_len = match journal::append(&self.audit_path, line, mode) {
            Ok(len) => len,
            Err(error) => {
                write::remove_temp(&self.temp_path);
                return Err(unavailable("cannot append to", &self.audit_path, error));
            }
        };
        if let Err(error) = std::fs::rename(&self.temp_path, &self.path) {
            if let Err(cut) = journal::truncate(&self.audit_path, audit_len) {
                // The next write removes it: the file still has the line's
                // `before` digest.
                tracing::error!(path = %self.audit_path.display(), error = %cut, "cannot cut back the audit line of a change that failed");
            }
            write::remove_temp(&self.temp_path);
            return Err(unavailable("cannot replace", &self.path, error));
        }
        if let Some(dir) = self.path.parent() {
            if let Err(error) = write::sync_dir(dir) {
                // Renamed and visible: the change happened; only its
                // durability across a power loss is in doubt.
                tracing::warn!(path = %dir.display(), %error, "cannot fsync the registry file's directory");
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl AdminStore for FileStore {
    async fn get(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        let id = id.to_owned();
        self.blocking(move |inner| Ok(inner.fresh().snapshot.by_id.get(&id).cloned()))
            .await
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Stored>, StoreError> {
        let after = after.map(str::to_owned);
        self.blocking(move |inner| {
            let state = inner.fresh();
            Ok(super::page(
                state.snapshot.by_id.values(),
                after.as_deref(),
                limit,
            ))
        })
        .await
    }

    async fn enabled_in(&self, property: &str) -> Result<Vec<Stored>, StoreError> {
        let property = property.to_owned();
        self.blocking(move |inner| {
            let state = inner.fresh();
            Ok(super::enabled_in(state.snapshot.by_id.values(), &property))
        })
        .await
    }

    async fn apply(&self, change: Change) -> Result<Option<Stored>, StoreError> {
        self.blocking(move |inner| inner.apply(change)).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let query = query.clone();
        self.blocking(move |inner| {
            journal::read(&inner.audit_path, &query)
                .map_err(|e| unavailable("cannot read the audit log", &inner.audit_path, e))
        })
        .await
    }
}
