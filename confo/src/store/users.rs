//! User accounts in the store: profiles and password hashes under the reserved prefix.

use super::{Change, Decision, Draft, Plan, Reads, Store, Written};
use crate::audit::Action;
use crate::error::{Error, Result};
use crate::kv::Op;
use crate::kv::{Compare, KeyValue};
use crate::users::{
    Grants, Invitation, InvitationKind, PasswordHash, Role, User, check_link, check_user_name,
    link_not_valid, sha256_hex,
};

/// Sign-in attempts on one account name since its last success: how many, and when the last
/// was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignInFailures {
    pub count: u32,
    /// Unix seconds.
    pub last: i64,
}

impl SignInFailures {
    /// Failures older than this are forgotten.
    pub const WINDOW_SECONDS: i64 = 3600;
    /// Attempts allowed without waiting.
    pub const FREE: u32 = 5;
    /// The wait between further attempts.
    pub const LOCK_SECONDS: i64 = 60;
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

fn parse_user(kv: &KeyValue) -> Result<User> {
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

    /// Failed sign-ins recorded for the account name `account` in the last hour.
    pub async fn sign_in_failures(&self, account: &str) -> Result<Option<SignInFailures>> {
        let key = self.layout.sign_in_failures(&sha256_hex(account));
        let Some(kv) = self.kv.get(&key).await? else {
            return Ok(None);
        };
        let failures: SignInFailures =
            serde_json::from_slice(&kv.value).map_err(|e| Error::Corrupt {
                key,
                reason: e.to_string(),
            })?;
        let now = chrono::Utc::now().timestamp();
        Ok((now - failures.last < SignInFailures::WINDOW_SECONDS).then_some(failures))
    }

    /// Claims one sign-in attempt on `account` before its password is checked, so that
    /// attempts running at the same time, on any dashboard instance, are all counted. After
    /// [`SignInFailures::FREE`] attempts without a success, another is allowed only
    /// [`SignInFailures::LOCK_SECONDS`] after the last one allowed: at most about 65 an hour,
    /// and a real user waits a minute at most. A refused attempt writes nothing (so it cannot
    /// lengthen the wait). Answers `Err(seconds to wait)` when refused.
    pub async fn claim_sign_in_attempt(&self, account: &str) -> Result<Result<(), u64>> {
        let key = self.layout.sign_in_failures(&sha256_hex(account));
        let wait = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let answer = wait.clone();
        self.commit(
            &Change::by(crate::Actor::system()),
            vec![key.clone()],
            move |reads: &Reads| {
                let now = chrono::Utc::now().timestamp();
                let before = reads
                    .get(&key)
                    .and_then(|kv| serde_json::from_slice::<SignInFailures>(&kv.value).ok())
                    .filter(|f| now - f.last < SignInFailures::WINDOW_SECONDS);
                if let Some(f) = before
                    && f.count >= SignInFailures::FREE
                    && now - f.last < SignInFailures::LOCK_SECONDS
                {
                    answer.store(
                        (SignInFailures::LOCK_SECONDS - (now - f.last)) as u64,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    return Ok(Decision::Unchanged(0));
                }
                answer.store(0, std::sync::atomic::Ordering::Relaxed);
                let claimed = SignInFailures {
                    count: before.map_or(0, |f| f.count) + 1,
                    last: now,
                };
                let mut plan = Plan::default();
                plan.compare(&key, reads);
                plan.put_json(
                    &key,
                    &serde_json::to_value(claimed).expect("counters serialise"),
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

    /// Forgets the sign-in attempts on `account` after its password was checked correctly
    /// elsewhere than at sign-in (a password change).
    pub async fn forget_sign_in_attempts(&self, account: &str) -> Result<()> {
        let key = self.layout.sign_in_failures(&sha256_hex(account));
        self.kv.txn(Vec::new(), vec![Op::Delete { key }]).await?;
        Ok(())
    }

    /// Records a sign-in (`auth.sign_in`) and forgets the account's failed ones.
    pub async fn record_sign_in(&self, user: &str, change: &Change) -> Result<Written> {
        let key = self.layout.sign_in_failures(&sha256_hex(user));
        let user = user.to_owned();
        self.commit(change, vec![key.clone()], move |reads: &Reads| {
            let mut plan = Plan::default();
            if reads.get(&key).is_some() {
                plan.delete(&key);
            }
            plan.drafts.push(Draft::user(Action::SignIn, &user));
            Ok(Decision::Write(plan))
        })
        .await
    }

    /// Removes expired invitations and forgotten sign-in failure counters; answers how many.
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
        for kv in self
            .kv
            .list_prefix(&self.layout.sign_in_failures_prefix())
            .await?
        {
            let old = serde_json::from_slice::<SignInFailures>(&kv.value)
                .is_ok_and(|f| now.timestamp() - f.last >= SignInFailures::WINDOW_SECONDS);
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
