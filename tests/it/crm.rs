//! CRM contact sync through the web and the ingest path: CSV import (Latin-1, `;`, ninth-digit
//! duplicates merged, invalid rows reported and downloadable), export round trip, opt-out
//! keywords from a real inbound webhook, merging two contacts with their history, templates.

use atende::actions::connections::{create_whatsapp_cloud, CreateWhatsappCloud};
use atende::actions::contact_csv;
use atende::actions::contacts::{self, ContactRow};
use atende::actions::Actor;
use atende::domain::TenantId;
use atende::store;

use crate::engine_test;
use crate::support::{extract_csrf, TestApp};

const SECRET: &str = "crm-app-secret";

async fn connect(t: &TestApp, tenant: TenantId) -> i64 {
    let input = CreateWhatsappCloud {
        name: "WhatsApp",
        phone_number_id: "PNCRM",
        waba_id: "WABA1",
        access_token: "token-for-tests",
        app_secret: SECRET,
        graph_url: Some("http://127.0.0.1:9"),
        api_version: None,
        rate_per_sec: None,
    };
    create_whatsapp_cloud(&t.app, &Actor::Operator, tenant, input).await.unwrap().connection.id
}

/// One signed webhook delivery of text messages: (from, wamid, text).
async fn deliver(t: &TestApp, conn: i64, messages: &[(&str, &str, &str)]) {
    t.deliver_texts(conn, "PNCRM", SECRET, messages).await;
}

async fn contact_by_phone(t: &TestApp, tenant: TenantId, digits: &str) -> store::contacts::Contact {
    let page = contacts::list_contacts(&t.app, &Actor::Operator, tenant, Some(digits), None, false, 10).await.unwrap();
    assert_eq!(page.contacts.len(), 1, "one contact with {digits}: {:?}", page.contacts);
    page.contacts.into_iter().next().unwrap()
}

fn multipart(csrf: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----atendeTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"contatos.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html.find(start).unwrap_or_else(|| panic!("{start} not in page: {html}")) + start.len();
    let j = html[i..].find(end).unwrap() + i;
    &html[i..j]
}

/// A Brazilian Excel export: Windows-1252, `;`, a ninth-digit duplicate, three bad rows.
fn latin1_file() -> Vec<u8> {
    let text = "Nome;Telefone;E-mail;Cidade;Etiquetas;Consentimento\r\n\
        João da Silva;(11) 98765-4321;joao@example.com;São Paulo;vip, novo;opt-in\r\n\
        Joao S.;11 8765-4321;;Santos;;\r\n\
        Maria;+55 21 99876-5432;MARIA@EXAMPLE.COM;Niterói;;não\r\n\
        Inválido;12345;;;;\r\n\
        SemFone;;;;;\r\n\
        Ana;(31) 3222-1111;ana@x;BH;;\r\n";
    let bytes = atende::domain::csv::encode_windows1252(text);
    assert!(std::str::from_utf8(&bytes).is_err(), "the file really is Latin-1");
    bytes
}

