//! The load generator: its counts against the receiver, and its own throughput.

use super::*;

#[tokio::test]
async fn load_mode_counts_match_the_receiver() {
    let rx = Receiver::start().await;
    let mut cfg = LoadConfig::new(&rx.url, SECRET, "100000000000001");
    cfg.customers = 7;
    cfg.rate_per_sec = 600;
    cfg.duration = Duration::from_millis(500);
    cfg.concurrency = 8;
    cfg.messages_per_delivery = 3;
    let report = run_load(cfg).await.unwrap();
    let got = rx.all();
    let messages: usize =
        got.iter().map(|r| r.body["entry"][0]["changes"][0]["value"]["messages"].as_array().unwrap().len()).sum();
    assert!(got.iter().all(|r| r.signature_ok));
    assert_eq!(report.deliveries_sent, got.len() as u64);
    assert_eq!(report.deliveries_acknowledged, got.len() as u64);
    assert_eq!(report.messages_sent, messages as u64);
    assert_eq!(report.messages_acknowledged, messages as u64);
    assert!(report.errors_by_status.is_empty());
    assert_eq!(report.messages_sent, 300, "{report:?}");
    assert!(report.latency.max_ms >= report.latency.p50_ms);
    let senders: std::collections::BTreeSet<String> = got
        .iter()
        .flat_map(|r| r.body["entry"][0]["changes"][0]["value"]["messages"].as_array().unwrap().clone())
        .map(|m| m["from"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(senders.len(), 7);

    // Errors are counted by status.
    rx.answer.store(500, Ordering::SeqCst);
    let mut cfg = LoadConfig::new(&rx.url, SECRET, "100000000000001");
    cfg.rate_per_sec = 100;
    cfg.duration = Duration::from_millis(100);
    let report = run_load(cfg).await.unwrap();
    assert_eq!(report.deliveries_acknowledged, 0);
    assert_eq!(report.errors_by_status.get("500"), Some(&report.deliveries_sent));
    assert!(run_load(LoadConfig::new("http://192.0.2.1/hook", SECRET, "1")).await.is_err());
}

/// How fast the load generator itself goes against a receiver that only counts
/// (`cargo test -p wa-sim --release -- --ignored load_generator_throughput --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a check"]
async fn load_generator_throughput() {
    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let c = count.clone();
    let app = Router::new().route(
        "/hook",
        post(move |_body: Bytes| {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut cfg = LoadConfig::new(&url, SECRET, "100000000000001");
    cfg.rate_per_sec = 0;
    cfg.duration = Duration::from_secs(3);
    cfg.concurrency = 32;
    let report = run_load(cfg).await.unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.deliveries_acknowledged, count.load(Ordering::Relaxed));
}
