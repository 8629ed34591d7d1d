//! The form view's table of fields. Each value is shown read-only with one Edit action, so a
//! keyboard reaches the fifth field in a few presses and a phone shows a row whole. One field (or
//! one item inside it) is open at a time: a control that suits its type (a switch for
//! true/false), and its menu with changing the type, renaming and removing. Every change goes to
//! a review first, shown in place; a refused change comes back there with what was typed.

use leptos::prelude::*;

use crate::api::configurations::{ChangeSummary, Hints};
use crate::error::AppError;

/// The types of value a field can have: the form's name for each, and the words shown for it.
const KINDS: [(&str, &str); 6] = [
    ("text", "text"),
    ("number", "number"),
    ("true/false", "true/false"),
    ("empty", "no value (null)"),
    ("list", "list"),
    ("object", "group of settings (object)"),
];

/// A type of value in words.
fn kind_words(kind: &str) -> &str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(kind, |(_, words)| words)
}

/// Where the form view's changes are posted to be reviewed (see `review_change`): a value of
/// any length gets through, and a short change comes back in the review page's address.
pub(super) const REVIEW_CHANGE: &str = "/api/configurations/review-change";

/// The version of the configuration a change is made against: its revision and the number of
/// its last history entry. A review keeps it, so that a change saved meanwhile is a conflict.
pub(super) type Base = (i64, u64);

/// Which configuration a form changes, and whether a comment is required there.
pub(super) struct Where {
    pub namespace: String,
    pub name: String,
    pub comment_required: bool,
}

/// A change that was refused, brought back to where it was made: what was typed, and why.
#[derive(Clone)]
pub(super) struct Refused {
    pub kind: String,
    pub value: String,
    pub error: AppError,
}

/// The address that opens `field` (or the place `path` inside it) for editing.
pub(super) fn edit_address(here: &str, field: &str, path: &str) -> String {
    let mut address = format!("{here}?edit={}", super::encode_component(field));
    if !path.is_empty() {
        address.push_str(&format!("&path={}", super::encode_component(path)));
    }
    address
}

fn kind_select(selected: &str, label: String) -> impl IntoView {
    let selected = selected.to_owned();
    view! {
        <select name="kind" aria-label=label>
            {KINDS.iter().map(|(k, words)| view! { <option value=*k selected=selected == *k>{*words}</option> }).collect_view()}
        </select>
    }
}

/// What goes into a value's input box: text as it reads, anything else as JSON.
fn box_text(json: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => json.to_owned(),
    }
}

/// A true/false value as a switch. Unchecked, the browser sends no value, which the `switch`
/// type reads as false; a free text box is never offered for true/false.
fn switch(on: bool, label: String, autofocus: bool) -> AnyView {
    view! {
        <input type="hidden" name="kind" value="switch"/>
        <label class="switch">
            <input type="checkbox" role="switch" name="value" value="true" checked=on aria-label=label autofocus=autofocus/>
            <span class="on" aria-hidden="true">"on (true)"</span>
            <span class="off" aria-hidden="true">"off (false)"</span>
        </label>
    }
    .into_any()
}

/// The value editor the schema asks for: a choice, or an input whose attributes carry the
/// schema's constraints (so the browser checks them too, also without JavaScript), with the
/// type fixed. `None` when the schema leaves the type open.
fn schema_input(hints: &Hints, text: &str, label: String, autofocus: bool) -> Option<AnyView> {
    let kind = hints.kind.clone()?;
    let current = text.to_owned();
    if kind == "true/false" && hints.choices.is_empty() {
        return Some(switch(current == "true", label, autofocus));
    }
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
            view! { {fixed_kind} <select name="value" aria-label=label required=hints.required autofocus=autofocus>{options}</select> }
                .into_any(),
        );
    }
    let input = match kind.as_str() {
        "text" | "number" => view! {
            <input
                type=hints.input_type.clone()
                name="value"
                value=current
                aria-label=label
                autofocus=autofocus
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
        "empty" => view! { <input type="hidden" name="value" value=""/> <span class="hint">"(no value)"</span> }.into_any(),
        _ => view! { <textarea name="value" rows="3" aria-label=format!("{label} (JSON)") autofocus=autofocus>{current}</textarea> }.into_any(),
    };
    Some(view! { {fixed_kind} {input} }.into_any())
}

