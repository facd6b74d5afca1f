//! The inbox pages over HTTP: who sees which ticket, capturing, replying, notes, tenant
//! isolation and escaping of what customers write.

use atende::actions::connections::{create_whatsapp_cloud, CreateWhatsappCloud};
use atende::actions::departments;
use atende::actions::Actor;
use atende::domain::{Role, TenantId};
use serde_json::json;

use crate::engine_test;
use crate::support::TestApp;

const SECRET: &str = "app-secret-for-tests";

async fn connect(t: &TestApp, tenant: TenantId) -> i64 {
    let input = CreateWhatsappCloud {
        name: "WhatsApp",
        phone_number_id: "PN1",
        waba_id: "WABA1",
        access_token: "token-for-tests",
        app_secret: SECRET,
        graph_url: Some("http://127.0.0.1:9"),
        api_version: None,
        rate_per_sec: None,
    };
    create_whatsapp_cloud(&t.app, &Actor::Operator, tenant, input).await.unwrap().connection.id
}

/// A customer writes now (signed webhook, as Meta delivers it).
async fn customer_writes(t: &TestApp, conn: i64, from: &str, name: &str, id: &str, text: &str) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    let value = json!({"metadata": {"display_phone_number": "15550001", "phone_number_id": "PN1"},
        "contacts": [{"profile": {"name": name}, "wa_id": from}],
        "messages": [{"from": from, "id": id, "timestamp": now, "type": "text", "text": {"body": text}}]});
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":"messages","value":value}]}]})
        .to_string();
    let signature = format!("sha256={}", atende::crypto::hmac_sha256_hex(SECRET.as_bytes(), body.as_bytes()));
    let response = reqwest::Client::new()
        .post(t.url(&format!("/hooks/whatsapp/{conn}")))
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn ticket_of(t: &TestApp, phone: &str) -> i64 {
    let sql = format!("SELECT t.id FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE c.phone = '{phone}'");
    sqlx::Row::get(&sqlx::query(&sql).fetch_one(t.app.db.reader()).await.unwrap(), 0)
}

