//! The HTTP client for an Evolution API v2 gateway: instances (create, connect for a QR or a
//! pairing code, state, logout, delete), sends (text, media, voice) and media downloads, in the
//! shapes Evolution documents. The gateway is the operator's (its URL and global key come from
//! the server's settings), so calls skip the network guard; keys travel in the `apikey` header
//! and never into a log line or error text.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::channels::ProviderError;

const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Sends carry files inline (base64); they may take longer than a call.
const FILE_TIMEOUT: Duration = Duration::from_secs(120);

/// Where an instance lives and the key its calls carry (the instance's own token, or the
/// operator's global key for instance management).
#[derive(Clone, Copy)]
pub struct Instance<'a> {
    pub base_url: &'a str,
    pub name: &'a str,
    pub key: &'a str,
}

impl Instance<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/{path}/{}", self.base_url.trim_end_matches('/'), self.name)
    }
}

/// A QR code to show (the string the phone reads) and, when asked for, a pairing code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qr {
    pub code: String,
    pub pairing_code: Option<String>,
}

/// What connecting answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connect {
    /// The session is open: nothing to scan.
    Open,
    /// Waiting for the phone: show this.
    Qr(Qr),
    /// Still trying (the gateway is reconnecting a known session).
    Connecting,
}

/// A created instance: its token (keep it sealed) and the first QR.
#[derive(Clone, Debug)]
pub struct Created {
    pub token: String,
    pub qr: Option<Qr>,
}

/// What a file download gave.
#[derive(Clone, Debug)]
pub struct Media {
    pub data: Vec<u8>,
    pub mime: Option<String>,
    pub filename: Option<String>,
}

/// What to send, reduced to what WhatsApp Web carries.
pub enum Send<'a> {
    Text {
        text: &'a str,
    },
    /// `mediatype` is `image`, `video` or `document`.
    Media {
        mediatype: &'a str,
        mime: &'a str,
        data: &'a [u8],
        caption: Option<&'a str>,
        filename: Option<&'a str>,
    },
    Voice {
        data: &'a [u8],
    },
}

/// One keep-alive pool for every instance of every gateway.
#[derive(Clone)]
pub struct Gateway {
    http: reqwest::Client,
}

impl Gateway {
    pub fn new() -> anyhow::Result<Gateway> {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Atende/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Gateway { http })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: String,
        key: &str,
        body: Option<Value>,
        timeout: Duration,
    ) -> Result<Value, ProviderError> {
        let mut request = self.http.request(method, url).header("apikey", key).timeout(timeout);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| ProviderError::Transient {
            code: None,
            reason: format!("the WhatsApp gateway is unreachable ({})", without_url(&e)),
        })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(body);
        }
        Err(classify(status, &body))
    }

    /// Creates an instance with the token Atende chose (stored before the call, so the webhooks
    /// the gateway posts at once already check out) that posts every event to `webhook_url`,
    /// and asks for its QR.
    pub async fn create_instance(
        &self,
        base_url: &str,
        global_key: &str,
        name: &str,
        token: &str,
        webhook_url: &str,
    ) -> Result<Created, ProviderError> {
        let body = json!({
            "instanceName": name,
            "token": token,
            "qrcode": true,
            "integration": "WHATSAPP-BAILEYS",
            "webhook": {
                "url": webhook_url,
                "byEvents": false,
                // Files are fetched by the media job, not carried in webhooks.
                "base64": false,
                "events": ["QRCODE_UPDATED", "CONNECTION_UPDATE", "STATUS_INSTANCE", "MESSAGES_UPSERT", "MESSAGES_UPDATE"],
            },
        });
        let url = format!("{}/instance/create", base_url.trim_end_matches('/'));
        let answer = self.call(reqwest::Method::POST, url, global_key, Some(body), CALL_TIMEOUT).await?;
        // `hash` is the token; older releases answer `{"hash":{"apikey":…}}`.
        let token = match answer.get("hash") {
            Some(Value::String(s)) => s.clone(),
            Some(h) => h.get("apikey").and_then(Value::as_str).unwrap_or_default().to_string(),
            None => String::new(),
        };
        if token.is_empty() {
            return Err(ProviderError::Permanent {
                code: None,
                title: "the gateway gave the instance no token".into(),
            });
        }
        Ok(Created { token, qr: answer.get("qrcode").and_then(read_qr) })
    }

    /// Asks the instance to connect: a QR to scan (or, given the phone's `number`, a pairing
    /// code too), or the news that it is open.
    pub async fn connect(&self, instance: &Instance<'_>, number: Option<&str>) -> Result<Connect, ProviderError> {
        let mut url = instance.url("instance/connect");
        if let Some(n) = number {
            url.push_str(&format!("?number={}", n.chars().filter(char::is_ascii_digit).collect::<String>()));
        }
        let answer = self.call(reqwest::Method::GET, url, instance.key, None, CALL_TIMEOUT).await?;
        if let Some(qr) = read_qr(&answer) {
            return Ok(Connect::Qr(qr));
        }
        Ok(match answer.pointer("/instance/state").and_then(Value::as_str) {
            Some("open") => Connect::Open,
            _ => Connect::Connecting,
        })
    }

    /// Ends the session (the phone unlinks the device); a new QR is needed afterwards.
    pub async fn logout(&self, instance: &Instance<'_>) -> Result<(), ProviderError> {
        self.call(reqwest::Method::DELETE, instance.url("instance/logout"), instance.key, None, CALL_TIMEOUT).await?;
        Ok(())
    }

    /// Deletes the instance on the gateway (a removed connection leaves nothing behind there).
    pub async fn delete_instance(&self, instance: &Instance<'_>) -> Result<(), ProviderError> {
        self.call(reqwest::Method::DELETE, instance.url("instance/delete"), instance.key, None, CALL_TIMEOUT).await?;
        Ok(())
    }

    /// Sends to a number (digits, or a JID); answers the message id WhatsApp gave it.
    pub async fn send(
        &self,
        instance: &Instance<'_>,
        number: &str,
        message: Send<'_>,
    ) -> Result<String, ProviderError> {
        let b64 = |data: &[u8]| base64::engine::general_purpose::STANDARD.encode(data);
        let (path, body, timeout) = match message {
            Send::Text { text } => ("message/sendText", json!({ "number": number, "text": text }), CALL_TIMEOUT),
            Send::Media { mediatype, mime, data, caption, filename } => (
                "message/sendMedia",
                json!({ "number": number, "mediatype": mediatype, "mimetype": mime, "media": b64(data),
                        "caption": caption.unwrap_or_default(), "fileName": filename }),
                FILE_TIMEOUT,
            ),
            Send::Voice { data } => {
                ("message/sendWhatsAppAudio", json!({ "number": number, "audio": b64(data) }), FILE_TIMEOUT)
            }
        };
        let answer = self.call(reqwest::Method::POST, instance.url(path), instance.key, Some(body), timeout).await?;
        answer.pointer("/key/id").and_then(Value::as_str).map(str::to_string).ok_or_else(|| ProviderError::Transient {
            code: None,
            reason: "the gateway's answer carries no message id".into(),
        })
    }

    /// Downloads a received message's file by its message id.
    pub async fn media(&self, instance: &Instance<'_>, message_id: &str) -> Result<Media, ProviderError> {
        let body = json!({ "message": { "key": { "id": message_id } }, "convertToMp4": false });
        let url = instance.url("chat/getBase64FromMediaMessage");
        let answer = self.call(reqwest::Method::POST, url, instance.key, Some(body), FILE_TIMEOUT).await?;
        let encoded = answer.get("base64").and_then(Value::as_str).unwrap_or_default();
        // Some releases answer a data URL.
        let encoded = encoded.split_once(";base64,").map_or(encoded, |(_, b)| b);
        let data =
            base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| ProviderError::Permanent {
                code: None,
                title: "the gateway sent the file in a form that cannot be read".into(),
            })?;
        Ok(Media {
            data,
            mime: answer.get("mimetype").and_then(Value::as_str).map(str::to_string),
            filename: answer.get("fileName").and_then(Value::as_str).map(str::to_string),
        })
    }
}

