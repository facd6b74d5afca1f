//! Server-sent events: each client gets the events its tenant and role may see, heartbeats, and
//! on reconnect the events it missed (`Last-Event-ID`), read back from the event log.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::BusMessage;
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::ids::EventId;
use crate::domain::{Role, Scope, TenantId, UserId};
use crate::http::auth::{ApiCaller, WebUser};
use crate::http::error::ApiError;
use crate::store::events::StoredEvent;
use crate::store::users::User;

/// At most this many missed events are replayed; beyond that the client is told to resync.
const REPLAY_LIMIT: i64 = 1000;

/// Whose stream this is.
#[derive(Clone, Copy)]
struct Viewer {
    tenant: TenantId,
    /// `None` for an API token, which sees its whole tenant.
    person: Option<(Role, UserId)>,
}

impl Viewer {
    fn sees(&self, e: &StoredEvent) -> bool {
        e.tenant_id == self.tenant && Audience::decode(&e.audience).is_some_and(|a| a.admits(self.person))
    }
}

type EventStream = Sse<axum::response::sse::KeepAliveStream<ReceiverStream<Result<Event, Infallible>>>>;

/// `GET /events` for logged-in browsers. An open stream is also the person's presence: it is
/// recorded now and every minute while the page is open (automatic distribution hands tickets only
/// to people seen in the last five minutes).
pub async fn browser_events(user: WebUser, State(app): State<Arc<App>>, headers: HeaderMap) -> EventStream {
    let viewer = Viewer { tenant: user.tenant.id, person: Some((user.user.role, user.user.id)) };
    stream(app, viewer, last_event_id(&headers), Some(user.user))
}

/// `GET /api/v1/events` for integrations (token with the read scope).
pub async fn api_events(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<EventStream, ApiError> {
    caller.require(Scope::Read)?;
    let viewer = Viewer { tenant: caller.token.tenant_id, person: None };
    Ok(stream(app, viewer, last_event_id(&headers), None))
}

fn last_event_id(headers: &HeaderMap) -> Option<EventId> {
    headers.get("last-event-id")?.to_str().ok()?.trim().parse().ok().map(EventId)
}

fn stream(app: Arc<App>, viewer: Viewer, resume_after: Option<EventId>, presence: Option<User>) -> EventStream {
    // Subscribe before reading the backlog so nothing published in between is lost.
    let live = app.bus.subscribe();
    let heartbeat = Duration::from_secs(app.settings.sse_heartbeat_secs);
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(forward(app, viewer, resume_after, live, tx, presence));
    Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat"))
}

fn to_sse(e: &StoredEvent) -> Event {
    Event::default().id(e.id.0.to_string()).event(e.kind.clone()).data(e.data.clone())
}

async fn forward(
    app: Arc<App>,
    viewer: Viewer,
    resume_after: Option<EventId>,
    mut live: broadcast::Receiver<BusMessage>,
    tx: mpsc::Sender<Result<Event, Infallible>>,
    presence: Option<User>,
) {
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
                for e in missed.iter().filter(|e| viewer.sees(e)) {
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
            _ = presence_tick.tick(), if presence.is_some() => {
                if let Some(user) = &presence {
                    if let Err(e) = crate::actions::settings::touch_presence(&app, user).await {
                        tracing::warn!(error = %e, "recording presence failed");
                    }
                }
                continue;
            }
        };
        let out = match message {
            Ok(BusMessage::Event(e)) if viewer.sees(&e) && !replayed.remove(&e.id) => to_sse(&e),
            Ok(BusMessage::Event(_)) => continue,
            Ok(BusMessage::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => resync(),
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if tx.send(Ok(out)).await.is_err() {
            return;
        }
    }
}
