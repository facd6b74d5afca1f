//! Findings 2 and 3: nothing a company admin configures reaches the server's own network — not a
//! connection's Graph URL (sends carry the access token; media answers are served back), not the
//! media URLs Graph answers with, not a webhook receiver.

use std::time::Duration;

use atende::actions::{self, ActionError, Actor};
use atende::domain::{Role, Scope};
use serde_json::json;
use sqlx::Row;

use super::{acme_admin, connection_id, create_connection_by_form};
use crate::engine_test;
use crate::support::{Engine, TestApp};

/// A local listener that counts the connections made to it.
async fn canary() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = hits.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    (format!("127.0.0.1:{port}"), hits)
}

engine_test!(a_company_admin_cannot_aim_a_graph_url_at_the_server_s_network, |t: TestApp| async move {
    let (tenant, admin) = acme_admin(&t).await;
    let (inside, hits) = canary().await;
    let port = inside.rsplit(':').next().unwrap().to_string();
    for (i, url) in [
        format!("http://{inside}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
        "http://169.254.169.254".to_string(),
        "http://10.0.0.1".to_string(),
        "http://0.0.0.0".to_string(),
    ]
    .iter()
    .enumerate()
    {
        let phone_number_id = format!("PNX{i}");
        let (status, page) = create_connection_by_form(&t, &admin, &phone_number_id, url).await;
        assert_eq!(status, 422, "{url}: {page}");
        assert!(page.contains("operador"), "the refusal says who may allow it: {url}");
        assert_eq!(connection_id(&t, tenant, &phone_number_id).await, None, "{url}");
    }
    let (status, _) = create_connection_by_form(&t, &admin, "PNY", "file:///etc/passwd").await;
    assert_eq!(status, 422);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing reached the inside listener");
    t.stop().await;
});

engine_test!(graph_calls_of_an_untrusted_url_meet_the_guard_on_every_send_and_media_fetch, |t: TestApp| async move {
    // The URL passed the guard when typed, and its name now leads inside (DNS rebinding): here
    // the simulator's connection is marked as a company's (untrusted) URL.
    let demo = t.demo_tenant().await;
    let (sim, conn) = t.simulator(demo).await;
    sqlx::query("UPDATE connections SET graph_url_trusted = 0 WHERE id = $1")
        .bind(conn)
        .execute(t.app.db.writer())
        .await
        .unwrap();
    sim.customer_sends("5511987654321", "Ana", wa_sim::CustomerMessage::Image { caption: None }).await.unwrap();
    let ticket: i64 = {
        let row = sqlx::query("SELECT ticket_id FROM messages WHERE connection_id = $1").bind(conn);
        row.fetch_one(t.app.db.reader()).await.unwrap().get(0)
    };
    let token = t.token(demo, &[Scope::Send, Scope::Read, Scope::Write]).await;
    let sent = reqwest::Client::new()
        .post(t.url("/api/v1/messages"))
        .bearer_auth(&token)
        .json(&json!({"ticket_id": ticket, "type": "text", "text": {"body": "Olá"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    let id = sent.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let row = sqlx::query("SELECT status, error_title FROM messages WHERE id = $1").bind(id);
        let row = row.fetch_one(t.app.db.reader()).await.unwrap();
        let (status, error): (String, Option<String>) = (row.get(0), row.get(1));
        if status == "failed" {
            assert!(error.unwrap_or_default().contains("network guard"));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the send did not fail: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sim.sent_messages().is_empty(), "the access token never went inside");
    let media_jobs = "kind = 'whatsapp.fetch_media' AND state IN ('queued', 'running')";
    while t.count("jobs", media_jobs).await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the media job did not settle");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(t.count("messages", "kind = 'image' AND media_path IS NOT NULL").await, 0, "no media was fetched");
    t.stop().await;
});

mod operator_allows_private_networks {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn then_a_company_may_use_an_internal_graph_url() {
        let t = TestApp::spawn_with(Engine::Sqlite, None, |s| s.allow_private_networks = true).await;
        let (tenant, admin) = acme_admin(&t).await;
        let (inside, _) = canary().await;
        let (status, page) = create_connection_by_form(&t, &admin, "PNIN", &format!("http://{inside}")).await;
        assert_eq!(status, 200, "{page}");
        assert!(connection_id(&t, tenant, "PNIN").await.is_some());
        t.stop().await;
    }
}

engine_test!(a_company_admin_cannot_switch_on_private_network_webhooks, |t: TestApp| async move {
    let (tenant, admin) = acme_admin(&t).await;
    let csrf = t.csrf(&admin).await;
    // The old settings form is gone, and the action refuses anyone but the platform admin.
    let form = [("csrf", csrf.as_str()), ("allow_private_networks", "1")];
    let answer = admin.post(t.url("/admin/webhook-settings")).form(&form).send().await.unwrap();
    assert!(answer.status().is_client_error(), "{}", answer.status());
    let boss = t.create_user(tenant, "second@acme.test", Role::Admin, "second-admin-password").await;
    let refused = actions::webhooks::set_allow_private_networks(&t.app, &Actor::User(boss), tenant, true).await;
    assert!(matches!(refused, Err(ActionError::Forbidden)), "{refused:?}");
    let token = t.token(tenant, &[Scope::Read, Scope::Write]).await;
    let (inside, hits) = canary().await;
    let subscribe = || {
        reqwest::Client::new()
            .post(t.url("/api/v1/webhooks"))
            .bearer_auth(&token)
            .json(&json!({"url": format!("http://{inside}/hook"), "events": ["message.created"]}))
            .send()
    };
    assert_eq!(subscribe().await.unwrap().status(), 422);
    // The platform admin allows it for this company only.
    actions::webhooks::set_allow_private_networks(&t.app, &Actor::Operator, tenant, true).await.unwrap();
    assert_eq!(subscribe().await.unwrap().status(), 201);
    let demo = t.demo_tenant().await;
    let demo_token = t.token(demo, &[Scope::Read, Scope::Write]).await;
    let other = reqwest::Client::new()
        .post(t.url("/api/v1/webhooks"))
        .bearer_auth(&demo_token)
        .json(&json!({"url": format!("http://{inside}/hook"), "events": ["message.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 422, "another company is still refused");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    t.stop().await;
});
