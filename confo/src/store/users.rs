//! User accounts in the store: profiles and password hashes under the reserved prefix.

use super::{Change, Decision, Draft, Plan, Reads, Store, Written};
use crate::audit::Action;
use crate::error::{Error, Result};
use crate::kv::Op;
use crate::kv::{Compare, KeyValue};
use crate::users::{
    Grants, Invitation, InvitationKind, KNOWN_DEVICE_DAYS, KnownDevice, PasswordHash, Role, User,
    check_link, check_user_name, link_not_valid, sha256_hex,
};

/// Wrong passwords an account accepted in one quarter of an hour (aligned to the clock: 00, 15,
/// 30 and 45 minutes past), counted apart for browsers the account signed in from before (with
/// its device cookie) and for every other client.
///
/// An attempt is counted before its password is checked and given back when the password was
/// right, so parallel attempts are counted too and only wrong passwords stay counted. Past a
/// budget, further attempts of that kind wait for the next quarter (at most 15 minutes); the
/// budgets add up to 20 a quarter, so an account never accepts more than 100 wrong passwords in
/// any 60 minutes. Clients without a device cookie cannot use up the budget of known browsers, so
/// the owner signing in from one is never kept waiting by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignInAttempts {
    /// Unix seconds divided by [`SignInAttempts::QUARTER_SECONDS`].
    pub quarter: i64,
    /// Counted from clients without the account's device cookie.
    pub unknown: u32,
    /// Counted from browsers with the account's device cookie.
    pub known: u32,
}

/// Whether a sign-in comes from a browser the account signed in from before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInClient {
    /// The browser holds the account's device cookie.
    Known,
    /// Any other client.
    Unknown,
}

impl SignInAttempts {
    pub const QUARTER_SECONDS: i64 = 900;
    /// Attempts a quarter from clients without the account's device cookie.
    pub const UNKNOWN_PER_QUARTER: u32 = 16;
    /// Attempts a quarter from browsers with the account's device cookie.
    pub const KNOWN_PER_QUARTER: u32 = 4;

    fn quarter_of(now: i64) -> i64 {
        now.div_euclid(Self::QUARTER_SECONDS)
    }

    /// The count in the quarter of `now`, from what was stored (anything older counts nothing).
    fn current(stored: Option<Self>, now: i64) -> Self {
        let quarter = Self::quarter_of(now);
        stored.filter(|a| a.quarter == quarter).unwrap_or(Self {
            quarter,
            unknown: 0,
            known: 0,
        })
    }

    fn count(&mut self, client: SignInClient) -> &mut u32 {
        match client {
            SignInClient::Known => &mut self.known,
            SignInClient::Unknown => &mut self.unknown,
        }
    }

    fn budget(client: SignInClient) -> u32 {
        match client {
            SignInClient::Known => Self::KNOWN_PER_QUARTER,
            SignInClient::Unknown => Self::UNKNOWN_PER_QUARTER,
        }
    }
}

fn parse_invitation(kv: &KeyValue) -> Result<Invitation> {
    parse_record(kv, "an invitation")
}

fn profile_json(user: &User) -> serde_json::Value {
    serde_json::to_value(user).expect("profiles serialise")
}

