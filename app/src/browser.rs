//! What the islands share in the browser: whether the person has unsaved edits, and bringing
//! the server-rendered parts of the page up to date without reloading it.
//!
//! Pages mark the parts that show stored data with `data-live` and an `id`. To refresh, the page
//! is fetched again and each such part is replaced by its new rendering; islands stay outside
//! those parts, so they keep their state.

use std::cell::Cell;

use leptos::prelude::*;
use leptos::wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DomParser, HtmlInputElement, HtmlOptionElement, HtmlSelectElement, HtmlTextAreaElement,
    Response, SupportedType,
};

thread_local! {
    static UNSAVED: Cell<bool> = const { Cell::new(false) };
    static WRITTEN: std::cell::RefCell<Vec<i64>> = const { std::cell::RefCell::new(Vec::new()) };
    static LEAVING: Cell<bool> = const { Cell::new(false) };
    static REFRESHED: ArcRwSignal<u32> = ArcRwSignal::new(0);
}

/// An island holds edits that are not saved (or no longer does).
pub fn set_unsaved(unsaved: bool) {
    UNSAVED.set(unsaved);
}

/// Whether refreshing the page now would lose something the person typed: an island says so,
/// or a form control in a live part differs from what the server rendered.
pub fn unsaved() -> bool {
    UNSAVED.get() || edited_controls()
}

/// Notes a revision this page wrote (a save it made), so that its arrival as a live update is
/// known as the person's own change, not someone else's.
pub fn wrote(revision: i64) {
    WRITTEN.with(|w| {
        let mut w = w.borrow_mut();
        w.push(revision);
        // A page saves a handful of times; the last few are all that can still arrive.
        let len = w.len();
        if len > 32 {
            w.drain(..len - 32);
        }
    });
}

/// Whether this page wrote `revision` (see [`wrote`]).
pub fn written_here(revision: i64) -> bool {
    WRITTEN.with(|w| w.borrow().contains(&revision))
}

/// Counts the refreshes; islands that show stored data themselves track it to reload.
pub fn refreshed() -> ArcRwSignal<u32> {
    REFRESHED.with(Clone::clone)
}

fn edited_controls() -> bool {
    let Ok(controls) = document().query_selector_all(
        "[data-live] input:not([type=hidden]):not([type=search]), [data-live] textarea, [data-live] select",
    ) else {
        return false;
    };
    (0..controls.length())
        .filter_map(|i| controls.item(i))
        .any(|node| {
            if let Some(input) = node.dyn_ref::<HtmlInputElement>() {
                input.value() != input.default_value() || input.checked() != input.default_checked()
            } else if let Some(text) = node.dyn_ref::<HtmlTextAreaElement>() {
                text.default_value()
                    .is_ok_and(|default| text.value() != default)
            } else if let Some(select) = node.dyn_ref::<HtmlSelectElement>() {
                let options: Vec<HtmlOptionElement> = (0..select.length())
                    .filter_map(|i| select.item(i))
                    .filter_map(|o| o.dyn_into::<HtmlOptionElement>().ok())
                    .collect();
                // A drop-down list that marks no option shows its first one that can be chosen,
                // untouched.
                let marked = options.iter().any(HtmlOptionElement::default_selected);
                let shown = (!marked && !select.multiple() && select.size() <= 1)
                    .then(|| options.iter().position(|o| !o.disabled()))
                    .flatten();
                options
                    .iter()
                    .enumerate()
                    .any(|(i, o)| o.selected() != (o.default_selected() || shown == Some(i)))
            } else {
                false
            }
        })
}

/// Notes when the person leaves the page (a form is sent, a link followed), so that a refresh
/// never gets in the way of where they are going; coming back (from the browser's cache) resets it.
pub fn watch_leaving() {
    for handle in [
        window_event_listener(leptos::ev::submit, |_| LEAVING.set(true)),
        window_event_listener(leptos::ev::beforeunload, |_| LEAVING.set(true)),
        window_event_listener(leptos::ev::pageshow, |_| LEAVING.set(false)),
    ] {
        // For the life of the page.
        std::mem::forget(handle);
    }
}

/// Renders the page again on the server and puts the new rendering of each live part in place.
/// When the page's shape changed (a part is gone, say the configuration was deleted), the whole
/// page is loaded again.
pub async fn refresh() -> Result<(), JsValue> {
    refresh_from(&window().location().href()?, false).await
}

/// [`refresh`] for a change someone else made: if the person types into the page while its new
/// rendering is on its way, what they typed is kept and the page is left as it is.
pub async fn refresh_for_others() -> Result<(), JsValue> {
    refresh_from(&window().location().href()?, true).await
}

