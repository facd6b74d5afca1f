//! The status page: the public page renders without login, escapes everything and shows nothing
//! of another company (nor anything of a company that turned it off); the Atom feed is well
//! formed and escaped; the admin flow over HTTP is audited; another company's ticket cannot be
//! linked; resolving tells the customers of linked tickets; the chatbot tells a customer about
//! an open incident once per ticket and not after it is resolved; the API. SQLite and PostgreSQL.

use atende::actions::automation::{self, AutomationInput};
use atende::actions::status_page::{self as status, ComponentInput, IncidentInput};
use atende::actions::{ActionError, Actor};
use atende::domain::{Role, Scope, TenantId};
use atende::store::status_page::StatusSettings;
use serde_json::{json, Value};
use wa_sim::CustomerMessage;

use crate::automation::{eventually, sent, settled, ALWAYS};
use crate::engine_test;
use crate::support::{extract_csrf, sent_to_sim, TestApp};

const XSS: &str = "<script>alert('x')</script>";

async fn component(t: &TestApp, tenant: TenantId, name: &str, state: &str) -> i64 {
    let input = ComponentInput { name: name.into(), description: String::new(), position: 0, state: state.into() };
    status::create_component(&t.app, &Actor::Operator, tenant, &input).await.unwrap().id
}

async fn incident(t: &TestApp, tenant: TenantId, title: &str, components: Vec<i64>, notify: bool) -> i64 {
    let input = IncidentInput {
        title: title.into(),
        body: format!("Investigando: {title}"),
        state: "investigating".into(),
        impact: "partial_outage".into(),
        components,
        notify_on_resolve: notify,
    };
    status::open_incident(&t.app, &Actor::Operator, tenant, &input).await.unwrap().id
}

async fn get(t: &TestApp, path: &str) -> (u16, String) {
    let r = reqwest::get(t.url(path)).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The ticket of a customer's phone in a company, once ingest stored it.
async fn ticket_of(t: &TestApp, tenant: TenantId, phone: &str) -> i64 {
    eventually("the ticket", || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT t.id FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE t.tenant_id = $1 AND c.phone = $2",
        )
        .bind(tenant.0)
        .bind(phone)
        .fetch_optional(t.app.db.reader())
        .await
        .unwrap()
    })
    .await
}

