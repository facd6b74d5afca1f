//! Live events over server-sent events: the API stream (`/api/v1/events`, bearer token) and the
//! browser stream (`/events`, session cookie) — tenant isolation, role filtering, heartbeats and
//! `Last-Event-ID` resume. On PostgreSQL the events travel through LISTEN/NOTIFY.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use atende::actions::{self, Actor};
use atende::domain::{Role, Scope, TenantId};
use atende::store::users::User;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use crate::engine_test;
use crate::engine_test_with;
use crate::support::TestApp;

const PASSWORD: &str = "correct horse battery";
/// How long a client waits for an event that must come.
const WAIT: Duration = Duration::from_secs(10);

/// One dispatched SSE event.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SseEvent {
    id: Option<String>,
    event: Option<String>,
    pub(crate) data: String,
}

impl SseEvent {
    pub(crate) fn kind(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("event data is not JSON ({e}): {self:?}"))
    }

    fn id_number(&self) -> i64 {
        self.id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("event without a numeric id: {self:?}"))
    }

    fn user_id(&self) -> i64 {
        self.json()["user_id"].as_i64().unwrap_or_else(|| panic!("no user_id: {self:?}"))
    }
}

/// What a stream carries: a comment line (`: heartbeat`) or an event.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item {
    Comment(String),
    Event(SseEvent),
}

/// A minimal SSE client: splits the body into lines and collects `id:`, `event:` and `data:`
/// fields until a blank line dispatches the event.
pub(crate) struct SseClient {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>,
    buffer: Vec<u8>,
    pending: SseEvent,
    has_fields: bool,
    items: VecDeque<Item>,
    ended: bool,
}

impl SseClient {
    /// Sends the request and checks that an event stream answers.
    async fn open(request: reqwest::RequestBuilder) -> SseClient {
        let response = request.send().await.expect("connect to the event stream");
        assert_eq!(response.status(), 200, "event stream refused: {:?}", response.headers());
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        SseClient {
            body: Box::pin(response.bytes_stream().map(|chunk| chunk.map(|b| b.to_vec()))),
            buffer: Vec::new(),
            pending: SseEvent::default(),
            has_fields: false,
            items: VecDeque::new(),
            ended: false,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
        while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8(raw).expect("UTF-8 event stream");
            self.line(line.trim_end_matches(['\n', '\r']));
        }
    }

    fn line(&mut self, line: &str) {
        if line.is_empty() {
            if std::mem::take(&mut self.has_fields) {
                let event = std::mem::take(&mut self.pending);
                self.items.push_back(Item::Event(event));
            }
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "" => self.items.push_back(Item::Comment(value.to_string())),
            "id" => self.pending.id = Some(value.to_string()),
            "event" => self.pending.event = Some(value.to_string()),
            "data" => {
                if !self.pending.data.is_empty() {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
            }
            _ => {}
        }
        if !field.is_empty() {
            self.has_fields = true;
        }
    }

    /// The next item before `deadline`; `None` on timeout or when the stream ended.
    async fn next_before(&mut self, deadline: Instant) -> Option<Item> {
        loop {
            if let Some(item) = self.items.pop_front() {
                return Some(item);
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(chunk))) => self.feed(&chunk),
                Ok(Some(Err(e))) => panic!("event stream failed: {e}"),
                Ok(None) => self.ended = true,
            }
        }
    }

    /// The next event (comments skipped); panics when none comes within [`WAIT`].
    async fn next_event(&mut self) -> SseEvent {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.next_before(deadline).await {
                Some(Item::Event(e)) => return e,
                Some(Item::Comment(_)) => continue,
                None => panic!("no event arrived within {WAIT:?}"),
            }
        }
    }

    /// Events up to and including the first of `kind`.
    pub(crate) async fn events_until(&mut self, kind: &str) -> Vec<SseEvent> {
        let mut seen = Vec::new();
        loop {
            let e = self.next_event().await;
            let done = e.kind() == kind;
            seen.push(e);
            if done {
                return seen;
            }
        }
    }

    /// Everything that arrives during `period`.
    pub(crate) async fn collect_for(&mut self, period: Duration) -> Vec<Item> {
        let deadline = Instant::now() + period;
        let mut items = Vec::new();
        while let Some(item) = self.next_before(deadline).await {
            items.push(item);
        }
        items
    }
}

/// Opens the API stream with a bearer token and waits for `ready`.
async fn api_stream(t: &TestApp, token: &str, last_event_id: Option<i64>) -> (SseClient, Vec<SseEvent>) {
    let mut request = reqwest::Client::new().get(t.url("/api/v1/events")).bearer_auth(token);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let mut client = SseClient::open(request).await;
    let mut before_ready = client.events_until("ready").await;
    before_ready.pop();
    (client, before_ready)
}

