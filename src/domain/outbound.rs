//! What Atende sends: the content of an outbound message, its checks, and the request body Meta's
//! Cloud API documents for it (`POST /{phone-number-id}/messages`). Only templates may be sent
//! outside the 24-hour customer-service window.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Who a message goes to: a phone (WhatsApp id), or, for a customer who shows a username
/// instead of a number, their business-scoped user id (sent as `recipient`, not `to`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipient<'a> {
    Phone(&'a str),
    UserId(&'a str),
}

impl<'a> From<&'a str> for Recipient<'a> {
    fn from(phone: &'a str) -> Self {
        Recipient::Phone(phone)
    }
}

/// Meta's limit for `biz_opaque_callback_data`.
pub const CALLBACK_DATA_MAX: usize = 512;

/// The `biz_opaque_callback_data` an outbound message carries: Meta echoes it in every status
/// of the message, so a status names our message even before its `wamid` is recorded.
pub fn callback_data(message_id: i64) -> String {
    format!("atende:{message_id}")
}

/// The message id in a [`callback_data`] value (anything else — another sender's data — is not ours).
pub fn parse_callback_data(data: &str) -> Option<i64> {
    data.strip_prefix("atende:")?.parse().ok().filter(|id: &i64| *id > 0)
}

/// Kinds of media Meta accepts in a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Audio,
    Video,
    Document,
    Sticker,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }

    /// Audio and stickers carry no caption on WhatsApp.
    fn takes_caption(self) -> bool {
        matches!(self, MediaKind::Image | MediaKind::Video | MediaKind::Document)
    }
}

/// Where a media file comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    /// A public HTTPS URL Meta downloads itself.
    Link(String),
    /// A media id already uploaded to Graph.
    Id(String),
    /// A file in Atende's media store, named by its SHA-256 (the store resolves the name); the
    /// send job uploads it to Graph first. Rows written before names were used say `file` and
    /// hold the full path: only its last component is read, and only if it is a hash.
    #[serde(alias = "file")]
    Stored {
        #[serde(alias = "path", deserialize_with = "media_name")]
        sha256: String,
        mime: String,
    },
}

/// Reads a stored file's reference as a bare media name (64 lowercase hex digits), refusing
/// anything else, so a stored payload can never name a file outside the media store.
fn media_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let reference = String::deserialize(d)?;
    super::media::name_of(&reference)
        .map(str::to_string)
        .ok_or_else(|| serde::de::Error::custom("a stored file is named by its SHA-256"))
}

/// A file sent with a text that becomes its caption (schedules and campaigns keep it as JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attached {
    pub kind: MediaKind,
    pub source: MediaSource,
    #[serde(default)]
    pub filename: Option<String>,
}

impl Attached {
    /// The message: this file with `text` as its caption (none when empty).
    pub fn content(&self, text: &str) -> OutboundContent {
        let text = text.trim();
        OutboundContent::Media {
            kind: self.kind,
            source: self.source.clone(),
            caption: (!text.is_empty()).then(|| text.to_string()),
            filename: self.filename.clone(),
        }
    }

    /// Whether a text can go with it (audio and stickers carry none on WhatsApp).
    pub fn takes_text(&self) -> bool {
        self.kind.takes_caption()
    }

    /// As stored; `None` for a value no longer readable (never a file outside the media store).
    pub fn parse(json: &str) -> Option<Attached> {
        serde_json::from_str(json).ok()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One outbound message's content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundContent {
    Text {
        body: String,
        #[serde(default)]
        preview_url: bool,
    },
    Media {
        kind: MediaKind,
        source: MediaSource,
        #[serde(default)]
        caption: Option<String>,
        #[serde(default)]
        filename: Option<String>,
    },
    /// An approved template; `components` as Meta documents them (header/body/button parameters),
    /// `null` or `[]` when the template has no variables.
    Template {
        name: String,
        language: String,
        #[serde(default)]
        components: Value,
    },
    /// Buttons or a list: the `interactive` object as Meta documents it.
    Interactive { interactive: Value },
    /// A reaction to a message (an empty emoji removes it).
    Reaction { to_provider_id: String, emoji: String },
    Location {
        latitude: f64,
        longitude: f64,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        address: Option<String>,
    },
}

/// An outbound message as the send job reads it back from the stored row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outbound {
    pub content: OutboundContent,
    /// The provider id of the message this one quotes.
    #[serde(default)]
    pub reply_to: Option<String>,
}

