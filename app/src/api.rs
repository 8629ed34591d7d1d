//! Server functions, grouped by domain. Each one is a public endpoint: it checks its input and
//! maps storage errors through [`crate::error::AppError`].

pub mod account;
pub mod audit;
pub mod auth;
pub mod configurations;
pub mod export;
pub mod import;
pub mod live;
pub mod namespaces;
#[cfg(feature = "ssr")]
pub mod redirect;
pub mod requests;
pub mod schemas;
pub mod search;
pub mod users;

#[cfg(feature = "ssr")]
pub mod ssr {
    use leptos::prelude::*;

    use crate::error::AppError;

    /// The store this server was started with, provided as context by the server.
    pub fn store() -> Result<confo::Store, AppError> {
        use_context::<confo::Store>().ok_or_else(|| {
            let path = use_context::<http::request::Parts>().map(|p| p.uri.to_string());
            let owner = Owner::current().is_some();
            tracing::error!(?path, owner, "no store in the server function's context");
            reject(AppError::Internal)
        })
    }

    /// The one-time token that lets the first administrator be created, while there is none.
    #[derive(Clone)]
    pub struct SetupToken(pub String);

    pub fn setup_token() -> Option<String> {
        use_context::<SetupToken>().map(|t| t.0)
    }

    /// How sign-in and sessions behave, as the server was configured.
    #[derive(Clone, Debug)]
    pub struct AuthSettings {
        /// Served over https: the cookie is `Secure` and named with the `__Host-` prefix.
        pub secure: bool,
        /// A session unused this long ends.
        pub idle_timeout: std::time::Duration,
        /// The longest a session lasts after sign-in, however active.
        pub lifetime: std::time::Duration,
        /// How long an invitation or password reset link works.
        pub invitation_lifetime: std::time::Duration,
    }

    impl Default for AuthSettings {
        fn default() -> Self {
            Self {
                secure: false,
                idle_timeout: std::time::Duration::from_secs(30 * 60),
                lifetime: std::time::Duration::from_secs(12 * 3600),
                invitation_lifetime: std::time::Duration::from_secs(
                    confo::users::DEFAULT_INVITATION_HOURS as u64 * 3600,
                ),
            }
        }
    }

    pub fn settings() -> AuthSettings {
        use_context::<AuthSettings>().unwrap_or_default()
    }

    /// The address a request came from, put in the request by the server (`None` in tests
    /// that drive the router without a socket).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct ClientAddress(pub String);

    pub fn client_address() -> Option<String> {
        use_context::<http::request::Parts>()?
            .extensions
            .get::<ClientAddress>()
            .map(|a| a.0.clone())
    }

    fn user_agent() -> Option<String> {
        let parts = use_context::<http::request::Parts>()?;
        let agent = parts.headers.get(http::header::USER_AGENT)?.to_str().ok()?;
        Some(agent.chars().take(200).collect())
    }

    use crate::sessions::data::{ADDRESS, AGENT, REFRESHED_AT, SIGNED_IN_AT, USER};

