//! Sending to a customer. Every send is stored `queued` and its job enqueued in the same
//! transaction; the job (`jobs::whatsapp_send`) calls the provider, records the provider's id and
//! moves the status on. Rules checked here, before anything reaches Meta: tenant isolation, the
//! 24-hour customer-service window (only templates outside it), idempotency keys (a repeated
//! request returns the first message and sends nothing more).

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::jobs::JobKind;
use crate::domain::message::{DeliveryStatus, MessageKind};
use crate::domain::outbound::{MediaKind, MediaSource, Outbound, OutboundContent};
use crate::domain::{phone, TenantId};
use crate::store::connections::Connection;
use crate::store::jobs::NewJob;
use crate::store::messages::{NewMessage, StoredMessage};
use crate::store::tickets::Ticket;
use crate::store::users::User;
use crate::store::{self, Tx};

/// Tries of a send before the message is marked failed: at once, 30 s, then doubling to an hour
/// (about two hours in all).
pub const SEND_MAX_ATTEMPTS: i64 = 10;
const MARK_READ_MAX_ATTEMPTS: i64 = 5;
const IDEMPOTENCY_KEY_MAX: usize = 200;

/// Whom a message goes to.
#[derive(Clone, Debug)]
pub enum SendTarget {
    /// The contact of this ticket, through the ticket's connection.
    Ticket(i64),
    /// A phone number through a connection; finds or creates the contact and its ticket.
    Phone { connection_id: i64, phone: String },
}

#[derive(Clone, Debug)]
pub struct SendRequest {
    pub tenant: TenantId,
    pub target: SendTarget,
    pub content: OutboundContent,
    /// Provider id of the message this one quotes.
    pub reply_to: Option<String>,
    /// The same key again returns the first message and sends nothing.
    pub idempotency_key: Option<String>,
    /// A marketing message (needs the contact's marketing opt-in, whatever the content).
    pub marketing: bool,
}

/// Queues a message; returns it as stored (`queued`), or the earlier one with the same key.
pub async fn send_message(app: &App, actor: &Actor, req: SendRequest) -> ActionResult<StoredMessage> {
    let tenant = req.tenant;
    actor.require_sender_in(tenant)?;
    req.content.validate().map_err(|m| ActionError::invalid("invalid_message", m))?;
    let key = match req.idempotency_key.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(k) if k.len() > IDEMPOTENCY_KEY_MAX => {
            return Err(ActionError::invalid("invalid_idempotency_key", "idempotency key is too long (200 at most)"))
        }
        Some(k) => Some(k.to_string()),
    };
    if let Some(k) = &key {
        if let Some(existing) = store::messages::find_by_idempotency_key(app.db.reader(), tenant, k).await? {
            return Ok(existing);
        }
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut events = Vec::new();
    let ticket = match &req.target {
        SendTarget::Ticket(id) => {
            // People reply only on tickets they may see (another's ticket answers "not found").
            let viewer = super::inbox::viewer(actor, tenant)?;
            store::inbox::get(&mut *tx, &viewer, *id).await?.ok_or(ActionError::NotFound)?;
            store::tickets::get(&mut *tx, tenant, *id).await?.ok_or(ActionError::NotFound)?
        }
        SendTarget::Phone { connection_id, phone } => {
            let connection =
                store::connections::get(&mut *tx, tenant, *connection_id).await?.ok_or(ActionError::NotFound)?;
            let ticket_id = ticket_for_phone(app, actor, &mut tx, tenant, &connection, phone, now, &mut events).await?;
            store::tickets::get(&mut *tx, tenant, ticket_id).await?.ok_or(ActionError::NotFound)?
        }
    };
    let mut content = req.content;
    match actor {
        Actor::Token(_) => {
            // API sends fill `{{nome}}`, `{{telefone}}`, `{{email}}` and custom fields from the
            // recipient; what the contact lacks becomes blank (no person reads it first).
            let contact =
                store::contacts::get(&mut *tx, tenant, ticket.contact_id).await?.ok_or(ActionError::NotFound)?;
            content.map_texts(&|text| super::contacts::fill_template(text, &contact));
            content.validate().map_err(|m| ActionError::invalid("invalid_message", m))?;
        }
        Actor::User(u) => {
            // People's texts fill the quick-reply variables and the contact's; a variable
            // nobody knows stays as typed, so the agent sees the typo in the conversation.
            let contact =
                store::contacts::get(&mut *tx, tenant, ticket.contact_id).await?.ok_or(ActionError::NotFound)?;
            content.map_texts(&|text| super::quick_replies::fill_for_person(text, &contact, &ticket, &u.name));
            content.validate().map_err(|m| ActionError::invalid("invalid_message", m))?;
        }
        _ => {}
    }
    let queued = QueueMessage {
        marketing: req.marketing,
        content,
        reply_to: req.reply_to,
        idempotency_key: key.as_deref(),
        sender: match actor {
            Actor::User(u) => Some(u),
            _ => None,
        },
        sign: true,
        automatic: false,
    };
    let Some(message_id) = queue_on_ticket(app, &mut tx, &ticket, queued, now, &mut events).await? else {
        // The same key committed meanwhile (a concurrent retry of the request): return that one.
        drop(tx);
        let k = key.as_deref().unwrap_or_default();
        return store::messages::find_by_idempotency_key(app.db.reader(), tenant, k).await?.ok_or_else(|| {
            ActionError::Conflict { code: "duplicate_message", message: "this message already exists".into() }
        });
    };
    tx.commit().await?;
    app.bus.deliver(events);
    app.jobs_wakeup.notify_one();
    store::messages::get(app.db.reader(), tenant, message_id).await?.ok_or(ActionError::NotFound)
}

