//! All database access: the connection pools, migrations, and one module per aggregate.
//!
//! One codebase serves SQLite and PostgreSQL through sqlx's `Any` driver. SQL is written once with
//! `$1` placeholders (both engines accept them); the few engine-specific statements branch on
//! [`Backend`]. On SQLite every write goes through one connection (the single writer) while reads
//! use a pool; on PostgreSQL both are the same pool.

pub mod account_links;
pub mod audit;
pub mod automation;
pub mod campaign_recipients;
pub mod campaigns;
pub mod chat;
pub mod chatbots;
pub mod connections;
pub mod consent;
pub mod contact_filters;
pub mod contacts;
pub mod departments;
pub mod events;
pub mod files;
pub mod home;
pub mod idempotency;
pub mod identities;
pub mod inbox;
pub mod inbox_extras;
pub mod jobs;
pub mod kanban;
pub mod keyword_rules;
pub mod lgpd;
pub mod messages;
pub mod migrate;
pub mod plans;
pub mod quick_replies;
pub mod reports;
pub mod schedules;
pub mod seed;
pub mod sessions;
pub mod settings;
pub mod sla;
pub mod stats;
pub mod status_page;
pub mod tags;
pub mod tasks;
pub mod templates;
pub mod tenants;
pub mod ticket_events;
pub mod tickets;
pub mod timed_rules;
pub mod tokens;
pub mod two_factor;
pub mod users;
pub mod vault;
pub mod viewers;
pub mod wallet;
pub mod webhooks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

pub type Tx = Transaction<'static, Any>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Db {
    pub backend: Backend,
    read: AnyPool,
    write: AnyPool,
}

impl Db {
    /// Opens the database named by `url`, creating a SQLite file (and its directory) if needed.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL scheme (expected sqlite: or postgres://)");
        };
        match backend {
            Backend::Sqlite => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                if let Some(dir) = Path::new(path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir)
                            .with_context(|| format!("creating database directory {}", dir.display()))?;
                    }
                }
                let url = if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
                let options = AnyConnectOptions::from_str(&url).context("parsing the SQLite URL")?;
                let write =
                    sqlite_pool(1, true).connect_with(options.clone()).await.context("opening the SQLite database")?;
                // Created private under the process umask; narrows a file an older version left 0644.
                let (wal, shm) = (format!("{path}-wal"), format!("{path}-shm"));
                crate::os::make_private(&[Path::new(path), Path::new(&wal), Path::new(&shm)]);
                let read = sqlite_pool(max_connections, false)
                    .connect_with(options)
                    .await
                    .context("opening the SQLite database")?;
                Ok(Db { backend, read, write })
            }
            Backend::Postgres => {
                let options = AnyConnectOptions::from_str(url).context("parsing the PostgreSQL URL")?;
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .context("connecting to PostgreSQL")?;
                Ok(Db { backend, read: pool.clone(), write: pool })
            }
        }
    }

    /// SQLite: copies the WAL back into the database from a reader connection every 200 ms
    /// (`PASSIVE`: never waits for, nor blocks, the writer), so the writer's commits are not
    /// stalled by checkpoints. If the WAL still grows past 64 MiB (readers holding old snapshots),
    /// a blocking checkpoint bounds it.
    pub fn spawn_checkpointer(&self) {
        if self.backend != Backend::Sqlite {
            return;
        }
        let pool = self.read.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tick.tick().await;
                if pool.is_closed() {
                    return;
                }
                // Returns (busy, WAL frames, frames checkpointed).
                let Ok(row) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await else { continue };
                let frames: i64 = sqlx::Row::try_get(&row, 1).unwrap_or(0);
                if frames > 16_384 {
                    // Under sustained writes the WAL never finishes a passive checkpoint between
                    // commits, so it never starts over by itself. A RESTART makes it, but blocks
                    // the writer while it copies what is left: copy the bulk first with another
                    // PASSIVE (blocking no one), so the RESTART only copies the few commits made
                    // meanwhile and the writer waits milliseconds rather than the whole backlog.
                    let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await;
                    let _ = sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(&pool).await;
                }
            }
        });
    }

    /// The pool for reads.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// The pool for writes outside a transaction (the single writer on SQLite).
    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads first cannot wait for another process's writer (an
    /// `atende admin` command beside the server) and fails with "database is locked".
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }

    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// The writer does not checkpoint: a checkpoint inside a commit stalls every waiting webhook.
