//! The storage contract: every test here runs unchanged against the embedded store and against
//! a real etcd (the one the test script starts, named by `CONFO_TEST_ETCD_ENDPOINTS`).

mod common;

use common::{Backend, cfg, change, create_empty, next_event, ns, object, with_namespace};
use confo::audit::Verification;
use confo::client::{Confo, Persisted};
use confo::kv::{Compare, MAX_REQUEST_BYTES, Op, TxnOutcome};
use confo::store::{Target, WatchEvent};
use confo::{Action, Actor, AuditQuery, Change, Error, NamespaceName, Store};
use serde_json::json;
use std::time::Duration;

contract!(
    absent_key_reads_as_none,
    put_then_get_carries_revision,
    compare_on_stale_revision_writes_nothing,
    transaction_is_all_or_nothing,
    delete_removes_the_key,
    prefix_listing_is_ordered_and_bounded,
    oversized_change_is_refused_before_sending,
    root_is_created_with_the_seed_shape,
    namespaces_keep_their_order,
    duplicate_namespace_is_refused,
    unlisted_namespace_key_is_listed_not_overwritten,
    corrupt_root_is_reported_with_its_key,
    concurrent_creators_lose_nothing,
    configuration_round_trip_keeps_every_json_type,
    configuration_needs_a_listed_namespace_and_a_free_name,
    stale_revision_is_a_conflict_carrying_the_current_value,
    field_operations,
    bad_field_names_are_refused,
    non_object_configuration_is_reported_with_its_key,
    unregistered_configurations_are_found_and_registered,
    deleting_configurations_and_namespaces,
    oversized_configuration_is_refused_and_nothing_written,
    every_change_has_one_chained_audit_entry,
    tampering_breaks_the_chain_where_it_happened,
    verification_resumes_from_a_checkpoint,
    history_diff_and_revert,
    one_change_is_taken_back_alone_unless_a_later_change_touched_it,
    audit_queries_filter_and_paginate,
    concurrent_counter_loses_no_update,
    many_creators_in_one_namespace_are_all_listed,
    watch_reports_changes_in_order_with_their_author,
    watch_reports_user_profiles_and_sessions,
    watch_names_the_namespace_that_owns_a_key,
    client_reads_writes_and_deserialises,
    client_never_loses_unsaved_changes,
    client_persist_reports_a_conflict_and_keeps_local_changes,
    archiving_moves_old_entries_and_keeps_the_chain,
    users_are_stored_apart_from_their_password_hashes,
    an_invitation_link_works_once_and_only_with_its_token,
    a_password_reset_link_replaces_the_password,
    expired_links_are_refused_and_swept,
    role_changes_are_audited_and_keep_an_administrator,
    sign_in_attempts_are_counted_in_the_store,
    known_browsers_are_kept_by_the_hash_of_their_token,
    latest_versions_name_the_newest_change_of_each_configuration,
    the_overview_reads_counts_and_last_changes_of_namespaces,
    a_legacy_namespace_with_a_dash_is_reached_only_through_itself,
    keys_shared_with_a_later_legacy_namespace_are_refused_on_both_sides,
    an_edit_keeps_what_it_does_not_touch_byte_for_byte,
    preview_and_apply_agree_for_every_kind_of_edit,
    the_last_change_of_each_place_comes_from_the_history_patches,
    a_stale_edit_is_refused_then_re_applied_only_on_disjoint_places,
    a_schema_refuses_only_changes_that_add_problems,
    named_schemas_are_shared_checked_in_a_dry_run_and_kept_while_in_use,
    schemas_are_audited_and_outlive_their_configuration,
    a_required_comment_is_enforced_for_every_write,
    an_open_page_is_present_until_it_closes_and_renewals_write_nothing,
    a_page_whose_server_died_is_gone_when_its_lease_runs_out,
);

fn present_users(present: &[confo::presence::Present]) -> Vec<(&str, bool)> {
    present
        .iter()
        .map(|p| (p.user.as_str(), p.editing))
        .collect()
}

async fn an_open_page_is_present_until_it_closes_and_renewals_write_nothing(b: Backend) {
    use confo::presence::{LEASE, RENEW_EVERY, enter, present};
    let store = with_namespace(&b, "pres").await;
    create_empty(&store, "pres", "c", 2).await;
    let mut events = store.watch().await.unwrap();
    let here = Target::Presence {
        namespace: "pres".into(),
        configuration: "c0".into(),
    };
    let page = |page: &str, user: &str, editing: bool| confo::presence::Present {
        page: page.into(),
        session: format!("session-of-{page}"),
        user: user.into(),
        editing,
    };
    let ada = enter(&store, "pres", "c0", &page("page-a", "ada", false))
        .await
        .unwrap();
    let bob = enter(&store, "pres", "c0", &page("page-b", "bob", true))
        .await
        .unwrap();
    for _ in 0..2 {
        match next_event(&mut events).await {
            WatchEvent::Changed { targets, .. } => assert_eq!(targets, std::slice::from_ref(&here)),
            other => panic!("unexpected {other:?}"),
        }
    }
    let now = present(&store, "pres", "c0").await.unwrap();
    assert_eq!(present_users(&now), [("ada", false), ("bob", true)]);
    assert!(present(&store, "pres", "c1").await.unwrap().is_empty());
    // Held past its lease by renewals, which write nothing: no change is seen, and both stay.
    let quiet = tokio::time::timeout(LEASE + RENEW_EVERY, events.recv()).await;
    assert!(
        quiet.is_err(),
        "a renewal wrote something, or a lease ran out: {quiet:?}"
    );
    let now = present(&store, "pres", "c0").await.unwrap();
    assert_eq!(present_users(&now), [("ada", false), ("bob", true)]);
    // A page that closes is gone at once.
    drop(ada);
    match next_event(&mut events).await {
        WatchEvent::Changed { targets, .. } => assert_eq!(targets, std::slice::from_ref(&here)),
        other => panic!("unexpected {other:?}"),
    }
    let now = present(&store, "pres", "c0").await.unwrap();
    assert_eq!(present_users(&now), [("bob", true)]);
    drop(bob);
    next_event(&mut events).await;
    assert!(present(&store, "pres", "c0").await.unwrap().is_empty());
}

async fn a_page_whose_server_died_is_gone_when_its_lease_runs_out(b: Backend) {
    let store = with_namespace(&b, "gone").await;
    create_empty(&store, "gone", "c", 1).await;
    // What a page's server wrote before it died: a key on a lease nobody renews.
    let key = store.layout().presence("gone", "c0", "page-x");
    let value = br#"{"page":"page-x","user":"ada","editing":false}"#.to_vec();
    let lease =
        b.kv.put_leased(&key, value, Duration::from_secs(2))
            .await
            .unwrap();
    let now = confo::presence::present(&store, "gone", "c0")
        .await
        .unwrap();
    assert_eq!(present_users(&now), [("ada", false)]);
    if lease == 0 {
        // The embedded store has no leases: one process uses it, and clears them at start.
        confo::presence::clear(&store).await.unwrap();
        assert!(b.kv.get(&key).await.unwrap().is_none());
        return;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while b.kv.get(&key).await.unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the key outlived its lease"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !b.kv.keep_alive(lease).await.unwrap(),
        "an ended lease is not renewed"
    );
    // Releasing what already ended is no error.
    b.kv.release(lease, &key).await.unwrap();
}

async fn absent_key_reads_as_none(b: Backend) {
    assert_eq!(b.kv.get(&b.key("nothing")).await.unwrap(), None);
}

async fn put_then_get_carries_revision(b: Backend) {
    b.put("k", "one").await;
    let first = b.kv.get(&b.key("k")).await.unwrap().unwrap();
    assert_eq!(first.value, b"one");
    b.put("k", "two").await;
    let second = b.kv.get(&b.key("k")).await.unwrap().unwrap();
    assert_eq!(second.value, b"two");
    assert!(second.mod_revision > first.mod_revision);
}

