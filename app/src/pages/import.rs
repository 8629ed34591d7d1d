//! `/import`: paste (or read) a file (JSON, YAML, TOML or `.env`), see what it would change,
//! then import it. The form is a POST that keeps the file for its preview, which is then an
//! address (`?staged=<token>`, with or without JavaScript) that never holds the file's text; the
//! import is a POST that writes only what the preview showed.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{ReturnHere, failure, loaded_part};
use crate::api::import::{
    ApplyImport, ConfigurationView, ImportForm, PreviewView, SchemaView, StageImport, StagedView,
    staged_import,
};

const EXISTING: [(&str, &str); 3] = [
    ("skip", "Leave them as they are"),
    ("overwrite", "Replace their whole value"),
    ("merge", "Set the file's top-level fields, keep the others"),
];

fn action_words(c: &ConfigurationView) -> String {
    match c.action.as_str() {
        "create" => "new: created".into(),
        "update" => "changed".into(),
        "unchanged" => "unchanged".into(),
        "skip" => "exists: left as it is".into(),
        "delete" => "not in the file: deleted".into(),
        _ => format!("refused: {}", c.refused.clone().unwrap_or_default()),
    }
}

fn configuration(c: ConfigurationView) -> impl IntoView {
    let rows = c
        .fields
        .iter()
        .filter(|f| f.state != "unchanged")
        .map(|f| {
            view! {
                <tr data-field=f.field.clone() data-state=f.state.clone()>
                    <th scope="row">{f.field.clone()}</th>
                    <td class="state">{f.state.clone()}</td>
                    <td class="before">{f.before.clone().unwrap_or_default()}</td>
                    <td class="after">{f.after.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let unchanged = c.fields.iter().filter(|f| f.state == "unchanged").count();
    let any_rows = c.fields.iter().any(|f| f.state != "unchanged");
    view! {
        <li data-configuration=c.name.clone() data-action=c.action.clone()>
            <strong>{c.name.clone()}</strong>": " {action_words(&c)}
            {(unchanged > 0).then(|| format!(" ({unchanged} fields unchanged)"))}
            {any_rows.then(|| view! {
                <table class="import-fields">
                    <thead><tr><th>"Field"</th><th>"What happens"</th><th>"Now"</th><th>"From the file"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            })}
            {(!c.problems.is_empty()).then(|| view! {
                <ul class="problems">{c.problems.iter().map(|p| view! { <li>{p.clone()}</li> }).collect_view()}</ul>
            })}
        </li>
    }
}

fn schema_row(r: SchemaView) -> impl IntoView {
    let words = match r.action.as_str() {
        "create" => "set".to_owned(),
        "update" => "changed".into(),
        "unchanged" => "unchanged".into(),
        "skip" => "exists: skipped".into(),
        _ => format!("refused: {}", r.refused.clone().unwrap_or_default()),
    };
    view! {
        <li data-schema=r.what.clone() data-action=r.action.clone()>
            <strong>{r.what.clone()}</strong>": " {words}
        </li>
    }
}

/// The formats the dashboard reads, the first the default.
const FORMATS: [(&str, &str); 4] = [
    ("json", "JSON"),
    ("yaml", "YAML"),
    ("toml", "TOML"),
    ("env", ".env"),
];

/// Reads a chosen file into the text box below it and picks its format by its name. Without
/// JavaScript there is no file to read: the hint says to paste.
#[island]
pub fn FilePicker() -> impl IntoView {
    let (status, set_status) = signal(String::new());
    let chosen = move |event: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        crate::browser::read_chosen_file(
            event,
            crate::api::import::MAX_PASTED_BYTES,
            move |said| set_status.set(said),
        );
        #[cfg(not(feature = "hydrate"))]
        let _ = (event, set_status);
    };
    view! {
        <label>"Read a file "
            <input type="file" id="import-file" accept=".json,.yaml,.yml,.toml,.env,text/plain" on:change=chosen/>
        </label>
        <p class="hint" id="import-file-status" aria-live="polite">{status}</p>
    }
}

/// The import form, filled with `form` (what was sent last): a POST that keeps the file for
/// its preview, so that the file's text is never in an address.
fn import_form(stage: ServerAction<StageImport>, form: ImportForm) -> impl IntoView {
    let format = if form.format.is_empty() {
        "json".to_owned()
    } else {
        form.format.clone()
    };
    let existing = if form.existing.is_empty() {
        "skip".to_owned()
    } else {
        form.existing.clone()
    };
    view! {
        <ActionForm action=stage attr:id="import-form" attr:class="stacked">
            <ReturnHere/>
            <FilePicker/>
            <label>"File contents "
                <textarea name="content" id="import-content" rows="10" spellcheck="false">{form.content.clone()}</textarea>
            </label>
            <label>"Format "
                <select name="format" id="import-format">
                    {FORMATS.iter().map(|(value, label)| view! {
                        <option value=*value selected=format == *value>{*label}</option>
                    }).collect_view()}
                </select>
            </label>
            <fieldset class="import-env">
                <legend>"For an .env file (not needed for one Confo exported)"</legend>
                <label>"Into " <input type="text" name="into" value=form.into.clone() placeholder="namespace/configuration" autocomplete="off"/></label>
                <label>"Split keys on " <input type="text" name="separator" value=form.separator.clone() placeholder="e.g. __ (empty: one field per key)" autocomplete="off"/></label>
            </fieldset>
            <label>"Configurations that exist already "
                <select name="existing">
                    {EXISTING.iter().map(|(value, label)| view! {
                        <option value=*value selected=existing == *value>{*label}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="choice"><input type="checkbox" name="delete_missing" value="true" checked=form.delete_missing/>
                " Delete the configurations of these namespaces that the file does not hold"</label>
            <label>"Rename namespaces " <input type="text" name="renames" value=form.renames.clone() placeholder="old=new, other-name=other_name"/></label>
            <button type="submit">"Preview"</button>
        </ActionForm>
    }
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let query = use_query_map();
    let q = move |key: &str| query.read().get(key).unwrap_or_default();
    let stage = ServerAction::<StageImport>::new();
    let apply = ServerAction::<ApplyImport>::new();
    let staged = Resource::new(
        move || q("staged"),
        |token| async move {
            if token.is_empty() {
                return Ok(None);
            }
            staged_import(token).await.map(Some)
        },
    );
    let done = move || {
        let written = q("written");
        (!written.is_empty()).then(|| {
            view! {
                <p class="notice saved" role="status" id="import-done">{format!(
                    "Imported: {written} configurations written, {} sent for review, {} not written.{}",
                    q("requested"),
                    q("failed"),
                    match q("schemas").as_str() {
                        "" | "0" => String::new(),
                        n => format!(" {n} schema changes written."),
                    }
                )}</p>
            }
        })
    };
    let body = move |form: ImportForm, shown: PreviewView| {
        let namespaces = shown
            .namespaces
            .into_iter()
            .map(|n| {
                let about = [
                    (!n.exists).then_some("new namespace"),
                    n.reviewed.then_some("reviewed: a change request is opened"),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
                view! {
                    <section class="import-namespace" data-namespace=n.name.clone()>
                        <h3>{n.name.clone()}
                            {n.from.clone().map(|f| format!(" (from {f})"))}
                            {(!about.is_empty()).then(|| format!(" · {about}"))}
                        </h3>
                        {n.refused.clone().map(|why| view! { <p class="error" role="alert">{why}</p> })}
                        <ul class="import-configurations">
                            {n.configurations.into_iter().map(configuration).collect_view()}
                        </ul>
                        {(!n.schemas.is_empty()).then(|| view! {
                            <h4>"Schemas"</h4>
                            <ul class="import-schemas">{n.schemas.into_iter().map(schema_row).collect_view()}</ul>
                        })}
                    </section>
                }
            })
            .collect_view();
        let writes = shown.writes;
        let schema_writes = shown.schema_writes;
        view! {
            <section id="import-preview" aria-labelledby="import-preview-heading">
                <h2 id="import-preview-heading">"What it would change"</h2>
                {namespaces}
                {if writes == 0 && schema_writes == 0 {
                    view! { <p id="import-nothing">"Nothing to import: everything is as the file says, skipped or refused."</p> }.into_any()
                } else {
                    view! {
                        <ActionForm action=apply attr:id="import-apply" attr:class="stacked">
                            <ReturnHere/>
                            <input type="hidden" name="content" value=form.content.clone()/>
                            <input type="hidden" name="format" value=form.format.clone()/>
                            <input type="hidden" name="existing" value=form.existing.clone()/>
                            <input type="hidden" name="delete_missing" value=if form.delete_missing { "true" } else { "false" }/>
                            <input type="hidden" name="renames" value=form.renames.clone()/>
                            <input type="hidden" name="into" value=form.into.clone()/>
                            <input type="hidden" name="separator" value=form.separator.clone()/>
                            <input type="hidden" name="seen" value=shown.seen.clone()/>
                            <label>"Comment for the history " <input type="text" name="comment"/></label>
                            <button type="submit">{if writes == 0 {
                                "Restore the schemas".to_owned()
                            } else {
                                format!("Import {writes} {}", if writes == 1 { "configuration" } else { "configurations" })
                            }}</button>
                        </ActionForm>
                    }.into_any()
                }}
            </section>
        }
    };
    view! {
        <h1>"Import"</h1>
        {done}
        <p class="hint">"Paste, or read from a file, a Confo bundle or JSON export (namespace → configuration → fields), YAML or TOML of the same shape, or an .env file. You see what it would change before anything is written. Files over 1 MiB, and the original Confo's files (a folder, .tar.gz or .zip): "<code>"confo import"</code>"."</p>
        {move || failure(stage.value().get()).map(|e| view! { <div id="import-stage-error">{e}</div> })}
        {move || failure(apply.value().get()).map(|e| view! { <div id="import-error">{e}</div> })}
        <Transition fallback=|| view! { <p>"Reading…"</p> }>
            {move || Suspend::new(async move {
                match staged.await {
                    Ok(Some(StagedView { form, preview })) => view! {
                        {import_form(stage, form.clone())}
                        {loaded_part(preview, move |shown| body(form, shown))}
                    }.into_any(),
                    Ok(None) => view! {
                        {import_form(stage, ImportForm::default())}
                        <p class="hint">"Paste a file above to see what it would change."</p>
                    }.into_any(),
                    Err(error) => view! {
                        {import_form(stage, ImportForm::default())}
                        {loaded_part(Err::<(), _>(error), |()| ())}
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
