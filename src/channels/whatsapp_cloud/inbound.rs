//! Parses Meta's webhook deliveries. Every entry, change, message and status is read; unknown
//! fields are ignored; unknown message types become `Unsupported` (kept, shown, never dropped).
//! The parser never panics on any JSON.
//!
//! Since 2026 a sender is named by a business-scoped user id (`from_user_id`, `contacts[].user_id`)
//! and, unless they show a username instead of a number, by their phone (`from`, `wa_id`); a
//! message with either is read, one with neither is skipped.

use serde_json::Value;

use crate::domain::message::{DeliveryStatus, MessageKind};

pub use crate::domain::inbound::{Delivery, InboundMessage, PreferenceUpdate, StatusUpdate};

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("body is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn seconds_to_ms(v: Option<String>) -> i64 {
    v.and_then(|s| s.parse::<i64>().ok()).map(|s| s.saturating_mul(1000)).unwrap_or(0)
}

/// Removes NUL characters from every string (keys included): PostgreSQL refuses them in text,
/// and no person writes one. Only allocates when a NUL is there.
fn strip_nul(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(strip_nul),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                let entries = std::mem::take(map);
                map.extend(entries.into_iter().map(|(k, v)| (k.replace('\0', ""), v)));
            }
            map.values_mut().for_each(strip_nul);
        }
        _ => {}
    }
}

/// Reads one webhook body.
pub fn parse(body: &[u8]) -> Result<Delivery, ParseError> {
    let mut root: Value = serde_json::from_slice(body)?;
    strip_nul(&mut root);
    let mut out = Delivery::default();
    let entries = root.get("entry").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    for entry in entries {
        let changes = entry.get("changes").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        for change in changes {
            let Some(value) = change.get("value") else { continue };
            read_value(value, &mut out);
        }
    }
    Ok(out)
}

fn read_value(value: &Value, out: &mut Delivery) {
    let phone_number_id = text(value, &["metadata", "phone_number_id"]).unwrap_or_default();
    let contacts = value.get("contacts").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    // A sender's `contacts[]` element: the one with their phone or user id, or the only one.
    let contact_of = |from: Option<&str>, user_id: Option<&str>| {
        contacts
            .iter()
            .find(|c| {
                (from.is_some() && text(c, &["wa_id"]).as_deref() == from)
                    || (user_id.is_some() && text(c, &["user_id"]).as_deref() == user_id)
            })
            .or(contacts.first().filter(|_| contacts.len() == 1))
    };
    for m in value.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        let from = text(m, &["from"]).filter(|f| !f.is_empty());
        let from_user_id = text(m, &["from_user_id"]).filter(|u| !u.is_empty());
        let contact = contact_of(from.as_deref(), from_user_id.as_deref());
        let user_id = from_user_id.or_else(|| contact.and_then(|c| text(c, &["user_id"])).filter(|u| !u.is_empty()));
        let Some(provider_id) = text(m, &["id"]).filter(|_| from.is_some() || user_id.is_some()) else {
            tracing::warn!("webhook message without id or sender skipped");
            continue;
        };
        let mut msg = InboundMessage {
            phone_number_id: phone_number_id.clone(),
            profile_name: contact.and_then(|c| text(c, &["profile", "name"])),
            username: contact.and_then(|c| text(c, &["profile", "username"])).filter(|u| !u.is_empty()),
            from,
            user_id,
            provider_id,
            sent_at_ms: seconds_to_ms(text(m, &["timestamp"])),
            kind: MessageKind::Unsupported,
            body: None,
            media_id: None,
            media_mime: None,
            filename: None,
            refers_to: text(m, &["context", "id"]),
            from_me: false,
            raw: stored_form(m).to_string(),
        };
        read_content(m, &mut msg);
        out.messages.push(msg);
    }
    for p in value.get("user_preferences").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        // Only marketing preferences exist today; another category is not ours to read.
        if text(p, &["category"]).is_some_and(|c| c != "marketing_messages") {
            continue;
        }
        let Some(wa_id) = text(p, &["wa_id"]).filter(|w| !w.is_empty()) else { continue };
        let stop = match text(p, &["value"]).as_deref() {
            Some("stop") => true,
            Some("resume") => false,
            _ => continue,
        };
        out.preferences.push(PreferenceUpdate {
            phone_number_id: phone_number_id.clone(),
            wa_id,
            stop,
            at_ms: seconds_to_ms(text(p, &["timestamp"])),
        });
    }
    for s in value.get("statuses").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        let Some(provider_id) = text(s, &["id"]) else { continue };
        let Some(status) = text(s, &["status"]).and_then(|st| DeliveryStatus::parse(&st)) else { continue };
        if matches!(status, DeliveryStatus::Received | DeliveryStatus::Queued) {
            continue;
        }
        let error = s.get("errors").and_then(Value::as_array).and_then(|e| e.first());
        out.statuses.push(StatusUpdate {
            phone_number_id: phone_number_id.clone(),
            provider_id,
            status,
            at_ms: seconds_to_ms(text(s, &["timestamp"])),
            recipient: text(s, &["recipient_id"]),
            recipient_user_id: text(s, &["recipient_user_id"]),
            callback_data: text(s, &["biz_opaque_callback_data"]),
            error_code: error.and_then(|e| e.get("code")).and_then(Value::as_i64),
            error_title: error.and_then(|e| text(e, &["title"]).or_else(|| text(e, &["message"]))),
        });
    }
}

