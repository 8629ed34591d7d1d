//! Signing in and out, and the first administrator's set-up.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Who is signed in, as the browser may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub name: String,
    pub role: String,
}

/// The signed-in user, if any.
#[server(endpoint = "auth/me", input = leptos::server_fn::codec::GetUrl)]
pub async fn who_am_i() -> Result<Option<SignedIn>, AppError> {
    use super::ssr::{reject, signed_in};
    Ok(signed_in().await.map_err(reject)?.map(|user| SignedIn {
        name: user.name,
        role: user.role.as_str().to_owned(),
    }))
}

/// Signs in with a name and password; the session id is replaced on success. Goes on to `next`,
/// a path on this dashboard (the page that asked for sign-in), or to the home page.
#[server(endpoint = "auth/sign-in")]
pub async fn sign_in(name: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::ssr::{AddressThrottle, client_address, reject, sign_in_as, store};
    use confo::audit::{Action, Actor};
    let name = name.trim().to_owned();
    let store = store()?;
    let throttle = use_context::<std::sync::Arc<AddressThrottle>>().unwrap_or_default();
    let address = client_address();
    let now = chrono::Utc::now().timestamp();
    if let Some(address) = &address {
        throttle
            .check(address, now)
            .map_err(|wait| reject(AppError::TooManyAttempts(wait)))?;
    }
    store
        .claim_sign_in_attempt(&name)
        .await
        .map_err(reject)?
        .map_err(|wait| reject(AppError::TooManyAttempts(wait)))?;
    let found = store.get_user(&name).await.map_err(reject)?;
    let accepted = match found {
        Some((user, hash)) => {
            let matches = confo::users::verify_password(password, hash)
                .await
                .map_err(reject)?;
            (matches && !user.disabled).then_some(user)
        }
        // Spend the same time as a real check, so that names cannot be probed by timing.
        None => {
            confo::users::verify_unknown_user(password)
                .await
                .map_err(reject)?;
            None
        }
    };
    let Some(user) = accepted else {
        if let Some(address) = &address {
            throttle.failed(address, now);
        }
        let change = confo::Change::by(Actor::system())
            .with_comment(address.map(|a| format!("from {a}")).unwrap_or_default());
        if let Err(error) = store
            .record_user_event(Action::SignInFailed, &name, &change)
            .await
        {
            tracing::warn!(%error, "cannot record a failed sign-in");
        }
        return Err(reject(AppError::Invalid(
            "That name and password do not match an active account.".into(),
        )));
    };
    sign_in_as(&user).await.map_err(reject)?;
    let change = super::ssr::change(&user)
        .with_comment(address.map(|a| format!("from {a}")).unwrap_or_default());
    store
        .record_sign_in(&user.name, &change)
        .await
        .map_err(reject)?;
    leptos_axum::redirect(&local_path(next.as_deref()));
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
    let store = store()?;
    let expected =
        setup_token().ok_or_else(|| reject(AppError::Forbidden("Set-up is closed.".into())))?;
    if !store.list_users().await.map_err(reject)?.is_empty() {
        return Err(reject(AppError::Forbidden(
            "Confo is already set up; sign in instead.".into(),
        )));
    }
    if !constant_time_eq(token.as_bytes(), expected.as_bytes()) {
        return Err(reject(AppError::Forbidden(
            "That set-up link is not valid; use the one the server printed when it started.".into(),
        )));
    }
    let name = name.trim().to_owned();
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
