//! The `evo-sim` binary: runs the gateway until Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use evo_sim::{Gateway, GatewayConfig};

#[derive(Parser)]
#[command(name = "evo-sim", about = "A local stand-in for Evolution API v2 (WhatsApp Web gateway)")]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9200")]
    listen: SocketAddr,
    /// The global API key (Evolution's AUTHENTICATION_API_KEY), sent as header `apikey`.
    #[arg(long, env = "EVO_SIM_API_KEY", default_value = "evo-sim-api-key")]
    api_key: String,
    /// Seconds between QR code rotations while waiting for a scan.
    #[arg(long, default_value_t = 20)]
    qr_rotate_secs: u64,
    /// The simulated phone's number (digits).
    #[arg(long, default_value = "5511940000001")]
    business_phone: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let gw = Gateway::start(GatewayConfig {
        listen: cli.listen,
        api_key: cli.api_key,
        qr_rotate_every: Duration::from_secs(cli.qr_rotate_secs.max(1)),
        business_phone: cli.business_phone,
    })
    .await?;
    eprintln!("evo-sim: Evolution API at {0}, phone page at {0}/", gw.base_url());
    tokio::signal::ctrl_c().await?;
    gw.shutdown().await;
    Ok(())
}
