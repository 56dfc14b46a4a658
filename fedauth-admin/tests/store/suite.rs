//! The behaviours every store must have, each a function over any
//! `AdminStore` that starts empty; `main.rs` runs each one against the
//! memory, file and PostgreSQL stores.

use fedauth_admin::store::{
    Actor, AdminStore, AuditAction, AuditQuery, AuditRecord, Change, ETag, Precondition,
    StoreError, Stored,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// A valid registration document (the file store checks it with the
/// core's loader) with `extra` members.
pub fn doc(id: &str, extra: Value) -> Map<String, Value> {
    let mut doc = object(json!({
        "id": id, "provider": "jwks", "client_id": "app-1",
        "jwks_uri": "https://idp.example.com/keys",
    }));
    doc.extend(object(extra));
    doc
}

pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// A fixed instant with sub-microsecond digits (stores keep microseconds).
pub fn at(second: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(
        (1_700_000_000 + second as i128) * 1_000_000_000 + 123_456_789,
    )
    .unwrap()
}

pub fn create(id: &str, document: Map<String, Value>) -> Change {
    let record = AuditRecord::new(Actor::Platform, AuditAction::RegistrationCreate, id)
        .after(Some(Value::Object(document.clone())));
    Change::new(id, Precondition::Absent, Some(document), record)
}

pub fn update(id: &str, precondition: Precondition, document: Map<String, Value>) -> Change {
    let record = AuditRecord::new(Actor::Platform, AuditAction::RegistrationUpdate, id)
        .after(Some(Value::Object(document.clone())));
    Change::new(id, precondition, Some(document), record)
}

pub fn delete(id: &str, precondition: Precondition) -> Change {
    let record = AuditRecord::new(Actor::Platform, AuditAction::RegistrationDelete, id);
    Change::new(id, precondition, None, record)
}

/// A change of `id` to a document named `name`.
pub fn renamed(id: &str, precondition: Precondition, name: &str) -> Change {
    update(id, precondition, doc(id, json!({ "name": name })))
}

/// Creates `id` with a plain document; its stored state.
pub async fn created(store: &dyn AdminStore, id: &str) -> Stored {
    let stored = store.apply(create(id, doc(id, json!({})))).await.unwrap();
    stored.expect("a create returns the new state")
}

/// The `seq`s of the newest 100 audit records.
pub async fn seqs(store: &dyn AdminStore) -> Vec<u64> {
    let records = store.audit(&AuditQuery::new(100)).await.unwrap();
    records.iter().map(|r| r.seq).collect()
}

async fn all_audit(store: &dyn AdminStore) -> Vec<AuditRecord> {
    store.audit(&AuditQuery::new(1000)).await.unwrap()
}

fn ids(stored: &[Stored]) -> Vec<&str> {
    stored.iter().map(|s| s.id.as_str()).collect()
}

/// Create returns the stored state (id set, ETag of the document); get
/// reads it back; list is in byte order of ids with an `after` cursor.
pub async fn create_get_and_list(store: &dyn AdminStore) {
    for id in ["b-2", "a-1", "c-3", "B-0"] {
        let stored = store
            .apply(create(id, doc(id, json!({"name": id}))))
            .await
            .unwrap();
        let stored = stored.expect("a create returns the new state");
        assert_eq!(stored.id, id);
        assert_eq!(stored.document, doc(id, json!({"name": id})));
        assert_eq!(stored.etag, ETag::of(&stored.document));
        assert_eq!(store.get(id).await.unwrap(), Some(stored));
    }
    assert_eq!(store.get("a-0").await.unwrap(), None);

    let all = store.list(None, 100).await.unwrap();
    assert_eq!(ids(&all), ["B-0", "a-1", "b-2", "c-3"]);
    assert_eq!(ids(&store.list(None, 2).await.unwrap()), ["B-0", "a-1"]);
    assert_eq!(
        ids(&store.list(Some("a-1"), 2).await.unwrap()),
        ["b-2", "c-3"]
    );
    assert_eq!(ids(&store.list(Some("a"), 1).await.unwrap()), ["a-1"]);
    assert!(store.list(Some("c-3"), 10).await.unwrap().is_empty());
    assert!(store.list(None, 0).await.unwrap().is_empty());
}

/// A document's id is the change's id, and `null` members are dropped.
pub async fn documents_are_normalised(store: &dyn AdminStore) {
    let mut sent = doc(
        "other-id",
        json!({"name": null, "claims": {"email": null, "username": "upn"}}),
    );
    sent.remove("id");
    let stored = store.apply(create("q-1", sent)).await.unwrap().unwrap();
    let expected = doc("q-1", json!({"claims": {"username": "upn"}}));
    assert_eq!(stored.document, expected);
    assert_eq!(
        store.get("q-1").await.unwrap().unwrap().etag,
        ETag::of(&expected)
    );
}

/// `enabled_in` finds the registrations whose `properties` names the
/// property, in id order.
pub async fn enabled_in_a_property(store: &dyn AdminStore) {
    let docs = [
        ("e-3", json!({"properties": {"p1": ["reader"]}})),
        ("e-1", json!({"properties": {"p1": [], "p2": ["admin"]}})),
        ("e-2", json!({"roles": ["p1"]})),
    ];
    for (id, extra) in docs {
        store.apply(create(id, doc(id, extra))).await.unwrap();
    }
    assert_eq!(ids(&store.enabled_in("p1").await.unwrap()), ["e-1", "e-3"]);
    assert_eq!(ids(&store.enabled_in("p2").await.unwrap()), ["e-1"]);
    assert!(store.enabled_in("p3").await.unwrap().is_empty());
}

/// Each precondition, held and not held; a refused change writes nothing,
/// not even an audit record.
pub async fn every_precondition_outcome(store: &dyn AdminStore) {
    let first = created(store, "p-1").await;
    let refused = [
        renamed("p-1", Precondition::Absent, "again"),
        renamed("p-0", Precondition::Exists, "missing"),
        renamed("p-0", Precondition::Matches(first.etag.clone()), "missing"),
        delete("p-0", Precondition::Exists),
        delete("p-0", Precondition::Absent),
    ];
    for change in refused {
        assert_eq!(
            store.apply(change).await,
            Err(StoreError::PreconditionFailed)
        );
    }
    let apply = |change| async { store.apply(change).await.unwrap().unwrap() };
    let second = apply(renamed("p-1", Precondition::Exists, "two")).await;
    assert_ne!(second.etag, first.etag);
    let stale = renamed("p-1", Precondition::Matches(first.etag.clone()), "stale");
    assert_eq!(
        store.apply(stale).await,
        Err(StoreError::PreconditionFailed)
    );
    let third = apply(renamed("p-1", Precondition::Matches(second.etag), "three")).await;
    assert_eq!(third.document["name"], "three");
    assert_eq!(store.get("p-1").await.unwrap(), Some(third));
    // Only the three changes that held are in the log.
    let actions: Vec<_> = all_audit(store).await.iter().map(|r| r.action).collect();
    let update = AuditAction::RegistrationUpdate;
    assert_eq!(actions, [update, update, AuditAction::RegistrationCreate]);
}

/// A delete removes the registration (from get, list and enabled_in).
pub async fn delete_removes(store: &dyn AdminStore) {
    let in_p = |id: &str| create(id, doc(id, json!({"properties": {"p": []}})));
    let kept = store.apply(in_p("d-1")).await.unwrap().unwrap();
    let gone = store.apply(in_p("d-2")).await.unwrap().unwrap();
    let stale = delete("d-2", Precondition::Matches(kept.etag));
    assert_eq!(
        store.apply(stale).await,
        Err(StoreError::PreconditionFailed)
    );
    let deleted = store.apply(delete("d-2", Precondition::Matches(gone.etag)));
    assert_eq!(deleted.await, Ok(None));
    assert_eq!(store.get("d-2").await.unwrap(), None);
    assert_eq!(ids(&store.list(None, 10).await.unwrap()), ["d-1"]);
    assert_eq!(ids(&store.enabled_in("p").await.unwrap()), ["d-1"]);
    assert_eq!(
        store.apply(delete("d-1", Precondition::Exists)).await,
        Ok(None)
    );
    assert!(store.list(None, 10).await.unwrap().is_empty());
}

/// The changes of a small session: (actor, action, registration, property).
fn session() -> Vec<AuditRecord> {
    let roles = |r: &[&str]| Some(json!({"roles": r}));
    vec![
        AuditRecord::new(Actor::Platform, AuditAction::RegistrationCreate, "a-1")
            .after(Some(json!({"id": "a-1", "secret": "********"}))),
        AuditRecord::new(Actor::Platform, AuditAction::RegistrationCreate, "a-2"),
        AuditRecord::new(
            Actor::Property("p1".into()),
            AuditAction::PropertyEnable,
            "a-1",
        )
        .property("p1")
        .after(roles(&["reader"])),
        AuditRecord::new(
            Actor::Property("p2".into()),
            AuditAction::PropertyEnable,
            "a-2",
        )
        .property("p2")
        .after(roles(&["admin"])),
        AuditRecord::new(Actor::Platform, AuditAction::PropertyUpdate, "a-1")
            .property("p1")
            .before(roles(&["reader"]))
            .after(roles(&["reader", "admin"])),
        AuditRecord::new(
            Actor::Property("p1".into()),
            AuditAction::PropertyDisable,
            "a-1",
        )
        .property("p1")
        .before(roles(&["reader", "admin"])),
        AuditRecord::new(Actor::Platform, AuditAction::RegistrationUpdate, "a-2")
            .before(Some(json!({"id": "a-2"})))
            .after(Some(json!({"id": "a-2", "name": "two"}))),
        AuditRecord::new(Actor::Platform, AuditAction::RegistrationDelete, "a-2")
            .before(Some(json!({"id": "a-2", "name": "two"}))),
    ]
}

/// Applies the session's records as changes (a document per step that
/// keeps every precondition true).
async fn play_session(store: &dyn AdminStore) -> Vec<AuditRecord> {
    let records: Vec<AuditRecord> = session()
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.at(at(i as i64)))
        .collect();
    for (i, record) in records.iter().enumerate() {
        let id = record.registration.clone();
        let (precondition, document) = match record.action {
            AuditAction::RegistrationCreate => (Precondition::Absent, Some(doc(&id, json!({})))),
            AuditAction::RegistrationDelete => (Precondition::Exists, None),
            _ => (
                Precondition::Exists,
                Some(doc(&id, json!({"name": format!("step {i}")}))),
            ),
        };
        store
            .apply(Change::new(id, precondition, document, record.clone()))
            .await
            .unwrap();
    }
    records
}

