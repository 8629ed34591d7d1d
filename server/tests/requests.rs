//! Change requests through the router: a request is visible and actionable only for those who
//! may read its namespace (others get "not found", whatever the request's number), the rules of
//! the request hold whoever calls, and a refused call writes nothing.

mod common;

use axum::http::StatusCode;
use common::{TestApp, done};
use confo::request::{Approvers, Proposed, ReviewPolicy};
use confo::users::{Grants, Role};
use serde_json::json;

/// Namespaces `shop` (reviewed) and `other`, a request in `shop` by eddie (editor of every
/// namespace), and `outsider`, an editor of `other` only.
async fn app_with_request() -> (TestApp, u64) {
    let app = TestApp::anonymous().await;
    let system = confo::Change::by(confo::Actor::system());
    app.add_shop_and_other().await;
    for (name, role) in [
        ("ada", Role::Admin),
        ("eddie", Role::Editor),
        ("bob", Role::Editor),
        ("outsider", Role::Editor),
    ] {
        app.add_user(name, role).await;
    }
    app.store
        .update_user(
            "outsider",
            Role::Editor,
            Grants::Namespaces(vec!["other".into()]),
            &system,
        )
        .await
        .unwrap();
    let shop = confo::NamespaceName::new("shop").unwrap();
    let policy = ReviewPolicy {
        approvals: 1,
        approvers: Approvers::Editors,
    };
    app.store
        .set_review_policy(&shop, Some(policy), &system)
        .await
        .unwrap();
    let edits = vec![confo::edit::Edit::Set {
        path: "/limit".into(),
        value: json!(6),
    }];
    let new = confo::store::NewRequest {
        title: "more".into(),
        description: String::new(),
        changes: vec![(
            confo::ConfigurationName::new("app").unwrap(),
            Proposed::Edits(edits),
            None,
        )],
        schemas: Vec::new(),
        settings_revision: None,
        draft: false,
    };
    let id = app
        .store
        .open_request(&shop, new, &confo::Change::by(confo::Actor::user("eddie")))
        .await
        .unwrap()
        .request
        .id;
    (app, id)
}

