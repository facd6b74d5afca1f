//! What Atende sends: the content of an outbound message, its checks, and the request body Meta's
//! Cloud API documents for it (`POST /{phone-number-id}/messages`). Only templates may be sent
//! outside the 24-hour customer-service window.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

mod interactive;
pub use interactive::*;

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

#[cfg(test)]
mod tests;