    /// The request's session.
    pub async fn session() -> Result<tower_sessions::Session, AppError> {
        leptos_axum::extract::<tower_sessions::Session>()
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "no session layer");
                reject(AppError::Internal)
            })
    }

    /// The sessions of every account, to list and end them.
    pub fn sessions() -> Result<crate::sessions::StoreSessions, AppError> {
        Ok(crate::sessions::StoreSessions::new(store()?))
    }

    /// The handle of the request's own session, if it has been saved.
    pub async fn current_handle() -> Result<Option<String>, AppError> {
        Ok(session().await?.id().map(|id| crate::sessions::handle(&id)))
    }

    /// Starts a signed-in session for `user` under a new session id.
    pub async fn sign_in_as(user: &confo::users::User) -> Result<(), AppError> {
        let session = session().await?;
        let internal = |e: tower_sessions::session::Error| {
            tracing::error!(error = %e, "cannot start a session");
            AppError::Internal
        };
        session.cycle_id().await.map_err(internal)?;
        session.insert(USER, &user.name).await.map_err(internal)?;
        let now = chrono::Utc::now().timestamp();
        session.insert(SIGNED_IN_AT, now).await.map_err(internal)?;
        session.insert(REFRESHED_AT, now).await.map_err(internal)?;
        if let Some(address) = client_address() {
            session.insert(ADDRESS, address).await.map_err(internal)?;
        }
        if let Some(agent) = user_agent() {
            session.insert(AGENT, agent).await.map_err(internal)?;
        }
        Ok(())
    }

    /// Starts a signed-in session for `user` and ends every other session of theirs, as when a
    /// password is set with a reset link: whoever held the old password is signed out
    /// everywhere. Answers how many other sessions ended.
    pub async fn sign_in_alone(user: &confo::users::User) -> Result<usize, AppError> {
        sign_in_as(user).await?;
        // Saved now rather than after the response, so that its handle is known and kept.
        session().await?.save().await.map_err(|e| {
            tracing::error!(error = %e, "cannot save a new session");
            reject(AppError::Internal)
        })?;
        let keep = current_handle().await?.ok_or_else(|| {
            tracing::error!("a saved session has no id");
            reject(AppError::Internal)
        })?;
        sessions()?
            .end(&user.name, None, Some(&keep))
            .await
            .map_err(reject)
    }

    /// The signed-in user: the session names an account that exists, is not disabled, and
    /// signed in less than the configured lifetime ago.
    pub async fn signed_in() -> Result<Option<confo::users::User>, AppError> {
        let session = session().await?;
        // A session the store cannot give is not "signed out": the store is unreachable.
        let unreadable = |error: tower_sessions::session::Error| {
            tracing::warn!(%error, "cannot read a session");
            match error {
                tower_sessions::session::Error::Store(_) => reject(AppError::Unavailable),
                _ => reject(AppError::Internal),
            }
        };
        let name: Option<String> = session.get(USER).await.map_err(unreadable)?;
        let since: Option<i64> = session.get(SIGNED_IN_AT).await.map_err(unreadable)?;
        let (Some(name), Some(since)) = (name, since) else {
            return Ok(None);
        };
        let settings = settings();
        if outlived(since, &settings) {
            let _ = session.flush().await;
            return Ok(None);
        }
        match account_in_force(&store()?, &name).await.map_err(reject)? {
            Some(user) => {
                refresh_if_due(&session, &settings).await;
                Ok(Some(user))
            }
            None => {
                let _ = session.flush().await;
                Ok(None)
            }
        }
    }

    /// Who holds session `id` now, by the rules of [`signed_in`] but read afresh from the store:
    /// for a response that outlives its request (a live stream), whose session may end or whose
    /// account may change meanwhile. Only reads.
    pub async fn session_holder(
        store: &confo::Store,
        settings: &AuthSettings,
        id: &tower_sessions::session::Id,
    ) -> Result<Option<confo::users::User>, AppError> {
        use tower_sessions::SessionStore;
        let record = crate::sessions::StoreSessions::new(store.clone())
            .load(id)
            .await
            .map_err(|error| {
                tracing::warn!(%error, "cannot read a session");
                AppError::Unavailable
            })?;
        let Some(record) = record else {
            return Ok(None);
        };
        let name = record.data.get(USER).and_then(|v| v.as_str());
        let since = record.data.get(SIGNED_IN_AT).and_then(|v| v.as_i64());
        let (Some(name), Some(since)) = (name, since) else {
            return Ok(None);
        };
        if outlived(since, settings) {
            return Ok(None);
        }
        Ok(account_in_force(store, name).await?)
    }

    /// Whether a session signed in at `since` (Unix seconds) has passed its longest life.
    pub fn outlived(since: i64, settings: &AuthSettings) -> bool {
        chrono::Utc::now().timestamp() - since > settings.lifetime.as_secs() as i64
    }

    /// The profile of account `name`, unless it is gone or disabled.
    async fn account_in_force(
        store: &confo::Store,
        name: &str,
    ) -> confo::Result<Option<confo::users::User>> {
        Ok(store
            .get_user(name)
            .await?
            .map(|(user, _)| user)
            .filter(|user| !user.disabled))
    }

    /// Moves the stored session's expiry on once half the idle time has passed since it was last
    /// moved, instead of writing the session on every request.
    async fn refresh_if_due(session: &tower_sessions::Session, settings: &AuthSettings) {
        let idle = settings.idle_timeout.as_secs() as i64;
        let now = chrono::Utc::now().timestamp();
        let refreshed: i64 = session.get(REFRESHED_AT).await.ok().flatten().unwrap_or(0);
        if now - refreshed >= idle / 2 {
            // Changing the session makes the session layer save it with a new expiry.
            if let Err(error) = session.insert(REFRESHED_AT, now).await {
                tracing::warn!(%error, "cannot refresh a session");
            }
        }
    }

    /// The guard for what any signed-in user may do: the user, or `SignInRequired`.
    pub async fn require_user() -> Result<confo::users::User, AppError> {
        signed_in()
            .await?
            .ok_or_else(|| reject(AppError::SignInRequired))
    }

    /// The guard every server function that changes or reads a namespace calls first: the signed-in user, whose role is at least
    /// `role` for `namespace` (or for every namespace when `None`). Refuses with an error.
    pub async fn require(
        role: confo::users::Role,
        namespace: Option<&str>,
    ) -> Result<confo::users::User, AppError> {
        let user = require_user().await?;
        if !may(&user, role, namespace) {
            return Err(reject(AppError::Forbidden(format!(
                "Your account ({}) may not do this; ask an administrator for access.",
                user.role.as_str()
            ))));
        }
        Ok(user)
    }

    /// Whether `user`'s role is at least `role` for `namespace` (for every namespace when
    /// `None`): the rule [`require`] enforces.
    pub fn may(
        user: &confo::users::User,
        role: confo::users::Role,
        namespace: Option<&str>,
    ) -> bool {
        let granted = match namespace {
            Some(namespace) => user.grants.covers(namespace),
            None => user.grants == confo::users::Grants::All,
        };
        user.role >= role && granted
    }

    /// Who is making a change, for the audit log.
    pub fn change(user: &confo::users::User) -> confo::Change {
        confo::Change::by(confo::Actor::user(user.name.clone()))
    }

    /// Sets the response status for `error` (and `Retry-After` when it says how long to wait) and
    /// hands it back, for `map_err`. A plain form post (JavaScript off) keeps the redirect back
    /// to its page, which shows the error.
    pub fn reject(error: impl Into<AppError>) -> AppError {
        let error = error.into();
        let form_post = use_context::<http::request::Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"))
        });
        if !form_post && let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(
                http::StatusCode::from_u16(error.status())
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
            if let Some(seconds) = error.retry_after() {
                response.insert_header(http::header::RETRY_AFTER, seconds.into());
            }
        }
        error
    }
}
