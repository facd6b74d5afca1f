//! WhatsApp by QR code: an admin adds a connection and Atende creates its instance on the
//! operator's gateway; the QR appears and rotates until the phone scans it; the session may drop
//! (reconnected with back-off by a durable job) or be unlinked on the phone (a new QR is
//! needed); an admin can ask for a pairing code, reconnect, disconnect or remove it. Every state
//! change is recorded on the connection, shown live to the company's admins and sent as the
//! `connection.updated` webhook event.

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::channels::whatsapp_qr::client::{Connect, Instance, Qr};
use crate::channels::whatsapp_qr::events::SessionEvent;
use crate::channels::ProviderError;
use crate::config::Secret;
use crate::domain::access::{Audience, Role};
use crate::domain::channel::ChannelKind;
use crate::domain::connection::ConnectionState;
use crate::domain::jobs::JobKind;
use crate::domain::{validate, TenantId};
use crate::store::connections::{Connection, NewConnection, SessionChange};
use crate::store::jobs::NewJob;
use crate::store::{self};

pub const KIND: &str = ChannelKind::WhatsAppQr.as_str();

/// Reconnection attempts before a dropped session is left for an admin (with the five-minute
/// cap, about three days of trying).
pub const RECONNECT_MAX_ATTEMPTS: i64 = 1000;

/// The webhook the gateway posts an instance's events to.
pub fn webhook_url(app: &App, connection_id: i64) -> String {
    format!("{}/hooks/gateway/{connection_id}", app.settings.effective_base_url())
}

/// How to reach a connection's instance with its own token.
pub fn instance<'a>(c: &'a Connection, token: &'a Secret) -> Instance<'a> {
    Instance { base_url: &c.graph_url, name: &c.phone_number_id, key: token.expose() }
}

/// The instance's token, opened.
pub fn token(app: &App, c: &Connection) -> anyhow::Result<Secret> {
    app.master_key.open(&c.access_token_sealed)
}

/// Whether this server offers WhatsApp by QR code (the operator configured a gateway).
pub fn available(app: &App) -> bool {
    app.settings.gateway_url.is_some() && app.settings.gateway_api_key.is_some()
}

fn unavailable(e: &ProviderError) -> ActionError {
    ActionError::invalid("gateway_unavailable", format!("the WhatsApp gateway did not answer: {}", e.reason()))
}

/// Adds a WhatsApp (QR Code) connection: its instance is created on the gateway and the first QR
/// recorded, so the page can show it at once.
pub async fn create(app: &App, actor: &Actor, tenant: TenantId, name: &str) -> ActionResult<Connection> {
    actor.require_admin_of(tenant)?;
    let name = validate::name(name).map_err(|m| ActionError::invalid("invalid_name", m))?;
    let (Some(base_url), Some(global_key)) = (&app.settings.gateway_url, &app.settings.gateway_api_key) else {
        return Err(ActionError::invalid("gateway_not_configured", "this server has no WhatsApp gateway for QR codes"));
    };
    let instance_name = format!("atende-{}-{}", tenant.0, crate::crypto::random_token(6).to_lowercase());
    let token = crate::crypto::random_token(24);
    let sealed = app.master_key.seal(&token)?;
    let empty = app.master_key.seal("")?;
    let verify_token = crate::crypto::random_token(18);
    let now = app.clock.now_ms();
    let new = NewConnection {
        tenant_id: tenant,
        kind: KIND,
        name: &name,
        phone_number_id: &instance_name,
        waba_id: "",
        access_token_sealed: &sealed,
        app_secret_sealed: &empty,
        verify_token: &verify_token,
        // The operator's gateway: trusted like any URL the operator sets.
        graph_url: base_url,
        graph_url_trusted: true,
        api_version: "v2",
        rate_per_sec: 20,
    };
    let mut tx = app.db.begin().await?;
    crate::actions::plans::ensure_room(app, &mut tx, tenant, crate::domain::plans::Limit::Connections, 1).await?;
    let id = store::connections::insert(&mut *tx, new, now).await?;
    let connecting =
        SessionChange { state: ConnectionState::Connecting, qr_code: None, pairing_code: None, linked_phone: None };
    store::connections::set_session(&mut *tx, tenant, id, &connecting, now).await?;
    let details = serde_json::json!({ "kind": KIND, "instance": instance_name });
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "connection.created",
        &format!("connection:{id}"),
        &details,
        now,
    )
    .await?;
    tx.commit().await?;

    let hook = webhook_url(app, id);
    let created = app.gateway.create_instance(base_url, global_key.expose(), &instance_name, &token, &hook).await;
    let created = match created {
        Ok(c) => c,
        Err(e) => {
            // Nothing exists on the gateway: the connection goes away again.
            store::connections::remove(app.db.writer(), tenant, id, app.clock.now_ms()).await?;
            return Err(unavailable(&e));
        }
    };
    if created.token != token {
        // A gateway that ignores the chosen token gives its own.
        let sealed = app.master_key.seal(&created.token)?;
        store::connections::set_provider_token(app.db.writer(), tenant, id, &sealed, app.clock.now_ms()).await?;
        app.connections.forget(id);
    }
    let connection = store::connections::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    if let Some(qr) = created.qr {
        record(app, &connection, SessionEvent::Qr(qr)).await?;
    }
    store::connections::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// Creates a connection's instance again under its name on the configured gateway (the demo's
