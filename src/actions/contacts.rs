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

// ---------- CRM sync: create, patch, list, bulk upsert, merge, delete ----------

/// The most rows one bulk upsert takes.
pub const MAX_BULK: usize = 1000;
const MAX_TAGS_PER_ROW: usize = 20;
/// The default country of phone numbers written without one (Brazil).
const DEFAULT_COUNTRY: &str = "55";

/// One contact as sent to [`upsert_many`], [`create_contact`] or read from a CSV row. Absent
/// (`None`, empty) values leave what is stored unchanged.
#[derive(Clone, Debug, Default)]
pub struct ContactRow {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Field key → value; an empty value is ignored.
    pub custom_fields: BTreeMap<String, String>,
    /// Tag names, created when missing.
    pub tags: Vec<String>,
    /// `transactional`, `marketing_opt_in`, `opted_out` (or a spreadsheet spelling of one).
    pub consent: Option<String>,
}

/// What happened to one row of a bulk upsert.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RowResult {
    /// Position of the row in the request (0-based).
    pub index: usize,
    /// `created`, `updated` or `error`.
    pub status: &'static str,
    pub id: Option<i64>,
    pub error: Option<RowError>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub code: &'static str,
    pub message: String,
}

impl RowResult {
    fn error(index: usize, code: &'static str, message: impl Into<String>) -> RowResult {
        RowResult { index, status: "error", id: None, error: Some(RowError { code, message: message.into() }) }
    }
}

/// A row that passed validation.
#[derive(Clone, Debug, Default)]
struct CleanRow {
    name: Option<String>,
    digits: Option<String>,
    key: Option<String>,
    email: Option<String>,
    fields: BTreeMap<String, String>,
    tags: Vec<String>,
    consent: Option<Consent>,
}

impl CleanRow {
    /// Folds a later duplicate of the same contact into this one (later values win).
    fn absorb(&mut self, later: CleanRow) {
        if later.name.is_some() {
            self.name = later.name;
        }
        if later.digits.is_some() && self.digits.is_none() {
            self.digits = later.digits;
            self.key = later.key;
        }
        if later.email.is_some() {
            self.email = later.email;
        }
        self.fields.extend(later.fields);
        for t in later.tags {
            if !self.tags.contains(&t) {
                self.tags.push(t);
            }
        }
        if later.consent.is_some() {
            self.consent = later.consent;
        }
    }
}

fn clean_email(email: Option<&str>) -> Result<Option<String>, RowError> {
    match email.map(str::trim) {
        None | Some("") => Ok(None),
        Some(e) => validate::email(e).map(Some).map_err(|m| RowError { code: "invalid_email", message: m.to_string() }),
    }
}

fn clean_fields(fields: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, RowError> {
    let bad = |m: String| RowError { code: "invalid_custom_fields", message: m };
    if fields.len() > FIELDS_MAX {
        return Err(bad("at most 50 custom fields".into()));
    }
    let mut out = BTreeMap::new();
    for (k, v) in fields {
        match crate::domain::contacts::field_key(k) {
            Ok(key) if key == *k => {}
            _ => return Err(bad(format!("{k:?} is not a field key (a-z, 0-9, _; starting with a letter)"))),
        }
        let v = v.trim();
        if v.chars().count() > 1000 {
            return Err(bad(format!("the value of {k} is longer than 1000 characters")));
        }
        if !v.is_empty() {
            out.insert(k.clone(), v.to_string());
        }
    }
    Ok(out)
}

fn clean_row(row: &ContactRow) -> Result<CleanRow, RowError> {
    let name = match row.name.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => Some(validate::name(n).map_err(|m| RowError { code: "invalid_name", message: m.to_string() })?),
    };
    let (digits, key) = match row.phone.as_deref().map(str::trim) {
        None | Some("") => (None, None),
        Some(p) => {
            let d = phone::normalize(p, Some(DEFAULT_COUNTRY)).ok_or_else(|| RowError {
                code: "invalid_phone",
                message: format!("{p:?} is not a phone number (use +55 DDD number, or DDD number)"),
            })?;
            let k = phone::match_key(&d);
            (Some(d), Some(k))
        }
    };
    let email = clean_email(row.email.as_deref())?;
    if digits.is_none() && email.is_none() {
        return Err(RowError { code: "phone_or_email_required", message: "a row needs a phone or an e-mail".into() });
    }
    let fields = clean_fields(&row.custom_fields)?;
    let mut tags: Vec<String> = Vec::new();
    for t in &row.tags {
        if t.trim().is_empty() {
            continue;
        }
        let t = validate::name(t).map_err(|m| RowError { code: "invalid_tag", message: m.to_string() })?;
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    if tags.len() > MAX_TAGS_PER_ROW {
        return Err(RowError { code: "invalid_tag", message: "at most 20 tags per contact".into() });
    }
    let consent = match row.consent.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(Consent::parse(c).ok_or_else(|| RowError {
            code: "invalid_consent",
            message: format!("{c:?} is not a consent (transactional, marketing_opt_in, opted_out)"),
        })?),
    };
    Ok(CleanRow { name, digits, key, email, fields, tags, consent })
}

