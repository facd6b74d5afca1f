//! The command line: `serve`, `migrate`, `config`, `backup`, and scriptable `admin` commands
//! that print JSON.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::actions::{self, Actor};
use crate::app::App;
use crate::config::{LogFormat, Settings};
use crate::domain::ids::JobId;
use crate::domain::{Role, Scope};

#[derive(Parser, Debug)]
#[command(name = "atende", version, about = "Atende — omnichannel customer service in one binary")]
pub struct Cli {
    /// Configuration file (default: ./atende.toml when it exists).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once at start-up; size does not matter
pub enum Command {
    /// Run the web server and job workers (creates the database and first logins on first run).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration with secrets redacted.
    Config,
    /// Copy the SQLite database to FILE while Atende runs (PostgreSQL: use pg_dump).
    Backup { file: PathBuf },
    /// Administration commands; each prints JSON.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Benchmarks that print figures (see docs/PERFORMANCE.md).
    #[command(subcommand)]
    Bench(crate::bench::command::BenchCommand),
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a company (tenant).
    CreateTenant {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
    },
    /// Create a user; prints the generated first password once.
    CreateUser {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// agent, supervisor, admin (platform_admin only in the platform tenant).
        #[arg(long)]
        role: String,
        /// Display name (default: the part of the e-mail before @).
        #[arg(long)]
        name: Option<String>,
    },
    /// Give a user a new random password (prints it) and end their sessions.
    ResetPassword {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
    },
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Counts an operator checks: tenants, users, jobs by state.
    Stats {
        /// Output JSON (the only format; accepted for scripts that pass it).
        #[arg(long)]
        json: bool,
    },
    /// Job queue checks.
    #[command(subcommand)]
    Job(JobCommand),
    /// Channel connections.
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// Queue a WhatsApp message (text or template) to a phone; prints the queued message. The
    /// running server's workers send it.
    Send {
        #[arg(long)]
        tenant: String,
        /// Connection id (see `admin connection list`).
        #[arg(long)]
        connection: i64,
        /// The customer's number in international form, e.g. +5511987654321.
        #[arg(long)]
        to: String,
        /// Free text (only within 24 hours of the customer's last message).
        #[arg(long, conflicts_with = "template", required_unless_present = "template")]
        text: Option<String>,
        /// An approved template's name (allowed at any time).
        #[arg(long, requires = "language")]
        template: Option<String>,
        /// The template's language code, e.g. pt_BR.
        #[arg(long)]
        language: Option<String>,
        /// A body parameter of the template ({{1}}, {{2}}… in order); repeatable.
        #[arg(long = "param")]
        params: Vec<String>,
        /// Sending again with the same key returns the first message and sends nothing.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once at start-up; size does not matter
pub enum ConnectionCommand {
    /// Connect a number; prints the connection with its webhook URL and verify token.
    Create {
        #[arg(long)]
        tenant: String,
        /// Only `whatsapp-cloud` for now.
        #[arg(long, default_value = "whatsapp-cloud")]
        kind: String,
        #[arg(long)]
        phone_number_id: String,
        #[arg(long)]
        access_token: String,
        #[arg(long)]
        app_secret: String,
        #[arg(long, default_value = "")]
        waba_id: String,
        /// Graph API base URL (default: Meta's; the simulator's in demos and tests).
        #[arg(long)]
        graph_url: Option<String>,
        #[arg(long)]
        api_version: Option<String>,
        /// Messages per second this number may send (default 80).
        #[arg(long)]
        rate: Option<i64>,
        #[arg(long, default_value = "WhatsApp")]
        name: String,
    },
    /// Replace a connection's access token (and optionally its app secret) after Meta's token
    /// expired or was revoked; clears "needs re-authentication". Prints the connection.
    SetToken {
        #[arg(long)]
        tenant: String,
        /// The connection's id (as printed by `create` and `list`).
        #[arg(long)]
        id: i64,
        #[arg(long)]
        access_token: String,
        #[arg(long)]
        app_secret: Option<String>,
    },
    /// List a company's connections and their health.
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token; prints {"token": …} once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// Comma-separated: read, write, send.
        #[arg(long, default_value = "read")]
        scopes: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum JobCommand {
    /// Enqueue a diagnostic job that writes an audit entry once (after waiting HOLD_MS).
    Diagnostic {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        marker: String,
        #[arg(long, default_value_t = 0)]
        hold_ms: u64,
        /// Make the job fail with this message on every try (checks retries and dead letters).
        #[arg(long)]
        fail_message: Option<String>,
    },
    /// Show one job's state.
    Show { id: i64 },
}

/// Runs the parsed command; returns the process exit code.
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    // Every command may create files (database, backup, media): private to this user.
    crate::os::private_umask();
    match cli.command {
        Command::Config => {
            println!("{}", serde_json::to_string_pretty(&settings.redacted_json())?);
            Ok(())
        }
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            let app = App::build(settings).await?;
            let version = crate::store::migrate::current_version(&app.db).await;
            println!("{}", json!({ "schema_version": version, "backend": app.db.backend.name() }));
            Ok(())
        }
        Command::Backup { file } => backup(settings, file).await,
        Command::Bench(cmd) => crate::bench::command::run(cmd).await,
        Command::Admin(cmd) => {
            let app = App::build(settings).await?;
            let out = admin(&app, cmd).await;
            app.db.close().await;
            println!("{}", serde_json::to_string_pretty(&out?)?);
            Ok(())
        }
    }
}

async fn serve(mut settings: Settings) -> anyhow::Result<()> {
    let listen = settings.listen;
    let gateway = crate::demo::start_gateway(&mut settings).await?;
    let app = App::build(settings).await?;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    // After binding: a port in use must not swallow first-run passwords that are printed once.
    let logins = actions::bootstrap::first_run(&app).await.map_err(anyhow::Error::from)?;
    let url = match &app.settings.base_url {
        Some(base) => base.clone(),
        None => format!("http://{local}"),
    };
    if app.settings.demo {
        crate::demo::set_up_automation(&app).await?;
        crate::demo::set_up_campaign(&app).await?;
        crate::demo::set_up_sla(&app).await?;
        crate::demo::set_up_status_page(&app).await?;
        crate::demo::set_up_kanban(&app).await?;
        crate::demo::set_up_chat(&app).await?;
        crate::demo::set_up_plans(&app).await?;
    }
    let simulator = crate::demo::start_simulator(&app, local).await?;
    if simulator.is_some() {
        let app = app.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::demo::set_up_schedule(&app).await {
                tracing::warn!(error = %format!("{e:#}"), "the demo schedule is not ready");
            }
        });
    }
    if gateway.is_some() {
        // In the background: the stand-in posts its first webhooks to this server, which starts
        // accepting requests only below.
        let app = app.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::demo::wire_qr_connection(&app).await {
                tracing::warn!(error = %format!("{e:#}"), "the demo's QR-code connection is not ready");
            }
        });
    }
    println!("Atende is running at {url}  (database: {})", app.db.backend.name());
    if !logins.is_empty() {
        println!("First run — these logins were created; the passwords are shown only now:");
        for l in &logins {
            println!("  company {:<9} e-mail {:<20} password {}", l.tenant, l.email, l.password);
        }
    }
    if let Some(sim) = &simulator {
        println!(
            "Demo customer phone (WhatsApp simulator): {}/  — write as a customer of the Demo company",
            sim.base_url()
        );
    }
    if let Some(g) = &gateway {
        println!(
            "Demo phone for WhatsApp (QR Code): {}/  — scan the QR shown in Conexões, then write as a customer",
            g.base_url()
        );
    }
    tracing::info!(address = %local, "listening");
    let served = crate::server::serve(app, listener, crate::server::shutdown_signal()).await;
    if let Some(sim) = simulator {
        sim.shutdown().await;
    }
    if let Some(g) = gateway {
        g.shutdown().await;
    }
    served
}

