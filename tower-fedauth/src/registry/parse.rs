//! Registry documents (TOML or JSON) → validated registrations, with errors
//! that point at the file, the registration and the field.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::registration::{Registration, RegistrationError, from_value};

/// The syntax of a registry document; both have the same shape (a
/// top-level `registrations` array of tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegistryFormat {
    /// TOML: `[[registrations]]` tables.
    Toml,
    /// JSON: `{"registrations": [ ... ]}`.
    Json,
}

impl RegistryFormat {
    /// The format named by a file's extension (`.toml` / `.json`, any case).
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Self::Toml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

impl fmt::Display for RegistryFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Toml => "TOML",
            Self::Json => "JSON",
        })
    }
}

/// A registry could not be loaded. Every variant names the file (when there
/// is one) and, for rule violations, the registration and the field, so an
/// operator can fix it from the log line alone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryLoadError {
    /// The file could not be read.
    #[error("registry file \"{}\": cannot read: {source}", path.display())]
    Read {
        /// The registry file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The file name does not say which format it is.
    #[error("registry file \"{}\": unknown format: the file name must end in .toml or .json", path.display())]
    UnknownFormat {
        /// The registry file.
        path: PathBuf,
    },
    /// The document is not valid TOML / JSON.
    #[error(
        "{}{format} syntax error at line {line}, column {column}: {message}",
        in_file(path)
    )]
    Syntax {
        /// The registry file (`None` for text given directly).
        path: Option<PathBuf>,
        /// The syntax that was expected.
        format: RegistryFormat,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// A registration breaks a rule (or the document has the wrong shape).
    #[error("{}{}{error}", in_file(path), at_index(*index))]
    Invalid {
        /// The registry file (`None` for text or code).
        path: Option<PathBuf>,
        /// Position in the `registrations` array, when the error is about one.
        index: Option<usize>,
        /// Which registration, which field, what rule.
        #[source]
        error: RegistrationError,
    },
}

fn in_file(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!("registry file \"{}\": ", p.display()))
        .unwrap_or_default()
}

fn at_index(index: Option<usize>) -> String {
    index
        .map(|i| format!("registrations[{i}]: "))
        .unwrap_or_default()
}

impl RegistryLoadError {
    /// The registry file concerned, if the registry came from one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Read { path, .. } | Self::UnknownFormat { path } => Some(path),
            Self::Syntax { path, .. } | Self::Invalid { path, .. } => path.as_deref(),
        }
    }

    /// The rule violation, when that is what went wrong.
    pub fn registration_error(&self) -> Option<&RegistrationError> {
        match self {
            Self::Invalid { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Attach the file the text came from.
    pub(crate) fn in_path(mut self, file: &Path) -> Self {
        if let Self::Syntax { path, .. } | Self::Invalid { path, .. } = &mut self {
            *path = Some(file.to_path_buf());
        }
        self
    }
}

pub(crate) fn document_error(message: impl Into<String>) -> RegistryLoadError {
    RegistryLoadError::Invalid {
        path: None,
        index: None,
        error: RegistrationError {
            registration: None,
            field: "registrations".into(),
            message: message.into(),
        },
    }
}

/// Parse and validate a registry document. The whole document is refused
/// at the first broken rule: a half-loaded registry would silently drop
/// applications.
pub fn parse_registry_str(
    text: &str,
    format: RegistryFormat,
) -> Result<Vec<Registration>, RegistryLoadError> {
    let registrations = document_entries(text, format)?
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            from_value(entry).map_err(|error| RegistryLoadError::Invalid {
                path: None,
                index: Some(i),
                error,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_unique(&registrations)?;
    Ok(registrations)
}

/// The entries of the `registrations` array, as written (not validated):
/// syntax and document shape are checked.
pub(crate) fn document_entries(
    text: &str,
    format: RegistryFormat,
) -> Result<Vec<Value>, RegistryLoadError> {
    let doc = document(text, format)?;
    let Value::Object(top) = doc else {
        return Err(document_error(
            "the document must be a table with a `registrations` array",
        ));
    };
    if let Some(key) = top.keys().find(|k| *k != "registrations") {
        return Err(unknown_top_level_key(key));
    }
    // Required even when empty (`registrations = []`): an empty or truncated
    // file must not silently unregister every application on reload.
    match top.into_iter().find(|(k, _)| k == "registrations") {
        Some((_, Value::Array(entries))) => Ok(entries),
        Some(_) => Err(document_error("must be an array of tables")),
        None => Err(document_error(
            "is missing (write `registrations = []` for an empty registry)",
        )),
    }
}

pub(crate) fn unknown_top_level_key(key: &str) -> RegistryLoadError {
    RegistryLoadError::Invalid {
        path: None,
        index: None,
        error: RegistrationError {
            registration: None,
            field: key.to_owned(),
            message: "unknown top-level key; only `registrations` is allowed".into(),
        },
    }
}

/// The document as a JSON value; only the syntax is checked.
pub(crate) fn document(text: &str, format: RegistryFormat) -> Result<Value, RegistryLoadError> {
    Ok(match format {
        RegistryFormat::Toml => toml_document(text)?,
        RegistryFormat::Json => serde_json::from_str::<Value>(text).map_err(|e| {
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = e.to_string();
            RegistryLoadError::Syntax {
                path: None,
                format,
                line: e.line(),
                column: e.column(),
                message: message.strip_suffix(&suffix).unwrap_or(&message).to_owned(),
            }
        })?,
    })
}

fn toml_document(text: &str) -> Result<Value, RegistryLoadError> {
    let table = text.parse::<toml::Table>().map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start).min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        RegistryLoadError::Syntax {
            path: None,
            format: RegistryFormat::Toml,
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })?;
    serde_json::to_value(table).map_err(|e| document_error(format!("unsupported TOML value: {e}")))
}

/// Ids must be unique: with two entries for one id, which one answers would
/// depend on load order.
pub(crate) fn check_unique(registrations: &[Registration]) -> Result<(), RegistryLoadError> {
    let mut seen = HashMap::with_capacity(registrations.len());
    for (i, reg) in registrations.iter().enumerate() {
        if let Some(&first) = seen.get(reg.id.as_str()) {
            return Err(RegistryLoadError::Invalid {
                path: None,
                index: Some(i),
                error: RegistrationError {
                    registration: Some(reg.id.to_string()),
                    field: "id".into(),
                    message: format!("duplicate id: registrations[{first}] has the same id"),
                },
            });
        }
        seen.insert(reg.id.as_str(), i);
    }
    Ok(())
}
