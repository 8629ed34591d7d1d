//! The etcd backend, through etcd-client, with fail-over between members.
//!
//! etcd-client balances over its endpoints but keeps sending requests to a member that died. So
//! each member gets a client of its own: a request goes to the member that answered last; when
//! that member fails, reads move on to the next one at once, and the failed member is skipped for
//! a while. A failed transaction is never sent again here, because it may have been applied:
//! the caller reads to find out (see [`crate::store`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use etcd_client::{
    Client, Compare as EtcdCompare, CompareOp, ConnectOptions, GetOptions, SortOrder, SortTarget,
    Txn, TxnOp, TxnOpResponse, WatchOptions,
};

use super::{
    Compare, KeyValue, Kv, KvChange, Op, TxnOutcome, WatchEnd, WatchReceiver, check_txn_limits,
};
use crate::error::{Error, Result};

/// How to reach an etcd cluster.
#[derive(Debug, Clone)]
pub struct EtcdConfig {
    /// `host:port` or `http://host:port` of each member.
    pub endpoints: Vec<String>,
    /// The longest any one request may take before it fails as unavailable.
    pub timeout: Duration,
    /// Optional user name and password.
    pub credentials: Option<(String, String)>,
}

/// One member of the cluster and the client that talks to it.
struct Member {
    endpoint: String,
    client: tokio::sync::OnceCell<Client>,
    skip_until: Mutex<Option<Instant>>,
}

/// A connection to an etcd cluster.
pub struct EtcdKv {
    members: Vec<Member>,
    /// The member that answered last.
    current: AtomicUsize,
    config: EtcdConfig,
}

impl EtcdKv {
    /// Connects and checks that the cluster answers within the configured time.
    pub async fn connect(config: &EtcdConfig) -> Result<Self> {
        if config.endpoints.is_empty() {
            return Err(Error::Unavailable("no etcd endpoint was given".into()));
        }
        let kv = Self {
            members: config
                .endpoints
                .iter()
                .map(|endpoint| Member {
                    endpoint: endpoint.clone(),
                    client: tokio::sync::OnceCell::new(),
                    skip_until: Mutex::new(None),
                })
                .collect(),
            current: AtomicUsize::new(0),
            config: config.clone(),
        };
        kv.ping().await?;
        Ok(kv)
    }

    async fn client(&self, member: &Member) -> Result<Client> {
        let client = member
            .client
            .get_or_try_init(|| async {
                let mut options = ConnectOptions::new()
                    .with_connect_timeout(self.config.timeout)
                    .with_timeout(self.config.timeout)
                    .with_require_leader(true);
                if let Some((user, password)) = &self.config.credentials {
                    options = options.with_user(user.clone(), password.clone());
                }
                let connect = Client::connect([member.endpoint.as_str()], Some(options));
                match tokio::time::timeout(self.config.timeout, connect).await {
                    Ok(Ok(client)) => Ok(client),
                    Ok(Err(e)) => Err(unavailable(&member.endpoint, e)),
                    Err(_) => Err(timed_out(&member.endpoint, self.config.timeout)),
                }
            })
            .await?;
        Ok(client.clone())
    }

    /// The members in the order to try them: the one that answered last first, then the others;
    /// members that failed recently go last.
    fn order(&self) -> Vec<usize> {
        let n = self.members.len();
        let first = self.current.load(Ordering::Relaxed) % n;
        let now = Instant::now();
        let (mut healthy, mut resting): (Vec<usize>, Vec<usize>) =
            (0..n).map(|i| (first + i) % n).partition(|&i| {
                self.members[i]
                    .skip_until
                    .lock()
                    .expect("not poisoned")
                    .is_none_or(|until| until <= now)
            });
        healthy.append(&mut resting);
        healthy
    }

    fn failed(&self, index: usize) {
        let rest = self.config.timeout.max(Duration::from_secs(2));
        *self.members[index].skip_until.lock().expect("not poisoned") = Some(Instant::now() + rest);
        let next = (index + 1) % self.members.len();
        let _ = self
            .current
            .compare_exchange(index, next, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn answered(&self, index: usize) {
        *self.members[index].skip_until.lock().expect("not poisoned") = None;
        self.current.store(index, Ordering::Relaxed);
    }

    /// Sends a read to one member after another until one answers.
    async fn read<T, F, Fut>(&self, request: F) -> Result<T>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let mut last_error = None;
        for index in self.order() {
            match self.send(index, &request).await {
                Ok(value) => return Ok(value),
                Err(error @ Error::Unavailable(_)) => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last_error.expect("at least one member"))
    }

    async fn send<T, F, Fut>(&self, index: usize, request: &F) -> Result<T>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let member = &self.members[index];
        let result = match self.client(member).await {
            Ok(client) => match tokio::time::timeout(self.config.timeout, request(client)).await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => Err(unavailable(&member.endpoint, e)),
                Err(_) => Err(timed_out(&member.endpoint, self.config.timeout)),
            },
            Err(e) => Err(e),
        };
        match &result {
            Ok(_) | Err(Error::Backend(_)) => self.answered(index),
            Err(error) => {
                tracing::warn!(endpoint = %member.endpoint, %error, "etcd member failed");
                self.failed(index);
            }
        }
        result
    }
}

