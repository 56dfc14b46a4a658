//! `fedauth registry check FILE...`

use std::process::ExitCode;

use tower_fedauth::registry::{RegistryFormat, check_registry_file, parse_registry_str};

use crate::args::{Args, UsageError};

pub const HELP: &str = "\
fedauth registry check: validate registry files

Usage:
  fedauth registry check FILE...

Reads each file (.toml or .json, the format of docs/registry.md) and prints
every problem, each naming the file, the registration (index and id) and
the field, then a summary line per file.

Exit status: 0 when every file loads; 1 when any file has a problem;
2 usage error.
";

pub fn run(mut args: Args) -> Result<ExitCode, UsageError> {
    if args.wants_help() {
        print!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let files = args.positionals()?;
    if files.is_empty() {
        return Err(UsageError("registry check needs at least one FILE".into()));
    }
    let mut failed = false;
    for file in &files {
        let problems = check_registry_file(file);
        if problems.is_empty() {
            println!("{file}: ok, {} registrations", count(file));
            continue;
        }
        failed = true;
        for problem in &problems {
            println!("error: {problem}");
        }
        let plural = if problems.len() == 1 { "" } else { "s" };
        println!("{file}: {} problem{plural}", problems.len());
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// How many registrations a file that checked clean holds.
fn count(file: &str) -> usize {
    let format = RegistryFormat::from_path(file.as_ref());
    let text = std::fs::read_to_string(file).unwrap_or_default();
    format
        .and_then(|f| parse_registry_str(&text, f).ok())
        .map_or(0, |r| r.len())
}
