//! `fedauth registry import` / `export`: between a registry file and the
//! PostgreSQL registry.

use std::process::ExitCode;

use serde_json::{Map, Value};
use tower_fedauth::registry::{
    PostgresRegistry, RegistryEntry, RegistryFormat, parse_registry_entries,
};

use crate::args::{Args, UsageError};

pub const IMPORT_HELP: &str = "\
fedauth registry import: registry file -> PostgreSQL

Usage:
  fedauth registry import FILE [--database-url URL] [--replace]

Validates the whole file first (nothing is written if any registration is
invalid), applies the migrations if needed, then stores every registration
in one transaction: inserted, or replaced when the id exists. Every
instance listening on the database drops its cached entries.

Options:
  --database-url URL   PostgreSQL URL (default: $DATABASE_URL)
  --replace            also delete registrations that are not in FILE

Exit status: 0 imported; 1 invalid file or database error; 2 usage error.
";

pub const EXPORT_HELP: &str = "\
fedauth registry export: PostgreSQL -> registry file

Usage:
  fedauth registry export FILE [--database-url URL]

Writes every registration, sorted by id, as written when stored (secrets
included: protect the file). FILE ending in .toml is written as TOML,
anything else as JSON; `-` writes JSON to standard output. Every row is
validated first: one bad row fails the export with its id and field.

Options:
  --database-url URL   PostgreSQL URL (default: $DATABASE_URL)

Exit status: 0 exported; 1 bad row, database or file error; 2 usage error.
";

fn database_url(args: &mut Args) -> Result<String, UsageError> {
    match args.option("database-url")? {
        Some(url) => Ok(url),
        None => std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| UsageError("--database-url (or $DATABASE_URL) is required".into())),
    }
}

async fn connect(url: &str) -> Result<PostgresRegistry, String> {
    PostgresRegistry::connect(url)
        .await
        .map_err(|e| e.to_string())
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

pub fn import(mut args: Args) -> Result<ExitCode, UsageError> {
    if args.wants_help() {
        print!("{IMPORT_HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let url = database_url(&mut args)?;
    let replace = args.flag("replace");
    let file = args.one("FILE")?;
    let Some(format) = RegistryFormat::from_path(file.as_ref()) else {
        return Ok(fail(format!(
            "{file}: the file name must end in .toml or .json"
        )));
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) => return Ok(fail(format!("{file}: {e}"))),
    };
    let entries = match parse_registry_entries(&text, format) {
        Ok(entries) => entries,
        Err(e) => {
            return Ok(fail(format!(
                "{file}: {e}\n(nothing imported; `fedauth registry check {file}` lists every problem)"
            )));
        }
    };
    crate::runtime().block_on(async {
        let registry = match connect(&url).await {
            Ok(r) => r,
            Err(e) => return Ok(fail(e)),
        };
        match registry.import(&entries, replace).await {
            Ok((stored, deleted)) => {
                println!("{file}: imported {stored} registrations, deleted {deleted}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(fail(format!("{e} (nothing imported)"))),
        }
    })
}

pub fn export(mut args: Args) -> Result<ExitCode, UsageError> {
    if args.wants_help() {
        print!("{EXPORT_HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let url = database_url(&mut args)?;
    let file = args.one("FILE")?;
    let entries = crate::runtime().block_on(async {
        let registry = connect(&url).await?;
        registry.export().await.map_err(|e| e.to_string())
    });
    let entries = match entries {
        Ok(entries) => entries,
        Err(e) => return Ok(fail(e)),
    };
    let toml =
        file != "-" && RegistryFormat::from_path(file.as_ref()) == Some(RegistryFormat::Toml);
    let text = match render(&entries, toml) {
        Ok(text) => text,
        Err(e) => return Ok(fail(e)),
    };
    if file == "-" {
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Err(e) = std::fs::write(&file, text) {
        return Ok(fail(format!("{file}: {e}")));
    }
    eprintln!("{file}: exported {} registrations", entries.len());
    Ok(ExitCode::SUCCESS)
}

/// The registry document: `{"registrations": [...]}` as JSON or TOML.
fn render(entries: &[RegistryEntry], toml: bool) -> Result<String, String> {
    let registrations: Vec<Value> = entries
        .iter()
        .map(|e| without_nulls(e.raw.clone()))
        .collect();
    let doc = Value::Object(Map::from_iter([(
        "registrations".to_owned(),
        Value::Array(registrations),
    )]));
    if toml {
        toml::to_string(&doc).map_err(|e| format!("cannot write TOML: {e}"))
    } else {
        serde_json::to_string_pretty(&doc)
            .map(|s| s + "\n")
            .map_err(|e| format!("cannot write JSON: {e}"))
    }
}

/// TOML has no null: an explicit `null` means "not set", so drop it.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}