/// [`Db::spawn_checkpointer`] does it beside the writer instead.
fn sqlite_pool(max: u32, writer: bool) -> AnyPoolOptions {
    AnyPoolOptions::new().max_connections(max).acquire_timeout(Duration::from_secs(30)).after_connect(
        move |conn, _meta| {
            Box::pin(async move {
                // WAL lets readers run beside the writer; FULL makes a commit durable before we
                // acknowledge it; the busy timeout covers a second process (e.g. `atende admin`).
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                // Statement journals (multi-row writes) and sorts stay in memory instead of
                // creating, writing and deleting a temporary file each time.
                conn.execute("PRAGMA temp_store = MEMORY").await?;
                if writer {
                    conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
                } else {
                    // Readers map the database instead of copying each page they touch into
                    // their own 2 MB cache with a `pread`: an inbox list touches ~150 pages
                    // spread over a large file, and each reader connection would otherwise keep
                    // re-reading them. Mapped pages are the kernel's page cache, shared by all.
                    conn.execute("PRAGMA mmap_size = 4294967296").await?;
                }
                Ok(())
            })
        },
    )
}

/// Reads a 0/1 integer column as a bool (booleans are stored as integers on both engines).
pub fn flag(v: i64) -> bool {
    v != 0
}

/// A consistent copy of a live SQLite database (`VACUUM INTO` reads one snapshot).
pub async fn backup_sqlite(db: &Db, path: &str) -> anyhow::Result<()> {
    anyhow::ensure!(db.backend == Backend::Sqlite, "online backup is for SQLite; use pg_dump for PostgreSQL");
    sqlx::query("VACUUM INTO $1").bind(path).execute(&db.read).await.context("backing up the database")?;
    Ok(())
}

/// PostgreSQL: a transaction-scoped lock so only one instance runs first-run set-up at a time.
/// SQLite needs none: its single writer already serialises the transaction.
pub async fn lock_for_bootstrap(tx: &mut Tx, backend: Backend) -> anyhow::Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7261747)").execute(&mut **tx).await?;
    }
    Ok(())
}

/// Whether this connection is SQLite's.
pub fn is_sqlite(conn: &sqlx::AnyConnection) -> bool {
    conn.backend_name() == <sqlx::Sqlite as sqlx::Database>::NAME
}

/// SQLite only, inside a write transaction (`BEGIN IMMEDIATE`: no other writer until it ends):
/// the first id the next rows of `table` may take. `AUTOINCREMENT` ids never repeat, even
/// after deletes, so this is past both the table's largest id and the largest ever drawn.
/// Writing ids chosen this way lets a multi-row insert skip `RETURNING`, whose rows each cross
/// from SQLite's worker thread one by one.
pub async fn sqlite_next_id(conn: &mut sqlx::AnyConnection, table: &'static str) -> Result<i64, sqlx::Error> {
    use sqlx::Row;
    let sql = format!(
        "SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0),
                    COALESCE((SELECT max(id) FROM {table}), 0)) + 1"
    );
    sqlx::query(&sql).fetch_one(&mut *conn).await?.try_get(0)
}

/// The most rows one multi-row statement carries. Keeps every statement well under SQLite's
/// 32,766 bound parameters (and PostgreSQL's 65,535) for the widest row we write (19 columns).
pub const MAX_ROWS_PER_STATEMENT: usize = 500;

/// Multi-row statements of up to this many rows are kept prepared (their few shapes recur);
/// larger ones are prepared per use, so a burst of odd batch sizes cannot fill the statement
/// cache with large, rarely reused programs.
const PERSISTENT_ROWS: usize = 8;

/// Whether a multi-row statement of `rows` rows should stay in the prepared-statement cache.
pub fn keep_prepared(rows: usize) -> bool {
    rows <= PERSISTENT_ROWS
}

/// Placeholders for generated multi-row statements, whose values are bound in the order their
/// placeholders appear. PostgreSQL gets `$1, $2, …`. SQLite gets anonymous `?`: it resolves a
/// named or numbered parameter (`$7`) by a linear search of the statement's parameter list, at
/// parse and again at bind, which costs O(n²) on a statement with thousands of parameters.
pub struct Placeholders {
    numbered: bool,
    next: usize,
}

impl Placeholders {
    pub fn for_connection(conn: &sqlx::AnyConnection) -> Placeholders {
        Placeholders { numbered: conn.backend_name() != <sqlx::Sqlite as sqlx::Database>::NAME, next: 1 }
    }

    /// Appends `count` placeholders separated by commas.
    pub fn push(&mut self, sql: &mut String, count: usize) {
        use std::fmt::Write;
        for i in 0..count {
            if i > 0 {
                sql.push_str(", ");
            }
            if self.numbered {
                let _ = write!(sql, "${}", self.next);
            } else {
                sql.push('?');
            }
            self.next += 1;
        }
    }

    /// `(…), (…), …`: `rows` tuples of `columns` placeholders.
    pub fn rows(&mut self, rows: usize, columns: usize) -> String {
        let mut sql = String::with_capacity(rows * columns * 5);
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            self.push(&mut sql, columns);
            sql.push(')');
        }
        sql
    }
}