async fn backup(settings: Settings, file: PathBuf) -> anyhow::Result<()> {
    let url = settings.effective_database_url();
    // Decided from the URL alone: the advice must not depend on reaching the server.
    if !url.starts_with("sqlite:") {
        anyhow::bail!("backup of PostgreSQL: use pg_dump, e.g. `pg_dump --format=custom --file=atende.dump \"$ATENDE_DATABASE_URL\"`");
    }
    anyhow::ensure!(!file.exists(), "{} already exists; choose a new file", file.display());
    let db = crate::store::Db::connect(&url, 1).await?;
    let path = file.to_str().context("backup path must be UTF-8")?;
    crate::store::backup_sqlite(&db, path).await?;
    println!("{}", json!({ "backup": path }));
    Ok(())
}

async fn tenant_id(app: &App, slug: &str) -> anyhow::Result<crate::domain::TenantId> {
    Ok(actions::tenants::find_by_slug(app, slug)
        .await
        .map_err(|_| anyhow::anyhow!("no company with slug {slug:?}"))?
        .id)
}

async fn admin(app: &Arc<App>, cmd: AdminCommand) -> anyhow::Result<serde_json::Value> {
    let op = Actor::Operator;
    Ok(match cmd {
        AdminCommand::CreateTenant { name, slug } => {
            let t = actions::tenants::create_tenant(app, &op, &name, &slug).await?;
            json!({ "id": t.id, "slug": t.slug, "name": t.name })
        }
        AdminCommand::CreateUser { tenant, email, role, name } => {
            let role = Role::parse(&role)
                .with_context(|| format!("unknown role {role:?} (agent, supervisor, admin, platform_admin)"))?;
            let tenant = tenant_id(app, &tenant).await?;
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_string());
            let input = actions::users::CreateUser { email: &email, name: &name, role, password: None };
            let (user, password) = actions::users::create_user(app, &op, tenant, input).await?;
            json!({ "id": user.id, "tenant_id": user.tenant_id, "email": user.email, "name": user.name, "role": user.role, "password": password })
        }
        AdminCommand::ResetPassword { tenant, email } => {
            let tenant = tenant_id(app, &tenant).await?;
            let user = crate::store::users::find_by_email(app.db.reader(), tenant, &email.trim().to_lowercase())
                .await?
                .with_context(|| format!("no user {email} in that company"))?;
            let password = actions::users::reset_password(app, &op, tenant, user.id).await?;
            json!({ "id": user.id, "email": user.email, "password": password })
        }
        AdminCommand::Token(TokenCommand::Create { tenant, name, scopes }) => {
            let scopes = Scope::parse_list(&scopes).map_err(anyhow::Error::msg)?;
            let tenant = tenant_id(app, &tenant).await?;
            let (token, secret) = actions::tokens::create_token(app, &op, tenant, &name, &scopes).await?;
            json!({ "token": secret, "id": token.id.0, "prefix": token.prefix, "scopes": token.scopes })
        }
        AdminCommand::Stats { .. } => {
            serde_json::to_value(crate::store::stats::collect(&app.db, app.clock.now_ms()).await?)?
        }
        AdminCommand::Job(JobCommand::Diagnostic { tenant, marker, hold_ms, fail_message }) => {
            let tenant = tenant_id(app, &tenant).await?;
            let fail = fail_message.as_deref();
            let id = actions::diagnostics::enqueue_marker(app, &op, tenant, &marker, hold_ms, fail).await?;
            json!({ "job_id": id })
        }
        AdminCommand::Connection(ConnectionCommand::Create {
            tenant,
            kind,
            phone_number_id,
            access_token,
            app_secret,
            waba_id,
            graph_url,
            api_version,
            rate,
            name,
        }) => {
            anyhow::ensure!(kind == "whatsapp-cloud", "unknown connection kind {kind:?} (supported: whatsapp-cloud)");
            let tenant = tenant_id(app, &tenant).await?;
            let input = actions::connections::CreateWhatsappCloud {
                name: &name,
                phone_number_id: &phone_number_id,
                waba_id: &waba_id,
                access_token: &access_token,
                app_secret: &app_secret,
                graph_url: graph_url.as_deref(),
                api_version: api_version.as_deref(),
                rate_per_sec: rate,
            };
            serde_json::to_value(actions::connections::create_whatsapp_cloud(app, &op, tenant, input).await?)?
        }
        AdminCommand::Connection(ConnectionCommand::SetToken { tenant, id, access_token, app_secret }) => {
            let tenant = tenant_id(app, &tenant).await?;
            let updated =
                actions::connections::update_secrets(app, &op, tenant, id, &access_token, app_secret.as_deref())
                    .await?;
            serde_json::to_value(updated)?
        }
        AdminCommand::Connection(ConnectionCommand::List { tenant }) => {
            let tenant = tenant_id(app, &tenant).await?;
            serde_json::to_value(actions::connections::list_connections(app, &op, tenant).await?)?
        }
        AdminCommand::Send { tenant, connection, to, text, template, language, params, idempotency_key } => {
            use crate::domain::outbound::{template_body_parameters, OutboundContent};
            let tenant = tenant_id(app, &tenant).await?;
            let content = match (text, template) {
                (Some(body), None) => OutboundContent::Text { body, preview_url: false },
                (None, Some(name)) => OutboundContent::Template {
                    name,
                    language: language.context("--template needs --language")?,
                    components: template_body_parameters(&params),
                },
                _ => anyhow::bail!("give either --text or --template"),
            };
            let request = actions::send::SendRequest {
                marketing: false,
                tenant,
                target: actions::send::SendTarget::Phone { connection_id: connection, phone: to },
                content,
                reply_to: None,
                idempotency_key,
            };
            serde_json::to_value(actions::send::send_message(app, &op, request).await?)?
        }
        AdminCommand::Job(JobCommand::Show { id }) => {
            let job =
                crate::store::jobs::get(app.db.reader(), JobId(id)).await?.with_context(|| format!("no job {id}"))?;
            serde_json::to_value(job)?
        }
    })
}

/// Logs go to stderr, as text or JSON lines, filtered by the configured level.
pub fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
