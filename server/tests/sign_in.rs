//! What an anonymous visitor can make the server and the store do: bodies and fields bounded
//! before any store access, attempts counted before the password is checked, failed sign-ins
//! recorded in bounded form, the owner never kept out by another client's failures, and no
//! working cookie or token in the store.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{PASSWORD, TestApp, done, sign_in_request, urlencode};
use confo::users::Role;
use tower::ServiceExt;

fn from(address: &str, name: &str, password: &str) -> Request<Body> {
    let mut request = sign_in_request(name, password);
    request
        .headers_mut()
        .insert("x-forwarded-for", address.parse().unwrap());
    request
}

/// Every key and value Confo keeps (configuration and reserved), to see that nothing changed.
async fn everything(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    app.snapshot()
        .await
        .into_iter()
        .map(|kv| (kv.key, kv.value))
        .collect()
}

/// The seconds to wait that a 429 answer names.
fn wait_of(body: &str) -> u64 {
    let digits: String = body
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no wait in {body}"))
}

async fn sign_in_failures(app: &TestApp) -> Vec<confo::AuditEntry> {
    app.store
        .audit(&confo::AuditQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.action == confo::Action::SignInFailed)
        .collect()
}

#[tokio::test]
async fn anonymous_bodies_are_limited_to_16_kib_wherever_they_are_sent() {
    let app = TestApp::new().await;
    let mut anonymous = app.clone_handle();
    anonymous.cookie = None;
    let before = app.snapshot().await;
    let big = format!("name={}", "a".repeat(16 * 1024));
    for path in ["/api/auth/sign-in", "/api/namespaces/create", "/nowhere"] {
        let (status, body) = anonymous
            .send(
                Request::post(path)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(big.clone()))
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {body}");
        assert!(body.contains("at most 16 KiB"), "{body}");
    }
    // Without a declared length, the body is read up to the limit and no further.
    let chunks = futures::stream::iter(
        (0..20).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'a'; 1024]))),
    );
    let (status, _) = anonymous
        .send(
            Request::post("/api/auth/sign-in")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from_stream(chunks))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // A session cookie that is not a signed-in session does not lift the limit.
    let mut forged = anonymous.clone_handle();
    forged.cookie = Some("confo_session=AAAAAAAAAAAAAAAAAAAAAA".into());
    let (status, _) = forged
        .send(
            Request::post("/api/namespaces/create")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(big.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.snapshot().await, before, "an anonymous request wrote");
    // Exactly 16 KiB gets through to the function, which refuses it for being anonymous.
    let (status, _) = anonymous
        .send(
            Request::post("/api/namespaces/create")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(big[..16 * 1024].to_owned()))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Signed in, the same body reaches the function, which says what is wrong with the name.
    let (status, body) = app
        .send(
            Request::post("/api/namespaces/create")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(big))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("the limit is 64"), "{body}");
}

