//! Signing in and out, and the first administrator's set-up.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Who is signed in, as the browser may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub name: String,
    pub role: String,
    /// Change requests waiting for this person's review.
    pub waiting: usize,
}

/// The signed-in user, if any.
#[server(endpoint = "auth/me", input = leptos::server_fn::codec::GetUrl)]
pub async fn who_am_i() -> Result<Option<SignedIn>, AppError> {
    use super::ssr::{reject, signed_in, store};
    let Some(user) = signed_in().await.map_err(reject)? else {
        return Ok(None);
    };
    let waiting = crate::api::requests::ssr::waiting_for(&store()?, &user).await?;
    Ok(Some(SignedIn {
        name: user.name,
        role: user.role.as_str().to_owned(),
        waiting,
    }))
}

/// Signs in with a name and password; the session id is replaced on success. Goes on to `next`,
/// a path on this dashboard (the page that asked for sign-in), or to the home page.
///
/// Cheap checks come first and each attempt is counted before its password is checked (see
/// [`crate::throttle`]): a field longer than its rule is refused before the store is touched,
/// and a held-back client or account gets its wait without a password check.
#[server(endpoint = "auth/sign-in")]
pub async fn sign_in(name: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::ssr::{client_address, reject, settings, sign_in_as, store};
    use crate::throttle::{
        AddressThrottle, FailedSignIns, INVALID_NAME, address_group, device_cookie,
    };
    use confo::audit::{Action, Actor};
    use confo::store::SignInClient;
    use std::sync::Arc;
    let name = name.trim().to_owned();
    check_field_lengths(&name, &password)?;
    let next = next.filter(|next| next.len() <= MAX_NEXT_BYTES);
    let store = store()?;
    let secure = settings().secure;
    let valid_name = confo::users::check_user_name(&name).is_ok();
    // A browser that signed in to this account before is known by its device cookie.
    let device = use_context::<http::request::Parts>()
        .and_then(|parts| device_cookie::read(&parts.headers, secure));
    let known = match (&device, valid_name) {
        (Some(token), true) => {
            store.device_user(token).await.map_err(reject)?.as_deref() == Some(name.as_str())
        }
        _ => false,
    };
    let client = if known {
        SignInClient::Known
    } else {
        SignInClient::Unknown
    };
    let throttle = use_context::<Arc<AddressThrottle>>().unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    let address = client_address();
    // Where an attempt came from, for the audit log.
    let from = address
        .as_ref()
        .map(|a| format!("from {a}"))
        .unwrap_or_default();
    // Known browsers are not held back by what others from the same address do.
    let group = address.as_deref().filter(|_| !known).map(address_group);
    if let Some(group) = &group {
        throttle
            .claim(group, now)
            .map_err(|wait| reject(AppError::TooManyAttempts(wait)))?;
    }
    let give_back = || {
        if let Some(group) = &group {
            throttle.release(group);
        }
    };
    let accepted = if valid_name {
        match store.claim_sign_in_attempt(&name, client).await {
            Ok(Ok(())) => {}
            Ok(Err(wait)) => {
                give_back();
                return Err(reject(AppError::TooManyAttempts(wait)));
            }
            Err(error) => {
                give_back();
                return Err(reject(error));
            }
        }
        let checked = match store.get_user(&name).await {
            Ok(Some((user, hash))) => confo::users::verify_password(password, hash)
                .await
                .map(|matches| (matches && !user.disabled).then_some(user)),
            // Spend the same time as a real check, so that names cannot be probed by timing.
            Ok(None) => confo::users::verify_unknown_user(password)
                .await
                .map(|()| None),
            Err(error) => Err(error),
        };
        match checked {
            Ok(accepted) => accepted,
            // No password was checked (the server was too busy, or the store did not answer):
            // the attempt does not count.
            Err(error) => {
                give_back();
                if let Err(release) = store.release_sign_in_attempt(&name, client).await {
                    tracing::warn!(error = %release, "cannot give back a sign-in attempt");
                }
                return Err(reject(error));
            }
        }
    } else {
        None
    };
    let Some(user) = accepted else {
        let failures = use_context::<Arc<FailedSignIns>>().unwrap_or_default();
        if failures.admit(now) {
            let tried = if valid_name {
                name.as_str()
            } else {
                INVALID_NAME
            };
            let change = confo::Change::by(Actor::system()).with_comment(from);
            if let Err(error) = store
                .record_user_event(Action::SignInFailed, tried, &change)
                .await
            {
                tracing::warn!(%error, "cannot record a failed sign-in");
            }
        }
        return Err(reject(AppError::Invalid(
            "That name and password do not match an active account.".into(),
        )));
    };
    give_back();
    sign_in_as(&user).await.map_err(reject)?;
    let change = super::ssr::change(&user).with_comment(from);
    store
        .record_sign_in(&user.name, Some(client), &change)
        .await
        .map_err(reject)?;
    if !known {
        let token = confo::users::random_token();
        store
            .remember_device(&user.name, &token)
            .await
            .map_err(reject)?;
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.append_header(http::header::SET_COOKIE, device_cookie::set(&token, secure));
        }
    }
    leptos_axum::redirect(&local_path(next.as_deref()));
    Ok(())
}

/// The longest `next` followed after sign-in; a longer one is ignored.
#[cfg(feature = "ssr")]
const MAX_NEXT_BYTES: usize = 2048;

