//! One configuration: the form view (one row per field, each change reviewed before it is
//! saved, also without JavaScript), the JSON view (with JavaScript: checked as you type,
//! reviewed, saved with the revision it was loaded at), and the conflict view when someone else
//! saved in between.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::edit_table::{
    Base, Place, Refused, Where, add_field_start, edit_panel, missing_form, new_field_panel,
    row_cells, schema_label, under_row,
};
use super::live::Live;
use super::{failure, loaded, thousands};
use crate::api::configurations::{
    ChangeSummary, Comparison, ConfigurationView, ConflictView, CreateConfiguration,
    DeleteConfiguration, FieldDiff, FieldEdit, FieldView, MAX_FORM_ROWS, ProblemView, Review,
    ReviewNote, SaveEdit, TakeBack, configuration_conflict, get_configuration, load_draft,
    review_configuration, review_field, save_configuration, version_diff,
};
use crate::error::AppError;

/// A field-level diff: one row per changed field, old and new value.
#[component]
pub(crate) fn DiffTable(changes: Vec<FieldDiff>) -> impl IntoView {
    if changes.is_empty() {
        return view! { <p class="empty">"Nothing changes."</p> }.into_any();
    }
    let rows = changes
        .into_iter()
        .map(|c| {
            let (before, after) = (c.before.clone(), c.after.clone());
            view! {
                <tr>
                    <th scope="row">{c.field}</th>
                    <td class="before">{before.unwrap_or_else(|| "(not there)".into())}</td>
                    <td class="after">{after.unwrap_or_else(|| "(removed)".into())}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="diff">
            <thead><tr><th>"Field"</th><th>"Before"</th><th>"After"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="hint">"Text is shown in quotes; numbers, true/false and empty without."</p>
    }
    .into_any()
}

/// `pairs` as a URL query (`a=1&b=x%20y`).
fn query_of(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", super::encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A field's change in words: `limit: 3 → 5`.
fn change_words(change: &FieldDiff) -> String {
    match (&change.before, &change.after) {
        (Some(before), Some(after)) => format!("{}: {before} → {after}", change.field),
        (None, Some(after)) => format!("{}: added, {after}", change.field),
        (Some(_), None) => format!("{}: removed", change.field),
        (None, None) => change.field.clone(),
    }
}

/// Where the person is after a save: what version `seq` changed, the changed rows marked, and an
/// Undo that takes back exactly that change (and is refused, saying why, once a later change
/// touched the same places).
fn saved_notice(
    ns: &str,
    cfg: &str,
    seq: u64,
    changes: &[FieldDiff],
    undo: ServerAction<TakeBack>,
) -> AnyView {
    let (ns, cfg) = (ns.to_owned(), cfg.to_owned());
    let history = format!("/ns/{ns}/{cfg}/history?to={seq}");
    let words = if changes.is_empty() {
        "Nothing changed.".to_owned()
    } else {
        changes
            .iter()
            .map(change_words)
            .collect::<Vec<_>>()
            .join("; ")
    };
    view! {
        <section class="saved" id="saved" role="status" aria-labelledby="saved-heading">
            <h2 id="saved-heading">"Saved"</h2>
            <p id="saved-summary">{words}</p>
            <ActionForm action=undo attr:class="inline" attr:id="undo">
                <super::ReturnHere/>
                <input type="hidden" name="namespace" value=ns/>
                <input type="hidden" name="name" value=cfg/>
                <input type="hidden" name="seq" value=seq.to_string()/>
                <input type="hidden" name="comment" value=""/>
                <button type="submit" autofocus>"Undo"</button>
            </ActionForm>
            " " <a href=history>"Details"</a>
            {move || failure(undo.value().get())}
        </section>
    }
    .into_any()
}

/// The comment input of a review; required where the namespace asks for one. A review's has the
/// focus, so that Enter saves.
fn comment_input(required: bool, id: Option<&'static str>, focus: bool) -> impl IntoView {
    let text = if required {
        "Comment for the history (required in this namespace) "
    } else {
        "Comment for the history (optional) "
    };
    view! { <label>{text} <input type="text" name="comment" id=id required=required autofocus=focus/></label> }
}

/// Schema problems, each with its place.
#[component]
fn Problems(problems: Vec<ProblemView>, id: &'static str, heading: &'static str) -> impl IntoView {
    view! {
        <div class="problems" id=id role="alert">
            <p class="error">{heading}</p>
            <ul>
                {problems.into_iter().map(|p| view! { <li><strong>{p.place}</strong>": "{p.message}</li> }).collect_view()}
            </ul>
        </div>
    }
}

/// The fields the schema lists that are not set yet, each with a form to set it.
fn missing_rows(at: &Where, missing: &[FieldView], base: Base) -> AnyView {
    let rows = missing
        .iter()
        .map(|f| {
            let hints = f.hints.clone();
            let place = Place {
                field: &f.name,
                path: "",
                place: f.name.clone(),
                kind: &f.kind,
                json: &f.json,
                hints: hints.as_ref(),
                renamable: false,
            };
            view! {
                <tr class="missing">
                    <th scope="row">{schema_label(&f.name, hints.as_ref())}</th>
                    <td>{missing_form(at, &place, base)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h2>"Not set yet"</h2>
        <p class="hint">"The schema lists these settings; this configuration does not have them yet."</p>
        <table id="fields-missing">
            <thead><tr><th>"Setting"</th><th>"Value"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// A change asked for in the page's address (or a draft), with the version it was made
/// against (a draft's own), and the review of it: what it changes, or why it is refused.
type Reviewed = (FieldEdit, Option<Base>, Result<Review, AppError>);

/// What a review panel needs of the page around it.
struct ReviewAt {
    namespace: String,
    name: String,
    here: String,
    /// The configuration's version as shown.
    base: Base,
    last_change: Option<ChangeSummary>,
    /// The version in the address (a review opened from an earlier version keeps it).
    against: (Option<i64>, Option<u64>),
    draft: String,
    /// In a reviewed namespace, what the person should know; changes are sent for review.
    review: Option<ReviewNote>,
}

/// The review of a change that can be saved (or, with the schema's problems, cannot): what it
/// changes, who changed the configuration since the change was made, the comment and Save.
fn review_section(
    at: &ReviewAt,
    edit: FieldEdit,
    drafted_on: Option<Base>,
    review: Review,
    save: ServerAction<SaveEdit>,
) -> AnyView {
    let (revision, seq) = at.base;
    let here = at.here.clone();
    // Made against the version in the address (or the draft's); a review opened without one is
    // made against what the page shows.
    let (made_on, made_seq) = match at.against {
        (Some(r), Some(s)) => (r, s),
        _ => drafted_on.unwrap_or(at.base),
    };
    let Review {
        changes,
        place,
        summary,
        problems,
        comment_required,
        notes,
        ..
    } = review;
    let changed_since = (made_on != revision).then(|| {
        let who = at
            .last_change
            .as_ref()
            .map_or_else(|| "Someone".to_owned(), |c| format!("{} ({})", c.who, c.when));
        // The same change, reviewed on the latest version.
        let again = if !at.draft.is_empty() {
            format!(
                "{here}?{}",
                query_of(&[
                    ("draft", &at.draft),
                    ("revision", &revision.to_string()),
                    ("seq", &seq.to_string()),
                ])
            )
        } else {
            format!(
                "{here}?{}",
                query_of(&[
                    ("revision", &revision.to_string()),
                    ("seq", &seq.to_string()),
                    ("op", &edit.op),
                    ("field", &edit.field),
                    ("kind", &edit.kind),
                    ("value", &edit.value),
                    ("to", &edit.to),
                    ("path", &edit.path),
                ])
            )
        };
        view! {
            <p class="notice" role="alert" id="review-changed">
                {format!("{who} changed this configuration after you started this review. What you see below is the latest version; saving will show both changes and save nothing of yours.")}
                " " <a href=again id="review-again">"Review my change on the latest version"</a>
            </p>
        }
    });
    // A change inside a field's value is saved like any value.
    let (button, danger) = match (edit.op.as_str(), edit.path.is_empty()) {
        ("delete", true) => ("Remove the field", true),
        ("delete", false) => ("Remove it", true),
        ("rename", true) => ("Rename the field", false),
        _ => ("Save", false),
    };
    // In a reviewed namespace the change is sent for review: in a new request, or added to one
    // of the person's own that are still open.
    let (button, for_review) = match &at.review {
        Some(note) => {
            let options = note
                .mine
                .iter()
                .map(|(id, title)| {
                    view! { <option value=id.to_string()>{format!("Add it to my request {id}: {title}")}</option> }
                })
                .collect_view();
            let pick = view! {
                <label>"Send it in "
                    <select name="into" id="review-into">
                        <option value="">"a new change request"</option>
                        <option value="draft">"a new draft (not asking for review yet)"</option>
                        {options}
                    </select>
                </label>
            };
            (
                "Send for review",
                Some(view! {
                    <p class="notice" id="review-reviewed">
                        "Your change will be sent for review. Nothing changes until someone else approves it and it is published."
                    </p>
                    {pick}
                }),
            )
        }
        None => (button, None),
    };
    let FieldEdit {
        op,
        field,
        kind,
        value,
        to,
        path,
    } = edit;
    let (namespace, name) = (at.namespace.clone(), at.name.clone());
    let form = view! {
        <ActionForm action=save attr:class="stacked" attr:id="review-save">
            <super::ReturnHere/>
            <input type="hidden" name="namespace" value=namespace/>
            <input type="hidden" name="name" value=name/>
            <input type="hidden" name="revision" value=made_on.to_string()/>
            <input type="hidden" name="seq" value=made_seq.to_string()/>
            // The edit itself, never the field's whole new value.
            <input type="hidden" name="edit[op]" value=op/>
            <input type="hidden" name="edit[field]" value=field/>
            <input type="hidden" name="edit[kind]" value=kind/>
            <input type="hidden" name="edit[value]" value=value/>
            <input type="hidden" name="edit[to]" value=to/>
            <input type="hidden" name="edit[path]" value=path/>
            {for_review}
            {comment_input(comment_required, None, true)}
            <button type="submit" class:danger=danger>{button}</button>
        </ActionForm>
    };
    let refused = !problems.is_empty();
    view! {
        <section class="review" id="review" aria-labelledby="review-heading" data-review="">
            <h2 id="review-heading">{match place {
                Some(place) => format!("Review your change to {place}"),
                None => "Review your change".to_owned(),
            }}</h2>
            {changed_since}
            <p class="summary" id="review-summary">{summary}</p>
            <DiffTable changes=changes/>
            {notes.into_iter().map(|n| view! { <p class="notice review-note">{n}</p> }).collect_view()}
            {refused.then(|| view! { <Problems problems id="review-problems" heading="This change cannot be saved:"/> })}
            {move || failure(save.value().get())}
            {(!refused).then_some(form)}
            <a href=here>"Cancel"</a>
        </section>
    }
    .into_any()
}

/// In a reviewed namespace: how changes are made here, and the open requests that change this
/// configuration.
fn review_banner(note: ReviewNote) -> impl IntoView {
    let touching = (!note.touching.is_empty()).then(|| {
        let items = note
            .touching
            .into_iter()
            .map(|(id, title, author)| {
                view! { <li><a href=format!("/requests/{id}")>{format!("Request {id}: {title}")}</a>{format!(" by {author}")}</li> }
            })
            .collect_view();
        view! {
            <p>"Open change requests that change this configuration:"</p>
            <ul id="touching-requests">{items}</ul>
        }
    });
    view! {
        <section class="notice" id="review-policy" aria-label="Review">
            <p>{note.policy}" Your changes are sent for review. "<a href="/requests">"All change requests"</a></p>
            {touching}
        </section>
    }
}

/// Where a review belongs in the table: the row of the field (or the place inside it) it
/// changes, or, for a list or an object getting a new item, that list's row.
fn review_row(edit: &FieldEdit) -> (String, String) {
    (edit.field.trim().to_owned(), edit.path.clone())
}

/// `token` as one step of a JSON Pointer (RFC 6901): `~` as `~0`, `/` as `~1`.
fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[component]
pub fn ConfigurationPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let namespace = move || params.read().get("ns").unwrap_or_default();
    let name = move || params.read().get("cfg").unwrap_or_default();
    let q = move |key: &str| query.read().get(key).unwrap_or_default();
    let save = ServerAction::<SaveEdit>::new();
    let undo = ServerAction::<TakeBack>::new();
    let delete = ServerAction::<DeleteConfiguration>::new();
    let duplicate = ServerAction::<CreateConfiguration>::new();
    let configuration = Resource::new(
        move || (namespace(), name(), save.version().get()),
        |(namespace, name, ..)| get_configuration(namespace, name),
    );
    // A field change asked for in the address (?op=set|delete|rename|add&field=...) is reviewed
    // first.
    let pending = move || {
        let op = q("op");
        (!op.is_empty()).then(|| FieldEdit {
            op,
            field: q("field"),
            kind: q("kind"),
            value: q("value"),
            to: q("to"),
            path: q("path"),
        })
    };
    // The change just saved (?saved=N), confirmed where the person is, with an Undo.
    let saved = Resource::new(
        move || (namespace(), name(), q("saved").parse::<u64>().ok()),
        |(namespace, name, seq)| async move {
            let seq = seq?;
            version_diff(namespace, name, None, seq).await.ok()
        },
    );
    // A change too long for the address waits as the person's draft (?draft=ID), with the
    // version it was made against.
    let draft_id = move || q("draft");
    let review = Resource::new(
        move || (namespace(), name(), pending(), draft_id()),
        |(namespace, name, pending, draft)| async move {
            let (edit, made_on) = if draft.is_empty() {
                (pending?, None)
            } else {
                match load_draft(namespace.clone(), name.clone(), draft).await {
                    Ok(draft) => (draft.edit, Some((draft.revision, draft.seq))),
                    Err(error) => return Some((FieldEdit::default(), None, Err(error))),
                }
            };
            let result = review_field(namespace, name, edit.clone()).await;
            Some((edit, made_on, result))
        },
    );

    let body = move |view: ConfigurationView,
                     just_saved: Option<Comparison>,
                     reviewed: Option<Reviewed>| {
        let ConfigurationView {
            namespace: ns,
            name: cfg,
            fields,
            json,
            revision,
            seq,
            last_change,
            can_edit,
            more_fields,
            more_json,
            schema,
            problems,
            missing,
            comment_required,
            review,
        } = view;
        let base: Base = (revision, seq);
        let here = format!("/ns/{ns}/{cfg}");
        let review_at = ReviewAt {
            namespace: ns.clone(),
            name: cfg.clone(),
            here: here.clone(),
            base,
            last_change: last_change.clone(),
            against: (
                q("revision").parse::<i64>().ok(),
                q("seq").parse::<u64>().ok(),
            ),
            draft: draft_id(),
            review: review.clone(),
        };
        // The row open for editing: the one asked for (?edit=field&path=...), or the one a
        // review is about. A review of a field that has no row (a new one) shows above the
        // table, or, refused, in the new field's panel.
        let exists = |field: &str, path: &str| {
            fields.iter().any(|f| {
                f.name == field && (path.is_empty() || f.inner.iter().any(|r| r.path == path))
            })
        };
        let mut open: Option<(String, String)> = None;
        let mut in_row: Option<AnyView> = None;
        // A review shows why its save failed; without one, the failure shows above the table.
        let mut has_review = false;
        let mut refused: Option<Refused> = None;
        let mut on_top: Option<AnyView> = None;
        let mut new_field: Option<(String, String)> = None;
        match reviewed {
            Some((edit, drafted_on, result)) => {
                let (field, path) = review_row(&edit);
                let has_row = exists(&field, &path);
                match result {
                    Ok(review) => {
                        let section = review_section(&review_at, edit, drafted_on, review, save);
                        has_review = true;
                        if has_row {
                            open = Some((field, path));
                            in_row = Some(section);
                        } else {
                            on_top = Some(section);
                        }
                    }
                    Err(error) => {
                        let kept = Refused {
                            kind: edit.kind.clone(),
                            value: edit.value.clone(),
                            error: error.clone(),
                        };
                        if has_row {
                            open = Some((field, path));
                            refused = Some(kept);
                        } else if edit.op == "set" && path.is_empty() && !field.is_empty() {
                            new_field = Some((field, edit.kind));
                            refused = Some(kept);
                        } else {
                            on_top = Some(
                                view! {
                                    <section class="review" id="review">
                                        <super::ErrorMessage error/>
                                        <a href=here.clone()>"Back to the fields"</a>
                                    </section>
                                }
                                .into_any(),
                            );
                        }
                    }
                }
            }
            None => {
                let (field, path) = (q("edit"), q("path"));
                if !field.is_empty() && exists(&field, &path) {
                    open = Some((field, path));
                }
            }
        }
        if new_field.is_none() && !q("new").trim().is_empty() && !q("kind").is_empty() {
            new_field = Some((q("new").trim().to_owned(), q("kind")));
        }
        // In the middle of a change: a field open, a review, or a new field on its way.
        let in_change = can_edit && (open.is_some() || on_top.is_some() || new_field.is_some());
        let is_open =
            |field: &str, path: &str| open.as_ref().is_some_and(|(f, p)| f == field && p == path);
        // The change just saved is confirmed after its row (or above the table, when its row is
        // gone), with the Undo.
        let changed_now: Vec<String> = just_saved
            .as_ref()
            .map(|c| c.changes.iter().map(|d| d.field.clone()).collect())
            .unwrap_or_default();
        let notice_row = changed_now
            .iter()
            .find(|name| fields.iter().any(|f| &f.name == *name))
            .cloned();
        let mut notice = just_saved.map(|c| saved_notice(&ns, &cfg, c.to, &c.changes, undo));
        let notice_on_top = if notice_row.is_none() {
            notice.take()
        } else {
            None
        };
        let at = Where {
            namespace: ns.clone(),
            name: cfg.clone(),
            comment_required,
        };
        // The open row's panel: the review in place, or the editor (with a refused change).
        let mut panel_for = |p: &Place, last: Option<&ChangeSummary>| -> AnyView {
            match in_row.take() {
                Some(review) => review,
                None => edit_panel(&at, &here, p, base, refused.as_ref(), last),
            }
        };
        // The place a search result leads to (`?found=/servers/0/host`), marked in its row.
        let found = q("found");
        let mut rows: Vec<AnyView> = Vec::new();
        for f in &fields {
            let field = f.name.as_str();
            let hints = f.hints.as_ref();
            let top = format!("/{}", pointer_token(field));
            let p = Place {
                field,
                path: "",
                place: field.to_owned(),
                kind: &f.kind,
                json: &f.json,
                hints,
                renamable: true,
            };
            let just_changed = changed_now.iter().any(|c| c == field);
            let open_here = can_edit && is_open(field, "");
            rows.push(
                view! {
                    <tr class="field" class:just-changed=just_changed class:open=open_here
                        class:found=found == top id=(found == top).then_some("found")
                        class:has-problem=hints.is_some_and(|h| !h.problems.is_empty())>
                        <th scope="row">{schema_label(field, hints)}</th>
                        {row_cells(&here, &p, can_edit, f.last_change.as_ref())}
                    </tr>
                }
                .into_any(),
            );
            if open_here {
                rows.push(under_row("editing", panel_for(&p, f.last_change.as_ref())));
            }
            if notice_row.as_deref() == Some(field)
                && let Some(notice) = notice.take()
            {
                rows.push(under_row("saved-row", notice));
            }
            for row in &f.inner {
                let place = format!("{field} › {}", row.place);
                let p = Place {
                    field,
                    path: &row.path,
                    place: place.clone(),
                    kind: &row.kind,
                    json: &row.json,
                    hints: row.hints.as_ref(),
                    renamable: !row.in_list,
                };
                // A list's items are numbered from 1 for people; the stored number on hover.
                let label = if row.in_list {
                    let n = row
                        .label
                        .parse::<usize>()
                        .map_or(row.label.clone(), |n| (n + 1).to_string());
                    view! { <span title=format!("index {}", row.label)>{schema_label(&format!("item {n}"), row.hints.as_ref())}</span> }.into_any()
                } else {
                    schema_label(&row.label, row.hints.as_ref())
                };
                let open_here = can_edit && is_open(field, &row.path);
                let found_here = found == format!("{top}{}", row.path);
                rows.push(
                    view! {
                        <tr class="inner" class:open=open_here class:found=found_here
                            id=found_here.then_some("found")>
                            <th scope="row" title=place.clone() class=format!("depth-{}", row.depth)>
                                <span class="visually-hidden">{format!("{field} › ")}</span>
                                {label}
                            </th>
                            {row_cells(&here, &p, can_edit, row.last_change.as_ref())}
                        </tr>
                    }
                    .into_any(),
                );
                if open_here {
                    rows.push(under_row(
                        "editing",
                        panel_for(&p, row.last_change.as_ref()),
                    ));
                }
            }
        }
        let empty = json == "{}";
        // Past the form view's rows, the other fields as text: a huge configuration is no huge
        // page.
        let more_rows = (more_fields > 0).then(|| {
            let edit_them = if can_edit {
                "The JSON view below edits every field, these too."
            } else {
                "The JSON below shows every field."
            };
            view! {
                <section id="fields-more" aria-labelledby="fields-more-heading">
                    <h3 id="fields-more-heading">{format!("{} more fields", thousands(more_fields))}</h3>
                    <p class="hint">
                        {format!(
                            "The form view shows at most {} rows; the other {} fields are shown here as JSON, read only. {edit_them}",
                            thousands(MAX_FORM_ROWS),
                            thousands(more_fields),
                        )}
                    </p>
                    <pre id="fields-more-json">{more_json}</pre>
                </section>
            }
        });
        let add = can_edit.then(|| {
            let step = match &new_field {
                Some((name, kind)) => {
                    new_field_panel(&at, &here, name, kind, base, refused.as_ref())
                }
                None => add_field_start(&here, "", ""),
            };
            view! {
                <h2 id="add-field-heading">"Add a field"</h2>
                {step}
            }
        });
        let more = can_edit.then(|| {
            let (ns2, cfg2) = (ns.clone(), cfg.clone());
            let (ns3, cfg3) = (ns.clone(), cfg.clone());
            view! {
                <JsonEditor namespace=ns.clone() name=cfg.clone() json=json.clone() revision=revision seq=seq comment_required/>
                <h2>"Duplicate"</h2>
                <ActionForm action=duplicate attr:class="stacked" attr:id="duplicate">
                    <super::ReturnHere/>
                    <input type="hidden" name="namespace" value=ns3/>
                    <input type="hidden" name="copy_from" value=cfg3/>
                    <super::KeepTyped names="name"/>
                    <label>"Name of the copy " <input type="text" name="name" value=super::kept(query, "name") required autocomplete="off"/></label>
                    {comment_input(comment_required, None, false)}
                    <p class="hint">"Write-only values are not copied."</p>
                    <button type="submit">"Duplicate"</button>
                </ActionForm>
                {move || failure(duplicate.value().get())}
                // Open when the deletion failed, so that its error shows (also without JavaScript).
                <details class="danger" open=move || delete.value().get().is_some_and(|r| r.is_err())>
                    <summary>"Delete this configuration"</summary>
                    <ActionForm action=delete attr:class="stacked" attr:id="delete-configuration">
                        <super::ReturnHere/>
                        <input type="hidden" name="namespace" value=ns2/>
                        <input type="hidden" name="name" value=cfg2/>
                        <label>"Type its name to confirm " <input type="text" name="confirm" required autocomplete="off"/></label>
                        {comment_input(comment_required, None, false)}
                        <button type="submit" class="danger">"Delete the configuration"</button>
                    </ActionForm>
                    {move || failure(delete.value().get())}
                </details>
            }
        });
        let read_only = (!can_edit).then(|| {
            view! {
                <h2>"JSON"</h2>
                <pre id="json-read-only">{json.clone()}</pre>
            }
        });
        let missing = (can_edit && !missing.is_empty()).then(|| missing_rows(&at, &missing, base));
        view! {
            <nav class="crumbs" aria-label="Breadcrumbs">
                <a href="/">"Namespaces"</a> " › " <a href=format!("/ns/{ns}")>{ns.clone()}</a> " › " {cfg.clone()}
            </nav>
            <h1>{cfg.clone()}</h1>
            <Live namespace=ns.clone() configuration=cfg.clone() editing=in_change/>
            {review.map(review_banner)}
            // What live updates bring up to date.
            <div id="configuration-live" data-live="">
            <p class="meta">
                "Last change: " {super::namespace::last_change_text(&last_change)} " · "
                <a href=format!("{here}/history")>"History"</a>
            </p>
            {on_top}
            {(!has_review).then_some(move || failure(save.value().get()))}
            {notice_on_top}
            <p class="meta" id="schema-status">
                {match &schema {
                    Some(which) => format!("Checked against {which}. "),
                    None => "No schema: any value is accepted. ".to_owned(),
                }}
                <a href=format!("{here}/schema")>{if schema.is_some() { "See or change the schema" } else { "Give it a schema" }}</a>
                {comment_required.then_some(" · Every change in this namespace needs a comment.")}
            </p>
            {(!problems.is_empty()).then(|| view! {
                <Problems problems=problems.clone() id="stored-problems"
                    heading="The stored value does not match its schema here (another tool may have written it). Changes elsewhere can still be saved; a change is refused only when it adds a problem:"/>
            })}
            <h2 id="fields-heading">"Fields"</h2>
            {if empty {
                view! {
                    <p class="empty" id="fields-empty">
                        "No fields yet. A field is one setting: a name (like "<em>"port"</em>") and a value "
                        "(like "<em>"5432"</em>"), which may be text, a number, true/false, no value, a list or a group of settings."
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <table id="fields" class="fields">
                        <thead><tr><th>"Setting"</th><th>"Value"</th><th><span class="visually-hidden">"Actions"</span></th><th>"Last change"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                    {more_rows}
                }
                .into_any()
            }}
            {missing}
            {add}
            {read_only}
            </div>
            {more}
        }
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let just_saved = saved.await;
                let reviewed = review.await;
                loaded(configuration.await, |view| body(view, just_saved, reviewed))
            })}
        </Transition>
    }
}

#[derive(Clone)]
enum Outcome {
    Saved,
    Conflict(Box<ConflictView>),
    Failed(AppError),
}

/// The JSON view: a text editor with line numbers, checked as you type, then reviewed and saved
/// with the revision it was loaded at.
#[island]
fn JsonEditor(
    namespace: String,
    name: String,
    json: String,
    revision: i64,
    seq: u64,
    comment_required: bool,
) -> impl IntoView {
    let text = RwSignal::new(json.clone());
    // What the editor was loaded with: edits are what differ from it.
    let loaded_text = RwSignal::new(json.clone());
    let base = RwSignal::new((revision, seq));
    let comment = RwSignal::new(String::new());
    let saved = RwSignal::new(false);
    let problem = move || {
        serde_json::from_str::<serde_json::Value>(&text.get())
            .err()
            .map(|e| {
                (
                    format!(
                        "Line {}",
                        crate::json_words::json_problem(&e).trim_start_matches("line ")
                    ),
                    crate::json_words::technical(&e),
                )
            })
    };
    let (ns1, n1) = (namespace.clone(), name.clone());
    let review = Action::new(move |json: &String| {
        let (ns, n, json) = (ns1.clone(), n1.clone(), json.clone());
        async move { review_configuration(ns, n, json).await }
    });
    let (ns2, n2) = (namespace.clone(), name.clone());
    let save = Action::new(move |(json, comment): &(String, String)| {
        let (ns, n, json, comment) = (ns2.clone(), n2.clone(), json.clone(), comment.clone());
        let (revision, seq) = base.get_untracked();
        let loaded = loaded_text.get_untracked();
        async move {
            match save_configuration(ns.clone(), n.clone(), revision, seq, json.clone(), comment)
                .await
            {
                Ok(saved) if saved.request.is_some() => {
                    // A reviewed namespace: the change went to a request, shown on its page.
                    #[cfg(feature = "hydrate")]
                    if let Some(id) = saved.request {
                        let _ = window()
                            .location()
                            .set_href(&format!("/requests/{id}?sent=1"));
                    }
                    Outcome::Saved
                }
                Ok(saved) => {
                    // From now on edits are made against what was just saved, whenever the
                    // page's refresh arrives; and its arrival as a live update is this page's.
                    #[cfg(feature = "hydrate")]
                    if saved.revision > revision {
                        crate::browser::wrote(saved.revision);
                    }
                    base.set((saved.revision, saved.seq));
                    loaded_text.set(json);
                    Outcome::Saved
                }
                Err(AppError::Conflict(_)) => {
                    match configuration_conflict(ns, n, seq, loaded, json).await {
                        Ok(conflict) => Outcome::Conflict(Box::new(conflict)),
                        Err(e) => Outcome::Failed(e),
                    }
                }
                Err(e) => Outcome::Failed(e),
            }
        }
    });
    // Loads the stored version into the editor, unless the person is editing.
    let (ns3, n3) = (namespace.clone(), name.clone());
    let load_latest = Action::new(move |_: &()| {
        let (ns, n) = (ns3.clone(), n3.clone());
        async move {
            if let Ok(latest) = get_configuration(ns, n).await
                && text.get_untracked() == loaded_text.get_untracked()
            {
                text.set(latest.json.clone());
                loaded_text.set(latest.json);
                base.set((latest.revision, latest.seq));
            }
        }
    });
    // The rest of the page shows the stored version again: so does the editor.
    #[cfg(not(feature = "hydrate"))]
    let _ = load_latest;
    #[cfg(feature = "hydrate")]
    {
        let refreshed = crate::browser::refreshed();
        Effect::new(move |first: Option<()>| {
            refreshed.track();
            if first.is_some() {
                review.value().set(None);
                load_latest.dispatch(());
            }
        });
    }
    Effect::new(move || {
        if matches!(save.value().get(), Some(Outcome::Saved)) {
            saved.set(true);
            // What was saved is no longer an edit (the save set what it is compared with); the
            // page and the editor then show the stored version.
            review.value().set(None);
            #[cfg(feature = "hydrate")]
            leptos::task::spawn_local(async move {
                if crate::browser::refresh().await.is_err() {
                    load_latest.dispatch(());
                }
            });
        }
    });
    // Edits are not to be lost by accident, and make the "saved" notice stale.
    let dirty = move || text.get() != loaded_text.get();
    Effect::new(move || {
        let dirty = dirty();
        #[cfg(feature = "hydrate")]
        crate::browser::set_unsaved(dirty);
        if dirty {
            saved.set(false);
        }
    });
    #[cfg(feature = "hydrate")]
    {
        let unload = window_event_listener(leptos::ev::beforeunload, move |event| {
            if dirty() {
                event.prevent_default();
            }
        });
        on_cleanup(move || unload.remove());
    }
    let lines = move || {
        (1..=text.get().lines().count().max(1))
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Offered only once the page's JavaScript runs (an effect never runs on the server): without
    // it, the form view does everything.
    let running = RwSignal::new(false);
    Effect::new(move |_| running.set(true));
    view! {
        <section id="json-view" hidden=move || !running.get()>
        <h2>"JSON view"</h2>
        <p class="hint">"For people who know JSON: edit the whole configuration at once."</p>
        <div class="json-editor">
            <pre class="gutter" aria-hidden="true">{lines}</pre>
            // One row per line, never wrapped, so that each line stays beside its number; the
            // editor scrolls as a whole.
            <textarea
                id="json-text"
                aria-label="The configuration as JSON"
                rows=move || (text.get().lines().count().max(1) + 1).to_string()
                wrap="off"
                spellcheck="false"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
            >{json}</textarea>
        </div>
        {move || problem().map(|(p, technical)| view! { <p class="error" role="alert" id="json-problem" title=technical>{p}</p> })}
        <button
            type="button"
            id="json-review"
            disabled=move || problem().is_some()
            on:click=move |_| { review.dispatch(text.get_untracked()); }
        >"Review changes"</button>
        {move || review.value().get().map(|result| match result {
            Err(error) => view! { <super::ErrorMessage error/> }.into_any(),
            Ok(Review { changes, summary, problems, .. }) => {
                let refused = !problems.is_empty();
                view! {
                    <section class="review" id="json-review-panel">
                        <h3>"Review your changes"</h3>
                        <p class="summary">{summary}</p>
                        <DiffTable changes=changes/>
                        {refused.then(|| view! { <Problems problems id="json-problems" heading="These changes cannot be saved:"/> })}
                        <label>{if comment_required { "Comment for the history (required in this namespace) " } else { "Comment for the history (optional) " }}
                            <input type="text" required=comment_required prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))/>
                        </label>
                        <button type="button" id="json-save" disabled=move || refused || (comment_required && comment.get().trim().is_empty()) on:click=move |_| {
                            save.dispatch((text.get_untracked(), comment.get_untracked()));
                        }>"Save"</button>
                    </section>
                }.into_any()
            }
        })}
        {move || saved.get().then(|| view! { <p role="status" id="json-saved">"Saved."</p> })}
        {move || save.value().get().map(|outcome| match outcome {
            Outcome::Saved => ().into_any(),
            Outcome::Failed(error) => view! { <super::ErrorMessage error/> }.into_any(),
            Outcome::Conflict(conflict) => {
                let ConflictView { mine, theirs, others, overlap, merged, latest } = *conflict;
                let who = others
                    .iter()
                    .map(|c| format!("{} {} ({})", c.who, c.what, c.when))
                    .collect::<Vec<_>>()
                    .join("; ");
                let latest_json = latest.json.clone();
                let (latest_revision, latest_seq) = (latest.revision, latest.seq);
                let merged_json = merged.clone();
                view! {
                    <section class="conflict" id="conflict" role="alert">
                        <h3>"Someone else saved this configuration while you were editing"</h3>
                        <p>{format!("Saved meanwhile: {who}. Nothing of yours was written.")}</p>
                        <h4>"Your change"</h4>
                        <DiffTable changes=mine/>
                        <h4>"Their change"</h4>
                        <DiffTable changes=theirs/>
                        {(!overlap.is_empty()).then(|| view! {
                            <p class="error">{format!("You both changed: {}. Re-applying is not offered for those; discard yours and edit the latest version.", overlap.join(", "))}</p>
                        })}
                        {merged_json.map(|merged| view! {
                            <button type="button" id="conflict-reapply" on:click=move |_| {
                                text.set(merged.clone());
                                base.set((latest_revision, latest_seq));
                                save.value().set(None);
                                review.dispatch(merged.clone());
                            }>"Re-apply my change on the latest version"</button>
                        })}
                        " "
                        <button type="button" id="conflict-discard" on:click=move |_| {
                            text.set(latest_json.clone());
                            loaded_text.set(latest_json.clone());
                            base.set((latest_revision, latest_seq));
                            save.value().set(None);
                            review.value().set(None);
                            #[cfg(feature = "hydrate")]
                            leptos::task::spawn_local(async {
                                let _ = crate::browser::refresh().await;
                            });
                        }>"Discard my change"</button>
                    </section>
                }
                .into_any()
            }
        })}
        </section>
    }
}
