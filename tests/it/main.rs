//! Atende's integration tests: one binary, every test on SQLite and, when
//! `ATENDE_TEST_DATABASE_URL` is set, again on PostgreSQL (each on a fresh database).

mod support;

mod api;
mod auth;
mod events;
mod jobs;
mod ops;
mod processes;
mod web;
