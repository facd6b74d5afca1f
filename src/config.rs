//! Settings: defaults that run with zero configuration, an optional `atende.toml`, and `ATENDE_*`
//! environment overrides (environment wins). Secrets are `Secret` values that never print.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A value that must never reach a log or a terminal.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The effective configuration. Every field has a default; see `docs/OPERATIONS.md`.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address and port the HTTP server binds (`ATENDE_LISTEN`).
    pub listen: SocketAddr,
    /// Directory for the SQLite database, the master key and media (`ATENDE_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default SQLite in the data directory (`ATENDE_DATABASE_URL`).
    pub database_url: Option<Secret>,
    /// Public URL used in links and webhook addresses (`ATENDE_BASE_URL`); default `http://{listen}`.
    pub base_url: Option<String>,
    /// `text` (default) or `json` (`ATENDE_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `atende=debug` (`ATENDE_LOG_LEVEL`).
    pub log_level: String,
    /// Base64 of 32 bytes; when unset a key is generated into `data_dir/master.key` (`ATENDE_MASTER_KEY`).
    pub master_key: Option<Secret>,
    /// Create the demo tenant on first run (`ATENDE_DEMO`, default true).
    pub demo: bool,
    /// Largest accepted request body in bytes (`ATENDE_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Number of job workers in this process (`ATENDE_JOB_WORKERS`, 0 disables the runner).
    pub job_workers: usize,
    /// Seconds a claimed job may run before another worker may take it over (`ATENDE_JOB_LEASE_SECS`).
    pub job_lease_secs: u64,
    /// Seconds between checks of every company's Painel alerts for `report.alert` webhook events
    /// (`ATENDE_REPORT_ALERT_EVERY_SECS`, default 60, at least 60; 0 turns the check off).
    pub report_alert_every_secs: u64,
    /// Seconds to wait for in-flight requests and jobs on SIGTERM (`ATENDE_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace_secs: u64,
    /// Database connections for readers (`ATENDE_DB_MAX_CONNECTIONS`).
    pub db_max_connections: u32,
    /// Seconds between heartbeats on live-event streams (`ATENDE_SSE_HEARTBEAT_SECS`).
    pub sse_heartbeat_secs: u64,
    /// Sustained API requests per second per token (`ATENDE_API_RATE_PER_SEC`).
    pub api_rate_per_sec: u32,
    /// Requests a token may burst above the sustained rate (`ATENDE_API_RATE_BURST`).
    pub api_rate_burst: u32,
    /// Whether outbound calls a company configures (webhook receivers, provider URLs, media
    /// downloads) may reach loopback, private and link-local addresses
    /// (`ATENDE_ALLOW_PRIVATE_NETWORKS`, default false). An operator's setting: no company admin
    /// can change it.
    pub allow_private_networks: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`ATENDE_TRUSTED_PROXIES`:
    /// addresses or CIDR networks, comma-separated); empty by default, so the header is ignored.
    pub trusted_proxies: Vec<crate::domain::netaddr::IpNet>,
    /// Concurrent HTTP connections served; more are answered 503 and closed
    /// (`ATENDE_MAX_CONNECTIONS`). Lowered at start to what the open-file limit allows.
    pub max_connections: usize,
    /// Seconds a client has to send a request's head once the server waits for one
    /// (`ATENDE_HEADER_TIMEOUT_SECS`); also how long an idle keep-alive connection stays open.
    pub header_timeout_secs: u64,
    /// Seconds a request's body has to arrive in full, counted from its head (`ATENDE_BODY_TIMEOUT_SECS`).
    pub body_timeout_secs: u64,
    /// Seconds without a byte in either direction after which a connection is closed, while no
    /// handler is working on it (`ATENDE_IDLE_TIMEOUT_SECS`); must exceed the SSE heartbeat.
    pub idle_timeout_secs: u64,
    /// Base URL of the Evolution API v2 gateway that carries "WhatsApp (QR Code)" connections
    /// (`ATENDE_GATEWAY_URL`); unset: companies can add only Cloud API numbers. In demo mode a
    /// built-in stand-in is started when it is unset.
    pub gateway_url: Option<String>,
    /// The gateway's global API key (`ATENDE_GATEWAY_API_KEY`; Evolution's
    /// `AUTHENTICATION_API_KEY`).
    pub gateway_api_key: Option<Secret>,
    /// The relay for the server's own e-mail — password resets, invitations (`ATENDE_SMTP_URL`:
    /// `smtps://user:pass@host:465`, `smtp://…:587` with STARTTLS, `smtp+plain://` to loopback
    /// only). Unset: no e-mail; admins hand out passwords as before.
    pub smtp_url: Option<Secret>,
    /// The sender of that e-mail (`ATENDE_MAIL_FROM`, e.g. `Atende <no-reply@acme.com.br>`).
    pub mail_from: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            base_url: None,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            master_key: None,
            demo: true,
            max_body_bytes: 8 * 1024 * 1024,
            job_workers: 2,
            job_lease_secs: 60,
            report_alert_every_secs: 60,
            shutdown_grace_secs: 20,
            db_max_connections: 16,
            sse_heartbeat_secs: 15,
            api_rate_per_sec: 20,
            api_rate_burst: 40,
            allow_private_networks: false,
            trusted_proxies: Vec::new(),
            max_connections: 10_000,
            header_timeout_secs: 30,
            body_timeout_secs: 300,
            idle_timeout_secs: 60,
            gateway_url: None,
            gateway_api_key: None,
            smtp_url: None,
            mail_from: None,
        }
    }
}