/// Shows the page at `href` (the same page with another query, say) by putting its live parts
/// in place, and makes it the page's address.
pub async fn navigate_in_place(href: &str) -> Result<(), JsValue> {
    window()
        .history()?
        .replace_state_with_url(&JsValue::NULL, "", Some(href))?;
    refresh_from(href, false).await
}

async fn refresh_from(href: &str, keep_typed: bool) -> Result<(), JsValue> {
    if LEAVING.get() {
        return Ok(());
    }
    let window = window();
    let response: Response = JsFuture::from(window.fetch_with_str(href))
        .await?
        .dyn_into()?;
    let html = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    let fresh = DomParser::new()?.parse_from_string(&html, SupportedType::TextHtml)?;
    // For a live update: typed into while the new rendering was on its way, so what was typed
    // stays, and the next change brings the page up to date.
    if LEAVING.get() || (keep_typed && unsaved()) {
        return Ok(());
    }
    let parts = document().query_selector_all("[data-live]")?;
    for part in (0..parts.length()).filter_map(|i| parts.item(i)) {
        let Ok(part) = part.dyn_into::<web_sys::Element>() else {
            continue;
        };
        match fresh.get_element_by_id(&part.id()) {
            Some(new) => {
                // What the person opened stays open (a form under "Delete …", say), so that the
                // refresh does not close it between opening it and typing into it.
                let opened = open_details(&part);
                if let Ok(details) = new.query_selector_all("details") {
                    for details in (0..details.length()).filter_map(|i| details.item(i)) {
                        if let Ok(details) = details.dyn_into::<web_sys::Element>()
                            && opened.contains(&summary_text(&details))
                        {
                            details.set_attribute("open", "")?;
                        }
                    }
                }
                part.replace_with_with_node_1(&new)?
            }
            None => return window.location().reload(),
        }
    }
    local_times();
    REFRESHED.with(|n| n.update(|n| *n += 1));
    Ok(())
}

/// Says the exact times of the page (written `2026-11-30 08:00 UTC` in its hover texts) in the
/// person's own time zone, which only the browser knows.
pub fn local_times() {
    let Ok(titled) = document().query_selector_all("[title*=' UTC']") else {
        return;
    };
    for element in (0..titled.length()).filter_map(|i| titled.item(i)) {
        let Ok(element) = element.dyn_into::<web_sys::Element>() else {
            continue;
        };
        if let Some(title) = element.get_attribute("title") {
            let local = local_title(&title);
            if local != title {
                let _ = element.set_attribute("title", &local);
            }
        }
    }
}

/// `title` with each `YYYY-MM-DD HH:MM[:SS] UTC` in it written as local time.
fn local_title(title: &str) -> String {
    let mut out = String::new();
    let mut rest = title;
    while let Some(at) = rest.find(" UTC") {
        let before = &rest[..at];
        let stamp = [19, 16].into_iter().find_map(|n| {
            let start = before.len().checked_sub(n)?;
            let text = before.get(start..)?;
            let ok = text.as_bytes().iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                10 => *b == b' ',
                13 | 16 => *b == b':',
                _ => b.is_ascii_digit(),
            });
            ok.then_some((start, text))
        });
        match stamp.and_then(|(start, text)| Some((start, local_time(text)?))) {
            Some((start, local)) => {
                out.push_str(&before[..start]);
                out.push_str(&local);
            }
            None => out.push_str(&rest[..at + 4]),
        }
        rest = &rest[at + 4..];
    }
    out.push_str(rest);
    out
}

/// A UTC time (`2026-11-30 08:00[:00]`) as the browser says it in its time zone, with the zone.
fn local_time(utc: &str) -> Option<String> {
    let iso = format!("{}Z", utc.replacen(' ', "T", 1));
    let date = js_sys::Date::new(&JsValue::from_str(&iso));
    if date.get_time().is_nan() {
        return None;
    }
    let options = js_sys::Object::new();
    // (`dateStyle` cannot be combined with `timeZoneName`: the browser throws.)
    for (key, value) in [
        ("year", "numeric"),
        ("month", "short"),
        ("day", "numeric"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("timeZoneName", "short"),
    ] {
        js_sys::Reflect::set(&options, &key.into(), &value.into()).ok()?;
    }
    let language = window()
        .navigator()
        .language()
        .unwrap_or_else(|| "en".to_owned());
    date.to_locale_string(&language, &options).as_string()
}

/// The summaries of the open `<details>` inside `part`.
fn open_details(part: &web_sys::Element) -> Vec<String> {
    let Ok(details) = part.query_selector_all("details[open]") else {
        return Vec::new();
    };
    (0..details.length())
        .filter_map(|i| details.item(i))
        .filter_map(|d| d.dyn_into::<web_sys::Element>().ok())
        .map(|d| summary_text(&d))
        .collect()
}

fn summary_text(details: &web_sys::Element) -> String {
    details
        .query_selector("summary")
        .ok()
        .flatten()
        .and_then(|s| s.text_content())
        .unwrap_or_default()
}

/// Waits until the server says the store answers again (`/readyz`), asking every two seconds.
/// The page was rendered while the store could not be reached, so the first answer that it
/// does means it came back (it may come back within the first two seconds), unless this page
/// already reloaded itself so in the last half minute: then the store must first be seen not
/// answering, or half a minute pass (the page may fail for another reason while the store
/// answers), so that a page never reloads itself in a loop.
pub async fn store_back() {
    const KEY: &str = "confo-came-back-at";
    let storage = window().session_storage().ok().flatten();
    let now = js_sys::Date::now();
    let recently = storage
        .as_ref()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|at| at.parse::<f64>().ok())
        .is_some_and(|at| now - at < 30_000.0);
    let mut seen_down = !recently;
    let mut waited = 0;
    loop {
        sleep(if waited == 0 { 500 } else { 2000 }).await;
        waited += 2000;
        let answer = JsFuture::from(window().fetch_with_str("/readyz")).await;
        let ready = answer
            .ok()
            .and_then(|response| response.dyn_into::<Response>().ok())
            .is_some_and(|response| response.ok());
        if !ready {
            seen_down = true;
        } else if seen_down || waited >= 30_000 {
            if let Some(storage) = &storage {
                let _ = storage.set_item(KEY, &js_sys::Date::now().to_string());
            }
            return;
        }
    }
}