/// A QR from `{code, pairingCode}` (the shape of `connect`, `create`'s `qrcode` and the
/// `qrcode.updated` event).
pub fn read_qr(v: &Value) -> Option<Qr> {
    let code = v.get("code").and_then(Value::as_str).filter(|c| !c.is_empty())?;
    Some(Qr {
        code: code.to_string(),
        pairing_code: v.get("pairingCode").and_then(Value::as_str).filter(|c| !c.is_empty()).map(str::to_string),
    })
}

/// The error's text without the URL (which names the instance and could be long).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused".into()
    } else {
        "request failed".into()
    }
}

/// What an error answer means. Evolution puts its reasons in `response.message` (a list of
/// strings or objects).
fn classify(status: u16, body: &Value) -> ProviderError {
    let messages = body.pointer("/response/message");
    let text = match messages {
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| match m {
                Value::String(s) => s.clone(),
                Value::Object(o) if o.get("exists") == Some(&Value::Bool(false)) => {
                    "this number is not on WhatsApp".to_string()
                }
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let text: String = text.chars().take(300).collect();
    let reason = if text.is_empty() { format!("the WhatsApp gateway answered {status}") } else { text };
    match status {
        401 | 403 => ProviderError::Auth { code: i64::from(status), title: reason },
        _ if reason.contains("Connection Closed") => ProviderError::Disconnected { reason },
        408 | 429 | 500..=599 => ProviderError::Transient { code: Some(i64::from(status)), reason },
        _ => ProviderError::Permanent { code: Some(i64::from(status)), title: reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_say_what_to_do() {
        let closed = json!({"status":400,"error":"Bad Request","response":{"message":["Connection Closed"]}});
        assert!(matches!(classify(400, &closed), ProviderError::Disconnected { .. }));
        let absent = json!({"response":{"message":[{"jid":"5500000000000@s.whatsapp.net","exists":false}]}});
        let ProviderError::Permanent { title, .. } = classify(400, &absent) else { panic!() };
        assert_eq!(title, "this number is not on WhatsApp");
        assert!(matches!(classify(401, &Value::Null), ProviderError::Auth { code: 401, .. }));
        assert!(matches!(classify(503, &Value::Null), ProviderError::Transient { .. }));
    }

    #[test]
    fn qr_answers_read_with_or_without_a_pairing_code() {
        let qr = read_qr(&json!({"pairingCode": "WZYEH1YY", "code": "2@abc", "count": 1})).unwrap();
        assert_eq!(qr, Qr { code: "2@abc".into(), pairing_code: Some("WZYEH1YY".into()) });
        assert_eq!(read_qr(&json!({"pairingCode": null, "code": "2@x"})).unwrap().pairing_code, None);
        assert!(read_qr(&json!({"instance": {"state": "open"}})).is_none());
    }
}