/// A row's label from the schema: its title (with the stored name beside it), markers for
/// required, deprecated and read-only, the help text, examples and default, and the problems
/// the stored value has there.
pub(super) fn schema_label(name: &str, hints: Option<&Hints>) -> AnyView {
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

/// The editor of a value of `kind` (its type fixed), holding `text` (what goes into the box).
fn value_input(kind: &str, text: &str, label: String, autofocus: bool) -> AnyView {
    let fixed = |k: &str| view! { <input type="hidden" name="kind" value=k.to_owned()/> };
    match kind {
        "text" => view! { {fixed(kind)} <input type="text" name="value" value=text.to_owned() aria-label=label autofocus=autofocus/> }.into_any(),
        "number" => view! {
            {fixed(kind)}
            <input type="text" inputmode="decimal" name="value" value=text.to_owned() aria-label=label autofocus=autofocus/>
        }
        .into_any(),
        "true/false" | "switch" => switch(text == "true", label, autofocus),
        "empty" => view! { {fixed(kind)} <input type="hidden" name="value" value=""/> <span class="hint">"(no value)"</span> }.into_any(),
        _ => view! {
            {fixed(kind)}
            <textarea name="value" rows="3" aria-label=format!("{label} (JSON)") autofocus=autofocus>{text.to_owned()}</textarea>
        }
        .into_any(),
    }
}

/// The hidden inputs that say which configuration, which field (and where inside it) a change
/// is about, and which version it is made against: for a form posted to be reviewed.
fn target(at: &Where, op: &'static str, field: &str, path: &str, base: Base) -> impl IntoView {
    view! {
        <input type="hidden" name="namespace" value=at.namespace.clone()/>
        <input type="hidden" name="name" value=at.name.clone()/>
        {change_inputs(op, field, path, base)}
    }
}

/// Which field (and where inside it) a change is about, and its version: all a form needs that
/// opens the review on this page (`?op=...`).
fn change_inputs(op: &'static str, field: &str, path: &str, base: Base) -> impl IntoView {
    view! {
        <input type="hidden" name="revision" value=base.0.to_string()/>
        <input type="hidden" name="seq" value=base.1.to_string()/>
        <input type="hidden" name="op" value=op/>
        <input type="hidden" name="field" value=field.to_owned()/>
        {(!path.is_empty() || op == "add").then(|| view! { <input type="hidden" name="path" value=path.to_owned()/> })}
    }
}

/// One place of the table: a field, or an item or key inside one.
pub(super) struct Place<'a> {
    pub field: &'a str,
    /// Inside the field's value (a JSON Pointer); empty for the field itself.
    pub path: &'a str,
    /// In words, for labels: `retry_limit`, `servers › 0 › port`.
    pub place: String,
    pub kind: &'a str,
    pub json: &'a str,
    pub hints: Option<&'a Hints>,
    /// A field or an object's key (a list's items are numbered).
    pub renamable: bool,
}

/// A value as the table shows it, read-only: text as it reads, a list or an object by its size.
fn value_shown(kind: &str, json: &str, hints: Option<&Hints>) -> AnyView {
    if hints.is_some_and(|h| h.write_only) {
        return view! { <span class="hint">"hidden (write-only)"</span> }.into_any();
    }
    let value = serde_json::from_str::<serde_json::Value>(json).ok();
    let shown = match (kind, &value) {
        ("text", Some(serde_json::Value::String(s))) if s.is_empty() => {
            return view! { <span class="hint">"(empty text)"</span> }.into_any();
        }
        ("text", Some(serde_json::Value::String(s))) => {
            // A long text is shown in part; editing shows it whole.
            let mut shown: String = s.chars().take(300).collect();
            if shown.len() < s.len() {
                shown.push('…');
            }
            shown
        }
        ("empty", _) => return view! { <span class="hint">"no value"</span> }.into_any(),
        ("list", Some(serde_json::Value::Array(items))) => match items.len() {
            1 => "a list of 1 item".to_owned(),
            n => format!("a list of {n} items"),
        },
        ("object", Some(serde_json::Value::Object(keys))) => match keys.len() {
            1 => "a group of 1 setting".to_owned(),
            n => format!("a group of {n} settings"),
        },
        _ => json.to_owned(),
    };
    let class = if matches!(kind, "list" | "object") {
        "value hint"
    } else {
        "value"
    };
    view! { <span class=class>{shown}</span> }.into_any()
}

