//! The inbox's rules: ticket statuses and which transitions each action may make, who sees a
//! ticket, protocol numbers, quick-reply variables, agent signatures, CSAT answers and automatic
//! distribution. Pure: the store and actions apply them.

use serde::{Deserialize, Serialize};

use crate::domain::{Role, TenantId, UserId};

/// How long after their last sign of life an agent still counts as online for distribution.
pub const ONLINE_WINDOW_MS: i64 = 5 * 60 * 1000;

/// A person as their team sees them: away when they chose it, online when seen within
/// [`ONLINE_WINDOW_MS`], else offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Online,
    Away,
    Offline,
}

impl Presence {
    pub fn of(last_seen_at: Option<i64>, away: bool, now: i64) -> Presence {
        if away {
            Presence::Away
        } else if last_seen_at.is_some_and(|at| at >= now - ONLINE_WINDOW_MS) {
            Presence::Online
        } else {
            Presence::Offline
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Online => "online",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }
}

/// Least-busy distribution counts each candidate's open tickets up to this many: past it,
/// agents count as equally busy and take turns.
pub const LEAST_BUSY_COUNT_CAP: i64 = 1000;

/// A CSAT answer counts only this long after the question was asked (WhatsApp's own window).
pub const CSAT_ANSWER_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// A preview in the ticket list keeps at most this many characters.
pub const PREVIEW_CHARS: usize = 140;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// In the chatbot (later issue).
    Bot,
    /// Queued, nobody attends it yet.
    Waiting,
    /// Attended by its assignee.
    Open,
    Closed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Bot => "bot",
            TicketStatus::Waiting => "waiting",
            TicketStatus::Open => "open",
            TicketStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<TicketStatus> {
        [Self::Bot, Self::Waiting, Self::Open, Self::Closed].into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        [Self::Low, Self::Normal, Self::High, Self::Urgent].into_iter().find(|x| x.as_str() == s)
    }
}

/// How a department hands out its waiting tickets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistributionMode {
    Off,
    RoundRobin,
    LeastBusy,
}

impl DistributionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DistributionMode::Off => "off",
            DistributionMode::RoundRobin => "round_robin",
            DistributionMode::LeastBusy => "least_busy",
        }
    }

    pub fn parse(s: &str) -> Option<DistributionMode> {
        [Self::Off, Self::RoundRobin, Self::LeastBusy].into_iter().find(|x| x.as_str() == s)
    }
}

/// Why a lifecycle action is refused; `code()` is the stable error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    /// Capture, assign, transfer or close of a closed ticket.
    TicketClosed,
    /// Reopen of a ticket that is not closed.
    NotClosed,
    /// Capture of a ticket someone else already attends.
    AlreadyAssigned,
}

impl RuleError {
    pub fn code(self) -> &'static str {
        match self {
            RuleError::TicketClosed => "ticket_closed",
            RuleError::NotClosed => "ticket_not_closed",
            RuleError::AlreadyAssigned => "already_assigned",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            RuleError::TicketClosed => "this ticket is closed",
            RuleError::NotClosed => "this ticket is not closed",
            RuleError::AlreadyAssigned => "another agent is already attending this ticket",
        }
    }
}

/// The state a lifecycle rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TicketState {
    pub status: TicketStatus,
    pub assignee: Option<UserId>,
}

/// Capture: a waiting (or bot) ticket becomes open and the capturing agent's. Capturing a ticket
/// one already attends changes nothing.
pub fn capture(s: TicketState, me: UserId) -> Result<TicketState, RuleError> {
    match s.status {
        TicketStatus::Closed => Err(RuleError::TicketClosed),
        TicketStatus::Open if s.assignee == Some(me) => Ok(s),
        TicketStatus::Open => Err(RuleError::AlreadyAssigned),
        TicketStatus::Waiting | TicketStatus::Bot => Ok(TicketState { status: TicketStatus::Open, assignee: Some(me) }),
    }
}

/// Assign (by a supervisor, an admin or distribution): any ticket not closed becomes open and
/// the target's, whoever attended it before.
pub fn assign(s: TicketState, to: UserId) -> Result<TicketState, RuleError> {
    match s.status {
        TicketStatus::Closed => Err(RuleError::TicketClosed),
        _ => Ok(TicketState { status: TicketStatus::Open, assignee: Some(to) }),
    }
}

