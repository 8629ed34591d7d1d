//! Change requests: the list (open, waiting for me, mine, published, closed) and one request's
//! page: what it changes in each configuration, field by field, the schema check, what changed
//! since it was made, the discussion and its timeline, and the steps the signed-in person may
//! take. Every step is a plain POST form, so all of it works without JavaScript.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::configuration::DiffTable;
use super::live::Live;
use super::{failure, loaded};
use crate::api::requests::{
    ApproveRequest, CommentRequest, CommentView, EmergencyPublish, PublishRequest, RebaseRequest,
    RejectRequest, RemoveFromRequest, RemoveSchemasFromRequest, RequestSummary, RequestView,
    RequestsView, SchemaChangeView, SetRequestText, SubmitRequest, ThreeWayRow, WithdrawRequest,
    get_request, list_requests,
};

/// A configuration that changed since the request was made, field by field: as the request
/// found it, as it is stored now, and as the request has it. Where both sides changed a field
/// differently, the row is marked: that is resolved by hand.
#[component]
fn ThreeWayTable(rows: Vec<ThreeWayRow>) -> impl IntoView {
    let shown = |value: Option<String>, changed: bool| {
        let text = value.unwrap_or_else(|| "(not there)".into());
        if changed {
            view! { <td class="changed"><strong>{text}</strong></td> }.into_any()
        } else {
            view! { <td class="same">{text}<span class="hint">" (unchanged)"</span></td> }
                .into_any()
        }
    };
    let body = rows
        .into_iter()
        .map(|row| {
            let overlap = row.overlaps();
            view! {
                <tr class:overlap=overlap data-field=row.field.clone()>
                    <th scope="row">{row.field.clone()}{overlap.then_some(view! { <span class="badge danger">" both changed"</span> })}</th>
                    <td class="base">{row.base.clone().unwrap_or_else(|| "(not there)".into())}</td>
                    {shown(row.theirs.clone(), row.theirs_changed)}
                    {shown(row.mine.clone(), row.mine_changed)}
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="diff three-way" data-three-way="">
            <thead><tr><th>"Field"</th><th>"When the request was made"</th><th>"Stored now (theirs)"</th><th>"This request"</th></tr></thead>
            <tbody>{body}</tbody>
        </table>
    }
}

/// A comment in the discussion, with where it is attached.
fn comment_item(c: CommentView, with_configuration: bool) -> impl IntoView {
    let on = match (&c.configuration, &c.field, with_configuration) {
        (Some(cfg), Some(field), true) => format!(" on {cfg} › {field}"),
        (Some(cfg), None, true) => format!(" on {cfg}"),
        (_, Some(field), false) => format!(" on {field}"),
        _ => String::new(),
    };
    view! {
        <li class="comment">
            <p class="meta"><strong>{c.by}</strong>{on}" · "<time datetime=c.time.clone()>{c.time.clone()}</time></p>
            <p>{c.text}</p>
        </li>
    }
}

/// What a request does to its namespace's schemas, place by place.
#[component]
fn SchemaChanges(changes: Vec<SchemaChangeView>) -> impl IntoView {
    let rows = changes
        .into_iter()
        .map(|c| {
            view! {
                <tr class:overlap=c.stale data-place=c.place.clone()>
                    <th scope="row">{c.place.clone()}{c.stale.then_some(view! { <span class="badge danger">" changed meanwhile"</span> })}</th>
                    <td class="before"><pre>{c.before}</pre></td>
                    <td class="after"><pre>{c.after}</pre></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="diff" id="schema-changes">
            <thead><tr><th>"What"</th><th>"Before"</th><th>"After"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

const FILTERS: [(&str, &str); 6] = [
    ("open", "Open"),
    ("waiting", "Waiting for me"),
    ("mine", "Mine"),
    ("published", "Published"),
    ("closed", "Closed"),
    ("all", "All"),
];

fn approvals_text(s: &RequestSummary) -> String {
    if s.needed == 0 {
        "no approval needed".to_owned()
    } else {
        format!("{} of {} approvals", s.approvals, s.needed)
    }
}

#[component]
pub fn RequestsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        query
            .read()
            .get("show")
            .filter(|f| FILTERS.iter().any(|(k, _)| k == f))
            .unwrap_or_else(|| "open".to_owned())
    };
    let namespace = move || query.read().get("ns").unwrap_or_default();
    let requests = Resource::new(
        move || (filter(), namespace()),
        |(filter, namespace)| list_requests(filter, namespace),
    );
    let body = move |view: RequestsView| {
        let current = filter();
        let ns_now = namespace();
        let of_ns = if ns_now.is_empty() {
            String::new()
        } else {
            format!("&ns={}", super::encode_component(&ns_now))
        };
        let tabs = FILTERS
            .iter()
            .map(|(key, label)| {
                let label = if *key == "waiting" && view.waiting > 0 {
                    format!("{label} ({})", view.waiting)
                } else {
                    (*label).to_owned()
                };
                let here = current == *key;
                view! {
                    <li><a href=format!("/requests?show={key}{of_ns}") aria-current=here.then_some("page")>{label}</a></li>
                }
            })
            .collect_view();
        let rows = view
            .requests
            .iter()
            .map(|r| {
                view! {
                    <tr data-request=r.id.to_string() class:waiting=r.waiting_for_me>
                        <td><a href=format!("/requests/{}", r.id)>{format!("{} · {}", r.id, r.title)}</a></td>
                        <td>{r.namespace.clone()}</td>
                        <td>{r.configurations.join(", ")}</td>
                        <td>{r.author.clone()}</td>
                        <td class="state">{r.state.clone()}</td>
                        <td>{approvals_text(r)}</td>
                        <td><time datetime=r.updated.clone()>{r.updated.clone()}</time></td>
                    </tr>
                }
            })
            .collect_view();
        let empty = view.requests.is_empty();
        view! {
            <h1>"Change requests"</h1>
            <p class="hint">"In a reviewed namespace every change is sent for review here, and written only once someone else approves it and it is published."</p>
            <nav aria-label="Which requests"><ul class="tabs" id="request-filters">{tabs}</ul></nav>
            // A plain GET form: the filter is an address, with or without JavaScript.
            <form method="get" action="/requests" class="inline" id="request-namespace">
                <input type="hidden" name="show" value=current.clone()/>
                <label>"Namespace "
                    <select name="ns">
                        <option value="" selected=ns_now.is_empty()>"All namespaces"</option>
                        {view.namespaces.iter().map(|n| {
                            let here = *n == ns_now;
                            view! { <option value=n.clone() selected=here>{n.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit">"Show"</button>
            </form>
            <Live namespace=String::new() configuration=String::new() editing=false/>
            <div id="requests-live" data-live="">
            {if empty {
                view! { <p class="empty" id="no-requests">"No change requests here."</p> }.into_any()
            } else {
                view! {
                    <table id="requests">
                        <thead><tr><th>"Request"</th><th>"Namespace"</th><th>"Configurations"</th><th>"Author"</th><th>"State"</th><th>"Approvals"</th><th>"Last change"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
            </div>
        }
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { loaded(requests.await, body) })}
        </Transition>
    }
}

#[component]
pub fn RequestPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let q = move |key: &str| query.read_untracked().get(key).unwrap_or_default();
    let approve = ServerAction::<ApproveRequest>::new();
    let reject = ServerAction::<RejectRequest>::new();
    let withdraw = ServerAction::<WithdrawRequest>::new();
    let remove = ServerAction::<RemoveFromRequest>::new();
    let remove_schemas = ServerAction::<RemoveSchemasFromRequest>::new();
    let comment = ServerAction::<CommentRequest>::new();
    let rebase = ServerAction::<RebaseRequest>::new();
    let publish = ServerAction::<PublishRequest>::new();
    let emergency = ServerAction::<EmergencyPublish>::new();
    let text = ServerAction::<SetRequestText>::new();
    let submit = ServerAction::<SubmitRequest>::new();
    let request = Resource::new(
        move || {
            (
                id(),
                approve.version().get(),
                reject.version().get(),
                withdraw.version().get(),
                remove.version().get() + remove_schemas.version().get(),
                comment.version().get(),
                rebase.version().get(),
                publish.version().get() + emergency.version().get(),
                text.version().get() + submit.version().get(),
            )
        },
        |(id, ..)| get_request(id),
    );
    let body = move |view: RequestView| {
        let RequestView {
            summary,
            description,
            changes,
            schemas,
            schema_checks,
            comments,
            events,
            approved_by,
            policy,
            can_review,
            can_edit,
            can_publish,
            can_emergency,
            emergency: emergency_reason,
            version,
        } = view;
        let id = summary.id;
        let ns = summary.namespace.clone();
        let draft = summary.state == "draft";
        let (title_now, description_now) = (summary.title.clone(), description.clone());
        let mut stale: Vec<String> = changes
            .iter()
            .filter(|c| c.stale.is_some())
            .map(|c| c.configuration.clone())
            .collect();
        let stale_configurations = !stale.is_empty();
        let schemas_stale = schemas.iter().any(|s| s.stale);
        if schemas_stale {
            stale.push("its schemas".to_owned());
        }
        // Comments on a configuration are shown with it; the rest in the discussion.
        let (attached, general): (Vec<CommentView>, Vec<CommentView>) =
            comments.into_iter().partition(|c| {
                c.configuration
                    .as_ref()
                    .is_some_and(|cfg| changes.iter().any(|ch| ch.configuration == *cfg))
            });
        let notice = if q("sent") == "1" {
            Some(
                "Your change was sent for review in this request. Nothing is written until it is approved and published.",
            )
        } else if q("published") == "1" {
            Some("Published: every configuration in this request was written, together.")
        } else if q("approved") == "1" {
            Some("You approved this request.")
        } else if q("rebased") == "1" {
            Some("Re-based on the latest versions: it needs approving again.")
        } else {
            None
        };
        let changes_empty = changes.is_empty();
        let sections = changes
            .into_iter()
            .map(|c| {
                let cfg = c.configuration.clone();
                let stale_view = c.stale.map(|s| {
                    let overlap = (!s.overlap.is_empty()).then(|| {
                        view! {
                            <p class="error" data-overlap="">
                                {format!(
                                    "Both changed {}: resolve it by hand (change the configuration again in a new request, or take it out of this one).",
                                    s.overlap.join(", ")
                                )}
                            </p>
                        }
                    });
                    let clean = s.overlap.is_empty().then(|| view! {
                        <p class="hint" data-rebases="">"Nobody else touched what this request changes: it can be re-based on the latest version."</p>
                    });
                    view! {
                        <div class="stale" data-stale="">
                            <h4>"Changed by someone else since this request was made"</h4>
                            <ThreeWayTable rows=s.rows/>
                            {overlap}
                            {clean}
                        </div>
                    }
                });
                let schema_ok = c.problems.is_empty().then_some(view! { <p class="hint" data-schema-ok="">"Schema check: no problems."</p> });
                let problems = (!c.problems.is_empty()).then(|| {
                    view! {
                        <div class="problems-box" data-problems="">
                            <p>"Its schema finds problems in the result:"</p>
                            {super::problem_list(c.problems)}
                        </div>
                    }
                });
                let fields: Vec<String> = c.changes.iter().map(|d| d.field.clone()).collect();
                let notes = attached
                    .iter()
                    .filter(|m| m.configuration.as_deref() == Some(cfg.as_str()))
                    .cloned()
                    .map(|m| comment_item(m, false))
                    .collect_view();
                let comment_form = {
                    let (summary, on, hidden, whole) = (
                        format!("Comment on {cfg}…"),
                        cfg.clone(),
                        cfg.clone(),
                        format!("{cfg} as a whole"),
                    );
                    view! {
                        <details class="field-comment">
                            <summary>{summary}</summary>
                            <ActionForm action=comment attr:class="stacked" attr:data-comment-on=on>
                                <super::ReturnHere/>
                                <input type="hidden" name="id" value=id.to_string()/>
                                <input type="hidden" name="configuration" value=hidden/>
                                <label>"On "
                                    <select name="field">
                                        <option value="">{whole}</option>
                                        {fields.iter().map(|f| view! { <option value=f.clone()>{format!("field {f}")}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>"Comment " <textarea name="text" required rows="2"></textarea></label>
                                <button type="submit">"Add the comment"</button>
                            </ActionForm>
                        </details>
                    }
                };
                let take_out = can_edit.then(|| {
                    let cfg = cfg.clone();
                    view! {
                        <ActionForm action=remove attr:class="inline">
                            <super::ReturnHere/>
                            <input type="hidden" name="id" value=id.to_string()/>
                            <input type="hidden" name="configuration" value=cfg/>
                            <button type="submit">"Take it out of this request"</button>
                        </ActionForm>
                    }
                });
                view! {
                    <section class="request-change" data-configuration=cfg.clone()>
                        <h3><a href=format!("/ns/{ns}/{cfg}")>{cfg.clone()}</a>{format!(" · this request {}", c.what)}</h3>
                        <DiffTable changes=c.changes/>
                        {schema_ok}
                        {problems}
                        {stale_view}
                        <ul class="comments" data-comments=cfg.clone()>{notes}</ul>
                        {comment_form}
                        {take_out}
                    </section>
                }
            })
            .collect_view();
        let discussion = general
            .into_iter()
            .map(|c| comment_item(c, true))
            .collect_view();
        let schema_section = (!schemas.is_empty()).then(|| {
            let checks = schema_checks
                .into_iter()
                .map(|run| {
                    let ok = run.problems.is_empty();
                    view! {
                        <li data-check=run.configuration.clone() class:problems-box=!ok>
                            {if ok {
                                format!("{}: matches it.", run.configuration)
                            } else {
                                format!("{} would not match it:", run.configuration)
                            }}
                            {(!ok).then(|| super::problem_list(run.problems))}
                        </li>
                    }
                })
                .collect_view();
            let take_out = (can_edit && !changes_empty).then(|| view! {
                <ActionForm action=remove_schemas attr:class="inline">
                    <super::ReturnHere/>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <button type="submit">"Take the schema changes out of this request"</button>
                </ActionForm>
                {move || failure(remove_schemas.value().get())}
            });
            view! {
                <section class="request-change" id="request-schemas">
                    <h3>"Schemas · this request changes them"</h3>
                    <SchemaChanges changes=schemas/>
                    {schemas_stale.then_some(view! {
                        <p class="error" data-overlap="">{if changes_empty {
                            "Someone changed these places of the schemas since this request was made: withdraw it, and propose the schema change again on what is there now."
                        } else {
                            "Someone changed these places of the schemas since this request was made: take the schema changes out of it, and propose them again on what is there now."
                        }}</p>
                    })}
                    <h4>"Schema check"</h4>
                    <ul id="schema-checks">{checks}</ul>
                    {take_out}
                </section>
            }
        });
        let timeline = events
            .into_iter()
            .map(|e| {
                view! {
                    <li class:emergency=e.emergency>
                        <time datetime=e.time.clone()>{e.time.clone()}</time>" · "<strong>{e.by}</strong>" "{e.what}
                        {e.reason.map(|r| format!(": {r}"))}
                    </li>
                }
            })
            .collect_view();
        let approvals = if approved_by.is_empty() {
            "No approvals yet.".to_owned()
        } else {
            format!("Approved by {}.", approved_by.join(", "))
        };
        // Re-basing takes configurations onto their latest versions; a schema place changed
        // meanwhile is resolved by hand.
        let rebase_form = (stale_configurations && can_edit).then(|| {
            view! {
                <ActionForm action=rebase attr:id="rebase">
                    <super::ReturnHere/>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <button type="submit">"Re-base on the latest versions"</button>
                </ActionForm>
                {move || failure(rebase.value().get())}
            }
        });
        let steps = view! {
            {can_review.then(|| view! {
                <ActionForm action=approve attr:id="approve" attr:class="inline">
                    <super::ReturnHere/>
                    <input type="hidden" name="id" value=id.to_string()/>
                    // What is approved is what this page shows.
                    <input type="hidden" name="seen" value=version.to_string()/>
                    <button type="submit">"Approve"</button>
                </ActionForm>
                {move || failure(approve.value().get())}
                <details id="reject-box">
                    <summary>"Reject…"</summary>
                    <ActionForm action=reject attr:id="reject" attr:class="stacked">
                        <super::ReturnHere/>
                        <input type="hidden" name="id" value=id.to_string()/>
                        <label>"Why (the author sees this) " <textarea name="reason" required rows="3"></textarea></label>
                        <button type="submit" class="danger">"Reject the request"</button>
                    </ActionForm>
                    {move || failure(reject.value().get())}
                </details>
            })}
            {can_publish.then(|| view! {
                <ActionForm action=publish attr:id="publish">
                    <super::ReturnHere/>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <button type="submit">"Publish: write every configuration in it"</button>
                </ActionForm>
                {move || failure(publish.value().get())}
            })}
            {can_emergency.then(|| view! {
                <details class="danger" id="emergency-box">
                    <summary>"Publish without approval (emergency)…"</summary>
                    <ActionForm action=emergency attr:id="emergency" attr:class="stacked">
                        <super::ReturnHere/>
                        <input type="hidden" name="id" value=id.to_string()/>
                        <label>"Why it cannot wait (recorded on the request and in the audit log; the reviewers see it) " <textarea name="reason" required rows="3"></textarea></label>
                        <button type="submit" class="danger">"Publish without approval"</button>
                    </ActionForm>
                    {move || failure(emergency.value().get())}
                </details>
            })}
            {rebase_form}
            {(can_edit && draft).then(|| view! {
                <ActionForm action=submit attr:id="submit">
                    <super::ReturnHere/>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <button type="submit">"Send for review"</button>
                </ActionForm>
                {move || failure(submit.value().get())}
            })}
            {can_edit.then(|| view! {
                <details id="edit-request">
                    <summary>"Change the title or description…"</summary>
                    <ActionForm action=text attr:id="request-text" attr:class="stacked">
                        <super::ReturnHere/>
                        <input type="hidden" name="id" value=id.to_string()/>
                        <label>"Title " <input type="text" name="title" required maxlength="200" value=title_now.clone()/></label>
                        <label>"Description " <textarea name="description" rows="4">{description_now.clone()}</textarea></label>
                        <p class="hint">"Changing the request sends it back to review."</p>
                        <button type="submit">"Save the title and description"</button>
                    </ActionForm>
                    {move || failure(text.value().get())}
                </details>
            })}
            {can_edit.then(|| view! {
                <ActionForm action=withdraw attr:id="withdraw" attr:class="inline">
                    <super::ReturnHere/>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <button type="submit" class="danger">"Withdraw the request"</button>
                </ActionForm>
                {move || failure(withdraw.value().get())}
            })}
        };
        let stale_notice = (!stale.is_empty()).then(|| view! {
            <p class="notice" role="alert" id="stale-notice">
                {format!("{} changed since this request was made, so it cannot be published as it is. See below what changed, then re-base it or resolve the overlaps.", stale.join(", "))}
            </p>
        });
        let emergency_notice = emergency_reason.map(|reason| view! {
            <p class="notice danger" id="emergency-notice">{format!("Published in an emergency, without approval: {reason}")}</p>
        });
        view! {
            <nav class="crumbs" aria-label="Breadcrumbs">
                <a href="/requests">"Change requests"</a> " › " {format!("request {id}")}
            </nav>
            <h1>{format!("Request {id}: {}", summary.title)}</h1>
            {notice.map(|n| view! { <p class="notice" role="status" id="request-notice">{n}</p> })}
            // Its own state, and the configurations it changes, as they change: its namespace's
            // stream.
            <Live namespace=ns.clone() configuration=String::new() editing=false/>
            <div id="request-live" data-live="">
            <p class="meta" id="request-state">
                "Namespace " <a href=format!("/ns/{ns}")>{ns.clone()}</a>
                {format!(" · by {} · ", summary.author)}
                <strong data-state=summary.state.clone()>{summary.state.clone()}</strong>
                {format!(" · {}", approvals_text(&summary))}
            </p>
            {emergency_notice}
            <p class="hint">{policy}</p>
            {(!description.is_empty()).then(|| view! { <p id="request-description">{description}</p> })}
            <p id="approvals">{approvals}</p>
            {stale_notice}
            <div class="request-steps" id="request-steps">{steps}</div>
            <h2>"What it changes"</h2>
            {sections}
            {schema_section}
            <h2 id="discussion">"Discussion"</h2>
            <ul class="comments" id="comments">{discussion}</ul>
            <ActionForm action=comment attr:id="comment" attr:class="stacked">
                <super::ReturnHere/>
                <input type="hidden" name="id" value=id.to_string()/>
                <label>"Comment on the whole request " <textarea name="text" required rows="3"></textarea></label>
                <button type="submit">"Add the comment"</button>
            </ActionForm>
            {move || failure(comment.value().get())}
            <h2>"Timeline"</h2>
            <ol class="timeline" id="timeline">{timeline}</ol>
            </div>
        }
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { loaded(request.await, body) })}
        </Transition>
    }
}