#[tokio::test]
async fn fields_longer_than_their_rule_are_refused_before_the_store_is_touched() {
    let app = TestApp::anonymous().await;
    app.add_user("ada", Role::Admin).await;
    let before = app.snapshot().await;
    let long_name = "a".repeat(65);
    let (status, body) = app.send(sign_in_request(&long_name, "whatever")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("at most 64 characters"), "{body}");
    let (status, body) = app.send(sign_in_request("ada", &"p".repeat(129))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("at most 128 characters"), "{body}");
    assert_eq!(app.snapshot().await, before, "a refused sign-in wrote");
    // At the limits, the attempt is made (and fails, and is recorded).
    let (status, _) = app.send(sign_in_request(&"a".repeat(64), "whatever")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(sign_in_failures(&app).await.len(), 1);
}

#[tokio::test]
async fn a_failed_sign_in_records_a_name_only_if_it_could_be_one() {
    let app = TestApp::anonymous().await;
    for (tried, recorded) in [
        ("nobody", "nobody"),
        ("<script>alert(1)</script>", "an invalid name"),
        ("a b", "an invalid name"),
    ] {
        let (status, _) = app.send(from("192.0.2.1", tried, "wrong")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let newest = sign_in_failures(&app).await.remove(0);
        assert_eq!(newest.user.as_deref(), Some(recorded), "{tried}");
        assert_eq!(newest.comment.as_deref(), Some("from 192.0.2.1"));
    }
}

#[tokio::test]
async fn at_most_sixty_failed_sign_ins_a_minute_are_recorded_one_by_one() {
    // Keep the hundred failures inside one minute.
    let into_minute = chrono::Utc::now().timestamp() % 60;
    if into_minute > 45 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - into_minute) as u64)).await;
    }
    let app = TestApp::anonymous().await;
    for i in 0..100 {
        let address = format!("192.0.2.{}", i / 10);
        let (status, _) = app
            .send(from(&address, &format!("guess{i}"), "wrong"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(sign_in_failures(&app).await.len(), 60);

    // The rest are counted in one summary entry a minute.
    let failures = app::throttle::FailedSignIns::default();
    let now = chrono::Utc::now().timestamp();
    assert_eq!((0..100).filter(|_| failures.admit(now)).count(), 60);
    failures.write_summary(&app.store).await;
    let summary = sign_in_failures(&app).await.remove(0);
    assert_eq!(summary.user.as_deref(), Some("several accounts"));
    let comment = summary.comment.unwrap();
    assert!(comment.starts_with("40 more failed sign-ins"), "{comment}");
    // Nothing more to summarise: nothing more written.
    failures.write_summary(&app.store).await;
    assert_eq!(sign_in_failures(&app).await.len(), 61);
}

/// Attempts are counted before the password is checked, so a burst sent at once is held back
/// like one sent slowly.
#[tokio::test]
async fn a_parallel_burst_from_one_address_is_counted_before_the_password_check() {
    let app = TestApp::anonymous().await;
    let burst = (0..40).map(|i| app.send(from("198.51.100.9", &format!("guess{i}"), "wrong")));
    let answers = futures::future::join_all(burst).await;
    let checked = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::BAD_REQUEST)
        .count();
    let held_back = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (checked, held_back),
        (10, 30),
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn ipv6_addresses_are_counted_by_their_64_network() {
    let app = TestApp::anonymous().await;
    for i in 0..10 {
        let (status, _) = app
            .send(from("2001:db8:1:2::1", &format!("guess{i}"), "wrong"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (status, _) = app
        .send(from("2001:db8:1:2:ffff::7", "guess10", "wrong"))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = app.send(from("2001:db8:1:3::1", "guess11", "wrong")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// An attacker who knows the owner's name cannot keep the owner out: not from one address,
/// and from many addresses only until the account's budget for unknown clients is spent, and
/// never from a browser the owner signed in from before.
#[tokio::test]
async fn failures_from_other_clients_do_not_keep_the_owner_out() {
    let app = TestApp::anonymous().await;
    app.add_user("ada", Role::Admin).await;
    // The owner signs in once from their browser, which then holds the device cookie.
    let response = app
        .router
        .clone()
        .oneshot(from("198.51.100.1", "ada", PASSWORD))
        .await
        .unwrap();
    assert!(done(response.status()));
    let device = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("confo_device="))
        .expect("a device cookie");

    // One attacker's address tries wrong passwords until it is held back.
    let mut accepted = 0;
    for _ in 0..30 {
        let (status, _) = app.send(from("203.0.113.5", "ada", "guess")).await;
        if status == StatusCode::BAD_REQUEST {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 10);
    // The owner, from an address without recent failures and without the cookie, gets in.
    let (status, body) = app.send(from("198.51.100.2", "ada", PASSWORD)).await;
    assert!(done(status), "{status} {body}");

    // Several addresses together spend the account's budget for unknown clients...
    let mut refused_wait = None;
    for i in 0..10 {
        for _ in 0..3 {
            let (status, body) = app
                .send(from(&format!("203.0.113.{}", 10 + i), "ada", "guess"))
                .await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                refused_wait = Some(wait_of(&body));
            }
        }
    }
    let counted = app.store.sign_in_attempts("ada").await.unwrap().unwrap();
    assert_eq!(
        counted.unknown,
        confo::store::SignInAttempts::UNKNOWN_PER_QUARTER
    );
    assert!(
        refused_wait.is_some_and(|wait| wait <= 900),
        "{refused_wait:?}"
    );
    // ...after which the owner from yet another address waits, at most a quarter of an hour...
    let (status, body) = app.send(from("198.51.100.3", "ada", PASSWORD)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(wait_of(&body) <= 900, "{body}");
    // ...but not from the browser they signed in from before, even at a blocked address.
    let mut request = from("203.0.113.5", "ada", PASSWORD);
    request
        .headers_mut()
        .insert(header::COOKIE, device.parse().unwrap());
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert!(done(response.status()), "{:?}", response.status());
    // A device cookie made for another account, or made up, is no help.
    app.add_user("bob", Role::Viewer).await;
    let mut request = from("198.51.100.4", "bob", PASSWORD);
    request
        .headers_mut()
        .insert(header::COOKIE, device.parse().unwrap());
    assert!(done(
        app.router.clone().oneshot(request).await.unwrap().status()
    ));
    let mut request = from("203.0.113.5", "ada", PASSWORD);
    let made_up = format!("confo_device={}", confo::users::random_token());
    request
        .headers_mut()
        .insert(header::COOKIE, made_up.parse().unwrap());
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Whoever reads every key Confo keeps (or a backup of them) finds no cookie that signs in and
/// no link that works.
#[tokio::test]
async fn the_store_holds_no_working_cookie_or_token() {
    let app = TestApp::new().await;
    app.add_user("bob", Role::Viewer).await;
    let session_id = app.cookie.clone().unwrap();
    let session_id = session_id.split('=').nth(1).unwrap().to_owned();
    let (status, _) = app
        .post(
            "users/invite",
            &[
                ("name", "grace"),
                ("role", "editor"),
                ("access", "all"),
                ("namespaces", ""),
            ],
        )
        .await;
    assert!(done(status));
    let (status, _) = app.post("users/reset-password", &[("name", "bob")]).await;
    assert!(done(status));
    // Read while the links wait to be shown (in the administrator's session), and after.
    let mut stored = everything(&app).await;
    let mut tokens = Vec::new();
    for name in ["grace", "bob"] {
        let (status, body) = app.get(&format!("/api/users/get?name={name}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let detail: serde_json::Value = serde_json::from_str(&body).unwrap();
        let link = detail["row"]["pending"]["link"]
            .as_str()
            .unwrap_or_else(|| panic!("no link shown: {body}"));
        tokens.push((name, link.rsplit("token=").next().unwrap().to_owned()));
        // Shown once: the next view of the page no longer has it.
        let (_, again) = app.get(&format!("/api/users/get?name={name}")).await;
        let again: serde_json::Value = serde_json::from_str(&again).unwrap();
        assert!(again["row"]["pending"]["link"].is_null(), "{again}");
    }

    // Every string the store holds: key parts, values, and the strings inside JSON values.
    let mut found: Vec<String> = Vec::new();
    fn strings(value: &serde_json::Value, into: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => into.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, into)),
            serde_json::Value::Object(fields) => fields.iter().for_each(|(k, v)| {
                into.push(k.clone());
                strings(v, into);
            }),
            other => into.push(other.to_string()),
        }
    }
    stored.extend(everything(&app).await);
    for (key, value) in stored {
        found.extend(key.split('/').map(str::to_owned));
        let text = String::from_utf8_lossy(&value).into_owned();
        for secret in std::iter::once(&session_id).chain(tokens.iter().map(|(_, t)| t)) {
            assert!(!key.contains(secret.as_str()), "{key}");
            assert!(!text.contains(secret.as_str()), "{key}: {text}");
        }
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&value) {
            strings(&json, &mut found);
        }
        found.push(text);
    }
    found.sort();
    found.dedup();
    // None of them signs in as a session cookie, or works as either link's token.
    for candidate in found.iter().filter(|s| s.len() >= 16 && s.len() <= 200) {
        let mut probe = app.clone_handle();
        probe.cookie = Some(format!("confo_session={candidate}"));
        if candidate.bytes().all(|b| b.is_ascii_graphic() && b != b';') {
            let (_, me) = probe.get("/api/auth/me").await;
            assert_eq!(me, "null", "{candidate} works as a session cookie");
        }
        for (name, _) in &tokens {
            let (status, _) = app
                .get(&format!(
                    "/api/invitation/show?name={name}&token={}",
                    urlencode(candidate)
                ))
                .await;
            assert_ne!(status, StatusCode::OK, "{candidate} works as a link token");
        }
    }
    // The real ones do work (the probes above could have succeeded).
    let (_, me) = app.get("/api/auth/me").await;
    assert!(me.contains("\"ada\""), "{me}");
    let (status, _) = app
        .get(&format!(
            "/api/invitation/show?name=grace&token={}",
            tokens[0].1
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
}
