//! Health, readiness and metrics.

use crate::engine_test;

engine_test!(health_ready_and_metrics_answer, |t: crate::support::TestApp| async move {
    let c = reqwest::Client::new();
    let health = c.get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready: serde_json::Value = c.get(t.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["schema_version"], ready["expected_schema_version"]);
    let metrics = c.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("atende_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("atende_jobs{state=\"dead\"} 0"), "{metrics}");
    t.stop().await;
});
