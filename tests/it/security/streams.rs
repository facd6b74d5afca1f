//! Finding 6 (event streams outlive their credentials) and the live-event part of finding 8
//! (agents hear about tickets they cannot open): real event streams over TCP.

use std::pin::Pin;
use std::time::Duration;

use atende::actions::{self, Actor};
use atende::config::Settings;
use atende::domain::{Role, Scope};
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use crate::engine_test_with;
use crate::support::TestApp;

const PASSWORD: &str = "correct horse battery";

/// Heartbeats (and so the periodic check) far apart: a stream that closes within a second or
/// two closed because of the event, not because of the clock.
fn slow_heartbeat(s: &mut Settings) {
    s.sse_heartbeat_secs = 5;
    s.idle_timeout_secs = 30;
}

fn fast_heartbeat(s: &mut Settings) {
    s.sse_heartbeat_secs = 1;
    s.idle_timeout_secs = 30;
}

/// One event as the stream carried it.
#[derive(Debug, Default)]
struct Received {
    kind: String,
    data: String,
}

impl Received {
    fn ticket(&self) -> Option<i64> {
        serde_json::from_str::<serde_json::Value>(&self.data).ok()?["ticket_id"].as_i64()
    }
}

/// A minimal event-stream reader.
struct Events {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>>,
    buffer: String,
    ended: bool,
}

impl Events {
    async fn open(request: reqwest::RequestBuilder) -> Events {
        let response = request.send().await.expect("open the event stream");
        assert_eq!(response.status(), 200, "event stream refused");
        let mut events = Events { body: Box::pin(response.bytes_stream()), buffer: String::new(), ended: false };
        let first = events.next(Duration::from_secs(10)).await.expect("the stream says ready");
        assert_eq!(first.kind, "ready");
        events
    }

    /// The next event within `wait`; `None` when the stream ended or nothing came.
    async fn next(&mut self, wait: Duration) -> Option<Received> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Received::default();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.kind = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        event.data.push_str(v.trim());
                    }
                }
                if !event.kind.is_empty() {
                    return Some(event);
                }
                continue; // a heartbeat comment
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Some(Err(_))) | Ok(None) => self.ended = true,
            }
        }
    }

    /// Waits (up to `wait`) for the server to end the stream; events before that are returned.
    async fn closes_within(&mut self, wait: Duration) -> Result<Vec<Received>, Vec<Received>> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Some(e) => seen.push(e),
                None if self.ended => return Ok(seen),
                None => return Err(seen),
            }
        }
    }

    /// Events up to and including the first `kind` about `ticket`.
    async fn until(&mut self, kind: &str, ticket: i64) -> Vec<Received> {
        let mut seen = Vec::new();
        loop {
            let e =
                self.next(Duration::from_secs(10)).await.unwrap_or_else(|| panic!("no {kind} of {ticket}: {seen:?}"));
            let done = e.kind == kind && e.ticket() == Some(ticket);
            seen.push(e);
            if done {
                return seen;
            }
        }
    }
}

fn browser_stream(t: &TestApp, session: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().get(t.url("/events")).header("cookie", format!("{}={session}", "atende_session"))
}

fn origin() -> atende::store::sessions::Origin<'static> {
    atende::store::sessions::Origin { user_agent: "test", client_ip: "127.0.0.1" }
}

async fn session(t: &TestApp, email: &str) -> String {
    match actions::auth::login(&t.app, email, PASSWORD, Some("demo"), &origin(), "").await.expect("log in") {
        actions::auth::LoginStep::Session(s) => s.session_token,
        actions::auth::LoginStep::SecondStep { .. } => panic!("no second step expected"),
    }
}

engine_test_with!(a_revoked_token_s_event_stream_closes, slow_heartbeat, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let (token, secret) =
        actions::tokens::create_token(&t.app, &Actor::Operator, tenant, "integration", &[Scope::Read]).await.unwrap();
    let (_, other) =
        actions::tokens::create_token(&t.app, &Actor::Operator, tenant, "another", &[Scope::Read]).await.unwrap();
    let api = |secret: &str| reqwest::Client::new().get(t.url("/api/v1/events")).bearer_auth(secret.to_string());
    let mut revoked = Events::open(api(&secret)).await;
    let mut kept = Events::open(api(&other)).await;
    actions::tokens::revoke_token(&t.app, &Actor::Operator, tenant, token.id).await.unwrap();
    revoked.closes_within(Duration::from_secs(2)).await.expect("the revoked token's stream stayed open");
    // Another token's stream goes on, and the revoked one cannot reconnect.
    assert!(kept.closes_within(Duration::from_secs(1)).await.is_err(), "another token's stream closed");
    assert_eq!(api(&secret).send().await.unwrap().status(), 401);
    t.stop().await;
});

engine_test_with!(a_logged_out_browser_s_event_stream_closes, slow_heartbeat, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    t.create_user(tenant, "ana@demo.local", Role::Agent, PASSWORD).await;
    let (leaving, staying) = (session(&t, "ana@demo.local").await, session(&t, "ana@demo.local").await);
    let mut left = Events::open(browser_stream(&t, &leaving)).await;
    let mut other_tab = Events::open(browser_stream(&t, &staying)).await;
    actions::auth::logout(&t.app, &leaving).await.unwrap();
    left.closes_within(Duration::from_secs(2)).await.expect("the logged-out stream stayed open");
    // The same person's other session was not logged out: its stream goes on.
    assert!(other_tab.closes_within(Duration::from_secs(1)).await.is_err(), "another session's stream closed");
    t.stop().await;
});