/// A row's cells after its label: the value with its type in words, its Edit (for an editor),
/// and who last changed it.
pub(super) fn row_cells(
    here: &str,
    p: &Place,
    can_edit: bool,
    last_change: Option<&ChangeSummary>,
) -> AnyView {
    view! {
        <td class="value-cell">
            {value_shown(p.kind, p.json, p.hints)}
            " " <span class="kind">{kind_words(p.kind).to_owned()}</span>
        </td>
        <td class="actions">{can_edit.then(|| edit_link(here, p)).flatten()}</td>
        <td class="last-change">{last_change_text(last_change)}</td>
    }
    .into_any()
}

/// A row across the whole table under a field's row: its open panel, or the saved notice.
pub(super) fn under_row(class: &'static str, content: AnyView) -> AnyView {
    view! { <tr class=class><td colspan="4">{content}</td></tr> }.into_any()
}

/// The Edit action of a row (a link, so it works without JavaScript and can be opened in a tab).
fn edit_link(here: &str, p: &Place) -> Option<AnyView> {
    if p.hints.is_some_and(|h| h.read_only) {
        return None;
    }
    Some(
        view! {
            <a class="edit button-link" href=edit_address(here, p.field, p.path) aria-label=format!("Edit {}", p.place)>"Edit"</a>
        }
        .into_any(),
    )
}

/// Who last changed a row and when, as text (the exact time on hover); what the change did is
/// one step away, in the row's edit panel.
fn last_change_text(change: Option<&ChangeSummary>) -> AnyView {
    match change {
        Some(c) => view! { <span title=format!("{} · {}", c.what, c.at)>{format!("{} · {}", c.who, c.when)}</span> }.into_any(),
        None => ().into_any(),
    }
}

/// Changing a value to another of the same type, reviewed before saving. A list or an object
/// is changed as a whole only on request; its items have rows of their own.
fn change_form(
    at: &Where,
    p: &Place,
    base: Base,
    refused: Option<&Refused>,
    focus: bool,
) -> AnyView {
    let label = format!("Value of {}", p.place);
    if let Some(h) = p.hints.filter(|h| h.write_only) {
        return write_only_form(at, p, h, label, base, focus);
    }
    // What was typed, when it was refused; else what is stored.
    let text = refused.map_or_else(|| box_text(p.json), |r| r.value.clone());
    let kind = refused.map_or(p.kind, |r| r.kind.as_str());
    let container = matches!(p.kind, "list" | "object");
    let focus = focus && (!container || refused.is_some());
    let input = match p
        .hints
        .and_then(|h| schema_input(h, &text, label.clone(), focus))
    {
        Some(input) => input,
        None if p.kind == "empty" && refused.is_none() => return ().into_any(),
        None => value_input(kind, &text, label, focus),
    };
    let form = view! {
        <form method="post" action=REVIEW_CHANGE class="field-edit" aria-invalid=refused.is_some().then_some("true")>
            {target(at, "set", p.field, p.path, base)}
            {input}
            <button type="submit" aria-label=format!("Review change to {}", p.place)>"Review change"</button>
        </form>
    };
    let fixed = p.hints.and_then(|h| h.kind.as_deref()).is_some();
    if container && !fixed {
        view! { <details class="as-json" open=refused.is_some()><summary>"Change it as a whole (JSON)"</summary>{form}</details> }
            .into_any()
    } else {
        form.into_any()
    }
}