/// Transfer to an agent (open, theirs) or only to a department (waiting, nobody's).
pub fn transfer(s: TicketState, to_agent: Option<UserId>) -> Result<TicketState, RuleError> {
    match (s.status, to_agent) {
        (TicketStatus::Closed, _) => Err(RuleError::TicketClosed),
        (_, Some(agent)) => Ok(TicketState { status: TicketStatus::Open, assignee: Some(agent) }),
        (_, None) => Ok(TicketState { status: TicketStatus::Waiting, assignee: None }),
    }
}

/// Close keeps the assignee (reports and "my closed tickets" need it).
pub fn close(s: TicketState) -> Result<TicketState, RuleError> {
    match s.status {
        TicketStatus::Closed => Err(RuleError::TicketClosed),
        _ => Ok(TicketState { status: TicketStatus::Closed, assignee: s.assignee }),
    }
}

/// Reopen by a person: open and theirs. Reopen by the customer writing again (`by: None`):
/// waiting, nobody's, queued again in its department.
pub fn reopen(s: TicketState, by: Option<UserId>) -> Result<TicketState, RuleError> {
    match (s.status, by) {
        (TicketStatus::Closed, Some(agent)) => Ok(TicketState { status: TicketStatus::Open, assignee: Some(agent) }),
        (TicketStatus::Closed, None) => Ok(TicketState { status: TicketStatus::Waiting, assignee: None }),
        _ => Err(RuleError::NotClosed),
    }
}

/// Who looks at the inbox. API tokens and the operator see like admins (no user id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub tenant: TenantId,
    pub user: Option<UserId>,
    pub role: Role,
}

impl Viewer {
    pub fn sees_whole_tenant(&self) -> bool {
        self.role.sees_whole_tenant() || self.user.is_none()
    }
}

/// The visibility rule (the store's SQL implements the same): supervisors and above see every
/// ticket of their tenant. An agent sees the tickets assigned to them (open or closed) and the
/// waiting tickets of their departments; a waiting ticket with no department yet is visible to
/// every agent, so nothing queues where nobody can see it.
pub fn can_see(
    viewer: &Viewer,
    status: TicketStatus,
    department: Option<i64>,
    assignee: Option<UserId>,
    member_of: &[i64],
) -> bool {
    if viewer.sees_whole_tenant() {
        return true;
    }
    if assignee.is_some() && assignee == viewer.user {
        return true;
    }
    status == TicketStatus::Waiting && department.is_none_or(|d| member_of.contains(&d))
}

/// A protocol number: the local day and a daily sequence, e.g. `20261123-000042` (six digits at
/// least; a day with a million tickets grows a digit and stays unique).
pub fn format_protocol(day: i64, sequence: i64) -> String {
    format!("{day:08}-{sequence:06}")
}

/// The local day (`YYYYMMDD`) of a UTC instant at a fixed offset from UTC.
pub fn local_day(now_ms: i64, utc_offset_minutes: i64) -> i64 {
    let local = now_ms + utc_offset_minutes * 60_000;
    match chrono::DateTime::from_timestamp_millis(local) {
        Some(t) => {
            use chrono::Datelike;
            let d = t.date_naive();
            i64::from(d.year()) * 10_000 + i64::from(d.month()) * 100 + i64::from(d.day())
        }
        None => 19_700_101,
    }
}

/// Values of quick-reply variables.
#[derive(Clone, Debug, Default)]
pub struct ReplyVars<'a> {
    /// `{{nome}}`: the contact's name.
    pub nome: &'a str,
    /// `{{protocolo}}`: the ticket's protocol.
    pub protocolo: &'a str,
    /// `{{atendente}}`: the agent's name.
    pub atendente: &'a str,
}

/// Fills `{{nome}}`, `{{protocolo}}` and `{{atendente}}` (spaces inside the braces allowed,
/// case-insensitive). Unknown variables stay as written so a typo is visible before sending.
pub fn fill_variables(template: &str, vars: &ReplyVars<'_>) -> String {
    fill_known(template, |name| reply_var(vars, name).map(str::to_string))
}

fn reply_var<'a>(vars: &ReplyVars<'a>, name: &str) -> Option<&'a str> {
    match name {
        "nome" => Some(vars.nome),
        "protocolo" => Some(vars.protocolo),
        "atendente" => Some(vars.atendente),
        _ => None,
    }
}

