//! Administering accounts: list, invite, change role and grants, disable, reset a password,
//! and see and end sessions. Every function here is for administrators only.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A live session as shown in the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub handle: String,
    pub signed_in: String,
    pub last_seen: String,
    pub address: String,
    pub agent: String,
    /// The session making this request.
    pub current: bool,
}

/// A pending invitation or reset link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    /// "invitation" or "password reset".
    pub kind: String,
    pub expires: String,
    pub expired: bool,
    /// The link itself: shown once, to the administrator who made it, on the page they are taken
    /// to when it is made.
    pub link: Option<String>,
}

/// An account (or an invitation not yet accepted) in the users list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub name: String,
    pub role: String,
    /// `None`: every namespace.
    pub namespaces: Option<Vec<String>>,
    pub disabled: bool,
    /// `false` for an invitation not yet accepted.
    pub joined: bool,
    pub sessions: usize,
    pub pending: Option<PendingLink>,
}

impl UserRow {
    /// The namespaces in words.
    pub fn access(&self) -> String {
        match &self.namespaces {
            None => "all namespaces".into(),
            Some(names) if names.is_empty() => "no namespaces".into(),
            Some(names) => names.join(", "),
        }
    }
}

/// One account in full, for its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    pub row: UserRow,
    pub sessions: Vec<SessionRow>,
    /// Namespaces the person is granted that do not exist (a typo, or not created yet).
    pub unknown_namespaces: Vec<String>,
    /// Every namespace there is, to pick from.
    pub known_namespaces: Vec<String>,
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::*;
    use crate::api::ssr::{reject, session, sessions, settings};
    use confo::users::{Grants, Invitation, InvitationKind, Role, User};

    pub fn session_rows(
        sessions: Vec<crate::sessions::SessionInfo>,
        current: Option<&str>,
    ) -> Vec<SessionRow> {
        sessions
            .into_iter()
            .map(|s| SessionRow {
                current: current == Some(s.handle.as_str()),
                signed_in: crate::when::exact(s.signed_in_at),
                last_seen: crate::when::exact(s.last_seen),
                address: s.address.unwrap_or_else(|| "unknown".into()),
                agent: s
                    .agent
                    .map_or_else(|| "unknown".into(), |a| browser_name(&a)),
                handle: s.handle,
            })
            .collect()
    }

    /// A short name for a browser's User-Agent.
    fn browser_name(agent: &str) -> String {
        let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/", "curl/"]
            .into_iter()
            .find(|b| agent.contains(b))
            .map(|b| match b {
                "Edg/" => "Edge",
                "Firefox/" => "Firefox",
                "Chrome/" => "Chrome",
                "Safari/" => "Safari",
                _ => "curl",
            });
        let system = ["Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux"]
            .into_iter()
            .find(|s| agent.contains(s));
        match (browser, system) {
            (Some(b), Some(s)) => format!("{b} on {s}"),
            (Some(b), None) => b.to_owned(),
            _ => agent.chars().take(40).collect(),
        }
    }

    pub fn row(user: &User, sessions: usize, pending: Option<PendingLink>) -> UserRow {
        UserRow {
            name: user.name.clone(),
            role: user.role.as_str().to_owned(),
            namespaces: match &user.grants {
                Grants::All => None,
                Grants::Namespaces(names) => Some(names.clone()),
            },
            disabled: user.disabled,
            joined: true,
            sessions,
            pending,
        }
    }

    /// Takes the link this administrator made for `name` in this session, if any: it is shown
    /// once, then forgotten.
    ///
    /// A link waits in the store between the request that makes it and the page that shows it
    /// (see [`crate::sessions::StoreSessions::keep_link`]), sealed with a key derived from the
    /// session id, which the store does not hold: reading the store or a backup of it gives no
    /// working link.
    pub async fn take_link(name: &str) -> Option<String> {
        let id = session().await.ok()?.id()?;
        let sealed = match sessions().ok()?.take_link(&id, name).await {
            Ok(sealed) => sealed?,
            Err(error) => {
                tracing::warn!(%error, "cannot read a link waiting to be shown");
                return None;
            }
        };
        links::open(&id, &sealed)
    }

    pub fn pending(invitation: &Invitation, link: Option<String>) -> PendingLink {
        // Only a link for this very invitation (a newer one replaces it).
        let link = link.filter(|link| {
            link.rsplit("token=")
                .next()
                .is_some_and(|t| invitation.accepts(t))
        });
        PendingLink {
            kind: match invitation.kind {
                InvitationKind::NewAccount => "invitation",
                InvitationKind::PasswordReset => "password reset",
            }
            .into(),
            expires: crate::when::exact(invitation.expires.timestamp()),
            expired: invitation.is_expired(chrono::Utc::now()),
            link,
        }
    }

    /// Sealing links for the session: ChaCha20-Poly1305 with a key derived from the session id.
    mod links {
        use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
        use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
        use tower_sessions::session::Id;

        fn cipher(id: &Id) -> ChaCha20Poly1305 {
            use sha2::Digest;
            let mut key = sha2::Sha256::new();
            key.update(b"confo one-time link key\0");
            key.update(id.to_string().as_bytes());
            ChaCha20Poly1305::new(Key::from_slice(&key.finalize()))
        }

        pub fn seal(id: &Id, link: &str) -> String {
            let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
            let sealed = cipher(id)
                .encrypt(&nonce, link.as_bytes())
                .expect("encryption in memory does not fail");
            hex::encode([nonce.as_slice(), &sealed].concat())
        }

        pub fn open(id: &Id, sealed: &str) -> Option<String> {
            let bytes = hex::decode(sealed).ok()?;
            if bytes.len() < 12 {
                return None;
            }
            let (nonce, sealed) = bytes.split_at(12);
            let plain = cipher(id).decrypt(Nonce::from_slice(nonce), sealed).ok()?;
            String::from_utf8(plain).ok()
        }

        #[cfg(test)]
        mod tests {
            #[test]
            fn a_sealed_link_opens_only_with_its_session() {
                let (id, other) = (Id::default(), Id::default());
                let link = "http://x/invitation?name=grace&token=abc";
                let sealed = super::seal(&id, link);
                // Nothing of the link shows through, not even hex-encoded.
                assert!(!sealed.contains(&hex::encode("token=abc")));
                assert!(!sealed.contains("token"));
                assert_eq!(super::open(&id, &sealed).as_deref(), Some(link));
                assert_eq!(super::open(&other, &sealed), None);
                assert_eq!(super::open(&id, "00"), None);
            }
            use tower_sessions::session::Id;
        }
    }

    /// Role and grants from a form: `access` is "all" or "some", `namespaces` a list separated
    /// by commas or spaces.
    pub fn parse_access(
        role: &str,
        access: &str,
        namespaces: &str,
    ) -> Result<(Role, Grants), AppError> {
        let role: Role = role
            .parse()
            .map_err(|e: String| reject(AppError::Invalid(e)))?;
        let grants = match access {
            "all" => Grants::All,
            "some" => {
                let mut names = Vec::new();
                for name in namespaces
                    .split([',', ' ', '\n'])
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                {
                    let valid = confo::NamespaceName::new(name).map_err(|reason| {
                        reject(confo::Error::InvalidName {
                            kind: "namespace",
                            name: name.to_owned(),
                            reason,
                        })
                    })?;
                    if !names.contains(&valid.to_string()) {
                        names.push(valid.to_string());
                    }
                }
                Grants::Namespaces(names)
            }
            other => {
                return Err(reject(AppError::Invalid(format!(
                    "{other:?} is not a choice of access; choose all namespaces or some"
                ))));
            }
        };
        Ok((role, grants))
    }

    /// Stores a one-time link and keeps it, sealed, for the administrator's session until their
    /// next view of the person's page shows it (see [`take_link`]).
    pub async fn make_link(
        admin: &User,
        name: &str,
        kind: InvitationKind,
        role: Role,
        grants: Grants,
    ) -> Result<(), AppError> {
        let lifetime = chrono::Duration::from_std(settings().invitation_lifetime).unwrap_or(
            chrono::Duration::hours(confo::users::DEFAULT_INVITATION_HOURS),
        );
        let (invitation, token) = Invitation::new(name, kind, role, grants, &admin.name, lifetime);
        let store = crate::api::ssr::store()?;
        store
            .invite(&invitation, &crate::api::ssr::change(admin))
            .await
            .map_err(reject)?;
        let link = format!("{}/invitation?name={name}&token={token}", origin());
        let session = session().await?;
        let id = session.id().ok_or_else(|| {
            tracing::error!("a signed-in administrator without a session id");
            reject(AppError::Internal)
        })?;
        sessions()?
            .keep_link(&id, name, links::seal(&id, &link), settings().idle_timeout)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot keep the link to show it");
                reject(AppError::Internal)
            })?;
        Ok(())
    }

    /// This dashboard's address as the browser used it.
    fn origin() -> String {
        let parts = use_context::<http::request::Parts>();
        let host = parts
            .as_ref()
            .and_then(|p| p.headers.get(http::header::HOST))
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_owned();
        let scheme = if settings().secure { "https" } else { "http" };
        format!("{scheme}://{host}")
    }
}

