//! Import on every backend (see `confo::import`): an export imported into an empty store gives
//! back the same keys and values, a preview says what would change, the write is compared on
//! what the preview read, and running an import again completes it.

mod common;

use std::collections::BTreeMap;

use common::{Backend, cfg, change, ns, object, with_namespace};
use confo::export::{Format, Options as ExportOptions, Writer};
use confo::import::{
    Action, EnvOptions, Existing, FieldState, Options, Outcome, read_bytes, read_bytes_full,
};
use confo::request::{Approvers, ReviewPolicy};
use confo::store::{SchemaChoice, SettingsChange};
use confo::users::{Grants, PasswordHash, Role, User};
use confo::{Actor, Change, KeyLayout, Store};
use serde_json::{Value, json};

contract!(
    an_export_imported_into_an_empty_store_gives_back_the_same_keys_and_values,
    an_import_is_previewed_then_applied_on_what_the_preview_read,
    an_import_into_a_reviewed_namespace_opens_a_change_request,
    a_bundle_brings_its_schemas_back_unless_a_configuration_would_not_match,
);

/// Every key of `store` outside the reserved prefix, without the store's own prefix, with its
/// value parsed.
async fn plain_keys(b: &Backend, store: &Store) -> BTreeMap<String, Value> {
    let prefix = store.layout().prefix().to_owned();
    let reserved = store.layout().reserved("");
    b.kv.list_prefix(&prefix)
        .await
        .unwrap()
        .into_iter()
        .filter(|kv| !kv.key.starts_with(&reserved))
        .map(|kv| {
            (
                kv.key[prefix.len()..].to_owned(),
                serde_json::from_slice(&kv.value).unwrap(),
            )
        })
        .collect()
}

async fn export_all(store: &Store, format: Format) -> Vec<u8> {
    let mut writer = Writer::new(ExportOptions {
        format,
        secrets: true,
    });
    let mut out = writer.start("now");
    for name in store.list_namespaces().await.unwrap() {
        let read = store.export_namespace(&ns(&name)).await.unwrap();
        out.extend(writer.namespace(&read).unwrap());
    }
    out.extend(writer.finish().unwrap());
    out
}

fn options(existing: Existing) -> Options {
    Options {
        existing,
        delete_missing: false,
        renames: BTreeMap::new(),
        schemas: Default::default(),
    }
}

/// Makes each settings change to namespace `shop` of `store`.
async fn change_shop_settings<const N: usize>(store: &Store, changes: [SettingsChange; N]) {
    for settings_change in changes {
        store
            .change_settings(&ns("shop"), settings_change, None, &change())
            .await
            .unwrap();
    }
}

/// The preview of importing `bundle` (with its schemas) into `store`, overwriting.
async fn preview_bundle(store: &Store, bundle: &[u8]) -> confo::import::Preview {
    let (incoming, schemas) = read_bytes_full("b.json", bundle, &EnvOptions::default()).unwrap();
    store
        .preview_import(
            &incoming,
            &Options {
                schemas,
                ..options(Existing::Overwrite)
            },
        )
        .await
        .unwrap()
}

