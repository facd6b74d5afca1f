//! Bulk seeding for `atende bench inbox`: a tenant with departments, agents, ~50,000 contacts,
//! N tickets and M messages, written with `INSERT … SELECT` over a generated integer sequence
//! (a recursive CTE on SQLite, `generate_series` on PostgreSQL) in large transactions. Never
//! used by the server itself.
//!
//! Invariants kept: ids of the tenant only, protocols unique per tenant (`B-<n>`), each ticket's
//! `last_message_at` / `last_inbound_at` / preview equal to its newest (inbound) message, message
//! ids increasing with time inside a ticket.

use std::time::Instant;

use sqlx::Row;

use crate::domain::{Role, TenantId};
use crate::store::{Backend, Db};

/// Minutes between two messages of a ticket; seconds between two tickets' first messages.
const MESSAGE_GAP_MS: i64 = 60_000;
const TICKET_GAP_MS: i64 = 30_000;
/// Tickets per transaction.
const CHUNK: i64 = 100_000;

#[derive(Clone, Debug)]
pub struct Plan {
    pub tickets: i64,
    pub messages: i64,
    pub contacts: i64,
    pub departments: i64,
    pub agents: i64,
    pub now: i64,
}

#[derive(Clone, Debug)]
pub struct Seeded {
    pub tenant: TenantId,
    pub connection_id: i64,
    pub departments: Vec<i64>,
    /// Agents; agent `a` is a member of departments `a % D` and `(a + 1) % D`.
    pub agents: Vec<i64>,
    pub supervisor: i64,
    pub contacts_seconds: f64,
    pub tickets_seconds: f64,
    pub messages_seconds: f64,
}

/// `seq(n)` from `$lo` to `$hi` inclusive, as a CTE (the statement binds `$1`, `$2`).
fn seq(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "WITH RECURSIVE seq(n) AS (SELECT $1 UNION ALL SELECT n + 1 FROM seq WHERE n < $2)",
        Backend::Postgres => "WITH seq(n) AS (SELECT generate_series(CAST($1 AS BIGINT), CAST($2 AS BIGINT)))",
    }
}

async fn next_id(db: &Db, table: &str) -> anyhow::Result<i64> {
    let row = sqlx::query(&format!("SELECT CAST(COALESCE(MAX(id), 0) + 1 AS BIGINT) FROM {table}"))
        .fetch_one(db.writer())
        .await?;
    Ok(row.try_get(0)?)
}

