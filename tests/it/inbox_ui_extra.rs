//! The inbox's composer extras over HTTP against the WhatsApp simulator: attachments (type
//! sniffed, size limits, nothing stored when refused), voice notes remuxed to Ogg Opus,
//! replies carrying WhatsApp's context, reactions both ways, tags on tickets (and who may),
//! the Tags admin page, and the list's tag and connection filters.

use std::time::{Duration, Instant};

use atende::actions::departments;
use atende::actions::Actor;
use atende::domain::{Role, TenantId};
use serde_json::{json, Value};

use crate::engine_test;
use crate::support::{sent_to_sim, sim_media_type, TestApp};

/// A simulator wired to a new connection of `tenant`; returns it with the connection id.
async fn simulator(t: &TestApp, tenant: TenantId, name: &str) -> (wa_sim::Simulator, i64) {
    // Each connection is its own business number.
    let phone_number_id = format!("10000000000{:04}", name.bytes().map(u32::from).sum::<u32>());
    let config = wa_sim::SimConfig { status_delays_ms: (50, 50, u64::MAX), phone_number_id, ..Default::default() };
    t.simulator_with(tenant, name, config).await
}

async fn ticket_of(t: &TestApp, phone: &str) -> i64 {
    let sql = format!("SELECT t.id FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE c.phone = '{phone}'");
    sqlx::Row::get(&sqlx::query(&sql).fetch_one(t.app.db.reader()).await.unwrap(), 0)
}

async fn message_id_of(t: &TestApp, provider_id: &str) -> i64 {
    let sql = format!("SELECT id FROM messages WHERE provider_id = '{provider_id}'");
    sqlx::Row::get(&sqlx::query(&sql).fetch_one(t.app.db.reader()).await.unwrap(), 0)
}