async fn page(t: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = client.get(t.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post_form(t: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = t.csrf(client).await;
    let mut form = fields.to_vec();
    form.push(("csrf", csrf.as_str()));
    client.post(t.url(path)).form(&form).send().await.unwrap()
}

engine_test!(an_agent_sees_the_waiting_tickets_of_their_department_and_captures_one, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let conn = connect(&t, demo).await;
    let sales = t.department(demo, "Vendas").await;
    let support = t.department(demo, "Suporte").await;
    departments::set_connection_department(&t.app, &Actor::Operator, demo, conn, Some(sales)).await.unwrap();
    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    let bruno = t.create_user(demo, "bruno@demo.local", Role::Agent, "bruno-password-1").await;
    departments::set_member(&t.app, &Actor::Operator, demo, sales, ana.id, true).await.unwrap();
    departments::set_member(&t.app, &Actor::Operator, demo, support, bruno.id, true).await.unwrap();
    customer_writes(&t, conn, "5511987654321", "Cliente Carla", "wamid.W1", "quero comprar").await;
    let ticket = ticket_of(&t, "5511987654321").await;

    let ana_browser = t.login("ana@demo.local", "ana-password-1", "demo").await;
    let (status, waiting) = page(&t, &ana_browser, "/inbox?tab=waiting").await;
    assert_eq!(status, 200);
    assert!(waiting.contains("Cliente Carla"), "{waiting}");
    assert!(waiting.contains("quero comprar"), "the preview is listed: {waiting}");
    assert!(waiting.contains("Em espera") && waiting.contains("Atendimentos"), "{waiting}");
    assert!(!waiting.contains("href=\"/inbox?tab=all\""), "agents have no Todos tab");
    let bruno_browser = t.login("bruno@demo.local", "bruno-password-1", "demo").await;
    let (_, other) = page(&t, &bruno_browser, "/inbox?tab=waiting").await;
    assert!(!other.contains("Cliente Carla"), "another department's agent does not see it");
    assert_eq!(page(&t, &bruno_browser, &format!("/inbox/{ticket}")).await.0, 404);

    let (status, conversation) = page(&t, &ana_browser, &format!("/inbox/{ticket}")).await;
    assert_eq!(status, 200);
    assert!(conversation.contains("Aceitar"), "{conversation}");
    assert_eq!(t.count("tickets", &format!("id = {ticket} AND unread_count = 0")).await, 1, "opening reads it");
    let captured = post_form(&t, &ana_browser, &format!("/inbox/{ticket}/capture"), &[]).await;
    assert_eq!(captured.status(), 303);
    assert_eq!(
        t.count("tickets", &format!("id = {ticket} AND status = 'open' AND assignee_id = {}", ana.id.0)).await,
        1
    );
    let (_, mine) = page(&t, &ana_browser, "/inbox?tab=mine").await;
    assert!(mine.contains("Cliente Carla"), "{mine}");
    let (_, panel) = page(&t, &ana_browser, &format!("/inbox/{ticket}?part=panel")).await;
    assert!(panel.contains("Aceito"), "the history shows the acceptance: {panel}");
    t.stop().await;
});

engine_test!(a_reply_is_queued_and_a_private_note_is_stored_as_a_note, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let conn = connect(&t, demo).await;
    customer_writes(&t, conn, "5511987654321", "Dora", "wamid.R1", "oi").await;
    let ticket = ticket_of(&t, "5511987654321").await;
    let admin = t.login_demo_admin().await;
    let path = format!("/inbox/{ticket}/messages");
    let reply = post_form(&t, &admin, &path, &[("body", "Bom dia, em que posso ajudar?")]).await;
    assert_eq!(reply.status(), 303);
    assert_eq!(
        t.count(
            "messages",
            &format!("ticket_id = {ticket} AND direction = 'out' AND body LIKE '%em que posso ajudar?'")
        )
        .await,
        1
    );
    assert_eq!(t.count("jobs", "kind = 'whatsapp.send'").await, 1);
    let note = post_form(&t, &admin, &path, &[("body", "cliente VIP"), ("note", "1")]).await;
    assert_eq!(note.status(), 303);
    assert_eq!(
        t.count("messages", &format!("ticket_id = {ticket} AND direction = 'note' AND body = 'cliente VIP'")).await,
        1
    );
    assert_eq!(t.count("jobs", "kind = 'whatsapp.send'").await, 1, "a note is never sent");
    assert_eq!(t.count("messages", "direction = 'out'").await, 1);
    let (_, html) = page(&t, &admin, &format!("/inbox/{ticket}?part=messages")).await;
    assert!(html.contains("msg note") && html.contains("cliente VIP"), "{html}");
    assert!(html.contains("msg out") && html.contains("em que posso ajudar?"), "{html}");
    // `/shortcut` sends the quick reply, its variables filled; an unknown one says so.
    let input = atende::actions::quick_replies::QuickReplyInput {
        department_id: None,
        shortcut: "ola".into(),
        body: "Olá {{nome}}, protocolo {{protocolo}}.".into(),
    };
    atende::actions::quick_replies::create_quick_reply(&t.app, &Actor::Operator, demo, input).await.unwrap();
    let (_, composer) = page(&t, &admin, &format!("/inbox/{ticket}")).await;
    let list = format!("/inbox/{ticket}/quick-replies");
    assert!(composer.contains(&format!("data-src=\"{list}\"")) && composer.contains("role=\"listbox\""), "{composer}");
    // The "/" list gets the replies already filled for this ticket, to edit before sending.
    let replies: serde_json::Value = admin.get(t.url(&list)).send().await.unwrap().json().await.unwrap();
    assert_eq!(replies[0]["shortcut"], "ola");
    let filled = replies[0]["text"].as_str().unwrap();
    assert!(filled.starts_with("Olá Dora, protocolo 2") && !filled.contains("{{"), "{replies}");
    assert_eq!(post_form(&t, &admin, &path, &[("body", "/ola")]).await.status(), 303);
    assert_eq!(t.count("messages", "direction = 'out' AND body LIKE 'Olá Dora, protocolo 2%'").await, 1);
    let unknown = post_form(&t, &admin, &path, &[("body", "/nada")]).await;
    assert_eq!(unknown.status(), 422);
    assert!(unknown.text().await.unwrap().contains("Não há resposta rápida com este atalho."));
    // Variables work in free text too; one nobody knows stays as typed for the agent to see.
    assert_eq!(post_form(&t, &admin, &path, &[("body", "Oi {{ nome }}, seu {{pedido}}")]).await.status(), 303);
    assert_eq!(t.count("messages", "direction = 'out' AND body = 'Oi Dora, seu {{pedido}}'").await, 1);
    // An empty reply shows the action's reason (translated by its code) and changes nothing.
    let empty = post_form(&t, &admin, &path, &[("body", "   ")]).await;
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("A mensagem está vazia"));
    t.stop().await;
});

