//! The web UI: user administration, who sees which page, tenant isolation, language,
//! escaping, body limits and security headers.

use crate::engine_test;
use crate::support::{extract_csrf, Engine, TestApp};
use atende::actions::{self, Actor};
use atende::domain::{Role, TenantId};
use atende::store::users::User;

/// The page at `path` for this browser: (status, body).
async fn page(t: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = client.get(t.url(path)).send().await.expect("get page");
    (r.status().as_u16(), r.text().await.expect("body"))
}

/// Posts a form with this browser's CSRF token added.
async fn post_form(t: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = t.csrf(client).await;
    let mut form = fields.to_vec();
    form.push(("csrf", csrf.as_str()));
    client.post(t.url(path)).form(&form).send().await.expect("post form")
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get(reqwest::header::LOCATION).expect("has Location").to_str().unwrap().to_string()
}

/// Tries to log a fresh browser in: (status of the answer, the browser).
async fn try_login(t: &TestApp, email: &str, password: &str, tenant: &str) -> (u16, reqwest::Client) {
    let client = t.browser();
    let r = post_form(t, &client, "/login", &[("email", email), ("password", password), ("tenant", tenant)]).await;
    (r.status().as_u16(), client)
}

/// A user of `tenant` by e-mail, read through the actions (as the operator).
async fn user_by_email(t: &TestApp, tenant: TenantId, email: &str) -> User {
    actions::users::list_users(&t.app, &Actor::Operator, tenant)
        .await
        .expect("list users")
        .into_iter()
        .find(|u| u.email == email)
        .expect("user exists")
}

/// The password shown in the "created" notice of the users page.
fn shown_password(html: &str) -> String {
    let marker = "(mostrada só agora): ";
    let start = html.find(marker).expect("page shows the first password") + marker.len();
    html[start..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect()
}

engine_test!(an_admin_creates_a_user_whose_generated_password_is_shown_once_and_works, |t: TestApp| async move {
    let admin = t.login_demo_admin().await;
    let created =
        post_form(&t, &admin, "/admin/users", &[("email", "bia@demo.local"), ("name", "Bia"), ("role", "agent")]).await;
    assert_eq!(created.status(), 200);
    let html = created.text().await.unwrap();
    assert!(html.contains("Usuário bia@demo.local criado."), "{html}");
    let password = shown_password(&html);
    assert_eq!(password.len(), 16, "{html}");
    assert_eq!(t.count("users", "email = 'bia@demo.local' AND role = 'agent' AND active = 1").await, 1);

    let (status, again) = page(&t, &admin, "/admin/users").await;
    assert_eq!(status, 200);
    assert!(again.contains("bia@demo.local"), "{again}");
    assert!(!again.contains(&password), "the password is shown only once");

    let (status, bia) = try_login(&t, "bia@demo.local", &password, "demo").await;
    assert_eq!(status, 303);
    let (_, home) = page(&t, &bia, "/").await;
    assert!(home.contains("Bem-vindo(a), Bia"), "{home}");
    assert!(home.contains("Atendente"), "{home}");
    t.stop().await;
});

engine_test!(deactivating_a_user_ends_their_session_at_once_and_blocks_login, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let carla = t.create_user(demo, "carla@demo.local", Role::Agent, "carla-password-1").await;
    let carla_browser = t.login("carla@demo.local", "carla-password-1", "demo").await;
    assert_eq!(page(&t, &carla_browser, "/").await.0, 200);

    let admin = t.login_demo_admin().await;
    let path = format!("/admin/users/{}", carla.id.0);
    let saved = post_form(&t, &admin, &path, &[("name", "carla"), ("role", "agent")]).await;
    assert_eq!(saved.status(), 303);
    assert_eq!(location(&saved), format!("{path}?saved=user_saved"));
    assert_eq!(t.count("users", &format!("id = {} AND active = 0", carla.id.0)).await, 1);
    assert_eq!(t.count("sessions", &format!("user_id = {}", carla.id.0)).await, 0);

    let next = carla_browser.get(t.url("/")).send().await.unwrap();
    assert_eq!(next.status(), 303, "the old session no longer opens pages");
    assert!(location(&next).starts_with("/login"), "{}", location(&next));
    let (status, _) = try_login(&t, "carla@demo.local", "carla-password-1", "demo").await;
    assert_eq!(status, 401);
    assert_eq!(t.count("sessions", &format!("user_id = {}", carla.id.0)).await, 0);
    let (_, list) = page(&t, &admin, "/admin/users").await;
    assert!(list.contains("Inativo"), "{list}");
    t.stop().await;
});

