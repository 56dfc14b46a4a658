//! `fedauth admin`: the admin API of a running server (docs/admin.md),
//! from the command line.

use std::io::Read;
use std::process::ExitCode;

use reqwest::Method;
use reqwest::header::IF_MATCH;
use serde_json::{Value, json};

use crate::args::{Args, UsageError};

mod client;
mod output;

use client::{Client, Failure};
use output::Output;

pub const HELP: &str = "\
fedauth admin: register applications and enable them in properties

Usage:
  fedauth admin create FILE [--no-check]         register; the server issues the QUID
  fedauth admin get ID                           one registration (secrets masked)
  fedauth admin list [--limit N] [--cursor C] [--all]
  fedauth admin patch ID FILE [--if-match ETAG]  JSON merge patch (RFC 7396)
  fedauth admin delete ID [--if-match ETAG]
  fedauth admin enable ID --property P [--role ROLE]...
                                                 enable in P with exactly these roles
  fedauth admin disable ID --property P
  fedauth admin enabled --property P             the applications enabled in P
  fedauth admin audit [--registration ID] [--property P] [--limit N] [--cursor C]

Calls the admin API of a running server (its /admin/v1 routes). FILE is a
registration in JSON (or TOML when it ends in .toml; `-` reads JSON from
standard input), without `id` for create. Without --if-match, patch and
delete first read the registration's current ETag, so the change applies
only if nobody changed it in between.

Options (every subcommand):
  --url URL            the server's base URL (default: $FEDAUTH_ADMIN_URL)
  --token TOKEN        the admin bearer token (default: $FEDAUTH_ADMIN_TOKEN;
                       prefer the variable: command lines are visible to
                       others). It is never printed, and sent to --url only:
                       redirects are not followed
  --output json|table  json: the API's answer (a registration as
                       {\"etag\", \"registration\"}; enable, disable and
                       delete: what was done); table (default): columns

Exit status: 0 done; 1 server unreachable or unexpected answer; 2 usage
error; 3 refused (401 unauthorized, 403 forbidden); 4 not found (404);
5 invalid request (400 malformed_request, 422 validation_failed);
6 precondition (409 conflict, 412 precondition_failed,
428 precondition_required); 7 store unavailable (503, try again).
";

/// `--url`, `--token` and `--output`, read before the subcommand's own.
struct Common {
    client: Client,
    output: Output,
}

fn from_env_or(args: &mut Args, option: &str, var: &str) -> Result<String, UsageError> {
    match args.option(option)? {
        Some(value) => Ok(value),
        None => std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| UsageError(format!("--{option} (or ${var}) is required"))),
    }
}

fn common(args: &mut Args) -> Result<Common, UsageError> {
    let url = from_env_or(args, "url", "FEDAUTH_ADMIN_URL")?;
    let token = from_env_or(args, "token", "FEDAUTH_ADMIN_TOKEN")?;
    let output = Output::parse(args.option("output")?.as_deref()).map_err(UsageError)?;
    let client = Client::new(&url, &token).map_err(UsageError)?;
    Ok(Common { client, output })
}

/// A path segment, percent-encoded (ids and property names are visible
/// ASCII, which may include `/`, `?` or `%`).
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn registration_path(id: &str) -> String {
    format!("/registrations/{}", segment(id))
}

fn property_path(property: &str, id: &str) -> String {
    format!(
        "/properties/{}/registrations/{}",
        segment(property),
        segment(id)
    )
}

/// A registration document from FILE: JSON, TOML for `.toml`, JSON on
/// standard input for `-`. A registry file holding exactly one
/// registration is taken as that registration.
fn read_document(file: &str) -> Result<Value, String> {
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("standard input: {e}"))?;
        text
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?
    };
    let value: Value = if file.ends_with(".toml") {
        let table: toml::Table = toml::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
        serde_json::to_value(table).map_err(|e| format!("{file}: {e}"))?
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{file}: not JSON: {e}"))?
    };
    let value = match value {
        Value::Object(mut map) if map.len() == 1 && map.contains_key("registrations") => {
            match map.remove("registrations") {
                Some(Value::Array(mut list)) if list.len() == 1 => list.remove(0),
                _ => return Err(format!("{file}: expected exactly one registration")),
            }
        }
        other => other,
    };
    if !value.is_object() {
        return Err(format!("{file}: expected a JSON object (one registration)"));
    }
    Ok(value)
}

/// Prints what a command produced, or its failure on stderr.
fn finish(result: Result<String, Failure>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprint!("{}", failure.render());
            failure.exit_code()
        }
    }
}

