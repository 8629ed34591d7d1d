//! The error every server function returns, typed across the wire so the browser can tell a
//! conflict from a bad name from an outage, and the one table that maps it to an HTTP status.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Nobody is signed in (or the session ended).
    #[error("Please sign in to continue.")]
    SignInRequired,
    /// The signed-in user's role or grants do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed sign-ins for this account; wait this many seconds.
    #[error("Too many failed sign-ins for this account. Wait {0} seconds and try again.")]
    TooManyAttempts(u64),
    /// The request itself is wrong (a bad name, a bad value): fix it and try again.
    #[error("{0}")]
    Invalid(String),
    /// What the request would create is already there.
    #[error("{0}")]
    AlreadyExists(String),
    /// What the request names is not there.
    #[error("{0}")]
    NotFound(String),
    /// Someone else changed the same thing first; nothing was written.
    #[error("{0}")]
    Conflict(String),
    /// The request is larger than the store accepts.
    #[error("{0}")]
    TooLarge(String),
    /// Too many people changed the same thing at once; nothing was written.
    #[error(
        "Many changes are being made to this right now and yours could not get in; nothing was saved. Try again."
    )]
    Busy,
    /// The server is doing as much of this as it allows itself at once (checking passwords,
    /// serving live pages); nothing was checked or changed. Try again after this many seconds
    /// (sent as `Retry-After`).
    #[error(
        "The server is too busy to answer right now; nothing was changed. Try again in {0} seconds."
    )]
    Overloaded(u64),
    /// The store could not be reached; nothing was changed.
    #[error(
        "The configuration store cannot be reached right now, so nothing was changed. Try again in a moment."
    )]
    Unavailable,
    /// The store stopped answering while a change was being saved: it was saved once or never
    /// will be, and it is not sent again.
    #[error(
        "The configuration store stopped answering while your change was being saved, so it may or may not have been saved; it will not be sent twice. Your change is kept here: once the store answers again, review it again, and the review shows whether it is already saved."
    )]
    MaybeSaved,
    /// Something failed on the server; the details are in its log.
    #[error(
        "Something went wrong on the server. Try again; if it keeps happening, ask an administrator to check the server log."
    )]
    Internal,
    /// The request did not reach the server function or its answer could not be read.
    #[error("The request failed: {0}")]
    Request(String),
}

