//! Server functions, grouped by domain. Each one is a public endpoint: it checks its input and
//! maps storage errors through [`crate::error::AppError`].

pub mod auth;
pub mod namespaces;

#[cfg(feature = "ssr")]
pub mod ssr {
    use leptos::prelude::*;

    use crate::error::AppError;

    /// The store this server was started with, provided as context by the server.
    pub fn store() -> Result<confo::Store, AppError> {
        use_context::<confo::Store>().ok_or_else(|| {
            tracing::error!("no store in the server function's context");
            reject(AppError::Internal)
        })
    }

    /// The one-time token that lets the first administrator be created, while there is none.
    #[derive(Clone)]
    pub struct SetupToken(pub String);

    pub fn setup_token() -> Option<String> {
        use_context::<SetupToken>().map(|t| t.0)
    }

    /// Failed sign-ins per account, in this server process. After [`Throttle::FREE_FAILURES`]
    /// failures in a row, each further try must wait [`Throttle::LOCK_SECONDS`] after the last
    /// failure: at most about 65 failures an hour, and a real user waits a minute, not longer.
    #[derive(Default)]
    pub struct Throttle {
        failures: std::sync::Mutex<std::collections::HashMap<String, (u32, i64)>>,
    }

    impl Throttle {
        pub const FREE_FAILURES: u32 = 5;
        pub const LOCK_SECONDS: i64 = 60;
        /// Failures older than this are forgotten.
        const WINDOW_SECONDS: i64 = 3600;

        /// `Err(seconds to wait)` while the account is locked.
        pub fn check(&self, account: &str, now: i64) -> Result<(), u64> {
            let failures = self.failures.lock().expect("not poisoned");
            match failures.get(account) {
                Some(&(count, last))
                    if count >= Self::FREE_FAILURES && now - last < Self::LOCK_SECONDS =>
                {
                    Err((Self::LOCK_SECONDS - (now - last)) as u64)
                }
                _ => Ok(()),
            }
        }

        pub fn failed(&self, account: &str, now: i64) {
            let mut failures = self.failures.lock().expect("not poisoned");
            failures.retain(|_, (_, last)| now - *last < Self::WINDOW_SECONDS);
            let entry = failures.entry(account.to_owned()).or_insert((0, now));
            *entry = (entry.0 + 1, now);
        }

        pub fn succeeded(&self, account: &str) {
            self.failures.lock().expect("not poisoned").remove(account);
        }
    }

    /// The longest a session lasts after sign-in, however active.
    pub const ABSOLUTE_LIFETIME_SECONDS: i64 = 12 * 3600;
    const USER: &str = "user";
    const SIGNED_IN_AT: &str = "signed_in_at";
    const REFRESHED_AT: &str = "refreshed_at";

    /// How long a session may go unused, as the server was configured.
    #[derive(Clone, Copy)]
    pub struct IdleTimeout(pub std::time::Duration);

    /// The request's session.
    pub async fn session() -> Result<tower_sessions::Session, AppError> {
        leptos_axum::extract::<tower_sessions::Session>()
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "no session layer");
                reject(AppError::Internal)
            })
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
        Ok(())
    }

    /// The signed-in user: the session names an account that exists, is not disabled, and
    /// signed in less than the absolute lifetime ago.
    pub async fn signed_in() -> Result<Option<confo::users::User>, AppError> {
        let session = session().await?;
        let name: Option<String> = session.get(USER).await.ok().flatten();
        let since: Option<i64> = session.get(SIGNED_IN_AT).await.ok().flatten();
        let (Some(name), Some(since)) = (name, since) else {
            return Ok(None);
        };
        if chrono::Utc::now().timestamp() - since > ABSOLUTE_LIFETIME_SECONDS {
            let _ = session.flush().await;
            return Ok(None);
        }
        match store()?.get_user(&name).await.map_err(reject)? {
            Some((user, _)) if !user.disabled => {
                refresh_if_due(&session).await;
                Ok(Some(user))
            }
            _ => {
                let _ = session.flush().await;
                Ok(None)
            }
        }
    }

    /// Moves the stored session's expiry on once half the idle time has passed since it was last
    /// moved, instead of writing the session on every request.
    async fn refresh_if_due(session: &tower_sessions::Session) {
        let idle = use_context::<IdleTimeout>().map_or(30 * 60, |t| t.0.as_secs() as i64);
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
        let granted = match namespace {
            Some(namespace) => user.grants.covers(namespace),
            None => user.grants == confo::users::Grants::All,
        };
        if user.role < role || !granted {
            return Err(reject(AppError::Forbidden(format!(
                "Your account ({}) may not do this; ask an administrator for access.",
                user.role.as_str()
            ))));
        }
        Ok(user)
    }

    /// Who is making a change, for the audit log.
    pub fn change(user: &confo::users::User) -> confo::Change {
        confo::Change::by(confo::Actor::user(user.name.clone()))
    }

    /// Sets the response status for `error` and hands it back, for `map_err`. A plain form post
    /// (JavaScript off) keeps the redirect back to its page, which shows the error.
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
        }
        error
    }

    #[cfg(test)]
    mod tests {
        use super::Throttle;

        #[test]
        fn throttle_locks_after_five_failures_for_a_minute_only() {
            let throttle = Throttle::default();
            for i in 0..5 {
                assert_eq!(throttle.check("ada", 100 + i), Ok(()));
                throttle.failed("ada", 100 + i);
            }
            assert_eq!(throttle.check("ada", 104), Err(60));
            assert_eq!(throttle.check("ada", 134), Err(30));
            assert_eq!(throttle.check("bob", 134), Ok(()));
            assert_eq!(throttle.check("ada", 164), Ok(()));
            // One more failure locks again at once; a success clears the record.
            throttle.failed("ada", 164);
            assert!(throttle.check("ada", 165).is_err());
            throttle.succeeded("ada");
            assert_eq!(throttle.check("ada", 165), Ok(()));
            // In an hour, at most 5 + 60 failures get through.
            let throttle = Throttle::default();
            let mut allowed = 0;
            for second in 0..3600 {
                if throttle.check("eve", second).is_ok() {
                    throttle.failed("eve", second);
                    allowed += 1;
                }
            }
            assert!(allowed <= 65, "{allowed} failures got through in an hour");
        }
    }
}