const TEXT_MAX: usize = 4096;
const CAPTION_MAX: usize = 1024;

impl OutboundContent {
    /// Applies `fill` to every text the customer reads: a text's body, a media caption, and the
    /// `text` values of a template's parameters (how `{{campo}}` variables reach API sends).
    pub fn map_texts(&mut self, fill: &dyn Fn(&str) -> String) {
        fn walk(v: &mut Value, fill: &dyn Fn(&str) -> String) {
            match v {
                Value::Array(items) => items.iter_mut().for_each(|i| walk(i, fill)),
                Value::Object(map) => {
                    for (k, v) in map.iter_mut() {
                        match v {
                            Value::String(text) if k == "text" => *text = fill(text),
                            _ => walk(v, fill),
                        }
                    }
                }
                _ => {}
            }
        }
        match self {
            OutboundContent::Text { body, .. } => *body = fill(body),
            OutboundContent::Media { caption: Some(c), .. } => *c = fill(c),
            OutboundContent::Template { components, .. } => walk(components, fill),
            _ => {}
        }
    }

    /// The message kind stored with it (the same names inbound messages use).
    pub fn kind(&self) -> &'static str {
        match self {
            OutboundContent::Text { .. } => "text",
            OutboundContent::Media { kind, .. } => kind.as_str(),
            OutboundContent::Template { .. } => "template",
            OutboundContent::Interactive { .. } => "interactive",
            OutboundContent::Reaction { .. } => "reaction",
            OutboundContent::Location { .. } => "location",
        }
    }

    /// The text people see in the conversation list (body, caption, template name, emoji…).
    pub fn summary(&self) -> Option<String> {
        match self {
            OutboundContent::Text { body, .. } => Some(body.clone()),
            OutboundContent::Media { caption, filename, .. } => caption.clone().or_else(|| filename.clone()),
            OutboundContent::Template { name, .. } => Some(name.clone()),
            OutboundContent::Interactive { interactive } => {
                interactive.get("body").and_then(|b| b.get("text")).and_then(Value::as_str).map(str::to_string)
            }
            OutboundContent::Reaction { emoji, .. } => Some(emoji.clone()),
            OutboundContent::Location { name, address, .. } => name.clone().or_else(|| address.clone()),
        }
    }

    /// Only templates may open a conversation or follow up after the 24-hour window.
    pub fn allowed_outside_window(&self) -> bool {
        matches!(self, OutboundContent::Template { .. })
    }

    /// Checks what Meta would refuse anyway, so people get the reason before anything is queued.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            OutboundContent::Text { body, .. } => {
                if body.trim().is_empty() {
                    return Err("the message is empty".into());
                }
                if body.chars().count() > TEXT_MAX {
                    return Err(format!("a text message has at most {TEXT_MAX} characters"));
                }
            }
            OutboundContent::Media { kind, source, caption, .. } => {
                match source {
                    MediaSource::Link(url) if !url.starts_with("https://") && !url.starts_with("http://") => {
                        return Err("a media link must be an http(s) URL".into())
                    }
                    MediaSource::Id(id) if id.trim().is_empty() => return Err("the media id is empty".into()),
                    MediaSource::Stored { sha256, mime } if sha256.is_empty() || mime.is_empty() => {
                        return Err("the media file is missing".into())
                    }
                    _ => {}
                }
                if let Some(c) = caption {
                    if !kind.takes_caption() {
                        return Err(format!("{} messages have no caption", kind.as_str()));
                    }
                    if c.chars().count() > CAPTION_MAX {
                        return Err(format!("a caption has at most {CAPTION_MAX} characters"));
                    }
                }
            }
            OutboundContent::Template { name, language, components } => {
                if name.trim().is_empty() || language.trim().is_empty() {
                    return Err("a template needs a name and a language".into());
                }
                if !(components.is_null() || components.is_array()) {
                    return Err("template components must be a list".into());
                }
            }
            OutboundContent::Interactive { interactive } => {
                let kind = interactive.get("type").and_then(Value::as_str).unwrap_or("");
                if !matches!(kind, "button" | "list" | "cta_url" | "product" | "product_list" | "flow") {
                    return Err("an interactive message needs a type: button or list".into());
                }
                if interactive.get("action").is_none() {
                    return Err("an interactive message needs an action".into());
                }
            }
            OutboundContent::Reaction { to_provider_id, .. } => {
                if to_provider_id.trim().is_empty() {
                    return Err("a reaction needs the message it reacts to".into());
                }
            }
            OutboundContent::Location { latitude, longitude, .. } => {
                if !(-90.0..=90.0).contains(latitude) || !(-180.0..=180.0).contains(longitude) {
                    return Err("latitude or longitude out of range".into());
                }
            }
        }
        Ok(())
    }
}