engine_test!(an_agent_is_refused_the_admin_pages_and_sees_no_link_to_them, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    t.create_user(demo, "agent@demo.local", Role::Agent, "agent-password-1").await;
    let agent = t.login("agent@demo.local", "agent-password-1", "demo").await;
    assert_eq!(page(&t, &agent, "/admin/users").await.0, 403);
    assert_eq!(page(&t, &agent, "/admin/tokens").await.0, 403);
    assert_eq!(page(&t, &agent, "/platform/tenants").await.0, 403);
    let users = t.count("users", "1=1").await;
    let post =
        post_form(&t, &agent, "/admin/users", &[("email", "sneaky@demo.local"), ("name", "S"), ("role", "agent")])
            .await;
    assert_eq!(post.status(), 403);
    assert_eq!(t.count("users", "1=1").await, users);

    let (status, home) = page(&t, &agent, "/").await;
    assert_eq!(status, 200);
    assert!(home.contains("href=\"/account\""), "the agent has a navigation: {home}");
    assert!(!home.contains("href=\"/admin/users\""), "{home}");
    assert!(!home.contains("href=\"/admin/tokens\""), "{home}");

    let admin = t.login_demo_admin().await;
    let (_, home) = page(&t, &admin, "/").await;
    assert!(home.contains("href=\"/admin/users\""), "{home}");
    assert!(home.contains("href=\"/admin/tokens\""), "{home}");
    assert!(!home.contains("href=\"/platform/tenants\""), "{home}");
    assert_eq!(page(&t, &admin, "/admin/users").await.0, 200);
    t.stop().await;
});

engine_test!(only_the_platform_admin_opens_and_creates_companies, |t: TestApp| async move {
    let demo_admin = t.login_demo_admin().await;
    assert_eq!(page(&t, &demo_admin, "/platform/tenants").await.0, 403);
    let refused = post_form(&t, &demo_admin, "/platform/tenants", &[("name", "Rogue"), ("slug", "rogue")]).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(t.count("tenants", "slug = 'rogue'").await, 0);

    let platform = t.login("admin@atende.local", &t.logins.platform_password, "platform").await;
    let (status, _) = page(&t, &platform, "/").await;
    assert_eq!(status, 303, "the platform admin's start page is the companies page");
    let (status, list) = page(&t, &platform, "/platform/tenants").await;
    assert_eq!(status, 200);
    assert!(list.contains("<code>demo</code>"), "{list}");
    let created = post_form(&t, &platform, "/platform/tenants", &[("name", "Nova Empresa"), ("slug", "nova")]).await;
    assert_eq!(created.status(), 200);
    let html = created.text().await.unwrap();
    assert!(html.contains("Nova Empresa (nova)"), "{html}");
    assert!(html.contains("<code>nova</code>"), "{html}");
    assert_eq!(t.count("tenants", "slug = 'nova' AND name = 'Nova Empresa'").await, 1);
    t.stop().await;
});

engine_test!(an_admin_cannot_see_or_edit_a_user_of_another_company, |t: TestApp| async move {
    let acme = t.create_tenant("acme").await;
    let bob = t.create_user(acme, "bob@acme.test", Role::Agent, "bob-password-01").await;
    let bob_browser = t.login("bob@acme.test", "bob-password-01", "acme").await;
    let admin = t.login_demo_admin().await;

    let path = format!("/admin/users/{}", bob.id.0);
    let (status, body) = page(&t, &admin, &path).await;
    assert_eq!(status, 404);
    assert!(!body.contains("bob@acme.test"), "{body}");
    let edit = post_form(&t, &admin, &path, &[("name", "Hacked"), ("role", "agent")]).await;
    assert_eq!(edit.status(), 404);
    let reset = post_form(&t, &admin, &format!("{path}/reset-password"), &[]).await;
    assert_eq!(reset.status(), 404);

    assert_eq!(t.count("users", &format!("id = {} AND name = 'bob' AND active = 1", bob.id.0)).await, 1);
    assert_eq!(page(&t, &bob_browser, "/").await.0, 200, "bob's session was not ended");
    let (_, list) = page(&t, &admin, "/admin/users").await;
    assert!(!list.contains("bob@acme.test"), "{list}");
    t.stop().await;
});

