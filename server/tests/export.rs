//! Export through the router and the command line: only what the caller may read, secret
//! values only for administrators who ask, every export audited, bad requests refused.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestApp;
use confo::export::SECRET_PLACEHOLDER;
use confo::store::{SchemaChoice, SettingsChange};
use confo::users::{Grants, Role};
use serde_json::{Value, json};

/// `shop` and `other` (each `app` = `{"limit": 5}`), shop's `app` with a secret `token`; ada
/// administers, `outsider` views `other` only.
async fn app() -> TestApp {
    let app = TestApp::anonymous().await;
    app.add_shop_and_other().await;
    app.add_user("ada", Role::Admin).await;
    app.add_user("outsider", Role::Viewer).await;
    let system = confo::Change::by(confo::Actor::system());
    app.store
        .update_user(
            "outsider",
            Role::Viewer,
            Grants::Namespaces(vec!["other".into()]),
            &system,
        )
        .await
        .unwrap();
    let shop = confo::NamespaceName::new("shop").unwrap();
    let cfg = confo::ConfigurationName::new("app").unwrap();
    app.store
        .set_field(&shop, &cfg, "token", json!("hunter2"), None, &system)
        .await
        .unwrap();
    app.store
        .change_settings(
            &shop,
            SettingsChange::Assign {
                configuration: cfg,
                choice: Some(SchemaChoice::Own(
                    json!({"properties": {"token": {"type": "string", "writeOnly": true}}}),
                )),
            },
            None,
            &system,
        )
        .await
        .unwrap();
    app
}

#[tokio::test]
async fn an_export_holds_only_what_the_caller_may_read() {
    let mut app = app().await;
    let (status, _) = app.get("/api/export?format=json").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    app.sign_in("outsider").await;
    let (status, body) = app.get("/api/export?format=json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let file: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(file, json!({"other": {"app": {"limit": 5}}}));
    // Asking for another namespace by name: as if it were not there, and nothing is written.
    let before = app
        .store
        .audit(&Default::default())
        .await
        .unwrap()
        .entries
        .len();
    let (status, body) = app
        .get("/api/export?format=json&namespaces=other,shop")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Secret values are for administrators.
    let (status, body) = app
        .get("/api/export?format=json&namespaces=other&secrets=true")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let after = app
        .store
        .audit(&Default::default())
        .await
        .unwrap()
        .entries
        .len();
    assert_eq!(before, after, "a refused export is not recorded");
}

#[tokio::test]
async fn secret_values_are_masked_unless_an_administrator_asks_and_each_export_is_audited() {
    let mut app = app().await;
    app.sign_in("ada").await;
    let (status, headers, body) = app
        .send_for_headers(
            Request::get("/api/export?format=json&namespaces=shop")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"confo.json\""
    );
    let file: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(file["shop"]["app"]["token"], SECRET_PLACEHOLDER);
    let (status, body) = app
        .get("/api/export?format=json&namespaces=shop&secrets=true")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let file: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(file["shop"]["app"]["token"], "hunter2");
    let exports = app
        .store
        .audit(&confo::AuditQuery {
            action: Some(confo::Action::ConfigurationExport),
            ..Default::default()
        })
        .await
        .unwrap();
    let comments: Vec<(&str, Option<&str>)> = exports
        .entries
        .iter()
        .map(|e| (e.actor.name.as_str(), e.comment.as_deref()))
        .collect();
    assert_eq!(
        comments,
        vec![
            (
                "ada",
                Some("exported 1 namespace as json, with secret values: shop")
            ),
            ("ada", Some("exported 1 namespace as json: shop")),
        ]
    );
    // Every format comes out; a bad one is refused.
    for (format, starts) in [
        ("bundle", "{\"format\":\"confo-bundle\""),
        ("yaml", "# Confo export"),
        ("toml", "# Confo export"),
        ("env", "# Confo export"),
        ("tree", "\u{1f}\u{fffd}"),
        ("zip", "PK"),
    ] {
        let (status, body) = app.get(&format!("/api/export?format={format}")).await;
        assert_eq!(status, StatusCode::OK, "{format}: {body}");
        assert!(body.starts_with(starts), "{format}: {body:?}");
    }
    let (status, body) = app.get("/api/export?format=xml").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("not an export format"), "{body}");
}

#[tokio::test]
async fn confo_export_writes_the_bundle_and_refuses_a_namespace_that_is_not_there() {
    let Some(endpoints) = common::etcd_env::etcd_endpoints() else {
        return;
    };
    let prefix = common::binary::unique_prefix("export");
    let store = confo::Store::new(
        std::sync::Arc::new(
            common::etcd_env::connect(&endpoints, std::time::Duration::from_secs(5)).await,
        ),
        confo::KeyLayout::with_prefix(prefix.clone()),
    );
    store.ensure_root().await.unwrap();
    let system = confo::Change::by(confo::Actor::system());
    let shop = confo::NamespaceName::new("shop").unwrap();
    store.create_namespace(&shop, &system).await.unwrap();
    let written = store
        .create_configuration(
            &shop,
            &confo::ConfigurationName::new("db").unwrap(),
            json!({"host": "db.local"}).as_object().unwrap().clone(),
            &system,
        )
        .await
        .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_confo"))
            .arg("export")
            .args(args)
            .args(["--etcd-endpoints", &endpoints, "--key-prefix", &prefix])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["--format", "bundle"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        bundle["namespaces"]["shop"]["configurations"]["db"],
        json!({"revision": written.revision, "fields": {"host": "db.local"}})
    );
    let out = run(&["--namespace", "nowhere"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("there is no namespace \"nowhere\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exports = store
        .audit(&confo::AuditQuery {
            action: Some(confo::Action::ConfigurationExport),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        exports.entries.len(),
        1,
        "the refused export is not recorded"
    );
}

#[tokio::test]
async fn a_browser_following_a_download_link_gets_the_file_not_a_redirect() {
    let mut app = app().await;
    app.sign_in("ada").await;
    for uri in [
        "/api/export?format=json&namespaces=other",
        "/api/audit/export?filter%5Bwho%5D=&filter%5Bnamespace%5D=&filter%5Bconfiguration%5D=&filter%5Baction%5D=&filter%5Bsince%5D=&filter%5Buntil%5D=&format=jsonl",
    ] {
        let (status, headers, body) = app
            .send_for_headers(
                Request::get(uri)
                    .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert!(headers.get("location").is_none(), "{uri}");
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment"),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn a_download_another_site_asks_for_is_refused_and_not_recorded() {
    let mut app = app().await;
    app.sign_in("ada").await;
    let exports = || confo::AuditQuery {
        action: Some(confo::Action::ConfigurationExport),
        ..Default::default()
    };
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let (status, body) = app
            .send(
                Request::get("/api/export?format=bundle&secrets=true")
                    .header(name, value)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
        assert!(body.contains("another site"), "{body}");
    }
    let (status, _) = app
        .send(
            Request::get("/api/audit/export?format=jsonl")
                .header("sec-fetch-site", "same-site")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        app.store
            .audit(&exports())
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    // From the dashboard's own page, it is the file.
    let (status, body) = app
        .send(
            Request::get("/api/export?format=bundle")
                .header("sec-fetch-site", "same-origin")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.store.audit(&exports()).await.unwrap().entries.len(), 1);
}