/// Whether an enabled administrator other than `except` is among `reads` (the profiles read).
fn another_admin(reads: &Reads, keys: &[String], except: &str) -> Result<bool> {
    for key in keys {
        if let Some(kv) = reads.get(key) {
            let user = parse_user(kv)?;
            if user.name != except && user.role == Role::Admin && !user.disabled {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

const LAST_ADMIN: &str =
    "this is the last active administrator; make someone else an administrator first";

/// A stored record of type `T`, or `Corrupt` naming `what` it should have been.
fn parse_record<T: serde::de::DeserializeOwned>(kv: &KeyValue, what: &str) -> Result<T> {
    serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
        key: kv.key.clone(),
        reason: format!("not {what} ({e})"),
    })
}

pub(crate) fn parse_user(kv: &KeyValue) -> Result<User> {
    parse_record(kv, "a user profile")
}

impl Store {
    /// Creates a user with a password hash, audited as `user.create`.
    pub async fn create_user(
        &self,
        user: &User,
        password: &PasswordHash,
        change: &Change,
    ) -> Result<Written> {
        check_user_name(&user.name)?;
        let profile_key = self.layout.user(&user.name);
        let password_key = self.layout.password(&user.name);
        let profile = serde_json::to_value(user).expect("profiles serialise");
        let (user_name, password) = (user.name.clone(), password.as_stored().to_owned());
        self.commit(
            change,
            vec![profile_key.clone(), password_key.clone()],
            move |reads: &Reads| {
                if reads.get(&profile_key).is_some() {
                    return Err(Error::AlreadyExists(format!("user {user_name:?}")));
                }
                let mut plan = Plan::default();
                plan.compare(&profile_key, reads);
                plan.compare(&password_key, reads);
                plan.put_json(&profile_key, &profile);
                plan.ops.push(Op::Put {
                    key: password_key.clone(),
                    value: password.clone().into_bytes(),
                });
                plan.drafts
                    .push(Draft::user(Action::UserCreate, &user_name));
                Ok(Decision::Write(plan))
            },
        )
        .await
    }

    /// The keys of every profile, read with a change that must keep an active administrator.
    async fn profile_keys(&self) -> Result<Vec<String>> {
        Ok(self
            .kv
            .list_prefix(&self.layout.users_prefix())
            .await?
            .into_iter()
            .map(|kv| kv.key)
            .collect())
    }

    /// Disables a user (their sessions end at their next request) or enables them again. The
    /// last active administrator cannot be disabled.
    pub async fn set_user_disabled(
        &self,
        name: &str,
        disabled: bool,
        change: &Change,
    ) -> Result<Written> {
        check_user_name(name)?;
        let key = self.layout.user(name);
        let name = name.to_owned();
        let mut keys = self.profile_keys().await?;
        if !keys.contains(&key) {
            keys.push(key.clone());
        }
        self.commit(change, keys.clone(), move |reads: &Reads| {
            let kv = reads
                .get(&key)
                .ok_or_else(|| Error::NotFound(format!("user {name:?}")))?;
            let mut user = parse_user(kv)?;
            if user.disabled == disabled {
                return Ok(Decision::Unchanged(kv.mod_revision));
            }
            let mut plan = Plan::default();
            if disabled && user.role == Role::Admin {
                if !another_admin(reads, &keys, &name)? {
                    return Err(Error::InvalidValue(LAST_ADMIN.into()));
                }
                // Another administrator disabled at the same time must not leave none.
                keys.iter().for_each(|k| plan.compare(k, reads));
            } else {
                plan.compare(&key, reads);
            }
            user.disabled = disabled;
            plan.put_json(&key, &profile_json(&user));
            plan.drafts.push(Draft::user(
                if disabled {
                    Action::UserDisable
                } else {
                    Action::UserEnable
                },
                &name,
            ));
            Ok(Decision::Write(plan))
        })
        .await
    }

    /// Changes a user's role and namespace grants, audited as `user.update` with what changed.
    /// The last active administrator keeps the role.
    pub async fn update_user(
        &self,
        name: &str,
        role: Role,
        grants: Grants,
        change: &Change,
    ) -> Result<Written> {
        check_user_name(name)?;
        let key = self.layout.user(name);
        let name = name.to_owned();
        let mut keys = self.profile_keys().await?;
        if !keys.contains(&key) {
            keys.push(key.clone());
        }
        let change_comment = change.comment.clone();
        let mut change = change.clone();
        let (planned_role, planned_grants) = (role, grants.clone());
        // The audit comment says what changed, after the admin's own words.
        if let Ok(Some((before, _))) = self.get_user(&name).await {
            let said = describe_update(&before, planned_role, &planned_grants);
            change.comment = Some(match change_comment {
                Some(own) => format!("{own} ({said})"),
                None => said,
            });
        }
        self.commit(&change, keys.clone(), move |reads: &Reads| {
            let kv = reads
                .get(&key)
                .ok_or_else(|| Error::NotFound(format!("user {name:?}")))?;
            let mut user = parse_user(kv)?;
            if user.role == role && user.grants == grants {
                return Ok(Decision::Unchanged(kv.mod_revision));
            }
            let mut plan = Plan::default();
            if user.role == Role::Admin && role != Role::Admin && !user.disabled {
                if !another_admin(reads, &keys, &name)? {
                    return Err(Error::InvalidValue(LAST_ADMIN.into()));
                }
                keys.iter().for_each(|k| plan.compare(k, reads));
            } else {
                plan.compare(&key, reads);
            }
            user.role = role;
            // Administrators may do everything, everywhere.
            user.grants = if role == Role::Admin {
                Grants::All
            } else {
                grants.clone()
            };
            plan.put_json(&key, &profile_json(&user));
            plan.drafts.push(Draft::user(Action::UserUpdate, &name));
            Ok(Decision::Write(plan))
        })
        .await
    }

    /// Replaces a user's password hash (the user changing their own password).
    pub async fn set_password(
        &self,
        name: &str,
        password: &PasswordHash,
        change: &Change,
    ) -> Result<Written> {
        check_user_name(name)?;
        let (profile_key, password_key) = (self.layout.user(name), self.layout.password(name));
        let (name, password) = (name.to_owned(), password.as_stored().to_owned());
        self.commit(
            change,
            vec![profile_key.clone(), password_key.clone()],
            move |reads: &Reads| {
                if reads.get(&profile_key).is_none() {
                    return Err(Error::NotFound(format!("user {name:?}")));
                }
                let mut plan = Plan::default();
                plan.compare(&profile_key, reads);
                plan.compare(&password_key, reads);
                plan.ops.push(Op::Put {
                    key: password_key.clone(),
                    value: password.clone().into_bytes(),
                });
                plan.drafts
                    .push(Draft::user(Action::UserChangePassword, &name));
                Ok(Decision::Write(plan))
            },
        )
        .await
    }

    /// Stores a one-time link for a new account, or a password reset for an existing one,
    /// replacing any link made before for the same name. Audited as `user.invite` or
    /// `user.reset_password`.
    pub async fn invite(&self, invitation: &Invitation, change: &Change) -> Result<Written> {
        check_user_name(&invitation.name)?;
        let (user_key, key) = (
            self.layout.user(&invitation.name),
            self.layout.invitation(&invitation.name),
        );
        let invitation = invitation.clone();
        self.commit(
            change,
            vec![user_key.clone(), key.clone()],
            move |reads: &Reads| {
                let name = &invitation.name;
                let action = match (invitation.kind, reads.get(&user_key)) {
                    (InvitationKind::NewAccount, Some(_)) => {
                        return Err(Error::AlreadyExists(format!(
                            "user {name:?} (reset their password instead)"
                        )));
                    }
                    (InvitationKind::PasswordReset, None) => {
                        return Err(Error::NotFound(format!("user {name:?}")));
                    }
                    (InvitationKind::NewAccount, None) => Action::UserInvite,
                    (InvitationKind::PasswordReset, Some(_)) => Action::UserResetPassword,
                };
                let mut plan = Plan::default();
                plan.compare(&user_key, reads);
                plan.compare(&key, reads);
                plan.put_json(
                    &key,
                    &serde_json::to_value(&invitation).expect("invitations serialise"),
                );
                plan.drafts.push(Draft::user(action, name));
                Ok(Decision::Write(plan))
            },
        )
        .await
    }

    /// The pending link for `name`, if any (expired ones included until they are swept).
    pub async fn invitation(&self, name: &str) -> Result<Option<Invitation>> {
        if check_user_name(name).is_err() {
            return Ok(None);
        }
        match self.kv.get(&self.layout.invitation(name)).await? {
            Some(kv) => parse_invitation(&kv).map(Some),
            None => Ok(None),
        }
    }

    /// Every pending link, by name.
    pub async fn list_invitations(&self) -> Result<Vec<Invitation>> {
        self.kv
            .list_prefix(&self.layout.invitations_prefix())
            .await?
            .iter()
            .map(parse_invitation)
            .collect()
    }

    /// Uses the link `token` for `name`: creates the account or sets its new password, and
    /// removes the link in the same transaction, so that it works once. Answers the account.
    pub async fn accept_invitation(
        &self,
        name: &str,
        token: &str,
        password: &PasswordHash,
    ) -> Result<User> {
        check_user_name(name).map_err(|_| link_not_valid())?;
        let keys = vec![
            self.layout.invitation(name),
            self.layout.user(name),
            self.layout.password(name),
        ];
        let (token, password) = (token.to_owned(), password.as_stored().to_owned());
        let accepted = std::sync::Arc::new(std::sync::Mutex::new(None));
        let answer = accepted.clone();
        let change = Change::by(crate::Actor::user(name.to_owned()));
        let guide_key = self.layout.guide(name);
        self.commit(&change, keys.clone(), move |reads: &Reads| {
            let [invitation_key, profile_key, password_key] = &keys[..] else {
                unreachable!("three keys")
            };
            let stored = reads
                .get(invitation_key)
                .map(parse_invitation)
                .transpose()?;
            let invitation = check_link(stored, &token, chrono::Utc::now())?;
            let mut plan = Plan::default();
            keys.iter().for_each(|k| plan.compare(k, reads));
            let user = match (invitation.kind, reads.get(profile_key)) {
                (InvitationKind::NewAccount, None) => {
                    let user = User {
                        name: invitation.name.clone(),
                        role: invitation.role,
                        grants: invitation.grants.clone(),
                        disabled: false,
                        created: chrono::Utc::now(),
                    };
                    plan.put_json(profile_key, &profile_json(&user));
                    // A new person is shown the getting-started guide until they dismiss it.
                    plan.put_json(&guide_key, &serde_json::json!({"since": user.created}));
                    user
                }
                (InvitationKind::PasswordReset, Some(kv)) => {
                    let user = parse_user(kv)?;
                    if user.disabled {
                        return Err(Error::InvalidValue(
                            "this account is disabled; ask an administrator to enable it".into(),
                        ));
                    }
                    user
                }
                (InvitationKind::NewAccount, Some(_)) => {
                    return Err(Error::AlreadyExists(format!("user {:?}", invitation.name)));
                }
                (InvitationKind::PasswordReset, None) => {
                    return Err(Error::NotFound(format!("user {:?}", invitation.name)));
                }
            };
            plan.ops.push(Op::Put {
                key: password_key.clone(),
                value: password.clone().into_bytes(),
            });
            plan.delete(invitation_key);
            plan.drafts
                .push(Draft::user(Action::UserAcceptInvitation, &user.name));
            *answer.lock().expect("not poisoned") = Some(user);
            Ok(Decision::Write(plan))
        })
        .await?;
        let user = accepted.lock().expect("not poisoned").take();
        user.ok_or_else(|| Error::Backend("the accepted account was not returned".into()))
    }

    /// The sign-in attempts counted on the account name `account` in the current quarter hour.
    pub async fn sign_in_attempts(&self, account: &str) -> Result<Option<SignInAttempts>> {
        let key = self.layout.sign_in_failures(&sha256_hex(account));
        let Some(kv) = self.kv.get(&key).await? else {
            return Ok(None);
        };
        let stored: SignInAttempts =
            serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
                key,
                reason: e.to_string(),
            })?;
        let now = chrono::Utc::now().timestamp();
        Ok((stored.quarter == SignInAttempts::quarter_of(now)).then_some(stored))
    }

    /// Claims one sign-in attempt on `account` from `client` before its password is checked,
    /// so that attempts running at the same time, on any dashboard instance, are all counted
    /// (see [`SignInAttempts`]). A refused attempt writes nothing. Answers `Err(seconds to wait)`
    /// when the budget of this kind of client is spent for the quarter.
    pub async fn claim_sign_in_attempt(
        &self,
        account: &str,
        client: SignInClient,
    ) -> Result<Result<(), u64>> {
        let key = self.layout.sign_in_failures(&sha256_hex(account));
        let wait = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let answer = wait.clone();
        self.commit(
            &Change::by(crate::Actor::system()),
            vec![key.clone()],
            move |reads: &Reads| {
                let now = chrono::Utc::now().timestamp();
                let stored = reads
                    .get(&key)
                    .and_then(|kv| serde_json::from_slice::<SignInAttempts>(&kv.value).ok());
                let mut attempts = SignInAttempts::current(stored, now);
                if *attempts.count(client) >= SignInAttempts::budget(client) {
                    let next = (attempts.quarter + 1) * SignInAttempts::QUARTER_SECONDS;
                    answer.store(
                        (next - now).max(1) as u64,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    return Ok(Decision::Unchanged(0));
                }
                answer.store(0, std::sync::atomic::Ordering::Relaxed);
                *attempts.count(client) += 1;
                let mut plan = Plan::default();
                plan.compare(&key, reads);
                plan.put_json(
                    &key,
                    &serde_json::to_value(attempts).expect("counters serialise"),
                );
                Ok(Decision::Write(plan))
            },
        )
        .await?;
        Ok(match wait.load(std::sync::atomic::Ordering::Relaxed) {
            0 => Ok(()),
            seconds => Err(seconds),
        })
    }

    /// Gives back an attempt claimed with [`Store::claim_sign_in_attempt`] whose password was
    /// right (checked elsewhere than at sign-in: a password change).
    pub async fn release_sign_in_attempt(&self, account: &str, client: SignInClient) -> Result<()> {
        let key = self.layout.sign_in_failures(&sha256_hex(account));
        self.commit(
            &Change::by(crate::Actor::system()),
            vec![key.clone()],
            move |reads: &Reads| match release(&key, reads, client) {
                Some(plan) => Ok(Decision::Write(plan)),
                None => Ok(Decision::Unchanged(0)),
            },
        )
        .await?;
        Ok(())
    }

    /// Records a sign-in (`auth.sign_in`) and gives back the attempt it claimed, if any, in
    /// the same transaction.
    pub async fn record_sign_in(
        &self,
        user: &str,
        claimed: Option<SignInClient>,
        change: &Change,
    ) -> Result<Written> {
        let key = self.layout.sign_in_failures(&sha256_hex(user));
        let user = user.to_owned();
        self.commit(change, vec![key.clone()], move |reads: &Reads| {
            let mut plan = claimed
                .and_then(|client| release(&key, reads, client))
                .unwrap_or_default();
            plan.drafts.push(Draft::user(Action::SignIn, &user));
            Ok(Decision::Write(plan))
        })
        .await
    }

    /// Remembers the browser holding the device cookie `token` as known to `user`.
    /// Whether user `name` is still to be shown the getting-started guide.
    pub async fn guide_pending(&self, name: &str) -> Result<bool> {
        Ok(self.kv.get(&self.layout.guide(name)).await?.is_some())
    }

    /// Remembers that user `name` dismissed the getting-started guide.
    pub async fn dismiss_guide(&self, name: &str) -> Result<()> {
        let key = self.layout.guide(name);
        self.kv.txn(Vec::new(), vec![Op::Delete { key }]).await?;
        Ok(())
    }

    pub async fn remember_device(&self, user: &str, token: &str) -> Result<()> {
        let key = self.layout.device(&sha256_hex(token));
        let device = KnownDevice {
            user: user.to_owned(),
            created: chrono::Utc::now(),
        };
        let value = serde_json::to_vec(&device).expect("devices serialise");
        let ttl = std::time::Duration::from_secs(KNOWN_DEVICE_DAYS as u64 * 86_400);
        // Only where nothing is: a token is never reused for another account.
        self.kv
            .put_expiring(&key, value, ttl, Some(Compare::unchanged(&key, None)))
            .await?;
        Ok(())
    }

    /// The account the device cookie `token` is known to, while it is valid.
    pub async fn device_user(&self, token: &str) -> Result<Option<String>> {
        if !crate::users::is_token(token) {
            return Ok(None);
        }
        let Some(kv) = self.kv.get(&self.layout.device(&sha256_hex(token))).await? else {
            return Ok(None);
        };
        let device: KnownDevice = parse_record(&kv, "a known device")?;
        Ok((!device.is_expired(chrono::Utc::now())).then_some(device.user))
    }

    /// Removes expired invitations, known browsers and sign-in counters of past quarter hours;
    /// answers how many.
    pub async fn sweep_expired_records(&self) -> Result<usize> {
        let now = chrono::Utc::now();
        let mut stale = Vec::new();
        for kv in self
            .kv
            .list_prefix(&self.layout.invitations_prefix())
            .await?
        {
            if parse_invitation(&kv).is_ok_and(|i| i.is_expired(now)) {
                stale.push(kv);
            }
        }
        for kv in self.kv.list_prefix(&self.layout.devices_prefix()).await? {
            let device: Result<KnownDevice> = parse_record(&kv, "a known device");
            if device.is_ok_and(|d| d.is_expired(now)) {
                stale.push(kv);
            }
        }
        for kv in self
            .kv
            .list_prefix(&self.layout.sign_in_failures_prefix())
            .await?
        {
            let old = serde_json::from_slice::<SignInAttempts>(&kv.value)
                .ok()
                .is_none_or(|a| a.quarter < SignInAttempts::quarter_of(now.timestamp()));
            if old {
                stale.push(kv);
            }
        }
        let mut removed = 0;
        for kv in stale {
            // Compared, so that a record written again meanwhile stays.
            let outcome = self
                .kv
                .txn(
                    vec![Compare::unchanged(&kv.key, Some(&kv))],
                    vec![Op::Delete {
                        key: kv.key.clone(),
                    }],
                )
                .await?;
            if matches!(outcome, crate::kv::TxnOutcome::Committed { .. }) {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Records an event about a user account that changes nothing else (a sign-in, a failed one,
    /// a sign-out).
    pub async fn record_user_event(
        &self,
        action: Action,
        user: &str,
        change: &Change,
    ) -> Result<Written> {
        let user = user.to_owned();
        self.commit(change, Vec::new(), move |_: &Reads| {
            let mut plan = Plan::default();
            plan.drafts.push(Draft::user(action, &user));
            Ok(Decision::Write(plan))
        })
        .await
    }

    /// A user's profile and password hash.
    pub async fn get_user(&self, name: &str) -> Result<Option<(User, PasswordHash)>> {
        if check_user_name(name).is_err() {
            return Ok(None);
        }
        let reads = self
            .kv
            .get_many(&[self.layout.user(name), self.layout.password(name)])
            .await?;
        match (&reads[0], &reads[1]) {
            (Some(profile), Some(hash)) => Ok(Some((
                parse_user(profile)?,
                PasswordHash::from_stored(String::from_utf8_lossy(&hash.value).into_owned()),
            ))),
            _ => Ok(None),
        }
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        self.kv
            .list_prefix(&self.layout.users_prefix())
            .await?
            .iter()
            .map(parse_user)
            .collect()
    }
}

/// The plan that gives back one attempt of `client` counted in the current quarter, if there is
/// one to give back.
fn release(key: &str, reads: &Reads, client: SignInClient) -> Option<Plan> {
    let stored = reads
        .get(key)
        .and_then(|kv| serde_json::from_slice::<SignInAttempts>(&kv.value).ok());
    let mut attempts = SignInAttempts::current(stored, chrono::Utc::now().timestamp());
    let count = attempts.count(client);
    if *count == 0 {
        return None;
    }
    *count -= 1;
    let mut plan = Plan::default();
    plan.compare(key, reads);
    plan.put_json(
        key,
        &serde_json::to_value(attempts).expect("counters serialise"),
    );
    Some(plan)
}

/// What `user.update` changed, in words: "role viewer → editor; namespaces all → shop, web".
fn describe_update(before: &User, role: Role, grants: &Grants) -> String {
    let show = |grants: &Grants| match grants {
        Grants::All => "all".to_owned(),
        Grants::Namespaces(names) if names.is_empty() => "none".to_owned(),
        Grants::Namespaces(names) => names.join(", "),
    };
    let mut parts = Vec::new();
    if before.role != role {
        parts.push(format!("role {} → {}", before.role.as_str(), role.as_str()));
    }
    let grants = if role == Role::Admin {
        &Grants::All
    } else {
        grants
    };
    if before.grants != *grants {
        parts.push(format!(
            "namespaces {} → {}",
            show(&before.grants),
            show(grants)
        ));
    }
    parts.join("; ")
}