engine_test!(a_latin1_semicolon_csv_merges_ninth_digit_duplicates_and_reports_invalid_rows, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    // WhatsApp reported Maria's mobile without its ninth digit.
    let existing =
        ContactRow { name: Some("Maria WA".into()), phone: Some("552198765432".into()), ..Default::default() };
    let maria = contacts::create_contact(&t.app, &Actor::Operator, tenant, &existing, "api").await.unwrap();
    let before = t.count("contacts", &format!("tenant_id = {}", tenant.0)).await;

    let browser = t.login_demo_admin().await;
    let page = browser.get(t.url("/contacts/import")).send().await.unwrap().text().await.unwrap();
    let csrf = extract_csrf(&page);
    let (content_type, body) = multipart(&csrf, &latin1_file());
    let preview =
        browser.post(t.url("/contacts/import")).header("content-type", content_type).body(body).send().await.unwrap();
    assert_eq!(preview.status(), 200);
    let html = preview.text().await.unwrap();
    assert!(html.contains("Windows-1252"), "{html}");
    assert_eq!(between(&html, "id=\"import-total\">", "<"), "6");
    assert!(html.contains("São Paulo"), "decoded preview: {html}");
    let token = between(&html, "action=\"/contacts/import/", "\"").to_string();

    // A forged upload without the CSRF field is refused and stores nothing.
    let (content_type, body) = multipart("wrong", &latin1_file());
    let forged =
        browser.post(t.url("/contacts/import")).header("content-type", content_type).body(body).send().await.unwrap();
    assert_eq!(forged.status(), 403);

    let form = [
        ("csrf", csrf.as_str()),
        ("col0", "name"),
        ("col1", "phone"),
        ("col2", "email"),
        ("col3", "field:cidade"),
        ("col4", "tags"),
        ("col5", "consent"),
    ];
    let done = browser.post(t.url(&format!("/contacts/import/{token}"))).form(&form).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let html = done.text().await.unwrap();
    assert_eq!(between(&html, "id=\"import-rows\">", "<"), "6", "{html}");
    assert_eq!(between(&html, "id=\"import-created\">", "<"), "1", "{html}");
    assert_eq!(between(&html, "id=\"import-updated\">", "<"), "1", "{html}");
    assert_eq!(between(&html, "id=\"import-rejected\">", "<"), "3", "{html}");
    assert_eq!(t.count("contacts", &format!("tenant_id = {}", tenant.0)).await, before + 1, "one new contact");

    // The duplicate rows became one contact; later values win, tags add up.
    let joao = contact_by_phone(&t, tenant, "5511987654321").await;
    assert_eq!(joao.phone, "5511987654321");
    assert_eq!(joao.name, "Joao S.");
    assert_eq!(joao.email.as_deref(), Some("joao@example.com"));
    assert_eq!(joao.fields().get("cidade").map(String::as_str), Some("Santos"));
    assert_eq!(joao.consent, "marketing_opt_in");
    assert_eq!(joao.consent_source.as_deref(), Some("csv"));
    let detail = contacts::get_contact(&t.app, &Actor::Operator, tenant, joao.id).await.unwrap();
    let tags: Vec<String> = detail.tags.into_iter().map(|t| t.name).collect();
    assert_eq!(tags, vec!["novo", "vip"]);
    // Maria was matched with the ninth digit and updated in place (her WhatsApp number stays).
    let m = store::contacts::get(t.app.db.reader(), tenant, maria.id).await.unwrap().unwrap();
    assert_eq!((m.name.as_str(), m.phone.as_str()), ("Maria", "552198765432"));
    assert_eq!(m.email.as_deref(), Some("maria@example.com"));
    assert_eq!(m.consent, "opted_out");
    assert_eq!(m.fields().get("cidade").map(String::as_str), Some("Niterói"));
    // The field key is known to the tenant now.
    let fields = contacts::list_fields(&t.app, &Actor::Operator, tenant).await.unwrap();
    assert!(fields.iter().any(|f| f.key == "cidade"), "{fields:?}");

    // The invalid rows, with their line and reason.
    let rejected = browser.get(t.url(&format!("/contacts/import/{token}/rejected.csv"))).send().await.unwrap();
    assert_eq!(rejected.status(), 200);
    let text = rejected.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'), "BOM for Excel");
    let rows: Vec<Vec<String>> = atende::domain::csv::Reader::new(text.trim_start_matches('\u{feff}'), ';').collect();
    assert_eq!(
        rows[0],
        vec!["Nome", "Telefone", "E-mail", "Cidade", "Etiquetas", "Consentimento", "linha", "erro", "motivo"]
    );
    let summary: Vec<(&str, &str, &str)> =
        rows[1..].iter().map(|r| (r[0].as_str(), r[6].as_str(), r[7].as_str())).collect();
    assert_eq!(
        summary,
        vec![
            ("Inválido", "5", "invalid_phone"),
            ("SemFone", "6", "phone_or_email_required"),
            ("Ana", "7", "invalid_email")
        ]
    );
    // Another tenant's people cannot fetch it.
    let other = t.create_tenant("outra").await;
    t.create_user(other, "boss@outra.local", atende::domain::Role::Admin, "correct horse battery").await;
    let stranger = t.login("boss@outra.local", "correct horse battery", "outra").await;
    let peek = stranger.get(t.url(&format!("/contacts/import/{token}/rejected.csv"))).send().await.unwrap();
    assert_eq!(peek.status(), 404);
    // An agent may not import.
    t.create_user(tenant, "agente@demo.local", atende::domain::Role::Agent, "correct horse battery").await;
    let agent = t.login("agente@demo.local", "correct horse battery", "demo").await;
    assert_eq!(agent.get(t.url("/contacts/import")).send().await.unwrap().status(), 403);
    t.stop().await;
});

