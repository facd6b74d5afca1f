//! Server-sent events: each client gets the events its tenant and role may see, heartbeats, and
//! on reconnect the events it missed (`Last-Event-ID`), read back from the event log.
//!
//! A stream lives only as long as its credentials: the session or token is checked again every
//! heartbeat, and at once on the events that may end or change it (logout and password changes
//! — `session.ended` —, `token.revoked`, `user.updated`, department membership); then the stream
//! closes, or goes on under the person's new role and departments.
//!
//! Agents receive ticket events (anything whose data names a `ticket_id`) only for tickets they
//! may open, by the inbox lists' rule (`domain::inbox::can_see`). To keep that cheap per event,
//! each agent's stream keeps the state of the tickets it knows: learnt up front (the tickets the
//! agent sees now), from every `ticket.updated` (which carries the new state), and otherwise
//! looked up once. A `ticket.updated` also reaches an agent who could see the ticket until that
//! change, so their list drops it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::actions::auth::SESSIONS_ENDED;
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::ids::{EventId, TokenId};
use crate::domain::inbox::{self, TicketStatus};
use crate::domain::{Role, Scope, TenantId, UserId};
use crate::http::auth::{ApiCaller, WebUser};
use crate::http::error::ApiError;
use crate::realtime::BusMessage;
use crate::store::events::StoredEvent;
use crate::store::users::User;

/// At most this many missed events are replayed; beyond that the client is told to resync.
const REPLAY_LIMIT: i64 = 1000;
/// Tickets an agent's stream learns when it opens (newest first); older ones are looked up.
const LEARN_LIMIT: i64 = 2000;
/// Past this many known tickets a stream forgets and learns again, so its memory stays bounded.
const KNOWN_LIMIT: usize = 20_000;

/// What keeps a stream open.
#[derive(Clone)]
enum Credential {
    /// A browser: the SHA-256 of its session cookie.
    Session(String),
    /// An integration: the SHA-256 of its bearer secret, and the token's id.
    Token(String, TokenId),
}

/// Where a credential stands when checked again.
enum Standing {
    Ended,
    Person(User),
    Token,
}

/// A ticket's state as far as visibility goes.
#[derive(Clone, Copy)]
struct Seen {
    status: TicketStatus,
    department: Option<i64>,
    assignee: Option<UserId>,
}

/// The few fields of an event's data this module reads; the rest is ignored.
#[derive(Default, Deserialize)]
struct Fields {
    ticket_id: Option<i64>,
    status: Option<String>,
    department_id: Option<i64>,
    assignee_id: Option<i64>,
    user_id: Option<i64>,
    token_id: Option<i64>,
}

impl Fields {
    fn of(e: &StoredEvent) -> Option<Fields> {
        serde_json::from_str(&e.data).ok()
    }

    /// The new state a `ticket.updated` announces (a rating, say, announces none).
    fn state(&self) -> Option<Seen> {
        let status = TicketStatus::parse(self.status.as_deref()?)?;
        Some(Seen { status, department: self.department_id, assignee: self.assignee_id.map(UserId) })
    }
}

/// Whose stream this is, as of the last check of its credential.
struct Viewer {
    tenant: TenantId,
    /// `None` for an API token, which sees its whole tenant.
    person: Option<User>,
    /// An agent's departments (empty for everyone else).
    departments: Vec<i64>,
    /// What an agent's stream knows of tickets (empty for everyone else).
    tickets: HashMap<i64, Seen>,
}

impl Viewer {
    fn role_and_id(&self) -> Option<(Role, UserId)> {
        self.person.as_ref().map(|u| (u.role, u.id))
    }

    /// Only agents see part of the tenant's tickets; supervisors, admins and tokens see all.
    fn sees_some_tickets_only(&self) -> bool {
        self.person.as_ref().is_some_and(|u| !u.role.sees_whole_tenant())
    }

    fn may_open(&self, s: Seen) -> bool {
        let viewer = inbox::Viewer { tenant: self.tenant, user: self.role_and_id().map(|p| p.1), role: self.role() };
        inbox::can_see(&viewer, s.status, s.department, s.assignee, &self.departments)
    }

    fn role(&self) -> Role {
        self.person.as_ref().map_or(Role::Admin, |u| u.role)
    }

    /// Loads an agent's departments and the tickets they see now; forgets what it knew.
    async fn learn(&mut self, app: &App) -> anyhow::Result<()> {
        self.tickets.clear();
        self.departments.clear();
        let Some(user) = self.person.as_ref().filter(|_| self.sees_some_tickets_only()) else {
            return Ok(());
        };
        self.departments = crate::store::departments::of_user(app.db.reader(), self.tenant, user.id.0).await?;
        let visible =
            crate::store::tickets::visible_to_agent(app.db.reader(), self.tenant, user.id.0, LEARN_LIMIT).await?;
        for (id, v) in visible {
            if let Some(status) = TicketStatus::parse(&v.status) {
                self.tickets
                    .insert(id, Seen { status, department: v.department_id, assignee: v.assignee_id.map(UserId) });
            }
        }
        Ok(())
    }

