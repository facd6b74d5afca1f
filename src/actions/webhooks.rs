//! Outgoing webhooks as use cases: subscriptions (admins create, edit and delete them and read
//! their secrets; supervisors see them), deliveries and their attempts, test events, replays,
//! the dead-letter alert and the private-network setting. Fan-out and delivery run as jobs
//! (`jobs::webhooks`); the payload built here is what they send.

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::channels::webhook::{self as http, UrlProblem};
use crate::crypto;
use crate::domain::webhooks::{is_event, EVENTS, TEST_EVENT};
use crate::domain::TenantId;
use crate::store::jobs::NewJob;
use crate::store::webhooks::{Attempt, Delivery, NewSubscription, Subscription};
use crate::store::{self, Tx};

/// Deliveries are retried by their own schedule (a 24-hour window); the job runner's cap only
/// guards against a job whose every run dies mid-way.
const DELIVER_MAX_ATTEMPTS: i64 = 1000;

/// Visible start of every webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";

#[derive(Clone, Debug, Default)]
pub struct SubscriptionInput {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub active: bool,
}

/// A change to a subscription; `None` keeps the field.
#[derive(Clone, Debug, Default)]
pub struct SubscriptionPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    pub active: Option<bool>,
}

fn url_error(p: UrlProblem) -> ActionError {
    match p {
        UrlProblem::Invalid(m) | UrlProblem::Unresolvable(m) => ActionError::invalid("invalid_url", m),
        UrlProblem::Forbidden(m) => ActionError::invalid("webhook_url_forbidden", m),
    }
}

/// A checked URL: http(s), and (unless the tenant allows private networks) leading only to
/// public addresses.
async fn checked_url(app: &App, tenant: TenantId, url: &str) -> ActionResult<String> {
    let parsed = http::parse_url(url).map_err(url_error)?;
    let allow_private = private_networks_allowed(app, tenant).await?;
    http::check_destination(&parsed, allow_private).await.map_err(url_error)?;
    Ok(parsed.to_string())
}

fn checked_events(events: &[String]) -> ActionResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        let e = e.trim();
        if !is_event(e) {
            return Err(ActionError::invalid(
                "invalid_events",
                format!("unknown event {e:?}; events are {}", EVENTS.join(", ")),
            ));
        }
        if !out.iter().any(|o| o == e) {
            out.push(e.to_string());
        }
    }
    if out.is_empty() {
        return Err(ActionError::invalid("invalid_events", "choose at least one event"));
    }
    // The documented order, whatever order they came in.
    out.sort_by_key(|e| EVENTS.iter().position(|k| k == e));
    Ok(out)
}

fn checked_description(d: &str) -> ActionResult<String> {
    let d = d.trim();
    if d.chars().count() > 200 {
        return Err(ActionError::invalid("invalid_description", "the description is 200 characters at most"));
    }
    Ok(d.to_string())
}

