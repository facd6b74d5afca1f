//! The inbox's reads, scoped by who looks: the ticket list (tabs, filters, search, keyset
//! pagination in last-activity order) and one ticket, both under the visibility rule of
//! `domain::inbox::can_see`, written here as SQL so a ticket one may not see never leaves the
//! database.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::inbox::Viewer;
use crate::domain::TenantId;

/// The list's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tab {
    /// Open tickets assigned to the viewer ("Meus").
    Mine,
    /// Waiting tickets the viewer may see ("Em espera").
    Waiting,
    /// Every ticket not closed the viewer may see ("Todos"; the whole tenant for supervisors).
    All,
    /// Closed tickets the viewer may see ("Finalizados").
    Closed,
    /// Tickets still with the chatbot ("Chatbot"; supervisors and admins).
    Bot,
}

impl Tab {
    pub fn parse(s: &str) -> Option<Tab> {
        match s {
            "mine" => Some(Tab::Mine),
            "waiting" => Some(Tab::Waiting),
            "all" => Some(Tab::All),
            "closed" => Some(Tab::Closed),
            "bot" => Some(Tab::Bot),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub department_id: Option<i64>,
    pub tag_id: Option<i64>,
    pub connection_id: Option<i64>,
    /// Contact name, phone, protocol or message text (substring, case-insensitive for ASCII).
    pub search: Option<String>,
    /// Only tickets in this status (`bot`, `waiting`, `open`, `closed`).
    pub status: Option<crate::domain::inbox::TicketStatus>,
    pub assignee_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// Only tickets of contacts in this person's wallet ("Minha carteira").
    pub wallet_of: Option<i64>,
    /// Only tickets with activity at or after this instant (ms): a message, or a change in
    /// their history (assigned, transferred, closed…).
    pub updated_since: Option<i64>,
    /// Only tickets in no kanban lane (carrying no tag with a lane position).
    pub no_lane: bool,
}

/// Where the next page starts: the last row of this page in list order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    pub last_message_at: i64,
    pub id: i64,
}

impl Cursor {
    /// `1732340000000-42`, the form URLs carry.
    pub fn encode(&self) -> String {
        format!("{}-{}", self.last_message_at, self.id)
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (at, id) = s.rsplit_once('-')?;
        Some(Cursor { last_message_at: at.parse().ok()?, id: id.parse().ok()? })
    }
}

/// A ticket as the inbox shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TicketView {
    pub id: i64,
    pub tenant_id: TenantId,
    pub protocol: Option<String>,
    pub status: String,
    pub priority: String,
    pub contact_id: i64,
    pub contact_name: String,
    /// Empty for a customer known only by their WhatsApp user id.
    pub contact_phone: String,
    /// The customer's WhatsApp username, when they show one.
    pub contact_username: Option<String>,
    pub connection_id: i64,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub department_colour: Option<String>,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub unread_count: i64,
    pub last_message_preview: Option<String>,
    pub last_message_at: i64,
    pub last_inbound_at: Option<i64>,
    pub created_at: i64,
    pub queued_at: Option<i64>,
    pub first_agent_reply_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub csat_requested_at: Option<i64>,
    pub csat_rating: Option<i64>,
    pub reopened_count: i64,
    /// A timed rule reminded the assignee and the business has not answered since.
    pub reminder_pending: bool,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Page {
    pub tickets: Vec<TicketView>,
    /// `None` on the last page.
    pub next: Option<Cursor>,
}

macro_rules! columns {
    () => {
        "SELECT t.id, t.tenant_id, t.protocol, t.status, t.priority, t.contact_id, c.name AS contact_name,
        c.phone AS contact_phone, c.username AS contact_username, t.connection_id, t.department_id, d.name AS department_name,
        d.colour AS department_colour, t.assignee_id, u.name AS assignee_name, t.unread_count, t.last_message_preview,
        t.last_message_at, t.last_inbound_at, t.created_at, t.queued_at, t.first_agent_reply_at, t.closed_at,
        t.csat_requested_at, t.csat_rating, t.reopened_count,
        CAST(CASE WHEN t.reminded_message_id IS NULL OR t.status <> 'open' THEN 0
             WHEN EXISTS (SELECT 1 FROM messages o WHERE o.tenant_id = t.tenant_id AND o.ticket_id = t.id
                          AND o.direction = 'out' AND o.id > t.reminded_message_id) THEN 0
             ELSE 1 END AS BIGINT) AS reminder_pending"
    };
}
macro_rules! joins {
    () => {
        "JOIN contacts c ON c.tenant_id = t.tenant_id AND c.id = t.contact_id
    LEFT JOIN departments d ON d.tenant_id = t.tenant_id AND d.id = t.department_id
    LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.assignee_id"
    };
}
const SELECT: &str = concat!(columns!(), " FROM tickets t ", joins!());
/// The same columns and joins, for a page of keys chosen first.
const COLUMNS: &str = columns!();
const JOINS: &str = joins!();

fn from_row(r: &AnyRow) -> Result<TicketView, sqlx::Error> {
    Ok(TicketView {
        id: r.try_get("id")?,
        tenant_id: TenantId(r.try_get("tenant_id")?),
        protocol: r.try_get("protocol")?,
        status: r.try_get("status")?,
        priority: r.try_get("priority")?,
        contact_id: r.try_get("contact_id")?,
        contact_name: r.try_get("contact_name")?,
        contact_phone: r.try_get("contact_phone")?,
        contact_username: r.try_get("contact_username")?,
        connection_id: r.try_get("connection_id")?,
        department_id: r.try_get("department_id")?,
        department_name: r.try_get("department_name")?,
        department_colour: r.try_get("department_colour")?,
        assignee_id: r.try_get("assignee_id")?,
        assignee_name: r.try_get("assignee_name")?,
        unread_count: r.try_get("unread_count")?,
        last_message_preview: r.try_get("last_message_preview")?,
        last_message_at: r.try_get("last_message_at")?,
        last_inbound_at: r.try_get("last_inbound_at")?,
        created_at: r.try_get("created_at")?,
        queued_at: r.try_get("queued_at")?,
        first_agent_reply_at: r.try_get("first_agent_reply_at")?,
        closed_at: r.try_get("closed_at")?,
        csat_requested_at: r.try_get("csat_requested_at")?,
        csat_rating: r.try_get("csat_rating")?,
        reopened_count: r.try_get("reopened_count")?,
        reminder_pending: r.try_get::<i64, _>("reminder_pending")? == 1,
    })
}

enum Arg {
    Int(i64),
    Text(String),
}

/// A statement and its arguments, numbered as they are added.
struct Query {
    sql: String,
    args: Vec<Arg>,
}

impl Query {
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    fn and(&mut self, condition: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
    }

