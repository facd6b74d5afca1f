//! How the inbox shows things: times, sizes, locations and file names found in payloads, quotes,
//! message bubbles and history lines, people's names.

use super::*;
use crate::domain::hours;

// ---------------------------------------------------------------- helpers

pub(super) fn tab_code(tab: Tab) -> &'static str {
    match tab {
        Tab::Mine => "mine",
        Tab::Waiting => "waiting",
        Tab::All => "all",
        Tab::Closed => "closed",
        Tab::Bot => "bot",
    }
}

/// `HH:MM` for today, else `dd/mm HH:MM`, on the company's clock (`tz`).
pub(super) fn short_time(ms: i64, now: i64, tz: chrono_tz::Tz) -> String {
    let (Some(t), Some(n)) = (hours::wall_clock(tz, ms), hours::wall_clock(tz, now)) else {
        return String::new();
    };
    if t.date() == n.date() {
        t.format("%H:%M").to_string()
    } else {
        t.format("%d/%m %H:%M").to_string()
    }
}

pub(super) fn size_text(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

/// The first `{latitude, longitude}` pair anywhere in a stored payload (inbound payloads keep
/// Meta's `location` object; outbound ones the content we sent).
pub(super) fn find_location(v: &Value) -> Option<(f64, f64)> {
    match v {
        Value::Object(map) => {
            if let (Some(lat), Some(long)) =
                (map.get("latitude").and_then(Value::as_f64), map.get("longitude").and_then(Value::as_f64))
            {
                return Some((lat, long));
            }
            map.values().find_map(find_location)
        }
        Value::Array(items) => items.iter().find_map(find_location),
        _ => None,
    }
}

pub(super) fn find_filename(v: &Value) -> Option<String> {
    match v {
        Value::Object(map) => map
            .get("filename")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| map.values().find_map(find_filename)),
        Value::Array(items) => items.iter().find_map(find_filename),
        _ => None,
    }
}

/// What a quote shows of a message: its text, else the name of its kind.
pub(super) fn quote_text(lang: Lang, q: &Quoted) -> String {
    match q.body.as_deref().filter(|b| !b.trim().is_empty()) {
        Some(b) if b.chars().count() > 140 => format!("{}…", b.chars().take(140).collect::<String>()),
        Some(b) => b.to_string(),
        None => match kind_label_key(&q.kind) {
            Some(key) => lang.t(key).to_string(),
            None => format!("[{}]", q.kind),
        },
    }
}

/// The label key of a message kind that has no text of its own (media, location, contact card).
pub(super) fn kind_label_key(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "image" => "msg.image",
        "audio" | "voice" => "msg.audio",
        "video" => "msg.video",
        "document" => "msg.document",
        "sticker" => "msg.sticker",
        "location" => "msg.location",
        "contacts" | "contact" => "msg.contact",
        _ => return None,
    })
}

/// A list preview in the reader's language: the stored `[image]` of a message without text
/// becomes "Imagem" with the kind's icon; text (and kinds without a label) stays as stored.
pub(in crate::http::web) fn preview_text(lang: Lang, stored: Option<&str>) -> (String, &'static str) {
    let stored = stored.unwrap_or_default();
    let kind = stored.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
    match kind.and_then(|k| kind_label_key(k).map(|key| (k, key))) {
        Some((k, key)) => (lang.t(key).to_string(), super::super::icons::for_kind(k)),
        None => (stored.to_string(), ""),
    }
}

/// "há 5 min": how long the customer has waited, in the reader's language.
pub(in crate::http::web) fn waited_text(lang: Lang, since: i64, now: i64) -> String {
    let (key, n) = match inbox::waited(since, now) {
        inbox::Waited::JustNow => return lang.t("inbox.wait.now").to_string(),
        inbox::Waited::Minutes(n) => ("inbox.wait.min", n),
        inbox::Waited::Hours(n) => ("inbox.wait.hours", n),
        inbox::Waited::Days(n) => ("inbox.wait.days", n),
    };
    lang.t(key).replace("{n}", &n.to_string())
}

/// Bubbles of a page: reactions are shown on the message they react to, not as bubbles.
pub(super) fn message_views(
    lang: Lang,
    messages: Vec<StoredMessage>,
    quoted: &[Quoted],
    reactions: &[Reaction],
    names: &HashMap<i64, String>,
    now: i64,
    tz: chrono_tz::Tz,
) -> Vec<MessageView> {
    messages
        .into_iter()
        .filter(|m| m.kind != "reaction")
        .map(|m| {
            let quote = m
                .refers_to
                .as_deref()
                .and_then(|r| quoted.iter().find(|q| q.provider_id == r))
                .map(|q| QuoteView { id: q.id, text: quote_text(lang, q), mine: q.direction == "out" });
            let on_it: Vec<(String, bool)> = match m.provider_id.as_deref() {
                Some(p) => reactions
                    .iter()
                    .filter(|r| r.refers_to == p)
                    .map(|r| (r.emoji.clone(), r.direction == "out"))
                    .collect(),
                None => Vec::new(),
            };
            let file = actions::composer::media_location(&m).map(|(_, mime)| FileView {
                url: format!("/inbox/{}/media/{}", m.ticket_id, m.id),
                image: mime.starts_with("image/"),
                audio: mime.starts_with("audio/"),
                video: mime.starts_with("video/"),
            });
            let mut view = message_view(lang, m, names, now, tz);
            view.file = file;
            view.quote = quote;
            view.reactions = on_it;
            view
        })
        .collect()
}