/// Every account and every pending invitation, by name.
#[server(endpoint = "users/list", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    use super::ssr::{reject, require, sessions, store};
    use confo::users::Role;
    require(Role::Admin, None).await?;
    let store = store()?;
    let users = store.list_users().await.map_err(reject)?;
    let invitations = store.list_invitations().await.map_err(reject)?;
    let live = sessions()?.list(None).await.map_err(reject)?;
    let mut rows = Vec::new();
    for user in &users {
        let count = live.iter().filter(|s| s.user == user.name).count();
        let pending = invitations
            .iter()
            .find(|i| i.name == user.name)
            .map(|i| ssr::pending(i, None));
        rows.push(ssr::row(user, count, pending));
    }
    for invitation in invitations
        .iter()
        .filter(|i| !users.iter().any(|u| u.name == i.name))
    {
        rows.push(UserRow {
            name: invitation.name.clone(),
            role: invitation.role.as_str().to_owned(),
            namespaces: match &invitation.grants {
                confo::users::Grants::All => None,
                confo::users::Grants::Namespaces(names) => Some(names.clone()),
            },
            disabled: false,
            joined: false,
            sessions: 0,
            pending: Some(ssr::pending(invitation, None)),
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// One account (or pending invitation) and its live sessions.
#[server(endpoint = "users/get", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_user(name: String) -> Result<UserDetail, AppError> {
    use super::ssr::{current_handle, reject, require, sessions, store};
    require(confo::users::Role::Admin, None).await?;
    let mut row = list_users()
        .await?
        .into_iter()
        .find(|row| row.name == name)
        .ok_or_else(|| reject(AppError::NotFound(format!("There is no user {name:?}."))))?;
    // The link made for this person, once, to the administrator who made it.
    if row.pending.is_some()
        && let Some(invitation) = store()?.invitation(&name).await.map_err(reject)?
    {
        row.pending = Some(ssr::pending(&invitation, ssr::take_link(&name).await));
    }
    let current = current_handle().await?;
    let live = sessions()?.list(Some(&name)).await.map_err(reject)?;
    let known = store()?.list_namespaces().await.map_err(reject)?;
    let unknown_namespaces = row
        .namespaces
        .iter()
        .flatten()
        .filter(|granted| !known.contains(granted))
        .cloned()
        .collect();
    Ok(UserDetail {
        row,
        sessions: ssr::session_rows(live, current.as_deref()),
        unknown_namespaces,
        known_namespaces: known,
    })
}

/// Every namespace there is, for an administrator picking the ones a person may use.
#[server(endpoint = "users/namespaces", input = leptos::server_fn::codec::GetUrl)]
pub async fn namespace_names() -> Result<Vec<String>, AppError> {
    use super::ssr::{reject, require, store};
    require(confo::users::Role::Admin, None).await?;
    store()?.list_namespaces().await.map_err(reject)
}

/// The namespaces of an access form: those picked from the list, then those typed.
#[cfg(feature = "ssr")]
fn named(picked: &[String], typed: &str) -> String {
    let mut all = picked.join(",");
    all.push(',');
    all.push_str(typed);
    all
}

/// Invites a person: makes a one-time link (shown on their page) with which they choose a
/// password. `access` is "all" or "some"; for "some", the namespaces `picked` from the list and
/// those typed in `namespaces` (separated by commas).
#[server(endpoint = "users/invite")]
pub async fn invite_user(
    name: String,
    role: String,
    access: String,
    #[server(default)] namespaces: String,
    #[server(default)] picked: Vec<String>,
) -> Result<(), AppError> {
    use super::ssr::{reject, require};
    let admin = require(confo::users::Role::Admin, None).await?;
    let name = name.trim().to_owned();
    confo::users::check_user_name(&name).map_err(reject)?;
    let (role, grants) = ssr::parse_access(&role, &access, &named(&picked, &namespaces))?;
    ssr::make_link(
        &admin,
        &name,
        confo::users::InvitationKind::NewAccount,
        role,
        grants,
    )
    .await?;
    super::redirect::redirect(&format!("/users/{name}"));
    Ok(())
}

/// Makes a new one-time link with which the user chooses a new password. Their current
/// password keeps working until then.
#[server(endpoint = "users/reset-password")]
pub async fn reset_password(name: String) -> Result<(), AppError> {
    use super::ssr::require;
    use confo::users::{Grants, InvitationKind, Role};
    let admin = require(Role::Admin, None).await?;
    ssr::make_link(
        &admin,
        &name,
        InvitationKind::PasswordReset,
        Role::Viewer,
        Grants::All,
    )
    .await?;
    super::redirect::redirect(&format!("/users/{name}"));
    Ok(())
}

/// Changes a user's role and the namespaces it applies to.
#[server(endpoint = "users/update")]
pub async fn update_user(
    name: String,
    role: String,
    access: String,
    #[server(default)] namespaces: String,
    #[server(default)] picked: Vec<String>,
) -> Result<(), AppError> {
    use super::ssr::{change, reject, require, store};
    let admin = require(confo::users::Role::Admin, None).await?;
    let (role, grants) = ssr::parse_access(&role, &access, &named(&picked, &namespaces))?;
    store()?
        .update_user(&name, role, grants, &change(&admin))
        .await
        .map_err(reject)?;
    super::redirect::redirect(&format!("/users/{name}"));
    Ok(())
}

/// Disables a user, ending all their sessions at once, or enables them again.
#[server(endpoint = "users/set-disabled")]
pub async fn set_user_disabled(name: String, disabled: bool) -> Result<(), AppError> {
    use super::ssr::{change, reject, require, sessions, store};
    let admin = require(confo::users::Role::Admin, None).await?;
    if disabled && name == admin.name {
        return Err(reject(AppError::Invalid(
            "You cannot disable your own account; ask another administrator.".into(),
        )));
    }
    store()?
        .set_user_disabled(&name, disabled, &change(&admin))
        .await
        .map_err(reject)?;
    if disabled {
        sessions()?.end(&name, None, None).await.map_err(reject)?;
    }
    super::redirect::redirect(&format!("/users/{name}"));
    Ok(())
}

/// Ends one of a user's sessions (`handle`), or all of them when `handle` is empty.
#[server(endpoint = "users/end-sessions")]
pub async fn end_user_sessions(name: String, handle: String) -> Result<(), AppError> {
    use super::ssr::{change, current_handle, reject, require, sessions, store};
    let admin = require(confo::users::Role::Admin, None).await?;
    let handle = (!handle.is_empty()).then_some(handle);
    // An administrator ending "all" their own sessions keeps the one they are using.
    let keep = if name == admin.name {
        current_handle().await?
    } else {
        None
    };
    let ended = sessions()?
        .end(&name, handle.as_deref(), keep.as_deref())
        .await
        .map_err(reject)?;
    if ended > 0 {
        let change = change(&admin).with_comment(format!("{ended} session(s)"));
        store()?
            .record_user_event(confo::Action::EndSessions, &name, &change)
            .await
            .map_err(reject)?;
    }
    super::redirect::redirect(&format!("/users/{name}"));
    Ok(())
}
