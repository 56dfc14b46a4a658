//! The audit log beside the registry file (`<registry file>.audit.jsonl`):
//! one JSON line per change, appended and fsynced before the registry file
//! is replaced, truncated back if the replace fails.
//!
//! Each line is the audit record plus the SHA-256 of the registry file
//! before and after the change. A line whose change never landed (the
//! process died between the append and the rename) is recognised by them —
//! the file still has its `before` digest — and removed before the next
//! write, so the log never records a change the file does not have.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::{AuditQuery, AuditRecord};

/// How much of the log is read at a time, from the end.
const CHUNK: u64 = 64 * 1024;

/// One line of the log.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Line {
    #[serde(flatten)]
    pub(super) record: AuditRecord,
    /// The registry file's digests around the change.
    pub(super) file: Digests,
}

/// Hex SHA-256 of the registry file before and after a change.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Digests {
    pub(super) before: String,
    pub(super) after: String,
}

pub(super) fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes the log agree with the registry file (whose digest is
/// `current`) before a write, and returns the last `seq`: a torn last line
/// is cut, and so is a last line whose change never landed.
pub(super) fn prepare(path: &Path, current: &[u8; 32]) -> std::io::Result<u64> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut keep = len;
    // The last two records, newest first: the second one's seq is the last
    // if the newest line goes.
    let mut newest: Vec<(u64, Line)> = Vec::with_capacity(2);
    backwards(&mut file, |offset, line, terminated| {
        if !terminated {
            tracing::warn!(path = %path.display(), "audit log: a torn last line is removed");
            keep = offset;
            return true;
        }
        match serde_json::from_slice::<Line>(line) {
            Ok(line) => newest.push((offset, line)),
            Err(error) => {
                tracing::warn!(path = %path.display(), offset, %error, "audit log: a line that is no audit record is skipped");
            }
        }
        newest.len() < 2
    })?;
    let current = hex(current);
    let seq = |i: usize| newest.get(i).map_or(0, |(_, line)| line.record.seq);
    let mut last_seq = seq(0);
    if let Some((offset, line)) = newest.first() {
        if line.file.before == current && line.file.after != current {
            tracing::warn!(path = %path.display(), seq = line.record.seq, "audit log: the last change never reached the registry file; its line is removed");
            keep = *offset;
            last_seq = seq(1);
        }
    }
    if keep < len {
        file.set_len(keep)?;
        file.sync_all()?;
    }
    Ok(last_seq)
}

/// Appends one line and makes it durable; returns the log's length before
/// it, to truncate back to. On failure the log is truncated back already.
pub(super) fn append(path: &Path, line: &Line, mode: Option<u32>) -> std::io::Result<u64> {
    let mut bytes = serde_json::to_vec(line).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    if let Some(mode) = mode {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let existed = path.exists();
    let mut file = options.open(path)?;
    let before = file.metadata()?.len();
    let written = file.write_all(&bytes).and_then(|()| file.sync_data());
    if let Err(error) = written {
        let _ = file.set_len(before).and_then(|()| file.sync_all());
        return Err(error);
    }
    if !existed {
        if let Some(dir) = path.parent() {
            super::write::sync_dir(dir)?;
        }
    }
    Ok(before)
}

/// Cuts the log back to `len` bytes, durably.
pub(super) fn truncate(path: &Path, len: u64) -> std::io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    file.set_len(len)?;
    file.sync_all()
}

/// The records of `query`, newest first, reading the log from its end.
pub(super) fn read(path: &Path, query: &AuditQuery) -> std::io::Result<Vec<AuditRecord>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    if query.limit == 0 {
        return Ok(out);
    }
    backwards(&mut file, |_, line, terminated| {
        if !terminated {
            return true; // being appended, or torn: not a record yet
        }
        if let Ok(line) = serde_json::from_slice::<Line>(line) {
            if query.matches(&line.record) {
                out.push(line.record);
            }
        }
        out.len() < query.limit
    })?;
    Ok(out)
}

/// Calls `each(offset, line, terminated)` for every non-empty line, last
/// first, until it returns false. `terminated` is false only for a last
/// line without its newline (torn, or being appended).
fn backwards(
    file: &mut File,
    mut each: impl FnMut(u64, &[u8], bool) -> bool,
) -> std::io::Result<()> {
    let mut pos = file.metadata()?.len();
    let mut ends_with_newline = false;
    if pos > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(pos - 1))?;
        file.read_exact(&mut last)?;
        ends_with_newline = last[0] == b'\n';
    }
    let mut first = true;
    let mut segment = |offset: u64, line: &[u8]| {
        let terminated = !first || ends_with_newline;
        first = false;
        line.is_empty() || each(offset, line, terminated)
    };
    let mut carry: Vec<u8> = Vec::new();
    while pos > 0 {
        let start = pos.saturating_sub(CHUNK);
        let mut buf = vec![0; (pos - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        buf.extend_from_slice(&carry);
        let mut end = buf.len();
        while let Some(nl) = buf[..end].iter().rposition(|b| *b == b'\n') {
            if !segment(start + nl as u64 + 1, &buf[nl + 1..end]) {
                return Ok(());
            }
            end = nl;
        }
        buf.truncate(end);
        carry = buf;
        pos = start;
    }
    segment(0, &carry);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Actor, AuditAction};

    fn line(seq: u64, padding: usize) -> Line {
        let after = serde_json::json!({"pad": "x".repeat(padding)});
        Line {
            record: AuditRecord::new(Actor::Platform, AuditAction::RegistrationUpdate, "q")
                .after(Some(after))
                .stored_as(seq),
            file: Digests {
                before: hex(&[0; 32]),
                after: hex(&[1; 32]),
            },
        }
    }

    /// Lines across chunk boundaries and longer than a chunk are read back
    /// whole, newest first.
    #[test]
    fn the_log_reads_backwards_across_chunks() {
        let path = std::env::temp_dir().join(format!(
            "fedauth-admin-journal-{}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let sizes = [10, CHUNK as usize + 100, 3, 5000, 2 * CHUNK as usize, 1];
        let mut seq = 0;
        for round in 0..40 {
            for size in sizes {
                seq += 1;
                append(&path, &line(seq, size + round), None).unwrap();
            }
        }
        let read = read(&path, &AuditQuery::new(10_000)).unwrap();
        let seqs: Vec<u64> = read.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=seq).rev().collect::<Vec<_>>());
        let third = &read[seq as usize - 3];
        assert_eq!(
            third.after.as_ref().unwrap()["pad"].as_str().unwrap().len(),
            3
        );
        assert_eq!(prepare(&path, &[9; 32]).unwrap(), seq);
        std::fs::remove_file(&path).unwrap();
    }
}
