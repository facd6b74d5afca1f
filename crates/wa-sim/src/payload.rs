//! Webhook bodies in Meta's envelope.

use serde_json::{json, Value};

/// `{"object":"whatsapp_business_account","entry":[...]}`.
pub(crate) fn envelope(entries: Vec<Value>) -> Value {
    json!({ "object": "whatsapp_business_account", "entry": entries })
}

/// One entry of a WABA with its changes.
pub(crate) fn entry(waba_id: &str, changes: Vec<Value>) -> Value {
    json!({ "id": waba_id, "changes": changes })
}

/// A `messages`-field change carrying customer messages and their senders' profiles.
pub(crate) fn messages_change(
    display_phone_number: &str,
    phone_number_id: &str,
    contacts: Vec<Value>,
    messages: Vec<Value>,
) -> Value {
    json!({
        "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": display_phone_number, "phone_number_id": phone_number_id },
            "contacts": contacts,
            "messages": messages,
        },
        "field": "messages",
    })
}

/// A `messages`-field change carrying status updates.
pub(crate) fn statuses_change(display_phone_number: &str, phone_number_id: &str, statuses: Vec<Value>) -> Value {
    json!({
        "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": display_phone_number, "phone_number_id": phone_number_id },
            "statuses": statuses,
        },
        "field": "messages",
    })
}

/// The `contacts[]` element naming a sender: their business-scoped user id always, their
/// number (`wa_id`) unless they show a username instead, and the username when they have one.
pub(crate) fn contact(wa_id: Option<&str>, user_id: &str, profile_name: &str, username: Option<&str>) -> Value {
    let mut profile = json!({ "name": profile_name });
    if let Some(u) = username {
        profile["username"] = json!(u);
    }
    let mut c = json!({ "profile": profile });
    if let Some(w) = wa_id {
        c["wa_id"] = json!(w);
    }
    c["user_id"] = json!(user_id);
    c
}