impl Outbound {
    /// Meta's request body sending this message to `to`, with `callback_data` as
    /// `biz_opaque_callback_data` (at most [`CALLBACK_DATA_MAX`] characters; longer is left out).
    /// A file source must have been replaced by its uploaded media id first; if not, it is sent
    /// as an id-less object and Meta refuses it with a parameter error.
    pub fn request_json(&self, to: Recipient<'_>, callback_data: Option<&str>) -> Value {
        let mut body = Map::new();
        body.insert("messaging_product".into(), json!("whatsapp"));
        body.insert("recipient_type".into(), json!("individual"));
        match to {
            Recipient::Phone(phone) => body.insert("to".into(), json!(phone)),
            Recipient::UserId(user_id) => body.insert("recipient".into(), json!(user_id)),
        };
        if let Some(data) = callback_data.filter(|d| d.chars().count() <= CALLBACK_DATA_MAX) {
            body.insert("biz_opaque_callback_data".into(), json!(data));
        }
        let (kind, object) = match &self.content {
            OutboundContent::Text { body, preview_url } => {
                ("text", json!({ "body": body, "preview_url": preview_url }))
            }
            OutboundContent::Media { kind, source, caption, filename } => {
                let mut m = Map::new();
                match source {
                    MediaSource::Link(url) => {
                        m.insert("link".into(), json!(url));
                    }
                    MediaSource::Id(id) => {
                        m.insert("id".into(), json!(id));
                    }
                    MediaSource::Stored { .. } => {}
                }
                if let Some(c) = caption.as_ref().filter(|_| kind.takes_caption()) {
                    m.insert("caption".into(), json!(c));
                }
                if let Some(f) = filename.as_ref().filter(|_| *kind == MediaKind::Document) {
                    m.insert("filename".into(), json!(f));
                }
                (kind.as_str(), Value::Object(m))
            }
            OutboundContent::Template { name, language, components } => {
                let mut t = Map::new();
                t.insert("name".into(), json!(name));
                t.insert("language".into(), json!({ "code": language }));
                if components.as_array().is_some_and(|c| !c.is_empty()) {
                    t.insert("components".into(), components.clone());
                }
                ("template", Value::Object(t))
            }
            OutboundContent::Interactive { interactive } => ("interactive", interactive.clone()),
            OutboundContent::Reaction { to_provider_id, emoji } => {
                ("reaction", json!({ "message_id": to_provider_id, "emoji": emoji }))
            }
            OutboundContent::Location { latitude, longitude, name, address } => {
                let mut l = Map::new();
                l.insert("latitude".into(), json!(latitude));
                l.insert("longitude".into(), json!(longitude));
                if let Some(n) = name {
                    l.insert("name".into(), json!(n));
                }
                if let Some(a) = address {
                    l.insert("address".into(), json!(a));
                }
                ("location", Value::Object(l))
            }
        };
        body.insert("type".into(), json!(kind));
        body.insert(kind.into(), object);
        // A reaction names its message itself; everything else may quote one.
        if let (Some(id), false) = (&self.reply_to, matches!(self.content, OutboundContent::Reaction { .. })) {
            body.insert("context".into(), json!({ "message_id": id }));
        }
        Value::Object(body)
    }
}