engine_test!(the_public_page_needs_no_login_escapes_everything_and_keeps_companies_apart, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let other = t.create_tenant("outra").await;
    let site = component(&t, demo, &format!("Site {XSS}"), "operational").await;
    component(&t, demo, "API", "degraded").await;
    let id = incident(&t, demo, &format!("Lentidão {XSS}"), vec![site], false).await;
    status::post_update(&t.app, &Actor::Operator, demo, id, "identified", "Causa: <b>disco</b> & rede").await.unwrap();
    component(&t, other, "Segredo da Outra", "major_outage").await;
    incident(&t, other, "Incidente da Outra", Vec::new(), false).await;

    let (code, html) = get(&t, "/status/demo").await;
    assert_eq!(code, 200, "{html}");
    assert!(
        html.contains("Status do serviço") && html.contains("Identificado") && html.contains("Investigando"),
        "{html}"
    );
    assert!(!html.contains("<script>alert") && !html.contains("<b>disco"), "unescaped text: {html}");
    assert!(html.contains("&#60;script&#62;") && html.contains("&#60;b&#62;disco&#60;/b&#62; &#38; rede"), "{html}");
    // The site is down by the open incident (its own state is operational); the page says so.
    assert!(html.contains(r#"data-state="partial_outage""#), "{html}");
    assert!(html.contains(r#"id="overall" data-state="partial_outage""#), "{html}");
    assert_eq!(html.matches(r#"<li class="sp-day "#).count(), 90, "{html}");
    assert!(html.contains(r#"data-incidents="1""#), "today counts the open incident: {html}");
    // No staff names on the public page ("operator" wrote the updates).
    assert!(!html.contains("operator"), "{html}");
    for leak in ["Segredo da Outra", "Incidente da Outra"] {
        assert!(!html.contains(leak), "the demo page shows {leak}");
    }
    let (code, html) = get(&t, "/status/outra").await;
    assert_eq!(code, 200);
    assert!(html.contains("Segredo da Outra") && html.contains("Incidente da Outra"));
    assert!(!html.contains("Lentidão") && !html.contains("API"), "{html}");

    for missing in ["/status/nao-existe", "/status/platform", "/status/nao-existe/feed.atom"] {
        let (code, html) = get(&t, missing).await;
        assert_eq!(code, 404, "{missing}");
        assert!(html.contains("Página não encontrada"), "{missing}: {html}");
    }
    // A company that turns its page off answers 404, feed included.
    let off = StatusSettings { public_enabled: false, chatbot_notice: true };
    status::save_settings(&t.app, &Actor::Operator, other, off).await.unwrap();
    assert_eq!(get(&t, "/status/outra").await.0, 404);
    assert_eq!(get(&t, "/status/outra/feed.atom").await.0, 404);
    assert_eq!(get(&t, "/status/demo").await.0, 200);
    t.stop().await;
});

/// Tags open and close in order (a light well-formedness check: no parser in the tree).
fn balanced(xml: &str) -> bool {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find('<') {
        let Some(end) = rest[at..].find('>') else { return false };
        let tag = &rest[at + 1..at + end];
        rest = &rest[at + end + 1..];
        if tag.starts_with('?') || tag.ends_with('/') {
            continue;
        }
        let name = tag.trim_start_matches('/').split_whitespace().next().unwrap_or("").to_string();
        if tag.starts_with('/') {
            if stack.pop().as_deref() != Some(name.as_str()) {
                return false;
            }
        } else {
            stack.push(name);
        }
    }
    stack.is_empty()
}

engine_test!(the_atom_feed_is_well_formed_escaped_and_of_one_company, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let other = t.create_tenant("outra").await;
    let id = incident(&t, demo, &format!("Pagamentos {XSS}"), Vec::new(), false).await;
    status::post_update(&t.app, &Actor::Operator, demo, id, "resolved", "Resolvido & <i>normal</i>").await.unwrap();
    incident(&t, other, "Incidente da Outra", Vec::new(), false).await;

    let response = reqwest::get(t.url("/status/demo/feed.atom")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/atom+xml; charset=utf-8");
    let xml = response.text().await.unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"), "{xml}");
    assert!(xml.contains(r#"<feed xmlns="http://www.w3.org/2005/Atom""#), "{xml}");
    assert!(balanced(&xml), "tags do not balance: {xml}");
    let feed_head = &xml[..xml.find("<entry>").unwrap()];
    for element in ["<id>", "<title>", "<updated>", "<author><name>"] {
        assert_eq!(feed_head.matches(element).count(), 1, "{element} in {feed_head}");
    }
    assert_eq!(xml.matches("<entry>").count(), 2, "{xml}");
    for entry in xml.split("<entry>").skip(1) {
        for element in ["<id>", "<title>", "<updated>", "<content type=\"text\">"] {
            assert_eq!(entry.matches(element).count(), 1, "{element} in {entry}");
        }
        let updated = entry.split("<updated>").nth(1).unwrap().split("</updated>").next().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(updated).is_ok(), "{updated}");
    }
    assert!(!xml.contains("<script>") && !xml.contains("<i>"), "{xml}");
    assert!(xml.contains("Pagamentos &lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; — Resolvido"), "{xml}");
    assert!(xml.contains("Resolvido &amp; &lt;i&gt;normal&lt;/i&gt;"), "{xml}");
    assert!(!xml.contains("Outra"), "{xml}");
    t.stop().await;
});

async fn post_form(t: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let html = client.get(t.url("/admin/status")).send().await.unwrap().text().await.unwrap();
    let csrf = extract_csrf(&html);
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client.post(t.url(path)).form(&form).send().await.unwrap()
}

engine_test!(the_admin_flow_over_http_is_audited_and_closed_to_agents, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let admin = t.login_demo_admin().await;
    let page = admin.get(t.url("/admin/status")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Avisar clientes no chatbot enquanto houver incidente aberto") && html.contains("/status/demo")
    );
    assert!(html.contains(r#"href="/admin/status""#), "the sidebar lists the page");

    let r = post_form(
        &t,
        &admin,
        "/admin/status/components",
        &[("name", "Site"), ("position", "1"), ("state", "operational")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let site: i64 = sqlx::query_scalar("SELECT id FROM status_components WHERE tenant_id = $1 AND name = 'Site'")
        .bind(demo.0)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap();
    // A bad state is refused with the page and its message, nothing saved.
    let r = post_form(&t, &admin, "/admin/status/components", &[("name", "X"), ("state", "quebrado")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Escolha um estado da lista."));
    let component = format!("component_{site}");
    let fields = [
        ("title", "Lentidão no site"),
        ("body", "Estamos investigando."),
        ("state", "investigating"),
        ("impact", "degraded"),
        (component.as_str(), "1"),
    ];
    let r = post_form(&t, &admin, "/admin/status/incidents", &fields).await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/admin/status/incidents/"), "{to}");
    let id: i64 = to.trim_start_matches("/admin/status/incidents/").split('?').next().unwrap().parse().unwrap();
    let html = admin.get(t.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Lentidão no site") && html.contains("Incidente aberto.") && html.contains("Site"), "{html}");
    let r = post_form(
        &t,
        &admin,
        &format!("/admin/status/incidents/{id}/updates"),
        &[("state", "monitoring"), ("body", "Corrigido, monitorando.")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(&t, &admin, &format!("/admin/status/incidents/{id}/resolve"), &[("body", "")]).await;
    assert_eq!(r.status(), 303);
    // Resolved: no more updates.
    let r = post_form(
        &t,
        &admin,
        &format!("/admin/status/incidents/{id}/updates"),
        &[("state", "monitoring"), ("body", "De novo")],
    )
    .await;
    assert_eq!(r.status(), 409);
    let html = admin.get(t.url(&format!("/admin/status/incidents/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Este incidente está resolvido.")
            && html.contains("Monitorando")
            && html.contains("O problema foi resolvido"),
        "{html}"
    );
    for action in
        ["status.component_created", "status.incident_opened", "status.incident_updated", "status.incident_resolved"]
    {
        assert_eq!(
            t.count("audit_log", &format!("tenant_id = {} AND action = '{action}'", demo.0)).await,
            1,
            "{action}"
        );
    }
    let r = post_form(&t, &admin, "/admin/status/settings", &[("public_enabled", "1")]).await;
    assert_eq!(r.status(), 303);
    assert!(!status::settings(&t.app, &Actor::Operator, demo).await.unwrap().chatbot_notice);
    assert_eq!(t.count("audit_log", &format!("tenant_id = {} AND action = 'status.settings_saved'", demo.0)).await, 1);

    // Agents neither see the page nor change anything.
    t.create_user(demo, "agente@demo.local", Role::Agent, "senha-do-agente-1").await;
    let agent = t.login("agente@demo.local", "senha-do-agente-1", "demo").await;
    assert_eq!(agent.get(t.url("/admin/status")).send().await.unwrap().status(), 403);
    let r = post_form(&t, &agent, "/admin/status/components", &[("name", "Invasor"), ("state", "operational")]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(t.count("status_components", "name = 'Invasor'").await, 0);
    t.stop().await;
});

engine_test!(a_ticket_of_another_company_cannot_be_linked, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let other = t.create_tenant("outra").await;
    let config = wa_sim::SimConfig { phone_number_id: "100000000000077".into(), ..wa_sim::SimConfig::default() };
    let (sim, _) = t.simulator_with(other, "WhatsApp", config).await;
    sim.customer_sends("5511911112222", "Cliente da Outra", CustomerMessage::Text("Oi".into())).await.unwrap();
    let foreign = ticket_of(&t, other, "5511911112222").await;
    let id = incident(&t, demo, "Queda", Vec::new(), true).await;
    let e = status::link_ticket(&t.app, &Actor::Operator, demo, id, &foreign.to_string()).await.unwrap_err();
    assert!(matches!(e, ActionError::NotFound), "{e:?}");
    let protocol: Option<String> = sqlx::query_scalar("SELECT protocol FROM tickets WHERE id = $1")
        .bind(foreign)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap();
    if let Some(p) = protocol {
        let e = status::link_ticket(&t.app, &Actor::Operator, demo, id, &p).await.unwrap_err();
        assert!(matches!(e, ActionError::NotFound), "{e:?}");
    }
    // Over HTTP too (the admin page and the API), and nothing is linked.
    let admin = t.login_demo_admin().await;
    let r =
        post_form(&t, &admin, &format!("/admin/status/incidents/{id}/tickets"), &[("reference", &foreign.to_string())])
            .await;
    assert_eq!(r.status(), 404);
    let token = t.token(demo, &Scope::ALL).await;
    let r = reqwest::Client::new()
        .post(t.url(&format!("/api/v1/status/incidents/{id}/tickets")))
        .bearer_auth(&token)
        .json(&json!({ "ticket_id": foreign }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The other company's incident is not found from the demo either.
    let theirs = incident(&t, other, "Deles", Vec::new(), false).await;
    assert!(matches!(
        status::incident(&t.app, &Actor::Operator, demo, theirs).await.unwrap_err(),
        ActionError::NotFound
    ));
    assert_eq!(t.count("status_incident_tickets", "1 = 1").await, 0);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(resolving_with_notification_tells_the_customers_of_linked_tickets, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, _) = t.simulator(demo).await;
    sim.customer_sends("5511933334444", "Ana", CustomerMessage::Text("O site caiu?".into())).await.unwrap();
    let ticket = ticket_of(&t, demo, "5511933334444").await;
    let id = incident(&t, demo, "Site fora do ar", Vec::new(), true).await;
    let linked = status::link_ticket(&t.app, &Actor::Operator, demo, id, &ticket.to_string()).await.unwrap();
    assert_eq!(linked.ticket_id, ticket);
    // Linking again changes nothing.
    status::link_ticket(&t.app, &Actor::Operator, demo, id, &format!("#{ticket}")).await.unwrap();
    assert_eq!(t.count("status_incident_tickets", &format!("incident_id = {id}")).await, 1);
    // A customer who last wrote two days ago is outside WhatsApp's window: not told, counted.
    sim.customer_sends("5511933335555", "Beto", CustomerMessage::Text("Caiu?".into())).await.unwrap();
    let old = ticket_of(&t, demo, "5511933335555").await;
    sqlx::query("UPDATE tickets SET last_inbound_at = last_inbound_at - 172800000 WHERE id = $1")
        .bind(old)
        .execute(t.app.db.writer())
        .await
        .unwrap();
    status::link_ticket(&t.app, &Actor::Operator, demo, id, &old.to_string()).await.unwrap();
    let posted = status::post_update(&t.app, &Actor::Operator, demo, id, "resolved", "Normalizado.").await.unwrap();
    assert_eq!((posted.notified, posted.not_notified), (1, 1));
    let m = sent_to_sim(&sim, "the resolved notice", |m| {
        m["text"]["body"].as_str().is_some_and(|b| b.starts_with("Resolvido: Site fora do ar."))
    })
    .await;
    assert_eq!(m["to"], "5511933334444");
    assert!(m["text"]["body"].as_str().unwrap().contains("/status/demo"), "{m}");
    let audit: String = sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'status.incident_resolved'")
        .fetch_one(t.app.db.reader())
        .await
        .unwrap();
    let audit: Value = serde_json::from_str(&audit).unwrap();
    assert_eq!((audit["notified"].as_i64(), audit["not_notified"].as_i64()), (Some(1), Some(1)));
    // A second resolution is refused and sends nothing more.
    assert!(status::post_update(&t.app, &Actor::Operator, demo, id, "resolved", "De novo").await.is_err());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let told = sim
        .sent_messages()
        .iter()
        .filter(|m| m.request["text"]["body"].as_str().is_some_and(|b| b.starts_with("Resolvido:")))
        .count();
    assert_eq!(told, 1);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(
    the_chatbot_tells_of_an_open_incident_once_per_ticket_and_not_after_it_is_resolved,
    |t: TestApp| async move {
        let demo = t.demo_tenant().await;
        let input = AutomationInput {
            enabled: true,
            time_zone: "America/Sao_Paulo".into(),
            days: ALWAYS.map(str::to_string),
            optional_holidays: Vec::new(),
            greeting: "Olá! Já vamos te atender.".into(),
            away_message: String::new(),
            flow: String::new(),
            urgent_words: String::new(),
            handoff_after: 0,
        };
        automation::save(&t.app, &Actor::Operator, demo, input).await.unwrap();
        let (sim, _) = t.simulator(demo).await;
        let id = incident(&t, demo, "Instabilidade no PIX", Vec::new(), false).await;
        sim.customer_sends("5511955556666", "Bia", CustomerMessage::Text("Oi".into())).await.unwrap();
        let first = sent(&sim, 2).await;
        let bodies: Vec<&str> = first.iter().filter_map(|m| m["text"]["body"].as_str()).collect();
        let expected =
            format!("Há uma instabilidade conhecida: Instabilidade no PIX. Acompanhe em {}/status/demo", t.base);
        assert!(bodies.contains(&expected.as_str()) && bodies.contains(&"Olá! Já vamos te atender."), "{bodies:?}");
        // Once per ticket: the next message gets nothing more.
        sim.customer_sends("5511955556666", "Bia", CustomerMessage::Text("Alô?".into())).await.unwrap();
        settled(&t).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(sim.sent_messages().len(), 2);

        status::post_update(&t.app, &Actor::Operator, demo, id, "resolved", "Normalizado.").await.unwrap();
        sim.customer_sends("5511977778888", "Caio", CustomerMessage::Text("Oi".into())).await.unwrap();
        let all = sent(&sim, 3).await;
        settled(&t).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let notices = sim
            .sent_messages()
            .iter()
            .filter(|m| m.request["text"]["body"].as_str().is_some_and(|b| b.starts_with("Há uma instabilidade")))
            .count();
        assert_eq!((notices, sim.sent_messages().len()), (1, 3), "{all:?}");

        // Switched off on the status page: a new incident is not mentioned.
        let quiet = StatusSettings { public_enabled: true, chatbot_notice: false };
        status::save_settings(&t.app, &Actor::Operator, demo, quiet).await.unwrap();
        incident(&t, demo, "Outra instabilidade", Vec::new(), false).await;
        sim.customer_sends("5511999990000", "Duda", CustomerMessage::Text("Oi".into())).await.unwrap();
        sent(&sim, 4).await;
        settled(&t).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(sim.sent_messages().len(), 4, "only the greeting");
        sim.shutdown().await;
        t.stop().await;
    }
);

engine_test!(the_api_manages_components_and_incidents_and_refuses_bad_input, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let token = t.token(demo, &Scope::ALL).await;
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut r = client.request(method, t.url(&format!("/api/v1{path}"))).bearer_auth(&token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
    };
    let r =
        call(reqwest::Method::POST, "/status/components", Some(json!({"name": "API", "position": 2}))).await.unwrap();
    assert_eq!(r.status(), 201);
    let c: Value = r.json().await.unwrap();
    assert_eq!((c["name"].as_str(), c["state"].as_str()), (Some("API"), Some("operational")));
    let cid = c["id"].as_i64().unwrap();
    let r = call(reqwest::Method::PATCH, &format!("/status/components/{cid}"), Some(json!({"state": "major_outage"})))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "major_outage");
    let list: Value = call(reqwest::Method::GET, "/status/components", None).await.unwrap().json().await.unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    let body = json!({"title": "Queda da API", "body": "Investigando.", "impact": "major_outage", "components": [cid]});
    let r = call(reqwest::Method::POST, "/status/incidents", Some(body)).await.unwrap();
    assert_eq!(r.status(), 201);
    let i: Value = r.json().await.unwrap();
    assert_eq!((i["state"].as_str(), i["resolved_at"].is_null()), (Some("investigating"), true));
    let iid = i["id"].as_i64().unwrap();
    let r = call(
        reqwest::Method::POST,
        &format!("/status/incidents/{iid}/updates"),
        Some(json!({"state": "resolved", "body": "Voltou."})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["update"]["state"], "resolved");
    let detail: Value =
        call(reqwest::Method::GET, &format!("/status/incidents/{iid}"), None).await.unwrap().json().await.unwrap();
    assert_eq!(detail["updates"].as_array().unwrap().len(), 2);
    assert_eq!(detail["components"], json!([cid]));
    assert!(detail["incident"]["resolved_at"].is_string());
    let list: Value = call(reqwest::Method::GET, "/status/incidents", None).await.unwrap().json().await.unwrap();
    assert_eq!(list["data"][0]["id"], iid);

    // Bad input: 4xx with stable codes, nothing written.
    let (updates, tickets) = (format!("/status/incidents/{iid}/updates"), format!("/status/incidents/{iid}/tickets"));
    let cases = [
        ("/status/components", json!({"name": "  "}), 422, "invalid_component_name"),
        ("/status/components", json!({"name": "X", "state": "quebrado"}), 422, "invalid_body"),
        (
            "/status/incidents",
            json!({"title": "T", "body": "B", "impact": "degraded", "components": [999999]}),
            422,
            "invalid_incident_components",
        ),
        (
            "/status/incidents",
            json!({"title": "T", "body": "B", "impact": "degraded", "state": "resolved"}),
            422,
            "invalid_incident_state",
        ),
        (updates.as_str(), json!({"state": "monitoring", "body": "Outra"}), 409, "incident_resolved"),
        (tickets.as_str(), json!({}), 422, "invalid_ticket_reference"),
    ];
    for (path, body, code, error) in cases {
        let r = call(reqwest::Method::POST, path, Some(body.clone())).await.unwrap();
        assert_eq!(r.status().as_u16(), code, "{path} {body}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], error, "{path} {body}");
    }
    assert_eq!(t.count("status_components", &format!("tenant_id = {}", demo.0)).await, 1);
    assert_eq!(t.count("status_incidents", &format!("tenant_id = {}", demo.0)).await, 1);
    let reader = t.token(demo, &[Scope::Read]).await;
    let r = client
        .post(t.url("/api/v1/status/components"))
        .bearer_auth(&reader)
        .json(&json!({"name": "Y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    t.stop().await;
});
