//! LGPD and retention use cases: one contact's data exported as a ZIP ([`export_contact`]), a
//! contact erased to an anonymous stub ([`erase`]), the company's whole export for leaving the
//! platform ([`company_export`]), and the retention of conversations ([`retention`]).
//!
//! Exports are streamed: the action checks the caller and audits at once (so a refusal is a
//! plain error answer), then hands back a [`ZipJob`] whose `run` writes the archive piece by
//! piece into a bounded channel the HTTP edge turns into the response body; the whole archive
//! is never in memory (a media file goes through in 64 KiB pieces).

pub mod erase;
mod export;
pub mod retention;
mod stream;

pub use erase::*;
pub use export::*;
pub use stream::{Chunks, ZipJob};