engine_test!(an_export_imports_back_into_the_same_contacts, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let rows = vec![
        ContactRow {
            name: Some("Ana; \"Aninha\" Souza".into()),
            phone: Some("+55 11 98888-7777".into()),
            email: Some("ana@example.com".into()),
            custom_fields: [("plano".to_string(), "ouro".to_string())].into(),
            tags: vec!["vip".into()],
            consent: Some("marketing_opt_in".into()),
        },
        ContactRow {
            name: Some("=cmd|' /C calc'!A0".into()),
            phone: Some("21 3333-4444".into()),
            ..Default::default()
        },
    ];
    let (results, summary) = contacts::upsert_many(&t.app, &Actor::Operator, tenant, &rows, "api").await.unwrap();
    assert_eq!(summary.created, 2, "{results:?}");

    let browser = t.login_demo_admin().await;
    let response = browser.get(t.url("/contacts/export.csv")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(text.contains("\"'=cmd|' /C calc'!A0\""), "formula defused: {text}");
    assert!(text.contains("+5511988887777"), "{text}");

    // Into a fresh tenant with the guessed mapping: the same contacts come out.
    let other = t.create_tenant("copia").await;
    let preview = contact_csv::preview(&bytes).unwrap();
    assert_eq!(preview.separator, ';');
    let report = contact_csv::import(&t.app, &Actor::Operator, other, &bytes, &preview.guessed).await.unwrap();
    assert_eq!((report.summary.created, report.rejected.len()), (2, 0), "{:?}", report.rejected);
    let ana = contact_by_phone(&t, other, "5511988887777").await;
    assert_eq!(ana.name, "Ana; \"Aninha\" Souza");
    assert_eq!(ana.email.as_deref(), Some("ana@example.com"));
    assert_eq!(ana.fields().get("plano").map(String::as_str), Some("ouro"));
    assert_eq!(ana.consent, "marketing_opt_in");
    let tags = contacts::get_contact(&t.app, &Actor::Operator, other, ana.id).await.unwrap().tags;
    assert_eq!(tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), vec!["vip"]);
    // The comma variant parses too.
    let comma = browser.get(t.url("/contacts/export.csv?sep=,")).send().await.unwrap().text().await.unwrap();
    assert!(comma.lines().next().unwrap().contains("id,nome,telefone"), "{comma}");
    t.stop().await;
});

engine_test!(an_opt_out_keyword_in_a_real_inbound_message_opts_the_contact_out, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let conn = connect(&t, tenant).await;
    deliver(&t, conn, &[("5511911110001", "wamid.k1", "quero sair daqui"), ("5511911110002", "wamid.k2", "oi")]).await;
    let first = contact_by_phone(&t, tenant, "5511911110001").await;
    assert_eq!(first.consent, "transactional", "a sentence containing the word is not the keyword");

    deliver(&t, conn, &[("5511911110001", "wamid.k3", "  Sáir! "), ("5511911110002", "wamid.k4", "ok")]).await;
    let first = contact_by_phone(&t, tenant, "5511911110001").await;
    assert_eq!(first.consent, "opted_out");
    assert_eq!(first.consent_source.as_deref(), Some("keyword"));
    assert!(first.consent_at.is_some());
    assert_eq!(contact_by_phone(&t, tenant, "5511911110002").await.consent, "transactional");
    assert_eq!(
        t.count("audit_log", &format!("action = 'contact.opted_out' AND subject = 'contact:{}'", first.id)).await,
        1
    );
    // The message itself is stored as usual.
    assert_eq!(t.count("messages", "provider_id = 'wamid.k3'").await, 1);

    // Custom keywords replace the defaults at once.
    contacts::set_opt_out_keywords(&t.app, &Actor::Operator, tenant, "cancelar, NÃO QUERO").await.unwrap();
    deliver(&t, conn, &[("5511911110002", "wamid.k5", "STOP")]).await;
    assert_eq!(contact_by_phone(&t, tenant, "5511911110002").await.consent, "transactional");
    deliver(&t, conn, &[("5511911110002", "wamid.k6", "nao quero")]).await;
    assert_eq!(contact_by_phone(&t, tenant, "5511911110002").await.consent, "opted_out");
    let bad = contacts::set_opt_out_keywords(&t.app, &Actor::Operator, tenant, &"x".repeat(50)).await.unwrap_err();
    assert_eq!(bad.code(), "invalid_keywords");
    t.stop().await;
});