engine_test_with!(a_password_reset_closes_the_person_s_event_streams, slow_heartbeat, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let ana = t.create_user(tenant, "ana@demo.local", Role::Agent, PASSWORD).await;
    let mut stream = Events::open(browser_stream(&t, &session(&t, "ana@demo.local").await)).await;
    actions::users::reset_password(&t.app, &Actor::Operator, tenant, ana.id).await.unwrap();
    stream.closes_within(Duration::from_secs(2)).await.expect("the stream outlived the password reset");
    t.stop().await;
});

engine_test_with!(
    an_expired_session_s_event_stream_closes_at_the_next_heartbeat,
    fast_heartbeat,
    |t: TestApp| async move {
        let tenant = t.demo_tenant().await;
        t.create_user(tenant, "ana@demo.local", Role::Agent, PASSWORD).await;
        let mut stream = Events::open(browser_stream(&t, &session(&t, "ana@demo.local").await)).await;
        // Sessions expire without any event (the purge job deletes them quietly).
        sqlx::query("UPDATE sessions SET expires_at = 0").execute(t.app.db.writer()).await.unwrap();
        stream.closes_within(Duration::from_secs(3)).await.expect("the stream outlived its session");
        t.stop().await;
    }
);

engine_test_with!(a_demoted_admin_s_stream_stops_carrying_admin_events, slow_heartbeat, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let bia = t.create_user(tenant, "bia@demo.local", Role::Admin, PASSWORD).await;
    let mut stream = Events::open(browser_stream(&t, &session(&t, "bia@demo.local").await)).await;
    let demote = actions::users::UpdateUser { name: "bia", role: Role::Supervisor, active: true };
    actions::users::update_user(&t.app, &Actor::Operator, tenant, bia.id, demote).await.unwrap();
    // `user.created` goes to admins only; a department (every role hears of it) marks the end.
    t.create_user(tenant, "caio@demo.local", Role::Agent, PASSWORD).await;
    t.department(tenant, "Marker").await;
    let mut seen = Vec::new();
    loop {
        let e = stream.next(Duration::from_secs(10)).await.unwrap_or_else(|| panic!("no marker: {seen:?}"));
        let done = e.kind == "department.created";
        seen.push(e);
        if done {
            break;
        }
    }
    assert!(!seen.iter().any(|e| e.kind == "user.created"), "a supervisor heard an admin event: {seen:?}");
    t.stop().await;
});

engine_test_with!(
    an_agent_s_stream_carries_no_events_of_tickets_they_cannot_open,
    slow_heartbeat,
    |t: TestApp| async move {
        let tenant = t.demo_tenant().await;
        let ana = t.create_user(tenant, "ana@demo.local", Role::Agent, PASSWORD).await;
        let bia = t.create_user(tenant, "bia@demo.local", Role::Agent, PASSWORD).await;
        let (support, sales) = (t.department(tenant, "Suporte").await, t.department(tenant, "Vendas").await);
        for (who, department) in [(&ana, support), (&bia, support), (&bia, sales)] {
            actions::departments::set_member(&t.app, &Actor::Operator, tenant, department, who.id, true).await.unwrap();
        }
        let (sim, conn) = t.simulator(tenant).await;
        let secret = "sim-app-secret";
        let ticket_of = |phone: &'static str| {
            let t = &t;
            async move {
                let sql = format!(
                    "SELECT t.id FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE c.phone LIKE '%{phone}'"
                );
                sqlx::Row::get::<i64, _>(&sqlx::query(&sql).fetch_one(t.app.db.reader()).await.unwrap(), 0)
            }
        };
        let mut stream = Events::open(browser_stream(&t, &session(&t, "ana@demo.local").await)).await;

        // A customer of Vendas, a department Ana is not in: its ticket waits where she cannot see it.
        actions::departments::set_connection_department(&t.app, &Actor::Operator, tenant, conn, Some(sales))
            .await
            .unwrap();
        t.deliver_texts(conn, sim.phone_number_id(), secret, &[("5511911110001", "wamid.X1", "quero comprar")]).await;
        let hidden = ticket_of("5511911110001").await;
        // Then a customer of Suporte, whom she may serve.
        actions::departments::set_connection_department(&t.app, &Actor::Operator, tenant, conn, Some(support))
            .await
            .unwrap();
        t.deliver_texts(conn, sim.phone_number_id(), secret, &[("5511911110002", "wamid.Y1", "socorro")]).await;
        let visible = ticket_of("5511911110002").await;
        let seen = stream.until("message.created", visible).await;
        assert!(seen.iter().any(|e| e.kind == "ticket.created" && e.ticket() == Some(visible)), "{seen:?}");
        assert!(!seen.iter().any(|e| e.ticket() == Some(hidden)), "Ana heard of a Vendas ticket: {seen:?}");

        // Bia takes the Suporte ticket: Ana hears that it left her queue, then nothing more of it.
        actions::inbox::assign(&t.app, &Actor::Operator, tenant, visible, bia.id).await.unwrap();
        let seen = stream.until("ticket.updated", visible).await;
        assert!(!seen.iter().any(|e| e.ticket() == Some(hidden)), "{seen:?}");
        t.deliver_texts(conn, sim.phone_number_id(), secret, &[("5511911110002", "wamid.Y2", "obrigado")]).await;
        t.deliver_texts(conn, sim.phone_number_id(), secret, &[("5511911110001", "wamid.X2", "alô?")]).await;
        t.deliver_texts(conn, sim.phone_number_id(), secret, &[("5511911110003", "wamid.Z1", "oi")]).await;
        let marker = ticket_of("5511911110003").await;
        let seen = stream.until("message.created", marker).await;
        assert!(
            !seen.iter().any(|e| e.ticket() == Some(hidden) || e.ticket() == Some(visible)),
            "Ana heard of tickets she cannot open: {seen:?}"
        );
        t.stop().await;
    }
);
