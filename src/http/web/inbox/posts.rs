//! The inbox's form posts: messages, capture, transfer, close, reopen, and the composer's
//! extras (attachments, reactions, tags, the ticket summary and media).

use super::*;

// ---------------------------------------------------------------- posts

#[derive(Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    template_name: String,
    #[serde(default)]
    template_language: String,
    /// A synced template picked in the composer; its values come as `p.{parameter}` fields.
    #[serde(default)]
    template_id: String,
    #[serde(flatten)]
    values: std::collections::HashMap<String, String>,
    /// Our id of the message this reply quotes.
    #[serde(default)]
    reply_to: String,
}

/// `POST /inbox/{ticket}/messages`: a reply, a private note, a quick reply (`/shortcut`) or a
/// template.
pub async fn create_message(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<MessageForm>) -> Response {
    let app = &*p.app;
    let actor = p.actor();
    let tenant = p.tenant();
    let result = async {
        if let Ok(template) = form.template_id.trim().parse::<i64>() {
            let values = crate::http::web::message_templates::values_from_form(&form.values);
            return actions::templates::send_to_ticket(app, &actor, tenant, id, template, &values).await.map(|_| ());
        }
        if !form.template_name.trim().is_empty() {
            let content = OutboundContent::Template {
                name: form.template_name.trim().to_string(),
                language: form.template_language.trim().to_string(),
                components: Value::Null,
            };
            let req = SendRequest {
                marketing: false,
                tenant,
                target: SendTarget::Ticket(id),
                content,
                reply_to: None,
                idempotency_key: None,
            };
            return actions::send::send_message(app, &actor, req).await.map(|_| ());
        }
        let mut body = form.body.trim().to_string();
        if body.starts_with('/') && !body.contains(char::is_whitespace) {
            body = actions::inbox::expand_quick_reply(app, &actor, tenant, id, &body).await.map_err(|e| match e {
                ActionError::NotFound => {
                    ActionError::invalid("unknown_quick_reply", "no quick reply with this shortcut")
                }
                e => e,
            })?;
        }
        if form.note.is_some() {
            actions::inbox::add_note(app, &actor, tenant, id, &body).await.map(|_| ())
        } else if let Ok(quoted) = form.reply_to.trim().parse::<i64>() {
            actions::composer::send_reply(app, &actor, tenant, id, body, quoted).await.map(|_| ())
        } else {
            let content = OutboundContent::Text { body, preview_url: false };
            let req = SendRequest {
                marketing: false,
                tenant,
                target: SendTarget::Ticket(id),
                content,
                reply_to: None,
                idempotency_key: None,
            };
            actions::send::send_message(app, &actor, req).await.map(|_| ())
        }
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/inbox/{id}")).into_response(),
        Err(e) => ticket_page(&p, id, &ListQuery::default(), Some((e, form.body))).await,
    }
}

#[derive(Deserialize)]
pub struct EmptyForm {}

/// After an action: back to the conversation, or to the list when it is no longer visible.
async fn after_action(p: &Page, id: i64) -> Response {
    match actions::inbox::get_ticket(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(_) => Redirect::to(&format!("/inbox/{id}")).into_response(),
        Err(_) => Redirect::to("/inbox").into_response(),
    }
}

pub(super) async fn outcome(p: &Page, id: i64, result: Result<(), ActionError>) -> Response {
    match result {
        Ok(()) => after_action(p, id).await,
        Err(e) => ticket_page(p, id, &ListQuery::default(), Some((e, String::new()))).await,
    }
}

pub async fn capture_ticket(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    let result = actions::inbox::capture(&p.app, &p.actor(), p.tenant(), id).await.map(|_| ());
    outcome(&p, id, result).await
}

pub async fn reopen_ticket(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    let result = actions::inbox::reopen(&p.app, &p.actor(), p.tenant(), id).await.map(|_| ());
    outcome(&p, id, result).await
}

#[derive(Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    department: String,
    #[serde(default)]
    agent: String,
    #[serde(default)]
    note: String,
}

pub async fn transfer_ticket(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<TransferForm>) -> Response {
    let to = Transfer {
        department_id: form.department.trim().parse().ok(),
        user_id: form.agent.trim().parse().ok().map(UserId),
        note: Some(form.note),
    };
    let result = actions::inbox::transfer(&p.app, &p.actor(), p.tenant(), id, to).await.map(|_| ());
    outcome(&p, id, result).await
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    farewell: String,
    #[serde(default)]
    farewell_text: String,
}

pub async fn close_ticket(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<CloseForm>) -> Response {
    let farewell = match form.farewell.as_str() {
        "default" => Farewell::Default,
        "text" if !form.farewell_text.trim().is_empty() => Farewell::Text(form.farewell_text),
        _ => Farewell::None,
    };
    let result = actions::inbox::close(&p.app, &p.actor(), p.tenant(), id, farewell).await.map(|_| ());
    outcome(&p, id, result).await
}

// ---------------------------------------------------------------- composer extras

/// `GET /inbox/{ticket}?part=summary`: what the page's script needs to decide on a notification
/// (404 when the viewer may not see the ticket, so others' tickets never notify).
pub(super) async fn summary(p: &Page, id: i64) -> Response {
    match actions::inbox::get_ticket(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(d) => {
            let t = d.ticket;
            let mine = t.assignee_id.is_some_and(|a| a == p.user.user.id.0);
            axum::Json(serde_json::json!({
                "id": t.id, "status": t.status, "mine": mine, "contact": t.contact_name,
                "supervisor": p.user.user.role.sees_whole_tenant(),
                "preview": preview_text(p.lang(), t.last_message_preview.as_deref()).0,
                "unread": if t.status == "closed" { 0 } else { t.unread_count },
            }))
            .into_response()
        }
        Err(e) => p.failure(&e),
    }
}

