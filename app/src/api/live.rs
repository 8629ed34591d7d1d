//! Live updates: one watch on the store per server, fanned out to every open page that asks,
//! as a stream of lines over one long response.
//!
//! Lines: `ready` once connected, `changed <revision> <who>` when what the page shows changed
//! (`<revision>` is the store revision of the change, by which a page knows its own saves;
//! `<who>` is a user name, or `another tool` for writes made outside Confo), `resync` when changes may have
//! been missed (re-read everything), `ping` every 15 seconds so that either side notices a
//! dead connection, `closed` just before the server ends a stream the page should not open
//! again by itself (its session opened more than [`ssr::STREAMS_PER_SESSION`] streams), and, on
//! a configuration's page, `here <JSON>` with who else has it open (see [`confo::presence`]):
//! at the start and whenever that changes.
//!
//! A stream lasts only as long as its session and its user's access: it ends when the session
//! ends (signed out, expired, ended by an administrator), when the account is disabled or
//! removed, or when the user may no longer read the namespace it shows. The server checks again
//! every [`ssr::RECHECK_EVERY`], and at once when its watch sees the session's record or the
//! user's profile change, which works across servers sharing one store. A stream only ever
//! carries changes to namespaces the user may read, and never a namespace's name.

use leptos::prelude::*;
use leptos::server_fn::codec::{StreamingText, TextStream};

use crate::error::AppError;