/// One outbound message for [`queue_on_ticket`].
pub(crate) struct QueueMessage<'a> {
    pub content: OutboundContent,
    pub reply_to: Option<String>,
    pub idempotency_key: Option<&'a str>,
    /// The person sending (stored as the message's agent); `None` for tokens and the system.
    pub sender: Option<&'a User>,
    /// Apply the agent's signature when the department or the agent enables it.
    pub sign: bool,
    /// Sent by automation (greeting, away, chatbot): stored with `origin = 'bot'`, counted by
    /// the loop cap.
    pub automatic: bool,
    /// Flagged marketing by the caller (campaigns, an API send with `marketing: true`); a
    /// MARKETING template is marketing anyway.
    pub marketing: bool,
}

/// Inside the caller's transaction: checks the connection, the 24-hour window and the contact's
/// consent (`actions::consent::check_send`: marketing, opt-out, template approval), stores the
/// message `queued` and enqueues its send job; returns `None` when the idempotency key is taken.
/// The caller commits, then delivers `events` and wakes the workers.
pub(crate) async fn queue_on_ticket(
    app: &App,
    tx: &mut Tx,
    ticket: &Ticket,
    m: QueueMessage<'_>,
    now: i64,
    events: &mut Vec<store::events::StoredEvent>,
) -> ActionResult<Option<i64>> {
    let tenant = ticket.tenant_id;
    let connection =
        store::connections::get(&mut **tx, tenant, ticket.connection_id).await?.ok_or(ActionError::NotFound)?;
    check_connection(&connection)?;
    // The consent rule, for every path that sends (see `actions::consent::check_send`).
    super::consent::check_send(
        tx,
        tenant,
        ticket.contact_id,
        connection.id,
        &m.content,
        m.marketing,
        ticket.last_inbound_at,
        now,
    )
    .await?;
    let in_window = crate::domain::channel::free_form_allowed(&connection.kind, ticket.last_inbound_at, now);
    if !in_window && !m.content.allowed_outside_window() {
        return Err(ActionError::invalid(
            "outside_window",
            "the customer has not written in the last 24 hours: WhatsApp allows only an approved template now",
        ));
    }
    let mut content = m.content;
    if let (Some(user), OutboundContent::Text { body, .. }, true) = (m.sender, &mut content, m.sign) {
        let department_signs = match ticket.department_id {
            Some(d) => store::departments::get(&mut **tx, tenant, d).await?.is_some_and(|d| d.sign_messages),
            None => false,
        };
        if user.signature_enabled || department_signs {
            *body = crate::domain::inbox::sign(&user.name, body);
        }
    }
    let outbound = Outbound { content, reply_to: m.reply_to };
    let payload = serde_json::to_string(&outbound).map_err(anyhow::Error::from)?;
    let refers_to = match &outbound.content {
        OutboundContent::Reaction { to_provider_id, .. } => Some(to_provider_id.as_str()),
        _ => outbound.reply_to.as_deref(),
    };
    let media_mime = match &outbound.content {
        OutboundContent::Media { source: MediaSource::Stored { mime, .. }, .. } => Some(mime.as_str()),
        _ => None,
    };
    let summary = outbound.content.summary();
    let kind = outbound.content.kind();
    let new = NewMessage {
        tenant_id: tenant,
        connection_id: connection.id,
        ticket_id: ticket.id,
        contact_id: ticket.contact_id,
        direction: "out",
        provider_id: None,
        kind,
        body: summary.as_deref(),
        payload: &payload,
        refers_to,
        status: DeliveryStatus::Queued,
        media_id: None,
        media_mime,
        idempotency_key: m.idempotency_key,
        sender_user_id: m.sender.map(|u| u.id.0),
        origin: m.automatic.then_some("bot"),
        sent_at: now,
    };
    let Some(message_id) = store::messages::insert(&mut **tx, new, now).await? else {
        return Ok(None);
    };
    let job_payload = serde_json::json!({ "message_id": message_id });
    let dedupe = send_job_key(message_id);
    let job = NewJob {
        tenant_id: tenant,
        kind: JobKind::Send.as_str(),
        payload: &job_payload,
        run_at: now,
        max_attempts: SEND_MAX_ATTEMPTS,
        dedupe_key: Some(&dedupe),
    };
    store::jobs::enqueue(&mut **tx, job, now).await?;
    let preview = crate::domain::inbox::preview(kind, summary.as_deref());
    store::tickets::record_outbound(&mut **tx, tenant, ticket.id, &preview, m.sender.is_some(), now).await?;
    let data = serde_json::json!({ "message_id": message_id, "ticket_id": ticket.id, "contact_id": ticket.contact_id, "direction": "out" });
    events.push(app.bus.record(tx, tenant, "message.created", Audience::Tenant, data, now).await?);
    Ok(Some(message_id))
}

