//! Search through the router: only for the signed-in, only over the namespaces each may read
//! (neither results nor counts tell of others), bounded queries, and pages that count every
//! match.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{TestApp, urlencode};
use confo::users::{Grants, Role};
use serde_json::{Value, json};

/// `GET /api/search` until its answer satisfies `ready` (ten seconds at most: the index
/// follows the store's watch).
async fn search_until(app: &TestApp, query: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = app.get(&format!("/api/search?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let view: Value = serde_json::from_str(&body).unwrap();
        if ready(&view) {
            return view;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{query}: still {view}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn places(view: &Value) -> Vec<String> {
    view["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}/{}:{}",
                h["namespace"].as_str().unwrap(),
                h["configuration"].as_str().unwrap_or(""),
                h["path"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test]
async fn search_covers_only_the_namespaces_one_may_read() {
    let mut app = TestApp::anonymous().await;
    app.add_shop_and_other().await;
    app.add_user("outsider", Role::Viewer).await;
    app.store
        .update_user(
            "outsider",
            Role::Viewer,
            Grants::Namespaces(vec!["other".into()]),
            &confo::Change::by(confo::Actor::system()),
        )
        .await
        .unwrap();

    // Anonymous callers get nothing.
    let (status, _) = app.get("/api/search?q=limit").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    app.sign_in("outsider").await;
    let view = search_until(&app, "q=limit", |v| v["total"] == 1).await;
    assert_eq!(places(&view), vec!["other/app:limit"]);
    assert_eq!(view["namespaces"], json!(["other"]));
    // Asking for the other namespace by name finds nothing, and counts nothing.
    let view = search_until(&app, "q=limit&namespace=shop", |_| true).await;
    assert_eq!(view["total"], 0);
    assert_eq!(view["hits"], json!([]));

    // A value written meanwhile, found within moments, still only where it may be read.
    let shop = confo::NamespaceName::new("shop").unwrap();
    let other = confo::NamespaceName::new("other").unwrap();
    let app_cfg = confo::ConfigurationName::new("app").unwrap();
    for ns in [&shop, &other] {
        app.store
            .set_field(
                ns,
                &app_cfg,
                "host",
                json!("old-db.internal"),
                None,
                &confo::Change::by(confo::Actor::system()),
            )
            .await
            .unwrap();
    }
    let view = search_until(&app, "q=OLD-DB", |v| v["total"] == 1).await;
    assert_eq!(places(&view), vec!["other/app:host"]);
    assert_eq!(view["hits"][0]["mark"], "old-db");
    assert_eq!(view["hits"][0]["matched"], "value");

    // Too long a query is refused.
    let long = "x".repeat(201);
    let (status, body) = app.get(&format!("/api/search?q={long}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("at most 200 characters"), "{body}");
}

#[tokio::test]
async fn pages_count_every_match_and_filters_narrow_them() {
    let mut app = TestApp::anonymous().await;
    app.add_user("ada", Role::Admin).await;
    let system = confo::Change::by(confo::Actor::system());
    let shop = confo::NamespaceName::new("shop").unwrap();
    app.store.create_namespace(&shop, &system).await.unwrap();
    for i in 0..30 {
        let fields = json!({"url": format!("https://api.example/{i}")});
        app.store
            .create_configuration(
                &shop,
                &confo::ConfigurationName::new(format!("svc{i:02}")).unwrap(),
                fields.as_object().unwrap().clone(),
                &system,
            )
            .await
            .unwrap();
    }
    app.sign_in("ada").await;
    let query = format!("q={}", urlencode("api.example"));
    let first = search_until(&app, &query, |v| v["total"] == 30).await;
    assert_eq!(first["pages"], 2);
    assert_eq!(first["hits"].as_array().unwrap().len(), 25);
    let second = search_until(&app, &format!("{query}&page=2"), |_| true).await;
    assert_eq!(
        places(&second).first().map(String::as_str),
        Some("shop/svc25:url")
    );
    assert_eq!(second["hits"].as_array().unwrap().len(), 5);
    // Only in names: the configurations called `svc…`, not the values.
    let names = search_until(&app, "q=svc&within=names", |_| true).await;
    assert_eq!(names["total"], 30);
    let paths = search_until(&app, "q=svc&within=paths", |_| true).await;
    assert_eq!(paths["total"], 0);
    let values = search_until(&app, "q=svc&within=values", |_| true).await;
    assert_eq!(values["total"], 0);
}
