//! The registry file in memory: its bytes, its registrations in file
//! order, and how to write them back in the format they were read in.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tower_fedauth::registry::{RegistryFormat, RegistryLoadError, parse_registry_entries};

use crate::store::Stored;

/// What a `stat` tells about the file: enough to notice any replace (a new
/// inode) or edit in place (length or modification time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Stamp {
    pub(super) fn of(path: &Path) -> std::io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        Ok(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode: inode(&meta),
        })
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

/// The registrations of one version of the file.
#[derive(Debug, Clone)]
pub(super) struct Snapshot {
    /// SHA-256 of the file's bytes: what the audit log's lines name.
    pub(super) digest: [u8; 32],
    /// The registrations by id.
    pub(super) by_id: BTreeMap<String, Stored>,
    /// Their ids in file order, kept when the file is written back.
    pub(super) order: Vec<String>,
}

impl Snapshot {
    /// Parses and validates the file's text with the core's loader (all or
    /// nothing, as the serving registry reads it).
    pub(super) fn parse(bytes: &[u8], format: RegistryFormat) -> Result<Self, RegistryLoadError> {
        let text = String::from_utf8_lossy(bytes);
        let entries = parse_registry_entries(&text, format)?;
        let mut by_id = BTreeMap::new();
        let mut order = Vec::with_capacity(entries.len());
        for entry in entries {
            let id = entry.registration.id.as_str().to_owned();
            let Value::Object(document) = entry.raw else {
                unreachable!("the loader accepts only tables as registrations")
            };
            order.push(id.clone());
            by_id.insert(id.clone(), Stored::new(id, document));
        }
        Ok(Self {
            digest: digest(bytes),
            by_id,
            order,
        })
    }

    /// The registrations after `id` becomes `after` (`None`: removed), in
    /// file order: a changed one keeps its place, a new one goes last.
    pub(super) fn with(&self, id: &str, after: Option<&Stored>) -> Vec<Stored> {
        let mut out: Vec<Stored> = Vec::with_capacity(self.order.len() + 1);
        for existing in &self.order {
            if existing != id {
                out.push(self.by_id[existing].clone());
            } else if let Some(after) = after {
                out.push(after.clone());
            }
        }
        if let (Some(after), false) = (after, self.by_id.contains_key(id)) {
            out.push(after.clone());
        }
        out
    }
}

/// SHA-256 of a file's bytes.
pub(super) fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The registry document holding `registrations`, in `format`, as the
/// core's loader reads it: `id` first in each entry, other keys sorted.
pub(super) fn encode(registrations: &[Stored], format: RegistryFormat) -> Result<String, String> {
    let document = Document(registrations);
    match format {
        RegistryFormat::Json => serde_json::to_string_pretty(&document)
            .map(|text| text + "\n")
            .map_err(|e| e.to_string()),
        RegistryFormat::Toml => toml::to_string_pretty(&document)
            .map_err(|e| format!("cannot write the registration as TOML: {e}")),
        other => Err(format!("cannot write a {other} registry file")),
    }
}

struct Document<'a>(&'a [Stored]);

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let entries: Vec<Entry<'_>> = self.0.iter().map(|s| Entry(&s.document)).collect();
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("registrations", &entries)?;
        map.end()
    }
}

/// One registration, `id` first so the file reads as the operator wrote it.
struct Entry<'a>(&'a Map<String, Value>);

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort_by_key(|k| (k.as_str() != "id", k.as_str()));
        let mut map = serializer.serialize_map(Some(keys.len()))?;
        for key in keys {
            map.serialize_entry(key, &self.0[key])?;
        }
        map.end()
    }
}
