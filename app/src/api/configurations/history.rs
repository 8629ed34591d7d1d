//! A configuration's history: its versions, the difference between two, one version's content,
//! and reverting to it. Versions and their differences come from the store (`confo`).

use leptos::prelude::*;

use super::*;

/// Every version of a configuration, newest first.
#[server(endpoint = "configurations/history", input = leptos::server_fn::codec::GetUrl)]
pub async fn configuration_history(
    namespace: String,
    name: String,
) -> Result<HistoryView, AppError> {
    use crate::api::ssr::reject;
    let opened = super::ssr::open(confo::users::Role::Viewer, &namespace, &name).await?;
    let versions: Vec<ChangeSummary> = opened
        .store
        .history(&opened.namespace, &opened.name)
        .await
        .map_err(reject)?
        .iter()
        .map(|v| super::ssr::summary(&v.entry))
        .collect();
    let current = opened.current().await;
    // A configuration that is not there and left no history is a page not found; a deleted
    // one's history stays readable.
    if let (Err(error), true) = (&current, versions.is_empty()) {
        return Err(error.clone());
    }
    let revision = current.map(|c| c.revision).unwrap_or(0);
    Ok(HistoryView {
        can_edit: super::ssr::can_edit(&opened.user, &namespace),
        namespace,
        name,
        versions,
        revision,
    })
}

/// How version `to` differs from version `from` (0: before the first; absent: the version just
/// before `to`, which is what one change did).
#[server(endpoint = "configurations/diff", input = leptos::server_fn::codec::GetUrl)]
pub async fn version_diff(
    namespace: String,
    name: String,
    from: Option<u64>,
    to: u64,
) -> Result<Comparison, AppError> {
    use crate::api::ssr::reject;
    let opened = super::ssr::open(confo::users::Role::Viewer, &namespace, &name).await?;
    let from = match from {
        Some(from) => from,
        None => opened
            .store
            .previous_version(&opened.namespace, &opened.name, to)
            .await
            .map_err(reject)?,
    };
    let changes = opened
        .store
        .diff_versions(&opened.namespace, &opened.name, from, to)
        .await
        .map_err(reject)?;
    // Write-only values (by the schema in force now) are masked here as everywhere.
    let rules = super::ssr::rules(&opened.store, &opened.namespace, &opened.name).await?;
    Ok(Comparison {
        from,
        to,
        changes: rules.masked_diffs(changes),
    })
}

/// The configuration as it was right after version `seq`, as JSON ("" if it did not exist).
#[server(endpoint = "configurations/at", input = leptos::server_fn::codec::GetUrl)]
pub async fn configuration_at(
    namespace: String,
    name: String,
    seq: u64,
) -> Result<String, AppError> {
    use crate::api::ssr::reject;
    let opened = super::ssr::open(confo::users::Role::Viewer, &namespace, &name).await?;
    let fields = opened
        .store
        .configuration_at(&opened.namespace, &opened.name, seq)
        .await
        .map_err(reject)?;
    let rules = super::ssr::rules(&opened.store, &opened.namespace, &opened.name).await?;
    let fields = fields.map(|f| rules.masked(&f));
    Ok(fields.map_or_else(String::new, |f| {
        super::ssr::readable(&serde_json::Value::Object(f))
    }))
}

/// Makes the configuration's fields what they were right after version `seq`; `confirm` must
/// be "yes". Recorded as a change of its own.
#[server(endpoint = "configurations/revert")]
pub async fn revert_configuration(
    namespace: String,
    name: String,
    seq: u64,
    revision: i64,
    comment: String,
) -> Result<(), AppError> {
    use crate::api::ssr::reject;
    let opened = super::ssr::open(confo::users::Role::Editor, &namespace, &name).await?;
    let written = opened
        .store
        .revert(
            &opened.namespace,
            &opened.name,
            seq,
            Some(revision),
            &super::ssr::change_with(&opened.user, &comment),
        )
        .await;
    let written = match written {
        // A reviewed namespace: going back is sent for review, as the fields it sets.
        Err(confo::Error::ReviewRequired(_)) => {
            let fields = opened
                .store
                .configuration_at(&opened.namespace, &opened.name, seq)
                .await
                .map_err(reject)?
                .unwrap_or_default();
            let proposed =
                confo::request::Proposed::Edits(vec![confo::edit::Edit::Replace { fields }]);
            let comment = if comment.trim().is_empty() {
                format!("Back to version {seq}")
            } else {
                comment
            };
            opened
                .propose(proposed, Some(revision), &comment, "")
                .await?;
            return Ok(());
        }
        other => other.map_err(reject)?,
    };
    // Confirmed on the configuration, with what changed and an Undo.
    opened.back_to(&super::ssr::saved_suffix(written.seq));
    Ok(())
}

/// What taking back version `seq` alone would change now (the change itself, then the fields
/// it would set back), or why it cannot be taken back alone.
#[server(endpoint = "configurations/take-back-preview", input = leptos::server_fn::codec::GetUrl)]
pub async fn take_back_preview(
    namespace: String,
    name: String,
    seq: u64,
) -> Result<TakeBackView, AppError> {
    use crate::api::ssr::reject;
    let opened = super::ssr::open(confo::users::Role::Editor, &namespace, &name).await?;
    let entry = opened.store.audit_entry(seq).await.map_err(reject)?;
    let (now, after) = opened
        .store
        .preview_revert_change(&opened.namespace, &opened.name, seq)
        .await
        .map_err(reject)?;
    let rules = super::ssr::rules(&opened.store, &opened.namespace, &opened.name).await?;
    let changes = rules.masked_diffs(confo::store::diff_fields(&now, &after));
    Ok(TakeBackView {
        seq,
        change: super::ssr::summary(&entry),
        changes,
        comment_required: rules.comment_required,
    })
}

/// Takes back exactly what version `seq` changed, and nothing else: a change of its own, refused
/// when a later change touched the same places (see `confo::Store::revert_change`). Goes on to
/// the configuration, which says what was taken back.
#[server(endpoint = "configurations/take-back")]
pub async fn take_back(
    namespace: String,
    name: String,
    seq: u64,
    comment: String,
) -> Result<Saved, AppError> {
    use crate::api::ssr::reject;
    let opened = super::ssr::open(confo::users::Role::Editor, &namespace, &name).await?;
    let written = opened
        .store
        .revert_change(
            &opened.namespace,
            &opened.name,
            seq,
            None,
            &super::ssr::change_with(&opened.user, &comment),
        )
        .await;
    let written = match written {
        // A reviewed namespace: taking it back is sent for review, made on what is stored now.
        Err(confo::Error::ReviewRequired(_)) => {
            let current = opened.current().await?;
            let (_, fields) = opened
                .store
                .preview_revert_change(&opened.namespace, &opened.name, seq)
                .await
                .map_err(reject)?;
            let edits = confo::edit::edits_between(&current.fields, &fields);
            let comment = if comment.trim().is_empty() {
                format!("Take back version {seq}")
            } else {
                comment
            };
            let proposed = confo::request::Proposed::Edits(edits);
            let id = opened
                .propose(proposed, Some(current.revision), &comment, "")
                .await?;
            return Ok(Saved {
                revision: current.revision,
                seq,
                request: Some(id),
            });
        }
        other => other.map_err(reject)?,
    };
    opened.back_to(&super::ssr::saved_suffix(written.seq));
    Ok(Saved {
        revision: written.revision,
        seq: written.seq,
        request: None,
    })
}
