//! Provider adapters: each turns a provider's payloads into Atende's inbound items and Atende's
//! sends into provider calls, and nothing else.

pub mod guard;
pub mod webhook;
pub mod whatsapp_cloud;
