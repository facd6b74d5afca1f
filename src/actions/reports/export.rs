//! The ticket report (filters, pages), its CSV export for Brazilian Excel (`;`, UTF-8 with BOM,
//! dd/mm/aaaa, formula cells neutralised by `domain::csv::write_record`), and a ticket's
//! transcript (protocol, participants, internal notes marked, media listed).

use chrono_tz::Tz;

use super::{time_zone, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::csv::write_record;
use crate::domain::reports::range::{date_br, datetime_br, Period};
use crate::domain::TenantId;
use crate::store;
use crate::store::reports::tickets::{Filter, Row_};

/// Rows per page of the CSV export (one query each).
pub const EXPORT_PAGE: i64 = 1000;

/// The report's filters as people and the API give them.
#[derive(Clone, Debug, Default)]
pub struct FilterInput {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub department: Option<i64>,
    pub agent: Option<i64>,
    pub connection: Option<i64>,
    pub tag: Option<i64>,
    pub status: Option<String>,
    /// "1"–"5", or "none" for tickets not rated.
    pub rating: Option<String>,
}

/// Checks the filters against the company's zone; bad values are 422s.
pub async fn filter(app: &App, actor: &Actor, tenant: TenantId, input: &FilterInput) -> ActionResult<(Filter, Tz)> {
    actor.require_supervisor_of(tenant)?;
    let tz = time_zone(app, tenant).await?;
    let period = Period::parse(input.period.as_deref().unwrap_or("30d"), input.from.as_deref(), input.to.as_deref())
        .map_err(|code| ActionError::invalid(code, "period: today, 7d, 30d or custom with from/to (aaaa-mm-dd)"))?;
    let (from, to) = period.bounds(tz, app.clock.now_ms());
    let status = match input.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s @ ("bot" | "waiting" | "open" | "closed")) => Some(s.to_string()),
        Some(_) => return Err(ActionError::invalid("invalid_status", "status: bot, waiting, open or closed")),
    };
    let rating = match input.rating.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("none") => Some(0),
        Some(r) => match r.parse::<i64>() {
            Ok(n @ 1..=5) => Some(n),
            _ => return Err(ActionError::invalid("invalid_rating", "rating: 1 to 5, or none")),
        },
    };
    let positive = |v: Option<i64>| v.filter(|x| *x > 0);
    Ok((
        Filter {
            from,
            to,
            department: positive(input.department),
            agent: positive(input.agent),
            connection: positive(input.connection),
            tag: positive(input.tag),
            status,
            rating,
        },
        tz,
    ))
}

/// One page of the report, newest first, after ticket id `before`.
pub async fn page(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    f: &Filter,
    before: Option<i64>,
    limit: i64,
) -> ActionResult<Vec<Row_>> {
    actor.require_supervisor_of(tenant)?;
    Ok(store::reports::tickets::page(app.db.reader(), tenant, f, before, limit).await?)
}

/// The CSV header after the BOM (column names in Portuguese, the file's audience).
pub fn csv_header() -> String {
    let mut out = String::from("\u{feff}");
    write_record(
        &mut out,
        &[
            "id",
            "protocolo",
            "status",
            "aberto_em",
            "data",
            "setor",
            "atendente",
            "conexao",
            "contato",
            "telefone",
            "etiquetas",
            "primeira_resposta_em",
            "finalizado_em",
            "reaberturas",
            "avaliacao",
        ],
        ';',
    );
    out
}

/// Rows as CSV lines.
pub fn csv_rows(rows: &[Row_], tz: Tz) -> String {
    let mut out = String::with_capacity(rows.len() * 160);
    let when = |at: Option<i64>| at.map(|a| datetime_br(tz, a)).unwrap_or_default();
    for r in rows {
        write_record(
            &mut out,
            &[
                r.id.to_string(),
                r.protocol.clone().unwrap_or_default(),
                r.status.clone(),
                datetime_br(tz, r.created_at),
                date_br(tz, r.created_at),
                r.department_name.clone().unwrap_or_default(),
                r.assignee_name.clone().unwrap_or_default(),
                r.connection_name.clone(),
                r.contact_name.clone(),
                r.contact_phone.clone(),
                r.tags.join(", "),
                when(r.first_agent_reply_at),
                when(r.closed_at),
                r.reopened_count.to_string(),
                r.csat_rating.map(|x| x.to_string()).unwrap_or_default(),
            ],
            ';',
        );
    }
    out
}

/// One export page: the CSV text and the id to continue before (None: done).
pub async fn export_page(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    f: &Filter,
    tz: Tz,
    before: Option<i64>,
) -> ActionResult<(String, Option<i64>)> {
    let rows = page(app, actor, tenant, f, before, EXPORT_PAGE).await?;
    let next = (rows.len() as i64 == EXPORT_PAGE).then(|| rows.last().map(|r| r.id)).flatten();
    Ok((csv_rows(&rows, tz), next))
}

/// One line of a transcript.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TranscriptLine {
    pub at: String,
    /// customer, agent, bot, note or event.
    pub who: &'static str,
    pub name: String,
    pub text: String,
    /// "image/jpeg, foto.jpg (120 KB)" when the message carried media.
    pub media: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Transcript {
    pub ticket_id: i64,
    pub protocol: String,
    pub status: String,
    pub contact: String,
    pub phone: String,
    pub connection: String,
    pub department: String,
    pub opened: String,
    pub closed: String,
    /// Everyone who wrote: the customer, then the people and "Chatbot".
    pub participants: Vec<String>,
    pub lines: Vec<TranscriptLine>,
}

