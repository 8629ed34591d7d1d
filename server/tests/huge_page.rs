//! A configuration of 1,500 fields through the router: the form view's rows stop at 1,000 and
//! the rest is shown as JSON.
//!
//! In a binary of its own, so that no other test renders pages in the same process meanwhile:
//! rendered alongside other tests' pages, this page's request once in about thirty runs never
//! finished (every task parked, nothing left to wake; seen with one runtime thread and with
//! two). That stall is not understood yet; `common::REQUEST_LIMIT` turns any such stall into a
//! failure naming the request.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use confo::users::Role;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_configuration_shows_a_thousand_rows_then_the_rest_as_json() {
    let mut app = TestApp::anonymous().await;
    let change = confo::Change::by(confo::Actor::system());
    let shop = confo::NamespaceName::new("shop").unwrap();
    app.store.create_namespace(&shop, &change).await.unwrap();
    let fields: serde_json::Map<String, serde_json::Value> =
        (0..1_500).map(|i| (format!("f{i:04}"), json!(i))).collect();
    app.store
        .create_configuration(
            &shop,
            &confo::ConfigurationName::new("huge").unwrap(),
            fields,
            &change,
        )
        .await
        .unwrap();
    app.add_user("ada", Role::Admin).await;
    app.sign_in("ada").await;
    let (status, html) = app.get("/ns/shop/huge").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<tr class=\"field\"").count(), 1_000);
    assert!(html.contains(">f0999</span></th>"));
    assert!(!html.contains(">f1000</span></th>"));
    assert!(html.contains("500 more fields"), "the page says so");
    assert!(html.contains("The JSON view below edits every field"));
    let start = html
        .find("<pre id=\"fields-more-json\">")
        .expect("the rest as JSON");
    let rest = &html[start..start + html[start..].find("</pre>").unwrap()];
    assert!(rest.contains("f1000") && rest.contains("f1499"));
    assert!(!rest.contains("f0999"));
}
