//! Atende: a self-hosted omnichannel customer-service platform in one binary.
//! See `docs/ARCHITECTURE.md` for how the modules fit together.

pub mod actions;
pub mod app;
pub mod bench;
pub mod bench_http;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod os;
pub mod realtime;
pub mod server;
pub mod store;