/// Refuses a name or password longer than any account can have, before anything else is done.
#[cfg(feature = "ssr")]
fn check_field_lengths(name: &str, password: &str) -> Result<(), AppError> {
    use confo::users::{MAX_PASSWORD_CHARS, MAX_USER_NAME_CHARS};
    let too_long = |what: &str, limit: usize| {
        super::ssr::reject(AppError::Invalid(format!(
            "{what} is at most {limit} characters long; check what you typed."
        )))
    };
    // Bytes bound characters from above: a short text is not counted character by character.
    if name.len() > MAX_USER_NAME_CHARS && name.chars().count() > MAX_USER_NAME_CHARS {
        return Err(too_long("A user name", MAX_USER_NAME_CHARS));
    }
    if password.len() > MAX_PASSWORD_CHARS && password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(too_long("A password", MAX_PASSWORD_CHARS));
    }
    Ok(())
}

/// Where to go after signing in: `next` resolved on this site (see
/// [`super::redirect::site_path`]), unless it leaves the site or is the sign-in page itself;
/// else the home page.
#[cfg(feature = "ssr")]
fn local_path(next: Option<&str>) -> String {
    next.and_then(super::redirect::site_path)
        .filter(|path| {
            let page = path.split(['?', '#']).next().unwrap_or_default();
            page != "/login" && !page.starts_with("/login/")
        })
        .unwrap_or_else(|| "/".to_owned())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use proptest::prelude::*;

    #[test]
    fn sign_in_goes_on_only_to_local_paths() {
        for (next, expected) in [
            (None, "/"),
            (Some("/users/ada?x=1"), "/users/ada?x=1"),
            (Some("//evil.example/"), "/"),
            (Some("/\\evil.example"), "/"),
            (Some("https://evil.example"), "/"),
            (Some("/login?next=/"), "/"),
            (Some("/login"), "/"),
            (Some("/\t/evil.example"), "/"),
            (Some("/\n/evil.example"), "/"),
            (
                Some("/users/ada\r\nSet-Cookie: x=y"),
                "/users/adaSet-Cookie:%20x=y",
            ),
            (Some("/ns/shop?q=a b"), "/ns/shop?q=a%20b"),
        ] {
            assert_eq!(super::local_path(next), expected, "{next:?}");
        }
    }

    /// What must hold for any `next`: a plain path on this site, never a panic.
    fn stays_on_the_site(next: &str) -> Result<(), TestCaseError> {
        let path = super::local_path(Some(next));
        prop_assert!(path.starts_with('/'), "{path:?}");
        prop_assert!(
            !path.starts_with("//") && !path.starts_with("/\\"),
            "{path:?}"
        );
        prop_assert!(http::HeaderValue::from_str(&path).is_ok(), "{path:?}");
        let origin = url::Url::parse("https://dashboard.example/").unwrap();
        let followed = origin.join(&path).unwrap();
        prop_assert_eq!(followed.origin(), origin.origin(), "{:?}", path);
        Ok(())
    }

    proptest! {
        #[test]
        fn sign_in_never_leaves_the_site_whatever_next_is(next in any::<String>()) {
            stays_on_the_site(&next)?;
        }

        /// Strings made of what tricks a path check: slashes, backslashes, tabs, line breaks,
        /// dots, colons, `@`, `%`.
        #[test]
        fn sign_in_never_leaves_the_site_from_a_path_like_next(
            next in "[/\\\t\n\r .a-z:@?#%]{0,12}"
        ) {
            stays_on_the_site(&next)?;
        }
    }
}

/// Ends the session on the server.
#[server(endpoint = "auth/sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    use super::ssr::{change, reject, session, signed_in, store};
    if let Some(user) = signed_in().await? {
        store()?
            .record_user_event(confo::audit::Action::SignOut, &user.name, &change(&user))
            .await
            .map_err(reject)?;
    }
    session().await?.flush().await.map_err(|e| {
        tracing::error!(error = %e, "cannot end a session");
        reject(AppError::Internal)
    })?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Creates the first administrator with the one-time set-up token the server printed.
#[server(endpoint = "auth/setup")]
pub async fn set_up(token: String, name: String, password: String) -> Result<(), AppError> {
    use super::ssr::{reject, setup_token, sign_in_as, store};
    let name = name.trim().to_owned();
    check_field_lengths(&name, &password)?;
    let expected =
        setup_token().ok_or_else(|| reject(AppError::Forbidden("Set-up is closed.".into())))?;
    if !constant_time_eq(token.as_bytes(), expected.as_bytes()) {
        return Err(reject(AppError::Forbidden(
            "That set-up link is not valid; use the one the server printed when it started.".into(),
        )));
    }
    let store = store()?;
    if !store.list_users().await.map_err(reject)?.is_empty() {
        return Err(reject(AppError::Forbidden(
            "Confo is already set up; sign in instead.".into(),
        )));
    }
    confo::users::check_user_name(&name).map_err(reject)?;
    confo::users::check_password(&password, &name).map_err(reject)?;
    let user = confo::users::User {
        name: name.clone(),
        role: confo::users::Role::Admin,
        grants: confo::users::Grants::All,
        disabled: false,
        created: chrono::Utc::now(),
    };
    let hash = confo::users::hash_password(password)
        .await
        .map_err(reject)?;
    let change = confo::Change::by(confo::Actor::system()).with_comment("first-run set-up");
    store
        .create_user(&user, &hash, &change)
        .await
        .map_err(reject)?;
    sign_in_as(&user).await.map_err(reject)?;
    leptos_axum::redirect("/");
    Ok(())
}

#[cfg(feature = "ssr")]
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
