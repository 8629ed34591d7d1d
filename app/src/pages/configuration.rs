//! One configuration: the form view (one row per field, each change reviewed before it is
//! saved, also without JavaScript), the JSON view (with JavaScript: checked as you type,
//! reviewed, saved with the revision it was loaded at), and the conflict view when someone else
//! saved in between.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::live::Live;
use super::{failure, loaded, thousands};
use crate::api::configurations::{
    ChangeSummary, Comparison, ConfigurationView, ConflictView, CreateConfiguration,
    DeleteConfiguration, FieldDiff, FieldEdit, FieldView, Hints, MAX_FORM_ROWS, ProblemView,
    Review, SaveEdit, TakeBack, configuration_conflict, get_configuration, load_draft,
    review_configuration, review_field, save_configuration, version_diff,
};
use crate::error::AppError;

const KINDS: [&str; 6] = ["text", "number", "true/false", "empty", "list", "object"];

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

fn kind_select(selected: String, label: String) -> impl IntoView {
    view! {
        <select name="kind" aria-label=label>
            {KINDS.iter().map(|k| view! { <option value=*k selected=selected == *k>{*k}</option> }).collect_view()}
        </select>
    }
}

/// The value editor the schema asks for: a choice, or an input whose attributes carry the
/// schema's constraints (so the browser checks them too, also without JavaScript), with the
/// kind fixed. `None` when the schema leaves the kind open.
fn schema_input(hints: &Hints, json: &str, label: String) -> Option<AnyView> {
    let kind = hints.kind.clone()?;
    let current = match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => json.to_owned(),
    };
    let fixed_kind = view! { <input type="hidden" name="kind" value=kind.clone()/> };
    if !hints.choices.is_empty() {
        let options = hints
            .choices
            .iter()
            .map(|(value, text)| {
                view! { <option value=value.clone() selected=*value == current>{text.clone()}</option> }
            })
            .collect_view();
        return Some(
            view! { {fixed_kind} <select name="value" aria-label=label required=hints.required>{options}</select> }
                .into_any(),
        );
    }
    let input = match kind.as_str() {
        "true/false" => view! {
            <select name="value" aria-label=label>
                <option value="true" selected=current == "true">"true"</option>
                <option value="false" selected=current != "true">"false"</option>
            </select>
        }
        .into_any(),
        "text" | "number" if hints.write_only => view! {
            <input type="password" name="value" value="" required aria-label=label
                autocomplete="new-password" placeholder="type a new value to replace it"/>
        }
        .into_any(),
        "text" | "number" => view! {
            <input
                type=hints.input_type.clone()
                name="value"
                value=current
                aria-label=label
                required=hints.required
                min=hints.min.clone()
                max=hints.max.clone()
                step=hints.step.clone()
                pattern=hints.pattern.clone()
                minlength=hints.min_length.map(|n| n.to_string())
                maxlength=hints.max_length.map(|n| n.to_string())
            />
        }
        .into_any(),
        "empty" => view! { <input type="hidden" name="value" value=""/> <span class="hint">"(empty)"</span> }.into_any(),
        _ => view! { <textarea name="value" rows="3" aria-label=format!("{label} (JSON)")>{json.to_owned()}</textarea> }.into_any(),
    };
    Some(view! { {fixed_kind} {input} }.into_any())
}