pub fn run(mut args: Args) -> Result<ExitCode, UsageError> {
    let sub = args.next_positional();
    if args.wants_help() || matches!(sub.as_deref(), None | Some("-h" | "--help")) {
        print!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let sub = sub.unwrap_or_default();
    if !matches!(
        sub.as_str(),
        "create" | "get" | "list" | "patch" | "delete" | "enable" | "disable" | "enabled" | "audit"
    ) {
        return Err(UsageError(format!(
            "unknown admin subcommand {sub:?} (create, get, list, patch, delete, enable, \
             disable, enabled, audit)"
        )));
    }
    let common = common(&mut args)?;
    let command = Command::parse(&sub, &mut args)?;
    let result = crate::runtime().block_on(command.run(&common));
    Ok(finish(result))
}

/// Fails unless every argument was consumed.
fn no_positionals(args: &mut Args, sub: &str) -> Result<(), UsageError> {
    match args.positionals()?.first() {
        None => Ok(()),
        Some(extra) => Err(UsageError(format!("{sub} takes no argument {extra:?}"))),
    }
}

/// A parsed subcommand.
enum Command {
    Create {
        body: Value,
        check: bool,
    },
    Get {
        id: String,
    },
    List {
        limit: Option<String>,
        cursor: Option<String>,
        all: bool,
    },
    Patch {
        id: String,
        body: Value,
        if_match: Option<String>,
    },
    Delete {
        id: String,
        if_match: Option<String>,
    },
    Enable {
        id: String,
        property: String,
        roles: Vec<String>,
    },
    Disable {
        id: String,
        property: String,
    },
    Enabled {
        property: String,
    },
    Audit {
        query: Vec<(&'static str, String)>,
    },
}

impl Command {
    fn parse(sub: &str, args: &mut Args) -> Result<Self, UsageError> {
        let document = |file: String| read_document(&file).map_err(UsageError);
        let command = match sub {
            "create" => {
                let check = !args.flag("no-check");
                Command::Create {
                    body: document(args.one("FILE")?)?,
                    check,
                }
            }
            "get" => Command::Get {
                id: args.one("ID")?,
            },
            "list" => {
                let command = Command::List {
                    limit: args.option("limit")?,
                    cursor: args.option("cursor")?,
                    all: args.flag("all"),
                };
                no_positionals(args, "list")?;
                command
            }
            "patch" => {
                let if_match = args.option("if-match")?;
                let mut rest = args.positionals()?;
                if rest.len() != 2 {
                    return Err(UsageError("patch needs ID and FILE".into()));
                }
                let file = rest.remove(1);
                Command::Patch {
                    id: rest.remove(0),
                    body: document(file)?,
                    if_match,
                }
            }
            "delete" => Command::Delete {
                if_match: args.option("if-match")?,
                id: args.one("ID")?,
            },
            "enable" => Command::Enable {
                property: args.required("property")?,
                roles: args.options("role")?,
                id: args.one("ID")?,
            },
            "disable" => Command::Disable {
                property: args.required("property")?,
                id: args.one("ID")?,
            },
            "enabled" => {
                let property = args.required("property")?;
                no_positionals(args, "enabled")?;
                Command::Enabled { property }
            }
            _ => {
                let mut query = Vec::new();
                for name in ["registration", "property", "limit", "cursor"] {
                    if let Some(value) = args.option(name)? {
                        query.push((name, value));
                    }
                }
                no_positionals(args, "audit")?;
                Command::Audit { query }
            }
        };
        Ok(command)
    }

    async fn run(self, common: &Common) -> Result<String, Failure> {
        let (client, output) = (&common.client, common.output);
        match self {
            Command::Create { body, check } => {
                let query = if check {
                    vec![]
                } else {
                    vec![("check", "false".to_owned())]
                };
                let answer = client
                    .send(
                        Method::POST,
                        "/registrations",
                        &query,
                        &[],
                        Some(("application/json", &body)),
                    )
                    .await?;
                Ok(output::registration(
                    output,
                    answer.etag.as_deref(),
                    &answer.body,
                ))
            }
            Command::Get { id } => {
                let answer = client
                    .send(Method::GET, &registration_path(&id), &[], &[], None)
                    .await?;
                Ok(output::registration(
                    output,
                    answer.etag.as_deref(),
                    &answer.body,
                ))
            }
            Command::List { limit, cursor, all } => {
                let body = list(client, limit, cursor, all).await?;
                Ok(output::page(
                    output,
                    &body,
                    &[
                        ("id", "ID"),
                        ("name", "NAME"),
                        ("provider", "PROVIDER"),
                        ("client_id", "CLIENT_ID"),
                        ("properties", "PROPERTIES"),
                    ],
                ))
            }
            Command::Patch { id, body, if_match } => {
                let path = registration_path(&id);
                let etag = current_etag(client, &path, if_match).await?;
                let answer = client
                    .send(
                        Method::PATCH,
                        &path,
                        &[],
                        &[(IF_MATCH, etag)],
                        Some(("application/merge-patch+json", &body)),
                    )
                    .await?;
                Ok(output::registration(
                    output,
                    answer.etag.as_deref(),
                    &answer.body,
                ))
            }
            Command::Delete { id, if_match } => {
                let path = registration_path(&id);
                let etag = current_etag(client, &path, if_match).await?;
                client
                    .send(Method::DELETE, &path, &[], &[(IF_MATCH, etag)], None)
                    .await?;
                Ok(output::done(
                    output,
                    json!({"registration": id, "deleted": true}),
                    format!("deleted {id}"),
                ))
            }
            Command::Enable {
                id,
                property,
                roles,
            } => {
                let body = json!({ "roles": roles });
                let answer = client
                    .send(
                        Method::PUT,
                        &property_path(&property, &id),
                        &[],
                        &[],
                        Some(("application/json", &body)),
                    )
                    .await?;
                let how = if answer.status.as_u16() == 201 {
                    "newly enabled"
                } else {
                    "roles replaced"
                };
                let summary = json!({
                    "registration": id, "property": property, "roles": roles,
                    "created": answer.status.as_u16() == 201,
                });
                Ok(output::done(
                    output,
                    summary,
                    format!(
                        "enabled {id} in {property} with roles [{}] ({how})",
                        roles.join(", ")
                    ),
                ))
            }
            Command::Disable { id, property } => {
                client
                    .send(
                        Method::DELETE,
                        &property_path(&property, &id),
                        &[],
                        &[],
                        None,
                    )
                    .await?;
                Ok(output::done(
                    output,
                    json!({"registration": id, "property": property, "disabled": true}),
                    format!("disabled {id} in {property}"),
                ))
            }
            Command::Enabled { property } => {
                let path = format!("/properties/{}/registrations", segment(&property));
                let answer = client.send(Method::GET, &path, &[], &[], None).await?;
                Ok(output::page(
                    output,
                    &answer.body,
                    &[("id", "ID"), ("name", "NAME"), ("roles", "ROLES")],
                ))
            }
            Command::Audit { query } => {
                let answer = client
                    .send(Method::GET, "/audit", &query, &[], None)
                    .await?;
                Ok(output::page(
                    output,
                    &answer.body,
                    &[
                        ("at", "AT"),
                        ("actor", "ACTOR"),
                        ("action", "ACTION"),
                        ("registration", "REGISTRATION"),
                        ("property", "PROPERTY"),
                    ],
                ))
            }
        }
    }
}

/// `--if-match` as given, or the registration's current ETag.
async fn current_etag(
    client: &Client,
    path: &str,
    if_match: Option<String>,
) -> Result<String, Failure> {
    if let Some(etag) = if_match {
        return Ok(etag);
    }
    let answer = client.send(Method::GET, path, &[], &[], None).await?;
    answer.etag.ok_or_else(|| {
        Failure::Failed("the server answered the registration without an ETag".into())
    })
}

/// One page of registrations, or (`--all`) every page, followed by cursor.
async fn list(
    client: &Client,
    limit: Option<String>,
    mut cursor: Option<String>,
    all: bool,
) -> Result<Value, Failure> {
    let mut items = Vec::new();
    loop {
        let mut query = Vec::new();
        if let Some(limit) = &limit {
            query.push(("limit", limit.clone()));
        }
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let answer = client
            .send(Method::GET, "/registrations", &query, &[], None)
            .await?;
        if !all {
            return Ok(answer.body);
        }
        items.extend(output::items(&answer.body).iter().cloned());
        let next = answer.body.get("next_cursor").and_then(Value::as_str);
        match next {
            Some(next) if cursor.as_deref() != Some(next) => cursor = Some(next.to_owned()),
            _ => return Ok(json!({"items": items, "next_cursor": null})),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("quid-AB_c.d~"), "quid-AB_c.d~");
        assert_eq!(segment("a/b?c%d e"), "a%2Fb%3Fc%25d%20e");
        assert_eq!(
            property_path("p 1", "q/1"),
            "/properties/p%201/registrations/q%2F1"
        );
    }
}
