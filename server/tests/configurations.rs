//! The configuration server functions through the router: the guard on each (function × role ×
//! namespace granted), refused calls writing nothing, and bad input explained.

mod common;

use axum::http::StatusCode;
use common::{TestApp, done};
use confo::users::{Grants, Role};
use serde_json::json;

async fn app_with_data() -> TestApp {
    let app = TestApp::anonymous().await;
    let change = confo::Change::by(confo::Actor::system());
    app.add_shop_and_other().await;
    app.add_user("ada", Role::Admin).await;
    app.add_user("vera", Role::Viewer).await;
    app.add_user("eddie", Role::Editor).await;
    app.add_user("shopkeeper", Role::Editor).await;
    app.store
        .update_user(
            "shopkeeper",
            Role::Editor,
            Grants::Namespaces(vec!["shop".into()]),
            &change,
        )
        .await
        .unwrap();
    app
}

async fn revision(app: &TestApp, ns: &str) -> i64 {
    app.store
        .get_configuration(
            &confo::NamespaceName::new(ns).unwrap(),
            &confo::ConfigurationName::new("app").unwrap(),
        )
        .await
        .unwrap()
        .revision
}

const WRITES: usize = 7;
/// A value too long for the review page's address.
static LONG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| "x".repeat(2_100));

/// The `write`-th writing call on configuration `app` of `ns` at revision `rev`, and its answer
/// when allowed.
fn configuration_write<'a>(
    write: usize,
    ns: &'a str,
    rev: &'a str,
) -> (&'static str, Vec<(&'a str, &'a str)>, StatusCode) {
    let on_app = |more: &[(&'a str, &'a str)]| {
        let mut form = vec![("namespace", ns), ("name", "app"), ("revision", rev)];
        form.push(("seq", "0"));
        form.extend_from_slice(more);
        form.push(("comment", ""));
        form
    };
    match write {
        0 => (
            "configurations/edit",
            on_app(&[
                ("edit[op]", "set"),
                ("edit[field]", "limit"),
                ("edit[kind]", "number"),
                ("edit[value]", "6"),
            ]),
            StatusCode::OK,
        ),
        // Past the guard, a rename of a field that is not there is the caller's mistake.
        1 => (
            "configurations/edit",
            on_app(&[
                ("edit[op]", "rename"),
                ("edit[field]", "nothing"),
                ("edit[to]", "x"),
            ]),
            StatusCode::NOT_FOUND,
        ),
        2 => (
            "configurations/save",
            on_app(&[("json", "{\"limit\": 7}")]),
            StatusCode::OK,
        ),
        3 => (
            "configurations/create",
            vec![("namespace", ns), ("name", "new")],
            StatusCode::OK,
        ),
        // A change too long for an address waits as a draft (a short one writes nothing).
        5 => (
            "configurations/review-change",
            on_app(&[
                ("op", "set"),
                ("field", "limit"),
                ("kind", "text"),
                ("value", LONG.as_str()),
            ]),
            StatusCode::OK,
        ),
        // Past the guard, a version that is not this configuration's is not found.
        4 => (
            "configurations/take-back",
            vec![
                ("namespace", ns),
                ("name", "app"),
                ("seq", "999999"),
                ("comment", ""),
            ],
            StatusCode::NOT_FOUND,
        ),
        _ => (
            "configurations/delete",
            vec![("namespace", ns), ("name", "new"), ("confirm", "new")],
            StatusCode::OK,
        ),
    }
}

#[tokio::test]
async fn every_configuration_function_checks_role_and_namespace_first() {
    let mut app = app_with_data().await;
    // (who, namespace, may read, may edit)
    let cases = [
        (None, "shop", false, false),
        (Some("vera"), "shop", true, false),
        (Some("shopkeeper"), "shop", true, true),
        (Some("shopkeeper"), "other", false, false),
        (Some("eddie"), "other", true, true),
        (Some("ada"), "other", true, true),
    ];
    for (who, ns, read, edit) in cases {
        match who {
            Some(name) => app.sign_in(name).await,
            None => app.cookie = None,
        }
        let refused = if who.is_none() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        let latest = app
            .store
            .history(
                &confo::NamespaceName::new(ns).unwrap(),
                &confo::ConfigurationName::new("app").unwrap(),
            )
            .await
            .unwrap()[0]
            .entry
            .seq;
        for (path, query) in [
            (
                "configurations/list",
                format!("namespace={ns}&filter=&page=1"),
            ),
            ("configurations/get", format!("namespace={ns}&name=app")),
            ("configurations/history", format!("namespace={ns}&name=app")),
            (
                "configurations/diff",
                format!("namespace={ns}&name=app&from=0&to={latest}"),
            ),
        ] {
            let (status, body) = app.get(&format!("/api/{path}?{query}")).await;
            if read {
                assert_eq!(status, StatusCode::OK, "{who:?} {ns} {path}: {body}");
            } else {
                assert_eq!(status, refused, "{who:?} {ns} {path}: {body}");
            }
        }
        for write in 0..WRITES {
            // Each call on the latest revision, so that an allowed one has exactly one answer.
            let rev = revision(&app, ns).await.to_string();
            let (path, form, allowed) = configuration_write(write, ns, &rev);
            let before = app.snapshot().await;
            let (status, body) = app.post(path, &form).await;
            if edit {
                assert_eq!(status, allowed, "{who:?} {ns} {path}: {body}");
            } else {
                assert_eq!(status, refused, "{who:?} {ns} {path}: {body}");
                assert!(app.snapshot().await == before, "{who:?} {path} wrote");
            }
        }
    }
    // Namespaces not granted are not listed.
    app.sign_in("shopkeeper").await;
    let (_, body) = app.get("/api/namespaces/overview").await;
    let listed: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|n| n["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["shop"]
    );
}