/// Creates a subscription; returns it with its secret (shown now; later only to admins).
pub async fn create_subscription(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    input: SubscriptionInput,
) -> ActionResult<(Subscription, String)> {
    actor.require_admin_of(tenant)?;
    let events = checked_events(&input.events)?;
    let description = checked_description(&input.description)?;
    let url = checked_url(app, tenant, &input.url).await?;
    let secret = format!("{SECRET_PREFIX}{}", crypto::random_token(24));
    let sealed = app.master_key.seal(&secret)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let new = NewSubscription {
        url: &url,
        description: &description,
        events: &events,
        secret_sealed: &sealed,
        active: input.active,
    };
    let id = store::webhooks::insert_subscription(&mut *tx, tenant, new, now).await?;
    let details = serde_json::json!({ "url": url, "events": events, "active": input.active });
    store::audit::record(&mut *tx, tenant, &actor.label(), "webhook.created", &format!("webhook:{id}"), &details, now)
        .await?;
    tx.commit().await?;
    let s = store::webhooks::get_subscription(app.db.writer(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    Ok((s, secret))
}

/// Subscriptions of the tenant in id order after `after_id`.
pub async fn list_subscriptions(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    after_id: i64,
    limit: i64,
) -> ActionResult<Vec<Subscription>> {
    actor.require_supervisor_of(tenant)?;
    Ok(store::webhooks::list_subscriptions(app.db.reader(), tenant, after_id, limit).await?)
}

pub async fn get_subscription(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Subscription> {
    actor.require_supervisor_of(tenant)?;
    store::webhooks::get_subscription(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

pub async fn update_subscription(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    patch: SubscriptionPatch,
) -> ActionResult<Subscription> {
    actor.require_admin_of(tenant)?;
    let mut s = store::webhooks::get_subscription(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    if let Some(events) = &patch.events {
        s.events = checked_events(events)?;
    }
    if let Some(d) = &patch.description {
        s.description = checked_description(d)?;
    }
    if let Some(url) = &patch.url {
        s.url = checked_url(app, tenant, url).await?;
    }
    if let Some(active) = patch.active {
        s.active = active;
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::webhooks::update_subscription(&mut *tx, tenant, id, &s, now).await? {
        return Err(ActionError::NotFound);
    }
    let details = serde_json::json!({ "url": s.url, "events": s.events, "active": s.active });
    store::audit::record(&mut *tx, tenant, &actor.label(), "webhook.updated", &format!("webhook:{id}"), &details, now)
        .await?;
    tx.commit().await?;
    store::webhooks::get_subscription(app.db.writer(), tenant, id).await?.ok_or(ActionError::NotFound)
}

pub async fn delete_subscription(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::webhooks::delete_subscription(&mut *tx, tenant, id, now).await? {
        return Err(ActionError::NotFound);
    }
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "webhook.deleted",
        &format!("webhook:{id}"),
        &serde_json::json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The signing secret, for admins; every read is audited (it is a credential).
pub async fn reveal_secret(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<String> {
    actor.require_admin_of(tenant)?;
    let s = store::webhooks::get_subscription(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    let secret = app.master_key.open(&s.secret_sealed)?;
    store::audit::record(
        app.db.writer(),
        tenant,
        &actor.label(),
        "webhook.secret_read",
        &format!("webhook:{id}"),
        &serde_json::json!({}),
        app.clock.now_ms(),
    )
    .await?;
    Ok(secret.expose().to_string())
}

/// Whether webhooks of the tenant may reach private, loopback and link-local addresses: the
/// operator allows it for every company (`allow_private_networks`) or the platform admin did for
/// this one. No company admin can change it.
pub async fn allow_private_networks(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<bool> {
    if !actor.is_platform_admin() {
        actor.require_supervisor_of(tenant)?;
    }
    Ok(private_networks_allowed(app, tenant).await?)
}

/// [`allow_private_networks`] for the server's own use (deliveries, checks), without an actor.
pub(crate) async fn private_networks_allowed(app: &App, tenant: TenantId) -> Result<bool, sqlx::Error> {
    if app.settings.allow_private_networks {
        return Ok(true);
    }
    store::webhooks::allow_private_networks(app.db.reader(), tenant).await
}

/// The platform admin lets one company's webhooks reach private networks (or stops it).
pub async fn set_allow_private_networks(app: &App, actor: &Actor, tenant: TenantId, allow: bool) -> ActionResult<()> {
    if !actor.is_platform_admin() {
        actor.role_of(tenant)?;
        return Err(ActionError::Forbidden);
    }
    store::tenants::get(app.db.reader(), tenant).await?.ok_or(ActionError::NotFound)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::webhooks::set_allow_private_networks(&mut *tx, tenant, allow, now).await?;
    let details = serde_json::json!({ "webhooks_allow_private_networks": allow });
    store::audit::record(&mut *tx, tenant, &actor.label(), "settings.updated", "settings:webhooks", &details, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

// ---------- deliveries ----------

/// A delivery with its attempts.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeliveryDetail {
    pub delivery: Delivery,
    pub attempts: Vec<Attempt>,
}

/// Deliveries of a subscription, newest first, older than `before_id` (`i64::MAX`: newest).
pub async fn list_deliveries(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    subscription_id: i64,
    before_id: i64,
    limit: i64,
) -> ActionResult<Vec<Delivery>> {
    actor.require_supervisor_of(tenant)?;
    store::webhooks::get_subscription(app.db.reader(), tenant, subscription_id).await?.ok_or(ActionError::NotFound)?;
    Ok(store::webhooks::list_deliveries(app.db.reader(), tenant, subscription_id, before_id, limit).await?)
}

pub async fn get_delivery(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<DeliveryDetail> {
    actor.require_supervisor_of(tenant)?;
    let delivery = store::webhooks::get_delivery(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    let attempts = store::webhooks::attempts(app.db.reader(), tenant, id).await?;
    Ok(DeliveryDetail { delivery, attempts })
}

/// Sends a failed delivery again now, with a fresh 24-hour retry window. Receivers see the same
/// delivery id and body (so they can de-duplicate), with a new signature time.
pub async fn replay_delivery(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Delivery> {
    actor.require_supervisor_of(tenant)?;
    let d = store::webhooks::get_delivery(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    store::webhooks::get_subscription(app.db.reader(), tenant, d.subscription_id)
        .await?
        .ok_or(ActionError::NotFound)?;
    if !d.replayable() {
        return Err(ActionError::Conflict {
            code: "delivery_not_replayable",
            message: format!("only failed deliveries can be replayed; this one is {}", d.state),
        });
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let job = enqueue_delivery(&mut tx, tenant, id, d.replays + 1, now).await?;
    if !store::webhooks::restart_delivery(&mut *tx, tenant, id, job, now).await? {
        return Err(ActionError::Conflict {
            code: "delivery_not_replayable",
            message: "the delivery changed meanwhile; reload and try again".into(),
        });
    }
    let details = serde_json::json!({ "subscription_id": d.subscription_id, "event": d.event });
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "webhook.replayed",
        &format!("webhook_delivery:{id}"),
        &details,
        now,
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_waiters();
    store::webhooks::get_delivery(app.db.writer(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// Queues a `webhook.test` delivery to a subscription (to check the endpoint and signature).
pub async fn send_test(app: &App, actor: &Actor, tenant: TenantId, subscription_id: i64) -> ActionResult<Delivery> {
    actor.require_supervisor_of(tenant)?;
    store::webhooks::get_subscription(app.db.reader(), tenant, subscription_id).await?.ok_or(ActionError::NotFound)?;
    let t = store::tenants::get(app.db.reader(), tenant).await?.ok_or(ActionError::NotFound)?;
    let now = app.clock.now_ms();
    let data = serde_json::json!({ "message": "Atende webhook test", "subscription_id": subscription_id });
    let mut tx = app.db.begin().await?;
    let id = create_delivery(&mut tx, tenant, &t.slug, subscription_id, None, TEST_EVENT, now, &data, now)
        .await?
        .ok_or_else(|| ActionError::Internal(anyhow::anyhow!("a test delivery insert returned no row")))?;
    tx.commit().await?;
    app.jobs_wakeup.notify_waiters();
    store::webhooks::get_delivery(app.db.writer(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// Dead-lettered deliveries per subscription (id, count) for the alert; empty for agents.
pub async fn dead_letters(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<(i64, i64)>> {
    match actor.require_supervisor_of(tenant) {
        Ok(_) => Ok(store::webhooks::dead_counts(app.db.reader(), tenant).await?),
        Err(ActionError::Forbidden) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

// ---------- payloads (used by the fan-out) ----------

/// The body every receiver gets: `{id, event, created_at, tenant, data}`.
pub fn body(
    delivery_id: i64,
    event: &str,
    created_at: i64,
    tenant: TenantId,
    slug: &str,
    data: &serde_json::Value,
) -> String {
    serde_json::json!({
        "id": delivery_id,
        "event": event,
        "created_at": rfc3339(created_at),
        "tenant": { "id": tenant.0, "slug": slug },
        "data": data,
    })
    .to_string()
}

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Creates a delivery (with its body, which names the delivery id) and its job, in the
/// caller's transaction; `None` when this (subscription, event) already has one.
#[allow(clippy::too_many_arguments)]
pub async fn create_delivery(
    tx: &mut Tx,
    tenant: TenantId,
    slug: &str,
    subscription_id: i64,
    event_id: Option<i64>,
    event: &str,
    event_at: i64,
    data: &serde_json::Value,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let Some(id) =
        store::webhooks::insert_delivery(&mut **tx, tenant, subscription_id, event_id, event, "", now).await?
    else {
        return Ok(None);
    };
    let job = enqueue_delivery(tx, tenant, id, 0, now).await?;
    store::webhooks::set_delivery_body(&mut **tx, tenant, id, &body(id, event, event_at, tenant, slug, data), job)
        .await?;
    Ok(Some(id))
}

async fn enqueue_delivery(
    tx: &mut Tx,
    tenant: TenantId,
    delivery_id: i64,
    replay: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let payload = serde_json::json!({ "delivery_id": delivery_id });
    let dedupe = format!("webhook:{delivery_id}:{replay}");
    let job = NewJob {
        tenant_id: tenant,
        kind: crate::domain::jobs::JobKind::DeliverWebhook.as_str(),
        payload: &payload,
        run_at: now,
        max_attempts: DELIVER_MAX_ATTEMPTS,
        dedupe_key: Some(&dedupe),
    };
    Ok(store::jobs::enqueue(&mut **tx, job, now).await?.map(|j| j.0))
}

/// The `data` of a webhook: the live event's ids and fields, plus the record it is about as it
/// is now (message with its ticket and contact ids, status and error; ticket with status,
/// department and assignee; contact). A record deleted meanwhile leaves the ids only.
pub async fn event_data(app: &App, tenant: TenantId, kind: &str, raw: &str) -> anyhow::Result<serde_json::Value> {
    let mut data: serde_json::Value = serde_json::from_str(raw).unwrap_or_else(|_| serde_json::json!({}));
    if !data.is_object() {
        data = serde_json::json!({ "value": data });
    }
    let id_of = |key: &str| data.get(key).and_then(|v| v.as_i64());
    let db = app.db.reader();
    let extra = if kind.starts_with("message.") {
        match id_of("message_id") {
            Some(id) => store::messages::get(db, tenant, id).await?.map(|m| {
                (
                    "message",
                    serde_json::json!({
                        "id": m.id,
                        "ticket_id": m.ticket_id,
                        "contact_id": m.contact_id,
                        "connection_id": m.connection_id,
                        "direction": m.direction,
                        "kind": m.kind,
                        "body": m.body,
                        "status": m.status,
                        "error_code": m.error_code,
                        "error_title": m.error_title,
                        "provider_id": m.provider_id,
                        "media_mime": m.media_mime,
                        "sender_user_id": m.sender_user_id,
                        "sent_at": rfc3339(m.sent_at),
                    }),
                )
            }),
            None => None,
        }
    } else if kind.starts_with("ticket.") {
        match id_of("ticket_id") {
            Some(id) => store::tickets::get(db, tenant, id).await?.map(|t| {
                (
                    "ticket",
                    serde_json::json!({
                        "id": t.id,
                        "protocol": t.protocol,
                        "status": t.status,
                        "contact_id": t.contact_id,
                        "connection_id": t.connection_id,
                        "department_id": t.department_id,
                        "assignee_id": t.assignee_id,
                        "priority": t.priority,
                        "created_at": rfc3339(t.created_at),
                        "closed_at": t.closed_at.map(rfc3339),
                        "csat_rating": t.csat_rating,
                    }),
                )
            }),
            None => None,
        }
    } else if kind.starts_with("contact.") {
        match id_of("contact_id") {
            Some(id) => store::contacts::get(db, tenant, id).await?.map(|c| {
                let fields: serde_json::Value =
                    serde_json::from_str(&c.custom_fields).unwrap_or_else(|_| serde_json::json!({}));
                (
                    "contact",
                    serde_json::json!({
                        "id": c.id,
                        "name": c.name,
                        "phone": c.phone,
                        "email": c.email,
                        "custom_fields": fields,
                        "created_at": rfc3339(c.created_at),
                    }),
                )
            }),
            None => None,
        }
    } else {
        None
    };
    if let (Some((key, value)), Some(obj)) = (extra, data.as_object_mut()) {
        obj.insert(key.to_string(), value);
    }
    Ok(data)
}
