//! The app shell over HTTP: the sidebar lists, per role, exactly the pages that role may open,
//! grouped and translated; the user menu is in the top bar.

use crate::engine_test;
use crate::support::TestApp;
use atende::domain::Role;

async fn page(client: &reqwest::Client, url: String) -> (u16, String) {
    let r = client.get(url).send().await.expect("get page");
    (r.status().as_u16(), r.text().await.expect("body"))
}

/// The sidebar's links, in order, from a page's HTML.
fn sidebar_links(html: &str) -> Vec<String> {
    let start = html.find("<aside class=\"sidebar\"").expect("a sidebar");
    let end = start + html[start..].find("</aside>").expect("the sidebar ends");
    html[start..end].split("<a href=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_string).collect()
}

/// The sidebar's group titles, in order.
fn sidebar_groups(html: &str) -> Vec<String> {
    html.split("<p class=\"nav-group-label\">")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(str::to_string)
        .collect()
}

const AGENT: &[&str] = &["/", "/inbox", "/contacts", "/tasks", "/kanban", "/schedules", "/chat"];
const SUPERVISOR_EXTRA: &[&str] =
    &["/admin/quick-replies", "/admin/tags", "/admin/templates", "/admin/status", "/admin/webhooks"];

engine_test!(the_sidebar_shows_each_role_the_pages_it_may_open, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    t.create_user(demo, "carla@demo.local", Role::Supervisor, "carla-password-1").await;
    let agent = t.login("ana@demo.local", "ana-password-1", "demo").await;
    let supervisor = t.login("carla@demo.local", "carla-password-1", "demo").await;
    let admin = t.login_demo_admin().await;
    let platform = t.login("admin@atende.local", &t.logins.platform_password, "platform").await;

    let (_, html) = page(&agent, t.url("/inbox")).await;
    assert_eq!(sidebar_links(&html), AGENT);
    assert_eq!(sidebar_groups(&html), ["Atendimento"], "groups with nothing to show are left out");
    // The user menu, top right: name, Minha conta, Sair.
    assert!(html.contains("<span class=\"user-name\">ana</span>"), "{html}");
    assert!(html.contains("href=\"/account\"") && html.contains("action=\"/logout\""));

    let (_, html) = page(&supervisor, t.url("/inbox")).await;
    let expected: Vec<&str> = [
        "/",
        "/inbox",
        "/contacts",
        "/tasks",
        "/kanban",
        "/schedules",
        "/chat",
        "/painel",
        "/campaigns",
        "/admin/sla",
        "/admin/quick-replies",
        "/admin/tags",
        "/admin/templates",
        "/admin/status",
        "/admin/webhooks",
    ]
    .to_vec();
    assert_eq!(sidebar_links(&html), expected);
    assert_eq!(sidebar_groups(&html), ["Atendimento", "Gestão", "Integrações"]);

    let (_, html) = page(&admin, t.url("/admin/departments")).await;
    let admin_links = [
        "/",
        "/inbox",
        "/contacts",
        "/tasks",
        "/kanban",
        "/schedules",
        "/chat",
        "/painel",
        "/campaigns",
        "/admin/departments",
        "/admin/chatbot",
        "/admin/automation",
        "/admin/sla",
        "/admin/users",
        "/admin/connections",
        "/admin/quick-replies",
        "/admin/tags",
        "/admin/templates",
        "/admin/status",
        "/admin/tokens",
        "/admin/webhooks",
        "/admin/settings",
        "/admin/plan",
        "/admin/audit",
    ];
    assert_eq!(sidebar_links(&html), admin_links);
    assert_eq!(sidebar_groups(&html), ["Atendimento", "Gestão", "Integrações", "Conta"]);
    assert!(
        html.contains("<a href=\"/admin/departments\" title=\"Setores\" aria-current=\"page\">"),
        "the current page is marked: {html}"
    );

    let (_, html) = page(&platform, t.url("/platform/tenants")).await;
    let platform_links = vec!["/platform/tenants", "/platform/plans", "/admin/users"];
    assert_eq!(sidebar_links(&html), platform_links, "the platform admin sees Empresas and its operators");
    assert_eq!(sidebar_groups(&html), ["Plataforma"]);

    // Every link a role is shown opens for that role.
    for (client, links) in [(&agent, AGENT.to_vec()), (&supervisor, expected.clone()), (&platform, platform_links)] {
        for link in links {
            let (status, _) = page(client, t.url(link)).await;
            assert_eq!(status, 200, "{link}");
        }
    }
    // And the pages a role is not shown stay closed to it.
    for link in SUPERVISOR_EXTRA.iter().chain(["/admin/users", "/admin/settings"].iter()) {
        let (status, _) = page(&agent, t.url(link)).await;
        assert_ne!(status, 200, "{link} is not for agents");
    }
    t.stop().await;
});