/// Another person who has a configuration open, as a page is told of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Here {
    pub user: String,
    /// In the middle of a change.
    pub editing: bool,
    /// The same person, in another page.
    pub you: bool,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::Here;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use confo::store::{Target, WatchEvent};
    use confo::users::{Grants, Role, User};
    use tokio::sync::{Notify, broadcast};
    use tokio::time::{Instant, Interval, MissedTickBehavior, interval_at};

    use crate::api::ssr::{AuthSettings, may, session_holder};

    /// The most live streams one session holds: opening one more closes its oldest. A browser
    /// rarely shows more pages at once; streams of closed pages linger until their next write
    /// fails, and are the oldest.
    pub const STREAMS_PER_SESSION: usize = 8;
    /// The most live streams one server holds; past that a new one is refused with 503.
    pub const MAX_STREAMS: usize = 10_000;
    /// How long a refused page is asked to wait before trying again (`Retry-After`).
    pub const RETRY_AFTER_SECONDS: u64 = 30;
    /// How often an open stream checks again that its session and its user's access still
    /// allow it, besides the checks its hub's watch sets off at once.
    pub const RECHECK_EVERY: Duration = Duration::from_secs(5);
    /// How often a stream sends `ping`.
    const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
    /// How often a configuration page's stream sends `ping`: a page that left is noticed when a
    /// write fails, and others see it go within that time.
    const PRESENCE_HEARTBEAT_EVERY: Duration = Duration::from_secs(4);

    /// Who else has the configuration open, as a page of `me` is told: one entry per person
    /// (editing when any of their pages is), leaving out the pages of `me`'s own session (this
    /// page, the one it came from, another tab); the same person in another browser is "you".
    pub fn others(
        present: &[confo::presence::Present],
        me: &confo::presence::Present,
    ) -> Vec<Here> {
        let mut here: Vec<Here> = Vec::new();
        for p in present
            .iter()
            .filter(|p| p.page != me.page && p.session != me.session)
        {
            match here.iter_mut().find(|h| h.user == p.user) {
                Some(h) => h.editing |= p.editing,
                None => here.push(Here {
                    user: p.user.clone(),
                    editing: p.editing,
                    you: p.user == me.user,
                }),
            }
        }
        here
    }

    /// The server's one watch on the store, shared by every live page, and the register of the
    /// streams open on this server.
    #[derive(Clone)]
    pub struct Hub {
        sender: broadcast::Sender<WatchEvent>,
        streams: Arc<Mutex<Streams>>,
        limit: usize,
    }

    /// The open streams, by the order they were opened in (oldest first).
    #[derive(Default)]
    struct Streams {
        next: u64,
        open: BTreeMap<u64, OpenStream>,
    }

    struct OpenStream {
        /// The session's [`crate::sessions::stored_hash`].
        session: String,
        user: String,
        signal: Arc<Signal>,
    }

    /// How the hub tells one stream to check its session again, or to close.
    #[derive(Default)]
    struct Signal {
        wake: Notify,
        closed: AtomicBool,
    }

    /// The hub is full: a new stream must wait.
    #[derive(Debug)]
    pub struct Full;

    impl Hub {
        /// Starts watching `store`, allowing [`MAX_STREAMS`] streams; the watch re-connects by
        /// itself and lives as long as the server.
        pub fn start(store: confo::Store) -> Self {
            Self::with_limit(store, MAX_STREAMS)
        }

        /// Like [`Hub::start`], allowing `limit` streams at once.
        pub fn with_limit(store: confo::Store, limit: usize) -> Self {
            let (sender, _) = broadcast::channel(1024);
            let hub = Self {
                sender,
                streams: Arc::default(),
                limit,
            };
            let fan_out = hub.clone();
            tokio::spawn(async move {
                let mut events = store.watch_from(store.kv().revision().await.unwrap_or(0) + 1);
                while let Some(event) = events.recv().await {
                    // Before the event goes out, so that a stream re-checks before it sends
                    // anything that happened after its user lost access.
                    fan_out.wake_affected(&event);
                    // Nobody listening is fine.
                    let _ = fan_out.sender.send(event);
                }
            });
            hub
        }

        /// Every change of the store's one watch from now on, for whatever else follows it
        /// (the search index).
        pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
            self.sender.subscribe()
        }

        /// Asks the streams whose session or user `event` touched to check again (all of them
        /// after a resync, which may have hidden such changes).
        fn wake_affected(&self, event: &WatchEvent) {
            let streams = self.streams.lock().expect("not poisoned");
            let affects = |open: &OpenStream| match event {
                WatchEvent::Resync { .. } => true,
                WatchEvent::Changed { targets, .. } => targets.iter().any(|target| match target {
                    Target::User(name) => *name == open.user,
                    Target::Session(stored) => *stored == open.session,
                    _ => false,
                }),
            };
            for open in streams.open.values().filter(|open| affects(open)) {
                open.signal.wake.notify_one();
            }
        }

        /// Registers a new stream of session `session` (its stored hash) for `user`, closing
        /// the session's oldest when it has [`STREAMS_PER_SESSION`] already. The stream is
        /// removed when the ticket is dropped.
        fn open(&self, session: &str, user: &str) -> Result<Ticket, Full> {
            let mut streams = self.streams.lock().expect("not poisoned");
            let of_session: Vec<u64> = streams
                .open
                .iter()
                .filter(|(_, open)| open.session == session)
                .map(|(id, _)| *id)
                .collect();
            let excess = (of_session.len() + 1).saturating_sub(STREAMS_PER_SESSION);
            for id in &of_session[..excess] {
                if let Some(oldest) = streams.open.remove(id) {
                    oldest.signal.closed.store(true, Ordering::SeqCst);
                    oldest.signal.wake.notify_one();
                }
            }
            if streams.open.len() >= self.limit {
                return Err(Full);
            }
            let id = streams.next;
            streams.next += 1;
            let signal = Arc::new(Signal::default());
            streams.open.insert(
                id,
                OpenStream {
                    session: session.to_owned(),
                    user: user.to_owned(),
                    signal: signal.clone(),
                },
            );
            Ok(Ticket {
                streams: self.streams.clone(),
                id,
                signal,
            })
        }
    }

    /// A stream's place in its hub, given up when dropped.
    struct Ticket {
        streams: Arc<Mutex<Streams>>,
        id: u64,
        signal: Arc<Signal>,
    }

    enum Wake {
        Recheck,
        Closed,
    }

    impl Ticket {
        /// Waits until the hub asks this stream to check again, or closes it.
        async fn woken(&self) -> Wake {
            self.signal.wake.notified().await;
            if self.signal.closed.load(Ordering::SeqCst) {
                Wake::Closed
            } else {
                Wake::Recheck
            }
        }
    }

    impl Drop for Ticket {
        fn drop(&mut self) {
            if let Ok(mut streams) = self.streams.lock() {
                streams.open.remove(&self.id);
            }
        }
    }

    /// Set once the server is shutting down: every live stream then ends, so that the requests
    /// under way can finish.
    static CLOSING: std::sync::LazyLock<tokio::sync::watch::Sender<bool>> =
        std::sync::LazyLock::new(|| tokio::sync::watch::channel(false).0);

    /// Ends every live stream of this process (at shutdown); pages reconnect to another server.
    pub fn end_all() {
        CLOSING.send_replace(true);
    }

    /// One open live stream: what it shows, to whom, under which session.
    pub struct Feed {
        store: confo::Store,
        settings: AuthSettings,
        session: tower_sessions::session::Id,
        user: User,
        namespace: String,
        configuration: String,
        ticket: Ticket,
        events: broadcast::Receiver<WatchEvent>,
        heartbeat: Interval,
        recheck: Interval,
        closing: tokio::sync::watch::Receiver<bool>,
        started: bool,
        ended: bool,
        /// This page's own presence, held as long as the stream; and who else was last told.
        presence: Option<(confo::presence::Present, confo::presence::Held)>,
        told: Option<Vec<Here>>,
    }

    /// What opening a stream needs to know about the request.
    pub struct Request {
        pub store: confo::Store,
        pub settings: AuthSettings,
        pub session: tower_sessions::session::Id,
        /// The signed-in user, already allowed to read `namespace`.
        pub user: User,
        pub namespace: String,
        pub configuration: String,
    }

    impl Feed {
        /// Opens a stream in `hub`, or refuses when the hub is full.
        pub fn open(hub: &Hub, request: Request) -> Result<Self, Full> {
            let ticket = hub.open(
                &crate::sessions::stored_hash(&request.session),
                &request.user.name,
            )?;
            let every = if request.configuration.is_empty() {
                HEARTBEAT_EVERY
            } else {
                PRESENCE_HEARTBEAT_EVERY
            };
            let heartbeat = interval_at(Instant::now() + every, every);
            let mut recheck = interval_at(Instant::now() + RECHECK_EVERY, RECHECK_EVERY);
            recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
            Ok(Self {
                store: request.store,
                settings: request.settings,
                session: request.session,
                user: request.user,
                namespace: request.namespace,
                configuration: request.configuration,
                ticket,
                events: hub.sender.subscribe(),
                heartbeat,
                recheck,
                closing: CLOSING.subscribe(),
                started: false,
                ended: false,
                presence: None,
                told: None,
            })
        }

        /// Shows the stream's page to others on its configuration (see [`confo::presence`]),
        /// for as long as the stream lasts; `editing` counts only for a user who may change it.
        /// Without the store, the page goes unseen rather than without updates.
        pub async fn enter_presence(&mut self, editing: bool) {
            if self.configuration.is_empty() {
                return;
            }
            let exists = match (
                confo::names::NamespaceName::new(self.namespace.as_str()),
                confo::names::ConfigurationName::new(self.configuration.as_str()),
            ) {
                (Ok(ns), Ok(cfg)) => self.store.get_configuration(&ns, &cfg).await.is_ok(),
                _ => false,
            };
            if !exists {
                return;
            }
            let me = confo::presence::Present {
                page: confo::users::random_token(),
                session: crate::sessions::stored_hash(&self.session),
                user: self.user.name.clone(),
                editing: editing && may(&self.user, Role::Editor, Some(&self.namespace)),
            };
            if let Ok(held) =
                confo::presence::enter(&self.store, &self.namespace, &self.configuration, &me).await
            {
                self.presence = Some((me, held));
            }
        }

        /// The next line to send, or `None` once the stream is over.
        pub async fn next_line(&mut self) -> Option<String> {
            use tokio::sync::broadcast::error::RecvError;
            if self.ended || *self.closing.borrow() {
                return None;
            }
            if !self.started {
                self.started = true;
                return Some("ready\n".to_owned());
            }
            if self.told.is_none()
                && let Some(line) = self.here_line().await
            {
                return Some(line);
            }
            loop {
                // In this order: an end or a re-check goes before any change that is waiting.
                tokio::select! {
                    biased;
                    _ = self.closing.changed() => return None,
                    wake = self.ticket.woken() => match wake {
                        Wake::Closed => {
                            self.ended = true;
                            return Some("closed\n".to_owned());
                        }
                        Wake::Recheck => {
                            if !self.still_allowed().await {
                                return None;
                            }
                        }
                    },
                    _ = self.recheck.tick() => {
                        if !self.still_allowed().await {
                            return None;
                        }
                    }
                    event = self.events.recv() => match event {
                        Ok(WatchEvent::Changed { revision, targets, actor }) => {
                            let presence = targets.iter().any(|t| matches!(t,
                                Target::Presence { namespace, configuration }
                                    if *namespace == self.namespace && *configuration == self.configuration));
                            if presence && let Some(line) = self.here_line().await {
                                return Some(line);
                            }
                            if targets.iter().any(|t| {
                                shows(t, &self.namespace, &self.configuration, &self.user.grants)
                            }) {
                                let who = actor.map_or_else(|| "another tool".to_owned(), |a| a.name);
                                return Some(format!("changed {revision} {who}\n"));
                            }
                        }
                        Ok(WatchEvent::Resync { .. }) | Err(RecvError::Lagged(_)) => {
                            return Some("resync\n".to_owned());
                        }
                        Err(RecvError::Closed) => return None,
                    },
                    _ = self.heartbeat.tick() => return Some("ping\n".to_owned()),
                }
            }
        }

        /// `here <JSON>` when who else has the configuration open differs from what the page
        /// was last told; `None` on other pages, when nothing changed, or when the store cannot
        /// say (the next change asks again).
        async fn here_line(&mut self) -> Option<String> {
            let (me, _) = self.presence.as_ref()?;
            let present =
                confo::presence::present(&self.store, &self.namespace, &self.configuration)
                    .await
                    .ok()?;
            let here = others(&present, me);
            if self.told.as_ref() == Some(&here) {
                return None;
            }
            let line = format!(
                "here {}\n",
                serde_json::to_string(&here).expect("serializable")
            );
            self.told = Some(here);
            Some(line)
        }

        /// Whether the stream's session still stands for its user, who may still read what it
        /// shows; takes up the user's current grants. Reads only. When the store cannot say,
        /// the stream ends: the page reconnects and is checked afresh.
        async fn still_allowed(&mut self) -> bool {
            match session_holder(&self.store, &self.settings, &self.session).await {
                Ok(Some(user))
                    if user.name == self.user.name
                        && (self.namespace.is_empty()
                            || may(&user, Role::Viewer, Some(&self.namespace))) =>
                {
                    self.user = user;
                    true
                }
                _ => false,
            }
        }
    }

    /// Whether a change to `target` shows on the page for `namespace` (empty: the overview)
    /// and `configuration` (empty: the whole namespace), for a user with `grants`. A user with
    /// some namespaces hears of a change to the list of namespaces only through the namespaces
    /// it touched (each revision that adds or removes one also writes that namespace's key).
    pub fn shows(target: &Target, namespace: &str, configuration: &str, grants: &Grants) -> bool {
        match target {
            Target::Namespaces => namespace.is_empty() && *grants == Grants::All,
            Target::Namespace(ns) => {
                grants.covers(ns)
                    && configuration.is_empty()
                    && (namespace.is_empty() || ns == namespace)
            }
            Target::Configuration {
                namespace: ns,
                configuration: cfg,
            } => {
                grants.covers(ns)
                    && (namespace.is_empty()
                        || (ns == namespace && (configuration.is_empty() || cfg == configuration)))
            }
            // On the overview streams of the requests pages, and on the namespace's page.
            Target::Request { namespace: ns, .. } => {
                grants.covers(ns)
                    && configuration.is_empty()
                    && (namespace.is_empty() || ns == namespace)
            }
            Target::User(_)
            | Target::Session(_)
            | Target::Presence { .. }
            | Target::Settings(_) => false,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_page_is_told_of_the_others_once_per_person() {
            let page =
                |page: &str, session: &str, user: &str, editing: bool| confo::presence::Present {
                    page: page.into(),
                    session: session.into(),
                    user: user.into(),
                    editing,
                };
            let present = [
                page("mine", "s1", "ada", false),
                page("p2", "s2", "bob", false),
                page("p3", "s3", "bob", true),
                // The page this one came from, in the same browser: not someone else.
                page("before", "s1", "ada", true),
                page("p4", "s4", "ada", false),
            ];
            let here = |user: &str, editing: bool, you: bool| Here {
                user: user.into(),
                editing,
                you,
            };
            assert_eq!(
                others(&present, &present[0]),
                [here("bob", true, false), here("ada", false, true)]
            );
            assert_eq!(others(&present[..1], &present[0]), []);
        }

        #[test]
        fn a_user_with_some_namespaces_hears_only_of_those() {
            let some = Grants::Namespaces(vec!["a".into()]);
            let config = |ns: &str| Target::Configuration {
                namespace: ns.into(),
                configuration: "c".into(),
            };
            // (target, page namespace, page configuration, grants, shows)
            let cases = [
                (Target::Namespaces, "", "", Grants::All, true),
                (Target::Namespaces, "", "", some.clone(), false),
                (Target::Namespaces, "a", "", Grants::All, false),
                (Target::Namespace("a".into()), "", "", some.clone(), true),
                (Target::Namespace("b".into()), "", "", some.clone(), false),
                (Target::Namespace("a".into()), "a", "", some.clone(), true),
                (Target::Namespace("a".into()), "a", "c", some.clone(), false),
                (config("a"), "", "", some.clone(), true),
                (config("b"), "", "", some.clone(), false),
                (config("a"), "a", "c", some.clone(), true),
                (config("a"), "a", "d", some.clone(), false),
                (
                    Target::Request {
                        namespace: "a".into(),
                        id: 1,
                    },
                    "",
                    "",
                    some.clone(),
                    true,
                ),
                (
                    Target::Request {
                        namespace: "b".into(),
                        id: 1,
                    },
                    "",
                    "",
                    some.clone(),
                    false,
                ),
                (
                    Target::Request {
                        namespace: "a".into(),
                        id: 1,
                    },
                    "a",
                    "c",
                    some.clone(),
                    false,
                ),
                (Target::User("ada".into()), "", "", Grants::All, false),
                (Target::Session("f00".into()), "", "", Grants::All, false),
                (
                    Target::Presence {
                        namespace: "a".into(),
                        configuration: "c".into(),
                    },
                    "a",
                    "c",
                    Grants::All,
                    false,
                ),
            ];
            for (target, namespace, configuration, grants, expected) in cases {
                assert_eq!(
                    shows(&target, namespace, configuration, &grants),
                    expected,
                    "{target:?} on {namespace:?}/{configuration:?} for {grants:?}"
                );
            }
        }
    }
}

