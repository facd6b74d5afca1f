//! Connections: one business number (later a mailbox or a widget) of a tenant. Secrets are
//! stored sealed with the master key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Backend, Db};
use crate::domain::connection::ConnectionState;
use crate::domain::TenantId;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Connection {
    pub id: i64,
    pub tenant_id: TenantId,
    pub kind: String,
    pub name: String,
    pub phone_number_id: String,
    pub waba_id: String,
    #[serde(skip)]
    pub access_token_sealed: String,
    #[serde(skip)]
    pub app_secret_sealed: String,
    pub verify_token: String,
    pub graph_url: String,
    /// Set by the operator (or Meta's own): calls skip the network guard.
    pub graph_url_trusted: bool,
    pub api_version: String,
    pub rate_per_sec: i64,
    pub active: bool,
    pub needs_reauth: bool,
    pub last_webhook_at: Option<i64>,
    pub last_send_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    pub created_at: i64,
    /// New tickets of this connection queue in this department.
    pub default_department_id: Option<i64>,
    #[serde(skip)]
    pub state: ConnectionState,
    /// When `state` last changed.
    pub state_changed_at: i64,
    /// Removed by an admin: hidden from lists, its history kept.
    pub removed_at: Option<i64>,
    /// WhatsApp by QR code: the QR the phone should scan now (while `state` is `qr`).
    pub qr_code: Option<String>,
    /// … or the code to type on the phone instead, when an admin asked for one.
    pub pairing_code: Option<String>,
    /// The number whose phone linked this session.
    pub linked_phone: Option<String>,
    /// Reconnection attempts in a row since the session dropped (0 while connected).
    pub reconnect_attempt: i64,
}

const COLUMNS: &str = "id, tenant_id, kind, name, phone_number_id, waba_id, access_token_sealed, app_secret_sealed, \
    verify_token, graph_url, graph_url_trusted, api_version, rate_per_sec, active, needs_reauth, last_webhook_at, last_send_at, \
    last_error, last_error_at, created_at, default_department_id, state, state_changed_at, removed_at, qr_code, \
    pairing_code, linked_phone, reconnect_attempt";

fn from_row(r: &AnyRow) -> Result<Connection, sqlx::Error> {
    Ok(Connection {
        id: r.try_get("id")?,
        tenant_id: TenantId(r.try_get("tenant_id")?),
        kind: r.try_get("kind")?,
        name: r.try_get("name")?,
        phone_number_id: r.try_get("phone_number_id")?,
        waba_id: r.try_get("waba_id")?,
        access_token_sealed: r.try_get("access_token_sealed")?,
        app_secret_sealed: r.try_get("app_secret_sealed")?,
        verify_token: r.try_get("verify_token")?,
        graph_url: r.try_get("graph_url")?,
        graph_url_trusted: super::flag(r.try_get("graph_url_trusted")?),
        api_version: r.try_get("api_version")?,
        rate_per_sec: r.try_get("rate_per_sec")?,
        active: super::flag(r.try_get("active")?),
        needs_reauth: super::flag(r.try_get("needs_reauth")?),
        last_webhook_at: r.try_get("last_webhook_at")?,
        last_send_at: r.try_get("last_send_at")?,
        last_error: r.try_get("last_error")?,
        last_error_at: r.try_get("last_error_at")?,
        created_at: r.try_get("created_at")?,
        default_department_id: r.try_get("default_department_id")?,
        // A state this version does not know (written by a newer one) reads as failed: it asks
        // for attention rather than pretending all is well.
        state: ConnectionState::parse(&r.try_get::<String, _>("state")?).unwrap_or(ConnectionState::Failed),
        state_changed_at: r.try_get("state_changed_at")?,
        removed_at: r.try_get("removed_at")?,
        qr_code: r.try_get("qr_code")?,
        pairing_code: r.try_get("pairing_code")?,
        linked_phone: r.try_get("linked_phone")?,
        reconnect_attempt: r.try_get("reconnect_attempt")?,
    })
}

