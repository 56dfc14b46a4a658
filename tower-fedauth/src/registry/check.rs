//! Registry documents for tools: every problem at once (a load stops at the
//! first), and entries kept as written, so they can be stored elsewhere
//! (a database) exactly as the operator wrote them.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::parse::{
    RegistryFormat, RegistryLoadError, document, document_entries, document_error,
    unknown_top_level_key,
};
use crate::registration::{Registration, RegistrationError, from_value};

/// One registration of a registry document: validated, with the form it
/// was written in (secrets included, so `Debug` shows only the id).
#[derive(Clone)]
pub struct RegistryEntry {
    /// The validated registration.
    pub registration: Registration,
    /// The entry as written (a JSON object; TOML is converted).
    pub raw: Value,
}

impl std::fmt::Debug for RegistryEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryEntry")
            .field("id", &self.registration.id)
            .finish_non_exhaustive()
    }
}

/// Parse and validate a registry document like
/// [`parse_registry_str`](super::parse_registry_str) (all or nothing), and
/// keep each entry as written.
pub fn parse_registry_entries(
    text: &str,
    format: RegistryFormat,
) -> Result<Vec<RegistryEntry>, RegistryLoadError> {
    let entries = document_entries(text, format)?
        .into_iter()
        .enumerate()
        .map(|(i, raw)| match from_value(&raw) {
            Ok(registration) => Ok(RegistryEntry { registration, raw }),
            Err(error) => Err(RegistryLoadError::Invalid {
                path: None,
                index: Some(i),
                error,
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(duplicate) = duplicates(entries.iter().map(|e| Some(e.registration.id.as_str())))
        .into_iter()
        .next()
    {
        return Err(duplicate);
    }
    Ok(entries)
}

/// Every problem of a registry document: a syntax error (then nothing
/// else can be checked), unknown top-level keys, each broken registration
/// (with its index, id and field) and each duplicate id. Empty: the
/// document loads.
pub fn check_registry_str(text: &str, format: RegistryFormat) -> Vec<RegistryLoadError> {
    let doc = match document(text, format) {
        Ok(doc) => doc,
        Err(error) => return vec![error],
    };
    let Value::Object(top) = doc else {
        return vec![document_error(
            "the document must be a table with a `registrations` array",
        )];
    };
    let mut problems: Vec<_> = top
        .keys()
        .filter(|k| *k != "registrations")
        .map(|k| unknown_top_level_key(k))
        .collect();
    let entries = match top.get("registrations") {
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            problems.push(document_error("must be an array of tables"));
            return problems;
        }
        None => {
            problems.push(document_error(
                "is missing (write `registrations = []` for an empty registry)",
            ));
            return problems;
        }
    };
    for (i, entry) in entries.iter().enumerate() {
        if let Err(error) = from_value(entry) {
            problems.push(RegistryLoadError::Invalid {
                path: None,
                index: Some(i),
                error,
            });
        }
    }
    problems.extend(duplicates(
        entries.iter().map(|e| e.get("id").and_then(Value::as_str)),
    ));
    problems
}

/// [`check_registry_str`] on a file (format from its extension); every
/// problem names the file.
pub fn check_registry_file(path: impl AsRef<Path>) -> Vec<RegistryLoadError> {
    let path = path.as_ref();
    let Some(format) = RegistryFormat::from_path(path) else {
        return vec![RegistryLoadError::UnknownFormat {
            path: path.to_path_buf(),
        }];
    };
    match std::fs::read_to_string(path) {
        Ok(text) => check_registry_str(&text, format)
            .into_iter()
            .map(|e| e.in_path(path))
            .collect(),
        Err(source) => vec![RegistryLoadError::Read {
            path: path.to_path_buf(),
            source,
        }],
    }
}

/// One error per entry whose id an earlier entry already has.
fn duplicates<'a>(ids: impl Iterator<Item = Option<&'a str>>) -> Vec<RegistryLoadError> {
    let mut seen = HashMap::new();
    let mut problems = Vec::new();
    for (i, id) in ids.enumerate() {
        let Some(id) = id else { continue };
        if let Some(&first) = seen.get(id) {
            problems.push(RegistryLoadError::Invalid {
                path: None,
                index: Some(i),
                error: RegistrationError {
                    registration: Some(id.to_owned()),
                    field: "id".into(),
                    message: format!("duplicate id: registrations[{first}] has the same id"),
                },
            });
        } else {
            seen.insert(id, i);
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWKS: &str =
        "provider = \"jwks\"\nclient_id = \"a\"\njwks_uri = \"https://i.example/k\"\n";

    #[test]
    fn every_problem_is_reported() {
        let text = format!(
            "extra = 1\n[[registrations]]\nid = \"ok-1\"\n{JWKS}\
             [[registrations]]\nid = \"bad-alg\"\n{JWKS}algorithms = [\"HS256\"]\n\
             [[registrations]]\nid = \"bad-field\"\n{JWKS}colour = \"red\"\n\
             [[registrations]]\nid = \"ok-1\"\n{JWKS}"
        );
        let problems = check_registry_str(&text, RegistryFormat::Toml);
        let shown: Vec<_> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 4, "{shown:#?}");
        assert!(shown[0].contains("extra"));
        assert!(
            shown[1].contains("registrations[1]")
                && shown[1].contains("bad-alg")
                && shown[1].contains("algorithms")
        );
        assert!(shown[2].contains("bad-field") && shown[2].contains("colour"));
        assert!(shown[3].contains("registrations[3]") && shown[3].contains("duplicate"));
        assert!(parse_registry_entries(&text, RegistryFormat::Toml).is_err());
    }

    #[test]
    fn entries_keep_what_was_written() {
        let text = format!("[[registrations]]\nid = \"ok-1\"\n{JWKS}");
        assert!(check_registry_str(&text, RegistryFormat::Toml).is_empty());
        let entries = parse_registry_entries(&text, RegistryFormat::Toml).unwrap();
        assert_eq!(entries[0].raw["jwks_uri"], "https://i.example/k");
        assert_eq!(entries[0].registration.id.as_str(), "ok-1");
        assert!(format!("{:?}", entries[0]).contains("ok-1"));
        let syntax = check_registry_str("[[registrations]\n", RegistryFormat::Toml);
        assert_eq!(syntax.len(), 1);
        assert!(matches!(syntax[0], RegistryLoadError::Syntax { .. }));
    }
}
