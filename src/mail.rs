//! The server's own e-mail (password resets, invitations) over SMTP: the operator's relay only
//! (`ATENDE_SMTP_URL`; no company configures where the server connects), TLS unless the relay is
//! on loopback, `AUTH PLAIN` when the URL carries a user.
//!
//! `smtps://user:pass@host:465` (TLS from the start), `smtp://user:pass@host:587` (STARTTLS,
//! required), `smtp+plain://host:port` (no TLS; refused unless the host is a loopback address).

use std::time::Duration;

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long one SMTP conversation may take in all.
const CONVERSATION_TIMEOUT: Duration = Duration::from_secs(60);

/// How the relay is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain TCP upgraded with STARTTLS, which must be offered (port 587).
    StartTls,
    /// No TLS at all: loopback relays only.
    Plain,
}

/// A parsed `ATENDE_SMTP_URL`.
#[derive(Clone, Debug)]
pub struct Relay {
    pub security: Security,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl Relay {
    pub fn parse(url: &str) -> anyhow::Result<Relay> {
        let (scheme, rest) = url.split_once("://").context("expected smtps://, smtp:// or smtp+plain://")?;
        let (security, default_port) = match scheme {
            "smtps" => (Security::Tls, 465),
            "smtp" => (Security::StartTls, 587),
            "smtp+plain" => (Security::Plain, 25),
            other => bail!("unknown scheme {other:?}: expected smtps, smtp or smtp+plain"),
        };
        let rest = rest.trim_end_matches('/');
        let (credentials, address) = match rest.rsplit_once('@') {
            Some((c, a)) => (Some(c), a),
            None => (None, rest),
        };
        let (user, password) = match credentials {
            Some(c) => {
                let (u, p) = c.split_once(':').unwrap_or((c, ""));
                (Some(percent_decode(u)?), Some(percent_decode(p)?))
            }
            None => (None, None),
        };
        let (host, port) = match address.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h.to_string(), p.parse().with_context(|| format!("bad port {p:?}"))?)
            }
            _ => (address.to_string(), default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        if host.is_empty() {
            bail!("the URL names no host");
        }
        if security == Security::Plain && !is_loopback(&host) {
            bail!("smtp+plain:// (no TLS) is allowed only to a loopback relay; use smtps:// or smtp://");
        }
        Ok(Relay { security, host, port, user, password })
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(s: &str) -> anyhow::Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).context("bad escape")?;
            out.push(u8::from_str_radix(hex, 16).context("bad escape")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).context("credentials are not UTF-8")
}

/// One message: plain text, UTF-8.
pub struct Mail<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
}

/// The message as sent after `DATA`: headers (the subject RFC 2047-encoded), a base64 body, CRLF
/// line ends; header values cannot carry line breaks.
pub fn render(mail: &Mail<'_>, date: &str, message_id: &str) -> String {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let body = STANDARD.encode(mail.text.replace("\r\n", "\n").replace('\n', "\r\n"));
    let mut out = String::new();
    out.push_str(&format!("From: {}\r\n", clean(mail.from)));
    out.push_str(&format!("To: {}\r\n", clean(mail.to)));
    out.push_str(&format!("Subject: =?UTF-8?B?{}?=\r\n", STANDARD.encode(clean(mail.subject))));
    out.push_str(&format!("Date: {date}\r\n"));
    out.push_str(&format!("Message-ID: <{message_id}>\r\n"));
    out.push_str(
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    for chunk in body.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push_str("\r\n");
    }
    out
}

/// The bare address of a `Name <addr>` or `addr` value, for the envelope.
fn envelope_address(value: &str) -> anyhow::Result<String> {
    let addr = match (value.find('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value,
    };
    let addr = addr.trim();
    if addr.is_empty()
        || !addr.contains('@')
        || addr.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    {
        bail!("not an e-mail address: {addr:?}");
    }
    Ok(addr.to_string())
}

/// Why a send failed: `permanent` for a 5xx answer about this message (a bad recipient), else
/// worth a retry.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl From<anyhow::Error> for SendError {
    fn from(e: anyhow::Error) -> Self {
        SendError { permanent: false, message: format!("{e:#}") }
    }
}

/// Sends one message through the relay.
pub async fn send(
    relay: &Relay,
    hello_name: &str,
    mail: &Mail<'_>,
    date: &str,
    message_id: &str,
) -> Result<(), SendError> {
    let from = envelope_address(mail.from).map_err(|e| SendError { permanent: true, message: format!("{e:#}") })?;
    let to = envelope_address(mail.to).map_err(|e| SendError { permanent: true, message: format!("{e:#}") })?;
    let data = render(mail, date, message_id);
    match tokio::time::timeout(CONVERSATION_TIMEOUT, conversation(relay, hello_name, &from, &to, &data)).await {
        Ok(result) => result,
        Err(_) => Err(SendError { permanent: false, message: "the SMTP relay took too long".into() }),
    }
}

async fn conversation(relay: &Relay, hello: &str, from: &str, to: &str, data: &str) -> Result<(), SendError> {
    let tcp = TcpStream::connect((relay.host.as_str(), relay.port))
        .await
        .with_context(|| format!("connecting to {}:{}", relay.host, relay.port))?;
    match relay.security {
        Security::Tls => {
            let tls = tls_connect(&relay.host, tcp).await?;
            let mut s = Session::new(tls);
            s.expect(220).await?;
            s.ehlo(hello).await?;
            s.deliver(relay, from, to, data).await
        }
        Security::Plain => {
            let mut s = Session::new(tcp);
            s.expect(220).await?;
            s.ehlo(hello).await?;
            s.deliver(relay, from, to, data).await
        }
        Security::StartTls => {
            let mut s = Session::new(tcp);
            s.expect(220).await?;
            let offers = s.ehlo(hello).await?;
            if !offers.iter().any(|l| l.eq_ignore_ascii_case("STARTTLS")) {
                return Err(anyhow::anyhow!("the relay does not offer STARTTLS; refusing to send in the clear").into());
            }
            s.command("STARTTLS", 220).await?;
            let tcp = s.stream.into_inner();
            let mut s = Session::new(tls_connect(&relay.host, tcp).await?);
            s.ehlo(hello).await?;
            s.deliver(relay, from, to, data).await
        }
    }
}