/// Members of a message object that Meta documents for every type.
const COMMON_MEMBERS: &[&str] =
    &["from", "from_user_id", "id", "timestamp", "type", "context", "errors", "referral", "identity"];

/// Message types Meta documents; a message keeps the one member named by its type.
const TYPE_MEMBERS: &[&str] = &[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "edit",
    "revoke",
    "order",
    "system",
    "unsupported",
];

/// The message object as stored: only documented members, so a sender cannot smuggle our own
/// structures (or anything else) into a stored payload that readers later look at.
fn stored_form(m: &Value) -> Value {
    let Some(object) = m.as_object() else { return Value::Null };
    let kind = object.get("type").and_then(Value::as_str).unwrap_or_default();
    let keep = |key: &str| COMMON_MEMBERS.contains(&key) || (key == kind && TYPE_MEMBERS.contains(&key));
    Value::Object(object.iter().filter(|(k, _)| keep(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn read_content(m: &Value, msg: &mut InboundMessage) {
    let kind = text(m, &["type"]).unwrap_or_default();
    let media = |msg: &mut InboundMessage, key: &str| {
        msg.media_id = text(m, &[key, "id"]);
        msg.media_mime = text(m, &[key, "mime_type"]);
        msg.body = text(m, &[key, "caption"]);
    };
    match kind.as_str() {
        "text" => {
            msg.kind = MessageKind::Text;
            msg.body = text(m, &["text", "body"]);
        }
        "image" => {
            msg.kind = MessageKind::Image;
            media(msg, "image");
        }
        "audio" => {
            let voice = m.get("audio").and_then(|a| a.get("voice")).and_then(Value::as_bool).unwrap_or(false);
            msg.kind = if voice { MessageKind::Voice } else { MessageKind::Audio };
            media(msg, "audio");
        }
        "video" => {
            msg.kind = MessageKind::Video;
            media(msg, "video");
        }
        "document" => {
            msg.kind = MessageKind::Document;
            media(msg, "document");
            msg.filename = text(m, &["document", "filename"]);
        }
        "sticker" => {
            msg.kind = MessageKind::Sticker;
            media(msg, "sticker");
        }
        "location" => {
            msg.kind = MessageKind::Location;
            msg.body = text(m, &["location", "name"]).or_else(|| text(m, &["location", "address"]));
        }
        "contacts" => {
            msg.kind = MessageKind::Contacts;
            msg.body = m
                .get("contacts")
                .and_then(Value::as_array)
                .and_then(|c| c.first())
                .and_then(|c| text(c, &["name", "formatted_name"]));
        }
        "interactive" => match text(m, &["interactive", "type"]).as_deref() {
            Some("button_reply") => {
                msg.kind = MessageKind::ButtonReply;
                msg.body = text(m, &["interactive", "button_reply", "title"]);
            }
            Some("list_reply") => {
                msg.kind = MessageKind::ListReply;
                msg.body = text(m, &["interactive", "list_reply", "title"]);
            }
            _ => msg.kind = MessageKind::Unsupported,
        },
        "button" => {
            msg.kind = MessageKind::TemplateButton;
            msg.body = text(m, &["button", "text"]).or_else(|| text(m, &["button", "payload"]));
        }
        "reaction" => {
            msg.kind = MessageKind::Reaction;
            msg.body = text(m, &["reaction", "emoji"]);
            msg.refers_to = text(m, &["reaction", "message_id"]);
        }
        "edit" => {
            msg.kind = MessageKind::Edit;
            msg.body = text(m, &["edit", "message", "text", "body"]).or_else(|| text(m, &["edit", "text", "body"]));
            msg.refers_to = text(m, &["edit", "original_message_id"]).or(msg.refers_to.take());
        }
        "revoke" | "deleted" => {
            msg.kind = MessageKind::Deletion;
            msg.refers_to = text(m, &["revoke", "original_message_id"]).or(msg.refers_to.take());
        }
        _ => {
            msg.kind = MessageKind::Unsupported;
            msg.body = m
                .get("errors")
                .and_then(Value::as_array)
                .and_then(|e| e.first())
                .and_then(|e| text(e, &["title"]).or_else(|| text(e, &["message"])));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(value: Value) -> Vec<u8> {
        json!({"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":value}]}]})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn nul_characters_are_removed_everywhere() {
        let m = json!({"from":"55\u{0}11","id":"w\u{0}1","type":"text","text":{"body":"o\u{0}i"},"context":{"id\u{0}":"x"}});
        let d = parse(&envelope(json!({"contacts":[{"profile":{"name":"A\u{0}na"},"wa_id":"5511"}],"messages":[m]})))
            .unwrap();
        let msg = &d.messages[0];
        assert_eq!(
            (msg.from.as_deref(), msg.provider_id.as_str(), msg.body.as_deref()),
            (Some("5511"), "w1", Some("oi"))
        );
        assert_eq!(msg.profile_name.as_deref(), Some("Ana"));
        assert!(!msg.raw.contains("\\u0000"), "{}", msg.raw);
    }

    #[test]
    fn stored_payloads_keep_only_documented_members() {
        let smuggled = json!({"from":"5511987654321","id":"wamid.X","timestamp":"1","type":"text","text":{"body":"oi"},
            "content":{"type":"media","kind":"document","source":{"file":{"path":"../master.key","mime":"application/pdf"}}},
            "image":{"id":"M"}});
        let d = parse(&envelope(json!({"metadata":{"phone_number_id":"P"},"messages":[smuggled]}))).unwrap();
        let stored: Value = serde_json::from_str(&d.messages[0].raw).unwrap();
        assert_eq!(
            stored,
            json!({"from":"5511987654321","id":"wamid.X","timestamp":"1","type":"text","text":{"body":"oi"}})
        );
        let odd = json!({"from":"1","id":"w","type":"content","content":{"type":"media"}});
        let d = parse(&envelope(json!({"messages":[odd]}))).unwrap();
        let stored: Value = serde_json::from_str(&d.messages[0].raw).unwrap();
        assert!(stored.get("content").is_none(), "an undocumented type keeps no member of its name: {stored}");
    }

    #[test]
    fn reads_user_ids_and_username_only_senders() {
        let body = json!({"metadata":{"phone_number_id":"P"},
        "contacts":[{"profile":{"name":"Ana","username":"ana.souza"},"user_id":"BR.1502576394655843"},
                    {"profile":{"name":"Bia"},"wa_id":"5521912345678","user_id":"BR.77"}],
        "messages":[
            {"from_user_id":"BR.1502576394655843","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"oi"}},
            {"from":"5521912345678","from_user_id":"BR.77","id":"wamid.2","timestamp":"2","type":"text","text":{"body":"olá"}},
            {"id":"wamid.3","timestamp":"3","type":"text","text":{"body":"nobody"}}
        ]});
        let d = parse(&envelope(body)).unwrap();
        assert_eq!(d.messages.len(), 2, "a message naming no sender is skipped");
        let (ana, bia) = (&d.messages[0], &d.messages[1]);
        assert_eq!((ana.from.as_deref(), ana.user_id.as_deref()), (None, Some("BR.1502576394655843")));
        assert_eq!((ana.profile_name.as_deref(), ana.username.as_deref()), (Some("Ana"), Some("ana.souza")));
        assert_eq!((bia.from.as_deref(), bia.user_id.as_deref()), (Some("5521912345678"), Some("BR.77")));
        assert_eq!((bia.profile_name.as_deref(), bia.username.as_deref()), (Some("Bia"), None));
        let stored: Value = serde_json::from_str(&ana.raw).unwrap();
        assert_eq!(stored["from_user_id"], "BR.1502576394655843", "the documented member is kept");

        // An older payload shape: the user id only on the contact.
        let body = json!({"contacts":[{"profile":{"name":"C"},"user_id":"US.9"}],
            "messages":[{"id":"wamid.4","type":"text","text":{"body":"x"}}]});
        assert_eq!(parse(&envelope(body)).unwrap().messages[0].user_id.as_deref(), Some("US.9"));

        let status = json!({"statuses":[{"id":"wamid.9","status":"delivered","timestamp":"5",
            "recipient_user_id":"BR.1502576394655843","biz_opaque_callback_data":"atende:42"}]});
        let d = parse(&envelope(status)).unwrap();
        assert_eq!(d.statuses[0].recipient, None);
        assert_eq!(d.statuses[0].recipient_user_id.as_deref(), Some("BR.1502576394655843"));
        assert_eq!(d.statuses[0].callback_data.as_deref(), Some("atende:42"));
    }

    #[test]
    fn reads_every_message_of_a_batched_delivery() {
        let body = json!({"object":"whatsapp_business_account","entry":[
            {"id":"W","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P1"},
                "contacts":[{"profile":{"name":"Ana"},"wa_id":"5511987654321"},{"profile":{"name":"Bia"},"wa_id":"5521912345678"}],
                "messages":[
                    {"from":"5511987654321","id":"wamid.1","timestamp":"1700000000","type":"text","text":{"body":"Oi"}},
                    {"from":"5521912345678","id":"wamid.2","timestamp":"1700000001","type":"image","image":{"id":"M1","mime_type":"image/jpeg","caption":"foto"},"context":{"from":"X","id":"wamid.0"}}
                ]}}]},
            {"id":"W","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P1"},
                "statuses":[{"id":"wamid.9","status":"failed","timestamp":"1700000002","recipient_id":"55119","errors":[{"code":131026,"title":"Message Undeliverable"}]}]}}]}
        ]});
        let d = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(d.messages.len(), 2);
        assert_eq!(d.messages[0].profile_name.as_deref(), Some("Ana"));
        assert_eq!(d.messages[0].body.as_deref(), Some("Oi"));
        assert_eq!(d.messages[0].sent_at_ms, 1_700_000_000_000);
        assert_eq!(d.messages[1].profile_name.as_deref(), Some("Bia"));
        assert_eq!(d.messages[1].kind, MessageKind::Image);
        assert_eq!(d.messages[1].media_id.as_deref(), Some("M1"));
        assert_eq!(d.messages[1].refers_to.as_deref(), Some("wamid.0"));
        assert_eq!(d.statuses.len(), 1);
        assert_eq!(d.statuses[0].status, DeliveryStatus::Failed);
        assert_eq!(d.statuses[0].error_code, Some(131026));
    }

    #[test]
    fn every_documented_type_maps_to_a_kind() {
        let cases = [
            (json!({"type":"audio","audio":{"id":"A","voice":true}}), MessageKind::Voice),
            (json!({"type":"audio","audio":{"id":"A"}}), MessageKind::Audio),
            (json!({"type":"video","video":{"id":"V"}}), MessageKind::Video),
            (json!({"type":"document","document":{"id":"D","filename":"a.pdf"}}), MessageKind::Document),
            (json!({"type":"sticker","sticker":{"id":"S"}}), MessageKind::Sticker),
            (
                json!({"type":"location","location":{"latitude":1.0,"longitude":2.0,"name":"Loja"}}),
                MessageKind::Location,
            ),
            (json!({"type":"contacts","contacts":[{"name":{"formatted_name":"Zé"}}]}), MessageKind::Contacts),
            (
                json!({"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"b","title":"Sim"}}}),
                MessageKind::ButtonReply,
            ),
            (
                json!({"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"l","title":"Item"}}}),
                MessageKind::ListReply,
            ),
            (json!({"type":"button","button":{"payload":"p","text":"Confirmar"}}), MessageKind::TemplateButton),
            (json!({"type":"reaction","reaction":{"message_id":"wamid.5","emoji":"👍"}}), MessageKind::Reaction),
            (
                json!({"type":"unsupported","errors":[{"code":131051,"title":"Message type unknown"}]}),
                MessageKind::Unsupported,
            ),
            (json!({"type":"brand_new_type"}), MessageKind::Unsupported),
        ];
        for (mut m, kind) in cases {
            m["from"] = json!("5511987654321");
            m["id"] = json!("wamid.x");
            let d = parse(&envelope(json!({"messages":[m]}))).unwrap();
            assert_eq!(d.messages[0].kind, kind, "{:?}", d.messages[0].raw);
        }
    }

    #[test]
    fn malformed_json_is_an_error_and_odd_shapes_are_ignored() {
        assert!(parse(b"{not json").is_err());
        for odd in
            ["[]", "1", "null", r#"{"entry":7}"#, r#"{"entry":[{"changes":[{"value":{"messages":[{"id":3}]}}]}]}"#]
        {
            let d = parse(odd.as_bytes()).unwrap();
            assert!(d.messages.is_empty() && d.statuses.is_empty(), "{odd}");
        }
    }

    /// Property test: arbitrary JSON (biased towards webhook-like shapes and keys) and arbitrary
    /// bytes never make the parser panic, and whatever it returns has ids for every item.
    #[test]
    fn arbitrary_input_never_panics() {
        use rand::{Rng, SeedableRng};
        const KEYS: &[&str] = &[
            "object",
            "entry",
            "changes",
            "value",
            "field",
            "metadata",
            "phone_number_id",
            "contacts",
            "profile",
            "name",
            "wa_id",
            "messages",
            "statuses",
            "from",
            "id",
            "timestamp",
            "type",
            "text",
            "body",
            "image",
            "audio",
            "voice",
            "document",
            "filename",
            "location",
            "interactive",
            "button_reply",
            "list_reply",
            "title",
            "button",
            "payload",
            "reaction",
            "emoji",
            "message_id",
            "context",
            "errors",
            "code",
            "status",
            "recipient_id",
            "user_id",
            "from_user_id",
            "username",
            "edit",
            "revoke",
        ];
        // Message types and delivery statuses: the strings the parser branches on.
        const STATUSES: &[&str] = &["sent", "delivered", "read", "failed"];

        fn value(rng: &mut rand::rngs::StdRng, depth: u32) -> Value {
            let pick = if depth > 5 { rng.gen_range(0..5) } else { rng.gen_range(0..8) };
            match pick {
                0 => Value::Null,
                1 => Value::Bool(rng.gen()),
                2 => json!(rng.gen::<i64>()),
                3 => json!(rng.gen::<f64>()),
                4 => Value::String(if rng.gen_bool(0.5) {
                    let i = rng.gen_range(0..TYPE_MEMBERS.len() + STATUSES.len());
                    TYPE_MEMBERS.get(i).unwrap_or_else(|| &STATUSES[i - TYPE_MEMBERS.len()]).to_string()
                } else {
                    "\u{0}é🙂".repeat(rng.gen_range(0..3))
                }),
                5 | 6 => {
                    let mut map = serde_json::Map::new();
                    for _ in 0..rng.gen_range(0..6) {
                        map.insert(KEYS[rng.gen_range(0..KEYS.len())].to_string(), value(rng, depth + 1));
                    }
                    Value::Object(map)
                }
                _ => Value::Array((0..rng.gen_range(0..4)).map(|_| value(rng, depth + 1)).collect()),
            }
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_122);
        for _ in 0..20_000 {
            let v =
                json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": value(&mut rng, 0)}]}]});
            let d = parse(v.to_string().as_bytes()).unwrap();
            // Only messages with an id and a sender come out (they are the de-duplication key and the contact).
            assert!(d.messages.iter().all(|m| {
                let raw: Value = serde_json::from_str(&m.raw).unwrap();
                raw.get("id").is_some() && (m.from.is_some() || m.user_id.is_some())
            }));
            let v = value(&mut rng, 0);
            let _ = parse(v.to_string().as_bytes());
            let bytes: Vec<u8> = (0..rng.gen_range(0..64)).map(|_| rng.gen()).collect();
            let _ = parse(&bytes);
        }
    }
}