/// Body parameters of a template (`{{1}}`, `{{2}}`…) as Meta's `components` list.
pub fn template_body_parameters(texts: &[String]) -> Value {
    if texts.is_empty() {
        return Value::Null;
    }
    let parameters: Vec<Value> = texts.iter().map(|t| json!({ "type": "text", "text": t })).collect();
    json!([{ "type": "body", "parameters": parameters }])
}

/// Reply buttons (at most 3, titles up to 20 characters): `(id, title)` pairs.
pub fn interactive_buttons(body: &str, buttons: &[(String, String)]) -> Result<Value, String> {
    if buttons.is_empty() || buttons.len() > 3 {
        return Err("reply buttons: one to three".into());
    }
    if buttons.iter().any(|(id, title)| id.is_empty() || title.is_empty() || title.chars().count() > 20) {
        return Err("each button needs an id and a title of at most 20 characters".into());
    }
    let buttons: Vec<Value> =
        buttons.iter().map(|(id, title)| json!({ "type": "reply", "reply": { "id": id, "title": title } })).collect();
    Ok(json!({ "type": "button", "body": { "text": body }, "action": { "buttons": buttons } }))
}

/// A row of a list message: `(id, title, description)`.
pub type ListRow = (String, String, Option<String>);

/// The prompt and option titles of reply buttons or a list, for a channel that shows them as
/// numbered text ([`super::channel::numbered_choices`]); `None` for other interactive messages.
pub fn interactive_choices(interactive: &Value) -> Option<(String, Vec<String>)> {
    let body = interactive.pointer("/body/text").and_then(Value::as_str).unwrap_or_default().to_string();
    let title = |v: &Value| v.get("title").and_then(Value::as_str).map(str::to_string);
    let options: Vec<String> = match interactive.get("type").and_then(Value::as_str)? {
        "button" => interactive
            .pointer("/action/buttons")?
            .as_array()?
            .iter()
            .filter_map(|b| b.get("reply").and_then(title))
            .collect(),
        "list" => interactive
            .pointer("/action/sections")?
            .as_array()?
            .iter()
            .flat_map(|s| s.get("rows").and_then(Value::as_array).cloned().unwrap_or_default())
            .filter_map(|r| title(&r))
            .collect(),
        _ => return None,
    };
    (!options.is_empty()).then_some((body, options))
}