/// Replacing a write-only value: typed into a password input and sent straight to the save as
/// a POST (never in an address, where it would stay in the browser's history and the server's
/// logs), with no review, which could only show it masked.
fn write_only_form(
    at: &Where,
    p: &Place,
    hints: &Hints,
    label: String,
    base: Base,
    focus: bool,
) -> AnyView {
    let place = p.place.clone();
    let kind = match hints.kind.as_deref() {
        Some("number") => "number",
        Some("text") | None => "text",
        Some(_) => "json",
    };
    let input = if kind == "json" {
        view! { <textarea name="edit[value]" rows="2" required aria-label=format!("{label} (JSON)") autofocus=focus></textarea> }.into_any()
    } else {
        view! {
            <input type="password" name="edit[value]" value="" required aria-label=label autofocus=focus
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
            <input type="hidden" name="edit[field]" value=p.field.to_owned()/>
            <input type="hidden" name="edit[kind]" value=kind/>
            <input type="hidden" name="edit[path]" value=p.path.to_owned()/>
            {input}
            <input type="text" name="comment" aria-label=format!("Comment for the history of {place}")
                placeholder=if at.comment_required { "comment (required)" } else { "comment (optional)" }
                required=at.comment_required/>
            <button type="submit" aria-label=format!("Replace {place}")>"Replace"</button>
        </form>
    }
    .into_any()
}

/// Adding an item to the list (or a key to the object) of `p`.
fn add_form(at: &Where, p: &Place, base: Base) -> Option<AnyView> {
    let list = match p.kind {
        "list" => true,
        "object" => false,
        _ => return None,
    };
    let (what, new) = if list {
        ("an item", "item")
    } else {
        ("a key", "key")
    };
    let place = &p.place;
    Some(
        view! {
            <form method="post" action=REVIEW_CHANGE class="field-add">
                {target(at, "add", p.field, p.path, base)}
                {(!list).then(|| view! {
                    <input type="text" name="to" required size="8" placeholder="key" autofocus aria-label=format!("New key in {place}")/>
                })}
                {kind_select("text", format!("Type of the new {new} in {place}"))}
                <input type="text" name="value" size="10" autofocus=list aria-label=format!("Value of the new {new} in {place}")/>
                <button type="submit" aria-label=format!("Add {what} to {place}")>{format!("Add {what}")}</button>
            </form>
        }
        .into_any(),
    )
}

/// The field's menu: changing the type of its value, renaming it, removing it. Each is reviewed
/// first; removing looks like what it is.
fn field_menu(at: &Where, p: &Place, base: Base, refused: Option<&Refused>) -> AnyView {
    let place = p.place.clone();
    let fixed = p.hints.and_then(|h| h.kind.as_deref()).is_some();
    let retype = (!fixed && !p.hints.is_some_and(|h| h.write_only)).then(|| {
        let text = refused.map_or_else(|| box_text(p.json), |r| r.value.clone());
        view! {
            <form method="post" action=REVIEW_CHANGE class="field-edit">
                {target(at, "set", p.field, p.path, base)}
                {kind_select(p.kind, format!("New type of {place}"))}
                <input type="text" name="value" value=text aria-label=format!("Value of {place} in its new type")/>
                <button type="submit" aria-label=format!("Review new type of {place}")>"Change the type"</button>
            </form>
        }
    });
    let rename = p.renamable.then(|| {
        view! {
            <form method="get" class="field-edit">
                {change_inputs("rename", p.field, p.path, base)}
                <input type="text" name="to" required aria-label=format!("New name for {place}") placeholder="new name" size="12"/>
                <button type="submit" aria-label=format!("Rename {place}")>"Rename"</button>
            </form>
        }
    });
    view! {
        // Open when a change of type was refused (a switch's own kind is no change of type).
        <details class="field-menu" open=refused.is_some_and(|r| r.kind != p.kind && r.kind != "switch")>
            <summary>{format!("More for {place}: type, name, remove")}</summary>
            {retype}
            {rename}
            <form method="get" class="field-edit">
                {change_inputs("delete", p.field, p.path, base)}
                <button type="submit" class="danger" aria-label=format!("Remove {place}")>{format!("Remove {place}…")}</button>
            </form>
        </details>
    }
    .into_any()
}

/// The open row's panel: what was refused (in place, with what was typed), the value's editor,
/// adding to a list or object, the menu, and the last change.
pub(super) fn edit_panel(
    at: &Where,
    here: &str,
    p: &Place,
    base: Base,
    refused: Option<&Refused>,
    last_change: Option<&ChangeSummary>,
) -> AnyView {
    let error = refused.map(|r| {
        let error = r.error.clone();
        view! { <super::ErrorMessage error/> }
    });
    let last = last_change.map(|c| {
        view! {
            <p class="hint">
                {format!("Last changed by {} {}. ", c.who, c.when)}
                <a href=format!("{here}/history?to={}", c.seq)>"What that change did"</a>
            </p>
        }
    });
    view! {
        <div class="edit-panel" id="editing">
            {error}
            {change_form(at, p, base, refused, true)}
            {add_form(at, p, base)}
            {field_menu(at, p, base, refused)}
            {last}
            <a href=here.to_owned()>"Close"</a>
        </div>
    }
    .into_any()
}

/// Adding a field, first step: its name and type. The second step offers the control that
/// suits the type (see [`new_field_panel`]).
pub(super) fn add_field_start(here: &str, name: &str, kind: &str) -> AnyView {
    view! {
        <form method="get" action=here.to_owned() class="stacked" id="add-field">
            <label>"Field name " <input type="text" name="new" value=name.to_owned() required autocomplete="off"/></label>
            <label>"Type of value " {kind_select(if kind.is_empty() { "text" } else { kind }, "Type of value".into())}</label>
            <button type="submit">"Next: its value"</button>
        </form>
    }
    .into_any()
}

/// Adding a field, second step: the value of the new field `name`, of type `kind`, in the
/// control that suits it; with what was typed and why it was refused, when it was.
pub(super) fn new_field_panel(
    at: &Where,
    here: &str,
    name: &str,
    kind: &str,
    base: Base,
    refused: Option<&Refused>,
) -> AnyView {
    let text = refused.map_or_else(String::new, |r| r.value.clone());
    let control = match kind {
        "list" | "object" => view! {
            <input type="hidden" name="kind" value=kind.to_owned()/>
            <label>{format!("Value of {name} (JSON; leave it empty to start with an empty {kind} and add to it afterwards) ")}
                <textarea name="value" rows="3" autofocus>{text}</textarea>
            </label>
        }
        .into_any(),
        "empty" => view! { <input type="hidden" name="kind" value="empty"/> <input type="hidden" name="value" value=""/> <p class="hint">"It will have no value (null)."</p> }.into_any(),
        "true/false" | "switch" => switch(text == "true", format!("Value of {name}"), true),
        _ => value_input(kind, &text, format!("Value of {name}"), true),
    };
    let error = refused.map(|r| {
        let error = r.error.clone();
        view! { <super::ErrorMessage error/> }
    });
    view! {
        <section class="edit-panel" id="new-field" aria-labelledby="new-field-heading">
            <h3 id="new-field-heading">{format!("New field {name}: {}", kind_words(kind))}</h3>
            {error}
            <form method="post" action=REVIEW_CHANGE class="field-edit" aria-invalid=refused.is_some().then_some("true")>
                {target(at, "set", name, "", base)}
                {control}
                <button type="submit">"Review new field"</button>
            </form>
            <a href=format!("{here}?new={}&kind={}", super::encode_component(name), super::encode_component(kind))>"Change its name or type"</a>
            " · "
            <a href=here.to_owned()>"Cancel"</a>
        </section>
    }
    .into_any()
}

/// A field the schema lists that is not set yet, with the form to set it.
pub(super) fn missing_form(at: &Where, p: &Place, base: Base) -> AnyView {
    change_form(at, p, base, None, false)
}
