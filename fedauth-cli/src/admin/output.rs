//! How `fedauth admin` prints an answer: `--output json` (stable, for
//! scripts) or `--output table` (aligned columns, for people).

use serde_json::{Map, Value, json};

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Table,
}

impl Output {
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value {
            None | Some("table") => Ok(Output::Table),
            Some("json") => Ok(Output::Json),
            Some(other) => Err(format!("--output {other:?}: expected json or table")),
        }
    }
}

/// JSON, pretty-printed, with a final newline.
pub fn json_text(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    text
}

/// A value in a table cell: strings as they are, `-` for nothing, lists of
/// strings joined by commas, anything else as compact JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) if s.is_empty() => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            if items.is_empty() {
                "-".to_owned()
            } else {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            }
        }
        Some(other) => other.to_string(),
    }
}

/// Rows under a header, each column as wide as its widest cell, separated
/// by two spaces; no trailing spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(value.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (value, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(value);
            } else {
                line.push_str(&format!("{value:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One registration with its entity tag: `{"etag", "registration"}` in
/// JSON, a FIELD / VALUE table (id and etag first, then the fields in
/// name order) otherwise.
pub fn registration(output: Output, etag: Option<&str>, body: &Value) -> String {
    match output {
        Output::Json => json_text(&json!({"etag": etag, "registration": body})),
        Output::Table => {
            let empty = Map::new();
            let fields = body.as_object().unwrap_or(&empty);
            let mut rows = vec![
                vec!["id".to_owned(), cell(fields.get("id"))],
                vec!["etag".to_owned(), etag.unwrap_or("-").to_owned()],
            ];
            let mut names: Vec<&String> = fields.keys().filter(|k| *k != "id").collect();
            names.sort();
            rows.extend(
                names
                    .into_iter()
                    .map(|name| vec![name.clone(), cell(fields.get(name))]),
            );
            table(&["FIELD", "VALUE"], &rows)
        }
    }
}

/// The `items` of a page, each a row of `columns` (JSON key, header), and
/// the next cursor, if any, as a last line.
pub fn page(output: Output, body: &Value, columns: &[(&str, &str)]) -> String {
    match output {
        Output::Json => json_text(body),
        Output::Table => {
            let rows: Vec<Vec<String>> = items(body)
                .iter()
                .map(|item| columns.iter().map(|(key, _)| column(item, key)).collect())
                .collect();
            let header: Vec<&str> = columns.iter().map(|(_, h)| *h).collect();
            let mut out = table(&header, &rows);
            if let Some(cursor) = body.get("next_cursor").and_then(Value::as_str) {
                out.push_str(&format!("next cursor: {cursor}\n"));
            }
            out
        }
    }
}

/// The `items` array of a page (empty when absent).
pub fn items(body: &Value) -> &[Value] {
    body.get("items")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A column of an item: a key, or `properties` as the names of the
/// properties where the application is enabled.
fn column(item: &Value, key: &str) -> String {
    if key == "properties" {
        let names: Vec<Value> = item
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().map(|k| Value::String(k.clone())).collect())
            .unwrap_or_default();
        return cell(Some(&Value::Array(names)));
    }
    cell(item.get(key))
}

/// What a command that changed something without a body to show prints:
/// its JSON summary, or the sentence.
pub fn done(output: Output, summary: Value, sentence: String) -> String {
    match output {
        Output::Json => json_text(&summary),
        Output::Table => format!("{sentence}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_cells_render_values() {
        let rows = vec![
            vec!["a".to_owned(), "xyz".to_owned(), "1".to_owned()],
            vec!["long-one".to_owned(), "-".to_owned(), "22".to_owned()],
        ];
        assert_eq!(
            table(&["ID", "NAME", "N"], &rows),
            "ID        NAME  N\na         xyz   1\nlong-one  -     22\n"
        );
        assert_eq!(cell(Some(&json!(["a", "b"]))), "a,b");
        assert_eq!(cell(Some(&json!([]))), "-");
        assert_eq!(cell(Some(&json!({"k": 1}))), r#"{"k":1}"#);
        assert_eq!(cell(Some(&json!(true))), "true");
        assert_eq!(cell(None), "-");
        assert_eq!(
            Output::parse(Some("yaml")).unwrap_err(),
            "--output \"yaml\": expected json or table"
        );
    }
}
