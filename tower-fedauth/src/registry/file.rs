//! A registry file (TOML or JSON), reloaded on demand or when it changes.
//! A bad edit never takes the service down: the last good registry stays.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;

use super::map::Registrations;
use super::parse::{RegistryFormat, RegistryLoadError, parse_registry_str};
use super::{RegistrySource, SourceError};
use crate::registration::Registration;

/// What the watcher compares to notice a change without reading the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp_of(path: &Path) -> std::io::Result<Stamp> {
    let meta = std::fs::metadata(path)?;
    Ok(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

/// Registrations read from a `.toml` or `.json` file (the registry format:
/// `docs/registry.md` in the repository).
///
/// Lookups read an in-memory snapshot; [`FileRegistry::reload`] and
/// [`FileRegistry::watch`] swap in a new snapshot only when the whole file
/// is valid, so a typo in production keeps the last good registry serving.
pub struct FileRegistry {
    path: PathBuf,
    format: RegistryFormat,
    // std lock: held only to clone or swap the map, never across an await.
    current: RwLock<Arc<Registrations>>,
    // Serializes reloads (so an older read never replaces a newer one) and
    // remembers the stamp of the last attempt, good or bad, so the watcher
    // does not retry (and re-log) the same bad file on every tick.
    last_attempt: Mutex<Option<Stamp>>,
}

impl FileRegistry {
    /// Read and validate the file; its extension (`.toml` / `.json`) says
    /// the format. Any broken rule refuses the whole file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, RegistryLoadError> {
        let path = path.as_ref().to_path_buf();
        let format = RegistryFormat::from_path(&path)
            .ok_or_else(|| RegistryLoadError::UnknownFormat { path: path.clone() })?;
        let stamp = stamp_of(&path).ok();
        let map = read(&path, format)?;
        tracing::info!(path = %path.display(), registrations = map.len(), "registry loaded");
        Ok(Self {
            path,
            format,
            current: RwLock::new(Arc::new(map)),
            last_attempt: Mutex::new(stamp),
        })
    }

    /// Read the file again and swap it in if valid; returns how many
    /// registrations are now served. On failure the last good registry is
    /// kept, the reason logged at error level and returned.
    pub fn reload(&self) -> Result<usize, RegistryLoadError> {
        let mut last_attempt = self
            .last_attempt
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Stamp taken before reading: a write racing the read shows up as a
        // newer stamp on the next poll, and the file is read again.
        *last_attempt = stamp_of(&self.path).ok();
        match read(&self.path, self.format) {
            Ok(map) => {
                let count = map.len();
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(map);
                tracing::info!(path = %self.path.display(), registrations = count, "registry reloaded");
                Ok(count)
            }
            Err(error) => {
                tracing::error!(
                    path = %self.path.display(),
                    error = %error,
                    kept = self.registrations().len(),
                    "registry reload failed; keeping the last good registry"
                );
                Err(error)
            }
        }
    }

    /// Poll the file's modification time and length every `interval` and
    /// reload when they change. A failed reload keeps the old registry (and
    /// is logged once per change). The task stops when the registry is
    /// dropped; abort the handle to stop it sooner. Needs a Tokio runtime.
    ///
    /// Replace the file atomically (write elsewhere, then rename) where you
    /// can; the watcher also waits for the file to stop changing briefly
    /// before it reads, to avoid loading a half-written file.
    pub fn watch(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let path = self.path.clone();
        let interval = interval.max(Duration::from_millis(1));
        let settle = (interval / 2).min(Duration::from_millis(500));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            let mut unreadable = false;
            loop {
                ticker.tick().await;
                let Some(this) = weak.upgrade() else { break };
                let stamp = match stamp_of(&path) {
                    Ok(stamp) => stamp,
                    Err(error) => {
                        if !unreadable {
                            tracing::warn!(path = %path.display(), %error, "registry file not readable; keeping the last good registry");
                        }
                        unreadable = true;
                        continue;
                    }
                };
                unreadable = false;
                if this.last_attempt_stamp() == Some(stamp) {
                    continue;
                }
                tokio::time::sleep(settle).await;
                if stamp_of(&path).ok() != Some(stamp) {
                    continue; // still being written: look again next tick
                }
                // reload() logs failures itself; file IO off the async threads.
                let _ = tokio::task::spawn_blocking(move || this.reload()).await;
            }
        })
    }

    fn last_attempt_stamp(&self) -> Option<Stamp> {
        *self
            .last_attempt
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// What it serves now: the last good file's registrations.
    pub fn registrations(&self) -> Arc<Registrations> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's format.
    pub fn format(&self) -> RegistryFormat {
        self.format
    }
}

fn read(path: &Path, format: RegistryFormat) -> Result<Registrations, RegistryLoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| RegistryLoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let registrations = parse_registry_str(&text, format).map_err(|e| e.in_path(path))?;
    // The parser refused duplicate ids already.
    Registrations::build(registrations).map_err(|e| e.in_path(path))
}

impl RegistrySource for FileRegistry {
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Registration>>, SourceError>> {
        let found = self.registrations().get(id);
        Box::pin(async move { Ok(found) })
    }

    fn describe(&self) -> String {
        format!(
            "registry file {} ({} registrations)",
            self.path.display(),
            self.registrations().len()
        )
    }
}

impl std::fmt::Debug for FileRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRegistry")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("registrations", &self.registrations().len())
            .finish()
    }
}
