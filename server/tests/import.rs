//! `confo import` against a real etcd: a directory in the original Confo's file layout, previewed
//! with `--dry-run` (nothing written), names the rules refuse mapped with `--rename`, and a bad
//! file refused naming the file and line, with nothing written.

mod common;

use std::process::Output;

use serde_json::json;

struct Cli {
    endpoints: String,
    prefix: String,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_confo"))
            .arg("import")
            .args(args)
            .args([
                "--etcd-endpoints",
                &self.endpoints,
                "--key-prefix",
                &self.prefix,
            ])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    }

    async fn store(&self) -> confo::Store {
        confo::Store::new(
            std::sync::Arc::new(
                common::etcd_env::connect(&self.endpoints, std::time::Duration::from_secs(5)).await,
            ),
            confo::KeyLayout::with_prefix(self.prefix.clone()),
        )
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn a_python_confo_file_tree_is_previewed_then_imported() {
    let Some(endpoints) = common::etcd_env::etcd_endpoints() else {
        return;
    };
    let cli = Cli {
        endpoints,
        prefix: common::binary::unique_prefix("import"),
    };
    // The original library's file backend: <config_path>/<namespace>/<config>.json, the name
    // up to the first dot; it allowed '-' in namespace names.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("shop")).unwrap();
    std::fs::create_dir_all(dir.path().join("shop-eu")).unwrap();
    std::fs::write(
        dir.path().join("shop/db.json"),
        r#"{"host": "db.local", "port": 5432}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("shop/web.prod.json"), r#"{"replicas": 3}"#).unwrap();
    std::fs::write(
        dir.path().join("shop-eu/db.json"),
        r#"{"host": "eu.local"}"#,
    )
    .unwrap();
    let path = dir.path().to_str().unwrap();

    let dry = cli.run(&[path, "--dry-run"]);
    let shown = text(&dry.stdout);
    assert!(
        !dry.status.success(),
        "a refused namespace fails the run: {shown}"
    );
    assert!(shown.contains("namespace shop (new)"), "{shown}");
    assert!(shown.contains("  + db: create"), "{shown}");
    assert!(shown.contains("      + host = \"db.local\""), "{shown}");
    assert!(shown.contains("  + web: create"), "{shown}");
    assert!(shown.contains("--rename shop-eu="), "{shown}");
    assert!(shown.contains("dry run: nothing was written"), "{shown}");
    let store = cli.store().await;
    assert_eq!(store.list_namespaces().await.unwrap(), Vec::<String>::new());

    let done = cli.run(&[
        path,
        "--rename",
        "shop-eu=shop_eu",
        "--comment",
        "moving in",
    ]);
    assert!(
        done.status.success(),
        "{}{}",
        text(&done.stdout),
        text(&done.stderr)
    );
    let shop = confo::NamespaceName::new("shop").unwrap();
    let db = store
        .get_configuration(&shop, &confo::ConfigurationName::new("db").unwrap())
        .await
        .unwrap();
    assert_eq!(
        serde_json::Value::Object(db.fields),
        json!({"host": "db.local", "port": 5432})
    );
    let eu = store
        .get_configuration(
            &confo::NamespaceName::new("shop_eu").unwrap(),
            &confo::ConfigurationName::new("db").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::Value::Object(eu.fields),
        json!({"host": "eu.local"})
    );
    // Laid out as the original Confo reads it: the namespace lists its configurations.
    let listing = store.list_configurations(&shop).await.unwrap();
    assert_eq!(listing.registered, vec!["db", "web"]);

    // Again: nothing to do, and it says so.
    let again = cli.run(&[
        path,
        "--rename",
        "shop-eu=shop_eu",
        "--existing",
        "overwrite",
    ]);
    assert!(again.status.success(), "{}", text(&again.stdout));
    assert!(
        text(&again.stdout).contains("  = db: unchanged"),
        "{}",
        text(&again.stdout)
    );
}

#[tokio::test]
async fn a_malformed_file_is_refused_naming_it_and_writes_nothing() {
    let Some(endpoints) = common::etcd_env::etcd_endpoints() else {
        return;
    };
    let cli = Cli {
        endpoints,
        prefix: common::binary::unique_prefix("import-bad"),
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(&file, "{\"shop\": {\"db\": {\"a\": 1,\n\"a\": 2}}}").unwrap();
    let out = cli.run(&[file.to_str().unwrap()]);
    assert!(!out.status.success());
    let error = text(&out.stderr);
    assert!(error.contains("bad.json: is not valid JSON"), "{error}");
    assert!(error.contains("written twice"), "{error}");
    assert!(error.contains("line 2"), "{error}");
    let store = cli.store().await;
    assert_eq!(store.list_namespaces().await.unwrap(), Vec::<String>::new());
}

/// From the dashboard: an editor of `shop` imports into shop only (another namespace is refused
/// without saying whether it exists), and an import whose preview went stale writes nothing.
#[tokio::test]
async fn the_dashboard_imports_only_where_the_user_may_and_only_what_the_preview_showed() {
    use axum::http::StatusCode;
    use confo::users::{Grants, Role};
    let mut app = common::TestApp::anonymous().await;
    app.add_shop_and_other().await;
    app.add_user("eddie", Role::Editor).await;
    let system = confo::Change::by(confo::Actor::system());
    app.store
        .update_user(
            "eddie",
            Role::Editor,
            Grants::Namespaces(vec!["shop".into()]),
            &system,
        )
        .await
        .unwrap();
    let content = r#"{"shop": {"app": {"limit": 6}, "new": {"x": 1}}, "other": {"app": {"limit": 1}}, "nowhere": {"a": {}}}"#;
    let form = |seen: &'static str| {
        vec![
            ("content", content),
            ("format", "json"),
            ("existing", "overwrite"),
            ("seen", seen),
            ("comment", "moving in"),
        ]
    };
    let (status, _) = app.post("import/preview", &form("")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    app.sign_in("eddie").await;
    let (status, body) = app.post("import/preview", &form("")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let preview: serde_json::Value = serde_json::from_str(&body).unwrap();
    let refusal = |name: &str| {
        preview["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .map(|n| n["refused"].clone())
            .unwrap()
    };
    assert_eq!(refusal("shop"), serde_json::Value::Null);
    // The same words for one that exists and one that does not.
    let other = refusal("other").as_str().unwrap().replace("other", "X");
    let nowhere = refusal("nowhere").as_str().unwrap().replace("nowhere", "X");
    assert_eq!(other, nowhere);
    assert_eq!(preview["writes"], 2);
    let seen = preview["seen"].as_str().unwrap().to_owned();
    let seen: &'static str = Box::leak(seen.into_boxed_str());

    // Changed after the preview: nothing is written, and it says so.
    let shop = confo::NamespaceName::new("shop").unwrap();
    let cfg = confo::ConfigurationName::new("app").unwrap();
    app.store
        .set_field(&shop, &cfg, "limit", serde_json::json!(7), None, &system)
        .await
        .unwrap();
    let before = app.snapshot().await;
    let (status, body) = app.post("import/apply", &form(seen)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("has changed since"), "{body}");
    assert_eq!(app.snapshot().await, before, "nothing written");

    // On a fresh preview, it is imported, with the comment.
    let (_, body) = app.post("import/preview", &form("")).await;
    let preview: serde_json::Value = serde_json::from_str(&body).unwrap();
    let seen: &'static str = Box::leak(
        preview["seen"]
            .as_str()
            .unwrap()
            .to_owned()
            .into_boxed_str(),
    );
    let (status, body) = app.post("import/apply", &form(seen)).await;
    assert!(common::done(status), "{status} {body}");
    let app_now = app.store.get_configuration(&shop, &cfg).await.unwrap();
    assert_eq!(
        serde_json::Value::Object(app_now.fields),
        serde_json::json!({"limit": 6})
    );
    let other = confo::NamespaceName::new("other").unwrap();
    let other_now = app.store.get_configuration(&other, &cfg).await.unwrap();
    assert_eq!(
        serde_json::Value::Object(other_now.fields),
        serde_json::json!({"limit": 5})
    );
    let page = app
        .store
        .audit(&confo::AuditQuery::default())
        .await
        .unwrap();
    assert_eq!(page.entries[0].comment.as_deref(), Some("moving in"));
    assert_eq!(page.entries[0].actor.name, "eddie");

    // A bundle's schemas are restored by administrators of the namespace only.
    let bundle = r#"{"format": "confo-bundle", "version": 1, "namespaces": {"shop": {
        "schemas": {"limits": {"type": "object"}}, "assignments": {"app": {"named": "limits"}},
        "configurations": {"app": {"revision": 1, "fields": {"limit": 6}}}}}}"#;
    let form = vec![
        ("content", bundle),
        ("format", "json"),
        ("existing", "overwrite"),
    ];
    let (status, body) = app.post("import/preview", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let preview: serde_json::Value = serde_json::from_str(&body).unwrap();
    let rows = &preview["namespaces"][0]["schemas"];
    assert_eq!(rows.as_array().unwrap().len(), 2, "{body}");
    for row in rows.as_array().unwrap() {
        assert_eq!(row["action"], "refuse", "{body}");
        assert_eq!(
            row["refused"],
            "only an administrator of shop changes its schemas"
        );
    }
    assert_eq!(preview["schema_writes"], 0);
    app.add_user("ada", Role::Admin).await;
    app.sign_in("ada").await;
    let (_, body) = app.post("import/preview", &form).await;
    let preview: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(preview["schema_writes"], 2, "{body}");
    let seen = preview["seen"].as_str().unwrap().to_owned();
    assert!(seen.contains("shop#schemas"), "{seen}");
    let mut apply = form.clone();
    apply.push(("seen", &seen));
    let (status, body) = app.post("import/apply", &apply).await;
    assert!(common::done(status), "{status} {body}");
    let settings = app.store.get_settings(&shop).await.unwrap().settings;
    assert_eq!(
        settings.schema_of("app"),
        Some(&serde_json::json!({"type": "object"}))
    );
}

/// What etcd holds under `prefix`, outside the reserved prefix, as `etcdctl get --prefix` shows
/// it: key (without `prefix`) → value.
fn etcdctl_plain_keys(endpoints: &str, prefix: &str) -> Vec<(String, String)> {
    let out = std::process::Command::new("etcdctl")
        .args(["--endpoints", endpoints, "get", "--prefix", prefix])
        .env("ETCDCTL_API", "3")
        .output()
        .expect("etcdctl runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    lines
        .chunks(2)
        .map(|pair| (pair[0][prefix.len()..].to_owned(), pair[1].clone()))
        .filter(|(key, _)| !key.starts_with(confo::keys::RESERVED_PREFIX))
        .collect()
}

/// `confo export` then `confo import` into an empty store gives back exactly the keys and values
/// outside the reserved prefix, for every lossless format, as etcdctl reads them.
#[tokio::test]
async fn an_export_imported_with_the_command_line_gives_back_what_etcd_held() {
    let Some(endpoints) = common::etcd_env::etcd_endpoints() else {
        return;
    };
    let source = Cli {
        endpoints: endpoints.clone(),
        prefix: common::binary::unique_prefix("roundtrip"),
    };
    let store = source.store().await;
    store.ensure_root().await.unwrap();
    let system = confo::Change::by(confo::Actor::system());
    for (namespace, configuration, fields) in [
        // Parsed, not `json!`: numbers stay as written (`1.50`, 30 digits).
        (
            "shop",
            "db",
            serde_json::from_str(
                r#"{"host": "db.local", "ratio": 1.50, "none": null,
            "big": 123456789012345678901234567890, "greeting": "Grüße 🎉",
            "servers": [{"host": "a", "port": 5432}], "empty": {}, "list": []}"#,
            )
            .unwrap(),
        ),
        ("shop", "web", json!({"on": true})),
        ("billing", "api", json!({"yes": "no"})),
    ] {
        let ns = confo::NamespaceName::new(namespace).unwrap();
        if !store
            .list_namespaces()
            .await
            .unwrap()
            .contains(&namespace.to_owned())
        {
            store.create_namespace(&ns, &system).await.unwrap();
        }
        store
            .create_configuration(
                &ns,
                &confo::ConfigurationName::new(configuration).unwrap(),
                fields.as_object().unwrap().clone(),
                &system,
            )
            .await
            .unwrap();
    }
    let expected = etcdctl_plain_keys(&endpoints, &source.prefix);
    assert_eq!(expected.len(), 6, "{expected:?}");
    assert!(expected[4].1.contains("\"ratio\":1.50"), "{expected:?}");
    let dir = tempfile::tempdir().unwrap();
    for (format, file) in [
        ("bundle", "x.json"),
        ("json", "x.json"),
        ("yaml", "x.yaml"),
        ("tree", "x.tar.gz"),
        ("zip", "x.zip"),
    ] {
        let path = dir.path().join(format!("{format}-{file}"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_confo"))
            .args(["export", "--format", format, "--output"])
            .arg(&path)
            .args([
                "--etcd-endpoints",
                &endpoints,
                "--key-prefix",
                &source.prefix,
            ])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        let target = Cli {
            endpoints: endpoints.clone(),
            prefix: common::binary::unique_prefix("roundtrip-in"),
        };
        let out = target.run(&[path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{format}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert_eq!(
            etcdctl_plain_keys(&endpoints, &target.prefix),
            expected,
            "{format}"
        );
    }
}

/// A team's own `.env` file comes in as one configuration, split on the separator asked for.
#[tokio::test]
async fn an_env_file_comes_in_where_it_is_told() {
    let Some(endpoints) = common::etcd_env::etcd_endpoints() else {
        return;
    };
    let cli = Cli {
        endpoints,
        prefix: common::binary::unique_prefix("import-env"),
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".env.production");
    std::fs::write(
        &file,
        "# the shop\nDB__HOST=db.local\nDB__PORT=5432\nexport MODE='live'\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let nowhere = cli.run(&[path]);
    assert!(!nowhere.status.success());
    assert!(
        text(&nowhere.stderr).contains("does not say which configuration"),
        "{}",
        text(&nowhere.stderr)
    );
    let done = cli.run(&[path, "--into", "shop/app", "--separator", "__"]);
    assert!(
        done.status.success(),
        "{}{}",
        text(&done.stdout),
        text(&done.stderr)
    );
    let app = cli
        .store()
        .await
        .get_configuration(
            &confo::NamespaceName::new("shop").unwrap(),
            &confo::ConfigurationName::new("app").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::Value::Object(app.fields),
        json!({"DB": {"HOST": "db.local", "PORT": "5432"}, "MODE": "live"})
    );
}

/// The dashboard keeps a pasted file for its preview under a random token in the address, never
/// the file itself, for the one who pasted it only.
#[tokio::test]
async fn a_pasted_file_is_kept_out_of_the_address_for_the_one_who_pasted_it() {
    use axum::http::{StatusCode, header};
    use confo::users::Role;
    let mut app = common::TestApp::anonymous().await;
    app.add_user("ada", Role::Admin).await;
    app.add_user("bob", Role::Admin).await;
    let secret = "DB__PASSWORD=hunter2\n";
    let form = [
        ("content", secret),
        ("format", "env"),
        ("existing", "skip"),
        ("into", "shop/app"),
        ("separator", "__"),
    ];
    let stage = || {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", common::urlencode(v)))
            .collect();
        // As a browser posts the form: the answer is a redirect.
        axum::http::Request::post("/api/import/stage")
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body.join("&")))
            .unwrap()
    };
    let (status, _) = app.post("import/stage", &form).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, headers, _) = app.send_for_headers(stage()).await;
    assert!(
        !headers[header::LOCATION]
            .to_str()
            .unwrap()
            .contains("staged="),
        "{headers:?}"
    );

    app.sign_in("ada").await;
    let (status, headers, body) = app.send_for_headers(stage()).await;
    assert!(status.is_redirection(), "{status} {body}");
    let location = headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(!location.contains("hunter2"), "{location}");
    let token = location
        .strip_prefix("/import?staged=")
        .unwrap_or_else(|| panic!("{location}"));
    assert_eq!(token.len(), 64);
    let (status, body) = app.post("import/staged", &[("staged", token)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let staged: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(staged["form"]["content"], secret);
    let preview = &staged["preview"]["Ok"];
    assert_eq!(preview["namespaces"][0]["name"], "shop", "{body}");
    assert_eq!(
        preview["namespaces"][0]["configurations"][0]["action"],
        "create"
    );

    // Another user, or a token never given, is told the same.
    app.sign_in("bob").await;
    let (status, other) = app.post("import/staged", &[("staged", token)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
    let (_, unknown) = app
        .post("import/staged", &[("staged", &"0".repeat(64))])
        .await;
    assert_eq!(other, unknown);
    assert!(other.contains("no longer kept"), "{other}");
}