    fn remember(&mut self, ticket: i64, state: Seen) -> Option<Seen> {
        if self.tickets.len() >= KNOWN_LIMIT {
            self.tickets.clear();
        }
        self.tickets.insert(ticket, state)
    }

    /// Whether this stream carries `e`: its tenant, its audience, and for agents the ticket rule.
    async fn admits(&mut self, app: &App, e: &StoredEvent) -> bool {
        if e.tenant_id != self.tenant || !Audience::decode(&e.audience).is_some_and(|a| a.admits(self.role_and_id())) {
            return false;
        }
        if !self.sees_some_tickets_only() {
            return true;
        }
        // Data that cannot be read might name a ticket: not for agents.
        let Some(fields) = Fields::of(e) else { return false };
        let Some(ticket) = fields.ticket_id else { return true };
        if e.kind == "ticket.updated" {
            if let Some(now) = fields.state() {
                let before = self.remember(ticket, now);
                return self.may_open(now) || before.is_some_and(|b| self.may_open(b));
            }
        }
        if let Some(known) = self.tickets.get(&ticket) {
            return self.may_open(*known);
        }
        match crate::store::tickets::visibility(app.db.reader(), self.tenant, ticket).await {
            Ok(Some(v)) => match TicketStatus::parse(&v.status) {
                Some(status) => {
                    let state = Seen { status, department: v.department_id, assignee: v.assignee_id.map(UserId) };
                    self.remember(ticket, state);
                    self.may_open(state)
                }
                None => false,
            },
            Ok(None) => false,
            Err(err) => {
                tracing::warn!(error = %err, "looking up a ticket for the event stream failed");
                false
            }
        }
    }

    /// Whether `e` may end or change this stream's credential or what it sees.
    fn is_shaken_by(&self, e: &StoredEvent, credential: &Credential) -> bool {
        if e.tenant_id != self.tenant {
            return false;
        }
        let about_me = || {
            let me = self.person.as_ref().map(|u| u.id.0);
            me.is_some() && Fields::of(e).unwrap_or_default().user_id == me
        };
        match e.kind.as_str() {
            SESSIONS_ENDED | "user.updated" => about_me(),
            "department.members" => self.sees_some_tickets_only() && about_me(),
            "department.deleted" => self.sees_some_tickets_only(),
            "token.revoked" => match credential {
                Credential::Token(_, id) => Fields::of(e).unwrap_or_default().token_id == Some(id.0),
                Credential::Session(_) => false,
            },
            _ => false,
        }
    }

    /// Checks the credential again and takes in a new role; with `relearn` (or a new role) also
    /// reloads departments and tickets. False when the stream must close. A failed check keeps
    /// the stream (the database may be briefly away); the next heartbeat checks again.
    async fn recheck(&mut self, app: &App, credential: &Credential, relearn: bool) -> bool {
        let standing = match standing(app, credential).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "checking an event stream's credential failed");
                return true;
            }
        };
        let person = match standing {
            Standing::Ended => return false,
            Standing::Token => None,
            Standing::Person(user) if user.tenant_id == self.tenant => Some(user),
            Standing::Person(_) => return false,
        };
        let new_role = person.as_ref().map(|u| u.role) != self.person.as_ref().map(|u| u.role);
        self.person = person;
        if relearn || new_role {
            if let Err(e) = self.learn(app).await {
                tracing::warn!(error = %e, "reloading what an event stream may see failed");
            }
        }
        true
    }
}

async fn standing(app: &App, credential: &Credential) -> anyhow::Result<Standing> {
    Ok(match credential {
        Credential::Session(hash) => {
            match crate::store::sessions::find(app.db.reader(), hash, app.clock.now_ms()).await? {
                Some(owner) => Standing::Person(owner.user),
                None => Standing::Ended,
            }
        }
        Credential::Token(hash, _) => match crate::store::tokens::find_active(app.db.reader(), hash).await? {
            Some(token) if token.scopes.contains(&Scope::Read) => Standing::Token,
            _ => Standing::Ended,
        },
    })
}

type EventStream = Sse<axum::response::sse::KeepAliveStream<ReceiverStream<Result<Event, Infallible>>>>;

