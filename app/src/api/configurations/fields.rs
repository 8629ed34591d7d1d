//! Changing a configuration's fields: the review of one form view change and its save (one
//! endpoint for every kind of edit), the JSON view's review and save, and the conflict view.
//! Every change goes through the one edit model (`confo::edit`): the review shows its preview,
//! the save applies the same edits.

use leptos::prelude::*;

use super::*;

/// What saving `json` over the configuration as it is now would change. Changes nothing.
#[server(endpoint = "configurations/review")]
pub async fn review_configuration(
    namespace: String,
    name: String,
    json: String,
) -> Result<Review, AppError> {
    let opened = super::ssr::open(confo::users::Role::Editor, &namespace, &name).await?;
    let fields = super::ssr::parse_object(&json)?;
    let current = opened.current().await?;
    let rules = super::ssr::rules(&opened.store, &opened.namespace, &opened.name).await?;
    let fields = rules.unmasked(fields, &current.fields);
    rules.check_no_mask(&fields)?;
    Ok(rules.review(
        &opened.namespace,
        &opened.name,
        &current.fields,
        &fields,
        None,
        current.revision,
    ))
}

/// What one field change from the form view would change: `set` a field (new or not) to `value`
/// read as `kind`, `delete` it, or `rename` it to `to`. With `path` (a JSON Pointer inside the
/// field's value), the change is made there instead: `set`, `delete` or `rename` that list item
/// or object key, or `add` an item (or the key `to`) to the list or object there. Changes nothing:
/// it is the edit model's preview of what [`save_edit`] writes.
#[server(endpoint = "configurations/review-field", input = leptos::server_fn::codec::GetUrl)]
pub async fn review_field(
    namespace: String,
    name: String,
    edit: FieldEdit,
) -> Result<Review, AppError> {
    use crate::api::ssr::reject;
    let opened = super::ssr::open(confo::users::Role::Editor, &namespace, &name).await?;
    let current = opened.current().await?;
    let change = super::ssr::field_edit(&edit, &current.fields)?;
    let rules = super::ssr::rules(&opened.store, &opened.namespace, &opened.name).await?;
    rules.check_edit(&current.fields, &change)?;
    let after =
        confo::edit::preview(&current.fields, std::slice::from_ref(&change)).map_err(reject)?;
    let mut review = rules.review(
        &opened.namespace,
        &opened.name,
        &current.fields,
        &after,
        (!edit.path.is_empty() || edit.op == "add")
            .then(|| confo::nested::place(edit.field.trim(), &edit.path)),
        current.revision,
    );
    if matches!(edit.op.as_str(), "set" | "add")
        && let Ok(value) = super::ssr::typed_value(&edit.kind, &edit.value)
    {
        review.notes.extend(super::ssr::number_note(&value));
    }
    Ok(review)
}

/// Saves one change from the form view (also without JavaScript): the edit itself, as
/// [`review_field`] showed it, applied to the configuration if it is still at `revision`. When
/// it is not, nothing is written and the conflict says who saved meanwhile and both values
/// (`seq`: the version the change was made against).
#[server(endpoint = "configurations/edit")]
pub async fn save_edit(
    namespace: String,
    name: String,
    revision: i64,
    seq: u64,
    edit: FieldEdit,
    comment: String,
    #[server(default)] into: String,
) -> Result<Saved, AppError> {
    let opened = super::ssr::open(confo::users::Role::Editor, &namespace, &name).await?;
    let current = opened.current().await?;
    let change = super::ssr::field_edit(&edit, &current.fields)?;
    // In a reviewed namespace: the request to add the change to ("": a new one; "draft": a new
    // draft).
    opened
        .save(vec![change], revision, seq, &comment, &into)
        .await
}

/// Saves `json` as the configuration's fields, if it is still at `revision`; otherwise nothing
/// is written and the answer is a conflict. Answers the revision and version it wrote, so that
/// the page knows its own change when it arrives as a live update.
#[server(endpoint = "configurations/save")]
pub async fn save_configuration(
    namespace: String,
    name: String,
    revision: i64,
    seq: u64,
    json: String,
    comment: String,
) -> Result<Saved, AppError> {
    let opened = super::ssr::open(confo::users::Role::Editor, &namespace, &name).await?;
    let fields = super::ssr::parse_object(&json)?;
    // Write-only values are shown masked: where the mask was left as it was, the stored value
    // stays (read at the revision the save is compared on, or the save is a conflict anyway).
    let current = opened.current().await?;
    let rules = super::ssr::rules(&opened.store, &opened.namespace, &opened.name).await?;
    let fields = rules.unmasked(fields, &current.fields);
    let edits = vec![confo::edit::Edit::Replace { fields }];
    opened.save(edits, revision, seq, &comment, "").await
}

/// What happened since the editor loaded version `seq` (`loaded`: the JSON it loaded): their
/// changes, the others', and, when they touched different places, their changes applied to the
/// latest version.
#[server(endpoint = "configurations/conflict")]
pub async fn configuration_conflict(
    namespace: String,
    name: String,
    seq: u64,
    loaded: String,
    json: String,
) -> Result<ConflictView, AppError> {
    let opened = super::ssr::open(confo::users::Role::Editor, &namespace, &name).await?;
    let base = super::ssr::parse_object(&loaded)?;
    let fields = super::ssr::parse_object(&json)?;
    let edits = [confo::edit::Edit::Replace { fields }];
    super::ssr::conflict(
        &opened.user,
        &opened.namespace,
        &opened.name,
        seq,
        Some(base),
        &edits,
    )
    .await
}
