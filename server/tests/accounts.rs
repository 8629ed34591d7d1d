//! Accounts through the server functions: the guard on each, invitations, password changes and
//! resets, sessions listed and ended, lifetimes, and the per-address throttle.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{PASSWORD, TestApp, done, sign_in_request};
use confo::users::Role;
use tower::ServiceExt;

const NEW_PASSWORD: &str = "a brand new passphrase";

/// The stored session records of `user`, as (key, record JSON).
async fn stored_sessions(app: &TestApp, user: &str) -> Vec<(String, serde_json::Value)> {
    let prefix = app.store.layout().sessions_prefix();
    app.store
        .kv()
        .list_prefix(&prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|kv| (kv.key, serde_json::from_slice(&kv.value).unwrap()))
        .filter(|(_, record): &(String, serde_json::Value)| record["data"]["user"] == user)
        .collect()
}

async fn rewrite_session(app: &TestApp, key: &str, record: &tower_sessions::session::Record) {
    app.store
        .kv()
        .txn(
            Vec::new(),
            vec![confo::kv::Op::Put {
                key: key.to_owned(),
                value: serde_json::to_vec(record).unwrap(),
            }],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn every_account_function_checks_the_role_first_and_refused_calls_write_nothing() {
    let mut app = TestApp::anonymous().await;
    app.add_user("ada", Role::Admin).await;
    app.add_user("eddie", Role::Editor).await;
    app.add_user("vera", Role::Viewer).await;
    let invite = [
        ("name", "newcomer"),
        ("role", "viewer"),
        ("access", "all"),
        ("namespaces", ""),
    ];
    let update = [
        ("name", "vera"),
        ("role", "viewer"),
        ("access", "some"),
        ("namespaces", "shop"),
    ];
    // (function, form, allowed for: nobody, viewer, editor, admin)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], [bool; 4]);
    let admin_only = [false, false, false, true];
    let signed_in = [false, true, true, true];
    let cases: [Case; 9] = [
        ("users/list", &[], admin_only),
        ("users/get", &[("name", "vera")], admin_only),
        ("users/invite", &invite, admin_only),
        ("users/reset-password", &[("name", "vera")], admin_only),
        ("users/update", &update, admin_only),
        (
            "users/set-disabled",
            &[("name", "eddie"), ("disabled", "false")],
            admin_only,
        ),
        (
            "users/end-sessions",
            &[("name", "nobody"), ("handle", "")],
            admin_only,
        ),
        ("account/me", &[], signed_in),
        (
            "account/end-sessions",
            &[("handle", "none-such")],
            signed_in,
        ),
    ];
    for (who, column) in [
        (None, 0),
        (Some("vera"), 1),
        (Some("eddie"), 2),
        (Some("ada"), 3),
    ] {
        match who {
            Some(name) => app.sign_in(name).await,
            None => app.cookie = None,
        }
        for (function, form, allowed) in &cases {
            let before = app.snapshot().await;
            let (status, body) = if function.ends_with("list")
                || function.ends_with("get")
                || *function == "account/me"
            {
                let query: Vec<String> = form.iter().map(|(k, v)| format!("{k}={v}")).collect();
                app.get(&format!("/api/{function}?{}", query.join("&")))
                    .await
            } else {
                app.post(function, form).await
            };
            let expected = match (allowed[column], who) {
                (true, _) => None,
                (false, None) => Some(StatusCode::UNAUTHORIZED),
                (false, Some(_)) => Some(StatusCode::FORBIDDEN),
            };
            match expected {
                None => assert!(done(status), "{who:?} {function}: {status} {body}"),
                Some(refused) => {
                    assert_eq!(status, refused, "{who:?} {function}: {body}");
                    let after = app.snapshot().await;
                    assert!(after == before, "{who:?} {function} wrote although refused");
                }
            }
        }
    }
    // The admin's calls took effect.
    assert!(app.store.invitation("newcomer").await.unwrap().is_some());
    let (vera, _) = app.store.get_user("vera").await.unwrap().unwrap();
    assert_eq!(
        vera.grants,
        confo::users::Grants::Namespaces(vec!["shop".into()])
    );
}

/// The link an administrator's view of `name`'s page shows, if any.
async fn shown_link(app: &TestApp, name: &str) -> Option<String> {
    let (status, body) = app.get(&format!("/api/users/get?name={name}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let detail: app::api::users::UserDetail = serde_json::from_str(&body).unwrap();
    detail.row.pending.expect("an invitation").link
}

async fn invite(app: &TestApp, name: &str) {
    let form = [
        ("name", name),
        ("role", "viewer"),
        ("access", "all"),
        ("namespaces", ""),
    ];
    let (status, body) = app.post("users/invite", &form).await;
    assert!(done(status), "{status} {body}");
}

#[tokio::test]
async fn a_link_survives_another_request_of_the_session_writing_the_session_back() {
    let app = TestApp::new().await;
    // Another request of the same session (a second tab) read the session before the
    // invitation was made and writes it back after, as the session layer does.
    let prefix = app.store.layout().sessions_prefix();
    let before = app.store.kv().list_prefix(&prefix).await.unwrap();
    assert_eq!(before.len(), 1);
    invite(&app, "grace").await;
    app.store
        .kv()
        .txn(
            Vec::new(),
            vec![confo::kv::Op::Put {
                key: before[0].key.clone(),
                value: before[0].value.clone(),
            }],
        )
        .await
        .unwrap();
    let link = shown_link(&app, "grace").await.expect("the link is shown");
    assert!(link.contains("/invitation?name=grace&token="), "{link}");
    // Once.
    assert_eq!(shown_link(&app, "grace").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_made_at_once_in_one_session_are_each_shown_once() {
    let app = TestApp::new().await;
    let names: Vec<String> = (0..12).map(|i| format!("p{i}")).collect();
    let shown = futures::future::join_all(names.iter().map(|name| {
        let app = app.clone_handle();
        async move {
            invite(&app, name).await;
            shown_link(&app, name).await
        }
    }))
    .await;
    for (name, link) in names.iter().zip(shown) {
        let link = link.unwrap_or_else(|| panic!("no link shown for {name}"));
        assert!(link.contains(&format!("name={name}&token=")), "{link}");
    }
    // Nothing waits once shown.
    let waiting = app.store.layout().waiting_links_prefix();
    assert_eq!(
        app.store.kv().list_keys(&waiting).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn an_invitation_link_signs_the_newcomer_in_once() {
    let mut app = TestApp::new().await;
    let (status, body) = app
        .post(
            "users/invite",
            &[
                ("name", "grace"),
                ("role", "editor"),
                ("access", "some"),
                ("namespaces", "shop, web"),
            ],
        )
        .await;
    assert!(done(status), "{status} {body}");
    // The link is shown to the administrator who made it.
    let (status, body) = app.get("/api/users/get?name=grace").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let detail: app::api::users::UserDetail = serde_json::from_str(&body).unwrap();
    assert!(!detail.row.joined);
    let link = detail.row.pending.unwrap().link.expect("the link");
    let token = link.split("token=").nth(1).unwrap().to_owned();
    assert!(link.contains("/invitation?name=grace&token="), "{link}");

    // A different browser, not signed in, opens it.
    app.cookie = None;
    let (status, body) = app
        .get(&format!("/api/invitation/show?name=grace&token={token}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let accept = |password: &str, repeat: &str| {
        vec![
            ("name", "grace".to_owned()),
            ("token", token.clone()),
            ("password", password.to_owned()),
            ("repeat", repeat.to_owned()),
        ]
    };
    let post = |form: Vec<(&'static str, String)>| {
        let encoded: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", common::urlencode(v)))
            .collect();
        Request::post("/api/invitation/accept")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(encoded.join("&")))
            .unwrap()
    };
    for (password, repeat, needle) in [
        ("short", "short", "at least 8"),
        (NEW_PASSWORD, "something else", "differ"),
        ("password", "password", "too easy"),
    ] {
        let (status, body) = app.send(post(accept(password, repeat))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains(needle), "{body}");
    }
    assert_eq!(app.store.get_user("grace").await.unwrap(), None);

    let response = app
        .router
        .clone()
        .oneshot(post(accept(NEW_PASSWORD, NEW_PASSWORD)))
        .await
        .unwrap();
    assert!(done(response.status()), "{:?}", response.status());
    let cookie = response.headers().get(header::SET_COOKIE).unwrap();
    app.cookie = Some(
        cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
    );
    // Signed in as an editor of the namespaces given.
    let (status, body) = app.get("/api/account/me").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let me: app::api::account::AccountView = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (me.role.as_str(), me.access.as_str()),
        ("editor", "shop, web")
    );
    assert_eq!(me.recent[0].what, "Signed in");

    // Once only.
    app.cookie = None;
    let (status, body) = app.send(post(accept(NEW_PASSWORD, NEW_PASSWORD))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("not valid"), "{body}");
    let (status, _) = app
        .get(&format!("/api/invitation/show?name=grace&token={token}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(done(
        app.send(sign_in_request("grace", NEW_PASSWORD)).await.0
    ));
}

#[tokio::test]
async fn disabling_a_user_ends_all_their_sessions_at_once() {
    let mut app = TestApp::anonymous().await;
    app.add_user("ada", Role::Admin).await;
    app.add_user("vera", Role::Viewer).await;
    for _ in 0..3 {
        app.sign_in("vera").await;
    }
    assert_eq!(stored_sessions(&app, "vera").await.len(), 3);
    app.sign_in("ada").await;
    let (status, body) = app.get("/api/users/get?name=vera").await;
    let detail: app::api::users::UserDetail = serde_json::from_str(&body).expect(&body);
    assert_eq!((status, detail.sessions.len()), (StatusCode::OK, 3));

    // An administrator ends one of them...
    let handle = detail.sessions[0].handle.clone();
    let (status, _) = app
        .post(
            "users/end-sessions",
            &[("name", "vera"), ("handle", &handle)],
        )
        .await;
    assert!(done(status));
    assert_eq!(stored_sessions(&app, "vera").await.len(), 2);
    // ... then disables the account: the rest end at once.
    let (status, _) = app
        .post(
            "users/set-disabled",
            &[("name", "vera"), ("disabled", "true")],
        )
        .await;
    assert!(done(status));
    assert!(stored_sessions(&app, "vera").await.is_empty());
    assert!(
        app.store
            .get_user("vera")
            .await
            .unwrap()
            .unwrap()
            .0
            .disabled
    );
    // Not one's own account, and never the last administrator.
    let (status, body) = app
        .post(
            "users/set-disabled",
            &[("name", "ada"), ("disabled", "true")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app
        .post(
            "users/update",
            &[
                ("name", "ada"),
                ("role", "viewer"),
                ("access", "all"),
                ("namespaces", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("last active administrator"), "{body}");
    let actions: Vec<_> = app
        .store
        .audit(&confo::AuditQuery {
            user: Some("vera".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .entries
        .iter()
        .map(|e| e.action)
        .take(2)
        .collect();
    assert_eq!(
        actions,
        [confo::Action::UserDisable, confo::Action::EndSessions]
    );
}

#[tokio::test]
async fn changing_ones_password_needs_the_current_one_and_ends_other_sessions() {
    let mut app = TestApp::anonymous().await;
    app.add_user("ada", Role::Admin).await;
    app.sign_in("ada").await;
    let elsewhere = app.cookie.clone();
    app.sign_in("ada").await;
    let change = |current: &'static str, new: &'static str, repeat: &'static str| {
        [("current", current), ("new", new), ("repeat", repeat)]
    };
    for (form, needle) in [
        (change("wrong one", NEW_PASSWORD, NEW_PASSWORD), "not right"),
        (change(PASSWORD, NEW_PASSWORD, "typo"), "differ"),
        (change(PASSWORD, "ada", "ada"), "at least 8"),
    ] {
        let (status, body) = app.post("account/password", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains(needle), "{body}");
    }
    let (status, body) = app
        .post(
            "account/password",
            &change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD),
        )
        .await;
    assert!(done(status), "{status} {body}");
    // This session goes on; the other one ended.
    assert_eq!(app.get("/api/account/me").await.0, StatusCode::OK);
    let here = app.cookie.clone();
    app.cookie = elsewhere;
    assert_eq!(app.get("/api/account/me").await.0, StatusCode::UNAUTHORIZED);
    app.cookie = here;
    assert_eq!(
        app.send(sign_in_request("ada", PASSWORD)).await.0,
        StatusCode::BAD_REQUEST
    );
    assert!(done(app.send(sign_in_request("ada", NEW_PASSWORD)).await.0));
}

#[tokio::test]
async fn a_session_past_its_idle_or_absolute_lifetime_is_signed_out() {
    let mut app = TestApp::anonymous().await;
    app.add_user("ada", Role::Admin).await;
    for field in ["expiry_date", "signed_in_at"] {
        app.sign_in("ada").await;
        assert_eq!(app.get("/api/account/me").await.0, StatusCode::OK);
        let id: tower_sessions::session::Id = app
            .cookie
            .as_ref()
            .unwrap()
            .split('=')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let key = app.store.layout().session(&app::sessions::stored_hash(&id));
        let stored = app.store.kv().get(&key).await.unwrap().unwrap();
        // Stored without its id; put it back to edit the record as the session layer sees it.
        let stored = String::from_utf8(stored.value).unwrap();
        let with_id = format!("{{\"id\":{},{}", id.0, &stored[1..]);
        let mut record: tower_sessions::session::Record = serde_json::from_str(&with_id).unwrap();
        let past = time::OffsetDateTime::now_utc() - time::Duration::hours(13);
        match field {
            // Unused for longer than the idle timeout.
            "expiry_date" => record.expiry_date = past,
            // Signed in longer ago than the absolute lifetime (12 h by default).
            _ => {
                record
                    .data
                    .insert(field.into(), serde_json::json!(past.unix_timestamp()));
            }
        }
        rewrite_session(&app, &key, &record).await;
        assert_eq!(
            app.get("/api/account/me").await.0,
            StatusCode::UNAUTHORIZED,
            "{field}"
        );
    }
}

#[tokio::test]
async fn many_failures_from_one_address_are_slowed_down() {
    let app = TestApp::anonymous().await;
    app.add_user("ada", Role::Admin).await;
    let from = |address: &str, name: &str, password: &str| {
        let mut request = sign_in_request(name, password);
        request
            .headers_mut()
            .insert("x-forwarded-for", address.parse().unwrap());
        request
    };
    // 10 failures on 10 different names (each account stays under its own limit).
    for i in 0..10 {
        let (status, body) = app
            .send(from("198.51.100.7", &format!("guess{i}"), "wrong password"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let response = app
        .router
        .clone()
        .oneshot(from("198.51.100.7", "ada", PASSWORD))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Told how long to wait: one more attempt 5 minutes after the last one.
    let wait: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&wait), "{wait}");
    // Another address is not affected, and a sign-in records where it came from.
    let (status, _) = app.send(from("198.51.100.8", "ada", PASSWORD)).await;
    assert!(done(status));
    let newest = &app
        .store
        .audit(&confo::AuditQuery::default())
        .await
        .unwrap()
        .entries[0];
    assert_eq!(newest.comment.as_deref(), Some("from 198.51.100.8"));
}

#[tokio::test]
async fn a_password_reset_link_ends_every_other_session_of_the_account() {
    let mut app = TestApp::anonymous().await;
    app.add_user("ada", Role::Admin).await;
    app.add_user("vera", Role::Viewer).await;
    // Vera is signed in somewhere (perhaps by someone who learnt her password).
    app.sign_in("vera").await;
    let vera_before = app.cookie.clone();
    assert_eq!(app.get("/api/account/me").await.0, StatusCode::OK);

    // An administrator makes her a reset link.
    app.sign_in("ada").await;
    let (status, body) = app.post("users/reset-password", &[("name", "vera")]).await;
    assert!(done(status), "{status} {body}");
    let (_, body) = app.get("/api/users/get?name=vera").await;
    let detail: app::api::users::UserDetail = serde_json::from_str(&body).expect(&body);
    let link = detail.row.pending.unwrap().link.expect("the link");
    let token = link.split("token=").nth(1).unwrap().to_owned();

    // She uses it in another browser.
    app.cookie = None;
    let form = [
        ("name", "vera"),
        ("token", token.as_str()),
        ("password", NEW_PASSWORD),
        ("repeat", NEW_PASSWORD),
    ]
    .map(|(key, value)| format!("{key}={}", common::urlencode(value)));
    let response = app
        .router
        .clone()
        .oneshot(
            Request::post("/api/invitation/accept")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.join("&")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(done(response.status()), "{:?}", response.status());
    let cookie = response.headers().get(header::SET_COOKIE).unwrap();
    let vera_after = Some(
        cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
    );
    assert_ne!(vera_after, vera_before);

    // The new session works; the one from before the reset is over.
    app.cookie = vera_after;
    let (status, body) = app.get("/api/account/me").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let me: app::api::account::AccountView = serde_json::from_str(&body).unwrap();
    assert_eq!((me.name.as_str(), me.sessions.len()), ("vera", 1));
    assert_eq!(me.recent[0].what, "Sessions ended");
    app.cookie = vera_before;
    assert_eq!(app.get("/api/account/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(stored_sessions(&app, "vera").await.len(), 1);
}