async fn tls_connect(host: &str, tcp: TcpStream) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let roots = tokio_rustls::rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS versions")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_string()).context("relay host name")?;
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .context("TLS handshake with the relay")
}

struct Session<S> {
    stream: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    fn new(stream: S) -> Self {
        Session { stream: BufReader::new(stream) }
    }

    /// Reads one (possibly multi-line) reply: its code and the text of each line.
    async fn reply(&mut self) -> anyhow::Result<(u16, Vec<String>)> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if self.stream.read_line(&mut line).await? == 0 {
                bail!("the relay closed the connection");
            }
            if line.len() > 4096 || lines.len() > 100 {
                bail!("the relay's reply is too long");
            }
            let line = line.trim_end();
            let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).context("malformed SMTP reply")?;
            lines.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, lines));
            }
        }
    }

    async fn expect(&mut self, code: u16) -> Result<Vec<String>, SendError> {
        let (got, lines) = self.reply().await?;
        if got == code {
            return Ok(lines);
        }
        Err(SendError {
            permanent: (500..600).contains(&got),
            message: format!("relay answered {got} {}", lines.join(" ")),
        })
    }

    async fn command(&mut self, line: &str, code: u16) -> Result<Vec<String>, SendError> {
        let inner = self.stream.get_mut();
        inner.write_all(line.as_bytes()).await.map_err(anyhow::Error::from)?;
        inner.write_all(b"\r\n").await.map_err(anyhow::Error::from)?;
        inner.flush().await.map_err(anyhow::Error::from)?;
        self.expect(code).await
    }

    async fn ehlo(&mut self, hello: &str) -> Result<Vec<String>, SendError> {
        let lines = self.command(&format!("EHLO {hello}"), 250).await?;
        Ok(lines.into_iter().skip(1).collect())
    }

    async fn deliver(&mut self, relay: &Relay, from: &str, to: &str, data: &str) -> Result<(), SendError> {
        if let (Some(user), Some(password)) = (&relay.user, &relay.password) {
            let token = STANDARD.encode(format!("\0{user}\0{password}"));
            self.command(&format!("AUTH PLAIN {token}"), 235).await.map_err(|e| SendError {
                // Wrong credentials are the operator's to fix; retrying later may still succeed.
                permanent: false,
                message: e.message,
            })?;
        }
        self.command(&format!("MAIL FROM:<{from}>"), 250).await?;
        self.command(&format!("RCPT TO:<{to}>"), 250).await?;
        self.command("DATA", 354).await?;
        // Dot-stuffing: a line starting with "." gets another (RFC 5321 §4.5.2).
        let mut body = String::with_capacity(data.len() + 8);
        for line in data.split("\r\n") {
            if line.starts_with('.') {
                body.push('.');
            }
            body.push_str(line);
            body.push_str("\r\n");
        }
        let body = body.trim_end_matches("\r\n").to_string() + "\r\n.";
        self.command(&body, 250).await?;
        let _ = self.command("QUIT", 221).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_relay_urls() {
        let r = Relay::parse("smtps://no-reply%40acme.com.br:s%3Acret@mail.acme.com.br").unwrap();
        assert_eq!((r.security, r.host.as_str(), r.port), (Security::Tls, "mail.acme.com.br", 465));
        assert_eq!((r.user.as_deref(), r.password.as_deref()), (Some("no-reply@acme.com.br"), Some("s:cret")));
        let r = Relay::parse("smtp://relay.local:2525").unwrap();
        assert_eq!((r.security, r.port, r.user), (Security::StartTls, 2525, None));
        assert!(Relay::parse("smtp+plain://127.0.0.1:2525").is_ok());
        assert!(Relay::parse("smtp+plain://mail.example.com:25").is_err(), "no clear text to the internet");
        assert!(Relay::parse("http://x").is_err());
    }

    #[test]
    fn the_message_is_mime_with_an_encoded_subject_and_no_header_injection() {
        let mail = Mail {
            from: "Atende <no-reply@atende.local>",
            to: "ana@demo.local\r\nBcc: evil@x",
            subject: "Redefinição de senha",
            text: "Olá\n.linha com ponto",
        };
        let m = render(&mail, "Thu, 03 Dec 2026 12:00:00 +0000", "1@atende");
        assert!(m.contains("To: ana@demo.local  Bcc: evil@x\r\n"));
        assert!(!m.contains("\r\nBcc:"));
        assert!(m.contains(&format!("Subject: =?UTF-8?B?{}?=", STANDARD.encode("Redefinição de senha"))));
        let body = m.split("\r\n\r\n").nth(1).unwrap().replace("\r\n", "");
        assert_eq!(String::from_utf8(STANDARD.decode(body).unwrap()).unwrap(), "Olá\r\n.linha com ponto");
        assert!(envelope_address("Atende <no-reply@atende.local>").is_ok());
        assert!(envelope_address("a@b>\r\nRCPT TO:<c@d").is_err());
    }
}
