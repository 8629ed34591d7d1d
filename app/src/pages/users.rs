//! Administering accounts: the users list with the invitation form, and one user's page. Every
//! form works with JavaScript off: it posts to its server function, which redirects back here.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{failure, loaded};
use crate::api::users::{
    EndUserSessions, InviteUser, ResetPassword, SetUserDisabled, UpdateUser, UserDetail, UserRow,
    get_user, list_users, namespace_names,
};

/// The role and access fields shared by the invitation and the role forms: namespaces are
/// picked from those there are (`known`); one not created yet can be typed.
#[component]
fn RoleFields(role: String, namespaces: Option<Vec<String>>, known: Vec<String>) -> impl IntoView {
    let all = namespaces.is_none();
    let granted = namespaces.unwrap_or_default();
    let typed = granted
        .iter()
        .filter(|n| !known.contains(n))
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let choices = known
        .iter()
        .map(|ns| {
            view! {
                <label class="choice"><input type="checkbox" name="picked[]" value=ns.clone() checked=granted.contains(ns)/> " " {ns.clone()}</label>
            }
        })
        .collect_view();
    let option = |value: &'static str, words: &'static str| {
        view! { <option value=value selected=role == value>{words}</option> }
    };
    view! {
        <label>
            "Role "
            <select name="role">
                {option("viewer", "Viewer: reads configurations")}
                {option("editor", "Editor: changes configurations")}
                {option("admin", "Administrator: everything, including users")}
            </select>
        </label>
        <fieldset>
            <legend>"Namespaces"</legend>
            <label><input type="radio" name="access" value="all" checked=all/> " All namespaces"</label>
            <label><input type="radio" name="access" value="some" checked=!all/> " Only these:"</label>
            <div class="choices" id="namespace-choices">{choices}</div>
            <label>"Not created yet (names separated by commas) "
                <input type="text" name="namespaces" value=typed placeholder="e.g. shop, web"/>
            </label>
            <p class="hint">"Administrators always have every namespace."</p>
        </fieldset>
    }
}

fn status(row: &UserRow) -> &'static str {
    match (row.joined, row.disabled) {
        (false, _) => "invited",
        (true, true) => "disabled",
        (true, false) => "active",
    }
}