/// A row's label from the schema: its title (with the stored name beside it), markers for
/// required, deprecated and read-only, the help text, examples and default, and the problems
/// the stored value has there.
fn schema_label(name: &str, hints: Option<&Hints>) -> AnyView {
    let Some(h) = hints else {
        return view! { <span class="field-title">{name.to_owned()}</span> }.into_any();
    };
    let title = h.title.clone().unwrap_or_else(|| name.to_owned());
    let named = h
        .title
        .is_some()
        .then(|| view! { " " <code class="field-name">{name.to_owned()}</code> });
    let mut notes: Vec<String> = Vec::new();
    if !h.examples.is_empty() {
        notes.push(format!("For example {}.", h.examples.join(", ")));
    }
    if let Some(default) = &h.default {
        notes.push(format!("Default {default}."));
    }
    if let Some(format) = &h.format {
        notes.push(format!("Must be {format}."));
    }
    if h.as_json {
        notes.push("Edited as JSON: the schema allows more than the form can show.".to_owned());
    }
    view! {
        <span class="field-title">{title}</span>
        {named}
        {h.required.then(|| view! { " " <span class="badge required" title="The schema requires it">"required"</span> })}
        {h.deprecated.then(|| view! { " " <span class="badge deprecated" title="The schema marks it as on its way out">"deprecated"</span> })}
        {h.read_only.then(|| view! { " " <span class="badge">"read only"</span> })}
        {h.description.clone().map(|d| view! { <span class="field-help">{d}</span> })}
        {(!notes.is_empty()).then(|| view! { <span class="field-help hint">{notes.join(" ")}</span> })}
        {h.problems.iter().map(|p| view! { <span class="field-problem error">{p.clone()}</span> }).collect_view()}
    }
    .into_any()
}

/// The value editor of a field of `kind`, holding `json` (its current value as JSON), labelled
/// `label`.
fn value_input(kind: &str, json: &str, label: String) -> AnyView {
    match kind {
        "text" => {
            let text: String = serde_json::from_str(json).unwrap_or_default();
            view! { <input type="text" name="value" value=text aria-label=label/> }.into_any()
        }
        "number" => view! { <input type="text" inputmode="decimal" name="value" value=json.to_owned() aria-label=label/> }.into_any(),
        "true/false" => {
            let on = json == "true";
            view! {
                <select name="value" aria-label=label>
                    <option value="true" selected=on>"true"</option>
                    <option value="false" selected=!on>"false"</option>
                </select>
            }
            .into_any()
        }
        "empty" => view! { <input type="hidden" name="value" value=""/> <span class="hint">"(empty)"</span> }.into_any(),
        _ => view! { <textarea name="value" rows="3" aria-label=format!("{label} (JSON)")>{json.to_owned()}</textarea> }.into_any(),
    }
}

/// `pairs` as a URL query (`a=1&b=x%20y`).
fn query_of(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", super::encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Where the form view's changes are posted to be reviewed (see `review_change`): a value of
/// any length gets through, and a short change comes back in the review page's address.
const REVIEW_CHANGE: &str = "/api/configurations/review-change";

/// The version of the configuration a change is made against: its revision and the number of
/// its last history entry. A review keeps it, so that a change saved meanwhile is a conflict.
type Base = (i64, u64);

/// The hidden inputs that say which field (and where inside it) a form view change is about,
/// and which version it is made against.
fn target(op: &'static str, field: &str, path: &str, base: Base) -> impl IntoView {
    view! {
        <input type="hidden" name="revision" value=base.0.to_string()/>
        <input type="hidden" name="seq" value=base.1.to_string()/>
        <input type="hidden" name="op" value=op/>
        <input type="hidden" name="field" value=field.to_owned()/>
        {(!path.is_empty() || op == "add").then(|| view! { <input type="hidden" name="path" value=path.to_owned()/> })}
    }
}

/// Changing a value: its kind (chosen on purpose) and the new value, reviewed before saving. A
/// list or an object is changed as a whole only on request; its items have rows of their own.
#[expect(
    clippy::too_many_arguments,
    reason = "every caller names each part of the row"
)]
fn change_form(
    at: &Where,
    field: &str,
    path: &str,
    kind: &str,
    json: &str,
    place: String,
    base: Base,
    hints: Option<&Hints>,
) -> AnyView {
    // Every control names the field (or the place inside it) it is for.
    let label = format!("Value of {place}");
    if hints.is_some_and(|h| h.read_only) {
        return view! { <code>{json.to_owned()}</code> }.into_any();
    }
    if let Some(h) = hints.filter(|h| h.write_only) {
        return write_only_form(at, field, path, h, label, base);
    }
    let input = match hints.and_then(|h| schema_input(h, json, label.clone())) {
        Some(input) => input,
        None => view! {
            {kind_select(kind.to_owned(), format!("Kind of {place}"))}
            {value_input(kind, json, label)}
        }
        .into_any(),
    };
    let form = view! {
        <form method="post" action=REVIEW_CHANGE class="field-edit">
            <input type="hidden" name="namespace" value=at.namespace.clone()/>
            <input type="hidden" name="name" value=at.name.clone()/>
            {target("set", field, path, base)}
            {input}
            <button type="submit" aria-label=format!("Review change to {place}")>"Review change"</button>
        </form>
    };
    let fixed = hints.and_then(|h| h.kind.as_deref()).is_some();
    if matches!(kind, "list" | "object") && !fixed {
        view! { <details class="as-json"><summary>"Change it as a whole"</summary>{form}</details> }
            .into_any()
    } else {
        form.into_any()
    }
}

