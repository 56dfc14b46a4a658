//! The registry file parser: TOML, or JSON when the text starts with `{`.
//! Runs the loading parser and the tool checker (every problem at once),
//! which must agree on whether the document is valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_fedauth::registry::{
    RegistryFormat, check_registry_str, parse_registry_entries, parse_registry_str,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let format = if text.starts_with('{') {
        RegistryFormat::Json
    } else {
        RegistryFormat::Toml
    };
    let loaded = parse_registry_str(text, format);
    let entries = parse_registry_entries(text, format);
    let problems = check_registry_str(text, format);
    assert_eq!(loaded.is_ok(), entries.is_ok());
    assert_eq!(loaded.is_ok(), problems.is_empty(), "{problems:?}");
    if let Err(e) = loaded {
        let _ = e.to_string();
    }
});