engine_test!(an_admin_cannot_grant_the_platform_admin_role, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let dan = t.create_user(demo, "dan@demo.local", Role::Agent, "dan-password-01").await;
    let admin = t.login_demo_admin().await;

    let path = format!("/admin/users/{}", dan.id.0);
    let (_, form) = page(&t, &admin, &path).await;
    assert!(form.contains("value=\"admin\""), "{form}");
    assert!(!form.contains("value=\"platform_admin\""), "{form}");
    let promote = post_form(&t, &admin, &path, &[("name", "dan"), ("role", "platform_admin"), ("active", "1")]).await;
    assert!([403, 422].contains(&promote.status().as_u16()), "{}", promote.status());
    assert_eq!(t.count("users", &format!("id = {} AND role = 'agent'", dan.id.0)).await, 1);

    let users = t.count("users", "1=1").await;
    let create = post_form(
        &t,
        &admin,
        "/admin/users",
        &[("email", "boss@demo.local"), ("name", "Boss"), ("role", "platform_admin")],
    )
    .await;
    assert!([403, 422].contains(&create.status().as_u16()), "{}", create.status());
    assert_eq!(t.count("users", "1=1").await, users);
    assert_eq!(t.count("users", "role = 'platform_admin'").await, 1, "only the bootstrap platform admin");
    t.stop().await;
});

engine_test!(pages_speak_portuguese_by_default_english_on_request_and_the_saved_choice_wins, |t: TestApp| async move {
    let anonymous = t.browser();
    let (_, pt) = page(&t, &anonymous, "/login").await;
    assert!(pt.contains("<html lang=\"pt-BR\">"), "{pt}");
    assert!(pt.contains(">Entrar</button>"), "{pt}");
    assert!(!pt.contains("Log in"), "{pt}");
    let en = anonymous
        .get(t.url("/login"))
        .header(reqwest::header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<html lang=\"en\">"), "{en}");
    assert!(en.contains(">Log in</button>"), "{en}");
    assert!(!en.contains("Entrar"), "{en}");

    let demo = t.demo_tenant().await;
    let eva = t.create_user(demo, "eva@demo.local", Role::Agent, "eva-password-01").await;
    let client = t.login("eva@demo.local", "eva-password-01", "demo").await;
    let home = |accept: &'static str| {
        let request = client.get(t.url("/")).header(reqwest::header::ACCEPT_LANGUAGE, accept);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    assert!(home("pt-BR").await.contains("Bem-vindo(a), eva"));
    assert!(home("en-US").await.contains("Welcome, eva"), "without a preference the browser decides");

    let saved = post_form(&t, &client, "/account", &[("locale", "en")]).await;
    assert_eq!(saved.status(), 303);
    assert_eq!(t.count("users", &format!("id = {} AND locale = 'en'", eva.id.0)).await, 1);
    let html = home("pt-BR,pt;q=0.9").await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("Welcome, eva"), "{html}");
    assert!(!html.contains("Bem-vindo"), "{html}");

    let saved = post_form(&t, &client, "/account", &[("locale", "pt-BR")]).await;
    assert_eq!(saved.status(), 303);
    let html = home("en-US").await;
    assert!(html.contains("<html lang=\"pt-BR\">"), "{html}");
    assert!(html.contains("Bem-vindo(a), eva"), "{html}");
    t.stop().await;
});