/// A list message: a button that opens titled sections of rows.
pub fn interactive_list(body: &str, button: &str, sections: &[(String, Vec<ListRow>)]) -> Result<Value, String> {
    let rows: usize = sections.iter().map(|(_, r)| r.len()).sum();
    if sections.is_empty() || sections.len() > 10 || rows == 0 || rows > 10 {
        return Err("a list has one to ten sections and one to ten rows in all".into());
    }
    if button.is_empty() || button.chars().count() > 20 {
        return Err("the list button needs a title of at most 20 characters".into());
    }
    let sections: Vec<Value> = sections
        .iter()
        .map(|(title, rows)| {
            let rows: Vec<Value> = rows
                .iter()
                .map(|(id, title, description)| match description {
                    Some(d) => json!({ "id": id, "title": title, "description": d }),
                    None => json!({ "id": id, "title": title }),
                })
                .collect();
            json!({ "title": title, "rows": rows })
        })
        .collect();
    Ok(json!({ "type": "list", "body": { "text": body }, "action": { "button": button, "sections": sections } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_texts_reaches_bodies_captions_and_template_parameter_texts_only() {
        let upper = |t: &str| t.to_uppercase();
        let mut text = OutboundContent::Text { body: "oi".into(), preview_url: false };
        text.map_texts(&upper);
        assert_eq!(text, OutboundContent::Text { body: "OI".into(), preview_url: false });
        let mut template = OutboundContent::Template {
            name: "pedido".into(),
            language: "pt_BR".into(),
            components: json!([{"type": "body", "parameters": [{"type": "text", "text": "ana"}]}]),
        };
        template.map_texts(&upper);
        let OutboundContent::Template { name, components, .. } = template else { unreachable!() };
        assert_eq!(name, "pedido", "the template's name is not a customer text");
        assert_eq!(components, json!([{"type": "body", "parameters": [{"type": "text", "text": "ANA"}]}]));
    }

    fn out(content: OutboundContent) -> Outbound {
        Outbound { content, reply_to: None }
    }

    #[test]
    fn buttons_and_lists_give_their_choices_for_numbered_text() {
        let b =
            interactive_buttons("Escolha", &[("a".into(), "Vendas".into()), ("b".into(), "Suporte".into())]).unwrap();
        assert_eq!(interactive_choices(&b), Some(("Escolha".into(), vec!["Vendas".into(), "Suporte".into()])));
        let row: ListRow = ("r1".into(), "Boleto".into(), None);
        let l = interactive_list("Menu", "Ver", &[("Financeiro".into(), vec![row])]).unwrap();
        assert_eq!(interactive_choices(&l), Some(("Menu".into(), vec!["Boleto".into()])));
        assert_eq!(interactive_choices(&json!({"type": "cta_url"})), None);
    }

    #[test]
    fn text_with_reply_to_is_built_as_meta_documents() {
        let mut m = out(OutboundContent::Text { body: "Olá!".into(), preview_url: false });
        m.reply_to = Some("wamid.IN1".into());
        assert_eq!(
            m.request_json("5511987654321".into(), None),
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"5511987654321",
                   "type":"text","text":{"body":"Olá!","preview_url":false},"context":{"message_id":"wamid.IN1"}})
        );
    }

    #[test]
    fn a_user_id_goes_as_recipient_and_callback_data_rides_along() {
        let m = out(OutboundContent::Text { body: "Oi".into(), preview_url: false });
        let j = m.request_json(Recipient::UserId("BR.1502576394655843"), Some(&callback_data(42)));
        assert_eq!(j["recipient"], "BR.1502576394655843");
        assert!(j.get("to").is_none(), "a user-id send names no phone: {j}");
        assert_eq!(j["biz_opaque_callback_data"], "atende:42");
        assert_eq!(parse_callback_data("atende:42"), Some(42));
        for other in ["atende:", "atende:-1", "other:42", "{\"a\":1}"] {
            assert_eq!(parse_callback_data(other), None, "{other}");
        }
        let long = "x".repeat(CALLBACK_DATA_MAX + 1);
        assert!(m.request_json("551".into(), Some(&long)).get("biz_opaque_callback_data").is_none());
    }

    #[test]
    fn media_by_link_and_by_id_keep_only_the_fields_each_kind_takes() {
        let image = out(OutboundContent::Media {
            kind: MediaKind::Image,
            source: MediaSource::Link("https://x.test/a.jpg".into()),
            caption: Some("foto".into()),
            filename: Some("ignored.jpg".into()),
        });
        let j = image.request_json("551".into(), None);
        assert_eq!(j["type"], "image");
        assert_eq!(j["image"], json!({"link":"https://x.test/a.jpg","caption":"foto"}));
        let doc = out(OutboundContent::Media {
            kind: MediaKind::Document,
            source: MediaSource::Id("MID".into()),
            caption: None,
            filename: Some("boleto.pdf".into()),
        });
        assert_eq!(doc.request_json("551".into(), None)["document"], json!({"id":"MID","filename":"boleto.pdf"}));
        let audio = out(OutboundContent::Media {
            kind: MediaKind::Audio,
            source: MediaSource::Id("A".into()),
            caption: None,
            filename: None,
        });
        assert_eq!(audio.request_json("551".into(), None)["audio"], json!({"id":"A"}));
    }

    #[test]
    fn templates_carry_language_and_components_only_when_given() {
        let components = template_body_parameters(&["Ana".into(), "42".into()]);
        let t = out(OutboundContent::Template { name: "pedido".into(), language: "pt_BR".into(), components });
        assert_eq!(
            t.request_json("551".into(), None)["template"],
            json!({"name":"pedido","language":{"code":"pt_BR"},"components":[{"type":"body","parameters":[
                {"type":"text","text":"Ana"},{"type":"text","text":"42"}]}]})
        );
        let bare =
            out(OutboundContent::Template { name: "oi".into(), language: "en_US".into(), components: Value::Null });
        assert_eq!(bare.request_json("551".into(), None)["template"], json!({"name":"oi","language":{"code":"en_US"}}));
        assert!(bare.content.allowed_outside_window());
    }

    #[test]
    fn interactive_buttons_and_lists_follow_meta_shapes() {
        let b = interactive_buttons("Confirma?", &[("y".into(), "Sim".into()), ("n".into(), "Não".into())]).unwrap();
        let m = out(OutboundContent::Interactive { interactive: b });
        let j = m.request_json("551".into(), None);
        assert_eq!(j["type"], "interactive");
        assert_eq!(j["interactive"]["action"]["buttons"][1], json!({"type":"reply","reply":{"id":"n","title":"Não"}}));
        assert!(m.content.validate().is_ok());
        assert!(!m.content.allowed_outside_window());
        assert!(interactive_buttons("x", &[]).is_err());
        let l = interactive_list("Escolha", "Ver", &[("Planos".into(), vec![("p1".into(), "Básico".into(), None)])])
            .unwrap();
        assert_eq!(l["action"]["sections"][0]["rows"][0], json!({"id":"p1","title":"Básico"}));
    }

    #[test]
    fn reactions_name_their_message_and_never_quote() {
        let mut m = out(OutboundContent::Reaction { to_provider_id: "wamid.X".into(), emoji: "👍".into() });
        m.reply_to = Some("wamid.X".into());
        let j = m.request_json("551".into(), None);
        assert_eq!(j["reaction"], json!({"message_id":"wamid.X","emoji":"👍"}));
        assert!(j.get("context").is_none());
    }

    #[test]
    fn location_is_built_with_optional_fields() {
        let m = out(OutboundContent::Location {
            latitude: -23.5,
            longitude: -46.6,
            name: Some("Loja".into()),
            address: None,
        });
        assert_eq!(
            m.request_json("551".into(), None)["location"],
            json!({"latitude":-23.5,"longitude":-46.6,"name":"Loja"})
        );
    }

    #[test]
    fn validation_refuses_what_meta_would() {
        assert!(OutboundContent::Text { body: "  ".into(), preview_url: false }.validate().is_err());
        assert!(OutboundContent::Text { body: "x".repeat(4097), preview_url: false }.validate().is_err());
        let sticker_caption = OutboundContent::Media {
            kind: MediaKind::Sticker,
            source: MediaSource::Id("S".into()),
            caption: Some("no".into()),
            filename: None,
        };
        assert!(sticker_caption.validate().is_err());
        let ftp = OutboundContent::Media {
            kind: MediaKind::Image,
            source: MediaSource::Link("ftp://x".into()),
            caption: None,
            filename: None,
        };
        assert!(ftp.validate().is_err());
        assert!(OutboundContent::Template { name: "".into(), language: "pt_BR".into(), components: Value::Null }
            .validate()
            .is_err());
        assert!(OutboundContent::Interactive { interactive: json!({"type":"button"}) }.validate().is_err());
    }

    #[test]
    fn content_round_trips_through_its_stored_json() {
        let m = Outbound {
            content: OutboundContent::Media {
                kind: MediaKind::Video,
                source: MediaSource::Stored { sha256: "ab".repeat(32), mime: "video/mp4".into() },
                caption: None,
                filename: None,
            },
            reply_to: Some("wamid.Q".into()),
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Outbound>(&text).unwrap(), m);
    }
}
