//! CRM sync in bulk: rows checked and cleaned (phone in E.164, e-mail, custom fields, tags),
//! then upserted many at a time in one transaction with their events.

#[allow(unused_imports)]
use super::*;

/// The most rows one bulk upsert takes.
pub const MAX_BULK: usize = 1000;
pub(super) const MAX_TAGS_PER_ROW: usize = 20;
/// The default country of phone numbers written without one (Brazil).
pub(super) const DEFAULT_COUNTRY: &str = "55";

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
pub(super) struct CleanRow {
    pub(super) name: Option<String>,
    pub(super) digits: Option<String>,
    pub(super) key: Option<String>,
    pub(super) email: Option<String>,
    pub(super) fields: BTreeMap<String, String>,
    pub(super) tags: Vec<String>,
    pub(super) consent: Option<Consent>,
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

pub(super) fn clean_email(email: Option<&str>) -> Result<Option<String>, RowError> {
    match email.map(str::trim) {
        None | Some("") => Ok(None),
        Some(e) => validate::email(e).map(Some).map_err(|m| RowError { code: "invalid_email", message: m.to_string() }),
    }
}

pub(super) fn clean_fields(fields: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, RowError> {
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

pub(super) fn clean_row(row: &ContactRow) -> Result<CleanRow, RowError> {
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
    // New contacts count against the plan; a batch that would pass the limit is refused whole.
    let new_contacts = groups.iter().filter(|(key, _, _)| !stored.contains_key(key)).count() as i64;
    crate::actions::plans::ensure_room(app, &mut tx, tenant, crate::domain::plans::Limit::Contacts, new_contacts)
        .await?;
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
            let how = crate::actions::consent::How { source, actor: &label, detail: "" };
            crate::actions::consent::record(&mut tx, tenant, id, previous, to, how, now).await?;
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
