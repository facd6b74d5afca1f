//! The inbox administration pages over HTTP: departments (members, connection default),
//! quick replies, inbox settings and the signature preference — who may open them, tenant
//! isolation and escaping.

use atende::actions::connections::{create_whatsapp_cloud, CreateWhatsappCloud};
use atende::actions::departments::{self, DepartmentInput};
use atende::actions::{self, Actor};
use atende::domain::inbox::DistributionMode;
use atende::domain::{Role, TenantId};

use crate::engine_test;
use crate::support::TestApp;

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

fn location(r: &reqwest::Response) -> String {
    r.headers().get(reqwest::header::LOCATION).expect("has Location").to_str().unwrap().to_string()
}

async fn id_of(t: &TestApp, sql: &str) -> i64 {
    sqlx::Row::get(&sqlx::query(sql).fetch_one(t.app.db.reader()).await.unwrap(), 0)
}

async fn connect(t: &TestApp, tenant: TenantId) -> i64 {
    let input = CreateWhatsappCloud {
        name: "WhatsApp",
        phone_number_id: "PN77",
        waba_id: "WABA77",
        access_token: "token-for-tests",
        app_secret: "secret-for-tests",
        graph_url: Some("http://127.0.0.1:9"),
        api_version: None,
        rate_per_sec: None,
    };
    create_whatsapp_cloud(&t.app, &Actor::Operator, tenant, input).await.unwrap().connection.id
}

pub(crate) async fn department(t: &TestApp, tenant: TenantId, name: &str) -> i64 {
    let input = DepartmentInput {
        name: name.into(),
        colour: "#2563eb".into(),
        greeting: String::new(),
        sign_messages: false,
        distribution_mode: DistributionMode::Off,
    };
    departments::create_department(&t.app, &Actor::Operator, tenant, input).await.unwrap().id
}