/// A failure to reach the member (or a member without a leader) is `Unavailable`, and another
/// member may answer; anything else is the request's own fault and is not tried elsewhere.
fn unavailable(endpoint: &str, e: etcd_client::Error) -> Error {
    use etcd_client::Error as E;
    let reachability = match &e {
        E::GRpcStatus(status) => matches!(
            status.code(),
            tonic::Code::Unavailable
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Cancelled
                | tonic::Code::Unknown
                | tonic::Code::Aborted
        ),
        E::InvalidArgs(_)
        | E::InvalidUri(_)
        | E::Utf8Error(_)
        | E::LeaseKeepAliveError(_)
        | E::ElectError(_)
        | E::InvalidMetadataValue(_)
        | E::EndpointError(_) => false,
        _ => true,
    };
    if reachability {
        Error::Unavailable(format!("etcd at {endpoint}: {e}"))
    } else {
        Error::Backend(format!("etcd at {endpoint} refused the request: {e}"))
    }
}

fn timed_out(endpoint: &str, timeout: Duration) -> Error {
    Error::Unavailable(format!(
        "etcd at {endpoint} did not answer within {timeout:?}"
    ))
}

fn to_key_value(kv: &etcd_client::KeyValue) -> KeyValue {
    KeyValue {
        key: String::from_utf8_lossy(kv.key()).into_owned(),
        value: kv.value().to_vec(),
        mod_revision: kv.mod_revision(),
    }
}

#[async_trait]
impl Kv for EtcdKv {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let response = self
            .read(|mut client| async move { client.get(key, None).await })
            .await?;
        Ok(response.kvs().first().map(to_key_value))
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<KeyValue>>> {
        // One read-only transaction: every key at the same revision, in one round trip.
        let txn = Txn::new().and_then(
            keys.iter()
                .map(|key| TxnOp::get(key.as_str(), None))
                .collect::<Vec<_>>(),
        );
        let response = self
            .read(|mut client| {
                let txn = txn.clone();
                async move { client.txn(txn).await }
            })
            .await?;
        Ok(response
            .op_responses()
            .iter()
            .map(|op| match op {
                TxnOpResponse::Get(get) => get.kvs().first().map(to_key_value),
                _ => None,
            })
            .collect())
    }