/// What a person writes to a customer (free text, a quick reply, a caption) filled like a quick
/// reply, plus the contact's own variables: `{{telefone}}`, `{{email}}` and custom fields the
/// contact has. Unknown variables stay as written, as in [`fill_variables`]: the person sees
/// the typo in the conversation instead of a silently blank word.
pub fn fill_person_text(
    template: &str,
    vars: &ReplyVars<'_>,
    contact: &crate::domain::contacts::TemplateContact<'_>,
) -> String {
    fill_known(template, |name| match reply_var(vars, name) {
        Some(v) => Some(v.to_string()),
        None => match name {
            "telefone" => Some(contact.phone.to_string()),
            "email" => Some(contact.email.unwrap_or_default().to_string()),
            other => contact.fields.get(other).cloned(),
        },
    })
}

/// Replaces each `{{name}}` the lookup knows (name trimmed and lower-cased); the others, and an
/// unclosed `{{`, are kept as typed.
fn fill_known(template: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        match lookup(&after[..end].trim().to_lowercase()) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The agent's signature on outgoing text: their name in WhatsApp bold and a line break.
/// Asterisks in the name are dropped so they cannot break the bold.
pub fn sign(agent_name: &str, text: &str) -> String {
    let name: String = agent_name.chars().filter(|c| *c != '*').collect();
    let name = name.trim();
    if name.is_empty() {
        return text.to_string();
    }
    format!("*{name}:*\n{text}")
}

/// A CSAT answer: after trimming, exactly one digit 1–5, optionally followed by stars
/// (`5`, `4 ⭐`, `3⭐⭐⭐`), or only 1–5 stars (`⭐⭐⭐⭐`). Anything else (`5 obrigado`,
/// `nota 5`, `10`, `0`) is a normal message.
pub fn parse_csat(text: &str) -> Option<i64> {
    const STARS: [char; 2] = ['⭐', '🌟'];
    let t = text.trim();
    let mut chars = t.chars();
    let first = chars.next()?;
    if let Some(d) = first.to_digit(10) {
        let rest = chars.as_str().trim();
        let only_stars = rest.chars().all(|c| STARS.contains(&c) || c == '\u{fe0f}' || c.is_whitespace());
        return ((1..=5).contains(&d) && only_stars).then_some(i64::from(d));
    }
    let stars = t.chars().filter(|c| STARS.contains(c)).count();
    let only_stars = t.chars().all(|c| STARS.contains(&c) || c == '\u{fe0f}' || c.is_whitespace());
    (only_stars && (1..=5).contains(&stars)).then_some(stars as i64)
}

/// Since when a ticket's customer waits for people: a queued ticket since it queued (else since
/// it opened); an open one since the customer's last message when that is the latest of the
/// conversation. `None` when nobody waits (closed, in the chatbot, or the business spoke last).
pub fn waiting_since(
    status: &str,
    queued_at: Option<i64>,
    created_at: i64,
    last_inbound_at: Option<i64>,
    last_message_at: i64,
) -> Option<i64> {
    match status {
        "waiting" => Some(queued_at.unwrap_or(created_at)),
        "open" => last_inbound_at.filter(|at| *at >= last_message_at),
        _ => None,
    }
}

/// A waited time as people say it: whole minutes under an hour, hours under a day, then days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waited {
    /// Under a minute.
    JustNow,
    Minutes(i64),
    Hours(i64),
    Days(i64),
}

pub fn waited(since: i64, now: i64) -> Waited {
    let minutes = (now - since).max(0) / 60_000;
    match minutes {
        0 => Waited::JustNow,
        1..=59 => Waited::Minutes(minutes),
        60..=1439 => Waited::Hours(minutes / 60),
        _ => Waited::Days(minutes / 1440),
    }
}

