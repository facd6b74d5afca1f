//! Inbound provider webhooks. Each checks the provider's signature, parses, and hands the
//! delivery to an action; the provider gets its 2xx only after the delivery is durable.

pub mod whatsapp;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::Secret;
use crate::store::connections::Connection;

/// How long a looked-up connection (and its opened secrets) is reused: webhooks arrive in
/// bursts, and a changed secret takes effect within this time.
const CACHE_MS: i64 = 5_000;

pub struct CachedConnection {
    pub connection: Connection,
    pub app_secret: Secret,
    fetched_at: i64,
}

#[derive(Default)]
pub struct ConnectionCache {
    entries: Mutex<HashMap<i64, Arc<CachedConnection>>>,
}

impl ConnectionCache {
    fn get(&self, id: i64, now: i64) -> Option<Arc<CachedConnection>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&id).filter(|c| now - c.fetched_at < CACHE_MS).cloned()
    }

    /// Drops a connection's cached secrets (they were changed).
    pub fn forget(&self, id: i64) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    fn put(&self, connection: Connection, app_secret: Secret, now: i64) -> Arc<CachedConnection> {
        let cached = Arc::new(CachedConnection { connection, app_secret, fetched_at: now });
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(cached.connection.id, cached.clone());
        cached
    }
}