/// The dedupe key of a message's send job: one send job per message, ever.
pub(crate) fn send_job_key(message_id: i64) -> String {
    format!("send:{message_id}")
}

/// Today's date for protocol numbers, on the company's clock: its time zone's offset at this
/// moment (summer time included); the stored fixed offset only when the zone name is unusable.
pub(crate) async fn protocol_day(tx: &mut Tx, tenant: TenantId, now: i64) -> ActionResult<i64> {
    let zone = store::automation::time_zone(&mut **tx, tenant).await?;
    let offset = match crate::domain::hours::parse_tz(&zone) {
        Some(tz) => crate::domain::hours::offset_minutes(tz, now),
        None => store::settings::get(&mut **tx, tenant).await?.utc_offset_minutes,
    };
    Ok(crate::domain::inbox::local_day(now, offset))
}

/// The contact with this phone (created if new) and its current ticket on the connection
/// (opened if none: `open` and the sender's when a person sends, with a protocol number).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn ticket_for_phone(
    app: &App,
    actor: &Actor,
    tx: &mut Tx,
    tenant: TenantId,
    connection: &Connection,
    input: &str,
    now: i64,
    events: &mut Vec<store::events::StoredEvent>,
) -> ActionResult<i64> {
    let contact_id = contact_for_phone(app, tx, tenant, input, now, events).await?;
    let ticket_id = match store::tickets::find_current(&mut **tx, tenant, contact_id, connection.id).await? {
        Some(id) => id,
        None => {
            let day = protocol_day(tx, tenant, now).await?;
            let seq = store::tickets::allocate_protocols(&mut **tx, tenant, day, 1).await?;
            let protocol = crate::domain::inbox::format_protocol(day, seq);
            let insert = store::tickets::TicketInsert {
                tenant_id: tenant,
                contact_id,
                connection_id: connection.id,
                status: "open",
                protocol: &protocol,
                department_id: connection.default_department_id,
                assignee_id: actor.user_id().map(|u| u.0),
            };
            let id = store::tickets::insert(&mut **tx, insert, now).await?;
            let event = store::ticket_events::TicketEvent {
                ticket_id: id,
                kind: "created".into(),
                actor_user_id: actor.user_id().map(|u| u.0),
                to_department_id: connection.default_department_id,
                to_user_id: actor.user_id().map(|u| u.0),
                ..Default::default()
            };
            store::ticket_events::insert(&mut **tx, tenant, &event, now).await?;
            let data = serde_json::json!({ "ticket_id": id, "contact_id": contact_id });
            events.push(app.bus.record(tx, tenant, "ticket.created", Audience::Tenant, data, now).await?);
            id
        }
    };
    Ok(ticket_id)
}

