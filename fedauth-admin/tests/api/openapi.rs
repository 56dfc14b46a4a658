//! The OpenAPI document: 3.1, every endpoint of the routing table with its
//! refusals, and the reference in docs/admin-api.md rendered from it.

use fedauth_admin::api::ENDPOINTS;
use serde_json::Value;

#[test]
fn the_document_is_openapi_3_1_with_every_endpoint_and_its_refusals() {
    let doc = fedauth_admin::openapi::document_json();
    let text = serde_json::to_string(&doc).unwrap();
    let reparsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reparsed, doc);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for e in ENDPOINTS {
        assert!(e.path.starts_with("/admin/v1/"));
        let op = &paths[e.path][e.method.as_str().to_ascii_lowercase()];
        assert!(op.is_object(), "{} {} missing", e.method, e.path);
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{} {}",
            e.method,
            e.path
        );
        for status in ["401", "403"]
            .into_iter()
            .map(str::to_owned)
            .chain(e.errors.iter().map(|c| c.status().as_u16().to_string()))
        {
            let schema = &responses[&status]["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(
                schema, "#/components/schemas/ErrorBody",
                "{} {} {status}",
                e.method, e.path
            );
        }
        operations += 1;
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented, operations,
        "the document has operations the routing table lacks"
    );
    for schema in ["RegistrationDocument", "ErrorBody", "AuditItem", "Roles"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
