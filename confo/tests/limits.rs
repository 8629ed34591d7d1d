//! The limits the README states, each tried just under and just over the exact boundary the
//! code enforces, on the embedded store and on etcd, with the numbers of the refusal checked.

mod common;

use std::future::Future;

use common::{Backend, cfg, change, create_empty, ns, object, with_namespace};
use confo::kv::{MAX_REQUEST_BYTES, MAX_TXN_OPS, Op, TxnOutcome, txn_size};
use confo::store::MAX_DELETED_WITH_NAMESPACE;
use confo::{Error, Written};
use serde_json::json;

contract!(
    a_transaction_takes_128_operations_and_refuses_129,
    a_transaction_takes_the_request_byte_limit_and_refuses_one_byte_more,
    a_namespace_is_deleted_with_41_configurations_and_refuses_42,
    a_namespace_index_grows_until_a_creation_reaches_the_byte_limit,
    a_configuration_made_in_one_piece_fits_until_the_byte_limit,
);

fn puts(b: &Backend, prefix: &str, count: usize) -> Vec<Op> {
    (0..count)
        .map(|i| Op::Put {
            key: b.key(&format!("{prefix}{i:03}")),
            value: b"1".to_vec(),
        })
        .collect()
}

async fn a_transaction_takes_128_operations_and_refuses_129(b: Backend) {
    assert_eq!(MAX_TXN_OPS, 128);
    let outcome = b.kv.txn(vec![], puts(&b, "over", MAX_TXN_OPS + 1)).await;
    match &outcome {
        Err(
            error @ Error::TooLarge {
                size: 129,
                limit: 128,
                unit: "operations",
                ..
            },
        ) => assert_eq!(
            error.to_string(),
            "the change is 129 operations; the limit is 128 operations"
        ),
        other => panic!("{other:?}"),
    }
    assert!(b.kv.list_prefix(&b.key("over")).await.unwrap().is_empty());

    let outcome = b.kv.txn(vec![], puts(&b, "at", MAX_TXN_OPS)).await.unwrap();
    assert!(
        matches!(outcome, TxnOutcome::Committed { .. }),
        "{outcome:?}"
    );
    assert_eq!(b.kv.list_prefix(&b.key("at")).await.unwrap().len(), 128);
}

