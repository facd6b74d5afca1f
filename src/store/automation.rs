//! Automation rows: a company's hours, messages and default chatbot; and each ticket's place in
//! its flow. The chatbots and their versioned flows are in [`super::chatbots`].

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// A company's automation settings; a company without a row has automation off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Automation {
    pub enabled: bool,
    /// IANA name, e.g. `America/Sao_Paulo`.
    pub time_zone: String,
    /// `domain::hours::WeekSchedule` as JSON; empty = no hours (always open).
    pub hours: String,
    /// `domain::hours::Calendar` as JSON; empty = national holidays only.
    pub calendar: String,
    /// Sent on a new ticket's first message (empty: none).
    pub greeting: String,
    /// Sent instead, outside business hours (empty: none).
    pub away_message: String,
    /// The chatbot new tickets start in (where their connection names none); `None`: none.
    pub chatbot_id: Option<i64>,
    /// Words (comma-separated) that hand a ticket to people at once with high priority.
    pub urgent_words: String,
    /// Customer messages in the chatbot after which people take over; 0: never.
    pub handoff_after: i64,
}

impl Default for Automation {
    fn default() -> Self {
        Automation {
            enabled: false,
            time_zone: "America/Sao_Paulo".into(),
            hours: String::new(),
            calendar: String::new(),
            greeting: String::new(),
            away_message: String::new(),
            chatbot_id: None,
            urgent_words: String::new(),
            handoff_after: 0,
        }
    }
}

pub async fn get<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Automation, sqlx::Error> {
    let row = sqlx::query(
        "SELECT enabled, time_zone, hours, calendar, greeting, away_message, chatbot_id, urgent_words, handoff_after
         FROM automation WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(Automation::default()) };
    Ok(Automation {
        enabled: super::flag(r.try_get(0)?),
        time_zone: r.try_get(1)?,
        hours: r.try_get(2)?,
        calendar: r.try_get(3)?,
        greeting: r.try_get(4)?,
        away_message: r.try_get(5)?,
        chatbot_id: r.try_get(6)?,
        urgent_words: r.try_get(7)?,
        handoff_after: r.try_get(8)?,
    })
}

pub async fn put<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    a: &Automation,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO automation (tenant_id, enabled, time_zone, hours, calendar, greeting, away_message, chatbot_id,
             urgent_words, handoff_after, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (tenant_id) DO UPDATE SET enabled = excluded.enabled, time_zone = excluded.time_zone,
             hours = excluded.hours, calendar = excluded.calendar, greeting = excluded.greeting,
             away_message = excluded.away_message, chatbot_id = excluded.chatbot_id, urgent_words = excluded.urgent_words,
             handoff_after = excluded.handoff_after, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(i64::from(a.enabled))
    .bind(&a.time_zone)
    .bind(&a.hours)
    .bind(&a.calendar)
    .bind(&a.greeting)
    .bind(&a.away_message)
    .bind(a.chatbot_id)
    .bind(&a.urgent_words)
    .bind(a.handoff_after)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Sets only the company's time zone (the company settings form), creating its automation row
/// with the defaults when it has none yet.
pub async fn set_time_zone<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    time_zone: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO automation (tenant_id, time_zone, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET time_zone = excluded.time_zone, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(time_zone)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// The company's time zone (IANA name), Brasília when it never chose one.
pub async fn time_zone<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<String, sqlx::Error> {
    let row =
        sqlx::query("SELECT time_zone FROM automation WHERE tenant_id = $1").bind(tenant.0).fetch_optional(ex).await?;
    match row {
        Some(r) => r.try_get(0),
        None => Ok(super::tenants::DEFAULT_TIME_ZONE.to_string()),
    }
}

/// Whether a company's customers' messages go to the automation job at all, and which new
/// tickets start in a chatbot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Switches {
    pub enabled: bool,
    /// The company has a default chatbot.
    pub default_bot: bool,
    /// Connections that name their own chatbot (`true`) or none (`false`, chatbot id 0).
    pub connections: Vec<(i64, bool)>,
}

impl Switches {
    /// Whether a new ticket of this connection starts in a chatbot.
    pub fn bot_on(&self, connection: i64) -> bool {
        self.enabled
            && self.connections.iter().find(|(c, _)| *c == connection).map(|(_, on)| *on).unwrap_or(self.default_bot)
    }
}

pub async fn switches<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Switches, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT 0, enabled, chatbot_id FROM automation WHERE tenant_id = $1
         UNION ALL SELECT id, 0, chatbot_id FROM connections WHERE tenant_id = $1 AND chatbot_id IS NOT NULL",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    let mut s = Switches::default();
    for r in rows {
        let connection: i64 = r.try_get(0)?;
        let chatbot: Option<i64> = r.try_get(2)?;
        if connection == 0 {
            s.enabled = super::flag(r.try_get(1)?);
            s.default_bot = chatbot.is_some();
        } else {
            s.connections.push((connection, chatbot.is_some_and(|c| c > 0)));
        }
    }
    Ok(s)
}

/// A ticket's place in its flow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TicketBot {
    pub state: Option<String>,
    pub flow_id: Option<i64>,
    pub greeted: bool,
}

pub async fn ticket_bot<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket: i64,
) -> Result<Option<TicketBot>, sqlx::Error> {
    let row = sqlx::query("SELECT bot_state, bot_flow_id, greeted FROM tickets WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(ticket)
        .fetch_optional(ex)
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(TicketBot { state: r.try_get(0)?, flow_id: r.try_get(1)?, greeted: super::flag(r.try_get(2)?) }))
}

/// Moves a ticket in its flow, only if it still stands where `expected` says (two messages
/// handled at once must not both move it); returns whether it moved.
pub async fn set_ticket_bot<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket: i64,
    expected: &TicketBot,
    new: &TicketBot,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET bot_state = $1, bot_flow_id = $2, greeted = $3
         WHERE tenant_id = $4 AND id = $5 AND greeted = $6
             AND COALESCE(bot_state, '') = $7 AND COALESCE(bot_flow_id, 0) = $8",
    )
    .bind(new.state.as_deref())
    .bind(new.flow_id)
    .bind(i64::from(new.greeted))
    .bind(tenant.0)
    .bind(ticket)
    .bind(i64::from(expected.greeted))
    .bind(expected.state.as_deref().unwrap_or(""))
    .bind(expected.flow_id.unwrap_or(0))
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// New tickets that start in the chatbot: `bot`, not queued for people yet.
pub async fn enter_bot<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tickets SET status = 'bot', queued_at = NULL WHERE tenant_id = $1 AND id = $2 AND status = 'waiting'",
    )
    .bind(tenant.0)
    .bind(ticket)
    .execute(ex)
    .await?;
    Ok(())
}

/// How many automatic messages the ticket got since `since` (the loop cap).
pub async fn automatic_since<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket: i64,
    since: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT COUNT(*) FROM messages WHERE tenant_id = $1 AND ticket_id = $2 AND origin = 'bot' AND created_at >= $3",
    )
    .bind(tenant.0)
    .bind(ticket)
    .bind(since)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// How many customer messages the ticket has (the hand-off after N).
pub async fn inbound_count<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM messages WHERE tenant_id = $1 AND ticket_id = $2 AND direction = 'in'")
        .bind(tenant.0)
        .bind(ticket)
        .fetch_one(ex)
        .await?
        .try_get(0)
}