#[tokio::test]
async fn a_request_of_a_namespace_one_may_not_read_is_not_there() {
    let (mut app, id) = app_with_request().await;
    app.sign_in("outsider").await;
    let before = app.snapshot().await;
    let (status, body) = app.get(&format!("/api/requests/get?id={id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // The same answer as for a number no request has.
    let (missing, missing_body) = app.get("/api/requests/get?id=999").await;
    assert_eq!(missing, StatusCode::NOT_FOUND);
    assert_eq!(
        body.replace(&id.to_string(), "N"),
        missing_body.replace("999", "N")
    );
    for (path, form) in [
        (
            "requests/approve",
            vec![("id", id.to_string()), ("seen", "1".into())],
        ),
        (
            "requests/reject",
            vec![("id", id.to_string()), ("reason", "no".into())],
        ),
        ("requests/publish", vec![("id", id.to_string())]),
        (
            "requests/emergency",
            vec![("id", id.to_string()), ("reason", "now".into())],
        ),
        (
            "requests/comment",
            vec![("id", id.to_string()), ("text", "hello".into())],
        ),
        ("requests/withdraw", vec![("id", id.to_string())]),
        (
            "requests/text",
            vec![("id", id.to_string()), ("title", "mine".into())],
        ),
        ("requests/submit", vec![("id", id.to_string())]),
        (
            "requests/remove",
            vec![("id", id.to_string()), ("configuration", "app".into())],
        ),
        ("requests/rebase", vec![("id", id.to_string())]),
        ("requests/remove-schemas", vec![("id", id.to_string())]),
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = app.post(path, &form).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, list) = app.get("/api/requests/list?filter=all").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(!list.contains("\"more\""), "{list}");
    assert_eq!(app.snapshot().await, before);
    // In a reviewed namespace of one's own, sending a change into another namespace's request
    // tells nothing of it: the answer is the one for a number no request has.
    let other_ns = confo::NamespaceName::new("other").unwrap();
    let policy = ReviewPolicy {
        approvals: 1,
        approvers: Approvers::Editors,
    };
    app.store
        .set_review_policy(
            &other_ns,
            Some(policy),
            &confo::Change::by(confo::Actor::system()),
        )
        .await
        .unwrap();
    let before = app.snapshot().await;
    let other = app
        .store
        .get_configuration(&other_ns, &confo::ConfigurationName::new("app").unwrap())
        .await
        .unwrap();
    let revision = other.revision.to_string();
    let send_into = |into: String| {
        let app = app.clone_handle();
        let revision = revision.clone();
        async move {
            app.post(
                "configurations/edit",
                &[
                    ("namespace", "other"),
                    ("name", "app"),
                    ("revision", &revision),
                    ("seq", "0"),
                    ("edit[op]", "set"),
                    ("edit[field]", "limit"),
                    ("edit[kind]", "number"),
                    ("edit[value]", "9"),
                    ("comment", ""),
                    ("into", &into),
                ],
            )
            .await
        }
    };
    let (status, body) = send_into(id.to_string()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.contains("shop"), "{body}");
    let (_, missing) = send_into("999".into()).await;
    assert_eq!(
        body.replace(&id.to_string(), "N"),
        missing.replace("999", "N")
    );
    assert_eq!(app.snapshot().await, before);
    // ... while a reader of `shop` sees the request (the same call, so the list could show it),
    // and not when asking for another namespace's requests.
    app.sign_in("bob").await;
    let (status, list) = app.get("/api/requests/list?filter=all").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list.contains("\"more\""), "{list}");
    let (_, list) = app
        .get("/api/requests/list?filter=all&namespace=shop")
        .await;
    assert!(list.contains("\"more\""), "{list}");
    let (_, list) = app
        .get("/api/requests/list?filter=all&namespace=other")
        .await;
    assert!(!list.contains("\"more\""), "{list}");
}

#[tokio::test]
async fn a_schema_change_in_a_reviewed_namespace_is_a_request_an_administrator_opens() {
    let (mut app, _) = app_with_request().await;
    let shop = confo::NamespaceName::new("shop").unwrap();
    let settings = app.store.get_settings(&shop).await.unwrap();
    let revision = settings.revision.to_string();
    let form = [
        ("namespace", "shop"),
        ("shared", "limits"),
        ("json", r#"{"type": "object"}"#),
        ("revision", revision.as_str()),
    ];
    // An editor changes no schema, directly or not.
    app.sign_in("eddie").await;
    let before = app.snapshot().await;
    let (status, _) = app.post("schemas/put", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot().await, before);
    // An administrator's change is a request; the settings are as they were.
    app.sign_in("ada").await;
    let (status, body) = app.post("schemas/put", &form).await;
    assert!(done(status), "{status} {body}");
    assert_eq!(
        app.store.get_settings(&shop).await.unwrap(),
        settings,
        "nothing written"
    );
    let request = app.store.list_requests().await.unwrap().remove(0);
    assert_eq!(request.title, "Shared schema limits");
    assert!(request.schemas.schemas.contains_key("limits"));
    let id = request.id.to_string();
    // Made on settings that changed since: a conflict, and no second request.
    let stale = [
        ("namespace", "shop"),
        ("shared", "limits"),
        ("json", r#"{"type": "object"}"#),
        ("revision", "1"),
    ];
    let (status, _) = app.post("schemas/put", &stale).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(app.store.list_requests().await.unwrap().len(), 2);
    // Someone who did not write it takes nothing out of it.
    app.sign_in("bob").await;
    let before = app.snapshot().await;
    let (status, _) = app.post("requests/remove-schemas", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot().await, before);
    // Switched to direct before anyone reviewed it: an editor is offered no publish, and
    // publishing is refused; an administrator publishes it.
    app.store
        .set_review_policy(&shop, None, &confo::Change::by(confo::Actor::system()))
        .await
        .unwrap();
    let (status, view) = app.get(&format!("/api/requests/get?id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert!(view.contains("\"can_publish\":false"), "{view}");
    let (status, _) = app.post("requests/publish", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.sign_in("ada").await;
    let (_, view) = app.get(&format!("/api/requests/get?id={id}")).await;
    assert!(view.contains("\"can_publish\":true"), "{view}");
    let (status, body) = app.post("requests/publish", &[("id", &id)]).await;
    assert!(done(status), "{status} {body}");
    let after = app.store.get_settings(&shop).await.unwrap().settings;
    assert_eq!(after.schemas["limits"], json!({"type": "object"}));
}

#[tokio::test]
async fn the_rules_of_a_request_hold_through_the_dashboard() {
    let (mut app, id) = app_with_request().await;
    let id_text = id.to_string();
    let form = [("id", id_text.as_str()), ("seen", "1")];
    // Its author may not approve it, nor publish it unapproved.
    app.sign_in("eddie").await;
    let before = app.snapshot().await;
    let (status, body) = app.post("requests/approve", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = app.post("requests/publish", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot().await, before);
    // Nor may an editor publish in an emergency.
    app.sign_in("bob").await;
    let (status, _) = app
        .post("requests/emergency", &[("id", &id_text), ("reason", "now")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Another editor approves; then its author publishes.
    let (status, body) = app.post("requests/approve", &form).await;
    assert!(done(status), "{status} {body}");
    app.sign_in("eddie").await;
    let (status, body) = app.post("requests/publish", &form).await;
    assert!(done(status), "{status} {body}");
    let stored = app
        .store
        .get_configuration(
            &confo::NamespaceName::new("shop").unwrap(),
            &confo::ConfigurationName::new("app").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(stored.fields["limit"], json!(6));
    // A direct save in the reviewed namespace opens a request instead of writing.
    let (status, body) = app
        .post(
            "configurations/edit",
            &[
                ("namespace", "shop"),
                ("name", "app"),
                ("revision", &stored.revision.to_string()),
                ("seq", "0"),
                ("edit[op]", "set"),
                ("edit[field]", "limit"),
                ("edit[kind]", "number"),
                ("edit[value]", "7"),
                ("comment", "seven"),
            ],
        )
        .await;
    assert!(done(status), "{status} {body}");
    let after = app
        .store
        .get_configuration(
            &confo::NamespaceName::new("shop").unwrap(),
            &confo::ConfigurationName::new("app").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(after.fields["limit"], json!(6));
    let requests = app.store.list_requests().await.unwrap();
    assert_eq!(requests[0].title, "seven");
    assert_eq!(requests[0].author, confo::Actor::user("eddie"));
}