engine_test!(an_admin_creates_edits_and_staffs_a_department_and_routes_a_connection_to_it, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let conn = connect(&t, demo).await;
    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    let admin = t.login_demo_admin().await;

    let (status, list) = page(&t, &admin, "/admin/departments").await;
    assert_eq!(status, 200);
    assert!(list.contains("Nenhum setor ainda."), "{list}");
    for link in ["/admin/departments", "/admin/quick-replies", "/admin/settings"] {
        assert!(list.contains(&format!("href=\"{link}\"")), "admins see {link} in the menu");
    }

    let created = post_form(
        &t,
        &admin,
        "/admin/departments",
        &[
            ("name", "Vendas"),
            ("colour", "#FF0000"),
            ("greeting", "Olá! Você está em Vendas."),
            ("sign_messages", "1"),
            ("distribution_mode", "round_robin"),
        ],
    )
    .await;
    assert_eq!(created.status(), 303);
    let id = id_of(&t, "SELECT id FROM departments WHERE name = 'Vendas'").await;
    assert_eq!(location(&created), format!("/admin/departments/{id}?saved=department_created"));
    assert_eq!(
        t.count(
            "departments",
            "name = 'Vendas' AND colour = '#ff0000' AND sign_messages = 1 AND distribution_mode = 'round_robin' \
             AND greeting = 'Olá! Você está em Vendas.'"
        )
        .await,
        1
    );

    // A bad colour is refused with a message and the typed name kept.
    let refused = post_form(
        &t,
        &admin,
        "/admin/departments",
        &[("name", "Suporte"), ("colour", "red"), ("distribution_mode", "off")],
    )
    .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("value=\"Suporte\""), "{html}");
    assert_eq!(t.count("departments", "name = 'Suporte'").await, 0);

    // Members: a checkbox per person of the company.
    let (status, edit) = page(&t, &admin, &format!("/admin/departments/{id}?saved=department_created")).await;
    assert_eq!(status, 200);
    assert!(edit.contains("Setor criado."), "the banner says what was created: {edit}");
    assert!(edit.contains(&format!("name=\"member\" value=\"{}\"", ana.id.0)), "{edit}");
    let added =
        post_form(&t, &admin, &format!("/admin/departments/{id}/members"), &[("member", &ana.id.0.to_string())]).await;
    assert_eq!(added.status(), 303);
    let member = format!("department_id = {id} AND user_id = {}", ana.id.0);
    assert_eq!(t.count("department_members", &member).await, 1);
    let (_, list) = page(&t, &admin, "/admin/departments").await;
    assert!(list.contains("fill=\"#ff0000\""), "colour swatch: {list}");
    assert!(list.contains("Rodízio"), "{list}");

    // Edit.
    let edited = post_form(
        &t,
        &admin,
        &format!("/admin/departments/{id}"),
        &[("name", "Vendas B2B"), ("colour", "#00aa00"), ("distribution_mode", "least_busy")],
    )
    .await;
    assert_eq!(edited.status(), 303);
    assert_eq!(
        t.count(
            "departments",
            &format!(
                "id = {id} AND name = 'Vendas B2B' AND colour = '#00aa00' AND sign_messages = 0 \
                 AND distribution_mode = 'least_busy'"
            )
        )
        .await,
        1
    );
    let (_, edit) = page(&t, &admin, &format!("/admin/departments/{id}")).await;
    assert!(edit.contains("Vendas B2B") && edit.contains("checked"), "{edit}");

    // The connection's default department.
    let (_, conns) = page(&t, &admin, "/admin/connections").await;
    assert!(conns.contains(&format!("/admin/connections/{conn}/department")), "{conns}");
    let set =
        post_form(&t, &admin, &format!("/admin/connections/{conn}/department"), &[("department_id", &id.to_string())])
            .await;
    assert_eq!(set.status(), 303);
    assert_eq!(t.count("connections", &format!("id = {conn} AND default_department_id = {id}")).await, 1);
    let (_, conns) = page(&t, &admin, "/admin/connections?saved=1").await;
    assert!(conns.contains(&format!("<option value=\"{id}\" selected>Vendas B2B</option>")), "{conns}");

    // Removing the member, then deleting the department.
    let removed = post_form(&t, &admin, &format!("/admin/departments/{id}/members"), &[]).await;
    assert_eq!(removed.status(), 303);
    assert_eq!(t.count("department_members", &member).await, 0);
    let cleared =
        post_form(&t, &admin, &format!("/admin/connections/{conn}/department"), &[("department_id", "")]).await;
    assert_eq!(cleared.status(), 303);
    assert_eq!(t.count("connections", &format!("id = {conn} AND default_department_id IS NULL")).await, 1);
    let deleted = post_form(&t, &admin, &format!("/admin/departments/{id}/delete"), &[]).await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(t.count("departments", &format!("id = {id}")).await, 0);
    t.stop().await;
});

