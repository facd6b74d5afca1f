//! LGPD "eliminação" of a contact (supervisors and admins, as deleting one): the contact stays
//! as an anonymous stub (`Anônimo #id`) so its tickets and the report figures stay as they are;
//! its messages lose their text, payload and files, its identities and tags go, its name,
//! phone, e-mail, notes and custom fields are cleared, and its name, phone and e-mail are
//! replaced by `[removido]` wherever they were copied (see [`crate::store::lgpd::erase`]). The
//! audit entry names the contact's id only. A media file is deleted from the store once no row
//! of any company names it any more.

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::TenantId;
use crate::store::{self};

/// Needles shorter than this are not scrubbed from free text (they would mangle other words).
const NEEDLE_MIN: usize = 4;

#[derive(Clone, Debug, serde::Serialize)]
pub struct EraseReport {
    pub contact_id: i64,
    pub messages: u64,
    pub tickets: u64,
    pub identities: u64,
    /// Files deleted from the media store (no other message named them).
    pub files_deleted: u64,
}

/// The texts to look for in copies: the name as stored, the phone's digits (and without the
/// country code 55), the e-mail, WhatsApp id, username and identities.
pub fn needles(name: &str, phone: &str, email: Option<&str>, others: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        let s = s.trim();
        if s.chars().count() >= NEEDLE_MIN && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    };
    add(name);
    add(phone);
    if let Some(national) = phone.strip_prefix("55").filter(|n| n.len() >= 10) {
        add(national);
    }
    if let Some(e) = email {
        add(e);
        add(&e.to_lowercase());
    }
    for o in others {
        add(o);
    }
    // The longest first, so a phone inside another identity is replaced whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

pub async fn erase_contact(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<EraseReport> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let contact = store::contacts::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    if let Some(Some(_)) = store::lgpd::erase::erased_at(&mut tx, tenant, id).await? {
        return Err(ActionError::Conflict {
            code: "contact_already_erased",
            message: "this contact's data was already erased".into(),
        });
    }
    let mut others = store::lgpd::erase::identity_values(&mut tx, tenant, id).await?;
    others.extend(contact.wa_id.iter().cloned());
    others.extend(contact.username.iter().cloned());
    let needles = needles(&contact.name, &contact.phone, contact.email.as_deref(), &others);
    let erased = store::lgpd::erase::erase_contact(&mut tx, tenant, id, &format!("Anônimo #{id}"), now).await?;
    let mut scrubbed = 0;
    for needle in &needles {
        scrubbed += store::lgpd::erase::scrub(&mut tx, tenant, needle).await?;
    }
    let details =
        serde_json::json!({ "messages": erased.messages, "tickets": erased.tickets, "copies_scrubbed": scrubbed });
    store::audit::record(&mut *tx, tenant, &actor.label(), "contact.erased", &format!("contact:{id}"), &details, now)
        .await?;
    let event = app
        .bus
        .record(&mut tx, tenant, "contact.updated", Audience::Tenant, serde_json::json!({ "contact_id": id }), now)
        .await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    let files_deleted = delete_unreferenced(app, &erased.media).await;
    Ok(EraseReport {
        contact_id: id,
        messages: erased.messages,
        tickets: erased.tickets,
        identities: erased.identities,
        files_deleted,
    })
}

/// Deletes the media files of `references` that no row names any more; returns how many went.
/// A failure is logged and leaves the file (it is only storage; the rows are already clean).
pub(crate) async fn delete_unreferenced(app: &App, references: &[String]) -> u64 {
    let mut deleted = 0;
    for reference in references {
        let Some(name) = crate::domain::media::name_of(reference) else { continue };
        match store::lgpd::media_referenced(app.db.reader(), name).await {
            Ok(false) => match store::files::remove(&app.settings.data_dir, name).await {
                Ok(true) => deleted += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "deleting a media file failed"),
            },
            Ok(true) => {}
            Err(e) => tracing::warn!(error = %e, "checking a media file's references failed"),
        }
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_cover_the_phone_without_country_code_and_skip_short_words() {
        let n = needles("Ana", "5511987650001", Some("Ana.X@Mail.com"), &["BR.123456".into(), "5511987650001".into()]);
        assert_eq!(n, ["Ana.X@Mail.com", "ana.x@mail.com", "5511987650001", "11987650001", "BR.123456"]);
        assert!(needles("", "", None, &[]).is_empty());
    }
}