engine_test!(another_companys_ticket_is_not_found, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let conn = connect(&t, demo).await;
    customer_writes(&t, conn, "5511987654321", "Eva", "wamid.T1", "oi").await;
    let ticket = ticket_of(&t, "5511987654321").await;
    let other = t.create_tenant("outra").await;
    t.create_user(other, "boss@outra.local", Role::Admin, "boss-password-1").await;
    let boss = t.login("boss@outra.local", "boss-password-1", "outra").await;
    assert_eq!(page(&t, &boss, &format!("/inbox/{ticket}")).await.0, 404);
    assert_eq!(page(&t, &boss, &format!("/inbox/{ticket}?part=messages")).await.0, 404);
    assert_eq!(page(&t, &boss, &format!("/inbox/{ticket}?part=actions")).await.0, 404);
    assert_eq!(page(&t, &boss, &format!("/inbox/{ticket}/quick-replies")).await.0, 404);
    let (_, list) = page(&t, &boss, "/inbox?tab=all").await;
    assert!(!list.contains("Eva"), "{list}");
    let posted = post_form(&t, &boss, &format!("/inbox/{ticket}/messages"), &[("body", "intruso")]).await;
    assert_eq!(posted.status(), 404);
    assert_eq!(post_form(&t, &boss, &format!("/inbox/{ticket}/capture"), &[]).await.status(), 404);
    assert_eq!(t.count("messages", "direction <> 'in'").await, 0);
    assert_eq!(t.count("tickets", "status = 'waiting'").await, 1);
    t.stop().await;
});

engine_test!(markup_written_by_a_customer_is_shown_as_text, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let conn = connect(&t, demo).await;
    let evil = "<script>alert(1)</script>";
    customer_writes(&t, conn, "5511987654321", "<b>Mallory</b>", "wamid.X1", evil).await;
    let ticket = ticket_of(&t, "5511987654321").await;
    let admin = t.login_demo_admin().await;
    for path in ["/inbox?tab=waiting".to_string(), format!("/inbox/{ticket}"), format!("/inbox/{ticket}?part=messages")]
    {
        let (status, html) = page(&t, &admin, &path).await;
        assert_eq!(status, 200);
        assert!(!html.contains(evil), "{path}: {html}");
        assert!(!html.contains("<b>Mallory"), "{path}: {html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || html.contains("&#60;script&#62;"),
            "{path}: {html}"
        );
    }
    t.stop().await;
});