engine_test!(the_platform_admin_lands_on_the_companies_page, |t: TestApp| async move {
    let app = &t;
    let login = move |next: &'static str| async move {
        let t = app;
        let client = t.browser();
        let csrf = t.csrf(&client).await;
        let form = [
            ("csrf", csrf.as_str()),
            ("email", "admin@atende.local"),
            ("password", t.logins.platform_password.as_str()),
            ("tenant", "platform"),
            ("next", next),
        ];
        let r = client.post(t.url("/login")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 303);
        r.headers()["location"].to_str().unwrap().to_string()
    };
    assert_eq!(login("").await, "/platform/tenants", "no inbox for the platform tenant");
    // A page asked for before login still wins.
    assert_eq!(login("/account").await, "/account");
    let platform = t.login("admin@atende.local", &t.logins.platform_password, "platform").await;
    let r = platform.get(t.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/platform/tenants");
    let (status, html) = page(&platform, t.url("/platform/tenants")).await;
    assert_eq!(status, 200);
    let links = sidebar_links(&html);
    assert!(!links.iter().any(|l| l == "/inbox" || l == "/contacts" || l == "/"), "{links:?}");
    assert!(!html.contains("Atendimentos"), "no Atendimentos in the platform admin's menu");
    assert!(html.contains("<a class=\"brand\" href=\"/platform/tenants\">"), "{html}");
    // Company people still land on their inbox.
    let admin = t.browser();
    let csrf = t.csrf(&admin).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("email", "admin@demo.local"),
        ("password", t.logins.demo_password.as_str()),
        ("tenant", "demo"),
    ];
    let r = admin.post(t.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/inbox");
    t.stop().await;
});

/// The `away` flag of a person, read back from the database.
async fn away_of(t: &TestApp, email: &str) -> i64 {
    t.count("users", &format!("email = '{email}' AND away = 1")).await
}