async fn get(t: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = client.get(t.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post_form(t: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let csrf = t.csrf(client).await;
    let mut form = fields.to_vec();
    form.push(("csrf", csrf.as_str()));
    let r = client.post(t.url(path)).form(&form).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A multipart upload as the composer's script sends it.
async fn upload(
    t: &TestApp,
    client: &reqwest::Client,
    ticket: i64,
    file: (&str, &str, &[u8]),
    fields: &[(&str, &str)],
    csrf_ok: bool,
) -> (u16, String) {
    let csrf = if csrf_ok { t.csrf(client).await } else { "wrong".repeat(8) };
    let boundary = "----atende-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    for (name, value) in all {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    let (filename, mime, data) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = client
        .post(t.url(&format!("/inbox/{ticket}/attachments")))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .header("x-fragment", "1")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn stored_files(t: &TestApp) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        std::fs::read_dir(p)
            .map(|d| d.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
            .unwrap_or(0)
    }
    walk(&t.dir.path().join("media"))
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

engine_test!(attachments_are_sniffed_size_checked_and_reach_the_simulator, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, _) = simulator(&t, demo, "WhatsApp").await;
    let d = sim.customer_sends("5511987654321", "Carla", wa_sim::CustomerMessage::Text("oi".into())).await.unwrap();
    assert_eq!(d.status, 200);
    let ticket = ticket_of(&t, "5511987654321").await;
    let admin = t.login_demo_admin().await;

    // An image (claimed as JPEG, really PNG) with a caption.
    let (status, body) =
        upload(&t, &admin, ticket, ("foto.jpg", "image/jpeg", PNG), &[("caption", "Seu comprovante")], true).await;
    assert_eq!(status, 200, "{body}");
    let sent = sent_to_sim(&sim, "the image", |r| r["type"] == "image").await;
    assert_eq!(sent["image"]["caption"], "Seu comprovante");
    assert_eq!(sim_media_type(&sim, sent["image"]["id"].as_str().unwrap()).await, "image/png", "the sniffed type");

    // A PDF keeps its name (without any path).
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let (status, body) =
        upload(&t, &admin, ticket, ("C:\\docs\\contrato.pdf", "application/pdf", pdf), &[], true).await;
    assert_eq!(status, 200, "{body}");
    let sent = sent_to_sim(&sim, "the document", |r| r["type"] == "document").await;
    assert_eq!(sent["document"]["filename"], "contrato.pdf");
    let (_, html) = get(&t, &admin, &format!("/inbox/{ticket}?part=messages")).await;
    assert!(html.contains("Documento · contrato.pdf"), "{html}");
    // The stored files are shown: the image inline, the document as a download.
    let file_id = |kind: &'static str| {
        let app = t.app.clone();
        async move {
            let sql = format!("SELECT id FROM messages WHERE kind = '{kind}'");
            sqlx::Row::get::<i64, _>(&sqlx::query(&sql).fetch_one(app.db.reader()).await.unwrap(), 0)
        }
    };
    let image_url = format!("/inbox/{ticket}/media/{}", file_id("image").await);
    assert!(html.contains(&format!("<img class=\"msg-image\" src=\"{image_url}\"")), "{html}");
    let r = admin.get(t.url(&image_url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
    let doc_url = format!("/inbox/{ticket}/media/{}", file_id("document").await);
    let r = admin.get(t.url(&doc_url)).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/octet-stream", "documents download, never render");
    assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"contrato.pdf\"");
    assert_eq!(admin.get(t.url(&format!("/inbox/{ticket}/media/999999"))).send().await.unwrap().status(), 404);

    // Refused: too large for an image (5 MB), a type WhatsApp does not take, empty, bad CSRF.
    let before = stored_files(&t);
    let messages_before = t.count("messages", "direction = 'out'").await;
    let mut big = PNG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let (status, body) = upload(&t, &admin, ticket, ("grande.png", "image/png", &big), &[], true).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("grande demais") && body.contains("5 MB"), "a translated message: {body}");
    let (status, body) =
        upload(&t, &admin, ticket, ("a.zip", "application/zip", b"PK\x03\x04\x14\0\0\0rest"), &[], true).await;
    assert_eq!(status, 422);
    assert!(body.contains("não aceita este tipo"), "{body}");
    let (status, _) = upload(&t, &admin, ticket, ("vazio.txt", "text/plain", b""), &[], true).await;
    assert_eq!(status, 422);
    let (status, _) = upload(&t, &admin, ticket, ("foto.png", "image/png", PNG), &[], false).await;
    assert_eq!(status, 403);
    let (status, _) =
        upload(&t, &admin, ticket, ("foto.png", "image/png", PNG), &[("caption", &"x".repeat(1025))], true).await;
    assert_eq!(status, 422, "a caption over 1024 characters");
    assert_eq!(stored_files(&t), before, "nothing refused is stored");
    assert_eq!(t.count("messages", "direction = 'out'").await, messages_before);

    // Another department's agent cannot upload to the ticket; another tenant neither.
    let sales = t.department(demo, "Vendas").await;
    let support = t.department(demo, "Suporte").await;
    sqlx::query(&format!("UPDATE tickets SET department_id = {sales}, status = 'waiting' WHERE id = {ticket}"))
        .execute(t.app.db.writer())
        .await
        .unwrap();
    let bia = t.create_user(demo, "bia@demo.local", Role::Agent, "bia-password-1").await;
    departments::set_member(&t.app, &Actor::Operator, demo, support, bia.id, true).await.unwrap();
    let bia_browser = t.login("bia@demo.local", "bia-password-1", "demo").await;
    let (status, _) = upload(&t, &bia_browser, ticket, ("foto.png", "image/png", PNG), &[], true).await;
    assert_eq!(status, 404);
    let other = t.create_tenant("outra").await;
    t.create_user(other, "ze@outra.local", Role::Admin, "ze-password-12").await;
    let ze = t.login("ze@outra.local", "ze-password-12", "outra").await;
    let (status, _) = upload(&t, &ze, ticket, ("foto.png", "image/png", PNG), &[], true).await;
    assert_eq!(status, 404);
    assert_eq!(ze.get(t.url(&image_url)).send().await.unwrap().status(), 404, "another tenant sees no file");
    assert_eq!(bia_browser.get(t.url(&image_url)).send().await.unwrap().status(), 404, "nor another department");
    assert_eq!(stored_files(&t), before);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(a_recorded_webm_voice_note_arrives_as_ogg_opus, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, _) = simulator(&t, demo, "WhatsApp").await;
    sim.customer_sends("5511911112222", "Davi", wa_sim::CustomerMessage::Text("manda áudio".into())).await.unwrap();
    let ticket = ticket_of(&t, "5511911112222").await;
    let admin = t.login_demo_admin().await;
    let webm = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/voice.webm")).unwrap();
    let (status, body) = upload(&t, &admin, ticket, ("voz.webm", "audio/webm;codecs=opus", &webm), &[], true).await;
    assert_eq!(status, 200, "{body}");
    let sent = sent_to_sim(&sim, "the voice note", |r| r["type"] == "audio").await;
    assert_eq!(sim_media_type(&sim, sent["audio"]["id"].as_str().unwrap()).await, "audio/ogg");
    // A WebM that is not Opus audio is refused with its reason.
    let mut broken = webm.clone();
    let at = broken.windows(6).position(|w| w == b"A_OPUS").unwrap();
    broken[at..at + 6].copy_from_slice(b"A_VORB");
    let (status, body) = upload(&t, &admin, ticket, ("voz.webm", "audio/webm", &broken), &[], true).await;
    assert_eq!(status, 422);
    assert!(body.contains("converter"), "{body}");
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(replies_carry_the_whatsapp_context_and_show_the_quote, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, _) = simulator(&t, demo, "WhatsApp").await;
    let d = sim
        .customer_sends("5511933334444", "Eva", wa_sim::CustomerMessage::Text("Qual o prazo de entrega?".into()))
        .await
        .unwrap();
    let ticket = ticket_of(&t, "5511933334444").await;
    let quoted = message_id_of(&t, &d.message_id).await;
    let admin = t.login_demo_admin().await;
    let (status, _) = post_form(
        &t,
        &admin,
        &format!("/inbox/{ticket}/messages"),
        &[("body", "Chega amanhã"), ("reply_to", &quoted.to_string())],
    )
    .await;
    assert_eq!(status, 303);
    let sent = sent_to_sim(&sim, "the reply", |r| r["text"]["body"] == "Chega amanhã").await;
    assert_eq!(sent["context"]["message_id"], d.message_id.as_str());
    let (_, html) = get(&t, &admin, &format!("/inbox/{ticket}?part=messages")).await;
    assert!(html.contains("class=\"msg-quote\"") && html.contains("Qual o prazo de entrega?"), "{html}");

    // The customer quotes our reply: the incoming bubble shows it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let ours = loop {
        let sql = "SELECT provider_id FROM messages WHERE direction = 'out' AND provider_id IS NOT NULL";
        if let Ok(row) = sqlx::query(sql).fetch_one(t.app.db.reader()).await {
            break sqlx::Row::get::<String, _>(&row, 0);
        }
        assert!(Instant::now() < deadline, "the reply was not sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let status = sim.send_raw_webhook(webhook(&sim, json!({"from": "5511933334444", "id": "wamid.quote.1",
        "timestamp": now_secs(), "type": "text", "text": {"body": "Obrigada!"}, "context": {"from": "15550000001", "id": ours}})))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (_, html) = get(&t, &admin, &format!("/inbox/{ticket}?part=messages")).await;
    assert!(html.contains("msg-quote mine") && html.contains("Obrigada!"), "{html}");

    // Quoting a message of another ticket, or a note, is refused and nothing is sent.
    let note = atende::actions::inbox::add_note(&t.app, &Actor::Operator, demo, ticket, "nota").await;
    let out_before = t.count("messages", "direction = 'out'").await;
    if let Ok(n) = note {
        let (status, body) = post_form(
            &t,
            &admin,
            &format!("/inbox/{ticket}/messages"),
            &[("body", "x"), ("reply_to", &n.id.to_string())],
        )
        .await;
        assert_eq!(status, 422, "{body}");
    }
    let (status, _) =
        post_form(&t, &admin, &format!("/inbox/{ticket}/messages"), &[("body", "x"), ("reply_to", "999999")]).await;
    assert_eq!(status, 422);
    assert_eq!(t.count("messages", "direction = 'out'").await, out_before);
    sim.shutdown().await;
    t.stop().await;
});

