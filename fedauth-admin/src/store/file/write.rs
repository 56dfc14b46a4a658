//! The file system steps of a change: the writer's advisory lock, the
//! temporary file, the rename and the directory's fsync.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// The advisory lock that makes this store the registry file's one writer
/// (`flock` on `<registry file>.lock`; released when dropped or when the
/// process exits, however it exits).
#[derive(Debug)]
pub(super) struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the lock without waiting: `None` while another open file
    /// description holds it (another process, or another store).
    pub(super) fn try_take(path: &Path) -> std::io::Result<Option<Self>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if lock_exclusive_now(&file)? {
            Ok(Some(Self { _file: file }))
        } else {
            Ok(None)
        }
    }
}

#[cfg(unix)]
fn lock_exclusive_now(file: &File) -> std::io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(errno) => Err(errno.into()),
    }
}

#[cfg(not(unix))]
fn lock_exclusive_now(file: &File) -> std::io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Writes `bytes` to `temp` (created or truncated, with `mode`) and makes
/// them durable. On failure the temporary file is removed.
pub(super) fn write_temp(temp: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let written = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if let Some(mode) = mode {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        }
        let mut file = options.open(temp)?;
        // The mode of `open` only applies to a new file, less the umask.
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if written.is_err() {
        remove_temp(temp);
    }
    written
}

/// Removes a temporary file that will not be renamed (best effort: a
/// leftover is overwritten by the next write).
pub(super) fn remove_temp(temp: &Path) {
    if let Err(error) = std::fs::remove_file(temp) {
        if error.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %temp.display(), %error, "cannot remove the temporary registry file");
        }
    }
}

/// The permission bits of a file, to give its replacement.
pub(super) fn mode_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Makes a directory's entries (a rename, a new file) durable.
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