engine_test!(merging_moves_tickets_messages_tags_and_fields_and_keeps_the_strictest_consent, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let conn = connect(&t, tenant).await;
    deliver(&t, conn, &[("5511922220001", "wamid.m1", "olá"), ("5511922220001", "wamid.m2", "tudo bem?")]).await;
    deliver(&t, conn, &[("5511933330002", "wamid.m3", "oi, sou eu de outro número")]).await;
    let target = contact_by_phone(&t, tenant, "5511922220001").await;
    let source = contact_by_phone(&t, tenant, "5511933330002").await;
    let op = Actor::Operator;
    let patch = |fields: &[(&str, &str)], tags: &[&str], consent: &str, email: Option<&str>| contacts::ContactPatch {
        custom_fields: Some(fields.iter().map(|(k, v)| (k.to_string(), Some(v.to_string()))).collect()),
        tags: Some(tags.iter().map(|s| s.to_string()).collect()),
        consent: Some(consent.into()),
        email: email.map(String::from),
        notes: Some(format!("notas de {consent}")),
        ..Default::default()
    };
    contacts::patch_contact(
        &t.app,
        &op,
        tenant,
        target.id,
        patch(&[("cpf", "111")], &["vip"], "marketing_opt_in", None),
        "agent",
    )
    .await
    .unwrap();
    contacts::patch_contact(
        &t.app,
        &op,
        tenant,
        source.id,
        patch(&[("cpf", "999"), ("cidade", "Recife")], &["vip", "atacado"], "opted_out", Some("x@y.com")),
        "agent",
    )
    .await
    .unwrap();
    let messages_before = t.count("messages", &format!("contact_id = {}", source.id)).await;
    assert_eq!(messages_before, 1);

    // Another tenant cannot merge them, nor see them.
    let other = t.create_tenant("intrusa").await;
    let admin_b = t.create_user(other, "b@intrusa.local", atende::domain::Role::Admin, "correct horse battery").await;
    let stranger = Actor::User(admin_b);
    let denied = contacts::merge_contacts(&t.app, &stranger, tenant, source.id, target.id).await.unwrap_err();
    assert_eq!(denied.code(), "not_found");
    let denied = contacts::merge_contacts(&t.app, &stranger, other, source.id, target.id).await.unwrap_err();
    assert_eq!(denied.code(), "not_found");
    assert_eq!(
        contacts::merge_contacts(&t.app, &op, tenant, target.id, target.id).await.unwrap_err().code(),
        "same_contact"
    );

    let report = contacts::merge_contacts(&t.app, &op, tenant, source.id, target.id).await.unwrap();
    assert_eq!((report.moved.tickets, report.moved.messages), (1, 1));
    assert_eq!(t.count("contacts", &format!("id = {}", source.id)).await, 0, "source deleted");
    assert_eq!(t.count("messages", &format!("contact_id = {}", target.id)).await, 3);
    assert_eq!(t.count("tickets", &format!("contact_id = {}", target.id)).await, 2);
    assert_eq!(t.count("contact_tags", &format!("contact_id = {}", source.id)).await, 0);
    let merged = report.contact;
    let fields = merged.fields();
    assert_eq!(fields.get("cpf").map(String::as_str), Some("111"), "the target's value is kept");
    assert_eq!(fields.get("cidade").map(String::as_str), Some("Recife"), "gaps are filled");
    assert_eq!(merged.email.as_deref(), Some("x@y.com"));
    assert_eq!(merged.consent, "opted_out", "the more restrictive consent wins");
    assert!(merged.notes.contains("notas de marketing_opt_in") && merged.notes.contains("notas de opted_out"));
    assert!(merged.notes.contains("+5511933330002"), "the source's phone is kept in the notes: {}", merged.notes);
    let detail = contacts::get_contact(&t.app, &op, tenant, target.id).await.unwrap();
    let mut tags: Vec<String> = detail.tags.into_iter().map(|t| t.name).collect();
    tags.sort();
    assert_eq!(tags, vec!["atacado", "vip"]);
    assert_eq!(detail.tickets.len(), 2);
    assert_eq!(
        t.count("audit_log", &format!("action = 'contact.merged' AND subject = 'contact:{}'", target.id)).await,
        1
    );

    // The contact page lists both tickets with links into the inbox, and renders names as text.
    contacts::patch_contact(
        &t.app,
        &op,
        tenant,
        target.id,
        contacts::ContactPatch { name: Some("<script>alert(1)</script>".into()), ..Default::default() },
        "agent",
    )
    .await
    .unwrap();
    let browser = t.login_demo_admin().await;
    let html = browser.get(t.url(&format!("/contacts/{}", target.id))).send().await.unwrap().text().await.unwrap();
    for ticket in &detail.tickets {
        assert!(html.contains(&format!("href=\"/inbox/{}\"", ticket.id)), "{html}");
    }
    assert!(!html.contains("<script>alert(1)</script>") && html.contains("alert(1)"), "escaped");
    t.stop().await;
});

