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

/// The `contacts[]` element naming a sender.
pub(crate) fn contact(wa_id: &str, profile_name: &str) -> Value {
    json!({ "profile": { "name": profile_name }, "wa_id": wa_id })
}