/// Opens the browser stream of a logged-in client and waits for `ready`.
pub(crate) async fn browser_stream(t: &TestApp, browser: &reqwest::Client) -> SseClient {
    let mut client = SseClient::open(browser.get(t.url("/events"))).await;
    let before_ready = client.events_until("ready").await;
    assert_eq!(before_ready.len(), 1, "nothing precedes ready without Last-Event-ID: {before_ready:?}");
    client
}

/// An admin of `tenant` creates a user through the actions layer.
async fn admin_creates_user(t: &TestApp, admin: &User, tenant: TenantId, email: &str) -> User {
    let input = actions::users::CreateUser { email, name: "Someone New", role: Role::Agent, password: Some(PASSWORD) };
    actions::users::create_user(&t.app, &Actor::User(admin.clone()), tenant, input).await.expect("create user").0
}

/// On PostgreSQL an event committed just before a client connected can still be on its way
/// through NOTIFY and arrive live. This publishes a marker event in `tenant` and drains the stream
/// up to it (events are delivered in commit order), checking everything drained is the tenant's.
async fn settle(t: &TestApp, stream: &mut SseClient, admin: &User, tenant: TenantId, marker: &str) {
    let marker = admin_creates_user(t, admin, tenant, marker).await;
    loop {
        let e = stream.next_event().await;
        let own = format!("id = {} AND tenant_id = {}", e.id_number(), tenant.0);
        assert_eq!(t.count("events", &own).await, 1, "an event of another tenant: {e:?}");
        if e.kind() == "user.created" && e.user_id() == marker.id.0 {
            return;
        }
    }
}

fn assert_user_created(e: &SseEvent, user: &User) {
    assert_eq!(e.kind(), "user.created", "{e:?}");
    assert!(e.id_number() > 0, "{e:?}");
    assert_eq!(e.user_id(), user.id.0, "{e:?}");
}

engine_test!(an_api_stream_gets_its_tenants_events_and_none_of_another_tenant, |t: TestApp| async move {
    let a = t.create_tenant("alpha").await;
    let b = t.create_tenant("beta").await;
    let admin_a = t.create_user(a, "admin@alpha.test", Role::Admin, PASSWORD).await;
    let admin_b = t.create_user(b, "admin@beta.test", Role::Admin, PASSWORD).await;
    let (mut stream_a, _) = api_stream(&t, &t.token(a, &[Scope::Read]).await, None).await;
    let (mut stream_b, _) = api_stream(&t, &t.token(b, &[Scope::Read]).await, None).await;
    settle(&t, &mut stream_a, &admin_a, a, "marker@alpha.test").await;
    settle(&t, &mut stream_b, &admin_b, b, "marker@beta.test").await;

    let new_a = admin_creates_user(&t, &admin_a, a, "new@alpha.test").await;
    let event = stream_a.next_event().await;
    assert_user_created(&event, &new_a);
    let data = event.json();
    assert_eq!(data["role"], "agent", "{data}");
    assert_eq!(data["name"], "Someone New", "{data}");
    let row = format!("id = {} AND tenant_id = {} AND kind = 'user.created'", event.id_number(), a.0);
    assert_eq!(t.count("events", &row).await, 1, "the SSE id is the event log's id");

    // B's own later event is the first thing B sees: A's event, published earlier, never came.
    let new_b = admin_creates_user(&t, &admin_b, b, "new@beta.test").await;
    assert_user_created(&stream_b.next_event().await, &new_b);
    // And the other way round.
    let second_a = admin_creates_user(&t, &admin_a, a, "second@alpha.test").await;
    assert_user_created(&stream_a.next_event().await, &second_a);
    let second_b = admin_creates_user(&t, &admin_b, b, "second@beta.test").await;
    assert_user_created(&stream_b.next_event().await, &second_b);
    drop((stream_a, stream_b));
    t.stop().await;
});