/// `GET /events` for logged-in browsers. An open stream is also the person's presence: it is
/// recorded now and every minute while the page is open (automatic distribution hands tickets only
/// to people seen in the last five minutes).
pub async fn browser_events(user: WebUser, State(app): State<Arc<App>>, headers: HeaderMap) -> EventStream {
    let viewer =
        Viewer { tenant: user.tenant.id, person: Some(user.user), departments: Vec::new(), tickets: HashMap::new() };
    stream(app, viewer, Credential::Session(user.session_hash), last_event_id(&headers))
}

/// `GET /api/v1/events` for integrations (token with the read scope).
pub async fn api_events(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<EventStream, ApiError> {
    caller.require(Scope::Read)?;
    // The same secret `ApiCaller` accepted, kept (as its hash) to check the token again.
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "missing_token", "send Authorization: Bearer <token>")
        })?;
    let credential = Credential::Token(crate::crypto::sha256_hex(secret), caller.token.id);
    let viewer =
        Viewer { tenant: caller.token.tenant_id, person: None, departments: Vec::new(), tickets: HashMap::new() };
    Ok(stream(app, viewer, credential, last_event_id(&headers)))
}

fn last_event_id(headers: &HeaderMap) -> Option<EventId> {
    headers.get("last-event-id")?.to_str().ok()?.trim().parse().ok().map(EventId)
}

fn stream(app: Arc<App>, viewer: Viewer, credential: Credential, resume_after: Option<EventId>) -> EventStream {
    // Subscribe before reading the backlog so nothing published in between is lost.
    let live = app.bus.subscribe();
    let heartbeat = Duration::from_secs(app.settings.sse_heartbeat_secs);
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(forward(app, viewer, credential, resume_after, live, tx));
    Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat"))
}

fn to_sse(e: &StoredEvent) -> Event {
    let event = Event::default().event(e.kind.clone()).data(e.data.clone());
    // Id 0: an event that is not stored (`Bus::flash`), so nothing to resume from.
    if e.id.0 == 0 {
        return event;
    }
    event.id(e.id.0.to_string())
}

/// Feeds one stream until the client leaves or its credential ends (dropping `tx` ends the
/// response, which closes the stream).
async fn forward(
    app: Arc<App>,
    mut viewer: Viewer,
    credential: Credential,
    resume_after: Option<EventId>,
    mut live: broadcast::Receiver<BusMessage>,
    tx: mpsc::Sender<Result<Event, Infallible>>,
) {
    if let Err(e) = viewer.learn(&app).await {
        tracing::warn!(error = %e, "loading what an event stream may see failed");
    }
    let heartbeat = Duration::from_secs(app.settings.sse_heartbeat_secs);
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut presence_tick = tokio::time::interval(Duration::from_secs(60));
    let resync = || Event::default().event("resync").data("{}");
    // Ids replayed from the log, so the same event arriving live is not sent twice. (Live events
    // are not filtered by "id > last": on PostgreSQL ids can commit out of order.)
    let mut replayed = std::collections::HashSet::new();
    if let Some(after) = resume_after {
        match crate::store::events::after(app.db.reader(), viewer.tenant, after, REPLAY_LIMIT).await {
            Ok(missed) => {
                if missed.len() as i64 == REPLAY_LIMIT && tx.send(Ok(resync())).await.is_err() {
                    return;
                }
                for e in &missed {
                    if !viewer.admits(&app, e).await {
                        continue;
                    }
                    replayed.insert(e.id);
                    if tx.send(Ok(to_sse(e))).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading missed events failed");
                if tx.send(Ok(resync())).await.is_err() {
                    return;
                }
            }
        }
    }
    if tx.send(Ok(Event::default().event("ready").data("{}"))).await.is_err() {
        return;
    }
    loop {
        let message = tokio::select! {
            m = live.recv() => m,
            _ = tx.closed() => return,
            _ = recheck.tick() => {
                if !viewer.recheck(&app, &credential, false).await {
                    return;
                }
                continue;
            }
            _ = presence_tick.tick(), if viewer.person.is_some() => {
                if let Some(user) = &viewer.person {
                    if let Err(e) = crate::actions::settings::touch_presence(&app, user).await {
                        tracing::warn!(error = %e, "recording presence failed");
                    }
                }
                continue;
            }
        };
        let out = match message {
            Ok(BusMessage::Event(e)) => {
                if viewer.is_shaken_by(&e, &credential) && !viewer.recheck(&app, &credential, true).await {
                    return;
                }
                if !viewer.admits(&app, &e).await || replayed.remove(&e.id) {
                    continue;
                }
                to_sse(&e)
            }
            // Events were missed, some of which may have ended or changed the credential.
            Ok(BusMessage::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                if !viewer.recheck(&app, &credential, true).await {
                    return;
                }
                resync()
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if tx.send(Ok(out)).await.is_err() {
            return;
        }
    }
}
