//! The `atende bench …` subcommands and their dispatch: each seeds what it needs and prints
//! figures (see docs/PERFORMANCE.md).

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Signed WhatsApp webhook deliveries at rising concurrency against a fresh server.
    Ingest {
        /// PostgreSQL URL of an empty database (default: SQLite in a temporary directory).
        #[arg(long)]
        database_url: Option<String>,
        /// Seconds per concurrency step.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Concurrency steps, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [8, 32, 128])]
        concurrency: Vec<usize>,
        /// Messages per delivery (Meta batches several).
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Distinct customers the messages cycle through.
        #[arg(long, default_value_t = 1000)]
        customers: usize,
    },
    /// Queued sends against a simulator that enforces the number's rate (130429 above it).
    Outbound {
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        /// The connection's (and the simulator's) messages per second.
        #[arg(long, default_value_t = 80)]
        rate: u32,
        #[arg(long, default_value_t = 100)]
        customers: usize,
        /// Job workers sending in parallel.
        #[arg(long, default_value_t = 8)]
        workers: usize,
    },
    /// Bulk upserts contacts through the HTTP API (calls of 1,000) and through a CSV import.
    Contacts {
        /// PostgreSQL URL of an empty database (default: SQLite in a temporary directory).
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        contacts: usize,
    },
    /// The chatbot's reply latency to new conversations, and ingest with and without a flow.
    Bot {
        /// PostgreSQL URL of an empty database (default: SQLite in a temporary directory).
        #[arg(long)]
        database_url: Option<String>,
        /// New conversations (distinct customers, one first message each).
        #[arg(long, default_value_t = 2_000)]
        conversations: usize,
        /// New conversations per second.
        #[arg(long, default_value_t = 200)]
        rate: u32,
        /// Seconds after the last acknowledgement a reply may still come.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Seconds per ingest step (automation off and on alternately); 0 skips the comparison.
        #[arg(long, default_value_t = 5)]
        ingest_seconds: u64,
        /// Requests in flight in the ingest steps.
        #[arg(long, default_value_t = 32)]
        ingest_concurrency: usize,
        /// Pairs of ingest steps (without, with a flow).
        #[arg(long, default_value_t = 2)]
        ingest_rounds: usize,
    },
    /// Many people on the live stream with presence updates every 30 s while a group chat
    /// talks: the server's memory and how long a message takes to reach every member.
    Presence {
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 1_000)]
        agents: usize,
        #[arg(long, default_value_t = 50)]
        group: usize,
        #[arg(long, default_value_t = 60)]
        messages: usize,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// Seeds tickets, messages and their history, builds the report roll-ups, then times the
    /// Painel's 30-day figures, live block and agent report.
    Reports {
        /// PostgreSQL URL of an empty database (default: SQLite in a temporary directory).
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        tickets: i64,
        #[arg(long, default_value_t = 1_000_000)]
        messages: i64,
        #[arg(long, default_value_t = 20_000)]
        contacts: i64,
        /// Timed samples per read.
        #[arg(long, default_value_t = 100)]
        samples: usize,
    },
    /// Seeds contacts with marketing consent, then sends a campaign to all of them through the
    /// WhatsApp simulator limited to `--sim-rate`/s: the rate it saw, 130429 answers, inbox p99.
    Campaign {
        /// PostgreSQL URL of an empty database (default: SQLite in a temporary directory).
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        recipients: i64,
        /// The simulator's (and the connection's) messages per second.
        #[arg(long, default_value_t = 80)]
        sim_rate: u32,
        /// Timed inbox list reads before and while the campaign sends.
        #[arg(long, default_value_t = 300)]
        inbox_samples: usize,
    },
    /// Seeds tickets and messages into a fresh database, then times inbox lists and opening tickets.
    Inbox {
        /// PostgreSQL URL of an empty database (default: SQLite in a temporary directory).
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 1_000_000)]
        tickets: i64,
        #[arg(long, default_value_t = 10_000_000)]
        messages: i64,
        #[arg(long, default_value_t = 50_000)]
        contacts: i64,
        /// Timed samples per request kind.
        #[arg(long, default_value_t = 200)]
        samples: usize,
        /// Seconds of the throughput run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent clients of the throughput run.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Seconds per request kind of the HTTP part (the real server, cookie clients); 0 skips it.
        #[arg(long, default_value_t = 5)]
        http_seconds: u64,
        /// New waiting tickets per second (through the webhook) in the inbound and background phases.
        #[arg(long, default_value_t = 20)]
        new_tickets_per_sec: u64,
    },
}

/// Runs one benchmark.
pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest { database_url, seconds, concurrency, batch, customers } => {
            super::ingest(super::IngestBench { database_url, seconds, concurrency, batch, customers }).await
        }
        BenchCommand::Outbound { messages, rate, customers, workers } => {
            super::outbound(super::OutboundBench { messages, rate, customers, workers }).await
        }
        BenchCommand::Contacts { database_url, contacts } => {
            super::contacts(super::ContactsBench { database_url, contacts }).await
        }
        BenchCommand::Bot {
            database_url,
            conversations,
            rate,
            timeout,
            ingest_seconds,
            ingest_concurrency,
            ingest_rounds,
        } => {
            let b = super::BotBench {
                database_url,
                conversations,
                rate,
                timeout_secs: timeout,
                ingest_seconds,
                ingest_concurrency,
                ingest_rounds,
            };
            super::bot(b).await
        }
        BenchCommand::Campaign { database_url, recipients, sim_rate, inbox_samples } => {
            super::campaign(super::CampaignBench { database_url, recipients, sim_rate, inbox_samples }).await
        }
        BenchCommand::Presence { database_url, agents, group, messages, seconds } => {
            super::presence(super::PresenceBench { database_url, agents, group, messages, seconds }).await
        }
        BenchCommand::Reports { database_url, tickets, messages, contacts, samples } => {
            super::reports(super::ReportsBench { database_url, tickets, messages, contacts, samples }).await
        }
        BenchCommand::Inbox {
            database_url,
            tickets,
            messages,
            contacts,
            samples,
            seconds,
            concurrency,
            http_seconds,
            new_tickets_per_sec,
        } => {
            let b = super::InboxBench {
                database_url,
                tickets,
                messages,
                contacts,
                samples,
                seconds,
                concurrency,
                http_seconds,
                new_tickets_per_sec,
            };
            super::inbox(b).await
        }
    }
}