/// Seeds an empty-ish database (any existing rows are left alone; the bench tenant is new).
pub async fn seed(db: &Db, plan: &Plan) -> anyhow::Result<Seeded> {
    anyhow::ensure!(plan.tickets >= 1 && plan.messages >= plan.tickets, "need 1 ≤ tickets ≤ messages");
    anyhow::ensure!(plan.departments >= 1 && plan.agents >= 1 && plan.contacts >= 1, "empty plan");
    let now = plan.now;
    let backend = db.backend;
    if backend == Backend::Sqlite {
        // Seeding only: the writer connection goes back to FULL and its usual cache at the end.
        sqlx::query("PRAGMA synchronous = OFF").execute(db.writer()).await?;
        sqlx::query("PRAGMA cache_size = -262144").execute(db.writer()).await?;
    }
    let mut tx = db.begin().await?;
    let tenant = crate::store::tenants::insert(&mut *tx, &format!("bench-{now}"), "Bench", false, now).await?;
    let connection_id: i64 = sqlx::query(
        "INSERT INTO connections (tenant_id, kind, name, phone_number_id, access_token_sealed, app_secret_sealed,
             verify_token, graph_url, graph_url_trusted, api_version, rate_per_sec, created_at, updated_at)
         VALUES ($1, 'whatsapp-cloud', 'Bench', '100000000000042', 'x', 'x', 'x', 'http://127.0.0.1:9', 1, 'v21.0', 80, $2, $2)
         RETURNING id",
    )
    .bind(tenant.0)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let mut departments = Vec::new();
    for d in 0..plan.departments {
        let id: i64 = sqlx::query(
            "INSERT INTO departments (tenant_id, name, colour, created_at, updated_at) VALUES ($1, $2, '#2563eb', $3, $3)
             RETURNING id",
        )
        .bind(tenant.0)
        .bind(format!("Setor {}", d + 1))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        departments.push(id);
    }
    let (email, name) = ("supervisor@bench.test", "Supervisora");
    let new =
        crate::store::users::NewUser { tenant_id: tenant, email, name, role: Role::Supervisor, password_hash: "!" };
    let supervisor = crate::store::users::insert(&mut *tx, new, now).await?.0;
    let mut agents = Vec::new();
    for a in 0..plan.agents {
        let (email, name) = (format!("agent{a}@bench.test"), format!("Agente {a}"));
        let new = crate::store::users::NewUser {
            tenant_id: tenant,
            email: &email,
            name: &name,
            role: Role::Agent,
            password_hash: "!",
        };
        let id = crate::store::users::insert(&mut *tx, new, now).await?.0;
        let d = plan.departments as usize;
        for dep in [a as usize % d, (a as usize + 1) % d] {
            sqlx::query(
                "INSERT INTO department_members (tenant_id, department_id, user_id, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .bind(tenant.0)
            .bind(departments[dep])
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        agents.push(id);
    }
    tx.commit().await?;
    // Agents and departments are contiguous (inserted in one transaction on a single writer).
    anyhow::ensure!(
        agents.windows(2).all(|w| w[1] == w[0] + 1) && departments.windows(2).all(|w| w[1] == w[0] + 1),
        "seeded agents/departments are not contiguous"
    );

    let started = Instant::now();
    let contact0 = next_id(db, "contacts").await?;
    let mut tx = db.begin().await?;
    let sql = format!(
        "INSERT INTO contacts (id, tenant_id, name, phone, phone_key, wa_id, created_at, updated_at)
         {} SELECT $3 + n, $4, 'Cliente ' || CAST(n AS TEXT), '+55119' || CAST(10000000 + n AS TEXT),
                   '55119' || CAST(10000000 + n AS TEXT), '55119' || CAST(10000000 + n AS TEXT), $5, $5 FROM seq",
        seq(backend)
    );
    sqlx::query(&sql)
        .bind(0i64)
        .bind(plan.contacts - 1)
        .bind(contact0)
        .bind(tenant.0)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let contacts_seconds = started.elapsed().as_secs_f64();

    // Ticket i (0-based): messages cnt = M / N (+1 for the first M % N tickets), the first at
    // start + i·30 s, one a minute, alternating in (even k) and out (odd k); status by a hash of i
    // (8 % waiting, 12 % open, 80 % closed), agent by i / 7 (none while waiting), department
    // i % D, contact i % C.
    let started = Instant::now();
    let ticket0 = next_id(db, "tickets").await?;
    let (per, extra) = (plan.messages / plan.tickets, plan.messages % plan.tickets);
    let start = now - plan.tickets * TICKET_GAP_MS - (per + 1) * MESSAGE_GAP_MS;
    let tickets_sql = format!(
        "INSERT INTO tickets (id, tenant_id, contact_id, connection_id, status, unread_count, last_message_at,
             last_inbound_at, created_at, closed_at, protocol, department_id, assignee_id, priority, last_message_preview,
             queued_at, first_agent_reply_at, reopened_count)
         {seq}
         SELECT $3 + i, $4, $5 + (i % $6), $7, st, CASE st WHEN 'waiting' THEN 1 + (i % 3) ELSE 0 END,
                c + (cnt - 1) * {MESSAGE_GAP_MS}, c + ((cnt - 1) - ((cnt - 1) % 2)) * {MESSAGE_GAP_MS}, c,
                CASE st WHEN 'closed' THEN c + (cnt - 1) * {MESSAGE_GAP_MS} + 1000 END,
                'B-' || CAST(i AS TEXT), $8 + (i % $9),
                CASE st WHEN 'waiting' THEN NULL ELSE $10 + ((i / 7) % $11) END,
                CASE WHEN i % 50 = 0 THEN 'high' ELSE 'normal' END,
                'Mensagem ' || CAST(cnt - 1 AS TEXT) || ' do atendimento B-' || CAST(i AS TEXT),
                c, CASE WHEN st <> 'waiting' AND cnt > 1 THEN c + {MESSAGE_GAP_MS} END, 0
         FROM (SELECT n AS i, $12 + n * {TICKET_GAP_MS} AS c,
                      $13 + CASE WHEN n < $14 THEN 1 ELSE 0 END AS cnt,
                      CASE WHEN (n * 7919) % 100 < 8 THEN 'waiting' WHEN (n * 7919) % 100 < 20 THEN 'open' ELSE 'closed' END AS st
               FROM seq) s",
        seq = seq(backend)
    );
    let mut lo = 0;
    while lo < plan.tickets {
        let hi = (lo + CHUNK).min(plan.tickets);
        let mut tx = db.begin().await?;
        sqlx::query(&tickets_sql)
            .bind(lo)
            .bind(hi - 1)
            .bind(ticket0)
            .bind(tenant.0)
            .bind(contact0)
            .bind(plan.contacts)
            .bind(connection_id)
            .bind(departments[0])
            .bind(plan.departments)
            .bind(agents[0])
            .bind(plan.agents)
            .bind(start)
            .bind(per)
            .bind(extra)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        lo = hi;
    }
    let tickets_seconds = started.elapsed().as_secs_f64();

    // Messages are derived from the tickets (same contact, connection, times), ticket by ticket.
    let started = Instant::now();
    let messages_sql = format!(
        "INSERT INTO messages (tenant_id, connection_id, ticket_id, contact_id, direction, kind, body, payload,
             status, status_rank, sender_user_id, sent_at, created_at, updated_at)
         {seq}
         SELECT t.tenant_id, t.connection_id, t.id, t.contact_id, CASE WHEN k.n % 2 = 0 THEN 'in' ELSE 'out' END, 'text',
                'Mensagem ' || CAST(k.n AS TEXT) || ' do atendimento ' || t.protocol, '{{}}',
                CASE WHEN k.n % 2 = 0 THEN 'received' ELSE 'read' END, CASE WHEN k.n % 2 = 0 THEN 0 ELSE 3 END,
                CASE WHEN k.n % 2 = 1 THEN t.assignee_id END,
                t.created_at + k.n * {MESSAGE_GAP_MS}, t.created_at + k.n * {MESSAGE_GAP_MS}, t.created_at + k.n * {MESSAGE_GAP_MS}
         FROM tickets t JOIN seq k ON t.created_at + k.n * {MESSAGE_GAP_MS} <= t.last_message_at
         WHERE t.tenant_id = $3 AND t.id >= $4 AND t.id < $5
         ORDER BY t.id, k.n",
        seq = seq(backend)
    );
    let mut lo = 0;
    while lo < plan.tickets {
        let hi = (lo + CHUNK).min(plan.tickets);
        let mut tx = db.begin().await?;
        sqlx::query(&messages_sql)
            .bind(0i64)
            .bind(per)
            .bind(tenant.0)
            .bind(ticket0 + lo)
            .bind(ticket0 + hi)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        lo = hi;
    }
    let messages_seconds = started.elapsed().as_secs_f64();

    match backend {
        Backend::Sqlite => {
            sqlx::query("PRAGMA synchronous = FULL").execute(db.writer()).await?;
            sqlx::query("PRAGMA cache_size = -2000").execute(db.writer()).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(db.writer()).await?;
        }
        Backend::Postgres => {
            for table in ["contacts", "tickets"] {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                ))
                .execute(db.writer())
                .await?;
            }
            sqlx::query("ANALYZE").execute(db.writer()).await?;
        }
    }
    Ok(Seeded {
        tenant,
        connection_id,
        departments,
        agents,
        supervisor,
        contacts_seconds,
        tickets_seconds,
        messages_seconds,
    })
}

/// Checks what the list relies on: the seeded message count, and every ticket's
/// `last_message_at` equal to the time of its newest message. Returns the tickets that differ.
pub async fn verify(db: &Db, tenant: TenantId, messages: i64) -> anyhow::Result<i64> {
    let stored: i64 = sqlx::query("SELECT COUNT(*) FROM messages WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(db.reader())
        .await?
        .try_get(0)?;
    anyhow::ensure!(stored == messages, "seeded {stored} messages, expected {messages}");
    let differ: i64 = sqlx::query(
        "SELECT COUNT(*) FROM tickets t WHERE t.tenant_id = $1 AND t.last_message_at <>
             (SELECT m.sent_at FROM messages m WHERE m.tenant_id = t.tenant_id AND m.ticket_id = t.id ORDER BY m.id DESC LIMIT 1)",
    )
    .bind(tenant.0)
    .fetch_one(db.reader())
    .await?
    .try_get(0)?;
    Ok(differ)
}

/// Benchmarks: every contact of the company gets marketing consent (a campaign's audience).
pub async fn marketing_consent_all(db: &Db, tenant: TenantId) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE contacts SET consent = 'marketing_opt_in' WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(db.writer())
        .await?;
    Ok(done.rows_affected())
}