fn now_secs() -> String {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string()
}

/// A `messages` webhook with one message, in Meta's envelope, for this simulator's number.
fn webhook(sim: &wa_sim::Simulator, message: Value) -> Value {
    let value = json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000001", "phone_number_id": sim.phone_number_id()},
        "contacts": [{"profile": {"name": "Cliente"}, "wa_id": message["from"]}],
        "messages": [message]});
    json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001", "changes": [{"field": "messages", "value": value}]}]})
}

engine_test!(reactions_show_on_their_bubble_and_agents_react_through_whatsapp, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, _) = simulator(&t, demo, "WhatsApp").await;
    let d =
        sim.customer_sends("5511955556666", "Fábio", wa_sim::CustomerMessage::Text("Pedido 123".into())).await.unwrap();
    let ticket = ticket_of(&t, "5511955556666").await;
    let theirs = message_id_of(&t, &d.message_id).await;
    let admin = t.login_demo_admin().await;

    let (status, _) =
        post_form(&t, &admin, &format!("/inbox/{ticket}/react"), &[("message", &theirs.to_string()), ("emoji", "👍")])
            .await;
    assert_eq!(status, 303);
    let sent = sent_to_sim(&sim, "the reaction", |r| r["type"] == "reaction").await;
    assert_eq!(sent["reaction"]["message_id"], d.message_id.as_str());
    assert_eq!(sent["reaction"]["emoji"], "👍");
    let (status, body) =
        post_form(&t, &admin, &format!("/inbox/{ticket}/react"), &[("message", &theirs.to_string()), ("emoji", "<b>")])
            .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("Escolha uma das reações"), "translated: {body}");

    // The customer reacts to a message: shown on it, not as a bubble of its own; then removes it.
    let status = sim
        .send_raw_webhook(webhook(
            &sim,
            json!({"from": "5511955556666", "id": "wamid.react.1", "timestamp": now_secs(),
            "type": "reaction", "reaction": {"message_id": d.message_id, "emoji": "❤️"}}),
        ))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (_, html) = get(&t, &admin, &format!("/inbox/{ticket}?part=messages")).await;
    let bubble = html.split("class=\"msg ").find(|b| b.contains("Pedido 123")).unwrap();
    let shown = reactions_of(bubble);
    assert!(shown.contains("<span class=\"reaction\" title=\"Cliente\">❤️</span>"), "{bubble}");
    assert!(shown.contains("<span class=\"reaction mine\" title=\"Você\">👍</span>"), "ours too: {bubble}");
    assert_eq!(html.matches("class=\"msg ").count(), 1, "reactions are not bubbles: {html}");
    sim.send_raw_webhook(webhook(
        &sim,
        json!({"from": "5511955556666", "id": "wamid.react.2", "timestamp": now_secs(),
        "type": "reaction", "reaction": {"message_id": d.message_id, "emoji": ""}}),
    ))
    .await
    .unwrap();
    let (_, html) = get(&t, &admin, &format!("/inbox/{ticket}?part=messages")).await;
    let shown = reactions_of(&html);
    assert!(!shown.contains("❤️") && shown.contains("👍"), "a removed reaction is gone: {html}");
    sim.shutdown().await;
    t.stop().await;
});