#[tokio::test]
async fn bad_input_is_explained_and_a_stale_revision_is_a_conflict() {
    let mut app = app_with_data().await;
    app.sign_in("eddie").await;
    let rev = revision(&app, "shop").await.to_string();
    let before = app.snapshot().await;
    for (json_text, needle) in [
        ("{\"a\": 1,\n \"b\": }", "line 2"),
        ("[1, 2]", "must be an object"),
        ("{\"\": 1}", "field name"),
    ] {
        let (status, body) = app
            .post(
                "configurations/save",
                &[
                    ("namespace", "shop"),
                    ("name", "app"),
                    ("revision", &rev),
                    ("seq", "0"),
                    ("json", json_text),
                    ("comment", ""),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.to_lowercase().contains(needle), "{json_text}: {body}");
    }
    let (status, body) = app
        .post(
            "configurations/edit",
            &[
                ("namespace", "shop"),
                ("name", "app"),
                ("revision", &rev),
                ("seq", "0"),
                ("edit[op]", "set"),
                ("edit[field]", "limit"),
                ("edit[kind]", "number"),
                ("edit[value]", "five"),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("not a number"), "{body}");
    let huge = format!("{{\"blob\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let (status, body) = app
        .post(
            "configurations/save",
            &[
                ("namespace", "shop"),
                ("name", "app"),
                ("revision", &rev),
                ("seq", "0"),
                ("json", &huge),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        &body[..body.len().min(300)]
    );
    assert!(app.snapshot().await == before, "bad input wrote");

    // Someone else saves; the stale revision is refused as a conflict, nothing overwritten.
    let (status, _) = app
        .post(
            "configurations/edit",
            &[
                ("namespace", "shop"),
                ("name", "app"),
                ("revision", &rev),
                ("seq", "0"),
                ("edit[op]", "set"),
                ("edit[field]", "limit"),
                ("edit[kind]", "number"),
                ("edit[value]", "6"),
                ("comment", ""),
            ],
        )
        .await;
    assert!(done(status));
    let (status, body) = app
        .post(
            "configurations/save",
            &[
                ("namespace", "shop"),
                ("name", "app"),
                ("revision", &rev),
                ("seq", "0"),
                ("json", "{\"limit\": 7}"),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let shop = confo::NamespaceName::new("shop").unwrap();
    let app_name = confo::ConfigurationName::new("app").unwrap();
    let now = app.store.get_configuration(&shop, &app_name).await.unwrap();
    assert_eq!(now.fields["limit"], json!(6));
}

/// A form view change posted as the review step sends it.
fn edit_form<'a>(
    rev: &'a str,
    seq: &'a str,
    op: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("namespace", "shop"),
        ("name", "app"),
        ("revision", rev),
        ("seq", seq),
        ("edit[op]", op),
        ("edit[field]", "limit"),
        ("edit[kind]", "number"),
        ("edit[value]", value),
        ("comment", ""),
    ]
}

#[tokio::test]
async fn a_review_saved_after_another_change_is_a_conflict_naming_who_with_both_values() {
    let mut app = app_with_data().await;
    app.sign_in("eddie").await;
    let shop = confo::NamespaceName::new("shop").unwrap();
    let app_name = confo::ConfigurationName::new("app").unwrap();
    // Both reviews are made on the same version.
    let rev = revision(&app, "shop").await.to_string();
    let seq = app
        .store
        .latest_versions(&shop, std::slice::from_ref(&app_name))
        .await
        .unwrap()
        .pop()
        .flatten()
        .unwrap()
        .seq
        .to_string();
    let mut other = app.clone_handle();
    other.sign_in("shopkeeper").await;
    let (status, body) = other
        .post("configurations/edit", &edit_form(&rev, &seq, "set", "4"))
        .await;
    assert!(done(status), "{body}");

    let before = app.snapshot().await;
    let (status, body) = app
        .post("configurations/edit", &edit_form(&rev, &seq, "set", "7"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("shopkeeper"), "names who: {body}");
    assert!(body.contains("limit: 5 → 4"), "their change: {body}");
    assert!(body.contains("limit: 5 → 7"), "this change: {body}");
    assert!(app.snapshot().await == before, "a conflict wrote");
    let now = app.store.get_configuration(&shop, &app_name).await.unwrap();
    assert_eq!(now.fields["limit"], json!(4), "the other change stands");
}

#[tokio::test]
async fn a_field_edit_keeps_every_other_value_as_stored() {
    let mut app = app_with_data().await;
    app.sign_in("eddie").await;
    // As another tool wrote it: keys unsorted, a 23-digit integer, a decimal with a trailing 0.
    let key = app.store.layout().unchecked_configuration("shop", "app");
    let stored = r#"{"zeta":1,"alpha":2,"big":12345678901234567890123,"ratio":1.10,"limit":5}"#;
    app.store
        .kv()
        .txn(
            Vec::new(),
            vec![confo::kv::Op::Put {
                key: key.clone(),
                value: stored.as_bytes().to_vec(),
            }],
        )
        .await
        .unwrap();
    let rev = revision(&app, "shop").await.to_string();
    let mut form = edit_form(&rev, "0", "set", "1.50");
    form[5] = ("edit[field]", "added");
    let (status, body) = app.post("configurations/edit", &form).await;
    assert!(done(status), "{body}");
    let (status, body) = app
        .post(
            "configurations/edit",
            &edit_form(&revision(&app, "shop").await.to_string(), "0", "set", "6"),
        )
        .await;
    assert!(done(status), "{body}");
    let text = app.store.kv().get(&key).await.unwrap().unwrap().value;
    assert_eq!(
        String::from_utf8(text).unwrap(),
        r#"{"zeta":1,"alpha":2,"big":12345678901234567890123,"ratio":1.10,"limit":6,"added":1.50}"#
    );
}

#[tokio::test]
async fn each_row_shows_who_last_changed_it_nested_places_included() {
    let mut app = app_with_data().await;
    let shop = confo::NamespaceName::new("shop").unwrap();
    let cfg = confo::ConfigurationName::new("app").unwrap();
    let by = |name: &str| confo::Change::by(confo::Actor::user(name));
    // A whole-configuration save (as the JSON view and older versions of the dashboard record
    // it) changes one nested place; a field edit changes another field.
    let fields = json!({"limit": 5, "db": {"host": "a", "port": 1}})
        .as_object()
        .unwrap()
        .clone();
    app.store
        .replace_configuration(&shop, &cfg, fields, None, &by("ada"))
        .await
        .unwrap();
    let fields = json!({"limit": 5, "db": {"host": "a", "port": 2}})
        .as_object()
        .unwrap()
        .clone();
    app.store
        .replace_configuration(&shop, &cfg, fields, None, &by("eddie"))
        .await
        .unwrap();
    app.store
        .set_field(&shop, &cfg, "limit", json!(6), None, &by("vera"))
        .await
        .unwrap();
    let history = app.store.history(&shop, &cfg).await.unwrap();
    let seq_of = |who: &str| {
        history
            .iter()
            .find(|v| v.entry.actor.name == who)
            .unwrap()
            .seq
    };
    app.sign_in("ada").await;
    let (status, html) = app.get("/ns/shop/app").await;
    assert_eq!(status, StatusCode::OK);
    // Who the row whose header is `th` names in its last-change cell.
    let who = |th: &str| {
        let row = &html[html.find(th).unwrap_or_else(|| panic!("{th} in {html}"))..];
        let row = &row[..row.find("</tr>").unwrap()];
        let cell = &row[row
            .find("class=\"last-change\"")
            .expect("a last change cell")..];
        let text = &cell[cell.find("<span").unwrap()..];
        let text = &text[text.find('>').unwrap() + 1..];
        text[..text.find(" · ").unwrap()].to_owned()
    };
    assert_eq!(who(">limit</span></th>"), "vera");
    assert_eq!(who(">db</span></th>"), "eddie");
    assert_eq!(who("port</span></th>"), "eddie");
    assert_eq!(who("host</span></th>"), "ada");
    // The row's edit panel links to what that change did.
    for (query, by) in [
        ("edit=limit", "vera"),
        ("edit=db", "eddie"),
        ("edit=db&path=/port", "eddie"),
        ("edit=db&path=/host", "ada"),
    ] {
        let (status, html) = app.get(&format!("/ns/shop/app?{query}")).await;
        assert_eq!(status, StatusCode::OK);
        let panel = &html[html.find("id=\"editing\"").expect("an open row")..];
        assert!(panel.contains(&format!("Last changed by {by} ")), "{query}");
        let link = &panel[panel.find("history?to=").unwrap() + "history?to=".len()..];
        let seq: u64 = link[..link.find('"').unwrap()].parse().unwrap();
        assert_eq!(seq, seq_of(by), "{query}");
    }
}
