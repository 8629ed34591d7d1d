//! Schemas: a configuration's schema page (its own schema, a shared one, or none, each checked
//! in a dry run before it is saved) and a namespace's settings page (its shared schemas and the
//! comment rule). Checking is a plain GET form, saving a POST form, so both work without
//! JavaScript.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{failure, loaded, problem_list};
use crate::api::requests::SetReviewPolicy;
use crate::api::schemas::{
    AssignSchema, DeleteSharedSchema, DryRunView, PutSharedSchema, SchemaView, SetRequireComment,
    SettingsView, check_schema, configuration_schema, namespace_settings, settings_history,
};
use crate::error::AppError;

/// The dry run's answer: for each configuration, what would no longer match.
fn dry_run(result: Result<Vec<DryRunView>, AppError>) -> AnyView {
    match result {
        Err(error) => view! { <div id="dry-run"><super::ErrorMessage error/></div> }.into_any(),
        Ok(runs) => {
            let breaking = runs.iter().filter(|r| !r.problems.is_empty()).count();
            let rows = runs
                .into_iter()
                .map(|run| {
                    let fine = run.problems.is_empty();
                    view! {
                        <li data-configuration=run.configuration.clone()>
                            <strong>{run.configuration.clone()}</strong>
                            {if fine {
                                view! { ": still matches." }.into_any()
                            } else {
                                view! { ": would no longer match —" {problem_list(run.problems)} }.into_any()
                            }}
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section id="dry-run" class="review" aria-labelledby="dry-run-heading">
                    <h2 id="dry-run-heading">"Checked against the current values"</h2>
                    <p class=if breaking == 0 { "" } else { "error" }>{match breaking {
                        0 => "Every configuration it applies to still matches it.".to_owned(),
                        n => format!("{n} configuration(s) would no longer match. You can still save it: their values stay as they are, and a later change is refused only when it adds a problem."),
                    }}</p>
                    <ul>{rows}</ul>
                </section>
            }
            .into_any()
        }
    }
}

#[component]
pub fn SchemaPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let namespace = move || params.read().get("ns").unwrap_or_default();
    let name = move || params.read().get("cfg").unwrap_or_default();
    let q = move |key: &str| query.read().get(key).unwrap_or_default();
    let assign = ServerAction::<AssignSchema>::new();
    let schema = Resource::new(
        move || (namespace(), name(), assign.version().get()),
        |(namespace, name, _)| configuration_schema(namespace, name),
    );
    // A schema to try, from the address: `json` (its own) or `use` (a shared one).
    let proposed = move || {
        let (json, shared) = (q("json"), q("use"));
        (!json.trim().is_empty() || !shared.is_empty()).then_some((json, shared))
    };
    let check = Resource::new(
        move || (namespace(), name(), proposed()),
        |(namespace, name, proposed)| async move {
            let (json, shared) = proposed?;
            let json = if shared.is_empty() {
                json
            } else {
                String::new()
            };
            Some(check_schema(namespace, name, shared, json).await)
        },
    );
    let body = move |view: SchemaView| {
        let SchemaView {
            namespace: ns,
            name: cfg,
            mode,
            named,
            json,
            suggestion,
            problems,
            shared,
            revision,
            can_change,
            reviewed,
        } = view;
        let here = format!("/ns/{ns}/{cfg}/schema");
        let now = match (mode.as_str(), &named) {
            ("own", _) => "It follows its own schema.".to_owned(),
            ("named", Some(n)) => {
                format!("It follows the shared schema \u{201c}{n}\u{201d} of this namespace.")
            }
            _ => "It has no schema: any value is accepted.".to_owned(),
        };
        let editor_text = {
            let asked = q("json");
            if !asked.trim().is_empty() {
                asked
            } else if q("suggest") == "1" {
                suggestion.clone()
            } else {
                json.clone()
            }
        };
        let current = (!json.is_empty()).then(|| view! {
            <details><summary>"The schema now"</summary><pre id="schema-now">{json.clone()}</pre></details>
        });
        let problems = (!problems.is_empty()).then(|| {
            view! {
                <div id="schema-problems" role="alert">
                    <p class="error">"The current value does not match it here:"</p>
                    {problem_list(problems)}
                </div>
            }
        });
        let changing = can_change.then(|| {
            let (ns2, cfg2, ns3, cfg3, ns4, cfg4) = (ns.clone(), cfg.clone(), ns.clone(), cfg.clone(), ns.clone(), cfg.clone());
            let save_after_check = move || {
                let (ns, cfg) = (ns2.clone(), cfg2.clone());
                Suspend::new(async move {
                    let result = check.await?;
                    let (json, shared) = proposed()?;
                    let ok = result.is_ok();
                    Some(view! {
                        {dry_run(result)}
                        {ok.then(|| view! {
                            <ActionForm action=assign attr:class="stacked" attr:id="schema-save">
                                <super::ReturnHere/>
                                <input type="hidden" name="namespace" value=ns.clone()/>
                                <input type="hidden" name="name" value=cfg.clone()/>
                                <input type="hidden" name="mode" value=if shared.is_empty() { "own" } else { "named" }/>
                                <input type="hidden" name="shared" value=shared.clone()/>
                                <input type="hidden" name="json" value=if shared.is_empty() { json.clone() } else { String::new() }/>
                                <input type="hidden" name="revision" value=revision.to_string()/>
                                {reviewed.then_some(view! { <p class="hint" data-reviewed="">"This namespace is reviewed: the schema change is sent for review, and nothing changes until someone else approves it and it is published."</p> })}
                                <button type="submit">{if shared.is_empty() { "Save this schema".to_owned() } else { format!("Follow \u{201c}{shared}\u{201d}") }}</button>
                            </ActionForm>
                        })}
                    })
                })
            };
            let shared_options = shared
                .iter()
                .map(|s| view! { <option value=s.clone() selected=named.as_deref() == Some(s.as_str())>{s.clone()}</option> })
                .collect_view();
            view! {
                <Suspense fallback=|| ()>{save_after_check}</Suspense>
                {move || failure(assign.value().get())}
                <h2>"Its own schema"</h2>
                <form method="get" class="stacked" id="schema-own">
                    <label>"JSON Schema (draft 2020-12) "
                        <textarea name="json" rows="14" spellcheck="false" id="schema-json">{editor_text.clone()}</textarea>
                    </label>
                    <p class="hint">
                        "Give each setting a "<code>"title"</code>" and a "<code>"description"</code>" so that people see what it means; "
                        <code>"minimum"</code>", "<code>"maximum"</code>", "<code>"enum"</code>" and "<code>"pattern"</code>" (with "<code>"x-confo-message"</code>" for the message) say what is allowed. "
                        <a href=format!("{here}?suggest=1") id="schema-suggest">"Suggest a schema from the current value"</a>
                    </p>
                    <button type="submit">"Check against the current value"</button>
                </form>
                {(!shared.is_empty()).then(|| view! {
                    <h2>"A shared schema"</h2>
                    <form method="get" class="stacked" id="schema-shared">
                        <label>"Shared schema of this namespace " <select name="use">{shared_options}</select></label>
                        <button type="submit">"Check against the current value"</button>
                    </form>
                })}
                {(mode != "none").then(|| view! {
                    <h2>"No schema"</h2>
                    <ActionForm action=assign attr:class="stacked" attr:id="schema-remove">
                        <super::ReturnHere/>
                        <input type="hidden" name="namespace" value=ns3/>
                        <input type="hidden" name="name" value=cfg3/>
                        <input type="hidden" name="mode" value="none"/>
                        <input type="hidden" name="shared" value=""/>
                        <input type="hidden" name="json" value=""/>
                        <input type="hidden" name="revision" value=revision.to_string()/>
                        <button type="submit" class="danger">"Remove its schema"</button>
                    </ActionForm>
                })}
                <p><a href=format!("/ns/{ns4}/settings")>"Shared schemas and rules of this namespace"</a>{let _ = cfg4;}</p>
            }
        });
        view! {
            <nav class="crumbs" aria-label="Breadcrumbs">
                <a href="/">"Namespaces"</a> " › " <a href=format!("/ns/{ns}")>{ns.clone()}</a> " › "
                <a href=format!("/ns/{ns}/{cfg}")>{cfg.clone()}</a> " › schema"
            </nav>
            <h1>{format!("Schema of {cfg}")}</h1>
            <p id="schema-mode">{now}</p>
            <p class="hint">"A schema says what each setting means and which values are allowed. The form view is built from it, and every way of saving is checked against it: a change is refused only when it adds a problem. Every schema change is kept in the "<a href=format!("/ns/{ns}/settings#settings-history")>"history of this namespace's settings"</a>"."</p>
            {current}
            {problems}
            {changing}
        }
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { loaded(schema.await, body) })}
        </Transition>
    }
}

