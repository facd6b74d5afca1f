//! Consent as a use case: every change goes through [`change_in_tx`] (the contact's state and
//! one history row, in the caller's transaction), every send through [`check_send`] (the rule of
//! `domain::consent` plus the template's category and approval). The customer's keywords (opt-out
//! and opt-in, confirmed once) and Meta's signals (`user_preferences`, error 131050) land here.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use sqlx::AnyConnection;

use crate::actions::send::{queue_on_ticket, QueueMessage};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::consent::{self, source, SendNature};
use crate::domain::contacts::{is_opt_out, keyword_form, parse_keywords, Consent};
use crate::domain::jobs::JobKind;
use crate::domain::outbound::OutboundContent;
use crate::domain::TenantId;
use crate::realtime::NewEvent;
use crate::store::consent::{ConsentEvent, NewConsentEvent};
use crate::store::jobs::NewJob;
use crate::store::{self, Db, Tx};

/// How a consent change came about, for its history row.
#[derive(Clone, Copy, Debug)]
pub struct How<'a> {
    pub source: &'a str,
    /// The actor's label (`user:3`, `token:1`, `customer`, `meta`, `operator`).
    pub actor: &'a str,
    /// More about it (the keyword, Meta's code, the merged contact).
    pub detail: &'a str,
}

/// Sets a contact's consent and writes its history row when it really changes, inside the
/// caller's transaction. Returns the consent it had before, or `None` when nothing changed (or
/// there is no such contact).
pub async fn change_in_tx(
    conn: &mut AnyConnection,
    tenant: TenantId,
    contact_id: i64,
    to: Consent,
    how: How<'_>,
    now: i64,
) -> anyhow::Result<Option<Consent>> {
    let Some(contact) = store::contacts::get(&mut *conn, tenant, contact_id).await? else { return Ok(None) };
    let before = contact.consent();
    if before == to {
        return Ok(None);
    }
    store::contacts::set_consent(&mut *conn, tenant, contact_id, to, how.source, now).await?;
    record(conn, tenant, contact_id, Some(before), to, how, now).await?;
    Ok(Some(before))
}

/// Writes one history row (the contact's state was written by the caller).
pub async fn record(
    conn: &mut AnyConnection,
    tenant: TenantId,
    contact_id: i64,
    previous: Option<Consent>,
    to: Consent,
    how: How<'_>,
    now: i64,
) -> anyhow::Result<()> {
    let row = NewConsentEvent {
        contact_id,
        previous: previous.map(Consent::as_str),
        consent: to.as_str(),
        source: how.source,
        actor: how.actor,
        detail: how.detail,
    };
    store::consent::insert(conn, tenant, &row, now).await?;
    Ok(())
}

/// A contact's consent history, newest first.
pub async fn history(app: &App, actor: &Actor, tenant: TenantId, contact_id: i64) -> ActionResult<Vec<ConsentEvent>> {
    actor.role_of(tenant)?;
    store::contacts::get(app.db.reader(), tenant, contact_id).await?.ok_or(ActionError::NotFound)?;
    Ok(store::consent::list(app.db.reader(), tenant, contact_id, 200).await?)
}

/// The one consent check of every send (API, inbox composer, chatbot, automatic messages, and the
/// campaigns and schedules that call it): the contact's consent against what the message is.
/// A template is marketing when its synced category is MARKETING; a template Graph lists as not
/// approved is refused (`template_not_approved`), and once a connection's templates are synced
/// an unknown one is too (`template_not_found`). `marketing` flags any other send as marketing.
#[allow(clippy::too_many_arguments)]
pub async fn check_send(
    conn: &mut AnyConnection,
    tenant: TenantId,
    contact_id: i64,
    connection_id: i64,
    content: &OutboundContent,
    marketing: bool,
    last_inbound_at: Option<i64>,
    now: i64,
) -> ActionResult<()> {
    let mut marketing = marketing;
    let template = matches!(content, OutboundContent::Template { .. });
    if let OutboundContent::Template { name, language, .. } = content {
        match store::templates::find(&mut *conn, tenant, connection_id, name, language).await? {
            Some(t) if t.status != crate::domain::templates::APPROVED => {
                return Err(ActionError::invalid(
                    "template_not_approved",
                    format!("the template {name} ({language}) is {} on WhatsApp, not approved", t.status),
                ));
            }
            Some(t) => marketing |= t.category == crate::domain::templates::MARKETING,
            None if store::templates::any_synced(&mut *conn, tenant, connection_id).await? => {
                return Err(ActionError::invalid(
                    "template_not_found",
                    format!("this number has no template {name} ({language}): sync the templates on Modelos"),
                ));
            }
            None => {}
        }
    }
    let contact = store::contacts::get(&mut *conn, tenant, contact_id).await?.ok_or(ActionError::NotFound)?;
    let nature = SendNature { marketing, template, customer_started: consent::customer_started(last_inbound_at, now) };
    consent::may_send(contact.consent(), nature).map_err(|r| ActionError::invalid(r.code(), r.message()))
}

