//! What bounds sign-in attempts, so that guessing passwords is slow, a burst of requests cannot
//! fill the store, and failures from one client never keep the owner of an account out.
//!
//! - [`AddressThrottle`]: per client address (an IPv6 address counts by its /64 network), in
//!   this server process. Attempts are counted *before* the password is checked, so parallel
//!   requests are counted too; a right password gives its attempt back.
//! - Per account, in the store (shared by every dashboard instance): see
//!   [`confo::store::SignInAttempts`]. A browser that signed in to the account before holds its
//!   device cookie ([`device_cookie`]) and draws on a budget that other clients cannot spend.
//! - [`FailedSignIns`]: at most [`FailedSignIns::PER_MINUTE`] failed sign-ins a minute are
//!   written to the audit log one by one; the rest are counted in one summary entry a minute.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The group an address is counted in: an IPv4 address alone, an IPv6 address by its /64
/// network (one customer's whole allocation), anything unparsable as it is.
pub fn address_group(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => address.to_owned(),
    }
}

/// Sign-in attempts per client address group, in this server process. After
/// [`AddressThrottle::FREE_ATTEMPTS`] attempts with wrong passwords, one more is allowed every
/// [`AddressThrottle::LOCK_SECONDS`]; the count is forgotten after an hour without attempts.
/// One address thus gets at most 14 attempts in any quarter hour, fewer than an account's
/// budget for unknown clients, so it alone cannot keep an account's owner waiting.
#[derive(Default)]
pub struct AddressThrottle {
    attempts: Mutex<HashMap<String, (u32, i64)>>,
}

impl AddressThrottle {
    pub const FREE_ATTEMPTS: u32 = 10;
    pub const LOCK_SECONDS: i64 = 300;
    /// Counts older than this are forgotten.
    const WINDOW_SECONDS: i64 = 3600;
    /// Addresses kept at most; past that, those not being held back are forgotten first.
    const MAX_ADDRESSES: usize = 100_000;

    /// Counts an attempt from `group` (see [`address_group`]) before it is made; `Err(seconds
    /// to wait)` (and nothing counted) while the group is held back.
    pub fn claim(&self, group: &str, now: i64) -> Result<(), u64> {
        let mut attempts = self.attempts.lock().expect("not poisoned");
        if attempts.len() >= Self::MAX_ADDRESSES && !attempts.contains_key(group) {
            attempts.retain(|_, (count, last)| {
                now - *last < Self::WINDOW_SECONDS && *count >= Self::FREE_ATTEMPTS
            });
        }
        let entry = attempts.entry(group.to_owned()).or_insert((0, now));
        if now - entry.1 >= Self::WINDOW_SECONDS {
            *entry = (0, now);
        }
        if entry.0 >= Self::FREE_ATTEMPTS && now - entry.1 < Self::LOCK_SECONDS {
            return Err((Self::LOCK_SECONDS - (now - entry.1)) as u64);
        }
        *entry = (entry.0 + 1, now);
        Ok(())
    }

    /// Gives back an attempt whose password was right, or that was not made after all.
    pub fn release(&self, group: &str) {
        let mut attempts = self.attempts.lock().expect("not poisoned");
        if let Some(entry) = attempts.get_mut(group) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }
}

/// Failed sign-ins written to the audit log one by one, at most [`FailedSignIns::PER_MINUTE`]
/// a minute per server process; past that they are only counted, and one summary entry a
/// minute says how many were not written one by one.
#[derive(Default)]
pub struct FailedSignIns {
    window: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    minute: i64,
    recorded: u32,
    unrecorded: u64,
}

impl FailedSignIns {
    pub const PER_MINUTE: u32 = 60;

    /// Starts the minute's summary for `store`; lives as long as the server.
    pub fn start(store: confo::Store) -> Arc<Self> {
        let failures = Arc::new(Self::default());
        let counted = failures.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            every.tick().await;
            loop {
                every.tick().await;
                counted.write_summary(&store).await;
            }
        });
        failures
    }

    /// Whether the failed sign-in at `now` (Unix seconds) is written one by one; if not, it is
    /// counted for the summary.
    pub fn admit(&self, now: i64) -> bool {
        let mut window = self.window.lock().expect("not poisoned");
        let minute = now.div_euclid(60);
        if window.minute != minute {
            window.minute = minute;
            window.recorded = 0;
        }
        if window.recorded < Self::PER_MINUTE {
            window.recorded += 1;
            true
        } else {
            window.unrecorded += 1;
            false
        }
    }

    /// How many were counted and not written since the last call, now forgotten.
    pub fn take_unrecorded(&self) -> u64 {
        std::mem::take(&mut self.window.lock().expect("not poisoned").unrecorded)
    }

    /// Writes the summary entry of what was not written one by one, if anything.
    pub async fn write_summary(&self, store: &confo::Store) {
        let unrecorded = self.take_unrecorded();
        if unrecorded == 0 {
            return;
        }
        let change = confo::Change::by(confo::Actor::system()).with_comment(format!(
            "{unrecorded} more failed sign-ins in the last minute, not recorded one by one (at most {} a minute are)",
            Self::PER_MINUTE
        ));
        if let Err(error) = store
            .record_user_event(confo::Action::SignInFailed, SEVERAL_ACCOUNTS, &change)
            .await
        {
            tracing::warn!(%error, unrecorded, "cannot record the failed sign-ins of a minute");
        }
    }
}

