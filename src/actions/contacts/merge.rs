//! Merging two contacts into one: their tickets, tags, identities and fields move to the one
//! kept; the other goes.

#[allow(unused_imports)]
use super::*;

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
        &serde_json::json!({ "from": from.id, "moved": moved }),
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
        let how = crate::actions::consent::How {
            source: crate::domain::contacts::source::MERGE,
            actor: "system",
            detail: &detail,
        };
        crate::actions::consent::record(tx, tenant, target, Some(into.consent()), consent, how, now).await?;
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