/// Streams what changes on the page for `namespace` and `configuration` (both empty: the
/// namespaces overview), for as long as the caller's session lasts and allows reading the
/// namespace.
/// On a configuration's page, the page is shown to others who have it open (`editing`: in the
/// middle of a change) for as long as the stream lasts.
#[server(endpoint = "live", input = leptos::server_fn::codec::GetUrl, output = StreamingText)]
pub async fn live_updates(
    namespace: String,
    configuration: String,
    #[server(default)] editing: bool,
) -> Result<TextStream<AppError>, AppError> {
    use super::ssr::{reject, require, require_user, session, settings, store};
    let user = if namespace.is_empty() {
        require_user().await?
    } else {
        require(confo::users::Role::Viewer, Some(&namespace)).await?
    };
    let hub = use_context::<ssr::Hub>().ok_or_else(|| reject(AppError::Internal))?;
    let session = session()
        .await?
        .id()
        .ok_or_else(|| reject(AppError::SignInRequired))?;
    let store = store()?;
    let request = ssr::Request {
        store,
        settings: settings(),
        session,
        user,
        namespace,
        configuration,
    };
    let mut feed = ssr::Feed::open(&hub, request)
        .map_err(|ssr::Full| reject(AppError::Overloaded(ssr::RETRY_AFTER_SECONDS)))?;
    // Once the stream has its place: a refused one writes nothing.
    feed.enter_presence(editing).await;
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        let line = feed.next_line().await?;
        Some((Ok(line), feed))
    });
    Ok(TextStream::new(stream))
}
