//! Connections: created from the admin page or the actions layer, secrets sealed at rest and never
//! shown back, webhook URL and verify token shown, health fields, tenant scoping.

use crate::engine_test;
use crate::support::{extract_csrf, TestApp};
use atende::domain::Role;

engine_test!(an_admin_connects_a_number_and_sees_its_webhook_url_but_never_its_secrets, |t: TestApp| async move {
    let browser = t.login_demo_admin().await;
    let page = browser.get(t.url("/admin/connections")).send().await.unwrap().text().await.unwrap();
    let csrf = extract_csrf(&page);
    // The form comes with the step-by-step guide to Meta's dashboard, in Portuguese.
    assert!(
        page.contains("id=\"cloud-api-guide\"")
            && page.contains("passo a passo")
            && page.contains("token de verificação")
    );
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Vendas"),
        ("phone_number_id", "555000111"),
        ("waba_id", "WABA9"),
        ("access_token", "EAAG-super-secret-token"),
        ("app_secret", "app-secret-value-123"),
        ("graph_url", ""),
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
    // No Graph URL typed: Meta's own, trusted.
    assert_eq!(t.count("connections", "graph_url = 'https://graph.facebook.com' AND graph_url_trusted = 1").await, 1);
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

engine_test!(an_admin_enters_a_new_token_on_the_page_and_needs_reauth_clears, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let input = atende::actions::connections::CreateWhatsappCloud {
        name: "Vendas",
        phone_number_id: "555000222",
        waba_id: "",
        access_token: "EAAG-old-token",
        app_secret: "old-app-secret",
        graph_url: Some("http://127.0.0.1:9"),
        api_version: None,
        rate_per_sec: None,
    };
    let op = atende::actions::Actor::Operator;
    let id = atende::actions::connections::create_whatsapp_cloud(&t.app, &op, demo, input).await.unwrap().connection.id;
    let now = t.app.clock.now_ms();
    atende::store::connections::mark_error(t.app.db.writer(), demo, id, "expired", true, now).await.unwrap();

    let browser = t.login_demo_admin().await;
    let page = browser.get(t.url("/admin/connections")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("O token de acesso expirou"), "the flag is shown");
    assert!(page.contains(&format!("/admin/connections/{id}/token")), "with a form to enter a new token");
    let csrf = extract_csrf(&page);

    // An empty token is refused with a message; nothing changes.
    let form = [("csrf", csrf.as_str()), ("access_token", " "), ("app_secret", "")];
    let r = browser.post(t.url(&format!("/admin/connections/{id}/token"))).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(t.count("connections", "needs_reauth = 1").await, 1);

    let form = [("csrf", csrf.as_str()), ("access_token", "EAAG-new-token"), ("app_secret", "new-app-secret")];
    let r = browser.post(t.url(&format!("/admin/connections/{id}/token"))).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/connections?saved=connection_token_saved");
    let c = atende::store::connections::get(t.app.db.reader(), demo, id).await.unwrap().unwrap();
    assert!(!c.needs_reauth);
    let (token, secret) = atende::actions::connections::secrets(&t.app, &c).unwrap();
    assert_eq!((token.expose(), secret.expose()), ("EAAG-new-token", "new-app-secret"));
    let page = browser.get(t.url("/admin/connections?saved=1")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("O token de acesso expirou"));
    assert!(!page.contains("EAAG-new-token") && !page.contains("new-app-secret"), "secrets never shown");

    // An agent cannot.
    t.create_user(demo, "agente@demo.com", Role::Agent, "senha-do-agente-1").await;
    let agent = t.login("agente@demo.com", "senha-do-agente-1", "demo").await;
    let home = agent.get(t.url("/")).send().await.unwrap().text().await.unwrap();
    let csrf = extract_csrf(&home);
    let form = [("csrf", csrf.as_str()), ("access_token", "EAAG-agent"), ("app_secret", "")];
    let r = agent.post(t.url(&format!("/admin/connections/{id}/token"))).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let c = atende::store::connections::get(t.app.db.reader(), demo, id).await.unwrap().unwrap();
    assert_eq!(atende::actions::connections::secrets(&t.app, &c).unwrap().0.expose(), "EAAG-new-token");
    t.stop().await;
});

/// The connection's state and when it last changed, as stored.
async fn state_of(t: &TestApp, id: i64) -> (String, i64) {
    let row = sqlx::query("SELECT state, state_changed_at FROM connections WHERE id = $1")
        .bind(id)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap();
    (sqlx::Row::get(&row, 0), sqlx::Row::get(&row, 1))
}

engine_test!(
    an_admin_deactivates_reactivates_and_removes_a_connection_and_its_history_stays,
    |t: TestApp| async move {
        use atende::domain::Scope;
        let demo = t.demo_tenant().await;
        let (sim, conn) = t.simulator(demo).await;
        let customer = "5511987654321";
        let sent = sim.customer_sends(customer, "Ana", wa_sim::CustomerMessage::Text("oi".into())).await.unwrap();
        assert_eq!(sent.status, 200);
        assert_eq!(state_of(&t, conn).await.0, "connected");
        let admin = t.login_demo_admin().await;
        let form = |csrf: &str, field: &'static str, value: &'static str| {
            vec![("csrf", csrf.to_string()), (field, value.to_string())]
        };

        // Off: the state says so (with its time), webhooks are refused, sends are refused.
        t.app.clock.advance(std::time::Duration::from_secs(60));
        let csrf = t.csrf(&admin).await;
        let before = t.app.clock.now_ms();
        let answer = admin.post(t.url(&format!("/admin/connections/{conn}/active"))).form(&form(&csrf, "active", "0"));
        assert_eq!(answer.send().await.unwrap().status(), 303);
        let (state, since) = state_of(&t, conn).await;
        assert_eq!(state, "disconnected");
        assert!((before..=t.app.clock.now_ms()).contains(&since), "the time of the change: {since}");
        let page = admin.get(t.url("/admin/connections")).send().await.unwrap().text().await.unwrap();
        assert!(
            page.contains("data-state=\"disconnected\"") && page.contains("Desconectado") && page.contains("Reativar")
        );
        t.app.connections.forget(conn);
        let refused = sim.customer_sends(customer, "Ana", wa_sim::CustomerMessage::Text("alô?".into())).await.unwrap();
        assert_eq!(refused.status, 404, "a switched-off connection takes no deliveries");
        let token = t.token(demo, &[Scope::Read, Scope::Write, Scope::Send]).await;
        let ticket: i64 = sqlx::Row::get(
            &sqlx::query("SELECT id FROM tickets WHERE connection_id = $1")
                .bind(conn)
                .fetch_one(t.app.db.reader())
                .await
                .unwrap(),
            0,
        );
        let send = reqwest::Client::new()
            .post(t.url("/api/v1/messages"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"ticket_id": ticket, "type": "text", "text": {"body": "Olá"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(send.status(), 422);
        assert_eq!(send.json::<serde_json::Value>().await.unwrap()["error"]["code"], "connection_inactive");

        // On again through the API.
        let on = reqwest::Client::new()
            .post(t.url(&format!("/api/v1/connections/{conn}/activate")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(on.status(), 200);
        assert_eq!(on.json::<serde_json::Value>().await.unwrap()["state"], "connected");
        let back = sim.customer_sends(customer, "Ana", wa_sim::CustomerMessage::Text("voltou".into())).await.unwrap();
        assert_eq!(back.status, 200);

        // Removal needs the confirmation, then the connection leaves the lists; its history stays.
        let csrf = t.csrf(&admin).await;
        let unconfirmed =
            admin.post(t.url(&format!("/admin/connections/{conn}/remove"))).form(&[("csrf", csrf.as_str())]);
        assert_eq!(unconfirmed.send().await.unwrap().status(), 422);
        assert_eq!(t.count("connections", "removed_at IS NULL").await, 1);
        let confirmed =
            admin.post(t.url(&format!("/admin/connections/{conn}/remove"))).form(&form(&csrf, "confirm", "1"));
        assert_eq!(confirmed.send().await.unwrap().status(), 303);
        let page = admin.get(t.url("/admin/connections")).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains(&format!("/admin/connections/{conn}/")), "removed from the page");
        let listed: serde_json::Value = reqwest::Client::new()
            .get(t.url("/api/v1/connections"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed["data"].as_array().unwrap().len(), 0);
        let gone = reqwest::Client::new().get(t.url(&format!("/api/v1/connections/{conn}"))).bearer_auth(&token).send();
        assert_eq!(gone.await.unwrap().status(), 404);
        assert_eq!(t.count("messages", &format!("connection_id = {conn}")).await, 2, "the history stays");

        // Connecting the same number again brings the same connection (and its history) back.
        let input = atende::actions::connections::CreateWhatsappCloud {
            name: "De volta",
            phone_number_id: sim.phone_number_id(),
            waba_id: "",
            access_token: "sim-access-token",
            app_secret: "sim-app-secret",
            graph_url: Some(&sim.base_url()),
            api_version: None,
            rate_per_sec: None,
        };
        let again =
            atende::actions::connections::create_whatsapp_cloud(&t.app, &atende::actions::Actor::Operator, demo, input)
                .await
                .unwrap();
        assert_eq!(again.connection.id, conn);
        assert_eq!(again.connection.name, "De volta");
        assert!(again.connection.active && again.connection.removed_at.is_none());
        t.stop().await;
    }
);

engine_test!(a_refused_token_shows_as_failed_until_the_admin_reconnects, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (_sim, conn) = t.simulator(demo).await;
    let now = t.app.clock.now_ms();
    atende::store::connections::mark_error(t.app.db.writer(), demo, conn, "token expired", true, now + 5)
        .await
        .unwrap();
    assert_eq!(state_of(&t, conn).await, ("failed".to_string(), now + 5));
    // A second error keeps the time the state changed.
    atende::store::connections::mark_error(t.app.db.writer(), demo, conn, "still", true, now + 9).await.unwrap();
    assert_eq!(state_of(&t, conn).await, ("failed".to_string(), now + 5));
    let admin = t.login_demo_admin().await;
    let page = admin.get(t.url("/admin/connections")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("data-state=\"failed\""), "{page}");
    atende::actions::connections::update_secrets(
        &t.app,
        &atende::actions::Actor::Operator,
        demo,
        conn,
        "new-token",
        None,
    )
    .await
    .unwrap();
    assert_eq!(state_of(&t, conn).await.0, "connected");
    t.stop().await;
});