async fn compare_on_stale_revision_writes_nothing(b: Backend) {
    b.put("k", "one").await;
    let read = b.kv.get(&b.key("k")).await.unwrap();
    b.put("k", "two").await;
    let outcome =
        b.kv.txn(
            vec![Compare::unchanged(b.key("k"), read.as_ref())],
            vec![Op::Put {
                key: b.key("k"),
                value: b"lost".to_vec(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(outcome, TxnOutcome::CompareFailed);
    assert_eq!(b.value("k").await.as_deref(), Some("two"));

    // "must not exist" fails on an existing key.
    let outcome =
        b.kv.txn(
            vec![Compare::unchanged(b.key("k"), None)],
            vec![Op::Put {
                key: b.key("k"),
                value: b"lost".to_vec(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(outcome, TxnOutcome::CompareFailed);
}

async fn transaction_is_all_or_nothing(b: Backend) {
    b.put("a", "1").await;
    let a = b.kv.get(&b.key("a")).await.unwrap();
    b.put("a", "2").await;
    let outcome =
        b.kv.txn(
            vec![
                Compare::unchanged(b.key("new"), None),
                Compare::unchanged(b.key("a"), a.as_ref()),
            ],
            vec![
                Op::Put {
                    key: b.key("new"),
                    value: b"x".to_vec(),
                },
                Op::Put {
                    key: b.key("a"),
                    value: b"3".to_vec(),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(outcome, TxnOutcome::CompareFailed);
    assert_eq!(b.value("new").await, None);

    let a = b.kv.get(&b.key("a")).await.unwrap();
    let outcome =
        b.kv.txn(
            vec![
                Compare::unchanged(b.key("new"), None),
                Compare::unchanged(b.key("a"), a.as_ref()),
            ],
            vec![
                Op::Put {
                    key: b.key("new"),
                    value: b"x".to_vec(),
                },
                Op::Put {
                    key: b.key("a"),
                    value: b"3".to_vec(),
                },
            ],
        )
        .await
        .unwrap();
    let TxnOutcome::Committed { revision } = outcome else {
        panic!("expected a commit, got {outcome:?}");
    };
    let new = b.kv.get(&b.key("new")).await.unwrap().unwrap();
    let a = b.kv.get(&b.key("a")).await.unwrap().unwrap();
    assert_eq!((new.mod_revision, a.mod_revision), (revision, revision));
}

async fn delete_removes_the_key(b: Backend) {
    b.put("gone", "x").await;
    let read = b.kv.get(&b.key("gone")).await.unwrap();
    let outcome =
        b.kv.txn(
            vec![Compare::unchanged(b.key("gone"), read.as_ref())],
            vec![Op::Delete { key: b.key("gone") }],
        )
        .await
        .unwrap();
    assert!(matches!(outcome, TxnOutcome::Committed { .. }));
    assert_eq!(b.value("gone").await, None);
}

async fn prefix_listing_is_ordered_and_bounded(b: Backend) {
    for name in ["ns-b", "ns-a", "ns", "nt-a", "ns-c"] {
        b.put(name, name).await;
    }
    let listed: Vec<String> =
        b.kv.list_prefix(&b.key("ns-"))
            .await
            .unwrap()
            .into_iter()
            .map(|kv| kv.key)
            .collect();
    assert_eq!(listed, [b.key("ns-a"), b.key("ns-b"), b.key("ns-c")]);
    // The keys alone, as the namespace page reads them to find unregistered configurations.
    assert_eq!(b.kv.list_keys(&b.key("ns-")).await.unwrap(), listed);
}

async fn oversized_change_is_refused_before_sending(b: Backend) {
    let outcome =
        b.kv.txn(
            vec![],
            vec![Op::Put {
                key: b.key("big"),
                value: vec![b'x'; MAX_REQUEST_BYTES + 1],
            }],
        )
        .await;
    assert!(
        matches!(outcome, Err(Error::TooLarge { .. })),
        "{outcome:?}"
    );
    assert_eq!(b.value("big").await, None);
}

async fn root_is_created_with_the_seed_shape(b: Backend) {
    let store = b.store();
    store.ensure_root().await.unwrap();
    assert_eq!(
        b.value("confo").await.as_deref(),
        Some(r#"{"namespaces":[]}"#)
    );
    // A second start leaves an existing root alone.
    b.put("confo", r#"{"namespaces":["HR_dept"]}"#).await;
    store.ensure_root().await.unwrap();
    assert_eq!(store.list_namespaces().await.unwrap(), ["HR_dept"]);
}

async fn namespaces_keep_their_order(b: Backend) {
    let store = b.store();
    for name in ["zeta", "alpha", "mid"] {
        store
            .create_namespace(&NamespaceName::new(name).unwrap(), &change())
            .await
            .unwrap();
    }
    assert_eq!(
        store.list_namespaces().await.unwrap(),
        ["zeta", "alpha", "mid"]
    );
    assert_eq!(
        b.value("confo").await.as_deref(),
        Some(r#"{"namespaces":["zeta","alpha","mid"]}"#)
    );
    assert_eq!(
        b.value("alpha").await.as_deref(),
        Some(r#"{"configurations":[]}"#)
    );
}

async fn duplicate_namespace_is_refused(b: Backend) {
    let store = b.store();
    let name = NamespaceName::new("HR_dept").unwrap();
    store.create_namespace(&name, &change()).await.unwrap();
    let root_before = b.kv.get(&b.key("confo")).await.unwrap();
    let again = store.create_namespace(&name, &change()).await;
    assert!(matches!(again, Err(Error::AlreadyExists(_))), "{again:?}");
    assert_eq!(b.kv.get(&b.key("confo")).await.unwrap(), root_before);
}

/// The original Confo can leave a namespace key that the root does not list.
async fn unlisted_namespace_key_is_listed_not_overwritten(b: Backend) {
    b.put("confo", r#"{"namespaces":[]}"#).await;
    b.put("sales", r#"{"configurations":["leads"]}"#).await;
    let store = b.store();
    store
        .create_namespace(&NamespaceName::new("sales").unwrap(), &change())
        .await
        .unwrap();
    assert_eq!(store.list_namespaces().await.unwrap(), ["sales"]);
    assert_eq!(
        b.value("sales").await.as_deref(),
        Some(r#"{"configurations":["leads"]}"#)
    );
}

async fn corrupt_root_is_reported_with_its_key(b: Backend) {
    b.put("confo", "not json").await;
    let store = b.store();
    match store.list_namespaces().await {
        Err(Error::Corrupt { key, .. }) => assert_eq!(key, b.key("confo")),
        other => panic!("expected a corrupt-value error, got {other:?}"),
    }
    let create = store
        .create_namespace(&NamespaceName::new("x").unwrap(), &change())
        .await;
    assert!(matches!(create, Err(Error::Corrupt { .. })), "{create:?}");
    assert_eq!(b.value("confo").await.as_deref(), Some("not json"));

    b.put("confo", r#"{"namespaces":"HR"}"#).await;
    assert!(matches!(
        store.list_namespaces().await,
        Err(Error::Corrupt { .. })
    ));
}

/// Many writers add namespaces to one root index at once; compare-and-swap loses none.
async fn concurrent_creators_lose_nothing(b: Backend) {
    let store = b.store();
    store.ensure_root().await.unwrap();
    let writers: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_namespace(&NamespaceName::new(format!("ns{i}")).unwrap(), &change())
                    .await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let mut listed = store.list_namespaces().await.unwrap();
    listed.sort();
    let mut expected: Vec<String> = (0..16).map(|i| format!("ns{i}")).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

async fn configuration_round_trip_keeps_every_json_type(b: Backend) {
    let store = with_namespace(&b, "HR_dept").await;
    let fields = object(json!({
        "driver": "pgsql",
        "port": 3306,
        "ratio": 0.25,
        "enabled": true,
        "prefix": "",
        "nothing": null,
        "admins": ["kabelo@example.com", "bhavesh@example.com"],
        "pool": {"min": 1, "max": 10},
        "grüße": "日本語 ✓ 🚀",
    }));
    store
        .create_configuration(&ns("HR_dept"), &cfg("database"), fields.clone(), &change())
        .await
        .unwrap();
    let read = store
        .get_configuration(&ns("HR_dept"), &cfg("database"))
        .await
        .unwrap();
    assert_eq!(read.fields, fields);
    let raw: serde_json::Value =
        serde_json::from_str(&b.value("HR_dept-database").await.unwrap()).unwrap();
    assert_eq!(raw, serde_json::Value::Object(fields));
    assert_eq!(
        b.value("HR_dept").await.as_deref(),
        Some(r#"{"configurations":["database"]}"#)
    );
}

async fn configuration_needs_a_listed_namespace_and_a_free_name(b: Backend) {
    let store = with_namespace(&b, "a").await;
    let missing = store
        .create_configuration(&ns("nope"), &cfg("c"), Default::default(), &change())
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
    assert_eq!(b.value("nope-c").await, None);
    store
        .create_configuration(&ns("a"), &cfg("b-c"), Default::default(), &change())
        .await
        .unwrap();
    let again = store
        .create_configuration(&ns("a"), &cfg("b-c"), object(json!({"x": 1})), &change())
        .await;
    assert!(matches!(again, Err(Error::AlreadyExists(_))), "{again:?}");
    assert_eq!(b.value("a-b-c").await.as_deref(), Some("{}"));
}

async fn stale_revision_is_a_conflict_carrying_the_current_value(b: Backend) {
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    store
        .create_configuration(&n, &c, object(json!({"a": 1, "b": 1})), &change())
        .await
        .unwrap();
    let loaded = store.get_configuration(&n, &c).await.unwrap();
    let theirs = store
        .set_field(&n, &c, "a", json!(2), Some(loaded.revision), &change())
        .await
        .unwrap();
    let mine = store
        .set_field(&n, &c, "b", json!(3), Some(loaded.revision), &change())
        .await;
    match mine {
        Err(Error::Conflict {
            current_revision,
            current,
            ..
        }) => {
            assert_eq!(current_revision, theirs.revision);
            assert_eq!(current.as_deref(), Some(&json!({"a": 2, "b": 1})));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let now = store.get_configuration(&n, &c).await.unwrap();
    assert_eq!(
        serde_json::Value::Object(now.fields),
        json!({"a": 2, "b": 1})
    );
    let replace = store
        .replace_configuration(&n, &c, object(json!({})), Some(loaded.revision), &change())
        .await;
    assert!(
        matches!(replace, Err(Error::Conflict { .. })),
        "{replace:?}"
    );
    let delete = store
        .delete_configuration(&n, &c, Some(loaded.revision), &change())
        .await;
    assert!(matches!(delete, Err(Error::Conflict { .. })), "{delete:?}");
    assert!(b.value("n-c").await.is_some());
}

async fn field_operations(b: Backend) {
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    store
        .create_configuration(&n, &c, object(json!({"host": "h", "port": 1})), &change())
        .await
        .unwrap();
    store
        .set_field(
            &n,
            &c,
            "list",
            json!([1, "two", {"three": 3}]),
            None,
            &change(),
        )
        .await
        .unwrap();
    store
        .rename_field(&n, &c, "host", "hostname", None, &change())
        .await
        .unwrap();
    store
        .delete_field(&n, &c, "port", None, &change())
        .await
        .unwrap();
    let fields = store.get_configuration(&n, &c).await.unwrap().fields;
    assert_eq!(
        serde_json::Value::Object(fields),
        json!({"hostname": "h", "list": [1, "two", {"three": 3}]})
    );
    let clash = store
        .rename_field(&n, &c, "hostname", "list", None, &change())
        .await;
    assert!(matches!(clash, Err(Error::AlreadyExists(_))), "{clash:?}");
    let gone = store.delete_field(&n, &c, "port", None, &change()).await;
    assert!(matches!(gone, Err(Error::NotFound(_))), "{gone:?}");
    let missing = store
        .set_field(&n, &cfg("absent"), "x", json!(1), None, &change())
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");

    // Setting a field to the value it has writes nothing and records nothing.
    let before = store
        .audit(&AuditQuery::default())
        .await
        .unwrap()
        .entries
        .len();
    let rev = store.get_configuration(&n, &c).await.unwrap().revision;
    let same = store
        .set_field(&n, &c, "hostname", json!("h"), None, &change())
        .await
        .unwrap();
    assert_eq!(same.revision, rev);
    assert_eq!(
        store
            .audit(&AuditQuery::default())
            .await
            .unwrap()
            .entries
            .len(),
        before
    );
}

async fn bad_field_names_are_refused(b: Backend) {
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    store
        .create_configuration(&n, &c, object(json!({"a": 1})), &change())
        .await
        .unwrap();
    let long = "x".repeat(257);
    for bad in ["", "line\nbreak", "tab\there", long.as_str()] {
        let set = store
            .set_field(&n, &c, bad, json!(1), None, &change())
            .await;
        assert!(
            matches!(set, Err(Error::InvalidValue(_))),
            "{bad:?}: {set:?}"
        );
        let rename = store.rename_field(&n, &c, "a", bad, None, &change()).await;
        assert!(
            matches!(rename, Err(Error::InvalidValue(_))),
            "{bad:?}: {rename:?}"
        );
    }
    let create = store
        .create_configuration(&n, &cfg("d"), object(json!({"": 1})), &change())
        .await;
    assert!(matches!(create, Err(Error::InvalidValue(_))), "{create:?}");
    assert_eq!(b.value("n-d").await, None);
    assert_eq!(b.value("n-c").await.as_deref(), Some(r#"{"a":1}"#));
}

async fn non_object_configuration_is_reported_with_its_key(b: Backend) {
    let store = with_namespace(&b, "n").await;
    for (raw, name) in [
        ("[1,2]", "list"),
        ("", "empty"),
        ("{oops", "broken"),
        ("42", "number"),
    ] {
        b.put(&format!("n-{name}"), raw).await;
        match store.get_configuration(&ns("n"), &cfg(name)).await {
            Err(Error::Corrupt { key, .. }) => assert_eq!(key, b.key(&format!("n-{name}"))),
            other => panic!("{raw:?}: expected a corrupt-value error, got {other:?}"),
        }
        let set = store
            .set_field(&ns("n"), &cfg(name), "a", json!(1), None, &change())
            .await;
        assert!(matches!(set, Err(Error::Corrupt { .. })), "{set:?}");
        assert_eq!(b.value(&format!("n-{name}")).await.as_deref(), Some(raw));
    }
}

/// The original Confo's `persist` writes `<ns>-<config>` without listing it in `<ns>`.
async fn unregistered_configurations_are_found_and_registered(b: Backend) {
    b.put("confo", r#"{"namespaces":["HR_dept","HR-legacy"]}"#)
        .await;
    b.put("HR_dept", r#"{"configurations":["database"]}"#).await;
    b.put("HR_dept-database", r#"{"host":"127.0.0.1"}"#).await;
    b.put("HR_dept-mail", r#"{"smtp":"mx"}"#).await;
    b.put("HR_dept-cache-v2", r#"{}"#).await;
    // A legacy namespace with a dash, and its configuration: not HR_dept's.
    b.put("HR-legacy", r#"{"configurations":["x"]}"#).await;
    b.put("HR-legacy-x", r#"{}"#).await;
    let store = b.store();
    let listing = store.list_configurations(&ns("HR_dept")).await.unwrap();
    assert_eq!(listing.registered, ["database"]);
    assert_eq!(listing.unregistered, ["cache-v2", "mail"]);
    let registered = store
        .register_configurations(&ns("HR_dept"), &change())
        .await
        .unwrap();
    assert_eq!(registered, ["cache-v2", "mail"]);
    assert_eq!(
        b.value("HR_dept").await.as_deref(),
        Some(r#"{"configurations":["database","cache-v2","mail"]}"#)
    );
    let listing = store.list_configurations(&ns("HR_dept")).await.unwrap();
    assert!(listing.unregistered.is_empty());
    assert_eq!(
        store.list_namespaces().await.unwrap(),
        ["HR_dept", "HR-legacy"]
    );
}

async fn deleting_configurations_and_namespaces(b: Backend) {
    let store = with_namespace(&b, "n").await;
    let n = ns("n");
    for name in ["a", "b"] {
        store
            .create_configuration(&n, &cfg(name), object(json!({"v": name})), &change())
            .await
            .unwrap();
    }
    store
        .delete_configuration(&n, &cfg("a"), None, &change())
        .await
        .unwrap();
    assert_eq!(b.value("n-a").await, None);
    assert_eq!(
        b.value("n").await.as_deref(),
        Some(r#"{"configurations":["b"]}"#)
    );

    let refused = store.delete_namespace(&n, false, &change()).await;
    assert!(
        matches!(refused, Err(Error::NotEmpty { count: 1, .. })),
        "{refused:?}"
    );
    assert!(b.value("n-b").await.is_some());

    store.delete_namespace(&n, true, &change()).await.unwrap();
    assert_eq!(b.value("n-b").await, None);
    assert_eq!(b.value("n").await, None);
    assert_eq!(
        b.value("confo").await.as_deref(),
        Some(r#"{"namespaces":[]}"#)
    );
    let again = store.delete_namespace(&n, true, &change()).await;
    assert!(matches!(again, Err(Error::NotFound(_))), "{again:?}");
    // The namespace, a, b, delete a, then b and the namespace in one transaction.
    let actions: Vec<Action> = store
        .audit(&AuditQuery::default())
        .await
        .unwrap()
        .entries
        .iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            Action::NamespaceDelete,
            Action::ConfigurationDelete,
            Action::ConfigurationDelete,
            Action::ConfigurationCreate,
            Action::ConfigurationCreate,
            Action::NamespaceCreate,
        ]
    );
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 6 }
    );
}

async fn oversized_configuration_is_refused_and_nothing_written(b: Backend) {
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    store
        .create_configuration(&n, &c, object(json!({"small": 1})), &change())
        .await
        .unwrap();
    let big = "x".repeat(MAX_REQUEST_BYTES);
    let set = store
        .set_field(&n, &c, "big", json!(big), None, &change())
        .await;
    assert!(matches!(set, Err(Error::TooLarge { .. })), "{set:?}");
    let create = store
        .create_configuration(&n, &cfg("huge"), object(json!({"big": big})), &change())
        .await;
    assert!(matches!(create, Err(Error::TooLarge { .. })), "{create:?}");
    assert_eq!(b.value("n-c").await.as_deref(), Some(r#"{"small":1}"#));
    assert_eq!(b.value("n-huge").await, None);
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 2 }
    );

    // A large configuration can still take a small change: the audit entry holds a patch.
    let third = "y".repeat(MAX_REQUEST_BYTES / 3);
    store
        .set_field(&n, &c, "third", json!(third), None, &change())
        .await
        .unwrap();
    store
        .set_field(&n, &c, "small", json!(2), None, &change())
        .await
        .unwrap();
}

async fn every_change_has_one_chained_audit_entry(b: Backend) {
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    store
        .create_configuration(&n, &c, object(json!({"a": 1})), &change())
        .await
        .unwrap();
    let commented = Change::by(Actor::user("ada")).with_comment("raise the limit");
    store
        .set_field(&n, &c, "a", json!(2), None, &commented)
        .await
        .unwrap();
    let page = store.audit(&AuditQuery::default()).await.unwrap();
    let actions: Vec<Action> = page.entries.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            Action::FieldSet,
            Action::ConfigurationCreate,
            Action::NamespaceCreate
        ]
    );
    let newest = &page.entries[0];
    assert_eq!(newest.actor, Actor::user("ada"));
    assert_eq!(newest.comment.as_deref(), Some("raise the limit"));
    assert_eq!(newest.field.as_deref(), Some("a"));
    assert_eq!(
        (newest.namespace.as_deref(), newest.configuration.as_deref()),
        (Some("n"), Some("c"))
    );
    assert_eq!(newest.prev_hash, page.entries[1].hash);
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 3 }
    );
    // Audit records sit under the reserved prefix, never among configuration keys.
    for kv in b.kv.list_prefix(&b.prefix).await.unwrap() {
        let rest = kv.key.strip_prefix(&b.prefix).unwrap();
        assert!(
            ["confo", "n", "n-c"].contains(&rest) || rest.starts_with("__confo/"),
            "unexpected key {rest}"
        );
    }
}

async fn verification_resumes_from_a_checkpoint(b: Backend) {
    let store = with_namespace(&b, "n").await;
    create_empty(&store, "n", "c", 2).await;
    // Entries: the namespace and two configurations.
    let (whole, checkpoint) = store.verify_audit_after(None).await.unwrap();
    assert_eq!(whole, Verification::Intact { entries: 3 });
    assert_eq!(checkpoint.seq, 3);
    create_empty(&store, "n", "d", 2).await;
    let (since, newer) = store.verify_audit_after(Some(&checkpoint)).await.unwrap();
    assert_eq!(
        since,
        Verification::Intact { entries: 2 },
        "only the new entries are walked"
    );
    assert_eq!(newer.seq, 5);

    // A change to the checkpoint's own entry is found.
    tamper_with_audit_entry(&b, &store, checkpoint.seq).await;
    let (found, _) = store.verify_audit_after(Some(&checkpoint)).await.unwrap();
    assert!(
        matches!(found, Verification::Broken { seq: 3, .. }),
        "{found:?}"
    );
    // Entries before a checkpoint are trusted: a walk from a later checkpoint does not read them.
    tamper_with_audit_entry(&b, &store, 4).await;
    let (found, _) = store.verify_audit_after(Some(&newer)).await.unwrap();
    assert_eq!(found, Verification::Intact { entries: 0 });
    // A full walk (the dashboard makes one every few minutes) finds the first.
    assert!(matches!(
        store.verify_audit().await.unwrap(),
        Verification::Broken { seq: 3, .. }
    ));
}

/// Rewrites audit entry `seq` behind the store's back, as someone with write access to etcd could.
async fn tamper_with_audit_entry(b: &Backend, store: &Store, seq: u64) {
    let key = store.layout().audit_entry(seq);
    let mut entry: serde_json::Value =
        serde_json::from_slice(&b.kv.get(&key).await.unwrap().unwrap().value).unwrap();
    entry["actor"]["name"] = json!("mallory");
    b.kv.txn(
        vec![],
        vec![Op::Put {
            key,
            value: entry.to_string().into_bytes(),
        }],
    )
    .await
    .unwrap();
}

async fn tampering_breaks_the_chain_where_it_happened(b: Backend) {
    let store = with_namespace(&b, "n").await;
    create_empty(&store, "n", "c", 4).await;
    let key = store.layout().audit_entry(3);
    tamper_with_audit_entry(&b, &store, 3).await;
    match store.verify_audit().await.unwrap() {
        Verification::Broken { seq, .. } => assert_eq!(seq, 3),
        other => panic!("tampering not found: {other:?}"),
    }
    b.kv.txn(vec![], vec![Op::Delete { key }]).await.unwrap();
    match store.verify_audit().await.unwrap() {
        Verification::Broken { seq, reason } => assert_eq!(seq, 3, "{reason}"),
        other => panic!("a removed entry was not found: {other:?}"),
    }
}

async fn history_diff_and_revert(b: Backend) {
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    let v1 = store
        .create_configuration(&n, &c, object(json!({"a": 1, "b": "x"})), &change())
        .await
        .unwrap();
    // A change elsewhere in between: versions are audit numbers, not consecutive per configuration.
    let elsewhere = store
        .create_configuration(&n, &cfg("other"), object(json!({})), &change())
        .await
        .unwrap();
    let v2 = store
        .set_field(&n, &c, "a", json!(2), None, &change())
        .await
        .unwrap();
    let v3 = store
        .rename_field(&n, &c, "b", "bee", None, &change())
        .await
        .unwrap();
    let history = store.history(&n, &c).await.unwrap();
    let seqs: Vec<u64> = history.iter().map(|v| v.seq).collect();
    assert_eq!(seqs, [v3.seq, v2.seq, v1.seq]);
    assert_eq!(
        store
            .configuration_at(&n, &c, v1.seq)
            .await
            .unwrap()
            .map(serde_json::Value::Object),
        Some(json!({"a": 1, "b": "x"}))
    );
    assert_eq!(
        store
            .configuration_at(&n, &c, v2.seq)
            .await
            .unwrap()
            .map(serde_json::Value::Object),
        Some(json!({"a": 2, "b": "x"}))
    );
    assert_eq!(v2.seq - 1, elsewhere.seq);
    assert_eq!(store.previous_version(&n, &c, v2.seq).await, Ok(v1.seq));
    assert_eq!(store.previous_version(&n, &c, v1.seq).await, Ok(0));
    let not_ours = store.previous_version(&n, &c, elsewhere.seq).await;
    assert!(
        matches!(&not_ours, Err(Error::NotFound(m)) if m == &format!("version {} of configuration \"c\" in namespace \"n\"", elsewhere.seq)),
        "{not_ours:?}"
    );
    let diff = store.diff_versions(&n, &c, v1.seq, v3.seq).await.unwrap();
    let summary: Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)> = diff
        .into_iter()
        .map(|d| (d.field, d.before, d.after))
        .collect();
    assert_eq!(
        summary,
        [
            ("a".to_owned(), Some(json!(1)), Some(json!(2))),
            ("b".to_owned(), Some(json!("x")), None),
            ("bee".to_owned(), None, Some(json!("x"))),
        ]
    );
    let stale = store
        .revert(&n, &c, v1.seq, Some(v2.revision), &change())
        .await;
    assert!(matches!(stale, Err(Error::Conflict { .. })), "{stale:?}");
    let reverted = store
        .revert(&n, &c, v1.seq, Some(v3.revision), &change())
        .await
        .unwrap();
    let now = store.get_configuration(&n, &c).await.unwrap();
    assert_eq!(
        serde_json::Value::Object(now.fields),
        json!({"a": 1, "b": "x"})
    );
    let newest = store.audit_entry(reverted.seq).await.unwrap();
    assert_eq!(newest.action, Action::ConfigurationRevert);
    assert_eq!(
        newest.comment,
        Some(format!("revert to version {}", v1.seq))
    );
    assert_eq!(store.history(&n, &c).await.unwrap().len(), 4);
    // History survives deletion: the last version is still there to look at.
    store
        .delete_configuration(&n, &c, None, &change())
        .await
        .unwrap();
    assert_eq!(
        store
            .configuration_at(&n, &c, reverted.seq)
            .await
            .unwrap()
            .map(serde_json::Value::Object),
        Some(json!({"a": 1, "b": "x"}))
    );
}

async fn fields_of(
    store: &Store,
    n: &NamespaceName,
    c: &confo::ConfigurationName,
) -> serde_json::Value {
    serde_json::Value::Object(store.get_configuration(n, c).await.unwrap().fields)
}

async fn one_change_is_taken_back_alone_unless_a_later_change_touched_it(b: Backend) {
    use confo::edit::Edit;
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    let created = store
        .create_configuration(
            &n,
            &c,
            object(json!({"a": 1, "b": "x", "list": [10, 20, 30], "gone": true})),
            &change(),
        )
        .await
        .unwrap();
    let set = |path: &str, value: serde_json::Value| {
        vec![Edit::Set {
            path: path.to_owned(),
            value,
        }]
    };
    let a = store
        .apply_edits(&n, &c, set("/a", json!(2)), None, &change())
        .await
        .unwrap();
    let b_change = store
        .apply_edits(&n, &c, set("/b", json!("y")), None, &change())
        .await
        .unwrap();
    let added = store
        .apply_edits(&n, &c, set("/new", json!({"k": 1})), None, &change())
        .await
        .unwrap();
    let removed = store
        .delete_field(&n, &c, "gone", None, &change())
        .await
        .unwrap();

    // Taking back the first change restores its place only: the later change to b stays.
    let undo_a = store
        .revert_change(&n, &c, a.seq, None, &change())
        .await
        .unwrap();
    assert_eq!(
        fields_of(&store, &n, &c).await,
        json!({"a": 1, "b": "y", "list": [10, 20, 30], "new": {"k": 1}})
    );
    let entry = store.audit_entry(undo_a.seq).await.unwrap();
    assert_eq!(entry.action, Action::ChangeRevert);
    assert_eq!(entry.field.as_deref(), Some("a"));
    assert_eq!(entry.comment, Some(format!("take back version {}", a.seq)));
    // An added field is removed, a removed one comes back.
    store
        .revert_change(&n, &c, added.seq, None, &change())
        .await
        .unwrap();
    store
        .revert_change(&n, &c, removed.seq, None, &change())
        .await
        .unwrap();
    assert_eq!(
        fields_of(&store, &n, &c).await,
        json!({"a": 1, "b": "y", "list": [10, 20, 30], "gone": true})
    );

    // A later change to the same place stands in the way, named; nothing is written.
    let b_again = store
        .apply_edits(&n, &c, set("/b", json!("z")), None, &change())
        .await
        .unwrap();
    let refused = store
        .revert_change(&n, &c, b_change.seq, None, &change())
        .await;
    match &refused {
        Err(Error::ChangedSince { change: seq, later }) => {
            assert_eq!(*seq, b_change.seq);
            let named: Vec<(u64, Vec<String>)> =
                later.iter().map(|l| (l.seq, l.places.clone())).collect();
            assert_eq!(named, [(b_again.seq, vec!["b".to_owned()])]);
            assert_eq!(later[0].who, change().actor.name);
        }
        other => panic!("expected ChangedSince, got {other:?}"),
    }
    let revision = store.get_configuration(&n, &c).await.unwrap().revision;
    assert_eq!(revision, b_again.revision, "a refused revert wrote");
    // An item added after the one it changed does not; one removed before it (which moves it)
    // does.
    let item = store
        .apply_edits(&n, &c, set("/list/2", json!(31)), None, &change())
        .await
        .unwrap();
    let append = vec![Edit::Insert {
        path: "/list/-".into(),
        value: json!(40),
    }];
    store
        .apply_edits(&n, &c, append, None, &change())
        .await
        .unwrap();
    store
        .revert_change(&n, &c, item.seq, None, &change())
        .await
        .unwrap();
    assert_eq!(
        fields_of(&store, &n, &c).await["list"],
        json!([10, 20, 30, 40])
    );
    let item = store
        .apply_edits(&n, &c, set("/list/2", json!(32)), None, &change())
        .await
        .unwrap();
    store
        .apply_edits(
            &n,
            &c,
            vec![Edit::Remove {
                path: "/list/0".into(),
            }],
            None,
            &change(),
        )
        .await
        .unwrap();
    let moved = store.revert_change(&n, &c, item.seq, None, &change()).await;
    assert!(
        matches!(&moved, Err(Error::ChangedSince { later, .. }) if later.len() == 1),
        "{moved:?}"
    );
    // A stale page's revision is a conflict like any change's.
    let stale = store
        .revert_change(&n, &c, b_again.seq, Some(b_again.revision), &change())
        .await;
    assert!(matches!(stale, Err(Error::Conflict { .. })), "{stale:?}");
    // Only a change to the fields can be taken back alone; and only one of this configuration.
    let create = store
        .revert_change(&n, &c, created.seq, None, &change())
        .await;
    assert!(matches!(create, Err(Error::InvalidValue(_))), "{create:?}");
    let unknown = store
        .revert_change(&n, &c, created.seq + 1000, None, &change())
        .await;
    assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
    assert_eq!(
        fields_of(&store, &n, &c).await,
        json!({"a": 1, "b": "z", "list": [20, 32, 40], "gone": true})
    );
}

async fn audit_queries_filter_and_paginate(b: Backend) {
    let store = with_namespace(&b, "n").await;
    store
        .create_namespace(&ns("m"), &Change::by(Actor::user("bob")))
        .await
        .unwrap();
    create_empty(&store, "n", "c", 5).await;
    let by_bob = AuditQuery {
        actor: Some("bob".into()),
        ..Default::default()
    };
    let page = store.audit(&by_bob).await.unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].namespace.as_deref(), Some("m"));

    let creates = AuditQuery {
        namespace: Some("n".into()),
        action: Some(Action::ConfigurationCreate),
        limit: Some(2),
        ..Default::default()
    };
    let mut names = Vec::new();
    let mut query = creates.clone();
    loop {
        let page = store.audit(&query).await.unwrap();
        assert!(page.entries.len() <= 2);
        names.extend(
            page.entries
                .iter()
                .map(|e| e.configuration.clone().unwrap()),
        );
        match page.next_before_seq {
            Some(seq) => query.before_seq = Some(seq),
            None => break,
        }
    }
    assert_eq!(names, ["c4", "c3", "c2", "c1", "c0"]);

    let one = AuditQuery {
        configuration: Some("c2".into()),
        ..Default::default()
    };
    assert_eq!(store.audit(&one).await.unwrap().entries.len(), 1);
    let future = AuditQuery {
        since: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
        ..Default::default()
    };
    assert!(store.audit(&future).await.unwrap().entries.is_empty());
    let past = AuditQuery {
        until: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
        ..Default::default()
    };
    assert!(store.audit(&past).await.unwrap().entries.is_empty());

    // However few entries match, a query can stop after looking at a bounded number and say
    // where to go on from; going on finds what lies further back.
    let mut bounded = AuditQuery {
        actor: Some("bob".into()),
        scan_limit: Some(3),
        ..Default::default()
    };
    let mut found = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.audit(&bounded).await.unwrap();
        assert!(page.scanned <= 3, "{}", page.scanned);
        pages += 1;
        found.extend(page.entries);
        match page.next_before_seq {
            Some(seq) => bounded.before_seq = Some(seq),
            None => break,
        }
    }
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].namespace.as_deref(), Some("m"));
    assert!(pages >= 2, "{pages}");
}

/// 16 writers increment one counter 200 times each, every write compared on the revision read:
/// no increment is lost, each success has exactly one audit entry, and the chain verifies.
async fn concurrent_counter_loses_no_update(b: Backend) {
    const WRITERS: usize = 16;
    const EDITS: usize = 200;
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("counter"));
    store
        .create_configuration(&n, &c, object(json!({"count": 0})), &change())
        .await
        .unwrap();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, n, c) = (store.clone(), n.clone(), c.clone());
            tokio::spawn(async move {
                let who = Change::by(Actor::user(format!("writer{w}")));
                let mut conflicts = 0;
                for _ in 0..EDITS {
                    loop {
                        let read = store.get_configuration(&n, &c).await.unwrap();
                        let count = read.fields["count"].as_u64().unwrap();
                        match store
                            .set_field(&n, &c, "count", json!(count + 1), Some(read.revision), &who)
                            .await
                        {
                            Ok(_) => break,
                            Err(Error::Conflict { .. }) => conflicts += 1,
                            Err(e) => panic!("writer {w}: {e}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    let mut conflicts = 0;
    for writer in writers {
        conflicts += writer.await.unwrap();
    }
    let count = store.get_configuration(&n, &c).await.unwrap().fields["count"].clone();
    assert_eq!(count, json!(WRITERS * EDITS), "after {conflicts} conflicts");
    let history = store.history(&n, &c).await.unwrap();
    assert_eq!(history.len(), WRITERS * EDITS + 1);
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact {
            entries: (WRITERS * EDITS + 2) as u64
        }
    );
}

/// 64 creators add 20 configurations each to one namespace at once: every one is listed.
async fn many_creators_in_one_namespace_are_all_listed(b: Backend) {
    const CREATORS: usize = 64;
    const EACH: usize = 20;
    let store = with_namespace(&b, "n").await;
    let creators: Vec<_> = (0..CREATORS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    store
                        .create_configuration(
                            &ns("n"),
                            &cfg(&format!("c{w}x{i}")),
                            Default::default(),
                            &change(),
                        )
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for creator in creators {
        creator.await.unwrap();
    }
    let listing = store.list_configurations(&ns("n")).await.unwrap();
    assert_eq!(listing.registered.len(), CREATORS * EACH);
    assert!(listing.unregistered.is_empty());
    let mut sorted = listing.registered.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), CREATORS * EACH);
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact {
            entries: (CREATORS * EACH + 1) as u64
        }
    );
}

async fn watch_reports_changes_in_order_with_their_author(b: Backend) {
    let store = b.store();
    store.ensure_root().await.unwrap();
    let mut events = store.watch().await.unwrap();
    store.create_namespace(&ns("n"), &change()).await.unwrap();
    store
        .create_configuration(&ns("n"), &cfg("c"), object(json!({"a": 1})), &change())
        .await
        .unwrap();
    // Written by another tool, as `etcdctl put n-c '{"a":2}'` would.
    b.put("n-c", r#"{"a":2}"#).await;

    let mut revisions = Vec::new();
    let mut seen = Vec::new();
    for _ in 0..3 {
        match next_event(&mut events).await {
            WatchEvent::Changed {
                revision,
                targets,
                actor,
            } => {
                revisions.push(revision);
                seen.push((targets, actor));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(revisions.windows(2).all(|w| w[0] < w[1]), "{revisions:?}");
    let tester = Some(Actor::user("tester"));
    let c = Target::Configuration {
        namespace: "n".into(),
        configuration: "c".into(),
    };
    assert_eq!(
        seen[0],
        (
            vec![Target::Namespaces, Target::Namespace("n".into())],
            tester.clone()
        )
    );
    assert!(seen[1].0.contains(&c) && seen[1].0.contains(&Target::Namespace("n".into())));
    assert_eq!(seen[1].1, tester);
    assert_eq!(seen[2], (vec![c], None));
}

/// A key of a namespace whose name has a dash (listed by another tool) is announced as that
/// namespace's, never as a shorter namespace's with a longer configuration name.
async fn watch_names_the_namespace_that_owns_a_key(b: Backend) {
    let store = b.store();
    b.put("confo", r#"{"namespaces":["a-b"]}"#).await;
    b.put("a-b", r#"{"configurations":["c"]}"#).await;
    let mut events = store.watch().await.unwrap();
    b.put("a-b-c", r#"{"x":1}"#).await;
    let WatchEvent::Changed { targets, .. } = next_event(&mut events).await else {
        panic!("expected a change")
    };
    assert_eq!(
        targets,
        vec![Target::Configuration {
            namespace: "a-b".into(),
            configuration: "c".into(),
        }]
    );
    // Once `a` is listed as well, the key belongs to both, and both are told.
    b.put("confo", r#"{"namespaces":["a-b","a"]}"#).await;
    next_event(&mut events).await;
    b.put("a-b-c", r#"{"x":2}"#).await;
    let WatchEvent::Changed { targets, .. } = next_event(&mut events).await else {
        panic!("expected a change")
    };
    assert_eq!(targets.len(), 2, "{targets:?}");
    assert!(targets.contains(&Target::Configuration {
        namespace: "a".into(),
        configuration: "b-c".into(),
    }));
}

/// Changes to accounts and sessions are reported too (by name, never by value), so that a
/// server holding a user's live page open hears at once when that user's access changes.
async fn watch_reports_user_profiles_and_sessions(b: Backend) {
    let store = b.store();
    store.ensure_root().await.unwrap();
    let mut events = store.watch().await.unwrap();
    let hash = confo::users::PasswordHash::from_stored("not a real hash".into());
    store
        .create_user(
            &profile("vera", confo::users::Role::Viewer),
            &hash,
            &change(),
        )
        .await
        .unwrap();
    store
        .set_user_disabled("vera", true, &change())
        .await
        .unwrap();
    let session = store.layout().session("0123abcd");
    b.kv.txn(
        vec![],
        vec![Op::Put {
            key: session.clone(),
            value: b"{}".to_vec(),
        }],
    )
    .await
    .unwrap();
    b.kv.txn(vec![], vec![Op::Delete { key: session }])
        .await
        .unwrap();
    let user = Target::User("vera".into());
    let session = Target::Session("0123abcd".into());
    let mut seen = Vec::new();
    for _ in 0..4 {
        match next_event(&mut events).await {
            WatchEvent::Changed { targets, .. } => seen.push(targets),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            vec![user.clone()],
            vec![user],
            vec![session.clone()],
            vec![session]
        ]
    );
}

#[derive(Debug, serde::Deserialize, PartialEq)]
struct Database {
    host: String,
    port: u16,
}

async fn client_reads_writes_and_deserialises(b: Backend) {
    let store = with_namespace(&b, "svc").await;
    let mut confo = Confo::from_store(store, Actor::token("billing"));
    assert!(confo.get("database").is_err(), "no namespace chosen yet");
    confo.use_namespace("svc").await.unwrap();
    assert_eq!(confo.count(), 0);
    confo.set("database", "host", "db.internal").unwrap();
    confo.set("database", "port", 5432).unwrap();
    assert_eq!(confo.persist().await.unwrap(), Persisted::Written);
    assert_eq!(
        b.value("svc-database").await.as_deref(),
        Some(r#"{"host":"db.internal","port":5432}"#)
    );
    confo.reload().await.unwrap();
    assert_eq!(confo.count(), 1);
    assert_eq!(
        confo.get_as::<Database>("database").unwrap(),
        Database {
            host: "db.internal".into(),
            port: 5432
        }
    );
    assert_eq!(confo.get_field("database", "port").unwrap(), &json!(5432));
    assert!(matches!(
        confo.get_field("database", "user"),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(confo.get("cache"), Err(Error::NotFound(_))));
    confo.set("database", "port", "not a number").unwrap();
    assert!(matches!(
        confo.get_as::<Database>("database"),
        Err(Error::InvalidValue(_))
    ));
    assert!(matches!(
        confo.set("bad name", "a", 1),
        Err(Error::InvalidName { .. })
    ));
    confo.discard_changes().await.unwrap();
    assert_eq!(confo.get_field("database", "port").unwrap(), &json!(5432));
    assert!(matches!(
        confo.use_namespace("nope").await,
        Err(Error::NotFound(_))
    ));
    let audit = b.store().audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(audit.entries[0].actor, Actor::token("billing"));
}

async fn client_never_loses_unsaved_changes(b: Backend) {
    let store = with_namespace(&b, "one").await;
    store.create_namespace(&ns("two"), &change()).await.unwrap();
    let mut confo = Confo::from_store(store, Actor::token("svc"));
    confo.use_namespace("one").await.unwrap();
    confo.set("app", "debug", true).unwrap();
    assert!(matches!(
        confo.use_namespace("two").await,
        Err(Error::InvalidValue(_))
    ));
    assert!(matches!(confo.reload().await, Err(Error::InvalidValue(_))));
    assert_eq!(confo.get_field("app", "debug").unwrap(), &json!(true));
    assert_eq!(confo.persist().await.unwrap(), Persisted::Written);
    confo.use_namespace("two").await.unwrap();
    assert_eq!(confo.count(), 0);
}

async fn client_persist_reports_a_conflict_and_keeps_local_changes(b: Backend) {
    let store = with_namespace(&b, "n").await;
    store
        .create_configuration(&ns("n"), &cfg("c"), object(json!({"a": 1})), &change())
        .await
        .unwrap();
    let mut first = Confo::from_store(store.clone(), Actor::token("first"));
    let mut second = Confo::from_store(store, Actor::token("second"));
    first.use_namespace("n").await.unwrap();
    second.use_namespace("n").await.unwrap();
    first.set("c", "a", 2).unwrap();
    assert_eq!(first.persist().await.unwrap(), Persisted::Written);
    second.set("c", "b", 3).unwrap();
    let conflict = second.persist().await;
    assert!(
        matches!(conflict, Err(Error::Conflict { .. })),
        "{conflict:?}"
    );
    assert_eq!(b.value("n-c").await.as_deref(), Some(r#"{"a":2}"#));
    assert_eq!(second.get_field("c", "b").unwrap(), &json!(3));
    second.discard_changes().await.unwrap();
    assert_eq!(second.get_field("c", "a").unwrap(), &json!(2));
}

async fn archiving_moves_old_entries_and_keeps_the_chain(b: Backend) {
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    store
        .create_configuration(&n, &c, object(json!({"v": 1})), &change())
        .await
        .unwrap();
    let archive = tempfile::tempdir().unwrap();
    let future = chrono::Utc::now() + chrono::Duration::hours(1);

    let report = store.archive_audit(future, archive.path()).await.unwrap();
    assert_eq!((report.archived, report.last_seq), (2, Some(2)));
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 0 }
    );
    assert!(
        store
            .audit(&AuditQuery::default())
            .await
            .unwrap()
            .entries
            .is_empty()
    );

    let third = store
        .set_field(&n, &c, "v", json!(2), None, &change())
        .await
        .unwrap();
    store
        .set_field(&n, &c, "v", json!(3), None, &change())
        .await
        .unwrap();
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 2 }
    );
    assert_eq!(
        store.verify_archive(archive.path()).await.unwrap(),
        Verification::Intact { entries: 2 }
    );
    // Versions still in the store can be rebuilt; archived ones are no longer listed.
    assert_eq!(store.history(&n, &c).await.unwrap().len(), 2);
    assert_eq!(
        store
            .configuration_at(&n, &c, third.seq)
            .await
            .unwrap()
            .map(serde_json::Value::Object),
        Some(json!({"v": 2}))
    );

    let cutoff = store.audit_entry(third.seq).await.unwrap().time;
    assert_eq!(
        store
            .archive_audit(cutoff, archive.path())
            .await
            .unwrap()
            .archived,
        0
    );
    assert_eq!(
        store
            .archive_audit(future, archive.path())
            .await
            .unwrap()
            .archived,
        2
    );
    assert_eq!(
        store.verify_archive(archive.path()).await.unwrap(),
        Verification::Intact { entries: 4 }
    );
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 0 }
    );

    // An edited archive line is found.
    let file = archive.path().join(confo::store::ARCHIVE_FILE);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"v\"", "\"w\"");
    std::fs::write(&file, text).unwrap();
    assert!(matches!(
        store.verify_archive(archive.path()).await.unwrap(),
        Verification::Broken { .. }
    ));
}

async fn users_are_stored_apart_from_their_password_hashes(b: Backend) {
    use confo::users::{Grants, Role, User, hash_password, verify_password};
    let store = b.store();
    let ada = User {
        name: "ada".into(),
        role: Role::Admin,
        grants: Grants::All,
        disabled: false,
        created: chrono::Utc::now(),
    };
    let hash = hash_password("correct horse battery staple".into())
        .await
        .unwrap();
    store.create_user(&ada, &hash, &change()).await.unwrap();
    let again = store.create_user(&ada, &hash, &change()).await;
    assert!(matches!(again, Err(Error::AlreadyExists(_))), "{again:?}");

    let (read, stored_hash) = store.get_user("ada").await.unwrap().unwrap();
    assert_eq!(read, ada);
    assert_eq!(
        verify_password("correct horse battery staple".into(), stored_hash).await,
        Ok(true)
    );
    assert_eq!(store.list_users().await.unwrap(), [ada]);
    assert_eq!(store.get_user("nobody").await.unwrap(), None);
    assert_eq!(store.get_user("../etc").await.unwrap(), None);
    let profile = b.value("__confo/users/ada").await.unwrap();
    assert!(!profile.contains("argon2"), "{profile}");
    let entry = &store.audit(&AuditQuery::default()).await.unwrap().entries[0];
    assert_eq!(
        (entry.action, entry.user.as_deref()),
        (Action::UserCreate, Some("ada"))
    );
}

fn profile(name: &str, role: confo::users::Role) -> confo::users::User {
    confo::users::User {
        name: name.into(),
        role,
        grants: confo::users::Grants::All,
        disabled: false,
        created: chrono::Utc::now(),
    }
}

/// A hash made once: hashing is slow on purpose, and these tests need many.
async fn some_hash(password: &str) -> confo::users::PasswordHash {
    confo::users::hash_password(password.into()).await.unwrap()
}

async fn an_invitation_link_works_once_and_only_with_its_token(b: Backend) {
    use confo::users::{Grants, Invitation, InvitationKind, Role, verify_password};
    let store = b.store();
    let (invitation, token) = Invitation::new(
        "grace",
        InvitationKind::NewAccount,
        Role::Editor,
        Grants::Namespaces(vec!["shop".into()]),
        "ada",
        chrono::Duration::hours(72),
    );
    store
        .invite(&invitation, &Change::by(Actor::user("ada")))
        .await
        .unwrap();
    // Only a hash of the token is stored.
    let stored = b.value("__confo/invitations/grace").await.unwrap();
    assert!(!stored.contains(&token), "{stored}");
    assert_eq!(
        store.list_invitations().await.unwrap(),
        std::slice::from_ref(&invitation)
    );

    let hash = some_hash("a new password for grace").await;
    let wrong = store
        .accept_invitation("grace", &"0".repeat(64), &hash)
        .await;
    assert!(matches!(wrong, Err(Error::InvalidValue(_))), "{wrong:?}");
    assert_eq!(store.get_user("grace").await.unwrap(), None);

    let user = store
        .accept_invitation("grace", &token, &hash)
        .await
        .unwrap();
    assert_eq!(
        (user.role, user.grants.clone()),
        (Role::Editor, Grants::Namespaces(vec!["shop".into()]))
    );
    let (stored_user, stored_hash) = store.get_user("grace").await.unwrap().unwrap();
    assert_eq!(stored_user, user);
    assert_eq!(
        verify_password("a new password for grace".into(), stored_hash).await,
        Ok(true)
    );
    // Once only.
    let again = store.accept_invitation("grace", &token, &hash).await;
    assert!(matches!(again, Err(Error::InvalidValue(_))), "{again:?}");
    assert_eq!(store.invitation("grace").await.unwrap(), None);
    // An account that exists cannot be invited again.
    let (twice, _) = Invitation::new(
        "grace",
        InvitationKind::NewAccount,
        Role::Viewer,
        Grants::All,
        "ada",
        chrono::Duration::hours(1),
    );
    let refused = store.invite(&twice, &change()).await;
    assert!(
        matches!(refused, Err(Error::AlreadyExists(_))),
        "{refused:?}"
    );

    let actions: Vec<_> = store
        .audit(&AuditQuery {
            user: Some("grace".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .entries
        .iter()
        .map(|e| (e.action, e.actor.name.clone()))
        .collect();
    assert_eq!(
        actions,
        [
            (Action::UserAcceptInvitation, "grace".to_owned()),
            (Action::UserInvite, "ada".to_owned())
        ]
    );
}

async fn a_password_reset_link_replaces_the_password(b: Backend) {
    use confo::users::{Grants, Invitation, InvitationKind, Role, verify_password};
    let store = b.store();
    let old = some_hash("the old password of ada").await;
    store
        .create_user(&profile("ada", Role::Admin), &old, &change())
        .await
        .unwrap();
    let reset = |name: &str| {
        Invitation::new(
            name,
            InvitationKind::PasswordReset,
            Role::Viewer,
            Grants::All,
            "root",
            chrono::Duration::hours(1),
        )
    };
    let missing = store.invite(&reset("nobody").0, &change()).await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");

    let (first, first_token) = reset("ada");
    store.invite(&first, &change()).await.unwrap();
    let (second, second_token) = reset("ada");
    store.invite(&second, &change()).await.unwrap();
    let new = some_hash("the new password of ada").await;
    // A newer link replaces the older one.
    let stale = store.accept_invitation("ada", &first_token, &new).await;
    assert!(matches!(stale, Err(Error::InvalidValue(_))), "{stale:?}");
    let user = store
        .accept_invitation("ada", &second_token, &new)
        .await
        .unwrap();
    // The role is the account's own, not the link's.
    assert_eq!(user.role, Role::Admin);
    let (_, hash) = store.get_user("ada").await.unwrap().unwrap();
    assert_eq!(
        verify_password("the new password of ada".into(), hash.clone()).await,
        Ok(true)
    );
    assert_eq!(
        verify_password("the old password of ada".into(), hash).await,
        Ok(false)
    );

    // Changing one's own password is audited too.
    store
        .set_password("ada", &old, &Change::by(Actor::user("ada")))
        .await
        .unwrap();
    let newest = &store.audit(&AuditQuery::default()).await.unwrap().entries[0];
    assert_eq!(
        (newest.action, newest.user.as_deref()),
        (Action::UserChangePassword, Some("ada"))
    );
    let nobody = store.set_password("nobody", &old, &change()).await;
    assert!(matches!(nobody, Err(Error::NotFound(_))), "{nobody:?}");
}

async fn expired_links_are_refused_and_swept(b: Backend) {
    use confo::users::{Grants, Invitation, InvitationKind, Role};
    let store = b.store();
    let (expired, token) = Invitation::new(
        "late",
        InvitationKind::NewAccount,
        Role::Viewer,
        Grants::All,
        "ada",
        chrono::Duration::seconds(-1),
    );
    store.invite(&expired, &change()).await.unwrap();
    let (fresh, _) = Invitation::new(
        "early",
        InvitationKind::NewAccount,
        Role::Viewer,
        Grants::All,
        "ada",
        chrono::Duration::hours(1),
    );
    store.invite(&fresh, &change()).await.unwrap();
    let hash = some_hash("a password for late").await;
    let refused = store.accept_invitation("late", &token, &hash).await;
    match refused {
        Err(Error::InvalidValue(message)) => assert!(message.contains("expired"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.get_user("late").await.unwrap(), None);
    assert_eq!(store.sweep_expired_records().await.unwrap(), 1);
    assert_eq!(store.invitation("late").await.unwrap(), None);
    assert_eq!(store.invitation("early").await.unwrap(), Some(fresh));
}

async fn role_changes_are_audited_and_keep_an_administrator(b: Backend) {
    use confo::users::{Grants, Role};
    let store = b.store();
    let hash = some_hash("a password for everyone").await;
    store
        .create_user(&profile("ada", Role::Admin), &hash, &change())
        .await
        .unwrap();
    store
        .create_user(&profile("bob", Role::Viewer), &hash, &change())
        .await
        .unwrap();
    // The only administrator can neither be demoted nor disabled.
    let demoted = store
        .update_user("ada", Role::Editor, Grants::All, &change())
        .await;
    assert!(
        matches!(demoted, Err(Error::InvalidValue(_))),
        "{demoted:?}"
    );
    let disabled = store.set_user_disabled("ada", true, &change()).await;
    assert!(
        matches!(disabled, Err(Error::InvalidValue(_))),
        "{disabled:?}"
    );

    let by_ada = Change::by(Actor::user("ada")).with_comment("joins the shop team");
    store
        .update_user(
            "bob",
            Role::Editor,
            Grants::Namespaces(vec!["shop".into(), "web".into()]),
            &by_ada,
        )
        .await
        .unwrap();
    let (bob, _) = store.get_user("bob").await.unwrap().unwrap();
    assert_eq!(
        (bob.role, bob.grants),
        (
            Role::Editor,
            Grants::Namespaces(vec!["shop".into(), "web".into()])
        )
    );
    let entry = &store.audit(&AuditQuery::default()).await.unwrap().entries[0];
    assert_eq!(
        (
            entry.action,
            entry.user.as_deref(),
            entry.comment.as_deref()
        ),
        (
            Action::UserUpdate,
            Some("bob"),
            Some("joins the shop team (role viewer → editor; namespaces all → shop, web)")
        )
    );
    // An administrator has every namespace.
    store
        .update_user("bob", Role::Admin, Grants::Namespaces(vec![]), &change())
        .await
        .unwrap();
    assert_eq!(
        store.get_user("bob").await.unwrap().unwrap().0.grants,
        Grants::All
    );
    // With two administrators, one may step down.
    store
        .update_user("ada", Role::Viewer, Grants::All, &change())
        .await
        .unwrap();
    let missing = store
        .update_user("nobody", Role::Viewer, Grants::All, &change())
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
}

async fn sign_in_attempts_are_counted_in_the_store(b: Backend) {
    use confo::store::{SignInAttempts, SignInClient};
    // The counts belong to a quarter hour; keep the test inside one.
    let into_quarter = chrono::Utc::now().timestamp() % SignInAttempts::QUARTER_SECONDS;
    if into_quarter > SignInAttempts::QUARTER_SECONDS - 5 {
        tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    }
    let store = b.store();
    assert_eq!(store.sign_in_attempts("ada").await.unwrap(), None);
    // The whole budget of unknown clients claimed at the same time: all counted, none lost.
    let attempts = (0..SignInAttempts::UNKNOWN_PER_QUARTER)
        .map(|_| store.claim_sign_in_attempt("ada", SignInClient::Unknown));
    for claimed in futures::future::join_all(attempts).await {
        assert_eq!(claimed.unwrap(), Ok(()));
    }
    // A second store on the same backend (another dashboard instance) sees the same count and
    // refuses one more until the next quarter hour, without writing.
    let other = b.store();
    let counted = other.sign_in_attempts("ada").await.unwrap().unwrap();
    assert_eq!(
        (counted.unknown, counted.known),
        (SignInAttempts::UNKNOWN_PER_QUARTER, 0)
    );
    let refused = other
        .claim_sign_in_attempt("ada", SignInClient::Unknown)
        .await
        .unwrap();
    let to_next_quarter = SignInAttempts::QUARTER_SECONDS
        - chrono::Utc::now().timestamp() % SignInAttempts::QUARTER_SECONDS;
    assert!(
        matches!(refused, Err(wait) if wait as i64 <= to_next_quarter + 1 && wait as i64 >= to_next_quarter - 2),
        "{refused:?}, {to_next_quarter}"
    );
    assert_eq!(other.sign_in_attempts("ada").await.unwrap(), Some(counted));
    // Known browsers have a budget of their own, which unknown clients cannot spend.
    for _ in 0..SignInAttempts::KNOWN_PER_QUARTER {
        assert_eq!(
            store
                .claim_sign_in_attempt("ada", SignInClient::Known)
                .await
                .unwrap(),
            Ok(())
        );
    }
    assert!(
        store
            .claim_sign_in_attempt("ada", SignInClient::Known)
            .await
            .unwrap()
            .is_err()
    );
    // Other names are not affected; any name may be tried, and is never used as a key itself.
    for name in ["bob", "../../etc/passwd"] {
        assert_eq!(
            store
                .claim_sign_in_attempt(name, SignInClient::Unknown)
                .await
                .unwrap(),
            Ok(())
        );
    }
    // A right password gives its attempt back, and only its own: the other wrong ones stay
    // counted (a success does not hand an attacker a fresh budget).
    other
        .record_sign_in(
            "ada",
            Some(SignInClient::Known),
            &Change::by(Actor::user("ada")),
        )
        .await
        .unwrap();
    let after = store.sign_in_attempts("ada").await.unwrap().unwrap();
    assert_eq!(
        (after.unknown, after.known),
        (
            SignInAttempts::UNKNOWN_PER_QUARTER,
            SignInAttempts::KNOWN_PER_QUARTER - 1
        )
    );
    store
        .release_sign_in_attempt("ada", SignInClient::Unknown)
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_sign_in_attempt("ada", SignInClient::Unknown)
            .await
            .unwrap(),
        Ok(())
    );
    let newest = &store.audit(&AuditQuery::default()).await.unwrap().entries[0];
    assert_eq!(
        (newest.action, newest.user.as_deref()),
        (Action::SignIn, Some("ada"))
    );
}

async fn known_browsers_are_kept_by_the_hash_of_their_token(b: Backend) {
    let store = b.store();
    let token = confo::users::random_token();
    assert_eq!(store.device_user(&token).await.unwrap(), None);
    store.remember_device("ada", &token).await.unwrap();
    assert_eq!(
        store.device_user(&token).await.unwrap().as_deref(),
        Some("ada")
    );
    // A token is never taken over by another account.
    store.remember_device("mallory", &token).await.unwrap();
    assert_eq!(
        store.device_user(&token).await.unwrap().as_deref(),
        Some("ada")
    );
    // The store holds only the token's hash.
    let stored = store
        .kv()
        .list_prefix(&store.layout().devices_prefix())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].key.contains(&token));
    assert!(!String::from_utf8_lossy(&stored[0].value).contains(&token));
    // Anything else is no known browser, and is not looked up.
    for other in [
        confo::users::random_token(),
        token.to_uppercase(),
        format!("{token}0"),
        "../x".to_owned(),
    ] {
        assert_eq!(store.device_user(&other).await.unwrap(), None, "{other}");
    }
}

async fn latest_versions_name_the_newest_change_of_each_configuration(b: Backend) {
    let store = with_namespace(&b, "shop").await;
    create_empty(&store, "shop", "c", 3).await;
    store
        .set_field(
            &ns("shop"),
            &cfg("c1"),
            "limit",
            json!(5),
            None,
            &Change::by(Actor::user("ada")),
        )
        .await
        .unwrap();
    // A configuration written by the original library has no history.
    b.put("shop-legacy", r#"{"a":1}"#).await;
    let names = [cfg("c0"), cfg("c1"), cfg("legacy"), cfg("c2")];
    let latest = store.latest_versions(&ns("shop"), &names).await.unwrap();
    let summary: Vec<Option<(Action, String)>> = latest
        .iter()
        .map(|v| {
            v.as_ref()
                .map(|v| (v.entry.action, v.entry.actor.name.clone()))
        })
        .collect();
    assert_eq!(
        summary,
        [
            Some((Action::ConfigurationCreate, "tester".to_owned())),
            Some((Action::FieldSet, "ada".to_owned())),
            None,
            Some((Action::ConfigurationCreate, "tester".to_owned())),
        ]
    );
    assert!(latest[1].as_ref().unwrap().seq > latest[3].as_ref().unwrap().seq);
}

async fn the_overview_reads_counts_and_last_changes_of_namespaces(b: Backend) {
    let store = with_namespace(&b, "alpha").await;
    store
        .create_namespace(&ns("beta"), &change())
        .await
        .unwrap();
    store
        .create_namespace(&ns("gamma"), &change())
        .await
        .unwrap();
    create_empty(&store, "alpha", "a", 3).await;
    create_empty(&store, "beta", "b", 1).await;
    let listings = store
        .list_configurations_of(&[ns("alpha"), ns("beta"), ns("gamma"), ns("missing")])
        .await
        .unwrap();
    let registered: Vec<Option<Vec<String>>> = listings
        .into_iter()
        .map(|l| l.map(|l| l.registered))
        .collect();
    assert_eq!(
        registered,
        [
            Some(vec!["a0".into(), "a1".into(), "a2".into()]),
            Some(vec!["b0".into()]),
            Some(vec![]),
            None
        ]
    );

    let names = ["alpha", "beta", "gamma", "missing"].map(String::from);
    let latest = store.latest_by_namespace(&names, 1000).await.unwrap();
    let summary: Vec<Option<(Action, Option<String>)>> = latest
        .iter()
        .map(|e| e.as_ref().map(|e| (e.action, e.configuration.clone())))
        .collect();
    assert_eq!(
        summary,
        [
            Some((Action::ConfigurationCreate, Some("a2".into()))),
            Some((Action::ConfigurationCreate, Some("b0".into()))),
            Some((Action::NamespaceCreate, None)),
            None,
        ]
    );
    // The scan stops at its depth: only the newest entry is read.
    let shallow = store.latest_by_namespace(&names, 1).await.unwrap();
    assert!(shallow[1].is_some() && shallow[0].is_none(), "{shallow:?}");
}

/// Asserts that `result` is the ambiguous-key refusal for `key`, naming `namespaces` in its
/// message.
fn assert_ambiguous<T: std::fmt::Debug>(
    b: &Backend,
    result: Result<T, Error>,
    key: &str,
    namespaces: &[&str],
) {
    match result {
        Err(error @ Error::AmbiguousKey { .. }) => {
            let Error::AmbiguousKey { key: refused, .. } = &error else {
                unreachable!()
            };
            assert_eq!(refused, &b.key(key), "{error}");
            assert_eq!(error.namespaces(), namespaces, "{error}");
            let message = error.to_string();
            for namespace in namespaces {
                assert!(
                    message.contains(&format!("namespace {namespace:?}")),
                    "{message}"
                );
            }
        }
        other => panic!("expected the key {key:?} to be refused as ambiguous, got {other:?}"),
    }
}

/// The raw values of `names`, to show they are byte-for-byte unchanged.
async fn raw_values(b: &Backend, names: &[&str]) -> Vec<Option<String>> {
    let mut values = Vec::new();
    for name in names {
        values.push(b.value(name).await);
    }
    values
}

/// The original Confo lists a namespace `a-b` with configuration `c` (key `a-b-c`): namespace
/// `a`, configuration `b-c` names the same key, and `a`, `b` names `a-b`'s index. Neither way
/// reaches them, and nothing is written.
async fn a_legacy_namespace_with_a_dash_is_reached_only_through_itself(b: Backend) {
    b.put("confo", r#"{"namespaces":["a-b"]}"#).await;
    b.put("a-b", r#"{"configurations":["c"]}"#).await;
    b.put("a-b-c", r#"{"secret":"s3cr3t"}"#).await;
    let kept = ["confo", "a-b", "a-b-c"];
    let before = raw_values(&b, &kept).await;
    let store = b.store();
    let (a, bc) = (ns("a"), cfg("b-c"));

    assert_ambiguous(
        &b,
        store.get_configuration(&a, &bc).await,
        "a-b-c",
        &["a", "a-b"],
    );
    let message = store
        .get_configuration(&a, &bc)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        format!(
            "the key {:?} belongs to namespace \"a\" (configuration \"b-c\") and to namespace \"a-b\" (configuration \"c\"); Confo reads and writes neither through it; rename one of them with the tool that created it",
            b.key("a-b-c")
        )
    );
    assert_ambiguous(
        &b,
        store
            .set_field(&a, &bc, "secret", json!("mine"), None, &change())
            .await,
        "a-b-c",
        &["a", "a-b"],
    );
    assert_ambiguous(
        &b,
        store
            .replace_configuration(&a, &bc, object(json!({})), None, &change())
            .await,
        "a-b-c",
        &["a", "a-b"],
    );
    assert_ambiguous(
        &b,
        store.delete_field(&a, &bc, "secret", None, &change()).await,
        "a-b-c",
        &["a", "a-b"],
    );
    assert_ambiguous(
        &b,
        store.delete_configuration(&a, &bc, None, &change()).await,
        "a-b-c",
        &["a", "a-b"],
    );
    assert_ambiguous(
        &b,
        store
            .delete_configuration(&a, &cfg("b"), None, &change())
            .await,
        "a-b",
        &["a", "a-b"],
    );
    // Namespace `a` would share every key `a-b-...` with `a-b`.
    assert_ambiguous(
        &b,
        store.create_namespace(&a, &change()).await,
        "a-b",
        &["a", "a-b"],
    );
    assert_ambiguous(
        &b,
        store.register_namespaces(std::slice::from_ref(&a)).await,
        "a-b",
        &["a", "a-b"],
    );
    assert_eq!(raw_values(&b, &kept).await, before);
    assert_eq!(b.value("a").await, None);

    // The legacy namespace itself still reads its configuration.
    assert_eq!(
        store.read_legacy("a-b", "c").await,
        Ok(json!({"secret": "s3cr3t"}))
    );
    let report = store.namespace_report().await.unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].name, "a-b");
    assert!(report[0].problem.is_some());
    // But not through a shorter reading of the same key.
    assert_ambiguous(
        &b,
        store.read_legacy("a", "b-c").await,
        "a-b-c",
        &["a", "a-b"],
    );

    // If the original Confo lists `a` too, deleting it with its configurations deletes only
    // what is `a`'s alone.
    b.put("confo", r#"{"namespaces":["a-b","a"]}"#).await;
    b.put("a", r#"{"configurations":["x"]}"#).await;
    b.put("a-x", r#"{}"#).await;
    b.put("a-y", r#"{}"#).await;
    let listing = store.list_configurations(&a).await.unwrap();
    assert_eq!(listing.registered, ["x"]);
    assert_eq!(listing.unregistered, ["y"]);
    store.delete_namespace(&a, true, &change()).await.unwrap();
    assert_eq!(
        raw_values(&b, &["a", "a-x", "a-y"]).await,
        [None, None, None]
    );
    assert_eq!(raw_values(&b, &kept[1..]).await, before[1..]);
    assert_eq!(
        b.value("confo").await.as_deref(),
        Some(r#"{"namespaces":["a-b"]}"#)
    );
}

/// Confo's namespace `a` holds `b-c` and `x`; then another tool lists `a-b`, whose configuration
/// `c` is the key `a-b-c`. That key is refused both ways; `a`'s other configurations work on.
async fn keys_shared_with_a_later_legacy_namespace_are_refused_on_both_sides(b: Backend) {
    let store = with_namespace(&b, "a").await;
    let (a, bc, x) = (ns("a"), cfg("b-c"), cfg("x"));
    let created = store
        .create_configuration(&a, &bc, object(json!({"mine": 1})), &change())
        .await
        .unwrap();
    store
        .create_configuration(&a, &x, object(json!({"v": 1})), &change())
        .await
        .unwrap();
    b.put("confo", r#"{"namespaces":["a","a-b"]}"#).await;
    b.put("a-b", r#"{"configurations":["c"]}"#).await;
    b.put("a-b-e", r#"{}"#).await;
    let kept = ["confo", "a", "a-b", "a-b-c", "a-b-e"];
    let before = raw_values(&b, &kept).await;

    let both = &["a", "a-b"];
    assert_ambiguous(&b, store.get_configuration(&a, &bc).await, "a-b-c", both);
    assert_ambiguous(
        &b,
        store
            .set_field(&a, &bc, "mine", json!(2), None, &change())
            .await,
        "a-b-c",
        both,
    );
    assert_ambiguous(
        &b,
        store
            .rename_field(&a, &bc, "mine", "ours", None, &change())
            .await,
        "a-b-c",
        both,
    );
    assert_ambiguous(
        &b,
        store.configuration_at(&a, &bc, created.seq).await,
        "a-b-c",
        both,
    );
    assert_ambiguous(
        &b,
        store.revert(&a, &bc, created.seq, None, &change()).await,
        "a-b-c",
        both,
    );
    assert_ambiguous(&b, store.read_legacy("a-b", "c").await, "a-b-c", both);
    // Names that would land on `a-b`'s keys are not created, nor registered.
    assert_ambiguous(
        &b,
        store
            .create_configuration(&a, &cfg("b-d"), object(json!({})), &change())
            .await,
        "a-b-d",
        both,
    );
    assert_ambiguous(
        &b,
        store
            .create_configuration(&a, &cfg("b"), object(json!({})), &change())
            .await,
        "a-b",
        both,
    );
    let listing = store.list_configurations(&a).await.unwrap();
    assert_eq!(listing.registered, ["b-c", "x"]);
    assert!(listing.unregistered.is_empty(), "{listing:?}");
    assert_eq!(
        store.register_configurations(&a, &change()).await,
        Ok(Vec::new())
    );
    // Deleting `a` with its configurations would delete `a-b-c`.
    assert_ambiguous(
        &b,
        store.delete_namespace(&a, true, &change()).await,
        "a-b-c",
        both,
    );
    assert_eq!(raw_values(&b, &kept).await, before);

    // An unrelated configuration works on, in the store and in the client.
    store
        .set_field(&a, &x, "v", json!(2), None, &change())
        .await
        .unwrap();
    assert_eq!(b.value("a-x").await.as_deref(), Some(r#"{"v":2}"#));
    let mut confo = Confo::from_store(store.clone(), Actor::token("svc"));
    confo.use_namespace("a").await.unwrap();
    assert_eq!(confo.get_field("x", "v").unwrap(), &json!(2));
    assert_ambiguous(&b, confo.get("b-c"), "a-b-c", both);
    assert_ambiguous(&b, confo.set("b-c", "mine", 3), "a-b-c", both);
    confo.set("x", "w", 3).unwrap();
    assert_eq!(confo.persist().await.unwrap(), Persisted::Written);
    assert_eq!(b.value("a-x").await.as_deref(), Some(r#"{"v":2,"w":3}"#));
    assert_eq!(raw_values(&b, &kept[2..]).await, before[2..]);
}

async fn an_edit_keeps_what_it_does_not_touch_byte_for_byte(b: Backend) {
    use confo::edit::Edit;
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    store
        .create_configuration(&n, &c, object(json!({})), &change())
        .await
        .unwrap();
    // As another tool (etcdctl, the original Confo) may have written it.
    b.put(
        "n-c",
        r#"{"zeta":1,"alpha":{"y":[1,2],"x":2},"big":12345678901234567890123,"ratio":1.10}"#,
    )
    .await;
    let cases = [
        (
            Edit::Set {
                path: "/added".into(),
                value: json!("x"),
            },
            r#"{"zeta":1,"alpha":{"y":[1,2],"x":2},"big":12345678901234567890123,"ratio":1.10,"added":"x"}"#,
        ),
        (
            Edit::Set {
                path: "/zeta".into(),
                value: serde_json::from_str("2.50").unwrap(),
            },
            r#"{"zeta":2.50,"alpha":{"y":[1,2],"x":2},"big":12345678901234567890123,"ratio":1.10,"added":"x"}"#,
        ),
        (
            Edit::Rename {
                path: "/alpha".into(),
                to: "beta".into(),
            },
            r#"{"zeta":2.50,"beta":{"y":[1,2],"x":2},"big":12345678901234567890123,"ratio":1.10,"added":"x"}"#,
        ),
        (
            Edit::Insert {
                path: "/beta/y/1".into(),
                value: json!(9),
            },
            r#"{"zeta":2.50,"beta":{"y":[1,9,2],"x":2},"big":12345678901234567890123,"ratio":1.10,"added":"x"}"#,
        ),
        (
            Edit::Remove {
                path: "/zeta".into(),
            },
            r#"{"beta":{"y":[1,9,2],"x":2},"big":12345678901234567890123,"ratio":1.10,"added":"x"}"#,
        ),
    ];
    for (edit, expected) in cases {
        let revision = store.get_configuration(&n, &c).await.unwrap().revision;
        store
            .apply_edits(&n, &c, vec![edit.clone()], Some(revision), &change())
            .await
            .unwrap();
        assert_eq!(b.value("n-c").await.as_deref(), Some(expected), "{edit:?}");
    }
    // Reverting replays the recorded patches backwards: the keys they do not name keep their
    // order (a key they remove and add again goes to the end).
    let history = store.history(&n, &c).await.unwrap();
    let after_added = history[history.len() - 2].seq;
    store
        .revert(&n, &c, after_added, None, &change())
        .await
        .unwrap();
    assert_eq!(
        b.value("n-c").await.as_deref(),
        Some(
            r#"{"big":12345678901234567890123,"ratio":1.10,"added":"x","zeta":1,"alpha":{"y":[1,2],"x":2}}"#
        )
    );
    // A save that only puts the keys in another order is a change, and keeps that order.
    let current = store.get_configuration(&n, &c).await.unwrap();
    let reordered: serde_json::Map<_, _> = current.fields.clone().into_iter().rev().collect();
    let written = store
        .replace_configuration(&n, &c, reordered.clone(), Some(current.revision), &change())
        .await
        .unwrap();
    assert!(
        written.revision > current.revision,
        "a reorder was not written"
    );
    assert_eq!(
        b.value("n-c").await.unwrap(),
        serde_json::to_string(&reordered).unwrap()
    );
    // The history shows the change as made, digits included.
    let history = store.history(&n, &c).await.unwrap();
    let patch = serde_json::to_string(&history[1].entry.patch).unwrap();
    assert!(!patch.contains("e+22"), "{patch}");
}

async fn preview_and_apply_agree_for_every_kind_of_edit(b: Backend) {
    use confo::edit::{Edit, preview};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    store
        .create_configuration(&n, &c, object(json!({})), &change())
        .await
        .unwrap();
    let value = prop_oneof![
        Just(json!(null)),
        any::<i64>().prop_map(|i| json!(i)),
        "[a-c]{0,3}".prop_map(|s| json!(s)),
        Just(json!([1, 2])),
        Just(json!({"k": 1})),
    ];
    let place = prop_oneof![
        "[a-c]".prop_map(|f| format!("/{f}")),
        ("[a-c]", "[a-c]|[0-2]|-").prop_map(|(f, k)| format!("/{f}/{k}")),
    ];
    let edit = prop_oneof![
        (place.clone(), value.clone()).prop_map(|(path, value)| Edit::Set { path, value }),
        place.clone().prop_map(|path| Edit::Remove { path }),
        (place.clone(), "[a-d]").prop_map(|(path, to)| Edit::Rename { path, to }),
        (place, value.clone()).prop_map(|(path, value)| Edit::Insert { path, value }),
        prop::collection::vec(("[a-d]", value), 0..4).prop_map(|pairs| Edit::Replace {
            fields: pairs.into_iter().collect()
        }),
    ];
    // Each case's edits are generated here (the same cases every run), then applied to the
    // store after the runner returns (the runner is synchronous).
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 48,
            ..Config::default()
        },
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let mut cases = Vec::new();
    for _ in 0..48 {
        let tree = prop::collection::vec(edit.clone(), 1..4)
            .new_tree(&mut runner)
            .unwrap();
        cases.push(proptest::strategy::ValueTree::current(&tree));
    }
    let mut applied = 0;
    // Every case starts from fields that hold a list, an object and a number, so that most
    // generated places exist.
    let start = object(json!({"a": [1, 2], "b": {"a": 1, "k": [0]}, "c": 1}));
    for edits in cases {
        let current = store.get_configuration(&n, &c).await.unwrap();
        store
            .replace_configuration(&n, &c, start.clone(), Some(current.revision), &change())
            .await
            .unwrap();
        let before = store.get_configuration(&n, &c).await.unwrap();
        let expected = preview(&before.fields, &edits);
        let result = store
            .apply_edits(&n, &c, edits.clone(), Some(before.revision), &change())
            .await;
        let stored = b.value("n-c").await.unwrap();
        match expected {
            Ok(after) => {
                result.unwrap_or_else(|e| panic!("{edits:?}: preview gave a result, apply {e}"));
                assert_eq!(stored, serde_json::to_string(&after).unwrap(), "{edits:?}");
                applied += 1;
            }
            Err(e) => {
                assert!(
                    result.is_err(),
                    "{edits:?}: preview refused ({e}), apply did not"
                );
                assert_eq!(
                    stored,
                    serde_json::to_string(&before.fields).unwrap(),
                    "{edits:?}"
                );
            }
        }
    }
    eprintln!("{applied} of 48 generated edit lists applied, the others refused alike");
    assert!(
        applied >= 16,
        "only {applied} of 48 cases applied: the generator misses"
    );
}

async fn the_last_change_of_each_place_comes_from_the_history_patches(b: Backend) {
    use confo::edit::Edit;
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    let by = |who: &str| Change::by(Actor::user(who));
    let created = store
        .create_configuration(
            &n,
            &c,
            object(json!({"a": {"x": 1, "y": [1, 2]}, "b": 1})),
            &by("one"),
        )
        .await
        .unwrap();
    let x = store
        .apply_edits(
            &n,
            &c,
            vec![Edit::Set {
                path: "/a/x".into(),
                value: json!(2),
            }],
            None,
            &by("two"),
        )
        .await
        .unwrap();
    let b_changed = store
        .apply_edits(
            &n,
            &c,
            vec![Edit::Set {
                path: "/b".into(),
                value: json!(2),
            }],
            None,
            &by("three"),
        )
        .await
        .unwrap();
    // The changes after a version, newest first, as many as asked for.
    let after = |seq: u64, at_most: usize| {
        let store = store.clone();
        let (n, c) = (n.clone(), c.clone());
        async move {
            let versions = store.versions_after(&n, &c, seq, at_most).await.unwrap();
            versions.iter().map(|v| v.seq).collect::<Vec<u64>>()
        }
    };
    assert_eq!(after(created.seq, 10).await, [b_changed.seq, x.seq]);
    assert_eq!(after(0, 1).await, [b_changed.seq]);
    let places = ["/a", "/a/x", "/a/y", "/a/y/0", "/b", "/absent"].map(String::from);
    let found: Vec<Option<u64>> = store
        .last_changes(&n, &c, &places)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.map(|v| v.seq))
        .collect();
    assert_eq!(
        found,
        [
            Some(x.seq),
            Some(x.seq),
            Some(created.seq),
            Some(created.seq),
            Some(b_changed.seq),
            // The creation wrote the whole value, which holds every place, present or not.
            Some(created.seq),
        ]
    );
}

async fn a_stale_edit_is_refused_then_re_applied_only_on_disjoint_places(b: Backend) {
    use confo::edit::{Edit, Rebased, rebase};
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    let set = |path: &str, value: serde_json::Value| Edit::Set {
        path: path.into(),
        value,
    };
    store
        .create_configuration(
            &n,
            &c,
            object(json!({"db": {"host": "a", "port": 1}, "l": [1, 2], "x": 0})),
            &change(),
        )
        .await
        .unwrap();
    // (what someone else saves first, what this edit does, whether it re-applies)
    let cases = [
        (set("/db/host", json!("b")), set("/db/port", json!(2)), true),
        (set("/x", json!(1)), set("/x", json!(2)), false),
        (set("/db", json!({})), set("/db/port", json!(3)), false),
        (
            Edit::Insert {
                path: "/l/0".into(),
                value: json!(0),
            },
            set("/l/1", json!(9)),
            false,
        ),
        (
            set("/l/0", json!(7)),
            Edit::Remove {
                path: "/l/1".into(),
            },
            false,
        ),
        (set("/l/0", json!(5)), set("/x", json!(4)), true),
    ];
    for (theirs, mine, re_applies) in cases {
        let base = store.get_configuration(&n, &c).await.unwrap();
        store
            .apply_edits(&n, &c, vec![theirs.clone()], Some(base.revision), &change())
            .await
            .unwrap();
        let stored = b.value("n-c").await;
        // Made on the old revision: refused, nothing written, what is there now in the answer.
        let refused = store
            .apply_edits(&n, &c, vec![mine.clone()], Some(base.revision), &change())
            .await;
        let Err(Error::Conflict {
            current,
            current_revision,
            ..
        }) = refused
        else {
            panic!("{mine:?} after {theirs:?}: {refused:?}");
        };
        assert_eq!(b.value("n-c").await, stored, "a stale edit wrote");
        let current = object(*current.unwrap());
        match rebase(&base.fields, &current, std::slice::from_ref(&mine)).unwrap() {
            Rebased::Merged(merged) => {
                assert!(re_applies, "{mine:?} re-applied over {theirs:?}");
                store
                    .apply_edits(
                        &n,
                        &c,
                        vec![Edit::Replace {
                            fields: merged.clone(),
                        }],
                        Some(current_revision),
                        &change(),
                    )
                    .await
                    .unwrap();
                // Both changes are there.
                let mut both = base.fields.clone();
                confo::edit::apply(&mut both, &theirs).unwrap();
                confo::edit::apply(&mut both, &mine).unwrap();
                assert_eq!(
                    b.value("n-c").await.unwrap(),
                    serde_json::to_string(&both).unwrap()
                );
            }
            Rebased::Overlap(places) => {
                assert!(!re_applies, "{mine:?} and {theirs:?}: {places:?}");
                assert!(!places.is_empty());
            }
        }
    }
}

fn retry_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {
            "retries": {"title": "Retry limit", "type": "integer", "minimum": 0, "maximum": 10},
            "mode": {"enum": ["fast", "safe"]},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"}
        }
    })
}

fn own(schema: serde_json::Value) -> confo::store::SettingsChange {
    confo::store::SettingsChange::Assign {
        configuration: cfg("c"),
        choice: Some(confo::store::SchemaChoice::Own(schema)),
    }
}

fn violation_messages<T: std::fmt::Debug>(result: confo::Result<T>) -> Vec<(String, String)> {
    match result {
        Err(Error::SchemaViolation { problems }) => {
            problems.into_iter().map(|p| (p.path, p.message)).collect()
        }
        other => panic!("expected a schema violation, got {other:?}"),
    }
}

async fn a_schema_refuses_only_changes_that_add_problems(b: Backend) {
    use confo::edit::Edit;
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    store
        .create_configuration(
            &n,
            &c,
            object(json!({"retries": 3, "mode": "fast"})),
            &change(),
        )
        .await
        .unwrap();
    // A bad schema is refused, and nothing is written.
    let bad = store
        .change_settings(
            &n,
            own(json!({"type": "object", "minimum": "zero"})),
            None,
            &change(),
        )
        .await;
    assert!(
        matches!(bad, Err(Error::InvalidValue(ref m)) if m.contains("/minimum")),
        "{bad:?}"
    );
    assert_eq!(b.value("__confo/settings/n").await, None);
    store
        .change_settings(&n, own(retry_schema()), None, &change())
        .await
        .unwrap();

    // Out of range, through a field edit and through a whole-value save: refused in plain words,
    // and the stored value stays as it was, byte for byte.
    let stored = b.value("n-c").await;
    for value in [json!(-3), json!(1e26), json!("5")] {
        let refused = store
            .set_field(&n, &c, "retries", value.clone(), None, &change())
            .await;
        let messages = violation_messages(refused);
        assert_eq!(messages[0].0, "/retries", "{value}");
        if value != json!("5") {
            assert_eq!(
                messages,
                [(
                    "/retries".to_owned(),
                    "Retry limit must be between 0 and 10.".to_owned()
                )]
            );
        }
    }
    let whole = store
        .replace_configuration(
            &n,
            &c,
            object(json!({"retries": 3, "mode": "slow"})),
            None,
            &change(),
        )
        .await;
    assert_eq!(
        violation_messages(whole),
        [(
            "/mode".to_owned(),
            "mode must be one of: fast, safe.".to_owned()
        )]
    );
    assert_eq!(b.value("n-c").await, stored);
    store
        .set_field(&n, &c, "retries", json!(5), None, &change())
        .await
        .unwrap();

    // Another tool writes a value that breaks the schema: it is reported, never rewritten, and
    // the rest stays editable.
    b.put("n-c", r#"{"retries":99,"mode":"fast","other":1}"#)
        .await;
    let (_, problems) = store.schema_problems(&n, &c).await.unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "/retries");
    store
        .set_field(&n, &c, "mode", json!("safe"), None, &change())
        .await
        .unwrap();
    assert_eq!(
        b.value("n-c").await.as_deref(),
        Some(r#"{"retries":99,"mode":"safe","other":1}"#)
    );
    // A whole-value save that keeps the existing problem (even with another out-of-range
    // number) and adds none is accepted; one that adds another is not.
    store
        .replace_configuration(
            &n,
            &c,
            object(json!({"retries": 98, "mode": "safe", "other": 2})),
            None,
            &change(),
        )
        .await
        .unwrap();
    let added = store
        .apply_edits(
            &n,
            &c,
            vec![Edit::Set {
                path: "/code".into(),
                value: json!("ab"),
            }],
            None,
            &change(),
        )
        .await;
    assert_eq!(violation_messages(added)[0].0, "/code");
    assert_eq!(
        b.value("n-c").await.as_deref(),
        Some(r#"{"retries":98,"mode":"safe","other":2}"#)
    );

    // The client library's persist obeys the same rule, and keeps the local change.
    let mut confo = Confo::from_store(store.clone(), Actor::token("svc"));
    confo.use_namespace("n").await.unwrap();
    confo.set("c", "mode", "turbo").unwrap();
    let persisted = confo.persist().await;
    assert_eq!(violation_messages(persisted)[0].0, "/mode");
    assert_eq!(confo.get_field("c", "mode").unwrap(), &json!("turbo"));
    assert_eq!(
        b.value("n-c").await.as_deref(),
        Some(r#"{"retries":98,"mode":"safe","other":2}"#)
    );

    // A revert obeys it too: under a schema that allows only "safe", going back to the first
    // version (mode "fast") would add a problem.
    let mut safe_only = retry_schema();
    safe_only["properties"]["mode"]["enum"] = json!(["safe"]);
    store
        .change_settings(&n, own(safe_only), None, &change())
        .await
        .unwrap();
    let first = store.history(&n, &c).await.unwrap().last().unwrap().seq;
    let reverted = store.revert(&n, &c, first, None, &change()).await;
    assert_eq!(
        violation_messages(reverted),
        [("/mode".to_owned(), "mode must be one of: safe.".to_owned())]
    );
    assert_eq!(
        b.value("n-c").await.as_deref(),
        Some(r#"{"retries":98,"mode":"safe","other":2}"#)
    );
}

async fn named_schemas_are_shared_checked_in_a_dry_run_and_kept_while_in_use(b: Backend) {
    use confo::store::{SchemaChoice, SettingsChange};
    let store = with_namespace(&b, "n").await;
    let n = ns("n");
    for (name, retries) in [("a", 1), ("b", 7), ("c", 2)] {
        store
            .create_configuration(
                &n,
                &cfg(name),
                object(json!({ "retries": retries })),
                &change(),
            )
            .await
            .unwrap();
    }
    let put = |schema| SettingsChange::PutSchema {
        name: "limits".into(),
        schema,
    };
    store
        .change_settings(&n, put(retry_schema()), None, &change())
        .await
        .unwrap();
    for name in ["a", "b"] {
        let assign = SettingsChange::Assign {
            configuration: cfg(name),
            choice: Some(SchemaChoice::Named("limits".into())),
        };
        store
            .change_settings(&n, assign, None, &change())
            .await
            .unwrap();
    }
    let missing = SettingsChange::Assign {
        configuration: cfg("c"),
        choice: Some(SchemaChoice::Named("nope".into())),
    };
    assert!(matches!(
        store.change_settings(&n, missing, None, &change()).await,
        Err(Error::NotFound(_))
    ));
    // Both follow it; `c` does not.
    let settings = store.get_settings(&n).await.unwrap().settings;
    assert_eq!(settings.users_of("limits"), ["a", "b"]);
    assert!(
        store
            .set_field(&n, &cfg("b"), "retries", json!(11), None, &change())
            .await
            .is_err()
    );
    store
        .set_field(&n, &cfg("c"), "retries", json!(11), None, &change())
        .await
        .unwrap();

    // A stricter schema, tried first: only `b` (7) would break a maximum of 5.
    let mut stricter = retry_schema();
    stricter["properties"]["retries"]["maximum"] = json!(5);
    let runs = store
        .dry_run_schema(&n, &settings.users_of("limits"), &stricter)
        .await
        .unwrap();
    let breaking: Vec<(&str, usize)> = runs
        .iter()
        .map(|r| (r.configuration.as_str(), r.new_problems.len()))
        .collect();
    assert_eq!(breaking, [("a", 0), ("b", 1)]);
    assert_eq!(
        runs[1].new_problems[0].message,
        "Retry limit must be between 0 and 5."
    );

    // In use, it cannot be deleted.
    let delete = || SettingsChange::DeleteSchema {
        name: "limits".into(),
    };
    let refused = store.change_settings(&n, delete(), None, &change()).await;
    assert!(
        matches!(refused, Err(Error::InUse(ref m)) if m.contains("a, b")),
        "{refused:?}"
    );
    for name in ["a", "b"] {
        let none = SettingsChange::Assign {
            configuration: cfg(name),
            choice: None,
        };
        store
            .change_settings(&n, none, None, &change())
            .await
            .unwrap();
    }
    let revision = store.get_settings(&n).await.unwrap().revision;
    // A settings change made on an older read is a conflict.
    assert!(matches!(
        store
            .change_settings(&n, delete(), Some(revision - 1), &change())
            .await,
        Err(Error::Conflict { .. })
    ));
    store
        .change_settings(&n, delete(), Some(revision), &change())
        .await
        .unwrap();
    assert!(
        store
            .get_settings(&n)
            .await
            .unwrap()
            .settings
            .schemas
            .is_empty()
    );
}

async fn schemas_are_audited_and_outlive_their_configuration(b: Backend) {
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    store
        .create_configuration(&n, &c, object(json!({"retries": 1})), &change())
        .await
        .unwrap();
    store
        .change_settings(&n, own(retry_schema()), None, &change())
        .await
        .unwrap();
    let entries = store.audit(&AuditQuery::default()).await.unwrap().entries;
    let entry = entries
        .iter()
        .find(|e| e.action == Action::SchemaAssign)
        .unwrap();
    assert_eq!(entry.namespace.as_deref(), Some("n"));
    assert_eq!(entry.configuration.as_deref(), Some("c"));
    let patch = serde_json::to_value(entry.patch.as_ref().unwrap()).unwrap();
    assert_eq!(patch[0]["path"], "/assignments", "{patch}");
    // The original Confo's keys hold only what they always held.
    assert_eq!(
        b.value("n").await.as_deref(),
        Some(r#"{"configurations":["c"]}"#)
    );
    assert_eq!(b.value("n-c").await.as_deref(), Some(r#"{"retries":1}"#));
    assert!(
        b.value("__confo/settings/n")
            .await
            .unwrap()
            .contains("Retry limit")
    );

    // Deleting the configuration keeps its schema (its history keeps its write-only values
    // masked): one made again under the name follows it, so re-creating is no way around it.
    store
        .delete_configuration(&n, &c, None, &change())
        .await
        .unwrap();
    let settings = store.get_settings(&n).await.unwrap().settings;
    assert_eq!(settings.assignments.len(), 1);
    let again = store
        .create_configuration(&n, &c, object(json!({"retries": 50})), &change())
        .await;
    assert_eq!(violation_messages(again)[0].0, "/retries");
    assert_eq!(b.value("n-c").await, None);
    // So does deleting the namespace: the settings are there for a namespace made again.
    let kept = b.value("__confo/settings/n").await;
    assert!(kept.is_some());
    store.delete_namespace(&n, true, &change()).await.unwrap();
    assert_eq!(b.value("__confo/settings/n").await, kept);
}

async fn a_required_comment_is_enforced_for_every_write(b: Backend) {
    use confo::store::SettingsChange;
    let store = with_namespace(&b, "n").await;
    let (n, c) = (ns("n"), cfg("c"));
    store
        .create_configuration(&n, &c, object(json!({"a": 1})), &change())
        .await
        .unwrap();
    store
        .change_settings(&n, SettingsChange::RequireComment(true), None, &change())
        .await
        .unwrap();
    let why = change().with_comment("raise the limit for the sale");
    let blank = change().with_comment("   ");
    let stored = b.value("n-c").await;
    for by in [&change(), &blank] {
        assert_eq!(
            store.set_field(&n, &c, "a", json!(2), None, by).await,
            Err(Error::CommentRequired)
        );
        assert_eq!(
            store
                .create_configuration(&n, &cfg("d"), object(json!({})), by)
                .await,
            Err(Error::CommentRequired)
        );
        assert_eq!(
            store.delete_configuration(&n, &c, None, by).await,
            Err(Error::CommentRequired)
        );
    }
    let mut confo = Confo::from_store(store.clone(), Actor::token("svc"));
    confo.use_namespace("n").await.unwrap();
    confo.set("c", "a", 3).unwrap();
    assert_eq!(confo.persist().await, Err(Error::CommentRequired));
    assert_eq!(b.value("n-c").await, stored);
    assert_eq!(b.value("n-d").await, None);
    assert_eq!(
        confo.persist_with_comment("nightly job").await.unwrap(),
        Persisted::Written
    );
    store
        .set_field(&n, &c, "a", json!(2), None, &why)
        .await
        .unwrap();
    let entries = store.audit(&AuditQuery::default()).await.unwrap().entries;
    assert_eq!(
        entries[0].comment.as_deref(),
        Some("raise the limit for the sale")
    );
    assert_eq!(entries[1].comment.as_deref(), Some("nightly job"));
}