/// `GET /inbox/{ticket}/quick-replies`: the composer's "/" list — the quick replies usable on
/// this ticket, filled for it (`[{shortcut, text}]`), so the agent edits the real text before
/// sending. "Not found" for a ticket the caller may not see.
pub async fn quick_replies(p: Page, Path(id): Path<i64>) -> Response {
    match actions::quick_replies::for_ticket(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(list) => axum::Json(list).into_response(),
        Err(e) => fail(p.lang(), &e),
    }
}

/// Whether the page's script posted this (it wants a bare answer, not a page).
fn from_script(p: &Page) -> bool {
    p.headers.contains_key("x-fragment")
}

/// `POST /inbox/{ticket}/attachments` (multipart: `csrf`, `file`, `caption`, `reply_to`): sends a
/// file or a recorded voice note. Refused files (type, size, window) are never stored.
pub async fn upload_attachment(p: Page, Path(id): Path<i64>, body: axum::body::Bytes) -> Response {
    let lang = p.lang();
    let content_type = p.headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let parts = super::super::multipart::boundary(content_type).and_then(|b| super::super::multipart::parse(&body, &b));
    let Some(parts) = parts else {
        return fail(lang, &ActionError::invalid("invalid_upload", "the upload is not a multipart form"));
    };
    let field =
        |name: &str| parts.iter().find(|x| x.name == name).map(|x| String::from_utf8_lossy(x.data).trim().to_string());
    let cookie = crate::http::cookies::get(&p.headers, crate::http::cookies::CSRF).unwrap_or_default();
    let csrf = field("csrf").unwrap_or_default();
    if cookie.is_empty() || !crate::crypto::constant_time_eq(&csrf, &cookie) {
        return (
            axum::http::StatusCode::FORBIDDEN,
            Html(format!("<p class=\"alert error\">{}</p>", escape(lang.t("error.csrf")))),
        )
            .into_response();
    }
    let Some(file) = parts.iter().find(|x| x.name == "file") else {
        return fail(lang, &ActionError::invalid("empty_file", "the file is empty"));
    };
    let attachment = actions::composer::Attachment {
        data: file.data.to_vec(),
        filename: file.filename.clone(),
        declared_mime: file.content_type.clone(),
        caption: field("caption"),
        reply_to: field("reply_to").and_then(|r| r.parse().ok()),
    };
    drop(parts);
    drop(body);
    let result = actions::composer::send_attachment(&p.app, &p.actor(), p.tenant(), id, attachment).await;
    match (result, from_script(&p)) {
        (Ok(m), true) => axum::Json(serde_json::json!({ "message_id": m.id })).into_response(),
        (Ok(_), false) => Redirect::to(&format!("/inbox/{id}")).into_response(),
        (Err(e), true) => fail(lang, &e),
        (Err(e), false) => ticket_page(&p, id, &ListQuery::default(), Some((e, String::new()))).await,
    }
}

#[derive(Deserialize)]
pub struct ReactForm {
    #[serde(default)]
    message: String,
    #[serde(default)]
    emoji: String,
}

/// `POST /inbox/{ticket}/react`: the agent reacts to a message (an empty emoji removes it).
pub async fn react(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<ReactForm>) -> Response {
    let result = match form.message.trim().parse::<i64>() {
        Ok(message) => {
            actions::composer::react(&p.app, &p.actor(), p.tenant(), id, message, &form.emoji).await.map(|_| ())
        }
        Err(_) => Err(ActionError::invalid("unknown_message", "no such message in this conversation")),
    };
    outcome(&p, id, result).await
}

#[derive(Deserialize)]
pub struct TagForm {
    #[serde(default)]
    tag: String,
    /// `1` puts the tag on, anything else takes it off.
    #[serde(default)]
    on: String,
}

/// `POST /inbox/{ticket}/tags`: puts a tag on the ticket or takes it off.
pub async fn tag_ticket(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<TagForm>) -> Response {
    let result = match form.tag.trim().parse::<i64>() {
        Ok(tag) => actions::inbox::tag_ticket(&p.app, &p.actor(), p.tenant(), id, tag, form.on == "1").await,
        Err(_) => Err(ActionError::invalid("unknown_tag", "no such tag in this company")),
    };
    outcome(&p, id, result).await
}

/// `GET /inbox/{ticket}/media/{message}`: a message's stored file. Images, audio and video are
/// shown inline; anything else downloads (never rendered by the browser: the type is the sniffed
/// one and the page's `nosniff` and CSP headers apply).
pub async fn show_media(p: Page, Path((ticket, message)): Path<(i64, i64)>) -> Response {
    match actions::composer::media_file(&p.app, &p.actor(), p.tenant(), ticket, message).await {
        Ok(f) => media_response(f),
        Err(e) => p.failure(&e),
    }
}

/// A stored file as a response: images, audio and video inline under their sniffed type,
/// anything else as a download (`application/octet-stream`), with a safe file name.
pub(crate) fn media_response(f: actions::composer::MediaFile) -> Response {
    let inline = ["image/jpeg", "image/png", "image/webp", "image/gif"].contains(&f.mime.as_str())
        || f.mime.starts_with("audio/")
        || f.mime.starts_with("video/");
    let name = f
        .filename
        .unwrap_or_else(|| format!("arquivo.{}", crate::domain::media::extension(&f.mime)))
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' })
        .collect::<String>();
    let disposition = format!("{}; filename=\"{name}\"", if inline { "inline" } else { "attachment" });
    let content_type = if inline { f.mime } else { "application/octet-stream".to_string() };
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (axum::http::header::CACHE_CONTROL, "private, max-age=86400".to_string()),
        ],
        f.data,
    )
        .into_response()
}