#[derive(Clone, Copy)]
pub struct NewConnection<'a> {
    pub tenant_id: TenantId,
    pub kind: &'a str,
    pub name: &'a str,
    pub phone_number_id: &'a str,
    pub waba_id: &'a str,
    pub access_token_sealed: &'a str,
    pub app_secret_sealed: &'a str,
    pub verify_token: &'a str,
    pub graph_url: &'a str,
    pub graph_url_trusted: bool,
    pub api_version: &'a str,
    pub rate_per_sec: i64,
}

/// Binds a new connection's values as `$1`…`$13` (tenant, kind, name, phone number id, WABA id,
/// access token, app secret, verify token, Graph URL, trusted, API version, rate, now): insert and
/// revive name the same values by the same numbers.
fn bind_new<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    c: &NewConnection<'q>,
    now: i64,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    q.bind(c.tenant_id.0)
        .bind(c.kind)
        .bind(c.name)
        .bind(c.phone_number_id)
        .bind(c.waba_id)
        .bind(c.access_token_sealed)
        .bind(c.app_secret_sealed)
        .bind(c.verify_token)
        .bind(c.graph_url)
        .bind(i64::from(c.graph_url_trusted))
        .bind(c.api_version)
        .bind(c.rate_per_sec)
        .bind(now)
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    c: NewConnection<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO connections (tenant_id, kind, name, phone_number_id, waba_id, access_token_sealed, app_secret_sealed,
             verify_token, graph_url, graph_url_trusted, api_version, rate_per_sec, created_at, updated_at,
             state_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $13) RETURNING id";
    let row = bind_new(sqlx::query(sql), &c, now).fetch_one(ex).await?;
    row.try_get(0)
}

/// A connection by id alone: webhooks name the connection in their URL, and the row says
/// which tenant it belongs to.
pub async fn get_by_id<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<Connection>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM connections WHERE id = $1");
    sqlx::query(&sql).bind(id).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Connection>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 AND id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Vec<Connection>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 AND removed_at IS NULL ORDER BY id");
    sqlx::query(&sql).bind(tenant.0).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// A removed connection of the tenant with this phone number id is connected again (the same
/// row, so its history comes back with it); returns its id, `None` when there is none.
pub async fn revive<'e>(
    ex: impl Executor<'e, Database = Any>,
    c: NewConnection<'_>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let sql = "UPDATE connections SET name = $3, waba_id = $5, access_token_sealed = $6, app_secret_sealed = $7,
             verify_token = $8, graph_url = $9, graph_url_trusted = $10, api_version = $11, rate_per_sec = $12,
             active = 1, needs_reauth = 0, removed_at = NULL, state = 'connected', state_changed_at = $13,
             updated_at = $13
         WHERE tenant_id = $1 AND kind = $2 AND phone_number_id = $4 AND removed_at IS NOT NULL RETURNING id";
    let row = bind_new(sqlx::query(sql), &c, now).fetch_optional(ex).await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Switches a connection on or off (a removed one stays removed); returns whether it exists.
pub async fn set_active<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    active: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE connections SET active = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4 AND removed_at IS NULL",
    )
    .bind(i64::from(active))
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a connection: off and hidden from lists; its tickets and messages stay.
pub async fn remove<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE connections SET active = 0, removed_at = $1, updated_at = $1
         WHERE tenant_id = $2 AND id = $3 AND removed_at IS NULL",
    )
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Brings a Cloud API number's state in line with its flags (off → disconnected, token refused →
/// failed, else connected), stamping the time only when the state really changes. Other kinds
/// report their states themselves.
pub async fn sync_cloud_state<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    const STATE: &str =
        "CASE WHEN active = 0 THEN 'disconnected' WHEN needs_reauth = 1 THEN 'failed' ELSE 'connected' END";
    let sql = format!(
        "UPDATE connections SET state = {STATE}, state_changed_at = $1
         WHERE tenant_id = $2 AND id = $3 AND kind = 'whatsapp_cloud' AND state <> {STATE}"
    );
    sqlx::query(&sql).bind(now).bind(tenant.0).bind(id).execute(ex).await?;
    Ok(())
}

