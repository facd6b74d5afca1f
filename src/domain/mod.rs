//! Pure types and rules of Atende: no I/O, no database, no HTTP.

pub mod access;
pub mod campaigns;
pub mod channel;
pub mod chat;
pub mod connection;
pub mod consent;
pub mod contacts;
pub mod csv;
pub mod flow;
pub mod hours;
pub mod ids;
pub mod inbound;
pub mod inbox;
pub mod jobs;
pub mod kanban;
pub mod keyword_rules;
pub mod media;
pub mod message;
pub mod netaddr;
pub mod ogg_opus;
pub mod outbound;
pub mod phone;
pub mod retry;
pub mod schedules;
pub mod sla;
pub mod status_page;
pub mod tasks;
pub mod templates;
pub mod totp;
pub mod validate;
pub mod vault;
pub mod webhooks;

pub use access::{Role, Scope};
pub use ids::{TenantId, UserId};
pub mod ratelimit;
pub mod reports;