async fn an_export_imported_into_an_empty_store_gives_back_the_same_keys_and_values(b: Backend) {
    let source = with_namespace(&b, "shop").await;
    let db: serde_json::Map<String, Value> = serde_json::from_str(
        r#"{"host": "db.local", "ratio": 1.50, "big": 123456789012345678901234567890,
            "none": null, "greeting": "Grüße 🎉", "servers": [{"host": "a", "port": 5432}],
            "empty": {}, "list": []}"#,
    )
    .unwrap();
    for (name, fields) in [("web", object(json!({"port": 80}))), ("db", db)] {
        source
            .create_configuration(&ns("shop"), &cfg(name), fields, &change())
            .await
            .unwrap();
    }
    source
        .create_namespace(&ns("billing"), &change())
        .await
        .unwrap();
    source
        .create_configuration(
            &ns("billing"),
            &cfg("api"),
            object(json!({"on": true})),
            &change(),
        )
        .await
        .unwrap();
    let expected = plain_keys(&b, &source).await;
    assert_eq!(expected.len(), 6, "{expected:?}");

    for (format, file) in [
        (Format::Bundle, "x.json"),
        (Format::Json, "x.json"),
        (Format::Yaml, "x.yaml"),
        (Format::Tree, "x.tar.gz"),
        (Format::Zip, "x.zip"),
        (Format::Toml, "x.toml"),
        (Format::Env(".".into()), "x.env"),
    ] {
        let bytes = export_all(&source, format.clone()).await;
        let target = Store::new(
            b.kv.clone(),
            KeyLayout::with_prefix(format!("{}copy-{}/", b.prefix, format.name())),
        );
        target.ensure_root().await.unwrap();
        let incoming = read_bytes(file, &bytes).unwrap();
        let preview = target
            .preview_import(&incoming, &options(Existing::Skip))
            .await
            .unwrap();
        assert!(!preview.refuses_anything(), "{}", preview.to_text());
        let report = target.apply_import(&preview, &change()).await.unwrap();
        assert_eq!(report.failed(), 0, "{}", report.to_text());
        assert_eq!(report.outcomes.len(), 3);
        let got = plain_keys(&b, &target).await;
        if format == Format::Toml {
            // The loss the README lists: no null, and numbers TOML cannot hold as floats.
            let db = got["shop-db"].as_object().unwrap();
            assert!(!db.contains_key("none"));
            assert_eq!(db["ratio"], json!(1.5));
            assert_eq!(db["greeting"], "Grüße 🎉");
            assert_eq!(got["shop-web"], expected["shop-web"]);
        } else if format.name() == "env" {
            // The loss the README lists: every value as text, names in lower case, lists
            // rebuilt from their numbered keys, empty objects and lists as text.
            assert_eq!(
                got["shop-db"],
                json!({"host": "db.local", "ratio": "1.50",
                       "big": "123456789012345678901234567890", "none": "",
                       "greeting": "Grüße 🎉", "servers": [{"host": "a", "port": "5432"}],
                       "empty": "{}", "list": "[]"})
            );
            assert_eq!(got["shop-web"], json!({"port": "80"}));
            assert_eq!(got["billing-api"], json!({"on": "true"}));
            for key in ["confo", "shop", "billing"] {
                assert_eq!(got[key], expected[key], "{key}");
            }
            assert_eq!(got.len(), expected.len());
        } else {
            assert_eq!(got, expected, "{}", format.name());
        }
        // Importing again changes nothing.
        let again = target
            .preview_import(&incoming, &options(Existing::Overwrite))
            .await
            .unwrap();
        assert!(
            again
                .namespaces
                .iter()
                .flat_map(|n| &n.configurations)
                .all(|c| c.action == Action::Unchanged),
            "{}",
            again.to_text()
        );
    }
}

