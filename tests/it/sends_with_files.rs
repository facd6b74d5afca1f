//! Schedules and campaigns that carry more than text, through the real app and the WhatsApp
//! simulator: a schedule's template going when the customer's 24-hour window has closed (its
//! parameter filled from the contact) and its text inside it; a file uploaded on the Agendamentos
//! page sent with the text as its caption; a file by link through the REST API; an audio with
//! text refused; another company's template refused; a campaign's file uploaded on its page
//! going to each recipient with the variation as caption. SQLite and PostgreSQL.

use std::time::Duration;

use atende::actions::schedules::{self, ScheduleInput};
use atende::actions::Actor;
use atende::domain::outbound::{Attached, MediaKind, MediaSource};
use atende::domain::schedules as rules;
use atende::domain::templates::ParamSource;
use atende::domain::{Role, Scope, TenantId};
use serde_json::{json, Value};

use crate::consent::{connected, customer_writes};
use crate::engine_test;
use crate::support::{sent_to_sim, TestApp};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const HOUR: u64 = 3600;

fn local_in(t: &TestApp, secs: i64) -> String {
    let at = t.app.clock.now_ms() + secs * 1000;
    rules::format_local(rules::local_of(chrono_tz::America::Sao_Paulo, at).unwrap())
}

/// The simulator's utility template `atendimento_retorno`, synced, `{{1}}` mapped to the name.
async fn retorno_template(t: &TestApp, tenant: TenantId, conn: i64) -> i64 {
    atende::actions::templates::sync_now(&t.app, &Actor::Operator, tenant, conn).await.unwrap();
    let template = atende::actions::templates::list(&t.app, &Actor::Operator, tenant, Some(conn))
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.template.name == "atendimento_retorno")
        .unwrap();
    let mapping = [("1".to_string(), ParamSource::Field("nome".into()))];
    atende::actions::templates::set_mapping(&t.app, &Actor::Operator, tenant, template.template.id, mapping.into())
        .await
        .unwrap();
    template.template.id
}

/// A form with a file, as a browser posts it (`file` is (filename, type, bytes)).
async fn post_multipart(
    t: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, &[u8])>,
) -> reqwest::Response {
    let csrf = t.csrf(client).await;
    let boundary = "----atende-files-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    for (name, value) in all {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    let (filename, mime, data) = file.unwrap_or(("", "application/octet-stream", b""));
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {mime}\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    client
        .post(t.url(path))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn fire_due(t: &TestApp, tenant: TenantId, secs: u64) {
    t.app.clock.advance(Duration::from_secs(secs));
    schedules::run_due(&t.app, tenant).await.unwrap();
}

engine_test!(a_schedule_sends_its_template_outside_the_window_and_its_file_inside, |t: TestApp| async move {
    let tenant = t.create_tenant("filesched").await;
    let (sim, conn) = connected(&t, tenant).await;
    let retorno = retorno_template(&t, tenant, conn).await;
    let (contact, _ticket) = customer_writes(&t, &sim, "5511933330011", "oi").await;

    // Inside the window a file picked on the page goes with the text as its caption (the
    // template stays unused).
    t.create_user(tenant, "ana@filesched.test", Role::Admin, "senha-forte-123").await;
    let web = t.login("ana@filesched.test", "senha-forte-123", "filesched").await;
    let start = local_in(&t, 2 * HOUR as i64);
    let fields = [
        ("phone", "+55 11 93333-0011"),
        ("body", "Seu comprovante"),
        ("start", start.as_str()),
        ("recurrence", "once"),
        ("template_id", &retorno.to_string()),
    ];
    let r = post_multipart(&t, &web, "/schedules", &fields, Some(("foto.jpg", "image/jpeg", PNG))).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let list = web.get(t.url("/schedules")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("Imagem — Seu comprovante"), "{list}");
    fire_due(&t, tenant, 2 * HOUR + 61).await;
    let image = sent_to_sim(&sim, "the image", |m| m["type"] == "image").await;
    assert_eq!(image["image"]["caption"], "Seu comprovante");
    let cond = format!("contact_id = {contact} AND direction = 'out' AND kind = 'image'");
    assert_eq!(t.count("messages", &cond).await, 1);

    // A day later the window is closed: the template goes, filled with the contact's name.
    t.app.clock.advance(Duration::from_secs(25 * HOUR));
    let input = ScheduleInput {
        contact_id: Some(contact),
        body: "Seu pedido saiu para entrega".into(),
        template_id: Some(retorno),
        start: local_in(&t, HOUR as i64),
        ..Default::default()
    };
    let s = schedules::create(&t.app, &Actor::Operator, tenant, input).await.unwrap();
    assert_eq!((s.template_id, s.connection_id), (Some(retorno), Some(conn)));
    fire_due(&t, tenant, HOUR + 61).await;
    let sent = sent_to_sim(&sim, "the template", |m| m["type"] == "template").await;
    assert_eq!(sent["template"]["name"], "atendimento_retorno");
    assert_eq!(sent["template"]["components"][0]["parameters"][0]["text"], "Cliente", "{sent}");
    assert!(!sim.sent_messages().iter().any(|m| m.request["text"]["body"] == "Seu pedido saiu para entrega"));
    let web = t.login("ana@filesched.test", "senha-forte-123", "filesched").await;

    // A file of a type WhatsApp does not take is refused on the page, and nothing is scheduled.
    let before = t.count("schedules", &format!("tenant_id = {}", tenant.0)).await;
    let start = local_in(&t, HOUR as i64);
    let fields = [("phone", "+5511933330011"), ("body", "x"), ("start", start.as_str()), ("recurrence", "once")];
    let r =
        post_multipart(&t, &web, "/schedules", &fields, Some(("v.exe", "application/x-msdownload", b"MZ\x90\0"))).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("O WhatsApp não aceita este tipo de arquivo"));
    assert_eq!(t.count("schedules", &format!("tenant_id = {}", tenant.0)).await, before);

    // Audio goes without text.
    let audio = Attached {
        kind: MediaKind::Audio,
        source: MediaSource::Link("https://files.example.com/a.ogg".into()),
        filename: None,
    };
    let bad = ScheduleInput {
        contact_id: Some(contact),
        body: "escute".into(),
        media: Some(audio),
        start: local_in(&t, HOUR as i64),
        ..Default::default()
    };
    assert_eq!(schedules::create(&t.app, &Actor::Operator, tenant, bad).await.unwrap_err().code(), "invalid_media");
    t.stop().await;
});