pub(super) fn message_view(
    lang: Lang,
    m: StoredMessage,
    names: &HashMap<i64, String>,
    now: i64,
    tz: chrono_tz::Tz,
) -> MessageView {
    let payload: Value = serde_json::from_str(&m.payload).unwrap_or(Value::Null);
    // Locations have their own link; the other kinds without text show their label.
    let media_key = kind_label_key(&m.kind).filter(|_| m.kind != "location");
    let media = media_key.map(|key| {
        let mut parts = vec![lang.t(key).to_string()];
        if m.kind == "document" {
            if let Some(name) = find_filename(&payload) {
                parts.push(name);
            }
        }
        if let Some(size) = m.media_size.filter(|s| *s > 0) {
            parts.push(size_text(size));
        }
        parts.join(" · ")
    });
    let map_url = if m.kind == "location" {
        find_location(&payload)
            .map(|(lat, long)| format!("https://www.openstreetmap.org/?mlat={lat}&mlon={long}#map=16/{lat}/{long}"))
    } else {
        None
    };
    MessageView {
        id: m.id,
        time: short_time(m.sent_at, now, tz),
        sent_at: m.sent_at,
        // What the business wrote on its own phone is signed "Celular".
        agent: m
            .sender_user_id
            .and_then(|u| names.get(&u).cloned())
            .or_else(|| (m.origin.as_deref() == Some("phone")).then(|| lang.t("msg.from_phone").to_string())),
        quoted: m.refers_to.is_some() && m.kind != "reaction",
        quote: None,
        reactions: Vec::new(),
        can_reply: m.provider_id.is_some() && m.direction != "note",
        file: None,
        direction: m.direction,
        kind: m.kind,
        body: m.body,
        status: m.status,
        error_title: m.error_title,
        media,
        map_url,
    }
}

pub(super) fn history_line(
    lang: Lang,
    e: &crate::store::ticket_events::TicketEvent,
    names: &HashMap<i64, String>,
    departments: &[Department],
    now: i64,
    tz: chrono_tz::Tz,
) -> HistoryLine {
    let person = |id: Option<i64>| id.and_then(|u| names.get(&u).cloned());
    let department = |id: Option<i64>| id.and_then(|d| departments.iter().find(|x| x.id == d).map(|x| x.name.clone()));
    let mut text = lang.t(&format!("history.{}", e.kind)).to_string();
    if text.starts_with("history.") {
        text = e.kind.clone();
    }
    let mut extra = Vec::new();
    if let Some(by) = person(e.actor_user_id) {
        extra.push(format!("{} {by}", lang.t("history.by")));
    }
    let to = [department(e.to_department_id), person(e.to_user_id)].into_iter().flatten().collect::<Vec<_>>();
    if !to.is_empty() && e.kind != "captured" {
        extra.push(format!("→ {}", to.join(" / ")));
    }
    // A timed rule's reminder says how long the customer had waited.
    if e.kind == "reminded" {
        let data: serde_json::Value = serde_json::from_str(&e.data).unwrap_or_default();
        if let Some(minutes) = data.get("minutes").and_then(|m| m.as_i64()) {
            extra.push(lang.t("history.reminded_minutes").replace("{n}", &minutes.to_string()));
        }
    }
    // A kanban move names the stages it went between.
    if e.kind == "lane" {
        let data: serde_json::Value = serde_json::from_str(&e.data).unwrap_or_default();
        let stage = |key: &str| data.get(key).and_then(|v| v.as_str()).unwrap_or(lang.t("kanban.no_lane")).to_string();
        extra.push(format!("{} → {}", stage("from_name"), stage("to_name")));
    }
    if !extra.is_empty() {
        text = format!("{text} ({})", extra.join(", "));
    }
    HistoryLine { time: short_time(e.created_at, now, tz), text, note: e.note.clone() }
}

pub(super) async fn names(app: &App, actor: &Actor, tenant: TenantId) -> HashMap<i64, String> {
    match actions::users::names(app, actor, tenant).await {
        Ok(list) => list.into_iter().map(|(id, name)| (id.0, name)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "reading names failed");
            HashMap::new()
        }
    }
}

pub(in crate::http::web) fn fail(lang: Lang, e: &ActionError) -> Response {
    (error_status(e), Html(format!("<p class=\"alert error\">{}</p>", escape(&error_message(lang, e))))).into_response()
}

/// The message for a failed action in the person's language: the translation of its code when
/// there is one (`err.<code>`), else the action's own message.
pub(in crate::http::web) fn escape(s: &str) -> String {
    askama::filters::escape(s, askama::filters::Html).map(|e| e.to_string()).unwrap_or_default()
}