/// Records that a webhook arrived (health shown to admins).
pub async fn mark_webhook<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connections SET last_webhook_at = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Records a successful send (the last error stays, with its time, for people to see). The send
/// proves the token it used works: if that token is still the connection's, a re-authentication
/// flag is cleared (a flag raised after a newer token failed stays).
pub async fn mark_send<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    access_token_sealed: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connections SET last_send_at = $1,
             needs_reauth = CASE WHEN access_token_sealed = $2 THEN 0 ELSE needs_reauth END,
             state = CASE WHEN access_token_sealed = $2 AND state = 'failed' AND active = 1 THEN 'connected' ELSE state END,
             state_changed_at = CASE WHEN access_token_sealed = $2 AND state = 'failed' AND active = 1 THEN $1
                                     ELSE state_changed_at END
         WHERE tenant_id = $3 AND id = $4",
    )
    .bind(now)
    .bind(access_token_sealed)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Clears the re-authentication flag after a Graph call succeeded with `access_token_sealed`,
/// if that is still the connection's token. Returns whether the flag was cleared.
pub async fn clear_reauth<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    access_token_sealed: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE connections SET needs_reauth = 0,
             state = CASE WHEN active = 1 THEN 'connected' ELSE state END,
             state_changed_at = CASE WHEN active = 1 AND state <> 'connected' THEN $4 ELSE state_changed_at END
         WHERE tenant_id = $1 AND id = $2 AND needs_reauth = 1 AND access_token_sealed = $3",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(access_token_sealed)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a connection's access token (and, when given, its app secret) and clears the
/// re-authentication flag: an admin reconnected the number.
pub async fn set_secrets<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    access_token_sealed: &str,
    app_secret_sealed: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE connections SET access_token_sealed = $1, app_secret_sealed = COALESCE($2, app_secret_sealed),
             needs_reauth = 0, updated_at = $3,
             state = CASE WHEN active = 1 THEN 'connected' ELSE state END,
             state_changed_at = CASE WHEN active = 1 AND state <> 'connected' THEN $3 ELSE state_changed_at END
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(access_token_sealed)
    .bind(app_secret_sealed)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a provider error; `needs_reauth` flags an expired or revoked token.
pub async fn mark_error<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    error: &str,
    needs_reauth: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connections SET last_error = $1, last_error_at = $2,
             needs_reauth = CASE WHEN $3 = 1 THEN 1 ELSE needs_reauth END,
             state = CASE WHEN $3 = 1 AND active = 1 THEN 'failed' ELSE state END,
             state_changed_at = CASE WHEN $3 = 1 AND active = 1 AND state <> 'failed' THEN $2 ELSE state_changed_at END
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(error)
    .bind(now)
    .bind(needs_reauth as i64)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Reserves the next send slot of a connection that sends `rate_per_sec` messages a second, and
/// returns when that slot starts. Slots are handed out by the database, so several workers and
/// several instances together never exceed the rate.
pub async fn reserve_send_slot(db: &Db, tenant: TenantId, id: i64, now: i64) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(&send_slot_sql(db.backend)).bind(now).bind(tenant.0).bind(id).fetch_one(db.writer()).await?;
    row.try_get(0)
}

/// [`reserve_send_slot`] inside the caller's transaction (a campaign claims its recipient and
/// the slot in one commit).
pub async fn reserve_send_slot_in(
    tx: &mut super::Tx,
    backend: Backend,
    tenant: TenantId,
    id: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(&send_slot_sql(backend)).bind(now).bind(tenant.0).bind(id).fetch_one(&mut **tx).await?;
    row.try_get(0)
}

