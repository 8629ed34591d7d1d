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
    ApproveRequest, CommentRequest, EmergencyPublish, PublishRequest, RebaseRequest, RejectRequest,
    RemoveFromRequest, RequestSummary, RequestView, RequestsView, SetRequestText, SubmitRequest,
    WithdrawRequest, get_request, list_requests,
};

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
    let requests = Resource::new(filter, list_requests);
    let body = move |view: RequestsView| {
        let current = filter();
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
                    <li><a href=format!("/requests?show={key}") aria-current=here.then_some("page")>{label}</a></li>
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
                remove.version().get(),
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
        let stale: Vec<String> = changes
            .iter()
            .filter(|c| c.stale.is_some())
            .map(|c| c.configuration.clone())
            .collect();
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
                            <DiffTable changes=s.theirs/>
                            {overlap}
                            {clean}
                        </div>
                    }
                });
                let problems = (!c.problems.is_empty()).then(|| {
                    let items = c
                        .problems
                        .iter()
                        .map(|p| view! { <li><strong>{p.place.clone()}</strong>": "{p.message.clone()}</li> })
                        .collect_view();
                    view! {
                        <div class="problems-box" data-problems="">
                            <p>"Its schema finds problems in the result:"</p>
                            <ul class="problems">{items}</ul>
                        </div>
                    }
                });
                let schema_ok = c.problems.is_empty().then_some(view! { <p class="hint" data-schema-ok="">"Schema check: no problems."</p> });
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
                        {take_out}
                    </section>
                }
            })
            .collect_view();
        let discussion = comments
            .into_iter()
            .map(|c| {
                let on = match (&c.configuration, &c.field) {
                    (Some(cfg), Some(field)) => format!(" on {cfg} › {field}"),
                    (Some(cfg), None) => format!(" on {cfg}"),
                    _ => String::new(),
                };
                view! {
                    <li class="comment">
                        <p class="meta"><strong>{c.by}</strong>{on}" · "<time datetime=c.time.clone()>{c.time.clone()}</time></p>
                        <p>{c.text}</p>
                    </li>
                }
            })
            .collect_view();
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
        let rebase_form = (!stale.is_empty() && can_edit).then(|| {
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
            <h2 id="discussion">"Discussion"</h2>
            <ul class="comments" id="comments">{discussion}</ul>
            <ActionForm action=comment attr:id="comment" attr:class="stacked">
                <super::ReturnHere/>
                <input type="hidden" name="id" value=id.to_string()/>
                <label>"Comment " <textarea name="text" required rows="3"></textarea></label>
                <label>"On configuration (optional) " <input type="text" name="configuration" autocomplete="off"/></label>
                <label>"On field (optional) " <input type="text" name="field" autocomplete="off"/></label>
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
