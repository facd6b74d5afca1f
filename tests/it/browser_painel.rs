//! Painel in headless Chromium: a supervisor watches the "now" block while a customer writes
//! through the simulator, and "Em espera" goes up without a reload (SSE → fragment refetch).

use serde_json::json;

use crate::browser::Browser;
use crate::support::{Engine, TestApp};

const PASSWORD: &str = "correct horse battery";

const WAITING: &str = "return document.querySelector('[data-kpi=waiting]').textContent.trim()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sees_waiting_go_up_live_when_a_customer_writes() {
    let Some(b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let tenant = t.create_tenant("loja").await;
    let (sim, _) = t.simulator(tenant).await;
    t.create_user(tenant, "sup@loja.test", atende::domain::Role::Supervisor, PASSWORD).await;

    b.login(&t, "sup@loja.test", PASSWORD, "loja").await;
    b.go(&t.url("/painel")).await;
    b.wait_for(
        "document.querySelector('[data-painel-live]') && !document.querySelector('[data-painel-live]').hidden",
        "the live badge",
    )
    .await;
    assert_eq!(b.js(WAITING).await, json!("0"));
    // Mark the page: a reload would lose the mark, so the mark surviving proves the update was live.
    b.js("window.__sameDocument = true; return true").await;

    sim.customer_sends("5511987654321", "Maria", wa_sim::CustomerMessage::Text("Oi, preciso de ajuda".into()))
        .await
        .unwrap();
    b.wait_for("document.querySelector('[data-kpi=waiting]').textContent.trim() === '1'", "waiting to go up live")
        .await;
    assert_eq!(b.js("return window.__sameDocument === true").await, json!(true));
    // A second customer: 2, still the same document.
    sim.customer_sends("5511912345678", "João", wa_sim::CustomerMessage::Text("Bom dia".into())).await.unwrap();
    b.wait_for("document.querySelector('[data-kpi=waiting]').textContent.trim() === '2'", "the second waiting ticket")
        .await;
    assert_eq!(b.js("return window.__sameDocument === true").await, json!(true));
    b.screenshot("painel-live").await;
    sim.shutdown().await;
    t.stop().await;
}