/// The keys accepted in `atende.toml`; unknown keys are an error that names them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<Secret>,
    base_url: Option<String>,
    log_format: Option<LogFormat>,
    log_level: Option<String>,
    master_key: Option<Secret>,
    demo: Option<bool>,
    max_body_bytes: Option<usize>,
    job_workers: Option<usize>,
    job_lease_secs: Option<u64>,
    report_alert_every_secs: Option<u64>,
    shutdown_grace_secs: Option<u64>,
    db_max_connections: Option<u32>,
    sse_heartbeat_secs: Option<u64>,
    api_rate_per_sec: Option<u32>,
    api_rate_burst: Option<u32>,
    allow_private_networks: Option<bool>,
    trusted_proxies: Option<Vec<String>>,
    max_connections: Option<usize>,
    header_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    gateway_url: Option<String>,
    gateway_api_key: Option<Secret>,
    smtp_url: Option<Secret>,
    mail_from: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path}: {message}")]
    File { path: String, message: String },
    #[error("configuration key `{key}`: {message}")]
    Key { key: String, message: String },
}

fn key_error(key: &str, message: impl fmt::Display) -> ConfigError {
    ConfigError::Key { key: key.to_string(), message: message.to_string() }
}

impl Settings {
    /// Loads defaults, then the config file (explicit path, or `./atende.toml` when present), then
    /// the environment given as key/value pairs.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let env_file = env.iter().find(|(k, _)| k == "ATENDE_CONFIG").map(|(_, v)| PathBuf::from(v));
        let mut settings = Settings::default();
        let path = file.map(Path::to_path_buf).or(env_file);
        let (path, required) = match path {
            Some(p) => (p, true),
            None => (PathBuf::from("atende.toml"), false),
        };
        if path.exists() || required {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError::File { path: path.display().to_string(), message: e.to_string() })?;
            let parsed: FileSettings = toml::from_str(&text).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                message: e.message().to_string(),
            })?;
            settings.apply_file(parsed)?;
        }
        for (key, value) in env {
            settings.apply_env(&key, &value)?;
        }
        settings.validate_together()?;
        Ok(settings)
    }

    fn apply_file(&mut self, f: FileSettings) -> Result<(), ConfigError> {
        if let Some(v) = f.listen {
            self.listen = v.parse().map_err(|e| key_error("listen", e))?;
        }
        if let Some(v) = f.data_dir {
            self.data_dir = v;
        }
        if f.database_url.is_some() {
            self.database_url = f.database_url;
        }
        if f.base_url.is_some() {
            self.base_url = f.base_url;
        }
        if let Some(v) = f.log_format {
            self.log_format = v;
        }
        if let Some(v) = f.log_level {
            self.log_level = v;
        }
        if f.master_key.is_some() {
            self.master_key = f.master_key;
        }
        if let Some(v) = f.demo {
            self.demo = v;
        }
        if let Some(v) = f.max_body_bytes {
            self.max_body_bytes = v;
        }
        if let Some(v) = f.job_workers {
            self.job_workers = v;
        }
        if let Some(v) = f.job_lease_secs {
            self.job_lease_secs = v;
        }
        if let Some(v) = f.report_alert_every_secs {
            self.report_alert_every_secs = v;
        }
        if let Some(v) = f.shutdown_grace_secs {
            self.shutdown_grace_secs = v;
        }
        if let Some(v) = f.db_max_connections {
            self.db_max_connections = v;
        }
        if let Some(v) = f.sse_heartbeat_secs {
            self.sse_heartbeat_secs = v;
        }
        if let Some(v) = f.api_rate_per_sec {
            self.api_rate_per_sec = v;
        }
        if let Some(v) = f.api_rate_burst {
            self.api_rate_burst = v;
        }
        if let Some(v) = f.allow_private_networks {
            self.allow_private_networks = v;
        }
        if let Some(v) = f.trusted_proxies {
            self.trusted_proxies =
                v.iter().map(|n| n.parse()).collect::<Result<_, _>>().map_err(|e| key_error("trusted_proxies", e))?;
        }
        if let Some(v) = f.max_connections {
            self.max_connections = v;
        }
        if let Some(v) = f.header_timeout_secs {
            self.header_timeout_secs = v;
        }
        if let Some(v) = f.body_timeout_secs {
            self.body_timeout_secs = v;
        }
        if let Some(v) = f.idle_timeout_secs {
            self.idle_timeout_secs = v;
        }
        if let Some(v) = f.gateway_url {
            self.gateway_url = Some(v.trim().trim_end_matches('/').to_string());
        }
        if let Some(v) = f.gateway_api_key {
            self.gateway_api_key = Some(v);
        }
        if f.smtp_url.is_some() {
            self.smtp_url = f.smtp_url;
        }
        if f.mail_from.is_some() {
            self.mail_from = f.mail_from;
        }
        self.validate()
    }

    fn apply_env(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        fn boolean(key: &str, value: &str) -> Result<bool, ConfigError> {
            match value.trim() {
                "1" | "true" | "yes" => Ok(true),
                "0" | "false" | "no" => Ok(false),
                other => Err(key_error(key, format!("expected true or false, got {other:?}"))),
            }
        }
        fn num<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ConfigError>
        where
            T::Err: fmt::Display,
        {
            value.trim().parse().map_err(|e| key_error(key, e))
        }
        match key {
            "ATENDE_LISTEN" => self.listen = num(key, value)?,
            "ATENDE_DATA_DIR" => self.data_dir = PathBuf::from(value),
            "ATENDE_DATABASE_URL" => self.database_url = Some(Secret::new(value)),
            "ATENDE_BASE_URL" => self.base_url = Some(value.trim_end_matches('/').to_string()),
            "ATENDE_LOG_FORMAT" => {
                self.log_format = match value.trim() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    other => return Err(key_error(key, format!("expected text or json, got {other:?}"))),
                }
            }
            "ATENDE_LOG_LEVEL" => self.log_level = value.to_string(),
            "ATENDE_MASTER_KEY" => self.master_key = Some(Secret::new(value)),
            "ATENDE_DEMO" => self.demo = boolean(key, value)?,
            "ATENDE_ALLOW_PRIVATE_NETWORKS" => self.allow_private_networks = boolean(key, value)?,
            "ATENDE_GATEWAY_URL" => self.gateway_url = Some(value.trim().trim_end_matches('/').to_string()),
            "ATENDE_GATEWAY_API_KEY" => self.gateway_api_key = Some(Secret::new(value.trim())),
            "ATENDE_SMTP_URL" => self.smtp_url = Some(Secret::new(value.trim())),
            "ATENDE_MAIL_FROM" => self.mail_from = Some(value.trim().to_string()),
            "ATENDE_MAX_BODY_BYTES" => self.max_body_bytes = num(key, value)?,
            "ATENDE_JOB_WORKERS" => self.job_workers = num(key, value)?,
            "ATENDE_JOB_LEASE_SECS" => self.job_lease_secs = num(key, value)?,
            "ATENDE_REPORT_ALERT_EVERY_SECS" => self.report_alert_every_secs = num(key, value)?,
            "ATENDE_SHUTDOWN_GRACE_SECS" => self.shutdown_grace_secs = num(key, value)?,
            "ATENDE_DB_MAX_CONNECTIONS" => self.db_max_connections = num(key, value)?,
            "ATENDE_SSE_HEARTBEAT_SECS" => self.sse_heartbeat_secs = num(key, value)?,
            "ATENDE_API_RATE_PER_SEC" => self.api_rate_per_sec = num(key, value)?,
            "ATENDE_API_RATE_BURST" => self.api_rate_burst = num(key, value)?,
            "ATENDE_TRUSTED_PROXIES" => {
                self.trusted_proxies = crate::domain::netaddr::parse_list(value).map_err(|e| key_error(key, e))?
            }
            "ATENDE_MAX_CONNECTIONS" => self.max_connections = num(key, value)?,
            "ATENDE_HEADER_TIMEOUT_SECS" => self.header_timeout_secs = num(key, value)?,
            "ATENDE_BODY_TIMEOUT_SECS" => self.body_timeout_secs = num(key, value)?,
            "ATENDE_IDLE_TIMEOUT_SECS" => self.idle_timeout_secs = num(key, value)?,
            // ATENDE_CONFIG picks the file; ATENDE_TEST_* belong to the test suite.
            _ => return Ok(()),
        }
        self.validate()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.database_url {
            let url = url.expose();
            if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(key_error("database_url", "must start with sqlite:, postgres:// or postgresql://"));
            }
        }
        if let Some(base) = &self.base_url {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(key_error("base_url", "must start with http:// or https://"));
            }
        }
        if let Some(url) = &self.gateway_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(key_error("gateway_url", "must start with http:// or https://"));
            }
        }
        if self.job_lease_secs == 0 {
            return Err(key_error("job_lease_secs", "must be at least 1"));
        }
        if self.sse_heartbeat_secs == 0 {
            return Err(key_error("sse_heartbeat_secs", "must be at least 1"));
        }
        if self.api_rate_per_sec == 0 {
            return Err(key_error("api_rate_per_sec", "must be at least 1"));
        }
        if self.db_max_connections == 0 {
            return Err(key_error("db_max_connections", "must be at least 1"));
        }
        if self.max_connections == 0 {
            return Err(key_error("max_connections", "must be at least 1"));
        }
        for (key, secs) in [
            ("header_timeout_secs", self.header_timeout_secs),
            ("body_timeout_secs", self.body_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
        ] {
            if secs == 0 {
                return Err(key_error(key, "must be at least 1"));
            }
        }
        Ok(())
    }

    /// Rules between keys, checked once everything is loaded (environment order is arbitrary).
    fn validate_together(&self) -> Result<(), ConfigError> {
        // Live-event streams are quiet between heartbeats; a shorter idle timeout would cut them.
        if self.idle_timeout_secs <= self.sse_heartbeat_secs {
            return Err(key_error("idle_timeout_secs", "must be longer than sse_heartbeat_secs"));
        }
        if self.gateway_url.is_some() && self.gateway_api_key.is_none() {
            return Err(key_error("gateway_api_key", "is required with gateway_url"));
        }
        if let Some(url) = &self.smtp_url {
            crate::mail::Relay::parse(url.expose()).map_err(|e| key_error("smtp_url", format!("{e:#}")))?;
            if self.mail_from.as_deref().is_none_or(|f| !f.contains('@')) {
                return Err(key_error("mail_from", "is required with smtp_url (e.g. Atende <no-reply@example.com>)"));
            }
        }
        Ok(())
    }

    /// The database URL in force: the configured one or SQLite in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_string(),
            None => format!("sqlite://{}", self.data_dir.join("atende.db").display()),
        }
    }

    pub fn effective_base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.clone(),
            None => format!("http://{}", self.listen),
        }
    }

    /// Cookies get `Secure` when the public URL is HTTPS (Atende behind a TLS proxy).
    pub fn secure_cookies(&self) -> bool {
        self.effective_base_url().starts_with("https://")
    }

    /// The effective configuration as JSON with secrets redacted (`atende config`).
    pub fn redacted_json(&self) -> serde_json::Value {
        serde_json::json!({
            "listen": self.listen.to_string(),
            "data_dir": self.data_dir.display().to_string(),
            "database_url": redact_url(&self.effective_database_url()),
            "base_url": self.effective_base_url(),
            "log_format": match self.log_format { LogFormat::Text => "text", LogFormat::Json => "json" },
            "log_level": self.log_level,
            "master_key": if self.master_key.is_some() { "[redacted] (from configuration)" } else { "[generated into data_dir/master.key]" },
            "demo": self.demo,
            "max_body_bytes": self.max_body_bytes,
            "job_workers": self.job_workers,
            "job_lease_secs": self.job_lease_secs,
            "report_alert_every_secs": self.report_alert_every_secs,
            "shutdown_grace_secs": self.shutdown_grace_secs,
            "db_max_connections": self.db_max_connections,
            "sse_heartbeat_secs": self.sse_heartbeat_secs,
            "api_rate_per_sec": self.api_rate_per_sec,
            "api_rate_burst": self.api_rate_burst,
            "allow_private_networks": self.allow_private_networks,
            "trusted_proxies": self.trusted_proxies.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "max_connections": self.max_connections,
            "header_timeout_secs": self.header_timeout_secs,
            "body_timeout_secs": self.body_timeout_secs,
            "idle_timeout_secs": self.idle_timeout_secs,
            "gateway_url": self.gateway_url,
            "gateway_api_key": self.gateway_api_key.as_ref().map(|_| "[redacted]"),
            "smtp_url": self.smtp_url.as_ref().map(|u| redact_url(u.expose())),
            "mail_from": self.mail_from,
        })
    }
}

