//! The signed-in user's own account, and the page an invitation or reset link opens.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{failure, loaded};
use crate::api::account::{
    AcceptInvitation, AccountView, ChangePassword, EndMySessions, my_account, show_invitation,
};

/// Password, sessions and recent sign-ins of the signed-in user.
#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let end = ServerAction::<EndMySessions>::new();
    let query = use_query_map();
    let account = Resource::new(
        move || (change.version().get(), end.version().get()),
        |_| my_account(),
    );
    let page = move |me: AccountView| {
        let sessions = me
            .sessions
            .into_iter()
            .map(|s| {
                view! {
                    <tr>
                        <td>{s.signed_in}</td><td>{s.last_seen}</td><td>{s.address}</td>
                        <td>{s.agent}{s.current.then_some(" (this one)")}</td>
                        <td>
                            <ActionForm action=end attr:class="inline">
                                <super::ReturnHere/>
                                <input type="hidden" name="handle" value=s.handle/>
                                <button type="submit">{if s.current { "Sign out here" } else { "End" }}</button>
                            </ActionForm>
                        </td>
                    </tr>
                }
            })
            .collect_view();
        let recent = me
            .recent
            .into_iter()
            .map(|e| view! { <tr><td>{e.time}</td><td>{e.what}</td><td>{e.detail}</td></tr> })
            .collect_view();
        view! {
            <h1>"My account"</h1>
            <p id="account-summary">{format!("{} · {} · {}", me.name, me.role, me.access)}</p>
            <h2>"Change your password"</h2>
            {move || (query.read().get("changed").as_deref() == Some("password")).then(|| view! {
                <p class="notice" role="status">"Your password was changed. Your other sessions were ended."</p>
            })}
            <ActionForm action=change attr:class="stacked" attr:id="change-password">
                <super::ReturnHere/>
                <label>"Current password " <input type="password" name="current" required autocomplete="current-password"/></label>
                <label>"New password (at least 8 characters) " <input type="password" name="new" required minlength="8" autocomplete="new-password"/></label>
                <label>"New password again " <input type="password" name="repeat" required minlength="8" autocomplete="new-password"/></label>
                <button type="submit">"Change the password"</button>
            </ActionForm>
            {move || failure(change.value().get())}
            <h2>"Where you are signed in"</h2>
            <table id="my-sessions">
                <thead><tr><th>"Signed in"</th><th>"Last active"</th><th>"Address"</th><th>"Browser"</th><th></th></tr></thead>
                <tbody>{sessions}</tbody>
            </table>
            <ActionForm action=end attr:id="end-other-sessions">
                <super::ReturnHere/>
                <input type="hidden" name="handle" value=""/>
                <button type="submit">"Sign out everywhere else"</button>
            </ActionForm>
            {move || failure(end.value().get())}
            <h2>"Recent activity"</h2>
            <table id="recent-sign-ins">
                <thead><tr><th>"When"</th><th>"What"</th><th>"Detail"</th></tr></thead>
                <tbody>{recent}</tbody>
            </table>
        }
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { loaded(account.await, page) })}
        </Transition>
    }
}

/// Where an invitation or reset link leads: choose a password, then you are signed in.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let accept = ServerAction::<AcceptInvitation>::new();
    let query = use_query_map();
    let get = move |key: &'static str| query.read().get(key).unwrap_or_default();
    let invitation = Resource::new(
        move || (get("name"), get("token")),
        |(name, token)| show_invitation(name, token),
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                loaded(invitation.await, |view| {
                    let heading = if view.new_account {
                        format!("Welcome to Confo, {}", view.name)
                    } else {
                        format!("Choose a new password, {}", view.name)
                    };
                    view! {
                        <h1>{heading}</h1>
                        <p class="hint">"Choose a password: at least 8 characters; a few words you will remember make a good one. This link works until " {view.expires} "."</p>
                        <ActionForm action=accept attr:class="stacked" attr:id="accept-invitation">
                            <super::ReturnHere/>
                            <input type="hidden" name="name" value=get("name")/>
                            <input type="hidden" name="token" value=get("token")/>
                            <input type="text" name="username" value=view.name.clone() autocomplete="username" hidden/>
                            <label>"Password " <input type="password" name="password" required minlength="8" autocomplete="new-password"/></label>
                            <label>"Password again " <input type="password" name="repeat" required minlength="8" autocomplete="new-password"/></label>
                            <button type="submit">"Save the password and sign in"</button>
                        </ActionForm>
                    }
                })
            })}
        </Transition>
        {move || failure(accept.value().get())}
    }
}