/// Counts of a bulk upsert.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BulkSummary {
    pub created: usize,
    pub updated: usize,
    pub errors: usize,
}

/// Creates or updates up to [`MAX_BULK`] contacts in one transaction.
///
/// A row with a phone matches the stored contact with the same phone key (so a Brazilian
/// mobile with or without its ninth digit is one contact); a row with only an e-mail matches
/// the oldest contact with that e-mail, and fails with `contact_not_found` when there is none
/// (a contact needs a phone). Rows of one request that reach the same contact are merged
/// (later values win) and report the same id. Custom fields are merged key by key, tags are
/// added, and a bulk upsert never lifts an `opted_out` consent (only a person or a single
/// update can). Every row gets a result; a row's error never stops the others.
pub async fn upsert_many(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    rows: &[ContactRow],
    source: &'static str,
) -> ActionResult<(Vec<RowResult>, BulkSummary)> {
    actor.require_supervisor_of(tenant)?;
    if rows.len() > MAX_BULK {
        return Err(ActionError::invalid("too_many_rows", format!("at most {MAX_BULK} contacts per request")));
    }
    let now = app.clock.now_ms();
    let mut results: Vec<Option<RowResult>> = vec![None; rows.len()];
    let mut clean: Vec<(usize, CleanRow)> = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        match clean_row(row) {
            Ok(c) => clean.push((i, c)),
            Err(e) => results[i] = Some(RowResult { index: i, status: "error", id: None, error: Some(e) }),
        }
    }

    let mut tx = app.db.begin().await?;
    // What is stored: by phone key, and (for rows with only an e-mail) by e-mail.
    let keys: Vec<&str> = clean.iter().filter_map(|(_, c)| c.key.as_deref()).collect();
    let mut stored: HashMap<String, Contact> = HashMap::new();
    for (c, key) in store::contacts::find_by_column(&mut tx, tenant, MatchColumn::PhoneKey, &keys).await? {
        stored.insert(key, c);
    }
    let emails: Vec<&str> =
        clean.iter().filter(|(_, c)| c.key.is_none()).filter_map(|(_, c)| c.email.as_deref()).collect();
    let mut by_email: HashMap<String, String> = HashMap::new();
    if !emails.is_empty() {
        for (c, key) in store::contacts::find_by_column(&mut tx, tenant, MatchColumn::Email, &emails).await? {
            if let Some(e) = c.email.clone() {
                by_email.entry(e).or_insert_with(|| key.clone());
            }
            stored.entry(key).or_insert(c);
        }
    }

    // Group the rows by the contact they reach.
    let mut groups: Vec<(String, Vec<usize>, CleanRow)> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for (i, c) in clean {
        let key = match (&c.key, &c.email) {
            (Some(k), _) => k.clone(),
            (None, Some(e)) => match by_email.get(e) {
                Some(k) => k.clone(),
                None => {
                    results[i] = Some(RowResult::error(
                        i,
                        "contact_not_found",
                        "no contact has this e-mail; a phone is needed to create one",
                    ));
                    continue;
                }
            },
            (None, None) => continue,
        };
        match group_of.get(&key) {
            Some(&g) => {
                groups[g].1.push(i);
                groups[g].2.absorb(c);
            }
            None => {
                group_of.insert(key.clone(), groups.len());
                groups.push((key, vec![i], c));
            }
        }
    }

    // The new state of every contact, from what is stored and what arrived.
    struct Final {
        name: String,
        phone: String,
        email: Option<String>,
        fields: String,
        consent: &'static str,
        consent_at: Option<i64>,
        consent_source: Option<String>,
        consent_changed: bool,
    }
    let mut finals: Vec<Final> = Vec::with_capacity(groups.len());
    let mut field_keys: Vec<String> = Vec::new();
    for (key, _, c) in &groups {
        let before = stored.get(key);
        let phone = before.map(|b| b.phone.clone()).or_else(|| c.digits.clone()).unwrap_or_default();
        let name = c.name.clone().or_else(|| before.map(|b| b.name.clone())).unwrap_or_else(|| phone.clone());
        let email = c.email.clone().or_else(|| before.and_then(|b| b.email.clone()));
        let mut fields = before.map(Contact::fields).unwrap_or_default();
        for (k, v) in &c.fields {
            if !field_keys.contains(k) {
                field_keys.push(k.clone());
            }
            fields.insert(k.clone(), v.clone());
        }
        let old = before.map(Contact::consent);
        let wanted = match (old, c.consent) {
            (Some(Consent::OptedOut), _) => Consent::OptedOut,
            (_, Some(new)) => new,
            (Some(o), None) => o,
            (None, None) => Consent::Transactional,
        };
        let consent_changed = c.consent.is_some() && old != Some(wanted);
        let (consent_at, consent_source) = if consent_changed {
            (Some(now), Some(source.to_string()))
        } else {
            (before.and_then(|b| b.consent_at), before.and_then(|b| b.consent_source.clone()))
        };
        finals.push(Final {
            name,
            phone,
            email,
            fields: serde_json::to_string(&fields).map_err(anyhow::Error::from)?,
            consent: wanted.as_str(),
            consent_at,
            consent_source,
            consent_changed,
        });
    }
    let writes: Vec<FullContact<'_>> = groups
        .iter()
        .zip(&finals)
        .map(|((key, _, _), f)| FullContact {
            name: &f.name,
            phone: &f.phone,
            phone_key: key,
            email: f.email.as_deref(),
            custom_fields: &f.fields,
            consent: f.consent,
            consent_at: f.consent_at,
            consent_source: f.consent_source.as_deref(),
        })
        .collect();
    let ids: HashMap<String, i64> =
        store::contacts::write_many(&mut tx, tenant, &writes, now).await?.into_iter().collect();
    let written: Vec<i64> = ids.values().copied().collect();
    store::identities::sync_phone_identities(&mut tx, tenant, &written, now).await?;

    // Field keys become known to the tenant (labels default to the key).
    for k in &field_keys {
        store::contacts::add_field_if_missing(&mut *tx, tenant, k, now).await?;
    }
    // Tags: created when missing, then put on their contacts.
    let tag_names: Vec<&str> = {
        let mut names: Vec<&str> = groups.iter().flat_map(|(_, _, c)| c.tags.iter().map(String::as_str)).collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    if !tag_names.is_empty() {
        let tag_ids = store::contacts::ensure_tags(&mut tx, tenant, &tag_names, now).await?;
        let mut pairs = Vec::new();
        for (key, _, c) in &groups {
            let Some(&contact) = ids.get(key) else { continue };
            pairs.extend(c.tags.iter().filter_map(|t| tag_ids.get(t).map(|&tag| (contact, tag))));
        }
        store::contacts::attach_tags_many(&mut tx, tenant, &pairs, now).await?;
    }

    let mut summary = BulkSummary::default();
    let mut events = Vec::with_capacity(groups.len());
    let mut consent_changes = Vec::new();
    let label = actor.label();
    for ((key, members, _), f) in groups.iter().zip(&finals) {
        let id = *ids.get(key).ok_or_else(|| anyhow::anyhow!("a contact upsert returned no row"))?;
        let created = !stored.contains_key(key);
        let status = if created { "created" } else { "updated" };
        if created {
            summary.created += 1;
        } else {
            summary.updated += 1;
        }
        for &i in members {
            results[i] = Some(RowResult { index: i, status, id: Some(id), error: None });
        }
        if f.consent_changed {
            consent_changes.push(serde_json::json!({ "contact_id": id, "consent": f.consent }));
            let previous = stored.get(key).map(Contact::consent);
            let to = Consent::parse(f.consent).unwrap_or(Consent::Transactional);
            let how = super::consent::How { source, actor: &label, detail: "" };
            super::consent::record(&mut tx, tenant, id, previous, to, how, now).await?;
        }
        let kind = if created { "contact.created" } else { "contact.updated" };
        events.push(NewEvent {
            tenant,
            kind,
            audience: Audience::Tenant,
            data: serde_json::json!({ "contact_id": id }),
        });
    }
    let results: Vec<RowResult> = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|| RowResult::error(i, "invalid_row", "the row was not processed")))
        .collect();
    summary.errors = results.iter().filter(|r| r.status == "error").count();
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contacts.bulk_upsert",
        "contacts",
        &serde_json::json!({ "source": source, "rows": rows.len(), "created": summary.created,
            "updated": summary.updated, "errors": summary.errors, "consent_changes": consent_changes }),
        now,
    )
    .await?;
    let events = app.bus.record_many(&mut tx, events, now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    Ok((results, summary))
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

/// Deletes a contact that has no tickets (one with history is merged instead:
/// `contact_has_tickets`).
pub async fn delete_contact(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let contact = store::contacts::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    if store::contacts::has_tickets(&mut tx, tenant, id).await? {
        return Err(ActionError::Conflict {
            code: "contact_has_tickets",
            message: "this contact has tickets; merge it into another contact instead".into(),
        });
    }
    store::contacts::delete_row(&mut tx, tenant, id).await?;
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact.deleted",
        &format!("contact:{id}"),
        &serde_json::to_value(&contact).map_err(anyhow::Error::from)?,
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

/// What a merge moved.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MergeReport {
    pub contact: Contact,
    pub moved: MergeCounts,
}

/// Merges contact `source` into `target`: tickets, messages, tags and identities move; custom
/// fields keep the target's values and fill gaps from the source; e-mail, WhatsApp id and
/// WhatsApp username likewise; notes are joined with a line naming the source (its phone,
/// which the target does not take);
/// consent becomes the more restrictive of the two (with that one's date and source). The
/// source is deleted; the audit entry keeps a full copy of it.
pub async fn merge_contacts(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    source: i64,
    target: i64,
) -> ActionResult<MergeReport> {
    actor.require_supervisor_of(tenant)?;
    if source == target {
        return Err(ActionError::invalid("same_contact", "a contact cannot be merged into itself"));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let (from, moved) = merge_in_tx(&mut tx, tenant, source, target, now).await?.ok_or(ActionError::NotFound)?;
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact.merged",
        &format!("contact:{target}"),
        &serde_json::json!({ "from": from, "moved": moved }),
        now,
    )
    .await?;
    let mut events = Vec::new();
    events.push(
        app.bus
            .record(
                &mut tx,
                tenant,
                "contact.updated",
                Audience::Tenant,
                serde_json::json!({ "contact_id": target, "merged_from": source }),
                now,
            )
            .await?,
    );
    events.push(
        app.bus
            .record(
                &mut tx,
                tenant,
                "contact.deleted",
                Audience::Tenant,
                serde_json::json!({ "contact_id": source, "merged_into": target }),
                now,
            )
            .await?,
    );
    tx.commit().await?;
    app.bus.deliver(events);
    let contact = store::contacts::get(app.db.reader(), tenant, target).await?.ok_or(ActionError::NotFound)?;
    Ok(MergeReport { contact, moved })
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

// ---------- custom-field keys and opt-out keywords ----------

pub async fn list_fields(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<FieldDef>> {
    actor.role_of(tenant)?;
    Ok(store::contacts::list_fields(app.db.reader(), tenant).await?)
}

/// Adds a custom field from its label (the key is derived: `Data de nascimento` →
/// `data_de_nascimento`) or renames the label of an existing key.
pub async fn put_field(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    label: &str,
    key: Option<&str>,
) -> ActionResult<FieldDef> {
    actor.require_supervisor_of(tenant)?;
    let label = validate::name(label).map_err(|m| ActionError::invalid("invalid_label", m))?;
    let key = crate::domain::contacts::field_key(key.filter(|k| !k.trim().is_empty()).unwrap_or(&label))
        .map_err(|m| ActionError::invalid("invalid_field_key", m))?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::contacts::put_field(&mut *tx, tenant, &key, &label, now).await?;
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact_field.saved",
        &format!("field:{key}"),
        &serde_json::json!({ "label": label }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(FieldDef { key, label })
}

pub async fn delete_field(app: &App, actor: &Actor, tenant: TenantId, key: &str) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::contacts::delete_field(&mut *tx, tenant, key).await? {
        return Err(ActionError::NotFound);
    }
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact_field.deleted",
        &format!("field:{key}"),
        &serde_json::json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn opt_out_keywords(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<String> {
    actor.role_of(tenant)?;
    Ok(store::contacts::opt_out_keywords(app.db.reader(), tenant).await?)
}

/// Saves the opt-out keywords (comma- or line-separated; empty turns keyword opt-out off).
pub async fn set_opt_out_keywords(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    setting: &str,
) -> ActionResult<Vec<String>> {
    actor.require_admin_of(tenant)?;
    let parsed = parse_keywords(setting).map_err(|m| ActionError::invalid("invalid_keywords", m))?;
    let now = app.clock.now_ms();
    let stored = parsed.join(", ");
    let mut tx = app.db.begin().await?;
    store::contacts::put_opt_out_keywords(&mut *tx, tenant, &stored, now).await?;
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact_settings.opt_out_keywords",
        "contact_settings",
        &serde_json::json!({ "keywords": parsed }),
        now,
    )
    .await?;
    tx.commit().await?;
    super::consent::keyword_cache_forget();
    Ok(parsed)
}

/// The data part of a merge (see [`merge_contacts`]) inside the caller's transaction; the
/// inbound writer also calls it when a WhatsApp user id and a phone turn out to be one person.
/// Returns the source as it was and what moved, or `None` when either contact does not exist.
pub(crate) async fn merge_in_tx(
    tx: &mut Tx,
    tenant: TenantId,
    source: i64,
    target: i64,
    now: i64,
) -> anyhow::Result<Option<(Contact, MergeCounts)>> {
    let Some(into) = store::contacts::get(&mut **tx, tenant, target).await? else { return Ok(None) };
    let Some(from) = store::contacts::get(&mut **tx, tenant, source).await? else { return Ok(None) };
    let mut fields = from.fields();
    fields.extend(into.fields());
    let email = into.email.clone().or_else(|| from.email.clone());
    let wa_id = into.wa_id.clone().or_else(|| from.wa_id.clone());
    let mut notes = into.notes.clone();
    let address = match (&from.username, from.phone.is_empty()) {
        (_, false) => format!("+{}", from.phone),
        (Some(u), true) => format!("@{u}"),
        (None, true) => "WhatsApp".to_string(),
    };
    let mut trail = format!("— merged from contact #{} ({}, {address}", from.id, from.name);
    if let Some(e) = &from.email {
        trail.push_str(&format!(", {e}"));
    }
    trail.push(')');
    for part in [from.notes.as_str(), trail.as_str()] {
        if !part.trim().is_empty() {
            if !notes.is_empty() {
                notes.push_str("\n\n");
            }
            notes.push_str(part.trim());
        }
    }
    let keep_source_consent = Consent::most_restrictive(into.consent(), from.consent()) != into.consent();
    let (consent, consent_at, consent_source) = if keep_source_consent {
        (from.consent(), from.consent_at, from.consent_source.clone())
    } else {
        (into.consent(), into.consent_at, into.consent_source.clone())
    };
    store::consent::move_to(&mut **tx, tenant, source, target).await?;
    let moved = store::contacts::move_and_delete(tx, tenant, source, target).await?;
    if keep_source_consent {
        let detail = format!("merged from contact #{source}");
        let how =
            super::consent::How { source: crate::domain::contacts::source::MERGE, actor: "system", detail: &detail };
        super::consent::record(tx, tenant, target, Some(into.consent()), consent, how, now).await?;
    }
    let fields_json = serde_json::to_string(&fields)?;
    store::contacts::write_merged(
        tx,
        tenant,
        target,
        email.as_deref(),
        wa_id.as_deref(),
        &notes,
        &fields_json,
        consent.as_str(),
        consent_at,
        consent_source.as_deref(),
        now,
    )
    .await?;
    if let (None, Some(username)) = (&into.username, &from.username) {
        store::contacts::refresh_whatsapp(&mut **tx, tenant, target, Some(username), None, now).await?;
    }
    Ok(Some((from, moved)))
}