    /// `WHERE t.tenant_id = … AND <visibility>`.
    fn scoped(viewer: &Viewer) -> Query {
        let mut q = Query { sql: format!("{SELECT} WHERE t.tenant_id = "), args: Vec::new() };
        let tenant = q.arg(Arg::Int(viewer.tenant.0));
        q.sql.push_str(&tenant);
        if !viewer.sees_whole_tenant() {
            let user = q.arg(Arg::Int(viewer.user.map(|u| u.0).unwrap_or(0)));
            q.and(&format!(
                "(t.assignee_id = {user} OR (t.status = 'waiting' AND (t.department_id IS NULL OR t.department_id IN
                    (SELECT dm.department_id FROM department_members dm WHERE dm.tenant_id = {tenant} AND dm.user_id = {user}))))"
            ));
        }
        q
    }

    async fn fetch_all<'e>(self, ex: impl Executor<'e, Database = Any>) -> Result<Vec<TicketView>, sqlx::Error> {
        let mut query = sqlx::query(&self.sql);
        for a in &self.args {
            query = match a {
                Arg::Int(i) => query.bind(*i),
                Arg::Text(s) => query.bind(s.as_str()),
            };
        }
        query.fetch_all(ex).await?.iter().map(from_row).collect()
    }
}

/// `%text%` for LIKE, with `\`, `%` and `_` escaped (statements say `ESCAPE '\'`).
pub(super) fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The tab's tickets the viewer may see, as one or more conditions on `t` whose union is the
/// answer and each of which an index reads in list order; `None` when the tab needs the general
/// form (`Query::scoped` plus the tab's condition). Agents see their own tickets and the waiting
/// tickets of their departments (or of none): written as one `OR`, SQLite walks the tenant's
/// whole last-activity index and filters, so for agents each tab is split into ranges of
/// `tickets_inbox_assignee` (their own, by status) and `tickets_inbox` (waiting), merged in order.
fn arms(q: &mut Query, viewer: &Viewer, tab: Option<Tab>) -> Vec<String> {
    let tenant = q.arg(Arg::Int(viewer.tenant.0));
    let mut arms = Vec::new();
    if viewer.sees_whole_tenant() {
        arms.push(match tab {
            None => format!("t.tenant_id = {tenant}"),
            Some(Tab::Mine) => {
                let user = q.arg(Arg::Int(viewer.user.map(|u| u.0).unwrap_or(0)));
                format!("t.tenant_id = {tenant} AND t.status = 'open' AND t.assignee_id = {user}")
            }
            Some(Tab::Waiting) => format!("t.tenant_id = {tenant} AND t.status = 'waiting'"),
            Some(Tab::All) => format!("t.tenant_id = {tenant} AND t.status <> 'closed'"),
            Some(Tab::Closed) => format!("t.tenant_id = {tenant} AND t.status = 'closed'"),
            Some(Tab::Bot) => format!("t.tenant_id = {tenant} AND t.status = 'bot'"),
        });
        return arms;
    }
    let user = q.arg(Arg::Int(viewer.user.map(|u| u.0).unwrap_or(0)));
    let mine = |status: &str| format!("t.tenant_id = {tenant} AND t.assignee_id = {user} AND t.status = '{status}'");
    let waiting = format!(
        "t.tenant_id = {tenant} AND t.status = 'waiting' AND (t.assignee_id = {user} OR t.department_id IS NULL
             OR t.department_id IN (SELECT dm.department_id FROM department_members dm
                                    WHERE dm.tenant_id = {tenant} AND dm.user_id = {user}))"
    );
    match tab {
        // Every status (the REST API's list): all their own, and the waiting ones they may see.
        None => {
            arms.push(format!("t.tenant_id = {tenant} AND t.assignee_id = {user} AND t.status <> 'waiting'"));
            arms.push(waiting);
        }
        Some(Tab::Mine) => arms.push(mine("open")),
        // A closed ticket is visible to an agent only as their own.
        Some(Tab::Closed) => arms.push(mine("closed")),
        // Agents see bot tickets only once one is theirs.
        Some(Tab::Bot) => arms.push(mine("bot")),
        Some(Tab::Waiting) => arms.push(waiting),
        // Not closed: their own open (or with the bot) ones, and the waiting ones they may see.
        Some(Tab::All) => {
            arms.push(mine("open"));
            arms.push(mine("bot"));
            arms.push(waiting);
        }
    }
    arms
}