engine_test!(a_supervisor_keeps_quick_replies_but_not_departments_or_settings, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let sales = department(&t, demo, "Vendas").await;
    t.create_user(demo, "sup@demo.local", Role::Supervisor, "sup-password-1").await;
    let sup = t.login("sup@demo.local", "sup-password-1", "demo").await;

    let (status, list) = page(&t, &sup, "/admin/quick-replies").await;
    assert_eq!(status, 200);
    assert!(list.contains("href=\"/admin/quick-replies\""), "{list}");
    assert!(!list.contains("href=\"/admin/departments\"") && !list.contains("href=\"/admin/settings\""), "{list}");
    assert!(list.contains("{{nome}}") && list.contains("{{protocolo}}") && list.contains("{{atendente}}"), "{list}");
    assert_eq!(page(&t, &sup, "/admin/departments").await.0, 403);
    assert_eq!(page(&t, &sup, "/admin/settings").await.0, 403);

    let created = post_form(
        &t,
        &sup,
        "/admin/quick-replies",
        &[("shortcut", "/ola"), ("body", "Olá {{nome}}, protocolo {{protocolo}}"), ("department_id", "")],
    )
    .await;
    assert_eq!(created.status(), 200);
    assert_eq!(t.count("quick_replies", "shortcut = 'ola' AND department_id IS NULL").await, 1);
    let created = post_form(
        &t,
        &sup,
        "/admin/quick-replies",
        &[("shortcut", "preco"), ("body", "Tabela de preços"), ("department_id", &sales.to_string())],
    )
    .await;
    assert_eq!(created.status(), 200);
    let html = created.text().await.unwrap();
    assert!(html.contains("/preco") && html.contains("Vendas"), "{html}");
    assert_eq!(t.count("quick_replies", &format!("shortcut = 'preco' AND department_id = {sales}")).await, 1);

    // A duplicate is refused, a bad shortcut too; nothing added.
    let dup = post_form(&t, &sup, "/admin/quick-replies", &[("shortcut", "ola"), ("body", "x")]).await;
    assert_eq!(dup.status(), 409);
    let bad = post_form(&t, &sup, "/admin/quick-replies", &[("shortcut", "Olá!"), ("body", "x")]).await;
    assert_eq!(bad.status(), 422);
    assert_eq!(t.count("quick_replies", "1=1").await, 2);

    // Edit and delete.
    let qid = id_of(&t, "SELECT id FROM quick_replies WHERE shortcut = 'ola'").await;
    let (status, edit) = page(&t, &sup, &format!("/admin/quick-replies/{qid}")).await;
    assert_eq!(status, 200);
    assert!(edit.contains("Olá {{nome}}"), "{edit}");
    let updated = post_form(
        &t,
        &sup,
        &format!("/admin/quick-replies/{qid}"),
        &[("shortcut", "oi"), ("body", "Oi {{nome}}"), ("department_id", &sales.to_string())],
    )
    .await;
    assert_eq!(updated.status(), 303);
    assert_eq!(
        t.count("quick_replies", &format!("id = {qid} AND shortcut = 'oi' AND department_id = {sales}")).await,
        1
    );
    let deleted = post_form(&t, &sup, &format!("/admin/quick-replies/{qid}/delete"), &[]).await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(t.count("quick_replies", &format!("id = {qid}")).await, 0);
    t.stop().await;
});

engine_test!(an_admin_sets_inbox_settings_and_a_person_their_signature, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let admin = t.login_demo_admin().await;
    let (status, html) = page(&t, &admin, "/admin/settings").await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"reopen_window_minutes\""), "{html}");
    let saved = post_form(
        &t,
        &admin,
        "/admin/settings",
        &[
            ("reopen_window_minutes", "90"),
            ("csat_enabled", "1"),
            ("csat_question", "De 1 a 5, como foi?"),
            ("farewell", "Até logo!"),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let s = actions::settings::get_settings(&t.app, &Actor::Operator, demo).await.unwrap();
    assert_eq!(s.reopen_window_minutes, 90);
    assert!(s.csat_enabled);
    assert_eq!(s.csat_question, "De 1 a 5, como foi?");
    assert_eq!(s.farewell, "Até logo!");
    let refused = post_form(&t, &admin, "/admin/settings", &[("reopen_window_minutes", "999999")]).await;
    assert_eq!(refused.status(), 422);
    let refused = post_form(&t, &admin, "/admin/settings", &[("reopen_window_minutes", "abc")]).await;
    assert_eq!(refused.status(), 422);
    let s = actions::settings::get_settings(&t.app, &Actor::Operator, demo).await.unwrap();
    assert_eq!(s.reopen_window_minutes, 90, "a refused form changes nothing");

    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    let agent = t.login("ana@demo.local", "ana-password-1", "demo").await;
    let (_, account) = page(&t, &agent, "/account").await;
    assert!(account.contains("Assinar minhas mensagens") && account.contains("name=\"signature\""), "{account}");
    let on = post_form(&t, &agent, "/account/signature", &[("signature", "1")]).await;
    assert_eq!(on.status(), 303);
    assert_eq!(t.count("users", &format!("id = {} AND signature_enabled = 1", ana.id.0)).await, 1);
    let off = post_form(&t, &agent, "/account/signature", &[]).await;
    assert_eq!(off.status(), 303);
    assert_eq!(t.count("users", &format!("id = {} AND signature_enabled = 0", ana.id.0)).await, 1);
    t.stop().await;
});

