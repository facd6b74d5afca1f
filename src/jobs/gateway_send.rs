//! The send job's path for a WhatsApp (QR Code) connection: waits while the session is down
//! (the message stays queued), turns the stored message into what WhatsApp Web carries (buttons
//! and lists become numbered text; files travel inline, never as a link the gateway would
//! fetch), and sends it through the gateway with the connection's rate.

use super::whatsapp_send::{
    finish_failed, record_sent, settle_error, still_unsent, wait_for_send_slot, wait_for_session,
};
use super::JobError;
use crate::actions::qr_sessions;
use crate::app::App;
use crate::channels::whatsapp_qr::client::Send;
use crate::domain::channel::numbered_choices;
use crate::domain::connection::ConnectionState;
use crate::domain::outbound::{interactive_choices, MediaKind, MediaSource, Outbound, OutboundContent};
use crate::store::connections::Connection;
use crate::store::jobs::Job;
use crate::store::messages::StoredMessage;
use crate::store::{self};

pub(super) async fn run(
    app: &App,
    job: &Job,
    message: &StoredMessage,
    connection: &Connection,
    phone: &str,
    outbound: &Outbound,
) -> Result<(), JobError> {
    if connection.state != ConnectionState::Connected {
        let reason = format!("the WhatsApp session is {}; the message waits", connection.state.as_str());
        if job.attempts >= job.max_attempts {
            let title = "the WhatsApp connection stayed disconnected; the message was not sent";
            return finish_failed(app, job, message, None, title).await;
        }
        return wait_for_session(job, reason);
    }
    let number: String = phone.chars().filter(char::is_ascii_digit).collect();
    if number.is_empty() {
        return finish_failed(app, job, message, None, "the contact has no phone number").await;
    }
    let file = match &outbound.content {
        OutboundContent::Media { source: MediaSource::Stored { sha256, .. }, .. } => {
            match store::files::read(&app.settings.data_dir, sha256).await {
                Ok(data) => Some(data),
                Err(_) => return finish_failed(app, job, message, None, "the attached file is missing").await,
            }
        }
        _ => None,
    };
    let numbered;
    let send = match &outbound.content {
        OutboundContent::Text { body, .. } => Send::Text { text: body },
        OutboundContent::Interactive { interactive } => match interactive_choices(interactive) {
            Some((prompt, options)) => {
                let options: Vec<&str> = options.iter().map(String::as_str).collect();
                numbered = numbered_choices(&prompt, &options);
                Send::Text { text: &numbered }
            }
            None => return finish_failed(app, job, message, None, "this connection cannot show this message").await,
        },
        OutboundContent::Media { kind, source: MediaSource::Stored { mime, .. }, caption, filename } => {
            let data = file.as_deref().unwrap_or_default();
            match kind {
                MediaKind::Audio => Send::Voice { data },
                MediaKind::Image | MediaKind::Sticker => Send::Media {
                    mediatype: "image",
                    mime,
                    data,
                    caption: caption.as_deref(),
                    filename: filename.as_deref(),
                },
                MediaKind::Video => Send::Media {
                    mediatype: "video",
                    mime,
                    data,
                    caption: caption.as_deref(),
                    filename: filename.as_deref(),
                },
                MediaKind::Document => Send::Media {
                    mediatype: "document",
                    mime,
                    data,
                    caption: caption.as_deref(),
                    filename: filename.as_deref(),
                },
            }
        }
        OutboundContent::Media { .. } => {
            let title = "a WhatsApp (QR Code) connection sends attached files, not links";
            return finish_failed(app, job, message, None, title).await;
        }
        OutboundContent::Template { .. } => {
            let title = "templates are for WhatsApp Cloud API numbers; send a text instead";
            return finish_failed(app, job, message, None, title).await;
        }
        OutboundContent::Reaction { .. } | OutboundContent::Location { .. } => {
            return finish_failed(app, job, message, None, "this connection cannot send this kind of message").await;
        }
    };
    if !super::still_holds(app, job).await? {
        return Err(JobError::LeaseLost);
    }
    if !still_unsent(app, message).await? {
        return Ok(());
    }
    wait_for_send_slot(app, connection).await?;
    let token = qr_sessions::token(app, connection)?;
    match app.gateway.send(&qr_sessions::instance(connection, &token), &number, send).await {
        Ok(id) => record_sent(app, job, message, connection, &id).await,
        Err(e) => settle_error(app, job, message, connection, e).await,
    }
}