/// The account a summary of failed sign-ins names.
pub const SEVERAL_ACCOUNTS: &str = "several accounts";

/// How a failed sign-in names the account tried: the name when it could be one, else this (so
/// that nothing an anonymous visitor types is stored verbatim unless it keeps the name rules).
pub const INVALID_NAME: &str = "an invalid name";

/// The device cookie: a random token that a browser receives when it signs in, known to the
/// account in the store by its hash (see [`confo::Store::remember_device`]).
pub mod device_cookie {
    /// Its name; with `secure`, `__Host-` keeps it to this site over https.
    pub fn name(secure: bool) -> &'static str {
        if secure {
            "__Host-confo_device"
        } else {
            "confo_device"
        }
    }

    /// The token the request's device cookie holds, if it has the shape of one.
    pub fn read(headers: &http::HeaderMap, secure: bool) -> Option<String> {
        let wanted = name(secure);
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == wanted)
            .map(|(_, token)| token.to_owned())
            .filter(|token| confo::users::is_token(token))
    }

    /// The `Set-Cookie` value that gives a browser `token`.
    pub fn set(token: &str, secure: bool) -> http::HeaderValue {
        let max_age = confo::users::KNOWN_DEVICE_DAYS * 86_400;
        let attribute = if secure { "; Secure" } else { "" };
        http::HeaderValue::from_str(&format!(
            "{}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{attribute}",
            name(secure)
        ))
        .expect("a token is a valid header value")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_by_their_64_network() {
        assert_eq!(address_group("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            address_group("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(
            address_group("2001:db8:1:3::1"),
            address_group("2001:db8:1:2::1")
        );
        assert_eq!(address_group("10.0.0.7"), "10.0.0.7");
        assert_eq!(address_group("::ffff:10.0.0.7"), "10.0.0.7");
        assert_ne!(address_group("10.0.0.7"), address_group("10.0.0.8"));
    }

    #[test]
    fn an_address_is_held_back_after_ten_attempts_then_gets_one_every_five_minutes() {
        let throttle = AddressThrottle::default();
        for i in 0..10 {
            assert_eq!(throttle.claim("10.0.0.1", 100 + i), Ok(()));
        }
        assert_eq!(throttle.claim("10.0.0.1", 109), Err(300));
        assert_eq!(throttle.claim("10.0.0.1", 259), Err(150));
        assert_eq!(throttle.claim("10.0.0.2", 259), Ok(()));
        assert_eq!(throttle.claim("10.0.0.1", 409), Ok(()));
        assert!(throttle.claim("10.0.0.1", 410).is_err());
        // An hour without attempts forgets them.
        assert_eq!(throttle.claim("10.0.0.1", 409 + 3600), Ok(()));
        // A right password gives its attempt back: attempts that were right never add up.
        let throttle = AddressThrottle::default();
        for i in 0..30 {
            assert_eq!(throttle.claim("10.0.0.3", 100 + i), Ok(()), "{i}");
            throttle.release("10.0.0.3");
        }
    }

    /// However the attempts are spread, one address gets fewer into a quarter hour than an
    /// account's budget for unknown clients.
    #[test]
    fn one_address_cannot_spend_an_accounts_budget() {
        use confo::store::SignInAttempts;
        let throttle = AddressThrottle::default();
        let mut per_quarter: HashMap<i64, u32> = HashMap::new();
        for now in 0..4 * 3600 {
            if throttle.claim("10.0.0.1", now).is_ok() {
                *per_quarter
                    .entry(now / SignInAttempts::QUARTER_SECONDS)
                    .or_default() += 1;
            }
        }
        let most = per_quarter.values().max().copied().unwrap_or(0);
        assert!(
            most < SignInAttempts::UNKNOWN_PER_QUARTER,
            "{per_quarter:?}"
        );
        assert!(most >= AddressThrottle::FREE_ATTEMPTS);
    }

    #[test]
    fn at_most_sixty_failures_a_minute_are_recorded_one_by_one() {
        let failures = FailedSignIns::default();
        let recorded = (0..100).filter(|_| failures.admit(120)).count();
        assert_eq!(recorded, 60);
        assert_eq!(failures.take_unrecorded(), 40);
        assert_eq!(failures.take_unrecorded(), 0);
        // A new minute records again.
        assert!(failures.admit(180));
    }

    #[test]
    fn device_cookies_are_read_by_name_and_shape() {
        let token = confo::users::random_token();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            format!("confo_session=x; confo_device={token}")
                .parse()
                .unwrap(),
        );
        assert_eq!(
            device_cookie::read(&headers, false).as_deref(),
            Some(token.as_str())
        );
        assert_eq!(device_cookie::read(&headers, true), None);
        headers.insert(http::header::COOKIE, "confo_device=../x".parse().unwrap());
        assert_eq!(device_cookie::read(&headers, false), None);
        let set = device_cookie::set(&token, true);
        let set = set.to_str().unwrap();
        assert!(
            set.starts_with(&format!("__Host-confo_device={token};")),
            "{set}"
        );
        assert!(set.contains("HttpOnly") && set.contains("Secure"), "{set}");
    }
}