/// Parsed keywords per (database, tenant): opt-out words and opt-in words, kept a minute so the
/// ingest path reads the settings at most once a minute per tenant. A change made in this
/// process clears it at once; another instance's change is seen within a minute.
type KeywordCache = HashMap<(String, i64), (std::time::Instant, Arc<Words>)>;
static KEYWORD_CACHE: LazyLock<Mutex<KeywordCache>> = LazyLock::new(|| Mutex::new(HashMap::new()));
const KEYWORD_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Default)]
struct Words {
    out: Vec<String>,
    opt_in: Vec<String>,
}

pub(crate) fn keyword_cache_forget() {
    if let Ok(mut cache) = KEYWORD_CACHE.lock() {
        cache.clear();
    }
}

async fn words_for(db: &Db, tx: &mut Tx, tenant: TenantId) -> anyhow::Result<Arc<Words>> {
    let database = db.reader().connect_options().database_url.to_string();
    let key = (database, tenant.0);
    if let Ok(cache) = KEYWORD_CACHE.lock() {
        if let Some((at, words)) = cache.get(&key) {
            if at.elapsed() < KEYWORD_CACHE_TTL {
                return Ok(words.clone());
            }
        }
    }
    let out = store::contacts::opt_out_keywords(&mut **tx, tenant).await?;
    let settings = store::consent::keyword_settings(&mut **tx, tenant).await?;
    let opt_in = settings.opt_in_keywords.unwrap_or_else(|| consent::DEFAULT_OPT_IN_KEYWORDS.to_string());
    let out = parse_keywords(&out).unwrap_or_default();
    // A word in both lists counts as opt-out: the safer reading.
    let opt_in = parse_keywords(&opt_in).unwrap_or_default().into_iter().filter(|w| !out.contains(w)).collect();
    let words = Arc::new(Words { out, opt_in });
    if let Ok(mut cache) = KEYWORD_CACHE.lock() {
        cache.insert(key, (std::time::Instant::now(), words.clone()));
    }
    Ok(words)
}

/// An inbound text that may be a keyword: `(tenant, contact id, ticket id, body)`.
pub type Candidate<'a> = (TenantId, i64, i64, &'a str);