    async fn list_prefix(&self, prefix: &str) -> Result<Vec<KeyValue>> {
        let response = self
            .read(|mut client| async move {
                client
                    .get(prefix, Some(GetOptions::new().with_prefix()))
                    .await
            })
            .await?;
        Ok(response.kvs().iter().map(to_key_value).collect())
    }

    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        let response = self
            .read(|mut client| async move {
                client
                    .get(
                        prefix,
                        Some(GetOptions::new().with_prefix().with_keys_only()),
                    )
                    .await
            })
            .await?;
        Ok(response
            .kvs()
            .iter()
            .map(|kv| String::from_utf8_lossy(kv.key()).into_owned())
            .collect())
    }

    async fn range(
        &self,
        start: &str,
        end: &str,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<KeyValue>> {
        let order = if reverse {
            SortOrder::Descend
        } else {
            SortOrder::Ascend
        };
        let response = self
            .read(|mut client| async move {
                let options = GetOptions::new()
                    .with_range(end)
                    .with_limit(limit as i64)
                    .with_sort(SortTarget::Key, order);
                client.get(start, Some(options)).await
            })
            .await?;
        Ok(response.kvs().iter().map(to_key_value).collect())
    }

    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnOutcome> {
        check_txn_limits(&compares, &ops)?;
        let compares: Vec<EtcdCompare> = compares
            .into_iter()
            .map(|Compare::ModRevision { key, revision }| {
                EtcdCompare::mod_revision(key, CompareOp::Equal, revision)
            })
            .collect();
        let ops: Vec<TxnOp> = ops
            .into_iter()
            .map(|op| match op {
                Op::Put { key, value } => TxnOp::put(key, value, None),
                Op::Delete { key } => TxnOp::delete(key, None),
            })
            .collect();
        let txn = Txn::new().when(compares).and_then(ops);
        // Sent once, to one member: if it fails, it may still have been applied.
        let index = self.order()[0];
        let response = self
            .send(index, &|mut client: Client| {
                let txn = txn.clone();
                async move { client.txn(txn).await }
            })
            .await?;
        if !response.succeeded() {
            return Ok(TxnOutcome::CompareFailed);
        }
        let revision = response.header().map_or(0, |h| h.revision());
        Ok(TxnOutcome::Committed { revision })
    }

    async fn revision(&self) -> Result<i64> {
        let response = self
            .read(|mut client| async move { client.status().await })
            .await?;
        Ok(response.header().map_or(0, |h| h.revision()))
    }

    async fn watch(&self, prefix: &str, from: i64) -> Result<WatchReceiver> {
        let options = WatchOptions::new().with_prefix().with_start_revision(from);
        let mut stream = self
            .read(|mut client| {
                let options = options.clone();
                async move { client.watch(prefix, Some(options)).await }
            })
            .await?;
        let (sender, receiver) = tokio::sync::mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let end = match stream.message().await {
                    Ok(Some(response)) if response.compact_revision() > 0 => WatchEnd::Compacted,
                    Ok(Some(response)) if response.canceled() => {
                        WatchEnd::Disconnected(response.cancel_reason().to_owned())
                    }
                    Ok(Some(response)) => {
                        // One response may hold several revisions; send them one by one.
                        let mut by_revision: Vec<KvChange> = Vec::new();
                        for event in response.events() {
                            let Some(kv) = event.kv() else { continue };
                            let key = String::from_utf8_lossy(kv.key()).into_owned();
                            let value = match event.event_type() {
                                etcd_client::EventType::Put => Some(kv.value().to_vec()),
                                etcd_client::EventType::Delete => None,
                            };
                            match by_revision.last_mut() {
                                Some(change) if change.revision == kv.mod_revision() => {
                                    change.changes.push((key, value));
                                }
                                _ => by_revision.push(KvChange {
                                    revision: kv.mod_revision(),
                                    changes: vec![(key, value)],
                                }),
                            }
                        }
                        for change in by_revision {
                            if sender.send(Ok(change)).await.is_err() {
                                return;
                            }
                        }
                        continue;
                    }
                    Ok(None) => WatchEnd::Disconnected("etcd closed the watch".into()),
                    Err(e) => WatchEnd::Disconnected(e.to_string()),
                };
                let _ = sender.send(Err(end)).await;
                return;
            }
        });
        Ok(receiver)
    }

    async fn put_expiring(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
        only_if: Option<Compare>,
    ) -> Result<bool> {
        let compares: Vec<Compare> = only_if.into_iter().collect();
        let put = Op::Put {
            key: key.to_owned(),
            value,
        };
        check_txn_limits(&compares, std::slice::from_ref(&put))?;
        let Op::Put { key, value } = put else {
            unreachable!("a put")
        };
        let compares: Vec<EtcdCompare> = compares
            .into_iter()
            .map(|Compare::ModRevision { key, revision }| {
                EtcdCompare::mod_revision(key, CompareOp::Equal, revision)
            })
            .collect();
        // Whole seconds, rounded up: a record never disappears before its time (readers check
        // the time themselves, so one that outlives it by less than a second is harmless).
        let seconds = (ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)).max(1) as i64;
        // Sent once: if the answer is lost, the record may or may not be there, which is
        // harmless for records that are safe to write twice.
        let index = self.order()[0];
        let response = self
            .send(index, &|mut client: Client| {
                let (key, value, compares) = (key.clone(), value.clone(), compares.clone());
                async move {
                    let lease = client.lease_grant(seconds, None).await?;
                    let put = TxnOp::put(
                        key,
                        value,
                        Some(etcd_client::PutOptions::new().with_lease(lease.id())),
                    );
                    let response = client
                        .txn(Txn::new().when(compares).and_then(vec![put]))
                        .await;
                    if !matches!(&response, Ok(r) if r.succeeded()) {
                        // Nothing is attached to the lease: let it go now rather than at expiry.
                        let _ = client.lease_revoke(lease.id()).await;
                    }
                    response
                }
            })
            .await?;
        Ok(response.succeeded())
    }

    async fn put_leased(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<i64> {
        check_txn_limits(
            &[],
            &[Op::Put {
                key: key.to_owned(),
                value: value.clone(),
            }],
        )?;
        let seconds = (ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)).max(1) as i64;
        // Sent once, to one member: a lost answer leaves at most a key that ends with its lease.
        let index = self.order()[0];
        self.send(index, &|mut client: Client| {
            let (key, value) = (key.to_owned(), value.clone());
            async move {
                let lease = client.lease_grant(seconds, None).await?;
                let options = etcd_client::PutOptions::new().with_lease(lease.id());
                if let Err(e) = client.put(key, value, Some(options)).await {
                    let _ = client.lease_revoke(lease.id()).await;
                    return Err(e);
                }
                Ok(lease.id())
            }
        })
        .await
    }

    async fn keep_alive(&self, lease: i64) -> Result<bool> {
        let renewed = self
            .read(|mut client| async move {
                let (mut keeper, mut answers) = client.lease_keep_alive(lease).await?;
                keeper.keep_alive().await?;
                Ok(answers.message().await?.is_some_and(|a| a.ttl() > 0))
            })
            .await;
        match renewed {
            // Ended already: etcd answers either way.
            Err(Error::Backend(message)) if message.contains("lease not found") => Ok(false),
            other => other,
        }
    }

    async fn release(&self, lease: i64, _key: &str) -> Result<()> {
        match self
            .read(|mut client| async move { client.lease_revoke(lease).await })
            .await
        {
            Ok(_) => Ok(()),
            // Already ended: what it held is gone, as asked.
            Err(Error::Backend(message)) if message.contains("lease not found") => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.read(|mut client| async move { client.compact(revision, None).await })
            .await
            .map(|_| ())
    }

    async fn ping(&self) -> Result<()> {
        self.read(|mut client| async move { client.status().await })
            .await
            .map(|_| ())
    }
}
