//! Connections: created from the admin page or the actions layer, secrets sealed at rest and never
//! shown back, webhook URL and verify token shown, health fields, tenant scoping.

use crate::engine_test;
use crate::support::{extract_csrf, TestApp};
use atende::domain::Role;

engine_test!(an_admin_connects_a_number_and_sees_its_webhook_url_but_never_its_secrets, |t: TestApp| async move {
    let browser = t.login_demo_admin().await;
    let page = browser.get(t.url("/admin/connections")).send().await.unwrap().text().await.unwrap();
    let csrf = extract_csrf(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Vendas"),
        ("phone_number_id", "555000111"),
        ("waba_id", "WABA9"),
        ("access_token", "EAAG-super-secret-token"),
        ("app_secret", "app-secret-value-123"),
        ("graph_url", "http://127.0.0.1:9"),
        ("rate", "20"),
    ];
    let response = browser.post(t.url("/admin/connections")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let id: i64 = sqlx::Row::get(
        &sqlx::query("SELECT id FROM connections WHERE phone_number_id = '555000111'")
            .fetch_one(t.app.db.reader())
            .await
            .unwrap(),
        0,
    );
    assert!(html.contains(&format!("/hooks/whatsapp/{id}")), "webhook URL shown");
    let token: String = sqlx::Row::get(
        &sqlx::query("SELECT verify_token FROM connections WHERE id = $1")
            .bind(id)
            .fetch_one(t.app.db.reader())
            .await
            .unwrap(),
        0,
    );
    assert!(html.contains(&token), "verify token shown");
    assert!(!html.contains("EAAG-super-secret-token") && !html.contains("app-secret-value-123"), "secrets never shown");
    // Sealed at rest.
    assert_eq!(
        t.count("connections", "access_token_sealed LIKE '%EAAG%' OR app_secret_sealed LIKE '%app-secret%'").await,
        0
    );
    assert_eq!(t.count("connections", "rate_per_sec = 20 AND access_token_sealed LIKE 'v1:%'").await, 1);
    // A duplicate number is refused with a message, nothing added.
    let page = browser.get(t.url("/admin/connections")).send().await.unwrap().text().await.unwrap();
    let mut again = form;
    let csrf = extract_csrf(&page);
    again[0] = ("csrf", csrf.as_str());
    let response = browser.post(t.url("/admin/connections")).form(&again).send().await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(t.count("connections", "1=1").await, 1);
    t.stop().await;
});

engine_test!(agents_cannot_open_or_create_connections, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    t.create_user(demo, "agente@demo.com", Role::Agent, "senha-do-agente-1").await;
    let agent = t.login("agente@demo.com", "senha-do-agente-1", "demo").await;
    assert_eq!(agent.get(t.url("/admin/connections")).send().await.unwrap().status(), 403);
    let home = agent.get(t.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!home.contains("/admin/connections"));
    let csrf = extract_csrf(&home);
    let form =
        [("csrf", csrf.as_str()), ("name", "X"), ("phone_number_id", "1"), ("access_token", "a"), ("app_secret", "b")];
    assert_eq!(agent.post(t.url("/admin/connections")).form(&form).send().await.unwrap().status(), 403);
    assert_eq!(t.count("connections", "1=1").await, 0);
    t.stop().await;
});
