//! SQL of LGPD and retention: the schema read from the catalog (tables and their columns, for
//! exports that follow every table without a list to keep up to date), rows of a table as JSON
//! objects (secrets left out), and the media store's reference counts. The erasure's statements
//! are in [`erase`], the retention's in [`retention`].

pub mod erase;
pub mod retention;

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Backend, Db};
use crate::domain::TenantId;

/// How a column's values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Int,
    Real,
    Text,
    Blob,
    /// Anything else: read as text (`CAST … AS TEXT`).
    Other,
}

#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

fn kind_of(declared: &str) -> ColumnKind {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        ColumnKind::Int
    } else if t.contains("CHAR") || t.contains("TEXT") || t.contains("CLOB") {
        ColumnKind::Text
    } else if t.contains("BLOB") || t.contains("BYTEA") {
        ColumnKind::Blob
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        ColumnKind::Real
    } else {
        ColumnKind::Other
    }
}

/// Names the catalog gives us are still checked before they go into SQL.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Every table of Atende's schema, by name.
pub async fn tables(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    let sql = match db.backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
    };
    let names: Vec<String> = sqlx::query_scalar(sql).fetch_all(db.reader()).await?;
    Ok(names.into_iter().filter(|n| plain_name(n)).collect())
}

/// A table's columns, in order.
pub async fn columns(db: &Db, table: &str) -> Result<Vec<Column>, sqlx::Error> {
    let sql = match db.backend {
        Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let rows: Vec<(String, String)> = sqlx::query_as(sql).bind(table).fetch_all(db.reader()).await?;
    Ok(rows
        .into_iter()
        .filter(|(n, _)| plain_name(n))
        .map(|(name, declared)| Column { kind: kind_of(&declared), name })
        .collect())
}

/// Tables never exported: credentials, one-time links, the job queue and the live-event log
/// (transient, and internal), idempotency replays, the schema's own bookkeeping.
pub const SKIPPED_TABLES: &[&str] = &[
    "sessions",
    "login_challenges",
    "recovery_codes",
    "account_links",
    "credential_links",
    "api_idempotency",
    "jobs",
    "events",
    "schema_migrations",
    "webhook_dispatch",
];

/// Columns never exported: sealed secrets, hashes of passwords, tokens and codes, key material,
/// pending QR or pairing codes.
pub fn is_secret_column(name: &str) -> bool {
    name.ends_with("_sealed")
        || name.ends_with("_hash")
        || name.contains("secret")
        || name.contains("token")
        || name.contains("password")
        || matches!(name, "wrapped_key" | "totp_pending" | "qr_code" | "pairing_code")
}

fn select_list(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| match c.kind {
            ColumnKind::Other => format!("CAST({0} AS TEXT) AS {0}", c.name),
            _ => c.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn row_json(r: &AnyRow, columns: &[Column]) -> serde_json::Value {
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    for (i, c) in columns.iter().enumerate() {
        let v = match c.kind {
            ColumnKind::Int => r.try_get::<Option<i64>, _>(i).ok().flatten().map(Value::from),
            ColumnKind::Real => r.try_get::<Option<f64>, _>(i).ok().flatten().map(Value::from),
            ColumnKind::Blob => r.try_get::<Option<Vec<u8>>, _>(i).ok().flatten().map(|b| Value::from(hex(&b))),
            ColumnKind::Text | ColumnKind::Other => r.try_get::<Option<String>, _>(i).ok().flatten().map(Value::from),
        };
        out.insert(c.name.clone(), v.unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// A query of rows as JSON: `table`, its exportable `columns`, and a condition on `$1` (the
/// tenant) and `$2` (an id of ours) written by this crate's code, never by people.
pub struct RowQuery<'a> {
    pub table: &'a str,
    pub columns: &'a [Column],
    pub condition: &'a str,
}

/// One page of rows: keyset on `id` when the table has one (`after`), else by offset.
pub async fn rows_page<'e>(
    ex: impl Executor<'e, Database = Any>,
    q: &RowQuery<'_>,
    tenant: TenantId,
    subject: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, serde_json::Value)>, sqlx::Error> {
    if !plain_name(q.table) || q.columns.is_empty() {
        return Ok(Vec::new());
    }
    let has_id = q.columns.iter().any(|c| c.name == "id" && c.kind == ColumnKind::Int);
    let sql = if has_id {
        format!(
            "SELECT {} FROM {} WHERE ({}) AND id > $3 ORDER BY id LIMIT $4",
            select_list(q.columns),
            q.table,
            q.condition
        )
    } else {
        let order: Vec<String> = (1..=q.columns.len().min(4)).map(|i| i.to_string()).collect();
        format!(
            "SELECT {} FROM {} WHERE ({}) AND $3 >= 0 ORDER BY {} LIMIT $4 OFFSET {}",
            select_list(q.columns),
            q.table,
            q.condition,
            order.join(", "),
            after.max(0)
        )
    };
    let rows = sqlx::query(&sql).bind(tenant.0).bind(subject).bind(after).bind(limit).fetch_all(ex).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let json = row_json(r, q.columns);
        let next = if has_id { json.get("id").and_then(|v| v.as_i64()).unwrap_or(after) } else { after + i as i64 + 1 };
        out.push((next, json));
    }
    Ok(out)
}

/// Whether any row of any company still names this media file (the store is shared, so this is
/// the one question asked across companies; it returns a yes or no, never a row).
pub async fn media_referenced<'e, E>(ex: E, name: &str) -> Result<bool, sqlx::Error>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let direct: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE media_path = $1").bind(name).fetch_one(ex).await?;
    if direct > 0 {
        return Ok(true);
    }
    let like = format!("%{name}%");
    let older: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM messages WHERE media_path LIKE '%/%' AND media_path LIKE $1)
              + (SELECT COUNT(*) FROM chat_messages WHERE file_sha256 = $2)
              + (SELECT COUNT(*) FROM schedules WHERE media LIKE $1)
              + (SELECT COUNT(*) FROM campaigns WHERE media LIKE $1)
              + (SELECT COUNT(*) FROM jobs WHERE state IN ('pending', 'running') AND payload LIKE $1)",
    )
    .bind(&like)
    .bind(name)
    .fetch_one(ex)
    .await?;
    Ok(older > 0)
}

/// Media files named by the company's messages (of one contact, or all), after message id
/// `after`: (message id, media name, type), in id order.
pub async fn media_of<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    contact: Option<i64>,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, String, Option<String>)>, sqlx::Error> {
    let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT id, media_path, media_mime FROM messages
         WHERE tenant_id = $1 AND media_path IS NOT NULL AND ($2 = 0 OR contact_id = $3) AND id > $4
         ORDER BY id LIMIT $5",
    )
    .bind(tenant.0)
    .bind(i64::from(contact.is_some()))
    .bind(contact.unwrap_or(0))
    .bind(after)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, path, mime)| crate::domain::media::name_of(&path).map(|n| (id, n.to_string(), mime)))
        .collect())
}

/// The files of the company's internal chat.
pub async fn chat_files<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<String>, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT file_sha256 FROM chat_messages WHERE tenant_id = $1 AND file_sha256 IS NOT NULL",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    Ok(names.into_iter().filter(|n| crate::domain::media::is_media_name(n)).collect())
}
