//! Atende's integration tests: one binary, every test on SQLite and, when
//! `ATENDE_TEST_DATABASE_URL` is set, again on PostgreSQL (each on a fresh database).

// Tests may unwrap: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod admin_pages;
mod api;
mod api_guard;
mod api_kit;
mod api_resources;
mod api_spec;
mod api_tenancy;
mod audit_page;
mod auth;
mod automation;
mod automation_flow;
mod automation_hours;
mod automation_keywords;
mod bot_loop;
mod browser;
mod browser_chatbot;
mod browser_composer;
mod browser_flow;
mod browser_painel;
mod browser_qr;
mod browser_shell;
mod campaigns;
mod chatbot_page;
mod chatbots;
mod connections;
mod consent;
mod contact_filters;
mod contacts_api;
mod crm;
mod events;
mod identities;
mod inbox;
mod inbox_ui_extra;
mod inbox_web;
mod jobs;
mod layers;
mod mail;
mod ops;
mod processes;
mod processes_campaign;
mod processes_cli;
mod processes_kill;
mod reports;
mod reports_watch;
mod schedules;
mod security;
mod sends_with_files;
mod shell;
mod tags;
mod templates_web;
mod timed_rules;
mod timed_rules_reminders;
mod two_factor;
mod vault;
mod web;
mod webhooks;
mod webhooks_admin;
mod whatsapp_in;
mod whatsapp_out;
mod whatsapp_qr;