/// The most messages a transcript holds (a longer conversation is cut, and says so).
pub const TRANSCRIPT_MAX: i64 = 20_000;

/// A ticket's conversation with its history, for printing or saving.
pub async fn transcript(app: &App, actor: &Actor, tenant: TenantId, ticket_id: i64) -> ActionResult<Transcript> {
    actor.require_supervisor_of(tenant)?;
    let db = app.db.reader();
    let tz = time_zone(app, tenant).await?;
    let t = store::tickets::get(db, tenant, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let contact = store::contacts::get(db, tenant, t.contact_id).await?;
    let names: std::collections::HashMap<i64, String> =
        store::users::list(db, tenant).await?.into_iter().map(|u| (u.id.0, u.name)).collect();
    let department = match t.department_id {
        Some(d) => store::departments::get(db, tenant, d).await?.map(|d| d.name).unwrap_or_default(),
        None => String::new(),
    };
    let connection = store::connections::list(db, tenant)
        .await?
        .into_iter()
        .find(|c| c.id == t.connection_id)
        .map(|c| c.name)
        .unwrap_or_default();
    let (contact_name, phone) = contact.map(|c| (c.name, c.phone)).unwrap_or_default();
    let mut participants = vec![contact_name.clone()];
    let mut lines = Vec::new();
    let mut messages =
        store::messages::list_for_ticket(db, tenant, ticket_id, TRANSCRIPT_MAX).await?.into_iter().peekable();
    let events = store::ticket_events::list(db, tenant, ticket_id).await?;
    let mut events = events.into_iter().peekable();
    loop {
        let next_event = events.peek().map(|e| e.created_at);
        let next_message = messages.peek().map(|m| m.created_at);
        let take_event = match (next_event, next_message) {
            (None, None) => break,
            (Some(e), Some(m)) => e <= m,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        if take_event {
            let Some(e) = events.next() else { break };
            let by = e.actor_user_id.and_then(|u| names.get(&u).cloned()).unwrap_or_default();
            let to = e.to_user_id.and_then(|u| names.get(&u).cloned()).unwrap_or_default();
            let text = [e.kind.clone(), to, e.note.clone().unwrap_or_default()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
            lines.push(TranscriptLine { at: datetime_br(tz, e.created_at), who: "event", name: by, text, media: None });
            continue;
        }
        let Some(m) = messages.next() else { break };
        if m.kind == "reaction" {
            continue;
        }
        let (who, name) = match (m.direction.as_str(), m.sender_user_id, m.origin.as_deref()) {
            ("in", ..) => ("customer", contact_name.clone()),
            ("note", Some(u), _) => ("note", names.get(&u).cloned().unwrap_or_default()),
            ("note", None, _) => ("note", String::new()),
            (_, Some(u), o) if o != Some("bot") => ("agent", names.get(&u).cloned().unwrap_or_default()),
            _ => ("bot", "Chatbot".to_string()),
        };
        if who != "customer" && !name.is_empty() && !participants.contains(&name) {
            participants.push(name.clone());
        }
        let media = m.media_mime.as_ref().map(|mime| {
            let file = m.media_path.as_deref().and_then(|p| p.rsplit('/').next()).unwrap_or("");
            let size = m.media_size.map(|s| format!(" ({} KB)", (s + 1023) / 1024)).unwrap_or_default();
            format!("{mime} {file}{size}").trim().to_string()
        });
        let text =
            m.body.clone().unwrap_or_else(|| if media.is_some() { String::new() } else { format!("[{}]", m.kind) });
        lines.push(TranscriptLine { at: datetime_br(tz, m.created_at), who, name, text, media });
    }
    Ok(Transcript {
        ticket_id,
        protocol: t.protocol.clone().unwrap_or_default(),
        status: t.status.clone(),
        contact: contact_name,
        phone,
        connection,
        department,
        opened: datetime_br(tz, t.created_at),
        closed: t.closed_at.map(|c| datetime_br(tz, c)).unwrap_or_default(),
        participants,
        lines,
    })
}

/// The transcript as plain text (internal notes marked).
pub fn transcript_text(t: &Transcript) -> String {
    let mut out = format!(
        "Protocolo: {}\nContato: {} {}\nConexão: {}\nSetor: {}\nAberto em: {}\nFinalizado em: {}\nParticipantes: {}\n\n",
        t.protocol,
        t.contact,
        t.phone,
        t.connection,
        t.department,
        t.opened,
        t.closed,
        t.participants.join(", ")
    );
    for l in &t.lines {
        let label = match l.who {
            "note" => format!("[NOTA INTERNA] {}", l.name),
            "event" => format!("[{}]", l.text),
            _ => l.name.clone(),
        };
        if l.who == "event" {
            out.push_str(&format!("{} {}\n", l.at, label));
            continue;
        }
        out.push_str(&format!("{} {}: {}\n", l.at, label, l.text));
        if let Some(m) = &l.media {
            out.push_str(&format!("    (anexo: {m})\n"));
        }
    }
    out
}
