//! Inbound provider webhooks. Each checks the provider's signature, parses, and hands the
//! delivery to an action; the provider gets its 2xx only after the delivery is durable.

pub mod gateway;
pub mod whatsapp;
