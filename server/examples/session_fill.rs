//! Fills a store with signed-in dashboard sessions for one user, the way sign-in stores them, and
//! prints one `Cookie` header value per line. Used by `scripts/bench.sh` to measure the server
//! with many live sessions.
//!
//! `session_fill ETCD_ENDPOINTS KEY_PREFIX USER COUNT`

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use app::sessions::{StoreSessions, data};
use confo::kv::etcd::{EtcdConfig, EtcdKv};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::SessionStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoints, prefix, user, count] = &args[..] else {
        anyhow::bail!("usage: session_fill ETCD_ENDPOINTS KEY_PREFIX USER COUNT");
    };
    let kv = EtcdKv::connect(&EtcdConfig {
        endpoints: endpoints.split(',').map(str::to_owned).collect(),
        timeout: Duration::from_secs(5),
        credentials: None,
    })
    .await?;
    let store = confo::Store::new(Arc::new(kv), confo::KeyLayout::with_prefix(prefix.clone()));
    let sessions = StoreSessions::new(store);
    let now = chrono::Utc::now().timestamp();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for _ in 0..count.parse::<usize>()? {
        let mut data = HashMap::new();
        data.insert(data::USER.to_owned(), serde_json::json!(user));
        data.insert(data::SIGNED_IN_AT.to_owned(), serde_json::json!(now));
        data.insert(data::REFRESHED_AT.to_owned(), serde_json::json!(now));
        let mut record = Record {
            id: Id::default(),
            data,
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(30),
        };
        sessions.create(&mut record).await?;
        writeln!(out, "confo_session={}", record.id)?;
    }
    Ok(())
}