engine_test!(a_name_with_markup_is_always_shown_escaped, |t: TestApp| async move {
    let admin = t.login_demo_admin().await;
    let name = "<script>alert(1)</script>";
    // Named (`&lt;`) or numeric (`&#60;`) entities are both safe; the raw tag never appears.
    let shows_escaped = |html: &str| {
        ["&lt;script&gt;alert(1)&lt;/script&gt;", "&#60;script&#62;alert(1)&#60;/script&#62;"]
            .iter()
            .any(|e| html.contains(e))
    };
    let created =
        post_form(&t, &admin, "/admin/users", &[("email", "xss@demo.local"), ("name", name), ("role", "agent")]).await;
    assert_eq!(created.status(), 200);
    let password = shown_password(&created.text().await.unwrap());
    let stored = user_by_email(&t, t.demo_tenant().await, "xss@demo.local").await;
    assert_eq!(stored.name, name, "the name is stored as typed");

    let (_, list) = page(&t, &admin, "/admin/users").await;
    assert!(shows_escaped(&list), "{list}");
    assert!(!list.contains(name), "{list}");
    let (_, edit) = page(&t, &admin, &format!("/admin/users/{}", stored.id.0)).await;
    assert!(shows_escaped(&edit), "{edit}");
    assert!(!edit.contains(name), "{edit}");

    let (status, xss) = try_login(&t, "xss@demo.local", &password, "demo").await;
    assert_eq!(status, 303);
    let (_, home) = page(&t, &xss, "/").await;
    assert!(shows_escaped(&home), "{home}");
    assert!(!home.contains(name), "{home}");
    t.stop().await;
});

/// An app (same engine, fresh database) that accepts bodies of at most 4096 bytes.
async fn spawn_with_small_bodies(engine: Engine) -> TestApp {
    let database_url = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => {
            let base = crate::support::postgres_base_url().expect("PostgreSQL test server");
            Some(crate::support::fresh_postgres_database(&base).await)
        }
    };
    TestApp::spawn_with(engine, database_url, |s| s.max_body_bytes = 4096).await
}

engine_test!(an_oversized_form_is_refused_with_413_and_changes_nothing, |t: TestApp| async move {
    let engine = t.engine;
    t.stop().await;
    let t = spawn_with_small_bodies(engine).await;
    let admin = t.login_demo_admin().await;
    let users = t.count("users", "1=1").await;
    let sessions = t.count("sessions", "1=1").await;

    let big_name = "a".repeat(8000);
    let big =
        post_form(&t, &admin, "/admin/users", &[("email", "big@demo.local"), ("name", &big_name), ("role", "agent")])
            .await;
    assert_eq!(big.status(), 413);
    assert_eq!(t.count("users", "1=1").await, users);

    let big_password = "p".repeat(8000);
    let login = t.browser();
    let big = post_form(
        &t,
        &login,
        "/login",
        &[("email", "admin@demo.local"), ("password", &big_password), ("tenant", "demo")],
    )
    .await;
    assert_eq!(big.status(), 413);
    assert_eq!(t.count("sessions", "1=1").await, sessions);

    // The same form under the limit goes through.
    let small =
        post_form(&t, &admin, "/admin/users", &[("email", "big@demo.local"), ("name", "Big"), ("role", "agent")]).await;
    assert_eq!(small.status(), 200);
    assert_eq!(t.count("users", "1=1").await, users + 1);
    t.stop().await;
});

engine_test!(pages_carry_security_headers, |t: TestApp| async move {
    let client = t.browser();
    let login = client.get(t.url("/login")).send().await.unwrap();
    let admin = t.login_demo_admin().await;
    let home = admin.get(t.url("/")).send().await.unwrap();
    let refused = client.post(t.url("/login")).form(&[("email", "a@b.c"), ("password", "x")]).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    for (what, r) in [("login page", &login), ("home page", &home), ("csrf refusal", &refused)] {
        let h = r.headers();
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        assert_eq!(get("x-frame-options"), "DENY", "{what}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
        let csp = get("content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    }
    // The page itself carries the CSRF token its forms post back.
    let html = login.text().await.unwrap();
    assert!(extract_csrf(&html).len() >= 32);
    t.stop().await;
});