fn send_slot_sql(backend: Backend) -> String {
    let greatest = match backend {
        Backend::Sqlite => "max",
        Backend::Postgres => "GREATEST",
    };
    // Slots are 1.5 % longer than 1/rate (80/s → 12.69 ms): requests cross the network with a
    // few milliseconds of jitter, and Meta counts arrivals in a sliding second, so pacing at
    // exactly the rate would sometimes put rate + 1 sends in one second. next_send_at is in µs.
    format!(
        "UPDATE connections SET next_send_at = {greatest}(next_send_at, $1 * 1000) + 1015000 / rate_per_sec
         WHERE tenant_id = $2 AND id = $3
         RETURNING next_send_at - 1015000 / rate_per_sec"
    )
}

/// What a QR session reported, to record on its connection.
pub struct SessionChange<'a> {
    pub state: ConnectionState,
    /// The QR to show now; cleared (with the pairing code) unless the state is `qr`.
    pub qr_code: Option<&'a str>,
    pub pairing_code: Option<&'a str>,
    /// Kept when `None`.
    pub linked_phone: Option<&'a str>,
}

/// Records a session's state, stamping the time only when it really changes (a connection
/// switched off or removed stays as it is); returns whether it was recorded. Connected again
/// resets the reconnection count.
pub async fn set_session<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    change: &SessionChange<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let waiting = change.state == ConnectionState::Qr;
    let done = sqlx::query(
        "UPDATE connections SET state = $1,
             state_changed_at = CASE WHEN state = $1 THEN state_changed_at ELSE $2 END,
             qr_code = $3, pairing_code = $4, linked_phone = COALESCE($5, linked_phone),
             reconnect_attempt = CASE WHEN $1 = 'connected' THEN 0 ELSE reconnect_attempt END,
             updated_at = $2
         WHERE tenant_id = $6 AND id = $7 AND active = 1 AND removed_at IS NULL",
    )
    .bind(change.state.as_str())
    .bind(now)
    .bind(change.qr_code.filter(|_| waiting))
    .bind(change.pairing_code.filter(|_| waiting))
    .bind(change.linked_phone)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores the token a gateway gave a new instance (sealed), leaving its state alone.
pub async fn set_provider_token<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    token_sealed: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connections SET access_token_sealed = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(token_sealed)
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Counts one more reconnection attempt; answers the count before it.
pub async fn next_reconnect_attempt<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE connections SET reconnect_attempt = reconnect_attempt + 1 WHERE tenant_id = $1 AND id = $2
         RETURNING reconnect_attempt",
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?.map_or(0, |n| n - 1))
}

/// Points a connection at another Graph base URL the operator trusts (the demo's simulator gets a
/// port per run).
pub async fn set_graph_url<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    url: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connections SET graph_url = $1, graph_url_trusted = 1 WHERE tenant_id = $2 AND id = $3")
        .bind(url)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn set_default_department<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    department_id: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE connections SET default_department_id = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
    )
    .bind(department_id)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The default department of a connection (`None` when it has none or does not exist).
pub async fn default_department<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT default_department_id FROM connections WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|r| r.try_get::<Option<i64>, _>(0)).transpose()?.flatten())
}

/// How long a looked-up connection is reused: webhooks arrive in bursts, and a changed setting
/// takes effect within this time (at once where the action that changes it calls `forget`).
const CACHE_MS: i64 = 5_000;

/// Connections by id, briefly cached for inbound webhooks (rows only: secrets are opened per
/// request, which costs microseconds and keeps no opened secret in memory).
#[derive(Default)]
pub struct ConnectionCache {
    entries: Mutex<HashMap<i64, (Arc<Connection>, i64)>>,
}

impl ConnectionCache {
    /// The connection, from the cache when fetched less than [`CACHE_MS`] ago.
    pub async fn get_by_id(&self, db: &Db, id: i64, now: i64) -> Result<Option<Arc<Connection>>, sqlx::Error> {
        if let Some((c, at)) = self.entries.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            if now - at < CACHE_MS {
                return Ok(Some(c.clone()));
            }
        }
        let Some(c) = get_by_id(db.reader(), id).await? else { return Ok(None) };
        let c = Arc::new(c);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(id, (c.clone(), now));
        Ok(Some(c))
    }

    /// Drops a connection from the cache (it was changed).
    pub fn forget(&self, id: i64) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}