/// Ingest hook: a message that is exactly an opt-out keyword opts its contact out; one that is an
/// opt-in keyword gives marketing consent. Each real change is recorded (history, audit, event)
/// in the writer's transaction and enqueues one confirmation to the customer; a keyword that
/// changes nothing (sent again) is not confirmed again.
pub async fn apply_keywords(
    db: &Db,
    tx: &mut Tx,
    candidates: &[Candidate<'_>],
    now: i64,
) -> anyhow::Result<Vec<NewEvent>> {
    let mut events = Vec::new();
    let mut tenants: Vec<TenantId> = candidates.iter().map(|c| c.0).collect();
    tenants.sort_unstable_by_key(|t| t.0);
    tenants.dedup();
    for tenant in tenants {
        let words = words_for(db, tx, tenant).await?;
        if words.out.is_empty() && words.opt_in.is_empty() {
            continue;
        }
        for &(_, contact_id, ticket_id, body) in candidates.iter().filter(|c| c.0 == tenant) {
            let to = if is_opt_out(body, &words.out) {
                Consent::OptedOut
            } else if is_opt_out(body, &words.opt_in) {
                Consent::MarketingOptIn
            } else {
                continue;
            };
            let word = keyword_form(body);
            let how = How { source: source::KEYWORD, actor: "customer", detail: &word };
            let Some(before) = change_in_tx(tx, tenant, contact_id, to, how, now).await? else { continue };
            let action = if to == Consent::OptedOut { "contact.opted_out" } else { "contact.opted_in" };
            store::audit::record(
                &mut **tx,
                tenant,
                "customer",
                action,
                &format!("contact:{contact_id}"),
                &serde_json::json!({ "source": source::KEYWORD, "from": before.as_str(), "keyword": word }),
                now,
            )
            .await?;
            let payload = serde_json::json!({ "ticket_id": ticket_id, "consent": to.as_str() });
            let dedupe = format!("consent-reply:{contact_id}:{now}:{}", to.as_str());
            let job = NewJob {
                tenant_id: tenant,
                kind: JobKind::ConsentReply.as_str(),
                payload: &payload,
                run_at: now,
                max_attempts: 3,
                dedupe_key: Some(&dedupe),
            };
            store::jobs::enqueue(&mut **tx, job, now).await?;
            events.push(NewEvent {
                tenant,
                kind: "contact.updated",
                audience: Audience::Tenant,
                data: serde_json::json!({ "contact_id": contact_id, "consent": to.as_str() }),
            });
        }
    }
    Ok(events)
}

/// The confirmation of a keyword (`contacts.consent_reply` job): the company's text or the
/// built-in pt-BR one, queued once (the job's id is the idempotency key), and only while the
/// consent is still what the keyword set.
pub async fn send_keyword_reply(
    app: &App,
    tenant: TenantId,
    job_id: i64,
    ticket_id: i64,
    to: &str,
) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    let settings = store::consent::keyword_settings(app.db.reader(), tenant).await?;
    let text = match Consent::parse(to) {
        Some(Consent::OptedOut) => match settings.opt_out_reply.trim() {
            "" => consent::DEFAULT_OPT_OUT_REPLY.to_string(),
            t => t.to_string(),
        },
        Some(Consent::MarketingOptIn) => match settings.opt_in_reply.trim() {
            "" => consent::DEFAULT_OPT_IN_REPLY.to_string(),
            t => t.to_string(),
        },
        _ => return Ok(()),
    };
    let mut tx = app.db.begin().await?;
    let Some(ticket) = store::tickets::get(&mut *tx, tenant, ticket_id).await? else { return Ok(()) };
    let Some(contact) = store::contacts::get(&mut *tx, tenant, ticket.contact_id).await? else { return Ok(()) };
    if contact.consent != to {
        return Ok(()); // changed again meanwhile: this confirmation no longer holds
    }
    let key = format!("consent-reply:{job_id}");
    let m = QueueMessage {
        content: OutboundContent::Text { body: text, preview_url: false },
        reply_to: None,
        idempotency_key: Some(&key),
        sender: None,
        sign: false,
        automatic: true,
        marketing: false,
    };
    let mut events = Vec::new();
    match queue_on_ticket(app, &mut tx, &ticket, m, now, &mut events).await {
        Ok(_) => {}
        Err(ActionError::Internal(e)) => return Err(e),
        Err(e) => {
            tracing::info!(ticket.id = ticket_id, error = %e, "consent confirmation not sent");
            return Ok(());
        }
    }
    tx.commit().await?;
    app.bus.deliver(events);
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Meta's `user_preferences` webhook: a customer stopped or resumed marketing messages from this
/// number. Each applies to the contact with that WhatsApp id (history source `meta`).
pub async fn apply_meta_preferences(
    app: &App,
    tenant: TenantId,
    prefs: &[crate::domain::inbound::PreferenceUpdate],
) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut events = Vec::new();
    for p in prefs {
        let Some(contact_id) = contact_of_wa_id(&mut tx, tenant, &p.wa_id).await? else { continue };
        let detail = format!("user_preferences: {}", if p.stop { "stop" } else { "resume" });
        if let Some(to) = meta_signal(&mut tx, tenant, contact_id, p.stop, &detail, now).await? {
            let data = serde_json::json!({ "contact_id": contact_id, "consent": to.as_str() });
            events.push(app.bus.record(&mut tx, tenant, "contact.updated", Audience::Tenant, data, now).await?);
        }
    }
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(())
}

