//! The Modelos page and the composer's template picker: synced templates listed with their
//! status, a parameter mapped to a contact field, and outside the 24-hour window the agent picks
//! an approved template filled in for the contact — the simulator receives it with the values;
//! a marketing template to a contact without opt-in is refused; another company sees nothing.

use std::time::Duration;

use atende::domain::Role;

use crate::automation::eventually;
use crate::consent::{connected, customer_writes};
use crate::engine_test;
use crate::support::{extract_csrf, TestApp};

async fn template_id(t: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT id FROM message_templates WHERE name = $1")
        .bind(name)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap()
}

/// A form post answered with a redirect (303), and the page it leads to.
async fn follow(t: &TestApp, web: &reqwest::Client, r: reqwest::Response) -> String {
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let page = web.get(t.url(&to)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

engine_test!(an_agent_sends_a_mapped_template_outside_the_window_from_the_composer, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, conn) = connected(&t, demo).await;
    let web = t.login_demo_admin().await;

    // Modelos: the admin syncs the number's templates from the page.
    let page = web.get(t.url("/admin/templates")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("href=\"/admin/templates\""), "in the menu");
    let csrf = extract_csrf(&page);
    let r = web
        .post(t.url("/admin/templates/sync"))
        .form(&[("csrf", csrf.as_str()), ("connection_id", &conn.to_string())])
        .send()
        .await
        .unwrap();
    let page = follow(&t, &web, r).await;
    assert!(page.contains("atendimento_retorno") && page.contains("promocao_mensal"), "{page}");
    assert!(page.contains(">Aprovado<"), "statuses in Portuguese");

    // The parameter {{1}} takes the contact's name.
    let retorno = template_id(&t, "atendimento_retorno").await;
    let edit = web.get(t.url(&format!("/admin/templates/{retorno}"))).send().await.unwrap().text().await.unwrap();
    assert!(edit.contains("name=\"kind.1\""), "{edit}");
    let bad = web
        .post(t.url(&format!("/admin/templates/{retorno}")))
        .form(&[("csrf", csrf.as_str()), ("kind.1", "field"), ("value.1", "<b>cpf</b>")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(!html.contains("<b>cpf</b>"), "escaped");
    let ok = web
        .post(t.url(&format!("/admin/templates/{retorno}")))
        .form(&[("csrf", csrf.as_str()), ("kind.1", "field"), ("value.1", "nome")])
        .send()
        .await
        .unwrap();
    assert!(follow(&t, &web, ok).await.contains("Parâmetros salvos."));

    // A customer wrote a day ago: the window is closed, the composer offers the templates.
    let (_contact, ticket) = customer_writes(&t, &sim, "5511987651234", "Oi, quero saber do pedido").await;
    t.app.clock.advance(Duration::from_secs(25 * 3600));
    let inbox = web.get(t.url(&format!("/inbox/{ticket}"))).send().await.unwrap().text().await.unwrap();
    assert!(inbox.contains(&format!("name=\"template_id\" value=\"{retorno}\"")), "{inbox}");
    assert!(inbox.contains("name=\"p.1\" value=\"Cliente\""), "the mapped field filled in: {inbox}");
    assert!(inbox.contains("Olá Cliente, temos novidades"), "the preview filled in");

    // Marketing to a contact without opt-in: refused, nothing sent.
    let promo = template_id(&t, "promocao_mensal").await;
    let csrf = extract_csrf(&inbox);
    let r = web
        .post(t.url(&format!("/inbox/{ticket}/messages")))
        .form(&[("csrf", csrf.as_str()), ("template_id", &promo.to_string()), ("p.1", "Ana"), ("p.2", "10%")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // An empty parameter is refused too.
    let r = web
        .post(t.url(&format!("/inbox/{ticket}/messages")))
        .form(&[("csrf", csrf.as_str()), ("template_id", &retorno.to_string()), ("p.1", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // The agent edits the value and sends.
    let r = web
        .post(t.url(&format!("/inbox/{ticket}/messages")))
        .form(&[("csrf", csrf.as_str()), ("template_id", &retorno.to_string()), ("p.1", "Ana Paula")])
        .send()
        .await
        .unwrap();
    follow(&t, &web, r).await;
    let sent = eventually("the template at the simulator", || async {
        let all = sim.sent_messages();
        (!all.is_empty()).then_some(all)
    })
    .await;
    assert_eq!(sent.len(), 1, "only the allowed send went");
    let req = &sent[0].request;
    assert_eq!(req["type"], "template");
    assert_eq!(req["template"]["name"], "atendimento_retorno");
    assert_eq!(req["template"]["components"][0]["parameters"][0]["text"], "Ana Paula", "{req}");

    // Another company: no templates of ours, and ours are not found.
    let other = t.create_tenant("vizinha").await;
    t.create_user(other, "sup@vizinha.test", Role::Supervisor, "correct horse battery").await;
    let theirs = t.login("sup@vizinha.test", "correct horse battery", "vizinha").await;
    let list = theirs.get(t.url("/admin/templates")).send().await.unwrap().text().await.unwrap();
    assert!(!list.contains("atendimento_retorno"));
    assert_eq!(theirs.get(t.url(&format!("/admin/templates/{retorno}"))).send().await.unwrap().status(), 404);
    let csrf = extract_csrf(&list);
    let r = theirs
        .post(t.url(&format!("/admin/templates/{retorno}")))
        .form(&[("csrf", csrf.as_str()), ("kind.1", "text"), ("value.1", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Supervisors may not sync (admins do).
    let r = theirs
        .post(t.url("/admin/templates/sync"))
        .form(&[("csrf", csrf.as_str()), ("connection_id", &conn.to_string())])
        .send()
        .await
        .unwrap();
    assert!(r.status() == 403 || r.status() == 404, "{}", r.status());
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(an_agent_starts_a_conversation_with_a_typed_number_through_a_template, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, conn) = connected(&t, demo).await;
    atende::actions::templates::sync_now(&t.app, &atende::actions::Actor::Operator, demo, conn).await.unwrap();
    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    let web = t.login("ana@demo.local", "ana-password-1", "demo").await;
    let inbox = web.get(t.url("/inbox")).send().await.unwrap().text().await.unwrap();
    assert!(inbox.contains("href=\"/inbox/new\""), "the inbox offers Novo atendimento");

    let at = |phone: &str| t.url(&format!("/inbox/new?connection_id={conn}&phone={}", urlencode(phone)));
    let bad = web.get(at("12")).send().await.unwrap();
    assert_eq!(bad.status(), 422);
    // A customer who wrote before from the nine-digit number is found by the old eight-digit form.
    customer_writes(&t, &sim, "5511987650002", "oi").await;
    let known = web.get(at("(11) 8765-0002")).send().await.unwrap().text().await.unwrap();
    assert!(known.contains("· Cliente"), "{known}");

    let page = web.get(at("11 98765-4321")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("+55 11 98765-4321"), "national number read as Brazilian: {page}");
    let retorno = template_id(&t, "atendimento_retorno").await;
    assert!(page.contains(&format!("name=\"template_id\" value=\"{retorno}\"")));
    let csrf = extract_csrf(&page);
    // Text to a number that never wrote: the window is closed, the text is kept in the form.
    let r = web
        .post(t.url("/inbox/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("connection_id", &conn.to_string()),
            ("phone", "5511987654321"),
            ("body", "Oi, tudo bem?"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Oi, tudo bem?"));
    let r = web
        .post(t.url("/inbox/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("connection_id", &conn.to_string()),
            ("phone", "5511987654321"),
            ("template_id", &retorno.to_string()),
            ("p.1", "Maria"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let ticket: i64 = to.trim_start_matches("/inbox/").parse().unwrap();
    assert_eq!(web.get(t.url(&to)).send().await.unwrap().status(), 200, "the agent lands in the conversation");
    let assignee: Option<i64> = sqlx::query_scalar("SELECT assignee_id FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap();
    assert_eq!(assignee, Some(ana.id.0), "the conversation is the agent's");
    let sent = eventually("the template at the simulator", || async {
        let all = sim.sent_messages();
        all.iter().any(|m| m.to == "5511987654321").then_some(all)
    })
    .await;
    let m = sent.iter().find(|m| m.to == "5511987654321").unwrap();
    assert_eq!(m.request["template"]["name"], "atendimento_retorno");
    assert_eq!(m.request["template"]["components"][0]["parameters"][0]["text"], "Maria");
    sim.shutdown().await;
    t.stop().await;
});

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