/// Loads the page again, without what a failed form post put into its address (`__path`,
/// `__err`): that error is over.
pub fn reload() {
    let location = window().location();
    let clean = location.href().ok().and_then(|href| {
        let url = web_sys::Url::new(&href).ok()?;
        url.search_params().delete("__path");
        url.search_params().delete("__err");
        Some(url.href())
    });
    match clean {
        Some(href) if location.href().ok().as_deref() != Some(href.as_str()) => {
            let _ = location.replace(&href);
        }
        _ => {
            let _ = location.reload();
        }
    }
}

/// Waits `millis` milliseconds.
pub async fn sleep(millis: u64) {
    let (done, wait) = futures::channel::oneshot::channel::<()>();
    set_timeout(
        move || {
            let _ = done.send(());
        },
        std::time::Duration::from_millis(millis),
    );
    let _ = wait.await;
}

/// `/` focuses the page's filter (the search box in the header on a page without one); Ctrl+S
/// (Cmd+S) saves from the JSON view, review first.
pub fn keyboard_shortcuts() {
    let element = |selector: &str| {
        document()
            .query_selector(selector)
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
    };
    let handle = window_event_listener(leptos::ev::keydown, move |event| {
        let typing = event
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if event.key() == "/" && !typing {
            if let Some(filter) =
                element("main input[type=search]").or_else(|| element("#header-search"))
            {
                event.prevent_default();
                let _ = filter.focus();
            }
        } else if (event.ctrl_key() || event.meta_key()) && event.key() == "s" {
            // Save only what was reviewed: the first press opens the review.
            if let Some(button) = element("#json-save").or_else(|| element("#json-review")) {
                event.prevent_default();
                button.click();
            }
        }
    });
    // For the life of the page.
    std::mem::forget(handle);
}

/// Reads the file chosen in `event`'s input (at most `limit` bytes) into the import form's text
/// box (`#import-content`) and picks its format (`#import-format`) by its name; `say` tells
/// what happened.
pub fn read_chosen_file(event: leptos::ev::Event, limit: usize, say: impl Fn(String) + 'static) {
    let Some(input) = event
        .target()
        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
    else {
        return;
    };
    let Some(file) = input.files().and_then(|files| files.get(0)) else {
        return;
    };
    let name = file.name();
    if file.size() > limit as f64 {
        say(format!(
            "{name} is over {} KiB: import it with `confo import`.",
            limit / 1024
        ));
        input.set_value("");
        return;
    }
    let lower = name.to_ascii_lowercase();
    let format = if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        "yaml"
    } else if lower.ends_with(".toml") {
        "toml"
    } else if lower.ends_with(".env") || lower.starts_with(".env.") {
        "env"
    } else {
        "json"
    };
    leptos::task::spawn_local(async move {
        let text = JsFuture::from(file.text())
            .await
            .ok()
            .and_then(|t| t.as_string());
        let Some(text) = text else {
            say(format!("{name} could not be read as text."));
            return;
        };
        if let Some(area) = document()
            .get_element_by_id("import-content")
            .and_then(|e| e.dyn_into::<HtmlTextAreaElement>().ok())
        {
            area.set_value(&text);
        }
        if let Some(select) = document()
            .get_element_by_id("import-format")
            .and_then(|e| e.dyn_into::<HtmlSelectElement>().ok())
        {
            select.set_value(format);
        }
        say(format!(
            "Read {name}; press Preview to see what it would change."
        ));
    });
}