async fn a_transaction_takes_the_request_byte_limit_and_refuses_one_byte_more(b: Backend) {
    assert_eq!(MAX_REQUEST_BYTES, 1_572_864);
    let key = b.key("big");
    let put = |len: usize| Op::Put {
        key: key.clone(),
        value: vec![b'x'; len],
    };
    // The largest value whose transaction the code lets through: etcd must take it.
    let fill = MAX_REQUEST_BYTES - txn_size(&[], &[put(0)]);
    let put = |extra: usize| put(fill + extra);
    match b.kv.txn(vec![], vec![put(1)]).await {
        Err(
            error @ Error::TooLarge {
                size: 1_572_865,
                limit: 1_572_864,
                unit: "bytes",
                ..
            },
        ) => assert_eq!(
            error.to_string(),
            "the change is 1572865 bytes; the limit is 1572864 bytes"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(b.value("big").await, None);
    let outcome = b.kv.txn(vec![], vec![put(0)]).await.unwrap();
    assert!(
        matches!(outcome, TxnOutcome::Committed { .. }),
        "{outcome:?}"
    );
    assert_eq!(b.value("big").await.map(|v| v.len()), Some(fill));
}

async fn a_namespace_is_deleted_with_41_configurations_and_refuses_42(b: Backend) {
    assert_eq!(MAX_DELETED_WITH_NAMESPACE, 41);
    let store = with_namespace(&b, "full").await;
    create_empty(&store, "full", "c", 42).await;
    let before = b.kv.list_prefix(&b.prefix).await.unwrap();
    match store.delete_namespace(&ns("full"), true, &change()).await {
        Err(
            error @ Error::TooManyToDelete {
                count: 42,
                limit: 41,
                ..
            },
        ) => assert_eq!(
            error.to_string(),
            "namespace \"full\" holds 42 configurations, and at most 41 can be deleted together with it; delete some of them first"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(b.kv.list_prefix(&b.prefix).await.unwrap(), before);

    store
        .delete_configuration(&ns("full"), &cfg("c41"), None, &change())
        .await
        .unwrap();
    store
        .delete_namespace(&ns("full"), true, &change())
        .await
        .unwrap();
    assert!(
        !store
            .list_namespaces()
            .await
            .unwrap()
            .contains(&"full".to_owned())
    );
    assert!(b.kv.list_prefix(&b.key("full")).await.unwrap().is_empty());
}

/// The size a refusal reports, checking its limit and its message.
fn refused_size(outcome: confo::Result<Written>) -> usize {
    match outcome {
        Err(
            ref error @ Error::TooLarge {
                size,
                limit,
                unit: "bytes",
                ..
            },
        ) => {
            assert_eq!(limit, MAX_REQUEST_BYTES);
            assert!(size > limit, "{error}");
            assert_eq!(
                error.to_string(),
                format!("the change is {size} bytes; the limit is {limit} bytes")
            );
            size
        }
        other => panic!("expected a refusal for size, got {other:?}"),
    }
}

/// Part of a change's size varies by a few bytes between attempts (the audit entry's time has
/// 0 to 9 decimals): this much.
const JITTER: usize = 10;

/// Tries a change whose size grows with `len`: first two sizes far over the limit, to learn how
/// many bytes a unit of `len` costs; then a `len` whose change is just over the limit, which is
/// refused with its exact size; then one just under, which is made. Answers the two lengths.
async fn just_over_then_just_under<F, Fut>(
    mut attempt: F,
    far: usize,
    step: usize,
) -> (usize, usize)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = confo::Result<Written>>,
{
    let far_size = refused_size(attempt(far).await);
    let nearer_size = refused_size(attempt(far - step).await);
    let per_unit = (far_size - nearer_size).div_ceil(step).max(1);
    let over = far - (far_size - MAX_REQUEST_BYTES - 2 * JITTER) / per_unit;
    let over_size = refused_size(attempt(over).await);
    assert!(
        over_size - MAX_REQUEST_BYTES <= 3 * JITTER + per_unit,
        "not just over: {over_size}"
    );
    let under = over - (over_size - MAX_REQUEST_BYTES + JITTER).div_ceil(per_unit);
    attempt(under)
        .await
        .unwrap_or_else(|e| panic!("{under}, after {over} was {over_size} bytes: {e}"));
    (over, under)
}

/// A namespace index, as the original Confo writes it, of exactly `bytes` bytes.
fn index_of_length(bytes: usize) -> String {
    // `{"configurations":[` + entries joined by commas + `]}`; an entry of a name of n
    // characters costs n + 3 bytes with its quotes and a comma, one comma less in all.
    let head = "{\"configurations\":[";
    let mut room = bytes - head.len() - 2 + 1;
    let mut names = Vec::new();
    // Full names while more than two long ones' worth is left; the last two share the rest, so
    // each is long enough for its number (20 to 54 characters).
    while room > 64 + 3 + 40 {
        names.push(64);
        room -= 64 + 3;
    }
    names.push(room / 2 - 3);
    names.push(room - room / 2 - 3);
    let entries: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, len)| {
            let name = format!("c{i}");
            format!("\"{name}{}\"", "x".repeat(len - name.len()))
        })
        .collect();
    let index = format!("{head}{}]}}", entries.join(","));
    assert_eq!(index.len(), bytes);
    index
}

async fn a_namespace_index_grows_until_a_creation_reaches_the_byte_limit(b: Backend) {
    let store = with_namespace(&b, "wide").await;
    let (over, under) = just_over_then_just_under(
        |bytes| {
            let (b, store) = (&b, store.clone());
            async move {
                b.put("wide", &index_of_length(bytes)).await;
                store
                    .create_configuration(
                        &ns("wide"),
                        &cfg("newest"),
                        Default::default(),
                        &change(),
                    )
                    .await
            }
        },
        // The largest index a plain put can write; a creation adds its own entry and more.
        MAX_REQUEST_BYTES
            - txn_size(
                &[],
                &[Op::Put {
                    key: b.key("wide"),
                    value: vec![],
                }],
            ),
        50,
    )
    .await;
    let names = store
        .list_configurations(&ns("wide"))
        .await
        .unwrap()
        .registered;
    assert_eq!(names.last().map(String::as_str), Some("newest"));
    eprintln!(
        "index of {under} bytes takes one more configuration ({} names of 64 characters); {over} bytes refuses it",
        names.len() - 1
    );
}

async fn a_configuration_made_in_one_piece_fits_until_the_byte_limit(b: Backend) {
    let store = with_namespace(&b, "n").await;
    let fields = |len: usize| object(json!({"blob": "x".repeat(len)}));
    let (over, under) = just_over_then_just_under(
        |len| {
            let store = store.clone();
            async move {
                store
                    .create_configuration(&ns("n"), &cfg("whole"), fields(len), &change())
                    .await
            }
        },
        MAX_REQUEST_BYTES,
        1000,
    )
    .await;
    eprintln!("created in one piece: a {under}-character value fits, {over} does not");
    let stored = b.value("n-whole").await.unwrap();
    assert_eq!(stored.len(), under + r#"{"blob":""}"#.len());

    // Replacing it in one piece: the audit entry holds the old value and the new one.
    let (over, under) = just_over_then_just_under(
        |len| {
            let store = store.clone();
            async move {
                store
                    .replace_configuration(&ns("n"), &cfg("whole"), fields(len), None, &change())
                    .await
            }
        },
        MAX_REQUEST_BYTES,
        1000,
    )
    .await;
    eprintln!("replaced in one piece: a {under}-character value fits, {over} does not");
}

#[test]
fn an_index_of_any_length_is_made_exactly() {
    for bytes in (1_000..1_200).chain(MAX_REQUEST_BYTES - 20..MAX_REQUEST_BYTES) {
        let index = index_of_length(bytes);
        let names: serde_json::Value = serde_json::from_str(&index).unwrap();
        let names = names["configurations"].as_array().unwrap();
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{bytes}");
        assert!(names.iter().all(|n| n.as_str().unwrap().len() <= 64));
    }
}
