//! Export on every backend (see `confo::export`): what a namespace holds, read at one moment
//! with each configuration's revision, never a key another namespace may own, secret values
//! masked unless asked for, and every export in the audit log.

mod common;

use common::{Backend, cfg, change, ns, object, with_namespace};
use confo::AuditQuery;
use confo::export::{Format, Options, SECRET_PLACEHOLDER, Writer};
use confo::store::{SchemaChoice, SettingsChange};
use serde_json::{Value, json};

contract!(
    a_namespace_is_exported_whole_with_revisions_and_secrets_masked,
    an_export_is_audited_before_it_is_written,
);

async fn a_namespace_is_exported_whole_with_revisions_and_secrets_masked(b: Backend) {
    let store = with_namespace(&b, "shop").await;
    let written = store
        .create_configuration(
            &ns("shop"),
            &cfg("db"),
            object(json!({"host": "db.local", "password": "hunter2"})),
            &change(),
        )
        .await
        .unwrap();
    store
        .change_settings(
            &ns("shop"),
            SettingsChange::Assign {
                configuration: cfg("db"),
                choice: Some(SchemaChoice::Own(
                    json!({"properties": {"password": {"type": "string", "writeOnly": true}}}),
                )),
            },
            None,
            &change(),
        )
        .await
        .unwrap();
    // Written by another tool, never listed: exported too.
    b.put("shop-cache", r#"{"ttl": 1.50}"#).await;
    // A namespace whose name the rules refuse, written by another tool: its key `shop-eu-x` is
    // under `shop-` as well, and is not shop's.
    let root = b.value("confo").await.unwrap();
    let mut root: Value = serde_json::from_str(&root).unwrap();
    root["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!("shop-eu"));
    b.put("confo", &root.to_string()).await;
    b.put("shop-eu-x", r#"{"leak": true}"#).await;

    let read = store.export_namespace(&ns("shop")).await.unwrap();
    let names: Vec<&str> = read
        .configurations
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    // As the namespace lists them, then those it does not list.
    assert_eq!(names, vec!["db", "cache"]);
    assert_eq!(read.configurations[0].revision, written.revision);
    assert!(read.settings.schema_of("db").is_some());

    let export = |secrets| {
        let mut writer = Writer::new(Options {
            format: Format::Bundle,
            secrets,
        });
        let mut out = writer.start("now");
        out.extend(writer.namespace(&read).unwrap());
        out.extend(writer.finish().unwrap());
        String::from_utf8(out).unwrap()
    };
    let masked: Value = serde_json::from_str(&export(false)).unwrap();
    let db = &masked["namespaces"]["shop"]["configurations"]["db"];
    assert_eq!(
        db["fields"],
        json!({"host": "db.local", "password": SECRET_PLACEHOLDER})
    );
    assert_eq!(db["revision"], written.revision);
    let whole = export(true);
    assert!(whole.contains(r#""password":"hunter2""#), "{whole}");
    // Numbers as written.
    assert!(whole.contains(r#""ttl":1.50"#), "{whole}");

    let missing = store.export_namespace(&ns("nowhere")).await;
    assert!(
        matches!(missing, Err(confo::Error::NotFound(_))),
        "{missing:?}"
    );
}

async fn an_export_is_audited_before_it_is_written(b: Backend) {
    let store = with_namespace(&b, "shop").await;
    store
        .record_export(
            &["shop".into()],
            "yaml",
            true,
            &change().with_comment("for the move"),
        )
        .await
        .unwrap();
    let page = store.audit(&AuditQuery::default()).await.unwrap();
    let entry = &page.entries[0];
    assert_eq!(entry.action, confo::Action::ConfigurationExport);
    assert_eq!(entry.namespace.as_deref(), Some("shop"));
    assert_eq!(
        entry.comment.as_deref(),
        Some("exported 1 namespace as yaml, with secret values: shop (for the move)")
    );
    let many: Vec<String> = (0..25).map(|i| format!("n{i}")).collect();
    store
        .record_export(&many, "bundle", false, &change())
        .await
        .unwrap();
    let page = store.audit(&AuditQuery::default()).await.unwrap();
    let entry = &page.entries[0];
    assert_eq!(entry.namespace, None);
    let comment = entry.comment.as_deref().unwrap();
    assert!(
        comment.starts_with("exported 25 namespaces as bundle: n0, n1,"),
        "{comment}"
    );
    assert!(comment.ends_with("n19 and 5 more"), "{comment}");
}