/// The reactions shown on a bubble (its `msg-reactions` span).
fn reactions_of(bubble: &str) -> String {
    let Some(start) = bubble.find("<span class=\"msg-reactions\">") else { return String::new() };
    let end = bubble[start..].find("</span></span>").map_or(bubble.len(), |e| start + e + 14);
    bubble[start..end].to_string()
}

engine_test!(tags_on_tickets_follow_visibility_and_filter_the_list, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, conn_a) = simulator(&t, demo, "Loja").await;
    let (sim_b, conn_b) = simulator(&t, demo, "Suporte").await;
    for (phone, name) in [("5511900000001", "Ana Tag"), ("5511900000002", "Beto Tag"), ("5511900000003", "Caio Tag")] {
        sim.customer_sends(phone, name, wa_sim::CustomerMessage::Text("olá".into())).await.unwrap();
    }
    sim_b.customer_sends("5511900000004", "Duda Outra", wa_sim::CustomerMessage::Text("oi".into())).await.unwrap();
    let (a, b, c) = (
        ticket_of(&t, "5511900000001").await,
        ticket_of(&t, "5511900000002").await,
        ticket_of(&t, "5511900000003").await,
    );
    let admin = t.login_demo_admin().await;

    // The Tags page: admins create and rename; agents may not open it.
    let (status, _) = post_form(&t, &admin, "/admin/tags", &[("name", "VIP"), ("colour", "#dc2626")]).await;
    assert_eq!(status, 303);
    let (status, _) = post_form(&t, &admin, "/admin/tags", &[("name", "Atrasado"), ("colour", "#f59e0b")]).await;
    assert_eq!(status, 303);
    let (status, body) = post_form(&t, &admin, "/admin/tags", &[("name", "VIP"), ("colour", "#dc2626")]).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = post_form(&t, &admin, "/admin/tags", &[("name", "Cor"), ("colour", "red")]).await;
    assert_eq!(status, 422);
    let tag_id = |name: &'static str| {
        let app = t.app.clone();
        async move {
            let sql = format!("SELECT id FROM tags WHERE name = '{name}'");
            sqlx::Row::get::<i64, _>(&sqlx::query(&sql).fetch_one(app.db.reader()).await.unwrap(), 0)
        }
    };
    let vip = tag_id("VIP").await;
    let late = tag_id("Atrasado").await;
    let (status, _) =
        post_form(&t, &admin, &format!("/admin/tags/{late}"), &[("name", "Em atraso"), ("colour", "#f97316")]).await;
    assert_eq!(status, 303);
    let (_, page) = get(&t, &admin, "/admin/tags").await;
    assert!(page.contains("Em atraso") && page.contains("#f97316"), "{page}");

    // Admin tags tickets a and c; removes from c.
    for ticket in [a, c] {
        let (status, _) =
            post_form(&t, &admin, &format!("/inbox/{ticket}/tags"), &[("tag", &vip.to_string()), ("on", "1")]).await;
        assert_eq!(status, 303);
    }
    let (_, panel) = get(&t, &admin, &format!("/inbox/{a}?part=panel")).await;
    assert!(panel.contains("VIP") && panel.contains("/contacts/"), "{panel}");
    let (_, list) = get(&t, &admin, "/inbox?tab=all&part=list").await;
    assert!(list.contains("class=\"chip\""), "chips on list rows: {list}");
    let (_, filtered) = get(&t, &admin, &format!("/inbox?tab=all&tag={vip}")).await;
    assert!(
        filtered.contains("Ana Tag") && filtered.contains("Caio Tag") && !filtered.contains("Beto Tag"),
        "{filtered}"
    );
    // Keyset paging keeps the filter: after the newest tagged ticket comes only the other one.
    let cursor = {
        let sql = format!("SELECT last_message_at FROM tickets WHERE id = {c}");
        let at: i64 = sqlx::Row::get(&sqlx::query(&sql).fetch_one(t.app.db.reader()).await.unwrap(), 0);
        format!("{at}-{c}")
    };
    let (_, page2) = get(&t, &admin, &format!("/inbox?tab=all&tag={vip}&after={cursor}&part=list")).await;
    assert!(page2.contains("Ana Tag") && !page2.contains("Caio Tag") && !page2.contains("Beto Tag"), "{page2}");
    let (status, _) =
        post_form(&t, &admin, &format!("/inbox/{c}/tags"), &[("tag", &vip.to_string()), ("on", "0")]).await;
    assert_eq!(status, 303);
    assert_eq!(t.count("ticket_tags", &format!("ticket_id = {c}")).await, 0);

    // Connection filter.
    let (_, by_conn) = get(&t, &admin, &format!("/inbox?tab=all&connection={conn_b}&part=list")).await;
    assert!(by_conn.contains("Duda Outra") && !by_conn.contains("Ana Tag"), "{by_conn}");
    let (_, by_conn) = get(&t, &admin, &format!("/inbox?tab=all&connection={conn_a}&part=list")).await;
    assert!(!by_conn.contains("Duda Outra") && by_conn.contains("Ana Tag"), "{by_conn}");

    // An agent of another department: no Tags page, no tagging of a ticket they cannot see.
    let support = t.department(demo, "Suporte").await;
    let sales = t.department(demo, "Vendas").await;
    sqlx::query(&format!("UPDATE tickets SET department_id = {sales}, status = 'waiting'"))
        .execute(t.app.db.writer())
        .await
        .unwrap();
    let gil = t.create_user(demo, "gil@demo.local", Role::Agent, "gil-password-1").await;
    departments::set_member(&t.app, &Actor::Operator, demo, support, gil.id, true).await.unwrap();
    let gil_browser = t.login("gil@demo.local", "gil-password-1", "demo").await;
    let (status, _) = get(&t, &gil_browser, "/admin/tags").await;
    assert_eq!(status, 403);
    let (status, _) = post_form(&t, &gil_browser, "/admin/tags", &[("name", "Hack"), ("colour", "#000000")]).await;
    assert_eq!(status, 403);
    let (status, _) =
        post_form(&t, &gil_browser, &format!("/inbox/{b}/tags"), &[("tag", &vip.to_string()), ("on", "1")]).await;
    assert_eq!(status, 404);
    // A member of the department may tag; an unknown or another tenant's tag is refused.
    departments::set_member(&t.app, &Actor::Operator, demo, sales, gil.id, true).await.unwrap();
    let (status, _) =
        post_form(&t, &gil_browser, &format!("/inbox/{b}/tags"), &[("tag", &vip.to_string()), ("on", "1")]).await;
    assert_eq!(status, 303);
    let other = t.create_tenant("outra").await;
    let foreign =
        atende::actions::contacts::create_tag(&t.app, &Actor::Operator, other, "Alheia", "#000000").await.unwrap();
    let (status, body) =
        post_form(&t, &gil_browser, &format!("/inbox/{b}/tags"), &[("tag", &foreign.id.to_string()), ("on", "1")])
            .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("Etiqueta desconhecida"), "{body}");
    assert_eq!(t.count("ticket_tags", &format!("ticket_id = {b}")).await, 1);

    // Deleting a tag takes it off every ticket.
    let (status, _) = post_form(&t, &admin, &format!("/admin/tags/{vip}/delete"), &[]).await;
    assert_eq!(status, 303);
    assert_eq!(t.count("ticket_tags", "1 = 1").await, 0);
    sim.shutdown().await;
    sim_b.shutdown().await;
    t.stop().await;
});

engine_test!(the_notification_summary_answers_only_for_visible_tickets, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, _) = simulator(&t, demo, "WhatsApp").await;
    sim.customer_sends("5511977778888", "Helena", wa_sim::CustomerMessage::Text("oi".into())).await.unwrap();
    let ticket = ticket_of(&t, "5511977778888").await;
    let admin = t.login_demo_admin().await;
    let r = admin.get(t.url(&format!("/inbox/{ticket}?part=summary"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["contact"], "Helena");
    assert_eq!(v["mine"], false);
    let other = t.create_tenant("outra").await;
    t.create_user(other, "ze@outra.local", Role::Admin, "ze-password-12").await;
    let ze = t.login("ze@outra.local", "ze-password-12", "outra").await;
    assert_eq!(ze.get(t.url(&format!("/inbox/{ticket}?part=summary"))).send().await.unwrap().status(), 404);
    sim.shutdown().await;
    t.stop().await;
});