engine_test!(the_contact_page_edits_fields_consent_and_tags_and_the_list_searches, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let row = ContactRow { name: Some("Bruna Lima".into()), phone: Some("11 97777-6666".into()), ..Default::default() };
    let c = contacts::create_contact(&t.app, &Actor::Operator, tenant, &row, "api").await.unwrap();
    contacts::put_field(&t.app, &Actor::Operator, tenant, "Data de nascimento", None).await.unwrap();
    let browser = t.login_demo_admin().await;
    let html = browser.get(t.url(&format!("/contacts/{}", c.id))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("name=\"field.data_de_nascimento\""), "{html}");
    let csrf = extract_csrf(&html);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Bruna L."),
        ("email", "bruna@example.com"),
        ("consent", "marketing_opt_in"),
        ("tags", "vip, novo"),
        ("field.data_de_nascimento", "01/02/1990"),
        ("notes", "prefere à tarde"),
    ];
    let saved = browser.post(t.url(&format!("/contacts/{}", c.id))).form(&form).send().await.unwrap();
    assert_eq!(saved.status(), 303);
    let stored = store::contacts::get(t.app.db.reader(), tenant, c.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "Bruna L.");
    assert_eq!((stored.consent.as_str(), stored.consent_source.as_deref()), ("marketing_opt_in", Some("agent")));
    assert_eq!(stored.fields().get("data_de_nascimento").map(String::as_str), Some("01/02/1990"));
    let bad = [("csrf", csrf.as_str()), ("name", "Bruna"), ("email", "nope"), ("consent", "transactional")];
    let refused = browser.post(t.url(&format!("/contacts/{}", c.id))).form(&bad).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    assert_eq!(store::contacts::get(t.app.db.reader(), tenant, c.id).await.unwrap().unwrap().name, "Bruna L.");

    // Search by name, phone digits and e-mail; pagination.
    for q in ["bruna", "97777", "BRUNA@EXAMPLE"] {
        let html = browser.get(t.url(&format!("/contacts?q={q}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(&format!("href=\"/contacts/{}\"", c.id)), "{q}: {html}");
    }
    let html = browser.get(t.url("/contacts?q=ninguem")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains(&format!("href=\"/contacts/{}\"", c.id)));
    let many: Vec<ContactRow> =
        (0..60).map(|i| ContactRow { phone: Some(format!("1198000{i:04}")), ..Default::default() }).collect();
    contacts::upsert_many(&t.app, &Actor::Operator, tenant, &many, "api").await.unwrap();
    let html = browser.get(t.url("/contacts")).send().await.unwrap().text().await.unwrap();
    let next = between(&html, "<a href=\"/contacts?q=&#38;tag=&#38;consent=&#38;after=", "\"").to_string();
    let page2 = browser.get(t.url(&format!("/contacts?q=&after={next}"))).send().await.unwrap().text().await.unwrap();
    assert!(page2.contains(&format!("href=\"/contacts/{}\"", c.id)), "the oldest contact is on page 2");
    t.stop().await;
});

engine_test!(templates_fill_contact_variables_and_blank_the_missing_ones, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let row = ContactRow {
        name: Some("Carla".into()),
        phone: Some("(81) 98765-0000".into()),
        custom_fields: [("plano".to_string(), "Prata".to_string())].into(),
        ..Default::default()
    };
    let c = contacts::create_contact(&t.app, &Actor::Operator, tenant, &row, "api").await.unwrap();
    let text = contacts::render_for_contact(
        &t.app,
        &Actor::Operator,
        tenant,
        c.id,
        "Oi {{nome}}! Seu plano {{ plano }} ({{telefone}}) {{email}}{{desconhecido}}.",
    )
    .await
    .unwrap();
    assert_eq!(text, "Oi Carla! Seu plano Prata (+5581987650000) .");
    t.stop().await;
});
