//! What every signed-in user may do with their own account, and accepting an invitation.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::users::SessionRow;
use crate::error::AppError;

/// One event on an account, for its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEvent {
    pub time: String,
    /// In words, e.g. "Signed in".
    pub what: String,
    pub detail: String,
}

/// The signed-in user's own account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub name: String,
    pub role: String,
    pub access: String,
    pub sessions: Vec<SessionRow>,
    /// Sign-ins, failed ones and other account events of the last 90 days, newest first.
    pub recent: Vec<AccountEvent>,
}

/// An invitation link's state, before it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub name: String,
    /// Choosing a password for a new account (`false`: a new password for an existing one).
    pub new_account: bool,
    pub expires: String,
}

#[cfg(feature = "ssr")]
fn event_words(action: confo::Action) -> &'static str {
    use confo::Action as A;
    match action {
        A::SignIn => "Signed in",
        A::SignInFailed => "Failed sign-in",
        A::SignOut => "Signed out",
        A::UserCreate => "Account created",
        A::UserInvite => "Invited",
        A::UserAcceptInvitation => "Password chosen with a link",
        A::UserResetPassword => "Password reset link made",
        A::UserChangePassword => "Password changed",
        A::UserUpdate => "Role or access changed",
        A::UserDisable => "Account disabled",
        A::UserEnable => "Account enabled",
        A::EndSessions => "Sessions ended",
        _ => "Changed",
    }
}

/// The signed-in user's account, sessions and recent sign-ins.
#[server(endpoint = "account/me", input = leptos::server_fn::codec::GetUrl)]
pub async fn my_account() -> Result<AccountView, AppError> {
    use super::ssr::{current_handle, reject, require_user, sessions, store};
    let user = require_user().await?;
    let live = sessions()?.list(Some(&user.name)).await.map_err(reject)?;
    let query = confo::AuditQuery {
        user: Some(user.name.clone()),
        since: Some(chrono::Utc::now() - chrono::Duration::days(90)),
        limit: Some(20),
        // The page reads a bounded part of the log, however rare this account's entries are.
        scan_limit: Some(10_000),
        ..Default::default()
    };
    let entries = store()?.audit(&query).await.map_err(reject)?.entries;
    let row = super::users::ssr::row(&user, live.len(), None);
    Ok(AccountView {
        access: row.access(),
        name: user.name,
        role: user.role.as_str().to_owned(),
        sessions: super::users::ssr::session_rows(live, current_handle().await?.as_deref()),
        recent: entries
            .into_iter()
            .map(|e| AccountEvent {
                time: crate::when::exact(e.time.timestamp()),
                what: event_words(e.action).to_owned(),
                detail: match (
                    e.actor.name == e.user.clone().unwrap_or_default(),
                    e.comment,
                ) {
                    (true, comment) => comment.unwrap_or_default(),
                    (false, Some(comment)) => format!("by {}: {comment}", e.actor.name),
                    (false, None) => format!("by {}", e.actor.name),
                },
            })
            .collect(),
    })
}

/// Changes the signed-in user's password; the current one is asked for. Their other sessions
/// end.
#[server(endpoint = "account/password")]
pub async fn change_password(current: String, new: String, repeat: String) -> Result<(), AppError> {
    use super::ssr::{change, current_handle, reject, require_user, sessions, store};
    let user = require_user().await?;
    let store = store()?;
    if new != repeat {
        return Err(reject(AppError::Invalid(
            "The new password and its repetition differ; type the same password twice.".into(),
        )));
    }
    confo::users::check_password(&new, &user.name).map_err(reject)?;
    // Guessing the current password here is throttled like signing in.
    store
        .claim_sign_in_attempt(&user.name, confo::store::SignInClient::Known)
        .await
        .map_err(reject)?
        .map_err(|wait| reject(AppError::TooManyAttempts(wait)))?;
    let (_, hash) = store
        .get_user(&user.name)
        .await
        .map_err(reject)?
        .ok_or_else(|| reject(AppError::SignInRequired))?;
    if !confo::users::verify_password(current, hash)
        .await
        .map_err(reject)?
    {
        return Err(reject(AppError::Invalid(
            "The current password is not right; nothing was changed.".into(),
        )));
    }
    let hash = confo::users::hash_password(new).await.map_err(reject)?;
    store
        .set_password(&user.name, &hash, &change(&user))
        .await
        .map_err(reject)?;
    store
        .release_sign_in_attempt(&user.name, confo::store::SignInClient::Known)
        .await
        .map_err(reject)?;
    let keep = current_handle().await?;
    sessions()?
        .end(&user.name, None, keep.as_deref())
        .await
        .map_err(reject)?;
    leptos_axum::redirect("/account?changed=password");
    Ok(())
}