engine_test!(people_switch_their_own_status_in_the_user_menu, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    let bia = t.create_user(demo, "bia@demo.local", Role::Agent, "bia-password-1").await;
    let other = t.create_tenant("outra").await;
    t.create_user(other, "ana@outra.local", Role::Agent, "ana-password-1").await;
    let agent = t.login("ana@demo.local", "ana-password-1", "demo").await;

    let (_, html) = page(&agent, t.url("/inbox?tab=mine")).await;
    assert!(html.contains("<strong>Online</strong>"), "the menu shows the status: {html}");
    assert!(html.contains("action=\"/account/status\"") && html.contains("Ficar ausente"), "{html}");
    assert!(html.contains("name=\"back\" value=\"/inbox?tab=mine\""), "the form comes back here: {html}");

    // Away: a plain form post (no script), back to the page it came from. A user id sent
    // along is ignored: people set only their own status.
    let csrf = t.csrf(&agent).await;
    let bia = bia.id.0.to_string();
    let form = [("csrf", csrf.as_str()), ("status", "away"), ("back", "/inbox?tab=mine"), ("user_id", bia.as_str())];
    let r = agent.post(t.url("/account/status")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/inbox?tab=mine");
    assert_eq!(away_of(&t, "ana@demo.local").await, 1);
    assert_eq!(t.count("users", "away = 1").await, 1, "nobody else, in no other company");
    let (_, html) = page(&agent, t.url("/inbox")).await;
    assert!(html.contains("<strong>Ausente</strong>") && html.contains("Ficar online"), "{html}");
    assert!(html.contains("class=\"presence away\""), "{html}");

    // The department page shows who is away.
    let sales = t.department(demo, "Vendas").await;
    atende::actions::departments::set_member(&t.app, &atende::actions::Actor::Operator, demo, sales, ana.id, true)
        .await
        .unwrap();
    let admin = t.login_demo_admin().await;
    let (_, html) = page(&admin, t.url(&format!("/admin/departments/{sales}"))).await;
    assert!(html.contains("<span class=\"member-status away\">Ausente</span>"), "{html}");

    // A bad value is refused with a code; a foreign "back" goes home instead.
    let r = agent
        .post(t.url("/account/status"))
        .form(&[("csrf", csrf.as_str()), ("status", "sleeping"), ("back", "/inbox")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Escolha Online ou Ausente."));
    let r = agent
        .post(t.url("/account/status"))
        .form(&[("csrf", csrf.as_str()), ("status", "online"), ("back", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/");
    assert_eq!(away_of(&t, "ana@demo.local").await, 0, "back online");
    // Without the CSRF token nothing changes.
    let r = agent.post(t.url("/account/status")).form(&[("status", "away")]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(away_of(&t, "ana@demo.local").await, 0);
    t.stop().await;
});

engine_test!(the_shell_speaks_the_users_language, |t: TestApp| async move {
    let admin = t.login_demo_admin().await;
    let csrf = t.csrf(&admin).await;
    let r = admin.post(t.url("/account")).form(&[("csrf", csrf.as_str()), ("locale", "en")]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = page(&admin, t.url("/inbox")).await;
    assert_eq!(sidebar_groups(&html), ["Service", "Management", "Integrations", "Account"]);
    assert!(html.contains("<span class=\"label\">Departments</span>"), "{html}");
    assert!(html.contains("Skip to content") && html.contains("My account") && html.contains("Log out"));
    t.stop().await;
});

/// The checklist's (done, total) from "N de M passos concluídos", and how many steps look done.
fn progress(html: &str) -> (String, usize) {
    let start = html.find("<span id=\"steps-count\">").expect("a progress line") + "<span id=\"steps-count\">".len();
    let line = html[start..].split('<').next().unwrap_or_default().to_string();
    (line, html.matches("<li class=\"done\">").count())
}

engine_test!(the_first_steps_follow_what_the_company_has_set_up, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let admin = t.login_demo_admin().await;
    let (status, html) = page(&admin, t.url("/")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Primeiros passos</h1>"), "{html}");
    assert_eq!(progress(&html), ("0 de 5 passos concluídos".to_string(), 0));
    for gone in ["próxima versão", "live-events", "Eventos ao vivo"] {
        assert!(!html.contains(gone), "the stale {gone} is gone");
    }
    for link in ["/admin/connections", "/admin/departments", "/admin/users", "/admin/quick-replies"] {
        assert!(html.contains(&format!("<a href=\"{link}\">")), "{link}");
    }

    // Each step is ticked by the real thing, in any order.
    let (sim, conn) = t.simulator(demo).await;
    let (_, html) = page(&admin, t.url("/")).await;
    assert_eq!(progress(&html).1, 1, "a connection");
    // In demo mode the last step opens the simulator's customer phone.
    assert!(html.contains(&format!("<a href=\"{}/\" target=\"_blank\" rel=\"noopener\">", sim.base_url())), "{html}");

    let sales = t.department(demo, "Vendas").await;
    t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    let (_, html) = page(&admin, t.url("/")).await;
    assert_eq!(progress(&html), ("3 de 5 passos concluídos".to_string(), 3));

    let reply = atende::actions::quick_replies::QuickReplyInput {
        department_id: None,
        shortcut: "ola".into(),
        body: "Olá!".into(),
    };
    atende::actions::quick_replies::create_quick_reply(&t.app, &atende::actions::Actor::Operator, demo, reply)
        .await
        .unwrap();
    atende::actions::departments::set_connection_department(
        &t.app,
        &atende::actions::Actor::Operator,
        demo,
        conn,
        Some(sales),
    )
    .await
    .unwrap();
    t.deliver_texts(conn, sim.phone_number_id(), "sim-app-secret", &[("5511988887777", "wamid.first", "Oi")]).await;
    let (_, html) = page(&admin, t.url("/")).await;
    assert_eq!(progress(&html), ("5 de 5 passos concluídos".to_string(), 5));
    assert!(html.contains("Tudo pronto!"), "{html}");

    // An agent sees no checklist but their own queue: the waiting ticket of their department.
    let ana = atende::store::users::find_by_email(t.app.db.reader(), demo, "ana@demo.local").await.unwrap().unwrap();
    atende::actions::departments::set_member(&t.app, &atende::actions::Actor::Operator, demo, sales, ana.id, true)
        .await
        .unwrap();
    let agent = t.login("ana@demo.local", "ana-password-1", "demo").await;
    let (_, html) = page(&agent, t.url("/")).await;
    assert!(!html.contains("steps-count") && !html.contains("/admin/connections"), "{html}");
    assert!(
        html.contains("<strong id=\"my-open\">0</strong>") && html.contains("<strong id=\"my-waiting\">1</strong>")
    );
    let row = sqlx::query("SELECT MAX(id) FROM tickets").fetch_one(t.app.db.reader()).await.unwrap();
    let ticket: i64 = sqlx::Row::get(&row, 0);
    atende::actions::inbox::capture(&t.app, &atende::actions::Actor::User(ana), demo, ticket).await.unwrap();
    let (_, html) = page(&agent, t.url("/")).await;
    assert!(
        html.contains("<strong id=\"my-open\">1</strong>") && html.contains("<strong id=\"my-waiting\">0</strong>")
    );
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(error_pages_are_pages_of_the_app_in_the_users_language, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let admin = t.login_demo_admin().await;

    // An unknown path: 404 in the shell, in pt-BR.
    let r = admin.get(t.url("/qualquer")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.headers().contains_key("content-security-policy"), "the page has the pages' headers");
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"pt-BR\">") && html.contains("<h1>Página não encontrada</h1>"), "{html}");
    assert!(html.contains("<aside class=\"sidebar\""), "in the shell: {html}");
    assert!(html.contains("Ir para Atendimentos"));

    // A ticket that does not exist, and another company's department: the same page.
    let (status, html) = page(&admin, t.url("/inbox/999999")).await;
    assert_eq!(status, 404);
    assert!(html.contains("<h1>Página não encontrada</h1>") && html.contains("sidebar"), "{html}");

    // Forbidden: an agent on an admin page gets 403 in the shell.
    t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    let agent = t.login("ana@demo.local", "ana-password-1", "demo").await;
    let (status, html) = page(&agent, t.url("/admin/users")).await;
    assert_eq!(status, 403);
    assert!(html.contains("<h1>Acesso negado</h1>") && html.contains("Você não tem permissão para isso."), "{html}");
    assert!(html.contains("<aside class=\"sidebar\""));

    // English for someone who reads English, logged in or not.
    let csrf = t.csrf(&agent).await;
    agent.post(t.url("/account")).form(&[("csrf", csrf.as_str()), ("locale", "en")]).send().await.unwrap();
    let (status, html) = page(&agent, t.url("/admin/users")).await;
    assert_eq!(status, 403);
    assert!(html.contains("<html lang=\"en\">") && html.contains("<h1>Access denied</h1>"), "{html}");
    let (status, html) = page(&agent, t.url("/nowhere")).await;
    assert_eq!(status, 404);
    assert!(html.contains("<h1>Page not found</h1>") && html.contains("Go to the inbox"), "{html}");
    let r = t.browser().get(t.url("/nowhere")).header("accept-language", "en-US,en;q=0.8").send().await.unwrap();
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(html.contains("<h1>Page not found</h1>") && !html.contains("sidebar"), "no shell without a session");
    assert!(html.contains("href=\"/login\""));

    // axum's own refusals are pages of the app too: a ticket id that is not a number, a form
    // that lacks a field.
    let (status, html) = page(&admin, t.url("/inbox/abc")).await;
    assert_eq!(status, 400);
    assert!(html.contains("<html lang=\"pt-BR\">") && html.contains("<aside class=\"sidebar\""), "{html}");
    assert!(html.contains("não é válido") && !html.contains("Cannot parse"), "{html}");
    let csrf = t.csrf(&admin).await;
    let r = admin.post(t.url("/admin/settings")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("não é válido") && !html.contains("invalid form"), "{html}");

    // The API keeps its JSON envelope.
    let r = admin.get(t.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    t.stop().await;
});

engine_test!(form_errors_are_translated_by_their_code, |t: TestApp| async move {
    let admin = t.login_demo_admin().await;
    let post = |path: &'static str, fields: Vec<(&'static str, &'static str)>| {
        let admin = admin.clone();
        let url = t.url(path);
        let csrf_page = t.url("/login");
        async move {
            let html = admin.get(csrf_page).send().await.unwrap().text().await.unwrap();
            let csrf = crate::support::extract_csrf(&html);
            let mut form = fields;
            form.push(("csrf", Box::leak(csrf.into_boxed_str())));
            let r = admin.post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) =
        post("/admin/departments", vec![("name", " "), ("colour", "#123456"), ("distribution_mode", "off")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("O nome é obrigatório e deve ter no máximo 120 caracteres."), "{html}");
    assert!(html.contains(r#"data-field="name""#), "{html}");
    let (_, html) =
        post("/admin/users", vec![("email", "admin@demo.local"), ("name", "Outra"), ("role", "agent")]).await;
    assert!(html.contains("Este e-mail já tem uma conta nesta empresa."), "{html}");
    // It concerns one field: the banner names it, for the page to show the text beside it.
    assert!(html.contains(r#"role="alert" data-field="email">Este e-mail"#), "{html}");
    let (_, html) = post("/admin/tokens", vec![("name", "integração")]).await;
    assert!(html.contains("Escolha pelo menos um escopo."), "{html}");

    // The same codes in English for someone who reads English.
    let (_, _) = post("/account", vec![("locale", "en")]).await;
    let (_, html) =
        post("/admin/departments", vec![("name", " "), ("colour", "#123456"), ("distribution_mode", "off")]).await;
    assert!(html.contains("The name is required and has at most 120 characters."), "{html}");
    t.stop().await;
});

/// English source texts that must not show on a pt-BR page: entries whose English differs from
/// their Portuguese, of three words or more, and not part of any Portuguese text (so "Phone number
/// ID", kept inside a pt-BR label, is not a false hit).
fn english_texts() -> Vec<&'static str> {
    let all: Vec<_> = atende::http::web::i18n::texts().collect();
    all.iter()
        .map(|(_, pt, en)| (*pt, *en))
        .filter(|(pt, en)| pt != en && en.split_whitespace().count() >= 3 && !en.contains('{'))
        .filter(|(_, en)| !all.iter().any(|(_, pt, _)| pt.contains(en)))
        .map(|(_, en)| en)
        .collect()
}

/// The visible text of a page's HTML, entities decoded (enough for our own escaping).
fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#39;", "'").replace("&quot;", "\"").replace("&#34;", "\"").replace("&amp;", "&")
}

engine_test!(every_page_each_role_opens_is_in_portuguese, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, conn) = t.simulator(demo).await;
    let phone_id = sim.phone_number_id().to_string();
    t.deliver_texts(conn, &phone_id, "sim-app-secret", &[("5511912345678", "wamid.PT1", "oi")]).await;
    let ticket: i64 =
        sqlx::Row::get(&sqlx::query("SELECT MAX(id) FROM tickets").fetch_one(t.app.db.reader()).await.unwrap(), 0);
    let contact: i64 =
        sqlx::Row::get(&sqlx::query("SELECT MAX(id) FROM contacts").fetch_one(t.app.db.reader()).await.unwrap(), 0);
    let department = t.department(demo, "Pós-venda").await;
    let reply = atende::actions::quick_replies::create_quick_reply(
        &t.app,
        &atende::actions::Actor::Operator,
        demo,
        atende::actions::quick_replies::QuickReplyInput {
            department_id: None,
            shortcut: "ola".into(),
            body: "Olá {{nome}}".into(),
        },
    )
    .await
    .unwrap();
    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    t.create_user(demo, "carla@demo.local", Role::Supervisor, "carla-password-1").await;
    let clients = [
        ("agent", t.login("ana@demo.local", "ana-password-1", "demo").await),
        ("supervisor", t.login("carla@demo.local", "carla-password-1", "demo").await),
        ("admin", t.login_demo_admin().await),
        ("platform", t.login("admin@atende.local", &t.logins.platform_password, "platform").await),
    ];
    let english = english_texts();
    assert!(english.len() > 100, "the list is real: {}", english.len());
    let extra = [
        "/account".to_string(),
        format!("/inbox/{ticket}"),
        format!("/inbox/{ticket}?part=panel"),
        format!("/inbox/{ticket}?part=actions"),
        format!("/contacts/{contact}"),
        "/contacts/import".to_string(),
        "/contacts/settings".to_string(),
        format!("/admin/users/{}", ana.id.0),
        format!("/admin/departments/{department}"),
        format!("/admin/quick-replies/{}", reply.id),
        "/nowhere".to_string(),
    ];
    let mut checked = 0;
    for (role, client) in &clients {
        // The platform admin's "/" is a redirect to the companies page.
        let start = if *role == "platform" { "/platform/tenants" } else { "/" };
        let (_, home) = page(client, t.url(start)).await;
        let pages: Vec<String> = sidebar_links(&home).into_iter().chain(extra.iter().cloned()).collect();
        for path in pages {
            let (status, html) = page(client, t.url(&path)).await;
            assert!([200, 403, 404].contains(&status), "{role} {path}: {status}");
            // Fragments (`?part=`) have no <html>; whole pages say their language.
            assert!(path.contains("part=") || html.contains("lang=\"pt-BR\""), "{role} {path} is not in pt-BR");
            let text = text_of(&html);
            for en in &english {
                assert!(!text.contains(en), "{role} sees English on {path}: {en:?}");
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} pages");
    // The detector does see English: the same agent reading English trips it.
    let agent = &clients[0].1;
    let csrf = t.csrf(agent).await;
    agent.post(t.url("/account")).form(&[("csrf", csrf.as_str()), ("locale", "en")]).send().await.unwrap();
    let (_, html) = page(agent, t.url("/inbox")).await;
    let text = text_of(&html);
    assert!(english.iter().any(|en| text.contains(en)), "no English found on an English page");
    sim.shutdown().await;
    t.stop().await;
});
