//! The contacts a batch writes to, and the phones that arrive for contacts known only by their
//! WhatsApp user id (attached, or merged into the contact that has that phone).

use std::collections::HashMap;

use crate::domain::access::Audience;
use crate::domain::inbound::InboundMessage;
use crate::domain::TenantId;
use crate::realtime::NewEvent;
use crate::store;

/// A contact the batch writes to, described by its first message.
pub(super) struct BatchContact<'a> {
    pub(super) tenant: TenantId,
    /// Normalised digits; empty for a customer known only by their WhatsApp user id.
    pub(super) digits: String,
    /// The phone key (a [`store::contacts::user_key`] without a phone); `#id` for a contact
    /// already found by its user id.
    pub(super) key: String,
    pub(super) first: &'a InboundMessage,
    /// The first user id the batch saw for it.
    pub(super) user_id: Option<&'a str>,
    /// Found by a stored user-id identity: its row is not looked up or upserted again.
    pub(super) resolved: Option<i64>,
    /// It has no phone (yet).
    pub(super) phoneless: bool,
}

/// A phone that arrived for a contact known only by user id: the same person now shows both,
/// so the phone is attached to it, or, when another contact has that phone, the two are merged.
pub(super) struct Absorb<'a> {
    pub(super) contact: usize,
    pub(super) digits: String,
    pub(super) key: String,
    pub(super) wa_id: Option<&'a str>,
}

/// Gives contacts known only by user id the phone that arrived with it ([`Absorb`]), or merges
/// them into the contact that already has that phone; the batch's rows then name the survivor.
pub(super) async fn absorb_phones(
    tx: &mut store::Tx,
    contacts: &[BatchContact<'_>],
    contact_rows: &mut [(i64, bool)],
    absorbs: &[Absorb<'_>],
    events: &mut Vec<NewEvent>,
    now: i64,
) -> anyhow::Result<()> {
    let mut keys_by_tenant: HashMap<TenantId, Vec<&str>> = HashMap::new();
    for a in absorbs {
        keys_by_tenant.entry(contacts[a.contact].tenant).or_default().push(&a.key);
    }
    let mut with_phone: HashMap<(TenantId, String), i64> = HashMap::new();
    for (tenant, keys) in &keys_by_tenant {
        for known in store::contacts::find_by_phone_keys(tx, *tenant, keys).await? {
            with_phone.insert((*tenant, known.phone_key), known.id);
        }
    }
    for a in absorbs {
        let tenant = contacts[a.contact].tenant;
        let source = contact_rows[a.contact].0;
        match with_phone.get(&(tenant, a.key.clone())) {
            Some(&target) if target != source => {
                let Some((from, moved)) =
                    crate::actions::contacts::merge_in_tx(tx, tenant, source, target, now).await?
                else {
                    continue;
                };
                let details = serde_json::json!({ "from": from, "moved": moved, "reason": "same WhatsApp user" });
                let subject = format!("contact:{target}");
                store::audit::record(&mut **tx, tenant, "channel:whatsapp", "contact.merged", &subject, &details, now)
                    .await?;
                for row in contact_rows.iter_mut().filter(|r| r.0 == source) {
                    *row = (target, false);
                }
                let data = serde_json::json!({ "contact_id": target, "merged_from": source });
                events.push(NewEvent { tenant, kind: "contact.updated", audience: Audience::Tenant, data });
                let data = serde_json::json!({ "contact_id": source, "merged_into": target });
                events.push(NewEvent { tenant, kind: "contact.deleted", audience: Audience::Tenant, data });
            }
            Some(_) => {}
            None => {
                if store::contacts::attach_phone(tx, tenant, source, &a.digits, &a.key, a.wa_id, now).await? {
                    store::identities::sync_phone_identities(tx, tenant, &[source], now).await?;
                    let data = serde_json::json!({ "contact_id": source });
                    events.push(NewEvent { tenant, kind: "contact.updated", audience: Audience::Tenant, data });
                }
            }
        }
    }
    Ok(())
}
