//! `fedauth`: operate a tower-fedauth deployment.
//!
//! - `fedauth registry check FILE...`: every problem of registry files,
//!   with file, registration id and field; exit 1 on any problem.
//! - `fedauth registry import FILE` / `export FILE`: move registrations
//!   between a file and PostgreSQL, in one transaction.
//! - `fedauth explain`: run the real verification of a token and print
//!   each check, for "my token is refused" tickets.
//! - `fedauth admin ...`: the admin API of a running server (register,
//!   enable in a property, audit).
//!
//! Arguments are parsed by hand (no clap): the binary builds in seconds on
//! top of the library.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::process::ExitCode;

mod admin;
mod args;
mod check;
mod database;
mod explain;

use args::{Args, UsageError};

const MAIN_HELP: &str = "\
fedauth: operate a tower-fedauth deployment

Usage:
  fedauth registry check FILE...
  fedauth registry import FILE [--database-url URL] [--replace]
  fedauth registry export FILE [--database-url URL]
  fedauth explain --registry FILE --registration ID --token TOKEN [options]
  fedauth admin SUBCOMMAND [--url URL] [--token TOKEN] [--output json|table]
  fedauth help [registry|explain|check|import|export|admin]

Run `fedauth COMMAND --help` for the details of a command.

Exit status: 0 success; 1 problems found, token refused or operation
failed; 2 usage error (`fedauth admin --help`: its refusals' statuses).
";

const REGISTRY_HELP: &str = "\
fedauth registry: registry files and the PostgreSQL registry

Usage:
  fedauth registry check FILE...      validate registry files (.toml / .json)
  fedauth registry import FILE        file -> PostgreSQL, one transaction
  fedauth registry export FILE        PostgreSQL -> file (- for stdout)

Run `fedauth registry SUBCOMMAND --help` for the details.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args) {
        Ok(code) => code,
        Err(UsageError(message)) => {
            eprintln!("fedauth: {message}\nRun `fedauth --help` for usage.");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<ExitCode, UsageError> {
    let mut args = Args::new(args);
    let command = args.next_positional();
    match command.as_deref() {
        None => help(MAIN_HELP),
        Some("-h" | "--help") => help(MAIN_HELP),
        Some("help") => match args.next_positional().as_deref() {
            None => help(MAIN_HELP),
            Some("registry") => help(REGISTRY_HELP),
            Some("check") => help(check::HELP),
            Some("import") => help(database::IMPORT_HELP),
            Some("export") => help(database::EXPORT_HELP),
            Some("explain") => help(explain::HELP),
            Some("admin") => help(admin::HELP),
            Some(other) => Err(UsageError(format!("no help for {other:?}"))),
        },
        Some("registry") => {
            let sub = args.next_positional();
            match sub.as_deref() {
                None | Some("-h" | "--help") => help(REGISTRY_HELP),
                Some("check") => check::run(args),
                Some("import") => database::import(args),
                Some("export") => database::export(args),
                Some(other) => Err(UsageError(format!(
                    "unknown registry subcommand {other:?} (check, import, export)"
                ))),
            }
        }
        Some("explain") => explain::run(args),
        Some("admin") => admin::run(args),
        Some(other) => Err(UsageError(format!("unknown command {other:?}"))),
    }
}

fn help(text: &str) -> Result<ExitCode, UsageError> {
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// A current-thread runtime for the commands that do I/O.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("fedauth: cannot start the async runtime: {e}");
            std::process::exit(1)
        })
}