#[component]
pub fn NamespaceSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let namespace = move || params.read().get("ns").unwrap_or_default();
    let q = move |key: &str| query.read().get(key).unwrap_or_default();
    let put = ServerAction::<PutSharedSchema>::new();
    let delete = ServerAction::<DeleteSharedSchema>::new();
    let rule = ServerAction::<SetRequireComment>::new();
    let review = ServerAction::<SetReviewPolicy>::new();
    let settings = Resource::new(
        move || {
            (
                namespace(),
                put.version().get(),
                delete.version().get(),
                rule.version().get() + review.version().get(),
            )
        },
        |(namespace, ..)| namespace_settings(namespace),
    );
    // A shared schema to try, from the address: its name and JSON.
    let proposed = move || {
        let (shared, json) = (q("shared"), q("json"));
        (!shared.trim().is_empty() && !json.trim().is_empty()).then_some((shared, json))
    };
    let check = Resource::new(
        move || (namespace(), proposed()),
        |(namespace, proposed)| async move {
            let (shared, json) = proposed?;
            Some(check_schema(namespace, String::new(), shared, json).await)
        },
    );
    let history = Resource::new(
        move || {
            (
                namespace(),
                put.version().get(),
                delete.version().get(),
                rule.version().get() + review.version().get(),
            )
        },
        |(namespace, ..)| settings_history(namespace),
    );
    let history_view = move || {
        Suspend::new(async move {
            let entries = history.await.ok()?;
            let rows = entries
                .into_iter()
                .map(|e| view! {
                    <tr>
                        <td>{format!("#{}", e.seq)}</td>
                        <td>{e.when}</td>
                        <td>{e.who}</td>
                        <td>{e.action}{e.configuration.map(|c| format!(" ({c})"))}</td>
                        <td><ul class="patch">{e.changes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul></td>
                        <td>{e.comment}</td>
                    </tr>
                })
                .collect_view();
            Some(view! {
                <h2>"History of these settings"</h2>
                <table id="settings-history">
                    <thead><tr><th>"Entry"</th><th>"When (UTC)"</th><th>"Who"</th><th>"Action"</th><th>"What changed"</th><th>"Comment"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            })
        })
    };
    let body = move |view: SettingsView| {
        let SettingsView {
            namespace: ns,
            schemas,
            require_comment,
            review: policy,
            revision,
            can_change,
        } = view;
        let list = schemas
            .iter()
            .map(|s| {
                let users = if s.users.is_empty() {
                    "Not followed by any configuration.".to_owned()
                } else {
                    format!("Followed by {}.", s.users.join(", "))
                };
                let (ns_for_form, name_for_form) = (ns.clone(), s.name.clone());
                let remove = can_change.then(move || view! {
                    <ActionForm action=delete attr:class="inline">
                        <super::ReturnHere/>
                        <input type="hidden" name="namespace" value=ns_for_form/>
                        <input type="hidden" name="shared" value=name_for_form/>
                        <input type="hidden" name="revision" value=revision.to_string()/>
                        <button type="submit" class="danger">"Delete"</button>
                    </ActionForm>
                });
                view! {
                    <li data-schema=s.name.clone()>
                        <strong>{s.name.clone()}</strong>" · "{users}" "
                        <a href=format!("/ns/{ns}/settings?shared={}&json={}", super::encode_component(&s.name), super::encode_component(&s.json))>"Edit"</a>" "
                        {remove}
                        <details><summary>"JSON"</summary><pre>{s.json.clone()}</pre></details>
                    </li>
                }
            })
            .collect_view();
        let ns_rule = ns.clone();
        let policy_form = policy.clone();
        let reviewed_ns = policy.reviewed;
        let ns_policy = ns.clone();
        let changing = can_change.then(move || {
            let ns2 = ns_rule.clone();
            let save_after_check = move || {
                let ns = ns2.clone();
                Suspend::new(async move {
                    let result = check.await?;
                    let (shared, json) = proposed()?;
                    let ok = result.is_ok();
                    Some(view! {
                        {dry_run(result)}
                        {ok.then(|| view! {
                            <ActionForm action=put attr:class="stacked" attr:id="shared-save">
                                <super::ReturnHere/>
                                <input type="hidden" name="namespace" value=ns.clone()/>
                                <input type="hidden" name="shared" value=shared.clone()/>
                                <input type="hidden" name="json" value=json.clone()/>
                                <input type="hidden" name="revision" value=revision.to_string()/>
                                {reviewed_ns.then_some(view! { <p class="hint" data-reviewed="">"This namespace is reviewed: the schema change is sent for review, and nothing changes until someone else approves it and it is published."</p> })}
                                <button type="submit">{format!("Save the shared schema \u{201c}{shared}\u{201d}")}</button>
                            </ActionForm>
                        })}
                    })
                })
            };
            view! {
                <Suspense fallback=|| ()>{save_after_check}</Suspense>
                {move || failure(put.value().get())}
                {move || failure(delete.value().get())}
                <h2>"Add or change a shared schema"</h2>
                <form method="get" class="stacked" id="shared-form">
                    <label>"Name " <input type="text" name="shared" required value=q("shared")/></label>
                    <label>"JSON Schema (draft 2020-12) "<textarea name="json" rows="12" spellcheck="false">{q("json")}</textarea></label>
                    <button type="submit">"Check against the configurations that follow it"</button>
                </form>
                <h2>"Rules"</h2>
                <ActionForm action=rule attr:class="stacked" attr:id="require-comment">
                    <super::ReturnHere/>
                    <input type="hidden" name="namespace" value=ns_rule.clone()/>
                    <input type="hidden" name="revision" value=revision.to_string()/>
                    <label><input type="checkbox" name="require" value="on" checked=require_comment/>" A comment is required for every change"</label>
                    <button type="submit">"Save the rule"</button>
                </ActionForm>
                {move || failure(rule.value().get())}
                <h3>"Review"</h3>
                <ActionForm action=review attr:class="stacked" attr:id="review-policy-form">
                    <super::ReturnHere/>
                    <input type="hidden" name="namespace" value=ns_policy/>
                    <fieldset>
                        <legend>"How changes are made"</legend>
                        <label><input type="radio" name="mode" value="direct" checked=!policy_form.reviewed/>" Saved directly"</label>
                        <label><input type="radio" name="mode" value="reviewed" checked=policy_form.reviewed/>" Sent for review: someone other than the author approves, then it is published"</label>
                    </fieldset>
                    <label>"Approvals each request needs (1 to 5) "
                        <input type="number" name="approvals" min="1" max="5" value=policy_form.approvals.to_string()/>
                    </label>
                    <fieldset>
                        <legend>"Who may approve (administrators always may; authors never)"</legend>
                        <label><input type="radio" name="approvers" value="editors" checked=policy_form.approvers != "named"/>" Editors of this namespace"</label>
                        <label><input type="radio" name="approvers" value="named" checked=policy_form.approvers == "named"/>" Only these people:"</label>
                        <label>"Names, separated by commas " <input type="text" name="named" value=policy_form.named.join(", ") autocomplete="off"/></label>
                    </fieldset>
                    <button type="submit">"Save how changes are made"</button>
                </ActionForm>
                {move || failure(review.value().get())}
            }
        });
        view! {
            <nav class="crumbs" aria-label="Breadcrumbs">
                <a href="/">"Namespaces"</a> " › " <a href=format!("/ns/{ns}")>{ns.clone()}</a> " › settings"
            </nav>
            <h1>{format!("Settings of {ns}")}</h1>
            <p id="comment-rule">{if require_comment { "Every change in this namespace needs a comment." } else { "Comments on changes are optional here." }}</p>
            <p id="review">{policy.described.clone()}</p>
            <h2>"Shared schemas"</h2>
            {if schemas.is_empty() {
                view! { <p class="empty">"No shared schemas yet. A shared schema can be followed by several configurations."</p> }.into_any()
            } else {
                view! { <ul id="shared-schemas">{list}</ul> }.into_any()
            }}
            {changing}
        }
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { loaded(settings.await, body) })}
        </Transition>
        <Transition fallback=|| ()>{history_view}</Transition>
    }
}
