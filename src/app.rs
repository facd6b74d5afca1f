//! The application context: settings, the database, the bus, the clock, keys and limiters —
//! everything a request, a job or a command needs, built once. It names only lower layers
//! (store, realtime, channels, domain); serving it is `server`'s job.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::domain::ratelimit::{RateLimiter, TokenBuckets};
use crate::metrics::Metrics;
use crate::realtime::Bus;
use crate::store::{self, Backend, Db};

pub struct App {
    pub settings: Settings,
    pub db: Db,
    pub bus: Bus,
    pub clock: Clock,
    pub master_key: MasterKey,
    pub metrics: Metrics,
    /// Failed logins per client address (any account).
    pub login_ip_limiter: RateLimiter,
    /// Failed logins per account from one address: locks that address out of that account.
    pub login_account_limiter: RateLimiter,
    /// Failed logins per account from anywhere: only slows attempts down (see `actions::auth`),
    /// so a stranger cannot lock the owner out.
    pub login_account_failures: RateLimiter,
    /// Wrong second-step codes per person: past the limit, codes wait (see `actions::two_factor`).
    pub two_factor_failures: RateLimiter,
    /// API requests per token (by the hash of its secret), for the per-token rate limit.
    pub api_limiter: TokenBuckets,
    /// Wakes idle job workers when this process enqueues a job.
    pub jobs_wakeup: Arc<Notify>,
    /// Distinguishes this process's job leases from other instances'.
    pub instance_id: String,
    /// Connections looked up by inbound webhooks, briefly cached.
    pub connections: crate::store::connections::ConnectionCache,
    /// The Graph API client (one keep-alive pool for every WhatsApp Cloud API number).
    pub graph: crate::channels::whatsapp_cloud::graph::Graph,
    /// The WhatsApp Web gateway client (one pool for every QR-code connection).
    pub gateway: crate::channels::whatsapp_qr::client::Gateway,
}

pub type AppState = Arc<App>;

impl App {
    /// Connects to the database, applies migrations, loads the master key and starts the bus.
    pub async fn build(settings: Settings) -> anyhow::Result<Arc<App>> {
        // Before the first file (database, master key) is created.
        crate::os::private_umask();
        let url = settings.effective_database_url();
        let db = Db::connect(&url, settings.db_max_connections)
            .await
            .with_context(|| format!("database {} is unreachable", crate::config::redact_url(&url)))?;
        store::migrate::run(&db).await.context("applying migrations")?;
        db.spawn_checkpointer();
        let master_key = MasterKey::load_or_create(settings.master_key.as_ref(), &settings.data_dir)?;
        let bus = Bus::new(db.backend);
        let jobs_wakeup = Arc::new(Notify::new());
        if db.backend == Backend::Postgres {
            // Wait until this instance hears events, so none published right after start is missed.
            let listening = bus.spawn_pg_listener(url);
            if tokio::time::timeout(Duration::from_secs(10), listening).await.is_err() {
                tracing::warn!("the live-event listener is not connected yet; it keeps retrying");
            }
        }
        let clock = Clock::system();
        Ok(Arc::new(App {
            connections: Default::default(),
            graph: crate::channels::whatsapp_cloud::graph::Graph::new().context("building the Graph client")?,
            gateway: crate::channels::whatsapp_qr::client::Gateway::new().context("building the gateway client")?,
            db,
            bus,
            clock,
            master_key,
            metrics: Metrics::default(),
            login_ip_limiter: RateLimiter::new(30, 5 * 60_000),
            login_account_limiter: RateLimiter::new(5, 15 * 60_000),
            login_account_failures: RateLimiter::new(usize::MAX, 15 * 60_000),
            two_factor_failures: RateLimiter::new(10, 15 * 60_000),
            api_limiter: TokenBuckets::new(settings.api_rate_per_sec, settings.api_rate_burst),
            jobs_wakeup,
            instance_id: crate::crypto::random_token(9),
            settings,
        }))
    }
}