async fn an_import_is_previewed_then_applied_on_what_the_preview_read(b: Backend) {
    let store = with_namespace(&b, "shop").await;
    store
        .create_configuration(
            &ns("shop"),
            &cfg("db"),
            object(json!({"a": 1, "b": 2})),
            &change(),
        )
        .await
        .unwrap();
    let file =
        br#"{"shop": {"db": {"b": 3, "c": 4}, "new": {"x": 1}}, "shop-eu": {"x": {"y": 1}}}"#;
    let incoming = read_bytes("in.json", file).unwrap();

    // A name the rules refuse is explained, with the way in.
    let preview = store
        .preview_import(&incoming, &options(Existing::Merge))
        .await
        .unwrap();
    let eu = preview
        .namespaces
        .iter()
        .find(|n| n.name == "shop-eu")
        .unwrap();
    assert!(
        eu.refused.as_deref().unwrap().contains("--rename shop-eu="),
        "{:?}",
        eu.refused
    );
    assert!(preview.refuses_anything());
    // Merged: the file's fields win, the others stay; per field what happens.
    let shop = &preview.namespaces[0];
    let db = &shop.configurations[0];
    assert_eq!(db.action, Action::Update);
    let states: Vec<(&str, FieldState)> = db
        .fields
        .iter()
        .map(|r| (r.field.as_str(), r.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("a", FieldState::Unchanged),
            ("b", FieldState::Changed),
            ("c", FieldState::Added)
        ]
    );
    assert_eq!(shop.configurations[1].action, Action::Create);

    // Someone changes db after the preview: db is not written, and said so; the rest is.
    store
        .set_field(&ns("shop"), &cfg("db"), "a", json!(9), None, &change())
        .await
        .unwrap();
    let report = store.apply_import(&preview, &change()).await.unwrap();
    assert!(report.stale);
    let outcome = |report: &confo::import::Report, name: &str| {
        report
            .outcomes
            .iter()
            .find(|(_, n, _)| n == name)
            .map(|(_, _, o)| o.clone())
            .unwrap()
    };
    assert!(
        matches!(outcome(&report, "db"), Outcome::Failed(_)),
        "{}",
        report.to_text()
    );
    assert!(matches!(outcome(&report, "new"), Outcome::Written(_)));
    assert_eq!(
        store
            .get_configuration(&ns("shop"), &cfg("db"))
            .await
            .unwrap()
            .fields,
        object(json!({"a": 9, "b": 2}))
    );

    // Run again, with the rename: it completes, and the rest is unchanged.
    let mut renamed = options(Existing::Merge);
    renamed.renames.insert("shop-eu".into(), "shop_eu".into());
    let preview = store.preview_import(&incoming, &renamed).await.unwrap();
    assert!(!preview.refuses_anything(), "{}", preview.to_text());
    let actions: Vec<(&str, &Action)> = preview
        .namespaces
        .iter()
        .flat_map(|n| {
            n.configurations
                .iter()
                .map(|c| (c.name.as_str(), &c.action))
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("db", &Action::Update),
            ("new", &Action::Unchanged),
            ("x", &Action::Create)
        ]
    );
    let report = store
        .apply_import(&preview, &change().with_comment("moving in"))
        .await
        .unwrap();
    assert_eq!(report.failed(), 0, "{}", report.to_text());
    assert_eq!(
        store
            .get_configuration(&ns("shop"), &cfg("db"))
            .await
            .unwrap()
            .fields,
        object(json!({"a": 9, "b": 3, "c": 4}))
    );
    assert_eq!(
        store
            .get_configuration(&ns("shop_eu"), &cfg("x"))
            .await
            .unwrap()
            .fields,
        object(json!({"y": 1}))
    );
    let last = store.audit(&confo::AuditQuery::default()).await.unwrap();
    assert!(
        last.entries
            .iter()
            .take(2)
            .all(|e| e.comment.as_deref() == Some("moving in") && e.actor.name == "tester"),
        "{:?}",
        last.entries.iter().take(2).collect::<Vec<_>>()
    );

    // Overwrite and delete what the file does not hold.
    let only_db = read_bytes("in.json", br#"{"shop": {"db": {"a": 1}}}"#).unwrap();
    let mut replace = options(Existing::Overwrite);
    replace.delete_missing = true;
    let preview = store.preview_import(&only_db, &replace).await.unwrap();
    let actions: Vec<(&str, &Action)> = preview.namespaces[0]
        .configurations
        .iter()
        .map(|c| (c.name.as_str(), &c.action))
        .collect();
    assert_eq!(
        actions,
        vec![("db", &Action::Update), ("new", &Action::Delete)]
    );
    // A dry run writes nothing: the preview alone.
    assert!(
        store
            .get_configuration(&ns("shop"), &cfg("new"))
            .await
            .is_ok()
    );
    store.apply_import(&preview, &change()).await.unwrap();
    assert!(
        store
            .get_configuration(&ns("shop"), &cfg("new"))
            .await
            .is_err()
    );
    assert_eq!(
        store
            .get_configuration(&ns("shop"), &cfg("db"))
            .await
            .unwrap()
            .fields,
        object(json!({"a": 1}))
    );
}

async fn an_import_into_a_reviewed_namespace_opens_a_change_request(b: Backend) {
    let store = with_namespace(&b, "prod").await;
    let hash = PasswordHash::from_stored("not a real hash".into());
    for (name, role) in [
        ("ann", Role::Editor),
        ("bob", Role::Editor),
        ("root", Role::Admin),
    ] {
        let user = User {
            name: name.into(),
            role,
            grants: Grants::All,
            disabled: false,
            created: chrono::Utc::now(),
        };
        store.create_user(&user, &hash, &change()).await.unwrap();
    }
    store
        .create_configuration(
            &ns("prod"),
            &cfg("db"),
            object(json!({"host": "a"})),
            &change(),
        )
        .await
        .unwrap();
    let policy = ReviewPolicy {
        approvals: 1,
        approvers: Approvers::Editors,
    };
    store
        .set_review_policy(&ns("prod"), Some(policy), &Change::by(Actor::user("root")))
        .await
        .unwrap();

    let incoming = read_bytes(
        "in.json",
        br#"{"prod": {"db": {"host": "b"}, "cache": {"ttl": 5}}}"#,
    )
    .unwrap();
    let preview = store
        .preview_import(&incoming, &options(Existing::Overwrite))
        .await
        .unwrap();
    assert!(preview.namespaces[0].reviewed);
    assert!(
        preview
            .to_text()
            .contains("(reviewed: a change request is opened)")
    );
    let by_ann = Change::by(Actor::user("ann")).with_comment("moving in");
    let report = store.apply_import(&preview, &by_ann).await.unwrap();
    assert_eq!(report.failed(), 0, "{}", report.to_text());
    let ids: Vec<&Outcome> = report.outcomes.iter().map(|(_, _, o)| o).collect();
    let Outcome::Requested(id) = ids[0] else {
        panic!("{}", report.to_text());
    };
    assert_eq!(
        ids,
        vec![&Outcome::Requested(*id), &Outcome::Requested(*id)]
    );
    // Nothing is written until the request is published.
    assert_eq!(
        store
            .get_configuration(&ns("prod"), &cfg("db"))
            .await
            .unwrap()
            .fields,
        object(json!({"host": "a"}))
    );
    assert!(
        store
            .get_configuration(&ns("prod"), &cfg("cache"))
            .await
            .is_err()
    );
    let request = store.get_request(*id).await.unwrap();
    assert_eq!(request.request.title, "Import into prod");
    assert_eq!(request.request.author.name, "ann");
    let names: Vec<&str> = request
        .changes
        .iter()
        .map(|c| c.configuration.as_str())
        .collect();
    assert_eq!(names, vec!["db", "cache"]);

    // Schemas are not changed through change requests: a bundle's are refused there.
    let bundle = br#"{"format": "confo-bundle", "namespaces": {"prod": {
        "schemas": {"s": {"type": "object"}}, "assignments": {"db": {"named": "s"}},
        "configurations": {"db": {"revision": 1, "fields": {"host": "b"}}}}}}"#;
    let preview = preview_bundle(&store, bundle).await;
    let rows = &preview.namespaces[0].schemas;
    assert_eq!(rows.len(), 2, "{}", preview.to_text());
    for row in rows {
        assert!(
            matches!(&row.action, Action::Refuse(why) if why.contains("not changed through change requests")),
            "{}",
            preview.to_text()
        );
        assert!(row.change.is_none());
    }
}