engine_test_with!(
    the_browser_stream_shows_admin_events_to_admins_only_and_sends_heartbeats,
    |s: &mut atende::config::Settings| s.sse_heartbeat_secs = 1,
    |t: TestApp| async move {
        let demo = t.demo_tenant().await;
        let admin = t.create_user(demo, "boss@demo.test", Role::Admin, PASSWORD).await;
        t.create_user(demo, "agent@demo.test", Role::Agent, PASSWORD).await;
        let admin_browser = t.login("boss@demo.test", PASSWORD, "demo").await;
        let agent_browser = t.login("agent@demo.test", PASSWORD, "demo").await;
        let mut admin_stream = browser_stream(&t, &admin_browser).await;
        let mut agent_stream = browser_stream(&t, &agent_browser).await;
        settle(&t, &mut admin_stream, &admin, demo, "marker@demo.test").await;

        let new = admin_creates_user(&t, &admin, demo, "new@demo.test").await;
        assert_user_created(&admin_stream.next_event().await, &new);

        let agent_saw = agent_stream.collect_for(Duration::from_millis(2500)).await;
        let events: Vec<&Item> = agent_saw.iter().filter(|i| matches!(i, Item::Event(_))).collect();
        assert!(events.is_empty(), "an agent received admin-only events: {events:?}");
        let heartbeats = agent_saw.iter().filter(|i| **i == Item::Comment("heartbeat".into())).count();
        assert!(heartbeats >= 2, "expected a heartbeat every second, got {agent_saw:?}");

        let admin_saw = admin_stream.collect_for(Duration::from_millis(1500)).await;
        assert!(admin_saw.contains(&Item::Comment("heartbeat".into())), "{admin_saw:?}");
        drop((admin_stream, agent_stream));
        t.stop().await;
    }
);

engine_test!(a_reconnecting_client_gets_exactly_the_events_it_missed_in_order, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let admin = t.create_user(demo, "boss@demo.test", Role::Admin, PASSWORD).await;
    let token = t.token(demo, &[Scope::Read]).await;

    let (mut stream, _) = api_stream(&t, &token, None).await;
    settle(&t, &mut stream, &admin, demo, "marker@demo.test").await;
    let first = admin_creates_user(&t, &admin, demo, "first@demo.test").await;
    let seen = stream.next_event().await;
    assert_user_created(&seen, &first);
    let last_seen = seen.id_number();
    drop(stream);

    let second = admin_creates_user(&t, &admin, demo, "second@demo.test").await;
    let third = admin_creates_user(&t, &admin, demo, "third@demo.test").await;

    let (mut stream, replayed) = api_stream(&t, &token, Some(last_seen)).await;
    assert_eq!(replayed.len(), 2, "{replayed:?}");
    assert_user_created(&replayed[0], &second);
    assert_user_created(&replayed[1], &third);
    assert!(last_seen < replayed[0].id_number() && replayed[0].id_number() < replayed[1].id_number());

    // The replayed events are not delivered a second time live: the next one is new.
    let fourth = admin_creates_user(&t, &admin, demo, "fourth@demo.test").await;
    assert_user_created(&stream.next_event().await, &fourth);
    drop(stream);
    t.stop().await;
});

engine_test!(a_resumed_browser_stream_replays_only_what_the_viewer_may_see, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let admin = t.create_user(demo, "boss@demo.test", Role::Admin, PASSWORD).await;
    t.create_user(demo, "agent@demo.test", Role::Agent, PASSWORD).await;
    let new = admin_creates_user(&t, &admin, demo, "new@demo.test").await;

    let resume = |browser: reqwest::Client| SseClient::open(browser.get(t.url("/events")).header("Last-Event-ID", "0"));
    let mut admin_stream = resume(t.login("boss@demo.test", PASSWORD, "demo").await).await;
    let admin_replay = admin_stream.events_until("ready").await;
    let created: Vec<i64> = admin_replay.iter().filter(|e| e.kind() == "user.created").map(|e| e.user_id()).collect();
    assert!(created.contains(&new.id.0), "{admin_replay:?}");

    let mut agent_stream = resume(t.login("agent@demo.test", PASSWORD, "demo").await).await;
    let agent_replay = agent_stream.events_until("ready").await;
    assert_eq!(agent_replay.len(), 1, "an agent was replayed admin-only events: {agent_replay:?}");
    drop((admin_stream, agent_stream));
    t.stop().await;
});

engine_test!(the_browser_stream_without_a_session_redirects_to_login, |t: TestApp| async move {
    let response = t.browser().get(t.url("/events")).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers().get("location").unwrap().to_str().unwrap();
    assert!(location.starts_with("/login"), "{location}");
    assert!(location.contains("next=/events") || location.contains("next=%2Fevents"), "{location}");
    t.stop().await;
});

engine_test!(an_open_browser_stream_marks_its_person_present, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let agent = t.create_user(demo, "presente@demo.com", Role::Agent, "senha-presente-1").await;
    assert_eq!(t.count("users", &format!("id = {} AND last_seen_at IS NOT NULL", agent.id)).await, 0);
    let browser = t.login("presente@demo.com", "senha-presente-1", "demo").await;
    let _stream = browser_stream(&t, &browser).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while t.count("users", &format!("id = {} AND last_seen_at IS NOT NULL", agent.id)).await == 0 {
        assert!(Instant::now() < deadline, "presence was not recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t.stop().await;
});
