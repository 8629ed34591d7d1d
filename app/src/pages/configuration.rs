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
    ChangeSummary, ConfigurationView, ConflictView, CreateConfiguration, DeleteConfiguration,
    FieldDiff, FieldEdit, MAX_FORM_ROWS, Review, SaveEdit, configuration_conflict,
    get_configuration, review_configuration, review_field, save_configuration,
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
fn change_form(
    field: &str,
    path: &str,
    kind: &str,
    json: &str,
    label: String,
    base: Base,
) -> AnyView {
    let form = view! {
        <form method="get" class="field-edit">
            {target("set", field, path, base)}
            {kind_select(kind.to_owned(), format!("Kind of {}", label.to_lowercase()))}
            {value_input(kind, json, label)}
            <button type="submit">"Review change"</button>
        </form>
    };
    if matches!(kind, "list" | "object") {
        view! { <details class="as-json"><summary>"Change it as a whole"</summary>{form}</details> }
            .into_any()
    } else {
        form.into_any()
    }
}

/// Adding an item to the list (or a key to the object) at `path` inside `field`.
fn add_form(field: &str, path: &str, kind: &str, place: &str, base: Base) -> Option<AnyView> {
    let list = match kind {
        "list" => true,
        "object" => false,
        _ => return None,
    };
    let what = if list { "an item" } else { "a key" };
    Some(
        view! {
            <form method="get" class="field-add">
                {target("add", field, path, base)}
                {(!list).then(|| view! {
                    <input type="text" name="to" required size="8" placeholder="key" aria-label=format!("New key in {place}")/>
                })}
                {kind_select("text".into(), format!("Kind of the new {} in {place}", if list { "item" } else { "key" }))}
                <input type="text" name="value" size="10" aria-label=format!("Value of the new {} in {place}", if list { "item" } else { "key" })/>
                <button type="submit">{format!("Add {what}")}</button>
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
                <a href=format!("{here}/history?to={}", c.seq) title=c.what.clone()>{format!("{} · {}", c.who, c.when)}</a>
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
                <button type="submit">"Rename"</button>
            </form>
            " "
        })}
        <form method="get" class="inline">
            {target("delete", field, path, base)}
            <button type="submit">"Remove"</button>
        </form>
    }
}

#[component]
pub fn ConfigurationPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let namespace = move || params.read().get("ns").unwrap_or_default();
    let name = move || params.read().get("cfg").unwrap_or_default();
    let q = move |key: &str| query.read().get(key).unwrap_or_default();
    let save = ServerAction::<SaveEdit>::new();
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
    let review = Resource::new(
        move || (namespace(), name(), pending()),
        |(namespace, name, pending)| async move { Some(review_field(namespace, name, pending?).await) },
    );

    let body = move |view: ConfigurationView| {
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
        } = view;
        let base: Base = (revision, seq);
        let here = format!("/ns/{ns}/{cfg}");
        let review_panel = {
            let (ns, cfg, here) = (ns.clone(), cfg.clone(), here.clone());
            let last_change = last_change.clone();
            move || {
                let (ns, cfg, here) = (ns.clone(), cfg.clone(), here.clone());
                let last_change = last_change.clone();
                Suspend::new(async move {
                    let result = review.await?;
                    let edit = pending()?;
                    // Made against the version in the address; a review opened without one is
                    // made against what the page shows.
                    let (made_on, made_seq) = match against() {
                        (Some(r), Some(s)) => (r, s),
                        _ => base,
                    };
                    Some(match result {
                        Err(error) => view! {
                            <section class="review" id="review">
                                <super::ErrorMessage error/>
                                <a href=here>"Back to the fields"</a>
                            </section>
                        }
                        .into_any(),
                        Ok(Review { changes, place, .. }) => {
                            let changed_since = (made_on != revision).then(|| {
                                let who = last_change
                                    .as_ref()
                                    .map_or_else(|| "Someone".to_owned(), |c| format!("{} ({})", c.who, c.when));
                                // The same change, reviewed on the latest version.
                                let again = format!(
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
                                );
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
                                    <label>"Comment for the history (optional) " <input type="text" name="comment"/></label>
                                    <button type="submit">{button}</button>
                                </ActionForm>
                            };
                            view! {
                                <section class="review" id="review" aria-labelledby="review-heading" data-review="">
                                    <h2 id="review-heading">{match place {
                                        Some(place) => format!("Review your change to {place}"),
                                        None => "Review your change".to_owned(),
                                    }}</h2>
                                    {changed_since}
                                    <DiffTable changes=changes/>
                                    {form}
                                    <a href=here>"Cancel"</a>
                                </section>
                            }
                            .into_any()
                        }
                    })
                })
            }
        };
        let rows = fields
            .into_iter()
            .map(|f| {
                let field = f.name.clone();
                let main = if can_edit {
                    view! {
                        <td>
                            {change_form(&field, "", &f.kind, &f.json, "Value".into(), base)}
                            {add_form(&field, "", &f.kind, &field, base)}
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
                                    {change_form(&field, &row.path, &row.kind, &row.json, format!("Value of {place}"), base)}
                                    {add_form(&field, &row.path, &row.kind, &place, base)}
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
                                    {if row.in_list { format!("#{}", row.label) } else { row.label.clone() }}
                                </th>
                                <td>{row.kind.clone()}</td>
                                {cells}
                                {row_change}
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <tr class="field">
                        <th scope="row">{f.name.clone()}</th>
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
            <form method="get" class="stacked" id="add-field">
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
                <JsonEditor namespace=ns.clone() name=cfg.clone() json=json.clone() revision=revision seq=seq/>
                <h2>"Duplicate"</h2>
                <ActionForm action=duplicate attr:class="stacked" attr:id="duplicate">
                    <super::ReturnHere/>
                    <input type="hidden" name="namespace" value=ns3/>
                    <input type="hidden" name="copy_from" value=cfg3/>
                    <label>"Name of the copy " <input type="text" name="name" required autocomplete="off"/></label>
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
            {add}
            {read_only}
            </div>
            {more}
        }
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { loaded(configuration.await, body) })}
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
            .map(|e| format!("Line {}, column {}: {e}", e.line(), e.column()))
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
    view! {
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
        {move || problem().map(|p| view! { <p class="error" role="alert" id="json-problem">{p}</p> })}
        <button
            type="button"
            id="json-review"
            disabled=move || problem().is_some()
            on:click=move |_| { review.dispatch(text.get_untracked()); }
        >"Review changes"</button>
        {move || review.value().get().map(|result| match result {
            Err(error) => view! { <super::ErrorMessage error/> }.into_any(),
            Ok(Review { changes, .. }) => view! {
                <section class="review" id="json-review-panel">
                    <h3>"Review your changes"</h3>
                    <DiffTable changes=changes/>
                    <label>"Comment for the history (optional) "
                        <input type="text" prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))/>
                    </label>
                    <button type="button" id="json-save" on:click=move |_| {
                        save.dispatch((text.get_untracked(), comment.get_untracked()));
                    }>"Save"</button>
                </section>
            }.into_any(),
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
    }
}