/// One page of the inbox, newest activity first. `limit` is clamped to 1–200.
pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    viewer: &Viewer,
    tab: Tab,
    filter: &Filter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Page, sqlx::Error> {
    list_in(ex, viewer, Some(tab), filter, after, limit).await
}

/// [`list`] across every status (closed tickets too), as the REST API lists tickets.
pub async fn list_all<'e>(
    ex: impl Executor<'e, Database = Any>,
    viewer: &Viewer,
    filter: &Filter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Page, sqlx::Error> {
    list_in(ex, viewer, None, filter, after, limit).await
}

async fn list_in<'e>(
    ex: impl Executor<'e, Database = Any>,
    viewer: &Viewer,
    tab: Option<Tab>,
    filter: &Filter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Page, sqlx::Error> {
    let limit = limit.clamp(1, 200);
    let search = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mut q = Query { sql: String::new(), args: Vec::new() };
    // Conditions on `t` alone that every arm shares: filters and the keyset cursor.
    let mut shared = String::new();
    let arms = arms(&mut q, viewer, tab);
    if let Some(status) = filter.status {
        let s = q.arg(Arg::Text(status.as_str().to_string()));
        shared.push_str(&format!(" AND t.status = {s}"));
    }
    if let Some(a) = filter.assignee_id {
        let a = q.arg(Arg::Int(a));
        shared.push_str(&format!(" AND t.assignee_id = {a}"));
    }
    if let Some(c) = filter.contact_id {
        let c = q.arg(Arg::Int(c));
        shared.push_str(&format!(" AND t.contact_id = {c}"));
    }
    if let Some(owner) = filter.wallet_of {
        let owner = q.arg(Arg::Int(owner));
        shared.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM contacts w WHERE w.tenant_id = t.tenant_id AND w.id = t.contact_id AND w.owner_id = {owner})"
        ));
    }
    if let Some(since) = filter.updated_since {
        let since = q.arg(Arg::Int(since));
        shared.push_str(&format!(
            " AND (t.last_message_at >= {since} OR t.closed_at >= {since} OR EXISTS (SELECT 1 FROM ticket_events e
                WHERE e.tenant_id = t.tenant_id AND e.ticket_id = t.id AND e.created_at >= {since}))"
        ));
    }
    if let Some(d) = filter.department_id {
        let d = q.arg(Arg::Int(d));
        shared.push_str(&format!(" AND t.department_id = {d}"));
    }
    if let Some(c) = filter.connection_id {
        let c = q.arg(Arg::Int(c));
        shared.push_str(&format!(" AND t.connection_id = {c}"));
    }
    if let Some(tag) = filter.tag_id {
        let tag = q.arg(Arg::Int(tag));
        shared.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM ticket_tags tt WHERE tt.tenant_id = t.tenant_id AND tt.ticket_id = t.id AND tt.tag_id = {tag})"
        ));
    }
    if filter.no_lane {
        shared.push_str(
            " AND NOT EXISTS (SELECT 1 FROM ticket_tags tt JOIN tags lg ON lg.tenant_id = tt.tenant_id AND lg.id = tt.tag_id
                WHERE tt.tenant_id = t.tenant_id AND tt.ticket_id = t.id AND lg.lane_position IS NOT NULL)",
        );
    }
    if let Some(c) = after {
        let at = q.arg(Arg::Int(c.last_message_at));
        let id = q.arg(Arg::Int(c.id));
        shared.push_str(&format!(" AND (t.last_message_at < {at} OR (t.last_message_at = {at} AND t.id < {id}))"));
    }
    let mut outer = String::new();
    if let Some(search) = search {
        let text = q.arg(Arg::Text(like_pattern(&search.to_lowercase())));
        let digits: String = search.chars().filter(char::is_ascii_digit).collect();
        let phone = if digits.len() >= 3 && digits.len() * 2 >= search.chars().filter(|c| !c.is_whitespace()).count() {
            let p = q.arg(Arg::Text(like_pattern(&digits)));
            format!(" OR c.phone LIKE {p} ESCAPE '\\'")
        } else {
            String::new()
        };
        outer = format!(
            " AND (LOWER(c.name) LIKE {text} ESCAPE '\\' OR LOWER(COALESCE(c.username, '')) LIKE {text} ESCAPE '\\'
              OR t.protocol LIKE {text} ESCAPE '\\'{phone}
              OR EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = t.tenant_id AND m.ticket_id = t.id
                         AND LOWER(m.body) LIKE {text} ESCAPE '\\'))"
        );
    }
    let n = q.arg(Arg::Int(limit + 1));
    // A contact's tickets are few: find them by contact and sort them. Ordering by the bare
    // column lets SQLite (no statistics) walk the tenant's whole last-activity index instead,
    // looking for that contact's tickets (33 ms at 100,000 tickets); the unary `+` keeps any
    // index from serving the order, on both engines.
    let order = if filter.contact_id.is_some() {
        "ORDER BY +t.last_message_at DESC, t.id DESC"
    } else {
        "ORDER BY t.last_message_at DESC, t.id DESC"
    };
    q.sql = if arms.len() == 1 || search.is_some() {
        // One range (or a search, which filters on the contact too): one statement.
        let visible = arms.iter().map(|a| format!("({a})")).collect::<Vec<_>>().join(" OR ");
        format!("{SELECT} WHERE ({visible}){shared}{outer} {order} LIMIT {n}")
    } else {
        // Each arm reads its index range in list order; the union keeps the first `n`, then the
        // page is joined.
        // Each arm takes its own first `n` in index order (PostgreSQL otherwise bitmap-scans
        // and sorts every waiting ticket of the agent's departments), then the union's first `n`.
        let keys = arms
            .iter()
            .enumerate()
            .map(|(i, a)| {
                format!(
                    "SELECT * FROM (SELECT t.id AS k_id, t.last_message_at AS k_at FROM tickets t WHERE {a}{shared}
                     {order} LIMIT {n}) a{i}"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        // `arms` bound the tenant first. `CROSS JOIN` keeps the page's keys the outer loop on
        // SQLite (its planner otherwise walks the whole last-activity index to produce the
        // outer order and probes the keys), and the outer order is the keys' own.
        let tenant = "$1";
        format!(
            "{COLUMNS} FROM ({keys} ORDER BY k_at DESC, k_id DESC LIMIT {n}) k
             CROSS JOIN tickets t {JOINS} WHERE t.tenant_id = {tenant} AND t.id = k.k_id ORDER BY k.k_at DESC, k.k_id DESC"
        )
    };
    let mut tickets = q.fetch_all(ex).await?;
    let next = if tickets.len() as i64 > limit {
        tickets.truncate(limit as usize);
        tickets.last().map(|t| Cursor { last_message_at: t.last_message_at, id: t.id })
    } else {
        None
    };
    Ok(Page { tickets, next })
}

/// One ticket, if the viewer may see it.
pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<TicketView>, sqlx::Error> {
    let mut q = Query::scoped(viewer);
    let id = q.arg(Arg::Int(id));
    q.and(&format!("t.id = {id}"));
    Ok(q.fetch_all(ex).await?.into_iter().next())
}

/// Unread tickets per tab for badges: (mine, waiting) as the viewer sees them.
pub async fn badge_counts<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    viewer: &Viewer,
) -> Result<(i64, i64), sqlx::Error> {
    let user = viewer.user.map(|u| u.0).unwrap_or(0);
    let mine: i64 = sqlx::query(
        "SELECT COUNT(*) FROM tickets WHERE tenant_id = $1 AND status = 'open' AND assignee_id = $2 AND unread_count > 0",
    )
    .bind(viewer.tenant.0)
    .bind(user)
    .fetch_one(ex)
    .await?
    .try_get(0)?;
    let waiting: i64 = if viewer.sees_whole_tenant() {
        sqlx::query("SELECT COUNT(*) FROM tickets WHERE tenant_id = $1 AND status = 'waiting'")
            .bind(viewer.tenant.0)
            .fetch_one(ex)
            .await?
            .try_get(0)?
    } else {
        sqlx::query(
            "SELECT COUNT(*) FROM tickets t WHERE t.tenant_id = $1 AND t.status = 'waiting' AND (t.department_id IS NULL
                 OR t.department_id IN (SELECT dm.department_id FROM department_members dm WHERE dm.tenant_id = $1 AND dm.user_id = $2))",
        )
        .bind(viewer.tenant.0)
        .bind(user)
        .fetch_one(ex)
        .await?
        .try_get(0)?
    };
    Ok((mine, waiting))
}