impl AppError {
    /// The kind of error, as shown under "Technical details".
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::SignInRequired => "sign-in required",
            AppError::Forbidden(_) => "forbidden",
            AppError::TooManyAttempts(_) => "too many attempts",
            AppError::Invalid(_) => "invalid request",
            AppError::AlreadyExists(_) => "already exists",
            AppError::NotFound(_) => "not found",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge(_) => "too large",
            AppError::Busy => "busy",
            AppError::Overloaded(_) => "overloaded",
            AppError::Unavailable => "store unavailable",
            AppError::MaybeSaved => "store unavailable during a save",
            AppError::Internal => "internal error",
            AppError::Request(_) => "request failed",
        }
    }

    /// The HTTP status for each error: the one table.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 400,
            AppError::SignInRequired => 401,
            AppError::Forbidden(_) => 403,
            AppError::TooManyAttempts(_) => 429,
            AppError::NotFound(_) => 404,
            AppError::AlreadyExists(_) | AppError::Conflict(_) => 409,
            AppError::TooLarge(_) => 413,
            AppError::Internal => 500,
            AppError::Request(_) => 400,
            AppError::Unavailable
            | AppError::MaybeSaved
            | AppError::Busy
            | AppError::Overloaded(_) => 503,
        }
    }

    /// How many seconds to wait before trying again, when the error says (sent as `Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyAttempts(seconds) | AppError::Overloaded(seconds) => Some(*seconds),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The server could not read the arguments: the caller's mistake, answered 400.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                let error = AppError::Invalid(format!("The request was not understood: {value}."));
                #[cfg(feature = "ssr")]
                let error = crate::api::ssr::reject(error);
                error
            }
            other => AppError::Request(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;

    /// Maps a storage error to what the user sees; internal details go to the log only.
    impl From<confo::Error> for AppError {
        fn from(error: confo::Error) -> Self {
            use confo::Error as E;
            match error {
                E::InvalidName { .. }
                | E::InvalidValue(_)
                | E::SchemaViolation { .. }
                | E::CommentRequired => AppError::Invalid(capitalise(&error.to_string())),
                E::NotEmpty { .. }
                | E::AmbiguousKey { .. }
                | E::InUse(_)
                | E::ChangedSince { .. }
                | E::ReviewRequired(_)
                | E::RequestStale { .. } => {
                    AppError::Conflict(capitalise(&error.to_string()))
                }
                E::NotAllowed(_) => AppError::Forbidden(capitalise(&error.to_string())),
                E::Busy(_) => AppError::Busy,
                E::Overloaded {
                    retry_after_seconds,
                } => {
                    tracing::warn!(retry_after_seconds, "every password-hashing slot is busy");
                    AppError::Overloaded(retry_after_seconds)
                }
                E::AlreadyExists(what) => {
                    AppError::AlreadyExists(capitalise(&format!("{what} already exists.")))
                }
                E::NotFound(what) => {
                    AppError::NotFound(capitalise(&format!("{what} does not exist.")))
                }
                E::Conflict { .. } => AppError::Conflict(
                    "Someone else changed this at the same time; nothing was saved. Reload and try again."
                        .into(),
                ),
                E::TooLarge { .. } | E::TooManyToDelete { .. } => {
                    AppError::TooLarge(capitalise(&error.to_string()))
                }
                E::Unavailable(detail) => {
                    tracing::warn!(%detail, "store unavailable");
                    AppError::Unavailable
                }
                E::OutcomeUnknown(detail) => {
                    tracing::warn!(%detail, "store unavailable during a change");
                    AppError::MaybeSaved
                }
                E::Corrupt { .. } | E::Backend(_) => {
                    tracing::error!(%error, "store error");
                    AppError::Internal
                }
            }
        }
    }

    fn capitalise(s: &str) -> String {
        let mut chars = s.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_wire_encoding() {
        let error = AppError::Conflict("changed".into());
        assert_eq!(AppError::de(error.ser()), error);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn storage_errors_map_to_statuses() {
        let cases = [
            (
                confo::NamespaceName::new("a-b")
                    .map(|_| ())
                    .map_err(|reason| confo::Error::InvalidName {
                        kind: "namespace",
                        name: "a-b".into(),
                        reason,
                    })
                    .unwrap_err(),
                400,
            ),
            (confo::Error::AlreadyExists("namespace \"x\"".into()), 409),
            (confo::Error::NotFound("x".into()), 404),
            (
                confo::Error::Conflict {
                    key: "confo".into(),
                    current_revision: 3,
                    current: None,
                },
                409,
            ),
            (confo::Error::Unavailable("down".into()), 503),
            (confo::Error::OutcomeUnknown("down".into()), 503),
            (confo::Error::Busy("confo".into()), 503),
            (
                confo::Error::NotEmpty {
                    namespace: "x".into(),
                    count: 2,
                },
                409,
            ),
            (
                confo::Error::TooManyToDelete {
                    namespace: "x".into(),
                    count: 42,
                    limit: 41,
                },
                413,
            ),
            (confo::Error::InvalidValue("bad".into()), 400),
            (confo::Error::Backend("disk".into()), 500),
            (
                confo::Error::Overloaded {
                    retry_after_seconds: 2,
                },
                503,
            ),
        ];
        for (error, status) in cases {
            let mapped = AppError::from(error.clone());
            assert_eq!(mapped.status(), status, "{error:?} -> {mapped:?}");
        }
        let overloaded = AppError::from(confo::Error::Overloaded {
            retry_after_seconds: 2,
        });
        assert_eq!(overloaded.retry_after(), Some(2));
        assert_eq!(AppError::TooManyAttempts(42).retry_after(), Some(42));
        assert_eq!(AppError::Busy.retry_after(), None);
        let ambiguous = AppError::from(confo::Error::AmbiguousKey {
            key: "a-b-c".into(),
            owners: vec![
                confo::keys::KeyOwner {
                    namespace: "a".into(),
                    configuration: Some("b-c".into()),
                },
                confo::keys::KeyOwner {
                    namespace: "a-b".into(),
                    configuration: Some("c".into()),
                },
            ],
        });
        assert_eq!(ambiguous.status(), 409);
        let shown = ambiguous.to_string();
        assert!(
            shown.starts_with("The key \"a-b-c\" belongs to namespace \"a\"")
                && shown.contains("namespace \"a-b\" (configuration \"c\")"),
            "{shown}"
        );
        let internal = AppError::from(confo::Error::Backend("secret path /var/x".into()));
        assert!(!internal.to_string().contains("/var/x"));
    }
}