engine_test!(an_agent_cannot_open_or_use_the_admin_pages_and_sees_no_links, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let sales = department(&t, demo, "Vendas").await;
    let conn = connect(&t, demo).await;
    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    let agent = t.login("ana@demo.local", "ana-password-1", "demo").await;
    let (_, home) = page(&t, &agent, "/").await;
    for link in ["/admin/departments", "/admin/quick-replies", "/admin/settings"] {
        assert!(!home.contains(link), "agents see no {link} link");
    }
    for path in [
        "/admin/departments".to_string(),
        format!("/admin/departments/{sales}"),
        "/admin/quick-replies".to_string(),
        "/admin/settings".to_string(),
    ] {
        assert_eq!(page(&t, &agent, &path).await.0, 403, "{path}");
    }
    let fields = [("name", "Hack"), ("colour", "#000000"), ("distribution_mode", "off")];
    assert_eq!(post_form(&t, &agent, "/admin/departments", &fields).await.status(), 403);
    assert_eq!(post_form(&t, &agent, &format!("/admin/departments/{sales}"), &fields).await.status(), 403);
    let me = ana.id.0.to_string();
    let r = post_form(&t, &agent, &format!("/admin/departments/{sales}/members"), &[("member", &me)]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(post_form(&t, &agent, &format!("/admin/departments/{sales}/delete"), &[]).await.status(), 403);
    let r = post_form(
        &t,
        &agent,
        &format!("/admin/connections/{conn}/department"),
        &[("department_id", &sales.to_string())],
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post_form(&t, &agent, "/admin/quick-replies", &[("shortcut", "x"), ("body", "y")]).await;
    assert_eq!(r.status(), 403);
    let r = post_form(&t, &agent, "/admin/settings", &[("reopen_window_minutes", "1")]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(t.count("departments", "1=1").await, 1);
    assert_eq!(t.count("departments", "name = 'Vendas'").await, 1);
    assert_eq!(t.count("department_members", "1=1").await, 0);
    assert_eq!(t.count("connections", "default_department_id IS NULL").await, 1);
    assert_eq!(t.count("quick_replies", "1=1").await, 0);
    t.stop().await;
});

engine_test!(another_companys_department_is_not_found_and_left_alone, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let other = t.create_tenant("outra").await;
    let theirs = department(&t, other, "Deles").await;
    let conn = connect(&t, demo).await;
    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    let admin = t.login_demo_admin().await;

    assert_eq!(page(&t, &admin, &format!("/admin/departments/{theirs}")).await.0, 404);
    let fields = [("name", "Roubado"), ("colour", "#000000"), ("distribution_mode", "off")];
    assert_eq!(post_form(&t, &admin, &format!("/admin/departments/{theirs}"), &fields).await.status(), 404);
    let r =
        post_form(&t, &admin, &format!("/admin/departments/{theirs}/members"), &[("member", &ana.id.0.to_string())])
            .await;
    assert_eq!(r.status(), 404);
    assert_eq!(post_form(&t, &admin, &format!("/admin/departments/{theirs}/delete"), &[]).await.status(), 404);
    let r = post_form(
        &t,
        &admin,
        &format!("/admin/connections/{conn}/department"),
        &[("department_id", &theirs.to_string())],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(t.count("departments", &format!("id = {theirs} AND name = 'Deles'")).await, 1);
    assert_eq!(t.count("department_members", "1=1").await, 0);
    assert_eq!(t.count("connections", "default_department_id IS NULL").await, 1);
    let (_, list) = page(&t, &admin, "/admin/departments").await;
    assert!(!list.contains("Deles"), "{list}");
    // A quick reply cannot be filed under their department either.
    let r = post_form(
        &t,
        &admin,
        "/admin/quick-replies",
        &[("shortcut", "x"), ("body", "y"), ("department_id", &theirs.to_string())],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(t.count("quick_replies", "1=1").await, 0);
    t.stop().await;
});

engine_test!(markup_in_a_department_name_is_shown_as_text, |t: TestApp| async move {
    let admin = t.login_demo_admin().await;
    let name = "<script>alert(1)</script><b>Vendas</b>";
    let created = post_form(
        &t,
        &admin,
        "/admin/departments",
        &[("name", name), ("colour", "#123456"), ("distribution_mode", "off")],
    )
    .await;
    assert_eq!(created.status(), 303);
    let id = id_of(&t, "SELECT id FROM departments WHERE colour = '#123456'").await;
    for path in ["/admin/departments".to_string(), format!("/admin/departments/{id}"), "/admin/quick-replies".into()] {
        let (status, html) = page(&t, &admin, &path).await;
        assert_eq!(status, 200);
        assert!(!html.contains("<script>alert(1)") && !html.contains("<b>Vendas</b>"), "{path}: {html}");
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{path}: {html}");
    }
    // English on request.
    for (path, text) in [
        ("/admin/departments", "New department"),
        ("/admin/quick-replies", "New quick reply"),
        ("/admin/settings", "Reopen window (minutes)"),
        ("/account", "Sign my messages"),
    ] {
        let r = admin.get(t.url(path)).header("accept-language", "en-US,en;q=0.9").send().await.unwrap();
        let html = r.text().await.unwrap();
        assert!(html.contains(text) && html.contains(">Departments</span></a>"), "{path}: {html}");
    }
    t.stop().await;
});

engine_test!(the_company_time_zone_is_set_once_and_dates_follow_it, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let admin = t.login_demo_admin().await;
    let (_, html) = page(&t, &admin, "/admin/settings").await;
    assert!(html.contains(r#"name="time_zone" list="time-zones" value="America/Sao_Paulo""#), "{html}");
    // A contact with a dated consent shows the date on the company's clock.
    let row = actions::contacts::ContactRow {
        name: Some("Lia".into()),
        phone: Some("+55 92 91234-0003".into()),
        consent: Some("marketing_opt_in".into()),
        ..Default::default()
    };
    let c = actions::contacts::create_contact(&t.app, &Actor::Operator, demo, &row, "test").await.unwrap();
    let at = c.consent_at.unwrap();
    let shown = |zone: chrono_tz::Tz| {
        chrono::DateTime::from_timestamp_millis(at).unwrap().with_timezone(&zone).format("%d/%m/%Y %H:%M").to_string()
    };
    let (_, html) = page(&t, &admin, &format!("/contacts/{}", c.id)).await;
    assert!(html.contains(&shown(chrono_tz::America::Sao_Paulo)) && !html.contains(" UTC"), "{html}");

    let saved = post_form(
        &t,
        &admin,
        "/admin/settings",
        &[("time_zone", "America/Manaus"), ("reopen_window_minutes", "120"), ("farewell", "")],
    )
    .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(atende::store::automation::time_zone(t.app.db.reader(), demo).await.unwrap(), "America/Manaus");
    // One source of truth: the Horários page shows the same zone.
    let (_, hours) = page(&t, &admin, "/admin/automation").await;
    assert!(hours.contains("America/Manaus"), "{hours}");
    let (_, html) = page(&t, &admin, &format!("/contacts/{}", c.id)).await;
    assert!(html.contains(&shown(chrono_tz::America::Manaus)), "{html}");

    let refused =
        post_form(&t, &admin, "/admin/settings", &[("time_zone", "Mars/Olympus"), ("reopen_window_minutes", "120")])
            .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("Escolha um fuso horário"));
    assert_eq!(atende::store::automation::time_zone(t.app.db.reader(), demo).await.unwrap(), "America/Manaus");
    t.stop().await;
});