/// The contact with this phone (international form; the Brazilian ninth digit either way),
/// created if new — with its phone identities and a `contact.created` event in `events`.
pub(crate) async fn contact_for_phone(
    app: &App,
    tx: &mut Tx,
    tenant: TenantId,
    input: &str,
    now: i64,
    events: &mut Vec<store::events::StoredEvent>,
) -> ActionResult<i64> {
    let digits = phone::normalize(input, None).ok_or_else(|| {
        ActionError::invalid("invalid_phone", "the phone number must be in international form, e.g. +55 11 98765-4321")
    })?;
    let key = phone::match_key(&digits);
    let upsert = store::contacts::ContactUpsert {
        tenant_id: tenant,
        phone: &digits,
        phone_key: &key,
        wa_id: None,
        name: "",
        username: None,
    };
    let (contact_id, created) = store::contacts::upsert_by_phone(&mut **tx, upsert, now).await?;
    if created {
        store::identities::sync_phone_identities(tx, tenant, &[contact_id], now).await?;
        let data = serde_json::json!({ "contact_id": contact_id });
        events.push(app.bus.record(tx, tenant, "contact.created", Audience::Tenant, data, now).await?);
    }
    Ok(contact_id)
}

fn check_connection(c: &Connection) -> ActionResult<()> {
    // A QR-code session that is down still takes messages: they wait, queued, until it is back.
    if crate::domain::channel::ChannelKind::parse(&c.kind).is_none() || !c.active || c.removed_at.is_some() {
        return Err(ActionError::invalid("connection_inactive", "this connection is not active"));
    }
    if c.needs_reauth {
        return Err(ActionError::invalid(
            "connection_needs_reauth",
            "this number's access token expired or was revoked: an admin must reconnect it before sending",
        ));
    }
    Ok(())
}

/// Tells the customer their message was read (blue ticks), through a job.
pub async fn mark_read(app: &App, actor: &Actor, tenant: TenantId, message_id: i64) -> ActionResult<()> {
    actor.require_sender_in(tenant)?;
    let message = store::messages::get(app.db.reader(), tenant, message_id).await?.ok_or(ActionError::NotFound)?;
    if message.direction != "in" || message.provider_id.is_none() {
        return Err(ActionError::invalid("not_inbound", "only a received message can be marked as read"));
    }
    let now = app.clock.now_ms();
    let payload = serde_json::json!({ "message_id": message_id });
    let dedupe = format!("read:{message_id}");
    let job = NewJob {
        tenant_id: tenant,
        kind: JobKind::MarkRead.as_str(),
        payload: &payload,
        run_at: now,
        max_attempts: MARK_READ_MAX_ATTEMPTS,
        dedupe_key: Some(&dedupe),
    };
    if store::jobs::enqueue(app.db.writer(), job, now).await?.is_some() {
        app.jobs_wakeup.notify_one();
    }
    Ok(())
}

/// Stores a file people attach (content-addressed) after checking its real type and WhatsApp's
/// size limit; returns the source to send it with (the send job uploads it to Graph).
pub async fn store_attachment(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    kind: MediaKind,
    data: Vec<u8>,
) -> ActionResult<MediaSource> {
    actor.require_sender_in(tenant)?;
    let message_kind = match kind {
        MediaKind::Image => MessageKind::Image,
        MediaKind::Audio => MessageKind::Audio,
        MediaKind::Video => MessageKind::Video,
        MediaKind::Document => MessageKind::Document,
        MediaKind::Sticker => MessageKind::Sticker,
    };
    let limit = message_kind.media_limit_bytes();
    if data.is_empty() {
        return Err(ActionError::invalid("empty_file", "the file is empty"));
    }
    if data.len() as u64 > limit {
        return Err(ActionError::invalid(
            "file_too_large",
            format!("{} files may have at most {} MB", kind.as_str(), limit / (1024 * 1024)),
        ));
    }
    let mime = crate::domain::media::sniff(&data, None);
    let sha256 = store::files::put(&app.settings.data_dir, data).await?;
    Ok(MediaSource::Stored { sha256, mime: mime.to_string() })
}