/// Meta's error 131050 on a send: the customer stopped marketing messages from this number.
pub async fn marketing_stopped_by_error(app: &App, tenant: TenantId, contact_id: i64) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let changed = meta_signal(&mut tx, tenant, contact_id, true, "error 131050", now).await?;
    let mut events = Vec::new();
    if let Some(to) = changed {
        let data = serde_json::json!({ "contact_id": contact_id, "consent": to.as_str() });
        events.push(app.bus.record(&mut tx, tenant, "contact.updated", Audience::Tenant, data, now).await?);
    }
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(())
}

/// The contact a WhatsApp id names: by that id, else by the phone it is.
async fn contact_of_wa_id(tx: &mut Tx, tenant: TenantId, wa_id: &str) -> anyhow::Result<Option<i64>> {
    use crate::domain::contacts::IdentityKind;
    let found = store::identities::find_many(tx, tenant, IdentityKind::WhatsApp, &[wa_id]).await?;
    if let Some(m) = found.first() {
        return Ok(Some(m.contact_id));
    }
    let phone = format!("+{wa_id}");
    let found = store::identities::find_many(tx, tenant, IdentityKind::Phone, &[phone.as_str()]).await?;
    Ok(found.first().map(|m| m.contact_id))
}

async fn meta_signal(
    tx: &mut Tx,
    tenant: TenantId,
    contact_id: i64,
    stop: bool,
    detail: &str,
    now: i64,
) -> anyhow::Result<Option<Consent>> {
    let Some(contact) = store::contacts::get(&mut **tx, tenant, contact_id).await? else { return Ok(None) };
    let Some(to) = consent::after_meta_signal(contact.consent(), contact.consent_source.as_deref(), stop) else {
        return Ok(None);
    };
    let how = How { source: source::META, actor: "meta", detail };
    change_in_tx(tx, tenant, contact_id, to, how, now).await?;
    store::audit::record(
        &mut **tx,
        tenant,
        "meta",
        "contact.consent",
        &format!("contact:{contact_id}"),
        &serde_json::json!({ "source": source::META, "to": to.as_str(), "detail": detail }),
        now,
    )
    .await?;
    Ok(Some(to))
}

/// The opt-in words and confirmation texts as an admin edits them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeywordTexts {
    pub opt_in_keywords: String,
    pub opt_out_reply: String,
    pub opt_in_reply: String,
}

pub async fn keyword_texts(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<KeywordTexts> {
    actor.role_of(tenant)?;
    let s = store::consent::keyword_settings(app.db.reader(), tenant).await?;
    Ok(KeywordTexts {
        opt_in_keywords: s.opt_in_keywords.unwrap_or_else(|| consent::DEFAULT_OPT_IN_KEYWORDS.to_string()),
        opt_out_reply: s.opt_out_reply,
        opt_in_reply: s.opt_in_reply,
    })
}

/// Saves the opt-in words (comma- or line-separated; empty turns opt-in by keyword off) and the
/// two confirmations (empty: the built-in texts).
pub async fn set_keyword_texts(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    opt_in_keywords: &str,
    opt_out_reply: &str,
    opt_in_reply: &str,
) -> ActionResult<KeywordTexts> {
    actor.require_admin_of(tenant)?;
    let parsed = parse_keywords(opt_in_keywords).map_err(|m| ActionError::invalid("invalid_keywords", m))?;
    for t in [opt_out_reply, opt_in_reply] {
        if t.trim().chars().count() > consent::REPLY_MAX_CHARS {
            return Err(ActionError::invalid("invalid_reply", "a confirmation has at most 500 characters"));
        }
    }
    let now = app.clock.now_ms();
    let stored = parsed.join(", ");
    let mut tx = app.db.begin().await?;
    store::consent::put_keyword_settings(&mut *tx, tenant, &stored, opt_out_reply.trim(), opt_in_reply.trim(), now)
        .await?;
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact_settings.opt_in",
        "contact_settings",
        &serde_json::json!({ "opt_in_keywords": parsed }),
        now,
    )
    .await?;
    tx.commit().await?;
    keyword_cache_forget();
    Ok(KeywordTexts {
        opt_in_keywords: stored,
        opt_out_reply: opt_out_reply.trim().to_string(),
        opt_in_reply: opt_in_reply.trim().to_string(),
    })
}
