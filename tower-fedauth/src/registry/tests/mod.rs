//! Registry tests: the reference examples of the registry format, every
//! bad-input rule, reload and watch. The cache's tests are `cache/tests.rs`.

mod file;
mod parse;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A temp file with a unique name, removed on drop.
pub(super) struct TempFile {
    pub path: PathBuf,
}

impl TempFile {
    pub(crate) fn new(ext: &str, content: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "fedauth-registry-{}-{}-{nanos}.{ext}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let file = Self {
            path: std::env::temp_dir().join(name),
        };
        file.write(content);
        file
    }

    pub(crate) fn write(&self, content: &str) {
        std::fs::write(&self.path, content).expect("write temp registry file");
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