/// The text shown in the ticket list for a message: its body (or `[kind]`), on one line, short.
pub fn preview(kind: &str, body: Option<&str>) -> String {
    let text = match body.map(str::trim) {
        Some(b) if !b.is_empty() => b.split_whitespace().collect::<Vec<_>>().join(" "),
        _ => format!("[{kind}]"),
    };
    if text.chars().count() > PREVIEW_CHARS {
        let mut cut: String = text.chars().take(PREVIEW_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

/// A member who may receive a ticket: user id and the open tickets they attend now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub user: i64,
    pub open_tickets: i64,
}

/// Picks the agent for a waiting ticket. Round-robin: the first candidate (by id) after the
/// department's cursor, wrapping around. Least-busy: the fewest open tickets; ties go in
/// round-robin order, so equally busy agents take turns.
pub fn pick_agent(mode: DistributionMode, candidates: &[Candidate], cursor: i64) -> Option<i64> {
    let mut sorted: Vec<Candidate> = candidates.to_vec();
    sorted.sort_by_key(|c| c.user);
    sorted.dedup_by_key(|c| c.user);
    // Round-robin order: ids after the cursor first, then from the start.
    let order = |c: &Candidate| (c.user <= cursor, c.user);
    match mode {
        DistributionMode::Off => None,
        DistributionMode::RoundRobin => sorted.iter().min_by_key(|c| order(c)).map(|c| c.user),
        DistributionMode::LeastBusy => sorted.iter().min_by_key(|c| (c.open_tickets, order(c))).map(|c| c.user),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANA: UserId = UserId(1);
    const BIA: UserId = UserId(2);

    fn st(status: TicketStatus, assignee: Option<UserId>) -> TicketState {
        TicketState { status, assignee }
    }

    #[test]
    fn capture_takes_waiting_tickets_and_refuses_closed_or_taken_ones() {
        assert_eq!(capture(st(TicketStatus::Waiting, None), ANA), Ok(st(TicketStatus::Open, Some(ANA))));
        assert_eq!(capture(st(TicketStatus::Open, Some(ANA)), ANA), Ok(st(TicketStatus::Open, Some(ANA))));
        assert_eq!(capture(st(TicketStatus::Open, Some(BIA)), ANA), Err(RuleError::AlreadyAssigned));
        assert_eq!(capture(st(TicketStatus::Closed, None), ANA), Err(RuleError::TicketClosed));
    }

    #[test]
    fn transfer_and_assign_refuse_closed_tickets() {
        assert_eq!(transfer(st(TicketStatus::Closed, Some(ANA)), None).unwrap_err().code(), "ticket_closed");
        assert_eq!(assign(st(TicketStatus::Closed, None), ANA), Err(RuleError::TicketClosed));
        assert_eq!(transfer(st(TicketStatus::Open, Some(ANA)), None), Ok(st(TicketStatus::Waiting, None)));
        assert_eq!(transfer(st(TicketStatus::Open, Some(ANA)), Some(BIA)), Ok(st(TicketStatus::Open, Some(BIA))));
        assert_eq!(assign(st(TicketStatus::Waiting, None), BIA), Ok(st(TicketStatus::Open, Some(BIA))));
    }

    #[test]
    fn close_and_reopen() {
        assert_eq!(close(st(TicketStatus::Open, Some(ANA))), Ok(st(TicketStatus::Closed, Some(ANA))));
        assert_eq!(close(st(TicketStatus::Closed, Some(ANA))), Err(RuleError::TicketClosed));
        assert_eq!(reopen(st(TicketStatus::Closed, Some(ANA)), Some(BIA)), Ok(st(TicketStatus::Open, Some(BIA))));
        assert_eq!(reopen(st(TicketStatus::Closed, Some(ANA)), None), Ok(st(TicketStatus::Waiting, None)));
        assert_eq!(reopen(st(TicketStatus::Open, Some(ANA)), None), Err(RuleError::NotClosed));
    }

    #[test]
    fn agents_see_their_own_and_their_departments_waiting_tickets() {
        let agent = Viewer { tenant: TenantId(1), user: Some(ANA), role: Role::Agent };
        let sup = Viewer { tenant: TenantId(1), user: Some(BIA), role: Role::Supervisor };
        assert!(can_see(&agent, TicketStatus::Waiting, Some(7), None, &[7]));
        assert!(can_see(&agent, TicketStatus::Waiting, None, None, &[]));
        assert!(!can_see(&agent, TicketStatus::Waiting, Some(8), None, &[7]));
        assert!(!can_see(&agent, TicketStatus::Open, Some(7), Some(BIA), &[7]));
        assert!(can_see(&agent, TicketStatus::Closed, Some(8), Some(ANA), &[]));
        assert!(can_see(&sup, TicketStatus::Open, Some(8), Some(ANA), &[]));
    }

    #[test]
    fn protocols_are_day_and_padded_sequence() {
        assert_eq!(format_protocol(20261123, 42), "20261123-000042");
        assert_eq!(format_protocol(20261123, 1_234_567), "20261123-1234567");
        // 2026-11-23T01:30Z is still the 22nd in Brasília (UTC-3).
        let t = 1_795_397_400_000;
        assert_eq!(local_day(t, 0), 20261123);
        assert_eq!(local_day(t, -180), 20261122);
    }

    #[test]
    fn variables_are_filled_and_unknown_ones_kept() {
        let vars = ReplyVars { nome: "Ana", protocolo: "20261123-000042", atendente: "Bia" };
        assert_eq!(
            fill_variables("Olá {{nome}}, sou {{ Atendente }}. Protocolo {{protocolo}} {{x}} {{", &vars),
            "Olá Ana, sou Bia. Protocolo 20261123-000042 {{x}} {{"
        );
    }

    #[test]
    fn person_texts_also_fill_the_contacts_variables() {
        let vars = ReplyVars { nome: "Ana", protocolo: "P1", atendente: "Bia" };
        let mut fields = std::collections::BTreeMap::new();
        fields.insert("cidade".to_string(), "Recife".to_string());
        let c = crate::domain::contacts::TemplateContact {
            name: "Ana",
            phone: "+5511912345678",
            email: None,
            fields: &fields,
        };
        assert_eq!(
            fill_person_text(
                "{{nome}} {{telefone}} [{{email}}] {{ Cidade }} {{protocolo}} {{atendente}} {{pedido}}",
                &vars,
                &c
            ),
            "Ana +5511912345678 [] Recife P1 Bia {{pedido}}"
        );
        assert_eq!(fill_person_text("sem variáveis {{", &vars, &c), "sem variáveis {{");
    }

    #[test]
    fn waiting_time_counts_from_the_queue_or_the_customers_last_word() {
        assert_eq!(waiting_since("waiting", Some(50), 10, Some(60), 60), Some(50));
        assert_eq!(waiting_since("waiting", None, 10, None, 10), Some(10));
        assert_eq!(waiting_since("open", Some(50), 10, Some(60), 60), Some(60));
        assert_eq!(waiting_since("open", Some(50), 10, Some(60), 70), None, "the agent answered last");
        assert_eq!(waiting_since("closed", Some(50), 10, Some(60), 60), None);
        assert_eq!(waiting_since("bot", Some(50), 10, Some(60), 60), None);
        assert_eq!(waited(0, 59_999), Waited::JustNow);
        assert_eq!(waited(0, 5 * 60_000), Waited::Minutes(5));
        assert_eq!(waited(0, 61 * 60_000), Waited::Hours(1));
        assert_eq!(waited(0, 3 * 1440 * 60_000), Waited::Days(3));
        assert_eq!(waited(100, 0), Waited::JustNow, "a clock running behind never shows a negative wait");
    }

    #[test]
    fn signature_is_bold_name_and_line_break() {
        assert_eq!(sign("Ana", "Oi"), "*Ana:*\nOi");
        assert_eq!(sign("*Ana*", "Oi"), "*Ana:*\nOi");
        assert_eq!(sign("  ", "Oi"), "Oi");
    }

    #[test]
    fn csat_answers_are_strict() {
        for (text, want) in [
            ("5", Some(5)),
            (" 1 ", Some(1)),
            ("4 ⭐", Some(4)),
            ("3⭐⭐⭐", Some(3)),
            ("⭐⭐", Some(2)),
            ("0", None),
            ("6", None),
            ("10", None),
            ("5 obrigado", None),
            ("nota 5", None),
            ("", None),
            ("⭐⭐⭐⭐⭐⭐", None),
        ] {
            assert_eq!(parse_csat(text), want, "{text:?}");
        }
    }

    #[test]
    fn previews_are_one_short_line() {
        assert_eq!(preview("text", Some(" Oi\n tudo bem? ")), "Oi tudo bem?");
        assert_eq!(preview("image", None), "[image]");
        let long = "a".repeat(500);
        assert_eq!(preview("text", Some(&long)).chars().count(), PREVIEW_CHARS);
    }

    #[test]
    fn distribution_rotates_and_prefers_the_least_busy() {
        let c = |user, open_tickets| Candidate { user, open_tickets };
        let all = [c(3, 2), c(1, 5), c(2, 0)];
        assert_eq!(pick_agent(DistributionMode::RoundRobin, &all, 0), Some(1));
        assert_eq!(pick_agent(DistributionMode::RoundRobin, &all, 1), Some(2));
        assert_eq!(pick_agent(DistributionMode::RoundRobin, &all, 3), Some(1));
        assert_eq!(pick_agent(DistributionMode::LeastBusy, &all, 0), Some(2));
        let tied = [c(1, 1), c(2, 1), c(3, 1)];
        assert_eq!(pick_agent(DistributionMode::LeastBusy, &tied, 1), Some(2));
        assert_eq!(pick_agent(DistributionMode::Off, &all, 0), None);
        assert_eq!(pick_agent(DistributionMode::RoundRobin, &[], 0), None);
    }
}
