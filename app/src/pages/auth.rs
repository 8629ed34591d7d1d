//! Sign-in and first-run set-up pages. Both work with JavaScript off: the forms post to their
//! server functions, which redirect on success and come back here with the error otherwise.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{SetUp, SignIn};

/// The sign-in form.
#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <h1>"Sign in"</h1>
        <ActionForm action=sign_in attr:class="stacked" attr:id="sign-in">
            <super::ReturnHere/>
            <input type="hidden" name="next" prop:value=next value=next/>
            <super::KeepTyped names="name"/>
            <label>"Name " <input type="text" name="name" value=super::kept(query, "name") required autocomplete="username"/></label>
            <label>
                "Password "
                <input type="password" name="password" required autocomplete="current-password"/>
            </label>
            <button type="submit">"Sign in"</button>
        </ActionForm>
        {move || {
            sign_in
                .value()
                .get()
                .and_then(Result::err)
                .map(|error| view! { <super::ErrorMessage error/> })
        }}
        <p class="hint">"No account yet? Ask an administrator to create one for you."</p>
    }
}

/// Creates the first administrator, with the token from the link the server printed.
#[component]
pub fn SetUpPage() -> impl IntoView {
    let set_up = ServerAction::<SetUp>::new();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    view! {
        <h1>"Set up Confo"</h1>
        <p class="hint">
            "Create the first administrator. Administrators can then add everyone else."
        </p>
        <ActionForm action=set_up attr:class="stacked" attr:id="set-up">
            <super::ReturnHere/>
            <input type="hidden" name="token" prop:value=token value=token/>
            <super::KeepTyped names="name"/>
            <label>"Your name " <input type="text" name="name" value=super::kept(query, "name") required autocomplete="username"/></label>
            <label>
                "Password (at least 8 characters) "
                <input type="password" name="password" required minlength="8" autocomplete="new-password"/>
            </label>
            <button type="submit">"Create the administrator"</button>
        </ActionForm>
        {move || {
            set_up
                .value()
                .get()
                .and_then(Result::err)
                .map(|error| view! { <super::ErrorMessage error/> })
        }}
    }
}
