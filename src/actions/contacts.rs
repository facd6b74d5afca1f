//! Contacts as people edit them (name, e-mail, notes, custom fields), tags (the tenant's list,
//! and on contacts), and the contact page's data. Anyone of the tenant may read and edit
//! contacts; supervisors and admins keep the tag list.

use crate::actions::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::{validate, TenantId};
use crate::store::contacts::Contact;
use crate::store::tags::{Tag, Target};
use crate::store::tickets::Ticket;
use crate::store::{self};

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
                code: "name_taken",
                message: format!("a tag named {name} already exists"),
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