/// Which configuration a form changes, and whether a comment is required there.
struct Where {
    namespace: String,
    name: String,
    comment_required: bool,
}

/// Replacing a write-only value: typed into a password input and sent straight to the save as
/// a POST (never in an address, where it would stay in the browser's history and the server's
/// logs), with no review, which could only show it masked.
fn write_only_form(
    at: &Where,
    field: &str,
    path: &str,
    hints: &Hints,
    label: String,
    base: Base,
) -> AnyView {
    let place = label.strip_prefix("Value of ").unwrap_or(&label).to_owned();
    let kind = match hints.kind.as_deref() {
        Some("number") => "number",
        Some("text") | None => "text",
        Some(_) => "json",
    };
    let input = if kind == "json" {
        view! { <textarea name="edit[value]" rows="2" required aria-label=format!("{label} (JSON)")></textarea> }.into_any()
    } else {
        view! {
            <input type="password" name="edit[value]" value="" required aria-label=label
                autocomplete="new-password" placeholder="type a new value to replace it"/>
        }
        .into_any()
    };
    view! {
        <form method="post" action="/api/configurations/edit" class="field-edit write-only">
            <super::ReturnHere/>
            <input type="hidden" name="namespace" value=at.namespace.clone()/>
            <input type="hidden" name="name" value=at.name.clone()/>
            <input type="hidden" name="revision" value=base.0.to_string()/>
            <input type="hidden" name="seq" value=base.1.to_string()/>
            <input type="hidden" name="edit[op]" value="set"/>
            <input type="hidden" name="edit[field]" value=field.to_owned()/>
            <input type="hidden" name="edit[kind]" value=kind/>
            <input type="hidden" name="edit[path]" value=path.to_owned()/>
            {input}
            <input type="text" name="comment" aria-label=format!("Comment for the history of {place}")
                placeholder=if at.comment_required { "comment (required)" } else { "comment (optional)" }
                required=at.comment_required/>
            <button type="submit" aria-label=format!("Replace {place}")>"Replace"</button>
        </form>
    }
    .into_any()
}

/// Adding an item to the list (or a key to the object) at `path` inside `field`.
fn add_form(
    at: &Where,
    field: &str,
    path: &str,
    kind: &str,
    place: &str,
    base: Base,
) -> Option<AnyView> {
    let list = match kind {
        "list" => true,
        "object" => false,
        _ => return None,
    };
    let what = if list { "an item" } else { "a key" };
    Some(
        view! {
            <form method="post" action=REVIEW_CHANGE class="field-add">
                <input type="hidden" name="namespace" value=at.namespace.clone()/>
                <input type="hidden" name="name" value=at.name.clone()/>
                {target("add", field, path, base)}
                {(!list).then(|| view! {
                    <input type="text" name="to" required size="8" placeholder="key" aria-label=format!("New key in {place}")/>
                })}
                {kind_select("text".into(), format!("Kind of the new {} in {place}", if list { "item" } else { "key" }))}
                <input type="text" name="value" size="10" aria-label=format!("Value of the new {} in {place}", if list { "item" } else { "key" })/>
                <button type="submit" aria-label=format!("Add {what} to {place}")>{format!("Add {what}")}</button>
            </form>
        }
        .into_any(),
    )
}