/// The audit log: exact records (seq assigned, `at` in UTC to the
/// microsecond), newest first, filtered by registration and property,
/// paged by `before_seq`.
pub async fn audit_log(store: &dyn AdminStore) {
    let played = play_session(store).await;
    let log = all_audit(store).await;
    assert_eq!(log.len(), played.len());
    let seqs: Vec<u64> = log.iter().map(|r| r.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    for (record, sent) in log.iter().rev().zip(&played) {
        let micros = sent
            .at
            .replace_nanosecond(sent.at.nanosecond() / 1000 * 1000)
            .unwrap();
        let mut expected = sent.clone().at(micros);
        expected.seq = record.seq;
        assert_eq!(record, &expected);
        assert_eq!(record.at.offset(), time::UtcOffset::UTC);
    }
    // The same content in the API's JSON shape.
    let newest = serde_json::to_value(&log[0]).unwrap();
    assert_eq!(newest["actor"], "platform");
    assert_eq!(newest["action"], "registration.delete");
    assert_eq!(newest["at"], "2023-11-14T22:13:27.123456Z");
    assert_eq!(newest["after"], Value::Null);
    assert_eq!(newest["property"], Value::Null);

    let filtered = |registration: Option<&str>, property: Option<&str>, limit| {
        AuditQuery::new(limit)
            .registration(registration.map(str::to_owned))
            .property(property.map(str::to_owned))
    };
    let actions = |records: Vec<AuditRecord>| -> Vec<String> {
        records
            .iter()
            .map(|r| format!("{} {}", r.action, r.registration))
            .collect()
    };
    let of_a1 = store
        .audit(&filtered(Some("a-1"), None, 100))
        .await
        .unwrap();
    assert_eq!(
        actions(of_a1),
        [
            "property.disable a-1",
            "property.update a-1",
            "property.enable a-1",
            "registration.create a-1"
        ]
    );
    let in_p1 = store.audit(&filtered(None, Some("p1"), 100)).await.unwrap();
    assert_eq!(
        actions(in_p1),
        [
            "property.disable a-1",
            "property.update a-1",
            "property.enable a-1"
        ]
    );
    let a2_in_p2 = store
        .audit(&filtered(Some("a-2"), Some("p2"), 100))
        .await
        .unwrap();
    assert_eq!(actions(a2_in_p2), ["property.enable a-2"]);
    assert!(
        store
            .audit(&filtered(Some("a-1"), Some("p2"), 100))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.audit(&AuditQuery::new(0)).await.unwrap().is_empty());

    // Pages of 3 by cursor: every record once, in order.
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .audit(&AuditQuery::new(3).before_seq(cursor))
            .await
            .unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        cursor = Some(last.seq);
        paged.extend(page);
    }
    assert_eq!(paged, log);
    let p1_page = store
        .audit(&filtered(None, Some("p1"), 1).before_seq(Some(log[0].seq)))
        .await
        .unwrap();
    assert_eq!(actions(p1_page), ["property.disable a-1"]);
}
