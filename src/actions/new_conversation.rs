//! "Novo atendimento": an agent starts a conversation with a typed number (national Brazilian
//! numbers welcome, with or without the ninth digit) through one of the number's approved
//! templates, or with text while the customer's 24-hour window is open. The send goes through
//! `actions::send`, so consent and the window apply as to any other send.

use std::collections::BTreeMap;

use super::templates::{self, Choice};
use super::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::outbound::OutboundContent;
use crate::domain::{phone, TenantId};
use crate::store;

/// Who the conversation is with, before anything is sent.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Normalised digits (`5511987654321`) and as people read them.
    pub digits: String,
    pub display: String,
    /// The contact already known by this number (either spelling of a Brazilian mobile).
    pub contact_name: Option<String>,
    pub templates: Vec<Choice>,
}

fn digits_of(input: &str) -> ActionResult<String> {
    phone::normalize(input, Some("55")).ok_or_else(|| {
        ActionError::invalid(
            "invalid_phone",
            "give the number with its area code, e.g. 11 98765-4321 or +55 11 98765-4321",
        )
    })
}

/// Checks the number and lists the templates for it, filled in for the contact when known.
pub async fn prepare(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    connection_id: i64,
    input: &str,
) -> ActionResult<Prepared> {
    actor.require_sender_in(tenant)?;
    store::connections::get(app.db.reader(), tenant, connection_id).await?.ok_or(ActionError::NotFound)?;
    let digits = digits_of(input)?;
    let key = phone::match_key(&digits);
    let mut conn = app.db.reader().acquire().await?;
    let known = store::contacts::find_by_column(&mut conn, tenant, store::contacts::MatchColumn::PhoneKey, &[&key])
        .await?
        .into_iter()
        .next()
        .map(|(c, _)| c);
    drop(conn);
    let templates = templates::choices(app, tenant, connection_id, known.as_ref()).await?;
    Ok(Prepared {
        display: phone::display(&digits),
        contact_name: known.map(|c| c.name).filter(|n| !n.is_empty()),
        digits,
        templates,
    })
}

/// What to send first: an approved template with its values, or a text.
pub enum Opening {
    Template { id: i64, values: BTreeMap<String, String> },
    Text(String),
}

/// Sends the first message to `input` through the connection; returns the ticket it went into
/// (the contact's current one on that number, or a new one).
pub async fn start(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    connection_id: i64,
    input: &str,
    opening: Opening,
) -> ActionResult<i64> {
    let digits = digits_of(input)?;
    let content = match opening {
        Opening::Template { id, values } => {
            let t = templates::get(app, actor, tenant, id).await?;
            if t.template.connection_id != connection_id {
                return Err(ActionError::invalid("template_not_found", "this number has no such template"));
            }
            templates::content_of(&t, &values)?
        }
        Opening::Text(body) => OutboundContent::Text { body: body.trim().to_string(), preview_url: false },
    };
    let req = super::send::SendRequest {
        tenant,
        target: super::send::SendTarget::Phone { connection_id, phone: format!("+{digits}") },
        content,
        reply_to: None,
        idempotency_key: None,
        marketing: false,
    };
    Ok(super::send::send_message(app, actor, req).await?.ticket_id)
}