/// stand-in forgets everything when it stops), with the same token and a fresh QR.
pub async fn recreate_instance(app: &App, c: &Connection) -> anyhow::Result<()> {
    let (Some(base_url), Some(global_key)) = (&app.settings.gateway_url, &app.settings.gateway_api_key) else {
        return Ok(());
    };
    let token = token(app, c)?;
    let hook = webhook_url(app, c.id);
    let created = app
        .gateway
        .create_instance(base_url, global_key.expose(), &c.phone_number_id, token.expose(), &hook)
        .await
        .map_err(|e| anyhow::anyhow!("creating the gateway instance: {}", e.reason()))?;
    if created.token != token.expose() {
        let sealed = app.master_key.seal(&created.token)?;
        store::connections::set_provider_token(app.db.writer(), c.tenant_id, c.id, &sealed, app.clock.now_ms()).await?;
    }
    store::connections::set_graph_url(app.db.writer(), c.tenant_id, c.id, base_url).await?;
    let c =
        store::connections::get(app.db.reader(), c.tenant_id, c.id).await?.ok_or_else(|| anyhow::anyhow!("gone"))?;
    app.connections.forget(c.id);
    match created.qr {
        Some(qr) => record(app, &c, SessionEvent::Qr(qr)).await,
        None => Ok(()),
    }
}