engine_test!(the_list_shows_waiting_time_initials_and_readable_media, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let conn = connect(&t, demo).await;
    customer_writes(&t, conn, "5511987654321", "Dora Lima", "wamid.L1", "oi").await;
    let ticket = ticket_of(&t, "5511987654321").await;
    let admin = t.login_demo_admin().await;
    let (_, html) = page(&t, &admin, "/inbox?tab=waiting").await;
    assert!(html.contains(r#"<span class="avatar" aria-hidden="true">DL</span>"#), "{html}");
    assert!(html.contains(r#"<span class="waiting""#) && html.contains(">agora</span>"), "{html}");
    // Five minutes on, the wait reads like people say it.
    t.app.clock.advance(std::time::Duration::from_secs(5 * 60));
    let (_, html) = page(&t, &admin, "/inbox?tab=waiting&part=list").await;
    assert!(html.contains("há 5 min"), "{html}");
    // A picture without caption is "Imagem" with an icon, never the stored `[image]`.
    sqlx::query("UPDATE tickets SET last_message_preview = '[image]' WHERE id = $1")
        .bind(ticket)
        .execute(t.app.db.writer())
        .await
        .unwrap();
    let (_, html) = page(&t, &admin, "/inbox?tab=waiting&part=list").await;
    assert!(!html.contains("[image]") && html.contains("Imagem</span>"), "{html}");
    // The phone reads +55 11 98765-4321 in the panel.
    let (_, panel) = page(&t, &admin, &format!("/inbox/{ticket}?part=panel")).await;
    assert!(panel.contains("+55 11 98765-4321"), "{panel}");
    t.stop().await;
});

engine_test!(ticket_actions_sit_in_the_header_and_finalizar_offers_the_farewell, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let conn = connect(&t, demo).await;
    customer_writes(&t, conn, "5511987654321", "Dora", "wamid.A1", "oi").await;
    let ticket = ticket_of(&t, "5511987654321").await;
    let admin = t.login_demo_admin().await;
    let (_, html) = page(&t, &admin, &format!("/inbox/{ticket}")).await;
    let head = &html[html.find("<header class=\"conv-head\">").unwrap()..];
    let head = &head[..head.find("</header>").unwrap()];
    for action in ["/capture\"", "/transfer\"", "/close\""] {
        assert!(head.contains(action), "{action} in the header: {head}");
    }
    let (_, panel) = page(&t, &admin, &format!("/inbox/{ticket}?part=panel")).await;
    assert!(!panel.contains("/close\"") && !panel.contains("/transfer\""), "not in the side panel: {panel}");
    // No default farewell: "Sem despedida" is chosen; with one, it is, and it is shown.
    let (_, actions) = page(&t, &admin, &format!("/inbox/{ticket}?part=actions")).await;
    assert!(actions.contains(r#"value="none" checked"#) && !actions.contains(r#"value="default""#), "{actions}");
    let settings = atende::store::settings::TenantSettings { farewell: "Até logo!".into(), ..Default::default() };
    atende::actions::settings::update_settings(&t.app, &Actor::Operator, demo, settings).await.unwrap();
    let (_, actions) = page(&t, &admin, &format!("/inbox/{ticket}?part=actions")).await;
    assert!(actions.contains(r#"value="default" checked"#) && actions.contains("Até logo!"), "{actions}");
    assert!(!actions.contains(r#"value="none" checked"#), "{actions}");
    // Closed: a closed ticket shows no unread badge even if a count was left behind.
    assert_eq!(post_form(&t, &admin, &format!("/inbox/{ticket}/close"), &[("farewell", "none")]).await.status(), 303);
    sqlx::query("UPDATE tickets SET unread_count = 3 WHERE id = $1")
        .bind(ticket)
        .execute(t.app.db.writer())
        .await
        .unwrap();
    let (_, list) = page(&t, &admin, "/inbox?tab=closed&part=list").await;
    assert!(list.contains("Dora") && !list.contains("class=\"badge\""), "{list}");
    let (_, actions) = page(&t, &admin, &format!("/inbox/{ticket}?part=actions")).await;
    assert!(actions.contains("/reopen\""), "{actions}");
    t.stop().await;
});
