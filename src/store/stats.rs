//! Counts an operator checks (`atende admin stats`).

use std::collections::BTreeMap;

use sqlx::Row;

use super::Db;

#[derive(Debug, serde::Serialize)]
pub struct Stats {
    pub tenants: i64,
    pub users: i64,
    pub active_sessions: i64,
    pub api_tokens: i64,
    pub jobs: BTreeMap<String, i64>,
    pub contacts: i64,
    pub tickets: i64,
    /// Messages by direction (`in`, `out`) and status.
    pub messages: BTreeMap<String, BTreeMap<String, i64>>,
}

pub async fn collect(db: &Db, now: i64) -> Result<Stats, sqlx::Error> {
    let pool = db.reader();
    let count = |sql: &'static str| async move { sqlx::query(sql).fetch_one(pool).await?.try_get::<i64, _>(0) };
    let active_sessions: i64 = sqlx::query("SELECT COUNT(*) FROM sessions WHERE expires_at > $1")
        .bind(now)
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    let mut jobs: BTreeMap<String, i64> =
        ["queued", "running", "done", "dead"].iter().map(|s| (s.to_string(), 0)).collect();
    for (state, n) in super::jobs::counts_by_state(pool).await? {
        jobs.insert(state, n);
    }
    let mut messages: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (direction, status, n) in super::messages::counts(pool).await? {
        messages.entry(direction).or_default().insert(status, n);
    }
    Ok(Stats {
        contacts: super::contacts::count(pool).await?,
        tickets: super::tickets::count(pool).await?,
        messages,
        tenants: count("SELECT COUNT(*) FROM tenants WHERE is_platform = 0").await?,
        users: count("SELECT COUNT(*) FROM users").await?,
        active_sessions,
        api_tokens: count("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL").await?,
        jobs,
    })
}