/// Who last changed a row and when, linking to what that change did.
fn last_change_cell(here: &str, change: Option<ChangeSummary>) -> impl IntoView {
    let here = here.to_owned();
    view! {
        <td class="last-change">
            {change.map(|c| view! {
                <a href=format!("{here}/history?to={}", c.seq) title=format!("{} · {}", c.what, c.at)>{format!("{} · {}", c.who, c.when)}</a>
            })}
        </td>
    }
}

/// Rename (object keys and fields only) and remove, each reviewed.
fn row_actions(field: &str, path: &str, label: &str, renamable: bool, base: Base) -> impl IntoView {
    view! {
        {renamable.then(|| view! {
            <form method="get" class="inline">
                {target("rename", field, path, base)}
                <input type="text" name="to" required aria-label=format!("New name for {label}") placeholder="new name" size="10"/>
                <button type="submit" aria-label=format!("Rename {label}")>"Rename"</button>
            </form>
            " "
        })}
        <form method="get" class="inline">
            {target("delete", field, path, base)}
            <button type="submit" class="danger" aria-label=format!("Remove {label}")>"Remove"</button>
        </form>
    }
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

/// The comment input of a review; required where the namespace asks for one.
fn comment_input(required: bool, id: Option<&'static str>) -> impl IntoView {
    let text = if required {
        "Comment for the history (required in this namespace) "
    } else {
        "Comment for the history (optional) "
    };
    view! { <label>{text} <input type="text" name="comment" id=id required=required/></label> }
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
            view! {
                <tr class="missing">
                    <th scope="row">{schema_label(&f.name, hints.as_ref())}</th>
                    <td>{change_form(at, &f.name, "", &f.kind, &f.json, f.name.clone(), base, hints.as_ref())}</td>
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
    // A field change asked for in the address (?op=set|delete|rename&field=...) is reviewed first.
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
    // The version the change was made against, which the review keeps.
    let against = move || {
        (
            q("revision").parse::<i64>().ok(),
            q("seq").parse::<u64>().ok(),
        )
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

    let body = move |view: ConfigurationView, just_saved: Option<Comparison>| {
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
        } = view;
        let base: Base = (revision, seq);
        let here = format!("/ns/{ns}/{cfg}");
        let changed_now: Vec<String> = just_saved
            .as_ref()
            .map(|c| c.changes.iter().map(|d| d.field.clone()).collect())
            .unwrap_or_default();
        let notice = just_saved.map(|c| saved_notice(&ns, &cfg, c.to, &c.changes, undo));
        let review_panel = {
            let (ns, cfg, here) = (ns.clone(), cfg.clone(), here.clone());
            let last_change = last_change.clone();
            move || {
                let (ns, cfg, here) = (ns.clone(), cfg.clone(), here.clone());
                let last_change = last_change.clone();
                Suspend::new(async move {
                    let (edit, drafted_on, result) = review.await?;
                    // Made against the version in the address (or the draft's); a review opened
                    // without one is made against what the page shows.
                    let (made_on, made_seq) = match against() {
                        (Some(r), Some(s)) => (r, s),
                        _ => drafted_on.unwrap_or(base),
                    };
                    Some(match result {
                        Err(error) => view! {
                            <section class="review" id="review">
                                <super::ErrorMessage error/>
                                <a href=here>"Back to the fields"</a>
                            </section>
                        }
                        .into_any(),
                        Ok(Review {
                            changes,
                            place,
                            summary,
                            problems,
                            comment_required,
                            ..
                        }) => {
                            let changed_since = (made_on != revision).then(|| {
                                let who = last_change
                                    .as_ref()
                                    .map_or_else(|| "Someone".to_owned(), |c| format!("{} ({})", c.who, c.when));
                                // The same change, reviewed on the latest version.
                                let draft = draft_id();
                                let again = if !draft.is_empty() {
                                    format!("{here}?{}", query_of(&[
                                        ("draft", &draft),
                                        ("revision", &revision.to_string()),
                                        ("seq", &seq.to_string()),
                                    ]))
                                } else { format!(
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
                                ) };
                                view! {
                                    <p class="notice" role="alert" id="review-changed">
                                        {format!("{who} changed this configuration after you started this review. What you see below is the latest version; saving will show both changes and save nothing of yours.")}
                                        " " <a href=again id="review-again">"Review my change on the latest version"</a>
                                    </p>
                                }
                            });
                            // A change inside a field's value is saved like any value.
                            let button = match (edit.op.as_str(), edit.path.is_empty()) {
                                ("delete", true) => "Remove the field",
                                ("rename", true) => "Rename the field",
                                _ => "Save",
                            };
                            let FieldEdit {
                                op,
                                field,
                                kind,
                                value,
                                to,
                                path,
                            } = edit;
                            let form = view! {
                                <ActionForm action=save attr:class="stacked" attr:id="review-save">
                                    <super::ReturnHere/>
                                    <input type="hidden" name="namespace" value=ns.clone()/>
                                    <input type="hidden" name="name" value=cfg.clone()/>
                                    <input type="hidden" name="revision" value=made_on.to_string()/>
                                    <input type="hidden" name="seq" value=made_seq.to_string()/>
                                    // The edit itself, never the field's whole new value.
                                    <input type="hidden" name="edit[op]" value=op/>
                                    <input type="hidden" name="edit[field]" value=field/>
                                    <input type="hidden" name="edit[kind]" value=kind/>
                                    <input type="hidden" name="edit[value]" value=value/>
                                    <input type="hidden" name="edit[to]" value=to/>
                                    <input type="hidden" name="edit[path]" value=path/>
                                    {comment_input(comment_required, None)}
                                    <button type="submit">{button}</button>
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
                                    {refused.then(|| view! { <Problems problems id="review-problems" heading="This change cannot be saved:"/> })}
                                    {(!refused).then_some(form)}
                                    <a href=here>"Cancel"</a>
                                </section>
                            }
                            .into_any()
                        }
                    })
                })
            }
        };
        let at_of = || Where {
            namespace: ns.clone(),
            name: cfg.clone(),
            comment_required,
        };
        let at_missing = at_of();
        let rows = fields
            .into_iter()
            .map(|f| {
                let at = at_of();
                let field = f.name.clone();
                let hints = f.hints.clone();
                let main = if can_edit {
                    view! {
                        <td>
                            {change_form(&at, &field, "", &f.kind, &f.json, field.clone(), base, hints.as_ref())}
                            {add_form(&at, &field, "", &f.kind, &field, base)}
                        </td>
                        <td>{row_actions(&field, "", &field, true, base)}</td>
                    }
                    .into_any()
                } else {
                    view! { <td><code>{f.json.clone()}</code></td><td></td> }.into_any()
                };
                let field_change = last_change_cell(&here, f.last_change.clone());
                let inner = f
                    .inner
                    .into_iter()
                    .map(|row| {
                        let place = format!("{field} › {}", row.place);
                        let cells = if can_edit {
                            view! {
                                <td>
                                    {change_form(&at, &field, &row.path, &row.kind, &row.json, place.clone(), base, row.hints.as_ref())}
                                    {add_form(&at, &field, &row.path, &row.kind, &place, base)}
                                </td>
                                <td>{row_actions(&field, &row.path, &place, !row.in_list, base)}</td>
                            }
                            .into_any()
                        } else {
                            view! { <td><code>{row.json.clone()}</code></td><td></td> }.into_any()
                        };
                        let row_change = last_change_cell(&here, row.last_change.clone());
                        view! {
                            <tr class="inner">
                                <th scope="row" title=place.clone() class=format!("depth-{}", row.depth)>
                                    <span class="visually-hidden">{format!("{field} › ")}</span>
                                    {schema_label(&if row.in_list { format!("#{}", row.label) } else { row.label.clone() }, row.hints.as_ref())}
                                </th>
                                <td>{row.kind.clone()}</td>
                                {cells}
                                {row_change}
                            </tr>
                        }
                    })
                    .collect_view();
                let just_changed = changed_now.contains(&f.name);
                view! {
                    <tr class="field" class:just-changed=just_changed class:has-problem=hints.as_ref().is_some_and(|h| !h.problems.is_empty())>
                        <th scope="row">{schema_label(&f.name, hints.as_ref())}</th>
                        <td>{f.kind.clone()}</td>
                        {main}
                        {field_change}
                    </tr>
                    {inner}
                }
            })
            .collect_view();
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
        let add = can_edit.then(|| view! {
            <h2>"Add a field"</h2>
            <form method="post" action=REVIEW_CHANGE class="stacked" id="add-field">
                <input type="hidden" name="namespace" value=ns.clone()/>
                <input type="hidden" name="name" value=cfg.clone()/>
                <input type="hidden" name="revision" value=revision.to_string()/>
                <input type="hidden" name="seq" value=seq.to_string()/>
                <input type="hidden" name="op" value="set"/>
                <label>"Field name " <input type="text" name="field" required autocomplete="off"/></label>
                <label>"Kind of value " {kind_select("text".into(), "Kind of value".into())}</label>
                <label>"Value " <input type="text" name="value" autocomplete="off"/></label>
                <p class="hint">"For a list or an object, leave the value empty and add its items in its row afterwards, or write it in JSON, e.g. [1, 2] or {\"a\": 1}."</p>
                <button type="submit">"Review new field"</button>
            </form>
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
                    <label>"Name of the copy " <input type="text" name="name" required autocomplete="off"/></label>
                    {comment_input(comment_required, None)}
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
                        {comment_input(comment_required, None)}
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
        view! {
            <nav class="crumbs" aria-label="Breadcrumbs">
                <a href="/">"Namespaces"</a> " › " <a href=format!("/ns/{ns}")>{ns.clone()}</a> " › " {cfg.clone()}
            </nav>
            <h1>{cfg.clone()}</h1>
            <Live namespace=ns.clone() configuration=cfg.clone()/>
            // What live updates bring up to date.
            <div id="configuration-live" data-live="">
            <p class="meta">
                "Last change: " {super::namespace::last_change_text(&last_change)} " · "
                <a href=format!("{here}/history")>"History"</a>
            </p>
            <Suspense fallback=|| ()>{review_panel}</Suspense>
            {move || failure(save.value().get())}
            {notice}
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
            <h2>"Fields"</h2>
            {if empty {
                view! {
                    <p class="empty" id="fields-empty">
                        "No fields yet. A field is one setting: a name (like "<em>"port"</em>") and a value "
                        "(like "<em>"5432"</em>"), which may be text, a number, true/false, empty, a list or an object."
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <table id="fields">
                        <thead><tr><th>"Field"</th><th>"Kind"</th><th>"Value"</th><th></th><th>"Last change"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                    {more_rows}
                }
                .into_any()
            }}
            {(can_edit && !missing.is_empty()).then(move || missing_rows(&at_missing, &missing, base))}
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
                loaded(configuration.await, |view| body(view, just_saved))
            })}
        </Transition>
    }
}

/// What happened to a save from the JSON view.
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
            <textarea
                id="json-text"
                aria-label="The configuration as JSON"
                rows="12"
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
