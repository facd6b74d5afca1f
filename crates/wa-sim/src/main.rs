//! The `wa-sim` binary: `wa-sim serve …` runs the simulator, `wa-sim load …` runs a load test
//! against a webhook receiver and prints the report as JSON.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};
use wa_sim::{run_load, LoadConfig, SimConfig, Simulator};

#[derive(Parser)]
#[command(name = "wa-sim", about = "A local stand-in for Meta's WhatsApp Cloud API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the simulator (Graph API, webhooks, customer phone page on `/`).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9100")]
        listen: SocketAddr,
        /// Where to POST webhooks (Atende's /hooks/whatsapp/{id}).
        #[arg(long, env = "WA_SIM_WEBHOOK_URL")]
        webhook_url: Option<String>,
        /// Bearer token Graph calls must carry.
        #[arg(long, env = "WA_SIM_ACCESS_TOKEN", default_value = "sim-access-token")]
        access_token: String,
        /// App secret that signs webhooks.
        #[arg(long, env = "WA_SIM_APP_SECRET", default_value = "sim-app-secret")]
        app_secret: String,
        /// The business phone number id.
        #[arg(long, default_value = "100000000000001")]
        phone_number_id: String,
        /// The business display phone number (digits).
        #[arg(long, default_value = "15550000001")]
        display_phone_number: String,
        /// The WhatsApp Business Account id.
        #[arg(long, default_value = "200000000000001")]
        waba_id: String,
        /// Graph sends allowed per second (more → error 130429).
        #[arg(long)]
        rate: Option<u32>,
        /// Delay before the "sent" status webhook, ms.
        #[arg(long, default_value_t = 200)]
        sent_ms: u64,
        /// Delay from "sent" to "delivered", ms.
        #[arg(long, default_value_t = 800)]
        delivered_ms: u64,
        /// Delay from "delivered" to "read", ms (omit to read only when the customer views the chat).
        #[arg(long)]
        read_ms: Option<u64>,
    },
    /// POST signed customer-message webhooks at a target rate and print a JSON report.
    Load {
        /// The webhook URL (loopback only).
        #[arg(long)]
        url: String,
        /// App secret to sign with.
        #[arg(long)]
        app_secret: String,
        /// The phone number id in the webhook metadata.
        #[arg(long)]
        phone_number_id: String,
        /// Distinct customers.
        #[arg(long, default_value_t = 1000)]
        customers: usize,
        /// Target messages per second (0: unthrottled).
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        duration_secs: u64,
        /// Requests in flight.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Messages per delivery.
        #[arg(long, default_value_t = 1)]
        batch: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            listen,
            webhook_url,
            access_token,
            app_secret,
            phone_number_id,
            display_phone_number,
            waba_id,
            rate,
            sent_ms,
            delivered_ms,
            read_ms,
        } => {
            let sim = Simulator::start(SimConfig {
                listen,
                access_token,
                app_secret,
                phone_number_id,
                display_phone_number,
                waba_id,
                webhook_url,
                rate_per_sec: rate,
                status_delays_ms: (sent_ms, delivered_ms, read_ms.unwrap_or(u64::MAX)),
                faults: Default::default(),
            })
            .await?;
            eprintln!("wa-sim: Graph API at {0}, customer phone at {0}/", sim.base_url());
            tokio::signal::ctrl_c().await?;
            sim.shutdown().await;
        }
        Command::Load { url, app_secret, phone_number_id, customers, rate, duration_secs, concurrency, batch } => {
            let mut cfg = LoadConfig::new(&url, &app_secret, &phone_number_id);
            cfg.customers = customers;
            cfg.rate_per_sec = rate;
            cfg.duration = Duration::from_secs(duration_secs);
            cfg.concurrency = concurrency;
            cfg.messages_per_delivery = batch;
            let report = run_load(cfg).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    }
    Ok(())
}
