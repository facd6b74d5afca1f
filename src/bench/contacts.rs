//! `atende bench contacts`: bulk upsert of contacts through the real HTTP API (calls of 1,000)
//! and through the CSV import (a generated Windows-1252, `;`-separated file with Brazilian
//! phones), on a fresh database. Prints time, rows/s and this process's peak RSS per phase.

use std::time::Instant;

use anyhow::Context;

use crate::actions::{self, Actor};

pub struct ContactsBench {
    pub database_url: Option<String>,
    pub contacts: usize,
}

/// This process's peak resident set (VmHWM), in KiB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak so the next phase's figure is its own (Linux: `5` into clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A Brazilian mobile of contact `i` (DDD 11–99, nine digits), spelled like a spreadsheet.
fn phone(i: usize) -> String {
    let ddd = 11 + (i % 89);
    let n = 90_000_000 + (i / 89) % 10_000_000;
    format!("({ddd}) 9{:04}-{:04}", n / 10_000 % 10_000, n % 10_000)
}

pub async fn run(b: ContactsBench) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("atende-bench-{}", crate::crypto::random_token(6)));
    let settings = crate::config::Settings {
        data_dir: dir.clone(),
        database_url: b.database_url.clone().map(crate::config::Secret::new),
        job_workers: 1,
        log_level: "warn".into(),
        ..crate::config::Settings::default()
    };
    let app = crate::app::App::build(settings).await?;
    let engine = app.db.backend.name();
    actions::bootstrap::first_run(&app).await?;
    let api_tenant = actions::tenants::create_tenant(&app, &Actor::Operator, "Bench API", "bench-api").await?.id;
    let csv_tenant = actions::tenants::create_tenant(&app, &Actor::Operator, "Bench CSV", "bench-csv").await?.id;
    let scopes = [crate::domain::Scope::Read, crate::domain::Scope::Write];
    let (_, token) = actions::tokens::create_token(&app, &Actor::Operator, api_tenant, "bench", &scopes).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = app.clone();
    let server = tokio::spawn(async move {
        let _ = crate::server::serve(serving, listener, async move {
            let _ = stopped.await;
        })
        .await;
    });
    println!("contacts benchmark: {engine}, {} contacts by API (calls of 1,000) and by CSV import", b.contacts);

    // API: the request bodies are built before the clock starts.
    let bodies: Vec<String> = (0..b.contacts)
        .collect::<Vec<_>>()
        .chunks(actions::contacts::MAX_BULK)
        .map(|chunk| {
            let rows: Vec<serde_json::Value> = chunk
                .iter()
                .map(|&i| {
                    serde_json::json!({"name": format!("Cliente {i}"), "phone": phone(i),
                        "email": format!("cliente{i}@example.com"), "custom_fields": {"cidade": "São Paulo", "plano": "ouro"},
                        "tags": ["importado"], "consent": "transactional"})
                })
                .collect();
            serde_json::json!({ "contacts": rows }).to_string()
        })
        .collect();
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/v1/contacts/bulk");
    reset_peak_rss();
    let started = Instant::now();
    let mut created = 0u64;
    for body in bodies {
        let response = client
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .context("bulk upsert request")?;
        anyhow::ensure!(response.status().is_success(), "bulk upsert answered {}", response.status());
        let out: serde_json::Value = response.json().await?;
        created += out["summary"]["created"].as_u64().unwrap_or(0);
    }
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(created as usize == b.contacts, "API created {created} contacts, expected {}", b.contacts);
    println!(
        "API bulk upsert (new):      {:>8} contacts in {secs:6.2} s = {:>7.0} rows/s, peak RSS {} MiB",
        b.contacts,
        b.contacts as f64 / secs,
        peak_rss_kb() / 1024
    );

    // The same calls again: every row matches (updates).
    let bodies: Vec<String> = (0..b.contacts)
        .collect::<Vec<_>>()
        .chunks(actions::contacts::MAX_BULK)
        .map(|chunk| {
            let rows: Vec<serde_json::Value> = chunk
                .iter()
                .map(|&i| serde_json::json!({"phone": phone(i), "custom_fields": {"plano": "prata"}}))
                .collect();
            serde_json::json!({ "contacts": rows }).to_string()
        })
        .collect();
    reset_peak_rss();
    let started = Instant::now();
    for body in bodies {
        let response =
            client.post(&url).bearer_auth(&token).header("content-type", "application/json").body(body).send().await?;
        anyhow::ensure!(response.status().is_success(), "bulk upsert answered {}", response.status());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "API bulk upsert (existing): {:>8} contacts in {secs:6.2} s = {:>7.0} rows/s, peak RSS {} MiB",
        b.contacts,
        b.contacts as f64 / secs,
        peak_rss_kb() / 1024
    );

    // CSV: a Latin-1 `;` file as Brazilian Excel writes it, imported as the web page does.
    let mut text = String::from("Nome;Telefone;E-mail;Cidade;Etiquetas;Consentimento\r\n");
    for i in 0..b.contacts {
        text.push_str(&format!(
            "José da Conceição {i};{};jose{i}@exemplo.com.br;São João del-Rei;importado, csv;transacional\r\n",
            phone(i)
        ));
    }
    let file = crate::domain::csv::encode_windows1252(&text);
    drop(text);
    println!("CSV file: {} rows, {:.1} MiB, Windows-1252, ';'", b.contacts, file.len() as f64 / 1048576.0);
    let preview = actions::contact_csv::preview(&file)?;
    reset_peak_rss();
    let started = Instant::now();
    let report = actions::contact_csv::import(&app, &Actor::Operator, csv_tenant, &file, &preview.guessed).await?;
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.summary.created == b.contacts && report.rejected.is_empty(),
        "CSV import: {:?}, {} rejected",
        report.summary,
        report.rejected.len()
    );
    println!(
        "CSV import (new):           {:>8} contacts in {secs:6.2} s = {:>7.0} rows/s, peak RSS {} MiB",
        b.contacts,
        b.contacts as f64 / secs,
        peak_rss_kb() / 1024
    );
    let _ = stop.send(());
    let _ = server.await;
    app.db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