async fn a_bundle_brings_its_schemas_back_unless_a_configuration_would_not_match(b: Backend) {
    let source = with_namespace(&b, "shop").await;
    let port = json!({"type": "object", "properties": {"port": {"type": "integer"}}});
    let own = json!({"type": "object", "required": ["host"]});
    for (name, fields) in [("db", json!({"port": 5432})), ("web", json!({"host": "w"}))] {
        source
            .create_configuration(&ns("shop"), &cfg(name), object(fields), &change())
            .await
            .unwrap();
    }
    change_shop_settings(
        &source,
        [
            SettingsChange::PutSchema {
                name: "ports".into(),
                schema: port.clone(),
            },
            SettingsChange::Assign {
                configuration: cfg("db"),
                choice: Some(SchemaChoice::Named("ports".into())),
            },
            SettingsChange::Assign {
                configuration: cfg("web"),
                choice: Some(SchemaChoice::Own(own.clone())),
            },
        ],
    )
    .await;
    let bundle = export_all(&source, Format::Bundle).await;
    let (incoming, schemas) = read_bytes_full("x.json", &bundle, &EnvOptions::default()).unwrap();
    let with_schemas = Options {
        schemas,
        ..options(Existing::Overwrite)
    };

    // Into an empty store: the configurations, then their schemas, come back.
    let target = Store::new(
        b.kv.clone(),
        KeyLayout::with_prefix(format!("{}schemas-copy/", b.prefix)),
    );
    target.ensure_root().await.unwrap();
    let preview = target
        .preview_import(&incoming, &with_schemas)
        .await
        .unwrap();
    let rows: Vec<(&str, &Action)> = preview.namespaces[0]
        .schemas
        .iter()
        .map(|r| (r.what.as_str(), &r.action))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("shared schema \"ports\"", &Action::Create),
            ("db follows shared schema \"ports\"", &Action::Create),
            ("web's own schema", &Action::Create),
        ]
    );
    let report = target.apply_import(&preview, &change()).await.unwrap();
    assert_eq!(report.failed(), 0, "{}", report.to_text());
    assert_eq!(report.schemas.len(), 3, "{}", report.to_text());
    assert_eq!(
        target.get_settings(&ns("shop")).await.unwrap().settings,
        source.get_settings(&ns("shop")).await.unwrap().settings
    );
    // Again: nothing to do.
    let again = target
        .preview_import(&incoming, &with_schemas)
        .await
        .unwrap();
    assert_eq!(again.namespaces[0].schemas.len(), 3);
    assert!(
        again.namespaces[0]
            .schemas
            .iter()
            .all(|r| r.action == Action::Unchanged && r.change.is_none()),
        "{}",
        again.to_text()
    );

    // Settings that exist and differ: changed on the revision the preview read.
    change_shop_settings(
        &target,
        [
            SettingsChange::PutSchema {
                name: "ports".into(),
                schema: json!({}),
            },
            SettingsChange::Assign {
                configuration: cfg("web"),
                choice: Some(SchemaChoice::Own(json!({}))),
            },
        ],
    )
    .await;
    let preview = target
        .preview_import(&incoming, &with_schemas)
        .await
        .unwrap();
    assert!(preview.namespaces[0].settings_revision > 0);
    let actions: Vec<&Action> = preview.namespaces[0]
        .schemas
        .iter()
        .map(|r| &r.action)
        .collect();
    assert_eq!(
        actions,
        vec![&Action::Update, &Action::Unchanged, &Action::Update]
    );
    // Someone changes the settings after the preview: nothing of them is written.
    target
        .change_settings(
            &ns("shop"),
            SettingsChange::PutSchema {
                name: "other".into(),
                schema: json!({}),
            },
            None,
            &change(),
        )
        .await
        .unwrap();
    let report = target.apply_import(&preview, &change()).await.unwrap();
    assert!(report.stale, "{}", report.to_text());
    assert_eq!(report.schemas.len(), 2, "{}", report.to_text());
    for (_, _, outcome) in &report.schemas {
        let Outcome::Failed(why) = outcome else {
            panic!("{}", report.to_text());
        };
        assert!(why.contains("the schemas were not restored"), "{why}");
    }
    assert_eq!(
        target
            .get_settings(&ns("shop"))
            .await
            .unwrap()
            .settings
            .schemas["ports"],
        json!({})
    );
    // Previewed again, it is written.
    let preview = target
        .preview_import(&incoming, &with_schemas)
        .await
        .unwrap();
    let report = target.apply_import(&preview, &change()).await.unwrap();
    assert_eq!(report.failed(), 0, "{}", report.to_text());
    assert_eq!(
        target
            .get_settings(&ns("shop"))
            .await
            .unwrap()
            .settings
            .schema_of("web"),
        Some(&own)
    );

    // When a configuration is not written, no schema is.
    target
        .change_settings(
            &ns("shop"),
            SettingsChange::Assign {
                configuration: cfg("web"),
                choice: None,
            },
            None,
            &change(),
        )
        .await
        .unwrap();
    target
        .set_field(&ns("shop"), &cfg("web"), "extra", json!(1), None, &change())
        .await
        .unwrap();
    let preview = target
        .preview_import(&incoming, &with_schemas)
        .await
        .unwrap();
    target
        .set_field(&ns("shop"), &cfg("web"), "extra", json!(2), None, &change())
        .await
        .unwrap();
    let report = target.apply_import(&preview, &change()).await.unwrap();
    assert_eq!(
        report.schemas,
        vec![(
            "shop".to_owned(),
            "web's own schema".to_owned(),
            Outcome::Failed("not restored: a configuration of the namespace was not written; import again to complete it".into())
        )],
        "{}",
        report.to_text()
    );

    // A bundle whose configuration does not match its own schema brings no schema.
    let broken = br#"{"format": "confo-bundle", "namespaces": {"fresh": {
        "schemas": {"ports": {"properties": {"port": {"type": "integer"}}}},
        "assignments": {"db": {"named": "ports"}},
        "configurations": {"db": {"revision": 1, "fields": {"port": "x"}}}}}}"#;
    let preview = preview_bundle(&target, broken).await;
    assert_eq!(
        preview.namespaces[0].configurations[0].action,
        Action::Create
    );
    assert_eq!(preview.namespaces[0].schemas.len(), 2);
    assert!(
        preview.namespaces[0].schemas.iter().all(
            |r| matches!(&r.action, Action::Refuse(why) if why.contains("db would not match"))
        ),
        "{}",
        preview.to_text()
    );

    // A configuration that would not match the schema it would follow: no schema is changed.
    let elsewhere = Store::new(
        b.kv.clone(),
        KeyLayout::with_prefix(format!("{}schemas-mismatch/", b.prefix)),
    );
    elsewhere.ensure_root().await.unwrap();
    elsewhere
        .create_namespace(&ns("shop"), &change())
        .await
        .unwrap();
    elsewhere
        .create_configuration(
            &ns("shop"),
            &cfg("legacy"),
            object(json!({"port": "not a number"})),
            &change(),
        )
        .await
        .unwrap();
    change_shop_settings(
        &elsewhere,
        [
            SettingsChange::PutSchema {
                name: "ports".into(),
                schema: json!({}),
            },
            SettingsChange::Assign {
                configuration: cfg("legacy"),
                choice: Some(SchemaChoice::Named("ports".into())),
            },
        ],
    )
    .await;
    let preview = elsewhere
        .preview_import(&incoming, &with_schemas)
        .await
        .unwrap();
    assert!(preview.refuses_anything());
    assert_eq!(preview.namespaces[0].schemas.len(), 3);
    for row in &preview.namespaces[0].schemas {
        let Action::Refuse(why) = &row.action else {
            panic!("{}", preview.to_text());
        };
        assert!(
            why.contains("legacy would not match its schema (port must be a whole number)"),
            "{why}"
        );
    }
    let settings = elsewhere.get_settings(&ns("shop")).await.unwrap();
    let report = elsewhere.apply_import(&preview, &change()).await.unwrap();
    assert!(report.schemas.is_empty(), "{}", report.to_text());
    assert_eq!(report.outcomes.len(), 2, "{}", report.to_text());
    assert!(
        report
            .outcomes
            .iter()
            .all(|(_, _, o)| matches!(o, Outcome::Written(_))),
        "the configurations are written: {}",
        report.to_text()
    );
    assert_eq!(
        elsewhere.get_settings(&ns("shop")).await.unwrap().settings,
        settings.settings
    );

    // With existing ones skipped, a skipped configuration's schema is skipped with it.
    let skip = Options {
        existing: Existing::Skip,
        ..with_schemas.clone()
    };
    let preview = elsewhere.preview_import(&incoming, &skip).await.unwrap();
    let actions: Vec<&Action> = preview.namespaces[0]
        .schemas
        .iter()
        .map(|r| &r.action)
        .collect();
    assert_eq!(
        actions,
        vec![&Action::Skip, &Action::Skip, &Action::Skip],
        "{}",
        preview.to_text()
    );
}
