//! Contacts as people edit them (name, e-mail, notes, custom fields), tags (the tenant's list,
//! and on contacts), the contact page's data, and CRM sync: create/patch/delete, bulk upsert,
//! merge, consent, custom-field keys, opt-out keywords and `{{campo}}` templates. Anyone of the
//! tenant may read and edit contacts; supervisors and admins keep the tag list, bulk-write,
//! merge and delete.

use std::collections::{BTreeMap, HashMap};

use crate::actions::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::contacts::{parse_keywords, Consent, TemplateContact};
use crate::domain::{phone, validate, TenantId};
use crate::realtime::NewEvent;
use crate::store::contacts::{Contact, FieldDef, FullContact, MatchColumn, MergeCounts};
use crate::store::tags::{Tag, Target};
use crate::store::tickets::Ticket;
use crate::store::Tx;
use crate::store::{self};

mod bulk;
mod merge;
mod settings;
pub use bulk::*;
pub use merge::*;
pub use settings::*;

const NOTES_MAX: usize = 10_000;
const FIELDS_MAX: usize = 50;

#[derive(Clone, Debug, serde::Serialize)]
pub struct ContactDetail {
    pub contact: Contact,
    pub tags: Vec<Tag>,
    /// Newest first (at most 100). Tickets the caller may not see are listed too, so the team
    /// knows the history exists; opening one follows the inbox rule.
    pub tickets: Vec<Ticket>,
}

