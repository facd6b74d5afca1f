//! The real `atende` binary killed (SIGKILL) at random moments while a 2,000-recipient campaign
//! sends, then restarted, several times: no recipient ever gets the campaign twice — checked on
//! what the simulator received, not only on Atende's rows — and every recipient ends sent or
//! `unknown` (only those a kill interrupted between committing `sending` and the answer).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{json, Value};

use crate::processes::{acme_on_simulator, admin, count, sqlite_url, Server};

const RECIPIENTS: usize = 2000;
const KILLS: usize = 3;

fn customer(n: usize) -> String {
    format!("{}", 5_511_955_500_001u64 + n as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_killed_again_and_again_never_sends_a_recipient_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Short leases: a killed server's campaign run is taken over within seconds.
    let env = vec![
        ("ATENDE_DEMO", "false".to_string()),
        ("ATENDE_JOB_WORKERS", "4".to_string()),
        ("ATENDE_JOB_LEASE_SECS", "3".to_string()),
    ];
    let config = wa_sim::SimConfig {
        access_token: "camp-token".into(),
        app_secret: "camp-secret".into(),
        phone_number_id: "777000777".into(),
        rate_per_sec: Some(200),
        ..wa_sim::SimConfig::default()
    };
    let (mut server, sim, connection) = acme_on_simulator(dir.path(), &env, config, "80").await;
    let hook = |s: &Server| s.url(&format!("/hooks/whatsapp/{connection}"));
    // 2,000 customers write (their 24-hour window opens), 100 to a delivery.
    for chunk in (0..RECIPIENTS).collect::<Vec<_>>().chunks(100) {
        let items = chunk
            .iter()
            .map(|n| (customer(*n), format!("Cliente {n}"), wa_sim::CustomerMessage::Text("oi".into())))
            .collect();
        let d = sim.customer_sends_batch(items, wa_sim::BatchShape::OneChange).await.expect("batch");
        assert_eq!(d.status, 200);
    }
    let token =
        admin(dir.path(), None, &["token", "create", "--tenant", "acme", "--name", "camp", "--scopes", "read,write"])
            .await
            .json()["token"]
            .as_str()
            .expect("token")
            .to_string();
    // They gave marketing consent (through the API: the running server is the only writer).
    let api = reqwest::Client::new();
    for chunk in (0..RECIPIENTS).collect::<Vec<_>>().chunks(1000) {
        let rows: Vec<Value> = chunk
            .iter()
            .map(|n| json!({ "phone": format!("+{}", customer(*n)), "consent": "marketing_opt_in" }))
            .collect();
        let r = api
            .post(server.url("/api/v1/contacts/bulk"))
            .bearer_auth(&token)
            .json(&json!({ "contacts": rows }))
            .send()
            .await
            .expect("bulk");
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }
    let body = json!({ "name": "Queima", "variations": ["Oferta para {{nome}}", "Só hoje, {{nome}}"],
        "all_contacts": true, "rate_per_minute": 4800, "spacing_pct": 0 });
    let r = api.post(server.url("/api/v1/campaigns")).bearer_auth(&token).json(&body).send().await.expect("create");
    let campaign: Value = r.json().await.expect("campaign");
    let id = campaign["id"].as_i64().expect("campaign id");
    let r =
        api.post(server.url(&format!("/api/v1/campaigns/{id}/start"))).bearer_auth(&token).send().await.expect("start");
    assert_eq!(r.status(), 200);

    // Killed at random moments while it sends, restarted each time.
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("kill timing seed {seed}");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(1500..5000))).await;
        server.signal("-KILL");
        let _ = server.wait_exit(Duration::from_secs(10)).await;
        drop(server);
        server = Server::start(dir.path(), &env);
        server.wait_ready().await;
        sim.set_webhook_url(hook(&server));
    }
    // Polled through the API until nobody is queued or being sent.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = api.get(server.url(&format!("/api/v1/campaigns/{id}"))).bearer_auth(&token).send().await;
        if let Ok(r) = r {
            let v: Value = r.json().await.unwrap_or_default();
            if v["counts"]["queued"] == 0 && v["counts"]["sending"] == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "recipients still open after 120 s: {}\n{}",
                v["counts"],
                server.stderr()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    server.signal("-TERM");
    let _ = server.wait_exit(Duration::from_secs(10)).await;
    let url = sqlite_url(dir.path());

    // What the simulator received, by the recipient its callback data names.
    let mut times: HashMap<i64, usize> = HashMap::new();
    for m in sim.sent_messages() {
        if let Some(r) =
            m.request["biz_opaque_callback_data"].as_str().and_then(atende::domain::campaigns::parse_callback_data)
        {
            *times.entry(r).or_default() += 1;
        }
    }
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "recipients sent twice: {twice:?}");
    let total = count(&url, "SELECT COUNT(*) FROM campaign_recipients", &[]).await;
    assert_eq!(total, RECIPIENTS as i64);
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open the database");
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, state FROM campaign_recipients").fetch_all(&pool).await.expect("rows");
    pool.close().await;
    let mut unknown = 0;
    for (rid, state) in &rows {
        match state.as_str() {
            "sent" | "delivered" | "read" => {
                assert_eq!(
                    times.get(rid),
                    Some(&1),
                    "recipient {rid} is {state} but the simulator got it {:?}",
                    times.get(rid)
                )
            }
            "unknown" => unknown += 1,
            other => panic!("recipient {rid} ended {other}"),
        }
    }
    // Only sends a kill interrupted: at most the calls in flight at each kill.
    assert!(unknown <= KILLS * 9, "{unknown} unknown after {KILLS} kills");
    eprintln!("{} recipients, {unknown} unknown after {KILLS} kills, none twice", rows.len());
    sim.shutdown().await;
}
