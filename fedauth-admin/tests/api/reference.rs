//! docs/admin-api.md's reference is rendered from the OpenAPI document:
//! this test fails when the file is out of date, and rewrites it with
//! `FEDAUTH_UPDATE_DOCS=1 cargo test -p fedauth-admin --test api reference`.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Map, Value};

/// The line after which docs/admin-api.md is generated.
const MARKER: &str = "<!-- Generated from the OpenAPI document below this line: do not edit. -->";

fn docs_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/admin-api.md")
}

/// A JSON Schema as a type name: references link to their section.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("[{name}](#{})", name.to_ascii_lowercase());
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema[key].as_array() {
            let names: Vec<String> = parts.iter().map(type_of).collect();
            return names.join(" \\| ");
        }
    }
    let types: Vec<String> = match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec!["any".to_owned()],
    };
    types
        .iter()
        .map(|t| match t.as_str() {
            "array" => format!("array of {}", type_of(&schema["items"])),
            "object" if schema["additionalProperties"].is_object() => {
                format!("map of {}", type_of(&schema["additionalProperties"]))
            }
            other => other.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" \\| ")
}

/// Text for a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn operation(out: &mut String, method: &str, path: &str, op: &Map<String, Value>) {
    let _ = writeln!(out, "### `{} {path}`\n", method.to_ascii_uppercase());
    for key in ["summary", "description"] {
        if let Some(text) = op.get(key).and_then(Value::as_str) {
            let _ = writeln!(out, "{text}\n");
        }
    }
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        out.push_str("| parameter | in | required | type | description |\n|---|---|---|---|---|\n");
        for p in params {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                p["name"].as_str().unwrap_or(""),
                p["in"].as_str().unwrap_or(""),
                if p["required"] == true { "yes" } else { "no" },
                type_of(&p["schema"]),
                cell(p["description"].as_str().unwrap_or("")),
            );
        }
        out.push('\n');
    }
    if let Some(body) = op.get("requestBody") {
        for (media, content) in body["content"].as_object().into_iter().flatten() {
            let _ = writeln!(
                out,
                "Request body (`{media}`, {}): {}. {}\n",
                if body["required"] == true {
                    "required"
                } else {
                    "optional"
                },
                type_of(&content["schema"]),
                cell(body["description"].as_str().unwrap_or("")),
            );
        }
    }
    out.push_str("| status | description | body | headers |\n|---|---|---|---|\n");
    for (status, r) in op["responses"].as_object().into_iter().flatten() {
        let body = r["content"]
            .as_object()
            .and_then(|c| c.values().next())
            .map(|c| type_of(&c["schema"]))
            .unwrap_or_default();
        let headers: Vec<String> = r["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(h, _)| format!("`{h}`"))
            .collect();
        let _ = writeln!(
            out,
            "| {status} | {} | {body} | {} |",
            cell(r["description"].as_str().unwrap_or("")),
            headers.join(", "),
        );
    }
    out.push('\n');
}

fn schema(out: &mut String, name: &str, s: &Value) {
    let _ = writeln!(out, "### {name}\n");
    if let Some(text) = s["description"].as_str() {
        let _ = writeln!(out, "{text}\n");
    }
    if let Some(values) = s["enum"].as_array() {
        let names: Vec<String> = values
            .iter()
            .map(|v| format!("`{}`", v.as_str().unwrap_or("")))
            .collect();
        let _ = writeln!(out, "One of {}.\n", names.join(", "));
        return;
    }
    let required: Vec<&str> = s["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    out.push_str("| field | type | required | description |\n|---|---|---|---|\n");
    for (field, f) in s["properties"].as_object().into_iter().flatten() {
        let _ = writeln!(
            out,
            "| `{field}` | {} | {} | {} |",
            type_of(f),
            if required.contains(&field.as_str()) {
                "yes"
            } else {
                "no"
            },
            cell(f["description"].as_str().unwrap_or("")),
        );
    }
    out.push('\n');
}

/// The reference section of docs/admin-api.md.
fn render(doc: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Reference\n\nOpenAPI {}, `{}` {}. Every operation takes `Authorization: Bearer <token>`.\n",
        doc["openapi"].as_str().unwrap_or(""),
        doc["info"]["title"].as_str().unwrap_or(""),
        doc["info"]["version"].as_str().unwrap_or(""),
    );
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if let Some(op) = item[method].as_object() {
                operation(&mut out, method, path, op);
            }
        }
    }
    out.push_str("## Schemas\n\n");
    for (name, s) in doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        schema(&mut out, name, s);
    }
    out.trim_end().to_owned() + "\n"
}

#[test]
fn reference_in_docs_is_the_openapi_document() {
    let path = docs_path();
    let text = std::fs::read_to_string(&path).expect("docs/admin-api.md");
    let (manual, _) = text
        .split_once(MARKER)
        .expect("the marker line in docs/admin-api.md");
    let want = format!(
        "{manual}{MARKER}\n\n{}",
        render(&fedauth_admin::openapi::document_json())
    );
    if std::env::var_os("FEDAUTH_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(
        text == want,
        "docs/admin-api.md is out of date: run FEDAUTH_UPDATE_DOCS=1 cargo test -p fedauth-admin --test api reference"
    );
}

#[test]
fn every_endpoint_has_a_section_in_the_reference() {
    let rendered = render(&fedauth_admin::openapi::document_json());
    for e in fedauth_admin::api::ENDPOINTS {
        let heading = format!("### `{} {}`", e.method, e.path);
        assert!(rendered.contains(&heading), "{heading}");
    }
}