pub async fn get_contact(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<ContactDetail> {
    actor.role_of(tenant)?;
    let contact = store::contacts::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    let tags = store::tags::of(app.db.reader(), tenant, Target::Contact(id)).await?;
    let tickets = store::tickets::list_for_contact(app.db.reader(), tenant, id, 100).await?;
    Ok(ContactDetail { contact, tags, tickets })
}

#[derive(Clone, Debug, Default)]
pub struct ContactInput {
    pub name: String,
    /// Empty or `None` clears it.
    pub email: Option<String>,
    pub notes: String,
    /// Field name → text value.
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

pub async fn update_contact(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    input: ContactInput,
) -> ActionResult<Contact> {
    actor.require_sender_in(tenant)?;
    let name = validate::name(&input.name).map_err(|m| ActionError::invalid("invalid_name", m))?;
    let email = match input.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) => Some(validate::email(e).map_err(|m| ActionError::invalid("invalid_email", m))?),
    };
    if input.notes.chars().count() > NOTES_MAX {
        return Err(ActionError::invalid("invalid_notes", "notes are too long (10,000 characters at most)"));
    }
    if input.custom_fields.len() > FIELDS_MAX
        || input.custom_fields.iter().any(|(k, v)| {
            k.trim().is_empty()
                || k.chars().count() > 60
                || !v.is_string()
                || v.as_str().is_some_and(|s| s.chars().count() > 1000)
        })
    {
        return Err(ActionError::invalid(
            "invalid_custom_fields",
            "custom fields are up to 50 names (1–60 characters) with text values (up to 1000 characters)",
        ));
    }
    let fields = serde_json::Value::Object(input.custom_fields).to_string();
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::contacts::update(&mut *tx, tenant, id, &name, email.as_deref(), input.notes.trim(), &fields, now).await?
    {
        return Err(ActionError::NotFound);
    }
    let data = serde_json::json!({ "contact_id": id });
    let event = app.bus.record(&mut tx, tenant, "contact.updated", Audience::Tenant, data, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    store::contacts::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

pub async fn list_tags(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<Tag>> {
    actor.role_of(tenant)?;
    Ok(store::tags::list(app.db.reader(), tenant).await?)
}

pub async fn create_tag(app: &App, actor: &Actor, tenant: TenantId, name: &str, colour: &str) -> ActionResult<Tag> {
    actor.require_supervisor_of(tenant)?;
    let name = validate::name(name).map_err(|m| ActionError::invalid("invalid_name", m))?;
    let colour = crate::actions::departments::colour(colour)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let id = match store::tags::insert(&mut *tx, tenant, &name, &colour, now).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(ActionError::Conflict {
                code: "tag_exists",
                message: format!("a tag named {name} already exists (case and accents are ignored)"),
            })
        }
        Err(e) => return Err(e.into()),
    };
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "tag.created",
        &format!("tag:{id}"),
        &serde_json::json!({ "name": name }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Tag { id, name, colour })
}

pub async fn delete_tag(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::tags::delete(&mut tx, tenant, id).await? {
        return Err(ActionError::NotFound);
    }
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "tag.deleted",
        &format!("tag:{id}"),
        &serde_json::json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Puts a tag on (or takes it off) a contact.
pub async fn tag_contact(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    tag_id: i64,
    on: bool,
) -> ActionResult<()> {
    actor.require_sender_in(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::contacts::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    store::tags::get(&mut *tx, tenant, tag_id)
        .await?
        .ok_or_else(|| ActionError::invalid("unknown_tag", "no such tag in this company"))?;
    let changed = if on {
        store::tags::attach(&mut *tx, tenant, Target::Contact(id), tag_id, now).await?
    } else {
        store::tags::detach(&mut *tx, tenant, Target::Contact(id), tag_id).await?
    };
    let mut events = Vec::new();
    if changed {
        let data = serde_json::json!({ "contact_id": id });
        events.push(app.bus.record(&mut tx, tenant, "contact.updated", Audience::Tenant, data, now).await?);
    }
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(())
}

/// Creates one contact; a phone is required and must not be taken (`phone_taken`).
pub async fn create_contact(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    row: &ContactRow,
    source: &'static str,
) -> ActionResult<Contact> {
    actor.require_supervisor_of(tenant)?;
    let c = clean_row(row).map_err(|e| ActionError::Invalid { code: e.code, message: e.message })?;
    let (Some(digits), Some(key)) = (c.digits.as_deref(), c.key.as_deref()) else {
        return Err(ActionError::invalid("phone_required", "a new contact needs a phone"));
    };
    let now = app.clock.now_ms();
    let fields = serde_json::to_string(&c.fields).map_err(anyhow::Error::from)?;
    let consent = c.consent.unwrap_or(Consent::Transactional);
    let write = FullContact {
        name: c.name.as_deref().unwrap_or(digits),
        phone: digits,
        phone_key: key,
        email: c.email.as_deref(),
        custom_fields: &fields,
        consent: consent.as_str(),
        consent_at: c.consent.map(|_| now),
        consent_source: c.consent.map(|_| source),
    };
    let mut tx = app.db.begin().await?;
    crate::actions::plans::ensure_room(app, &mut tx, tenant, crate::domain::plans::Limit::Contacts, 1).await?;
    let Some(id) = store::contacts::insert(&mut tx, tenant, &write, now).await? else {
        return Err(ActionError::Conflict {
            code: "phone_taken",
            message: "a contact with this phone already exists (the 9th digit does not tell numbers apart)".into(),
        });
    };
    store::identities::sync_phone_identities(&mut tx, tenant, &[id], now).await?;
    let label = actor.label();
    let how = super::consent::How { source, actor: &label, detail: "created" };
    super::consent::record(&mut tx, tenant, id, None, consent, how, now).await?;
    for k in c.fields.keys() {
        store::contacts::add_field_if_missing(&mut *tx, tenant, k, now).await?;
    }
    if !c.tags.is_empty() {
        let names: Vec<&str> = c.tags.iter().map(String::as_str).collect();
        let tag_ids = store::contacts::ensure_tags(&mut tx, tenant, &names, now).await?;
        let pairs: Vec<(i64, i64)> = tag_ids.values().map(|&t| (id, t)).collect();
        store::contacts::attach_tags_many(&mut tx, tenant, &pairs, now).await?;
    }
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact.created",
        &format!("contact:{id}"),
        &serde_json::json!({ "source": source, "consent": consent.as_str() }),
        now,
    )
    .await?;
    let event = app
        .bus
        .record(&mut tx, tenant, "contact.created", Audience::Tenant, serde_json::json!({ "contact_id": id }), now)
        .await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    store::contacts::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// A partial change of one contact. `None` leaves a value alone; an empty e-mail clears it;
/// a custom field set to `None` is removed; `tags` replaces the contact's tags.
#[derive(Clone, Debug, Default)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub notes: Option<String>,
    pub custom_fields: Option<BTreeMap<String, Option<String>>>,
    pub tags: Option<Vec<String>>,
    pub consent: Option<String>,
}

/// Applies a [`ContactPatch`]; consent changes are dated and audited with `source`.
pub async fn patch_contact(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    patch: ContactPatch,
    source: &'static str,
) -> ActionResult<Contact> {
    actor.require_sender_in(tenant).or_else(|e| match (e, actor) {
        // Tokens edit contacts with the write scope (checked at the edge), not send.
        (ActionError::Forbidden, Actor::Token(_)) => Ok(crate::domain::Role::Admin),
        (e, _) => Err(e),
    })?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let before = store::contacts::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    let name = match patch.name.as_deref() {
        Some(n) => validate::name(n).map_err(|m| ActionError::invalid("invalid_name", m))?,
        None => before.name.clone(),
    };
    let email = match patch.email.as_deref() {
        Some(e) => clean_email(Some(e)).map_err(|e| ActionError::Invalid { code: e.code, message: e.message })?,
        None => before.email.clone(),
    };
    let notes = match patch.notes {
        Some(n) if n.chars().count() > NOTES_MAX => {
            return Err(ActionError::invalid("invalid_notes", "notes are too long (10,000 characters at most)"))
        }
        Some(n) => n.trim().to_string(),
        None => before.notes.clone(),
    };
    let mut fields = before.fields();
    let mut new_keys = Vec::new();
    if let Some(changes) = &patch.custom_fields {
        let set: BTreeMap<String, String> =
            changes.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())).collect();
        clean_fields(&set).map_err(|e| ActionError::Invalid { code: e.code, message: e.message })?;
        for (k, v) in changes {
            match v.as_deref().map(str::trim) {
                None | Some("") => {
                    fields.remove(k);
                }
                Some(v) => {
                    fields.insert(k.clone(), v.to_string());
                    new_keys.push(k.clone());
                }
            }
        }
        if fields.len() > FIELDS_MAX {
            return Err(ActionError::invalid("invalid_custom_fields", "at most 50 custom fields"));
        }
    }
    let consent = match patch.consent.as_deref() {
        Some(c) => Some(Consent::parse(c).ok_or_else(|| {
            ActionError::invalid("invalid_consent", "consent is transactional, marketing_opt_in or opted_out")
        })?),
        None => None,
    };
    let tags = match &patch.tags {
        Some(list) => {
            let mut out: Vec<String> = Vec::new();
            for t in list {
                let t = validate::name(t).map_err(|m| ActionError::invalid("invalid_tag", m))?;
                if !out.contains(&t) {
                    out.push(t);
                }
            }
            if out.len() > MAX_TAGS_PER_ROW {
                return Err(ActionError::invalid("invalid_tag", "at most 20 tags per contact"));
            }
            Some(out)
        }
        None => None,
    };
    let fields_json = serde_json::to_string(&fields).map_err(anyhow::Error::from)?;
    store::contacts::update(&mut *tx, tenant, id, &name, email.as_deref(), &notes, &fields_json, now).await?;
    for k in &new_keys {
        store::contacts::add_field_if_missing(&mut *tx, tenant, k, now).await?;
    }
    let mut changes = serde_json::Map::new();
    if let Some(c) = consent.filter(|c| *c != before.consent()) {
        let label = actor.label();
        let how = super::consent::How { source, actor: &label, detail: "" };
        super::consent::change_in_tx(&mut tx, tenant, id, c, how, now).await?;
        changes.insert(
            "consent".into(),
            serde_json::json!({ "from": before.consent, "to": c.as_str(), "source": source }),
        );
    }
    if let Some(tags) = tags {
        store::contacts::replace_tags(&mut tx, tenant, id, &tags, now).await?;
        changes.insert("tags".into(), serde_json::json!(tags));
    }
    for (what, changed) in [
        ("name", name != before.name),
        ("email", email != before.email),
        ("notes", notes != before.notes),
        ("custom_fields", fields != before.fields()),
    ] {
        if changed {
            changes.insert(what.into(), serde_json::Value::Bool(true));
        }
    }
    if !changes.is_empty() {
        store::audit::record(
            &mut *tx,
            tenant,
            &actor.label(),
            "contact.updated",
            &format!("contact:{id}"),
            &serde_json::Value::Object(changes),
            now,
        )
        .await?;
    }
    let event = app
        .bus
        .record(&mut tx, tenant, "contact.updated", Audience::Tenant, serde_json::json!({ "contact_id": id }), now)
        .await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    store::contacts::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// A page of contacts with their tag names.
pub struct ContactPage {
    pub contacts: Vec<Contact>,
    pub tags: HashMap<i64, Vec<String>>,
    /// The id to continue after, when there may be more.
    pub next_after: Option<i64>,
}

/// Lists contacts, searched by name, e-mail or phone digits; keyset pages by id (`newest_first`
/// for people, oldest first for API sync).
pub async fn list_contacts(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    search: Option<&str>,
    after: Option<i64>,
    newest_first: bool,
    limit: i64,
) -> ActionResult<ContactPage> {
    let criteria = crate::domain::contacts::ContactCriteria {
        search: search.unwrap_or_default().to_string(),
        ..Default::default()
    };
    list_matching(app, actor, tenant, &criteria, after, newest_first, limit).await
}

/// A page of the contacts matching `criteria` (search, tag, consent).
pub async fn list_matching(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    criteria: &crate::domain::contacts::ContactCriteria,
    after: Option<i64>,
    newest_first: bool,
    limit: i64,
) -> ActionResult<ContactPage> {
    actor.role_of(tenant)?;
    super::contact_filters::check(criteria)?;
    let limit = limit.clamp(1, 1000);
    let mut contacts = store::contacts::list(app.db.reader(), tenant, criteria, after, newest_first, limit + 1).await?;
    let more = contacts.len() as i64 > limit;
    contacts.truncate(limit as usize);
    let next_after = if more { contacts.last().map(|c| c.id) } else { None };
    let ids: Vec<i64> = contacts.iter().map(|c| c.id).collect();
    let mut conn = app.db.reader().acquire().await?;
    let tags = store::contacts::tag_names_of_many(&mut conn, tenant, &ids).await?;
    Ok(ContactPage { contacts, tags, next_after })
}

/// Deletes a contact that has no tickets (one with history is merged or erased instead:
/// `contact_has_tickets`, see `actions::lgpd::erase_contact`).
pub async fn delete_contact(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::contacts::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    if store::contacts::has_tickets(&mut tx, tenant, id).await? {
        return Err(ActionError::Conflict {
            code: "contact_has_tickets",
            message: "this contact has tickets; merge it into another contact, or erase its data (LGPD) instead".into(),
        });
    }
    store::contacts::delete_row(&mut tx, tenant, id).await?;
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact.deleted",
        &format!("contact:{id}"),
        // The id only: the audit log outlives the contact and must not keep its personal data.
        &serde_json::json!({}),
        now,
    )
    .await?;
    let event = app
        .bus
        .record(&mut tx, tenant, "contact.deleted", Audience::Tenant, serde_json::json!({ "contact_id": id }), now)
        .await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(())
}

/// Fills `{{nome}}`, `{{telefone}}`, `{{email}}` and custom-field variables of a template
/// from a contact (see [`crate::domain::contacts::fill_template`]; missing → empty).
pub fn fill_template(template: &str, contact: &Contact) -> String {
    let fields = contact.fields();
    let phone = crate::domain::phone::e164(&contact.phone);
    let c = TemplateContact { name: &contact.name, phone: &phone, email: contact.email.as_deref(), fields: &fields };
    crate::domain::contacts::fill_template(template, &c)
}

/// [`fill_template`] for a stored contact (API preview and sends).
pub async fn render_for_contact(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    template: &str,
) -> ActionResult<String> {
    actor.role_of(tenant)?;
    let contact = store::contacts::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    Ok(fill_template(template, &contact))
}