/// Replaces the password of a `scheme://user:password@host` URL.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn environment_overrides_defaults() {
        let s = Settings::load(None, env(&[("ATENDE_LISTEN", "0.0.0.0:9000"), ("ATENDE_DEMO", "false")])).unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert!(!s.demo);
        assert!(s.effective_database_url().ends_with("data/atende.db"));
    }

    #[test]
    fn malformed_value_names_the_key() {
        let err = Settings::load(None, env(&[("ATENDE_LISTEN", "nope")])).unwrap_err();
        assert!(err.to_string().contains("ATENDE_LISTEN"), "{err}");
    }

    #[test]
    fn unknown_file_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("atende.toml");
        std::fs::write(&path, "listne = \"1.2.3.4:5\"\n").unwrap();
        let err = Settings::load(Some(&path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("listne"), "{err}");
    }

    #[test]
    fn trusted_proxies_come_from_the_file_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("atende.toml");
        std::fs::write(&path, "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n").unwrap();
        let s = Settings::load(Some(&path), env(&[])).unwrap();
        assert_eq!(s.trusted_proxies.len(), 2);
        let s = Settings::load(Some(&path), env(&[("ATENDE_TRUSTED_PROXIES", "192.168.1.1")])).unwrap();
        assert_eq!(s.trusted_proxies, vec!["192.168.1.1".parse().unwrap()]);
        let err = Settings::load(None, env(&[("ATENDE_TRUSTED_PROXIES", "10.0.0.0/40")])).unwrap_err();
        assert!(err.to_string().contains("ATENDE_TRUSTED_PROXIES"), "{err}");
        assert!(Settings::default().trusted_proxies.is_empty());
    }

    #[test]
    fn connection_limits_load_from_the_environment_and_the_idle_timeout_outlasts_heartbeats() {
        let s = Settings::load(
            None,
            env(&[
                ("ATENDE_MAX_CONNECTIONS", "50"),
                ("ATENDE_HEADER_TIMEOUT_SECS", "5"),
                ("ATENDE_IDLE_TIMEOUT_SECS", "40"),
            ]),
        )
        .unwrap();
        assert_eq!((s.max_connections, s.header_timeout_secs, s.idle_timeout_secs), (50, 5, 40));
        // The order of variables does not matter; only the final combination is checked.
        let err = Settings::load(None, env(&[("ATENDE_IDLE_TIMEOUT_SECS", "10")])).unwrap_err();
        assert!(err.to_string().contains("idle_timeout_secs"), "{err}");
        assert!(Settings::load(None, env(&[("ATENDE_SSE_HEARTBEAT_SECS", "90"), ("ATENDE_IDLE_TIMEOUT_SECS", "120")]))
            .is_ok());
        assert!(Settings::load(None, env(&[("ATENDE_BODY_TIMEOUT_SECS", "0")])).is_err());
    }

    #[test]
    fn database_password_is_redacted() {
        assert_eq!(redact_url("postgres://u:hunter2@db:5432/x"), "postgres://u:[redacted]@db:5432/x");
        let s = Settings::load(None, env(&[("ATENDE_DATABASE_URL", "postgres://u:hunter2@h/db")])).unwrap();
        assert!(!s.redacted_json().to_string().contains("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