/// Ends one of the signed-in user's own sessions (`handle`), or all the others when empty.
#[server(endpoint = "account/end-sessions")]
pub async fn end_my_sessions(handle: String) -> Result<(), AppError> {
    use super::ssr::{change, current_handle, reject, require_user, sessions, store};
    let user = require_user().await?;
    let handle = (!handle.is_empty()).then_some(handle);
    let keep = current_handle().await?;
    let ended = sessions()?
        .end(
            &user.name,
            handle.as_deref(),
            if handle.is_none() {
                keep.as_deref()
            } else {
                None
            },
        )
        .await
        .map_err(reject)?;
    if ended > 0 {
        let change = change(&user).with_comment(format!("{ended} session(s)"));
        store()?
            .record_user_event(confo::Action::EndSessions, &user.name, &change)
            .await
            .map_err(reject)?;
    }
    leptos_axum::redirect("/account");
    Ok(())
}

/// What an invitation or reset link is for, if it is valid.
#[server(endpoint = "invitation/show", input = leptos::server_fn::codec::GetUrl)]
pub async fn show_invitation(name: String, token: String) -> Result<InvitationView, AppError> {
    use super::ssr::{reject, store};
    let invitation = store()?
        .invitation(&name)
        .await
        .map_err(reject)?
        .filter(|i| i.accepts(&token))
        .ok_or_else(|| {
            reject(AppError::NotFound(
                "This link is not valid: it was used already, replaced by a newer one, or mistyped. Ask an administrator for a new one.".into(),
            ))
        })?;
    if invitation.is_expired(chrono::Utc::now()) {
        return Err(reject(AppError::Invalid(
            "This link has expired. Ask an administrator for a new one.".into(),
        )));
    }
    Ok(InvitationView {
        name: invitation.name,
        new_account: invitation.kind == confo::users::InvitationKind::NewAccount,
        expires: crate::when::exact(invitation.expires.timestamp()),
    })
}

/// Uses an invitation or reset link: sets the password and signs in, ending every other session
/// of the account (whoever knew the old password is signed out).
///
/// Everything cheap is checked before the new password is hashed (argon2 takes 19 MiB and tens
/// of milliseconds): the fields' lengths before anything is read, then the password rules, then
/// the link itself. A wrong or expired link costs the server one read. The store checks the link
/// again in the transaction that uses it.
#[server(endpoint = "invitation/accept")]
pub async fn accept_invitation(
    name: String,
    token: String,
    password: String,
    repeat: String,
) -> Result<(), AppError> {
    use super::ssr::{change, reject, sign_in_alone, store};
    use confo::users::{MAX_LINK_TOKEN_CHARS, MAX_USER_NAME_CHARS, check_link, link_not_valid};
    if name.chars().count() > MAX_USER_NAME_CHARS || token.chars().count() > MAX_LINK_TOKEN_CHARS {
        return Err(reject(link_not_valid()));
    }
    if password != repeat {
        return Err(reject(AppError::Invalid(
            "The password and its repetition differ; type the same password twice.".into(),
        )));
    }
    confo::users::check_password(&password, &name).map_err(reject)?;
    let store = store()?;
    let pending = store.invitation(&name).await.map_err(reject)?;
    check_link(pending, &token, chrono::Utc::now()).map_err(reject)?;
    let hash = confo::users::hash_password(password)
        .await
        .map_err(reject)?;
    let user = store
        .accept_invitation(&name, &token, &hash)
        .await
        .map_err(reject)?;
    let ended = sign_in_alone(&user).await?;
    let change = change(&user);
    store
        .record_sign_in(&user.name, None, &change)
        .await
        .map_err(reject)?;
    if ended > 0 {
        let change = change.with_comment(format!("{ended} other session(s), on using a link"));
        store
            .record_user_event(confo::Action::EndSessions, &user.name, &change)
            .await
            .map_err(reject)?;
    }
    leptos_axum::redirect("/");
    Ok(())
}

/// The role of the signed-in person when they are still to be shown the getting-started guide
/// (people who joined through an invitation, until they dismiss it); `None` otherwise.
#[server(endpoint = "guide/pending", input = leptos::server_fn::codec::GetUrl)]
pub async fn guide_pending() -> Result<Option<String>, AppError> {
    use super::ssr::{reject, require_user, store};
    let user = require_user().await?;
    let pending = store()?.guide_pending(&user.name).await.map_err(reject)?;
    Ok(pending.then(|| user.role.as_str().to_owned()))
}

/// Dismisses the getting-started guide for the signed-in person, for good.
#[server(endpoint = "guide/dismiss")]
pub async fn dismiss_guide() -> Result<(), AppError> {
    use super::ssr::{reject, require_user, store};
    let user = require_user().await?;
    store()?.dismiss_guide(&user.name).await.map_err(reject)?;
    leptos_axum::redirect("/");
    Ok(())
}