async fn qr_connection(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Connection> {
    actor.require_admin_of(tenant)?;
    let c = store::connections::get(app.db.reader(), tenant, id).await?;
    c.filter(|c| c.removed_at.is_none() && c.kind == KIND).ok_or(ActionError::NotFound)
}

/// "Reconectar": asks the gateway to connect; a QR (with a pairing code when the phone's number
/// is given) is recorded for the page, or the session is open again.
pub async fn reconnect(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    pairing_phone: Option<&str>,
) -> ActionResult<Connection> {
    let c = qr_connection(app, actor, tenant, id).await?;
    let pairing_phone = pairing_phone.map(str::trim).filter(|p| !p.is_empty());
    if let Some(p) = pairing_phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !(10..=15).contains(&digits) {
            return Err(ActionError::invalid("invalid_phone", "type the phone's number with country and area code"));
        }
    }
    if !c.active {
        store::connections::set_active(app.db.writer(), tenant, id, true, app.clock.now_ms()).await?;
    }
    let token = token(app, &c)?;
    match app.gateway.connect(&instance(&c, &token), pairing_phone).await {
        Ok(Connect::Qr(qr)) => record(app, &c, SessionEvent::Qr(qr)).await?,
        Ok(Connect::Open) => record(app, &c, SessionEvent::Open { phone: None }).await?,
        Ok(Connect::Connecting) => record(app, &c, SessionEvent::Connecting).await?,
        Err(e) => return Err(unavailable(&e)),
    }
    app.connections.forget(id);
    store::connections::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// "Desconectar": ends the WhatsApp session (the phone shows the device unlinked). Reconnecting
/// needs a new scan.
pub async fn disconnect(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Connection> {
    let c = qr_connection(app, actor, tenant, id).await?;
    let token = token(app, &c)?;
    if let Err(e) = app.gateway.logout(&instance(&c, &token)).await {
        // A session already closed (400) or an instance the gateway no longer has (404) is as
        // disconnected as can be.
        if !matches!(e, ProviderError::Permanent { code: Some(400 | 404), .. }) {
            return Err(unavailable(&e));
        }
    }
    let now = app.clock.now_ms();
    let off =
        SessionChange { state: ConnectionState::Disconnected, qr_code: None, pairing_code: None, linked_phone: None };
    let mut tx = app.db.begin().await?;
    store::connections::set_session(&mut *tx, tenant, id, &off, now).await?;
    let event =
        state_event(app, &mut tx, &c, ConnectionState::Disconnected, Some("disconnected by an admin"), now).await?;
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "connection.disconnected",
        &format!("connection:{id}"),
        &serde_json::json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    app.bus.deliver(event);
    app.connections.forget(id);
    store::connections::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// A removed QR connection's instance is deleted on the gateway too (best effort: the
/// connection is gone for Atende either way).
pub async fn forget_instance(app: &App, c: &Connection) {
    let Ok(token) = token(app, c) else { return };
    // The gateway refuses to delete an open instance: log it out first (it may be closed already).
    let _ = app.gateway.logout(&instance(c, &token)).await;
    if let Err(e) = app.gateway.delete_instance(&instance(c, &token)).await {
        tracing::warn!(connection.id = c.id, reason = %e.reason(), "deleting the gateway instance failed");
    }
}

/// The `connection.updated` event of a state change, recorded in the caller's transaction;
/// `None` when the state did not change.
async fn state_event(
    app: &App,
    tx: &mut store::Tx,
    c: &Connection,
    state: ConnectionState,
    reason: Option<&str>,
    now: i64,
) -> anyhow::Result<Option<crate::store::events::StoredEvent>> {
    if c.state == state {
        return Ok(None);
    }
    let data = serde_json::json!({ "connection_id": c.id, "name": c.name, "kind": c.kind, "state": state.as_str(),
        "previous_state": c.state.as_str(), "reason": reason });
    let event =
        app.bus.record(tx, c.tenant_id, "connection.updated", Audience::MinRole(Role::Admin), data, now).await?;
    Ok(Some(event))
}

/// Records what the session reported (from the gateway's webhook, or the answer to a call). A
/// drop schedules reconnection; an unlinked phone asks for a new QR.
pub async fn record(app: &App, c: &Connection, event: SessionEvent) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    let (change, reason) = match &event {
        SessionEvent::Qr(Qr { code, pairing_code }) => (
            SessionChange {
                state: ConnectionState::Qr,
                qr_code: Some(code),
                pairing_code: pairing_code.as_deref(),
                linked_phone: None,
            },
            None,
        ),
        SessionEvent::Open { phone } => (
            SessionChange {
                state: ConnectionState::Connected,
                qr_code: None,
                pairing_code: None,
                linked_phone: phone.as_deref(),
            },
            None,
        ),
        SessionEvent::Connecting => (
            SessionChange { state: ConnectionState::Connecting, qr_code: None, pairing_code: None, linked_phone: None },
            None,
        ),
        SessionEvent::Closed { .. } => (
            SessionChange {
                state: ConnectionState::Disconnected,
                qr_code: None,
                pairing_code: None,
                linked_phone: None,
            },
            Some("the session dropped; reconnecting"),
        ),
        SessionEvent::LoggedOut => (
            SessionChange { state: ConnectionState::Failed, qr_code: None, pairing_code: None, linked_phone: None },
            Some("the phone unlinked this device; scan a new QR code"),
        ),
    };
    // A QR while the session is open is stale news from before the scan.
    if matches!(event, SessionEvent::Qr(_)) && c.state == ConnectionState::Connected {
        return Ok(());
    }
    let mut tx = app.db.begin().await?;
    if !store::connections::set_session(&mut *tx, c.tenant_id, c.id, &change, now).await? {
        return Ok(()); // switched off or removed meanwhile
    }
    if let Some(reason) = reason {
        store::connections::mark_error(&mut *tx, c.tenant_id, c.id, reason, false, now).await?;
    }
    let mut events: Vec<_> = state_event(app, &mut tx, c, change.state, reason, now).await?.into_iter().collect();
    if change.state == ConnectionState::Qr {
        // The page redraws the QR as it rotates (no webhook event: the state did not change).
        let data = serde_json::json!({ "connection_id": c.id, "state": "qr" });
        events.push(
            app.bus.record(&mut tx, c.tenant_id, "connection.qr", Audience::MinRole(Role::Admin), data, now).await?,
        );
    }
    if matches!(event, SessionEvent::Closed { .. }) {
        schedule_reconnect(&mut tx, c, now).await?;
    }
    tx.commit().await?;
    app.bus.deliver(events);
    app.connections.forget(c.id);
    Ok(())
}

/// Queues the reconnection of a dropped session (one job per drop; it retries itself with
/// back-off until the session is back).
async fn schedule_reconnect(tx: &mut store::Tx, c: &Connection, now: i64) -> anyhow::Result<()> {
    let payload = serde_json::json!({ "connection_id": c.id });
    let dedupe = format!("reconnect:{}:{now}", c.id);
    let job = NewJob {
        tenant_id: c.tenant_id,
        kind: JobKind::Reconnect.as_str(),
        payload: &payload,
        run_at: now,
        max_attempts: RECONNECT_MAX_ATTEMPTS,
        dedupe_key: Some(&dedupe),
    };
    store::jobs::enqueue(&mut **tx, job, now).await?;
    Ok(())
}

/// The active QR connection a gateway webhook names, with its instance token opened to check
/// the body's `apikey`; `None` for an unknown, inactive or other kind of connection.
pub async fn for_webhook(app: &App, id: i64) -> ActionResult<Option<(std::sync::Arc<Connection>, Secret)>> {
    let Some(c) = app.connections.get_by_id(&app.db, id, app.clock.now_ms()).await? else { return Ok(None) };
    if !c.active || c.kind != KIND || c.removed_at.is_some() {
        return Ok(None);
    }
    let token = token(app, &c)?;
    Ok(Some((c, token)))
}