async fn api(t: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, t.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

engine_test!(the_api_schedules_a_file_by_link_and_refuses_another_companys_template, |t: TestApp| async move {
    let tenant = t.create_tenant("fileapi").await;
    let (sim, conn) = connected(&t, tenant).await;
    let (contact, _) = customer_writes(&t, &sim, "5511933330022", "oi").await;
    let token = t.token(tenant, &[Scope::Read, Scope::Write]).await;
    let body = json!({
        "contact_id": contact,
        "body": "Segue o boleto",
        "media": { "kind": "document", "link": "https://files.example.com/boleto.pdf", "filename": "boleto.pdf" },
        "start": local_in(&t, HOUR as i64),
    });
    let (status, s) = api(&t, reqwest::Method::POST, "/schedules", &token, body).await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["media"]["link"], "https://files.example.com/boleto.pdf");
    fire_due(&t, tenant, HOUR + 61).await;
    let doc = sent_to_sim(&sim, "the document", |m| m["type"] == "document").await;
    assert_eq!(doc["document"]["link"], "https://files.example.com/boleto.pdf");
    assert_eq!(
        (doc["document"]["caption"].as_str(), doc["document"]["filename"].as_str()),
        (Some("Segue o boleto"), Some("boleto.pdf"))
    );

    // A link that is not http(s) is refused with its code.
    let bad = json!({ "contact_id": contact, "media": { "kind": "image", "link": "file:///etc/passwd" },
        "start": local_in(&t, HOUR as i64) });
    let (status, e) = api(&t, reqwest::Method::POST, "/schedules", &token, bad).await;
    assert_eq!((status, e["error"]["code"].as_str()), (422, Some("invalid_media")), "{e}");

    // Another company's template is unknown here.
    let other = t.create_tenant("fileapi2").await;
    let (_sim2, conn2) = connected(&t, other).await;
    let theirs = retorno_template(&t, other, conn2).await;
    let steal = json!({ "contact_id": contact, "template_id": theirs, "start": local_in(&t, HOUR as i64) });
    let (status, e) = api(&t, reqwest::Method::POST, "/schedules", &token, steal).await;
    assert_eq!((status, e["error"]["code"].as_str()), (422, Some("unknown_template")), "{e}");
    let _ = conn;
    t.stop().await;
});

engine_test!(a_campaign_file_goes_to_each_recipient_with_the_variation_as_caption, |t: TestApp| async move {
    let tenant = t.create_tenant("filecamp").await;
    let (sim, _conn) = connected(&t, tenant).await;
    let (contact, _) = customer_writes(&t, &sim, "5511933330033", "oi").await;
    sqlx::query("UPDATE contacts SET consent = 'marketing_opt_in' WHERE id = $1")
        .bind(contact)
        .execute(t.app.db.writer())
        .await
        .unwrap();
    t.create_user(tenant, "sup@filecamp.test", Role::Admin, "senha-forte-123").await;
    let web = t.login("sup@filecamp.test", "senha-forte-123", "filecamp").await;
    let fields = [
        ("name", "Catálogo"),
        ("v1", "Oi {{nome}}, nosso catálogo"),
        ("audience", "phones"),
        ("phones", "+5511933330033"),
        ("rate_per_minute", "600"),
        ("spacing_pct", "0"),
    ];
    let r = post_multipart(&t, &web, "/campaigns", &fields, Some(("catalogo.png", "image/png", PNG))).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location.trim_start_matches("/campaigns/").split('?').next().unwrap().parse().unwrap();
    let page = web.get(t.url(&location)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Arquivo atual: Imagem"), "{page}");
    atende::actions::campaigns::command(&t.app, &Actor::Operator, tenant, id, "start").await.unwrap();
    let image = sent_to_sim(&sim, "the campaign image", |m| m["type"] == "image").await;
    assert_eq!(image["image"]["caption"], "Oi Cliente, nosso catálogo");
    assert!(image["biz_opaque_callback_data"].as_str().is_some_and(|d| d.starts_with("atende:campaign:")));
    t.stop().await;
});