/// Every account, and the form to invite someone.
#[component]
pub fn UsersPage() -> impl IntoView {
    let invite = ServerAction::<InviteUser>::new();
    let query = leptos_router::hooks::use_query_map();
    let users = Resource::new(move || invite.version().get(), |_| list_users());
    let known = Resource::new(|| (), |_| namespace_names());
    view! {
        <h1>"Users"</h1>
        <p class="hint">
            "Viewers read configurations, editors change them, administrators also manage users. "
            "Each person's role applies to all namespaces or to the ones listed."
        </p>
        <Transition fallback=|| view! { <p>"Loading users…"</p> }>
            {move || Suspend::new(async move {
                let known = known.await.unwrap_or_default();
                super::loaded_part(users.await, |rows| view! {
                    <table id="users">
                        <thead><tr><th>"Name"</th><th>"Role"</th><th>"Namespaces"</th><th>"Status"</th><th>"Sessions"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|row| view! {
                                <tr>
                                    <td><a href=format!("/users/{}", row.name)>{row.name.clone()}</a></td>
                                    <td>{row.role.clone()}</td>
                                    <td>{row.access()}</td>
                                    <td>{status(&row)}</td>
                                    <td>{row.sessions}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <h2>"Invite someone"</h2>
                    <p class="hint">
                        "Confo makes a link that works once. Send it to the person (by chat or email); "
                        "they open it and choose their own password."
                    </p>
                    <ActionForm action=invite attr:class="stacked" attr:id="invite">
                        <super::ReturnHere/>
                        <super::KeepTyped names="name"/>
                        <label>"Name " <input type="text" name="name" value=super::kept(query, "name") required autocomplete="off"/></label>
                        <RoleFields role="viewer".into() namespaces=Some(Vec::new()) known=known/>
                        <button type="submit">"Make an invitation link"</button>
                    </ActionForm>
                })
            })}
        </Transition>
        {move || failure(invite.value().get())}
    }
}

/// One account: its link, role and access, password reset, disabling, and sessions.
#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let update = ServerAction::<UpdateUser>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let disable = ServerAction::<SetUserDisabled>::new();
    let end = ServerAction::<EndUserSessions>::new();
    let invite = ServerAction::<InviteUser>::new();
    let user = Resource::new(
        move || {
            (
                name(),
                update.version().get(),
                reset.version().get(),
                disable.version().get(),
                end.version().get(),
                invite.version().get(),
            )
        },
        |(name, ..)| get_user(name),
    );
    let page = move |detail: UserDetail| {
        let UserDetail {
            row,
            sessions,
            unknown_namespaces,
            known_namespaces,
        } = detail;
        // A typo in a grant gives no access and no error: say so where it is seen.
        let unknown = (!unknown_namespaces.is_empty()).then(|| {
            view! {
                <p class="notice" id="unknown-namespaces" role="status">
                    {format!(
                        "No namespace is called {} yet: check the spelling. The access takes effect once one by that name is created.",
                        unknown_namespaces.join(", ")
                    )}
                </p>
            }
        });
        let name = row.name.clone();
        let pending = row.pending.clone().map(|pending| {
            let what = if pending.kind == "invitation" { "Invitation link" } else { "Password reset link" };
            let body = match (pending.expired, pending.link) {
                (true, _) => view! { <p class="error">"The link has expired. Make a new one below."</p> }.into_any(),
                (false, Some(link)) => view! {
                    <p>"Copy this link now and send it to " {name.clone()} ": it is shown only this once. It works once, until " {pending.expires.clone()} "."</p>
                    <textarea readonly id="link" rows="3" aria-label="The one-time link" class="link">{link.clone()}</textarea>
                    <CopyButton target="link".to_owned() what="Copy the link".to_owned()/>
                }.into_any(),
                (false, None) => view! {
                    <p>"A link is waiting to be used, until " {pending.expires.clone()} ". It was shown once, when it was made; if it was lost, make a new one (the old one then stops working)."</p>
                }.into_any(),
            };
            view! { <section class="pending"><h2>{what}</h2>{body}</section> }
        });
        let joined = if row.joined {
            let disabled = row.disabled;
            let (n1, n2, n3, n4) = (name.clone(), name.clone(), name.clone(), name.clone());
            let (role, namespaces) = (row.role.clone(), row.namespaces.clone());
            Some(view! {
                <h2>"Role and namespaces"</h2>
                <ActionForm action=update attr:class="stacked" attr:id="update-user">
                    <super::ReturnHere/>
                    <input type="hidden" name="name" value=n1/>
                    <RoleFields role=role namespaces=namespaces known=known_namespaces/>
                    <button type="submit">"Save role and namespaces"</button>
                </ActionForm>
                {move || failure(update.value().get())}
                <h2>"Password"</h2>
                <p class="hint">"A reset link lets them choose a new password; the current one works until then."</p>
                <ActionForm action=reset attr:id="reset-password">
                    <super::ReturnHere/>
                    <input type="hidden" name="name" value=n2/>
                    <button type="submit">"Make a password reset link"</button>
                </ActionForm>
                {move || failure(reset.value().get())}
                <h2>"Account"</h2>
                <ActionForm action=disable attr:id="set-disabled">
                    <super::ReturnHere/>
                    <input type="hidden" name="name" value=n3/>
                    <input type="hidden" name="disabled" value=(!disabled).to_string()/>
                    <p class="hint">{if disabled {
                        "This account is disabled: its owner cannot sign in."
                    } else {
                        "Disabling signs them out everywhere at once and stops them signing in; nothing else is lost."
                    }}</p>
                    <button type="submit" class:danger=!disabled>{if disabled { "Enable the account" } else { "Disable the account" }}</button>
                </ActionForm>
                {move || failure(disable.value().get())}
                <h2>"Sessions"</h2>
                <SessionTable sessions=sessions action=end name=n4/>
            })
        } else {
            None
        };
        let invited = if row.joined {
            None
        } else {
            let (role, access) = (
                row.role.clone(),
                if row.namespaces.is_some() {
                    "some"
                } else {
                    "all"
                },
            );
            let namespaces = row.namespaces.clone().unwrap_or_default().join(",");
            let name = name.clone();
            Some(view! {
                <ActionForm action=invite attr:id="invite-again">
                    <super::ReturnHere/>
                    <input type="hidden" name="name" value=name/>
                    <input type="hidden" name="role" value=role/>
                    <input type="hidden" name="access" value=access/>
                    <input type="hidden" name="namespaces" value=namespaces/>
                    <button type="submit">"Make a new invitation link"</button>
                </ActionForm>
                {move || failure(invite.value().get())}
            })
        };
        view! {
            <nav class="crumbs" aria-label="Breadcrumbs"><a href="/users">"Users"</a> " › " {row.name.clone()}</nav>
            <h1>{row.name.clone()}</h1>
            <p id="user-summary">{format!("{} · {} · {}", row.role, row.access(), status(&row))}</p>
            {unknown}
            {pending}
            {joined}
            {invited}
        }
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { loaded(user.await, page) })}
        </Transition>
    }
}

