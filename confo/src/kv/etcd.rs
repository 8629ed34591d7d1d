//! The etcd backend, through etcd-client.

use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Client, Compare as EtcdCompare, CompareOp, ConnectOptions, GetOptions, Txn, TxnOp,
};

use super::{Compare, KeyValue, Kv, Op, TxnOutcome, check_txn_limits};
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

/// A connection to an etcd cluster.
#[derive(Clone)]
pub struct EtcdKv {
    client: Client,
    timeout: Duration,
}

fn unavailable(e: etcd_client::Error) -> Error {
    Error::Unavailable(e.to_string())
}

impl EtcdKv {
    /// Connects and checks that the cluster answers within the configured time.
    pub async fn connect(config: &EtcdConfig) -> Result<Self> {
        let mut options = ConnectOptions::new()
            .with_connect_timeout(config.timeout)
            .with_timeout(config.timeout);
        if let Some((user, password)) = &config.credentials {
            options = options.with_user(user.clone(), password.clone());
        }
        let connect = Client::connect(config.endpoints.clone(), Some(options));
        let client = tokio::time::timeout(config.timeout, connect)
            .await
            .map_err(|_| {
                Error::Unavailable(format!(
                    "no answer from etcd at {} within {:?}",
                    config.endpoints.join(","),
                    config.timeout
                ))
            })?
            .map_err(unavailable)?;
        let kv = Self {
            client,
            timeout: config.timeout,
        };
        kv.ping().await?;
        Ok(kv)
    }

    async fn bounded<T>(
        &self,
        request: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.timeout, request).await {
            Ok(result) => result.map_err(unavailable),
            Err(_) => Err(Error::Unavailable(format!(
                "etcd did not answer within {:?}",
                self.timeout
            ))),
        }
    }
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
        let mut kv = self.client.kv_client();
        let response = self.bounded(kv.get(key, None)).await?;
        Ok(response.kvs().first().map(to_key_value))
    }

    async fn list_prefix(&self, prefix: &str) -> Result<Vec<KeyValue>> {
        let mut kv = self.client.kv_client();
        let options = GetOptions::new().with_prefix();
        let response = self.bounded(kv.get(prefix, Some(options))).await?;
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
        let mut kv = self.client.kv_client();
        let response = self.bounded(kv.txn(txn)).await?;
        if !response.succeeded() {
            return Ok(TxnOutcome::CompareFailed);
        }
        let revision = response.header().map_or(0, |h| h.revision());
        Ok(TxnOutcome::Committed { revision })
    }

    async fn ping(&self) -> Result<()> {
        let mut maintenance = self.client.maintenance_client();
        self.bounded(maintenance.status()).await.map(|_| ())
    }
}