/// A user's sessions, each with a button that ends it, and one that ends them all.
#[component]
fn SessionTable(
    sessions: Vec<crate::api::users::SessionRow>,
    action: ServerAction<EndUserSessions>,
    name: String,
) -> impl IntoView {
    if sessions.is_empty() {
        return view! { <p class="empty">"No one is signed in to this account."</p> }.into_any();
    }
    let rows = sessions
        .into_iter()
        .map(|s| {
            let name = name.clone();
            view! {
                <tr>
                    <td>{s.signed_in}</td><td>{s.last_seen}</td><td>{s.address}</td>
                    <td>{s.agent}{s.current.then_some(" (this one)")}</td>
                    <td>
                        <ActionForm action=action attr:class="inline">
                            <super::ReturnHere/>
                            <input type="hidden" name="name" value=name/>
                            <input type="hidden" name="handle" value=s.handle/>
                            <button type="submit">"End"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table id="sessions">
            <thead><tr><th>"Signed in"</th><th>"Last active"</th><th>"Address"</th><th>"Browser"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <ActionForm action=action attr:id="end-all-sessions">
            <super::ReturnHere/>
            <input type="hidden" name="name" value=name/>
            <input type="hidden" name="handle" value=""/>
            <button type="submit">"End all sessions"</button>
        </ActionForm>
        {move || failure(action.value().get())}
    }
    .into_any()
}

/// Copies the text of the input with id `target` to the clipboard, saying so; offered only
/// where the page's JavaScript runs (without it, the text is selected and copied by hand).
#[island]
fn CopyButton(target: String, what: String) -> impl IntoView {
    let running = RwSignal::new(false);
    Effect::new(move |_| running.set(true));
    let said = RwSignal::new("");
    #[cfg(not(feature = "hydrate"))]
    let _ = &target;
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let text = leptos::prelude::document()
                .get_element_by_id(&target)
                .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
                .map(|e| e.value());
            if let Some(text) = text {
                let promise = leptos::prelude::window()
                    .navigator()
                    .clipboard()
                    .write_text(&text);
                leptos::task::spawn_local(async move {
                    let done = wasm_bindgen_futures::JsFuture::from(promise).await;
                    said.set(if done.is_ok() {
                        "Copied."
                    } else {
                        "Could not copy: select the link and copy it by hand."
                    });
                });
            }
        }
    };
    view! {
        <button type="button" id="copy-link" hidden=move || !running.get() on:click=copy>{what}</button>
        " " <span role="status" id="copied">{move || said.get()}</span>
    }
}
