//! The app shell in headless Chromium: every page (as admin, agent, supervisor and platform
//! admin) at 1024 px and on a 390×844 phone, and the main ones at 1280, 1366×768 and 1920 px,
//! never scrolls sideways; the inbox composer stays on screen at 1366×768, the
//! sidebar folds to icons (and stays folded), and on the phone the sidebar is a drawer that
//! opens, leads to a page and closes.

use serde_json::{json, Value};

use crate::browser::Browser;
use crate::support::{Engine, TestApp};

const PAGES: &[&str] = &[
    "/",
    "/inbox",
    "/contacts",
    "/tasks",
    "/kanban",
    "/schedules",
    "/chat",
    "/admin/departments",
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
    "/admin/automation",
    "/admin/chatbot",
    "/contacts/import",
    "/contacts/settings",
    "/painel",
    "/reports/tickets",
    "/inbox/new",
    "/account",
    // An error page is a page of the shell too.
    "/nowhere",
];

/// The pages measured at every desktop width; the whole list is walked at the narrowest (1024)
/// and on the phone, where overflow happens first.
const CORE_PAGES: &[&str] = &["/", "/inbox", "/admin/connections", "/admin/settings"];

/// What the other roles open (their sidebar's pages and their own).
const AGENT_PAGES: &[&str] =
    &["/", "/inbox", "/contacts", "/tasks", "/kanban", "/schedules", "/chat", "/account", "/nowhere"];
const SUPERVISOR_PAGES: &[&str] = &[
    "/painel",
    "/reports/tickets",
    "/admin/quick-replies",
    "/admin/tags",
    "/admin/templates",
    "/admin/status",
    "/admin/webhooks",
];
const PLATFORM_PAGES: &[&str] = &["/platform/tenants", "/platform/plans", "/account"];

/// `paths` at the current size, each without horizontal overflow.
async fn walk_only(b: &Browser, t: &TestApp, paths: &[String], label: &str) {
    for path in paths {
        b.go(&t.url(path)).await;
        b.wait_for("document.readyState === 'complete' && document.querySelector('.sidebar')", "the page").await;
        assert_no_overflow(b, &format!("{path} at {label}")).await;
    }
}

/// An exact viewport (CSS pixels), as the review measured it; the window size would include
/// the browser's chrome.
async fn viewport(b: &Browser, width: u32, height: u32) {
    let params = json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false});
    b.cmd(
        reqwest::Method::POST,
        "/goog/cdp/execute",
        Some(json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": params})),
    )
    .await;
}

const OVERFLOW: &str = "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];";

async fn assert_no_overflow(b: &Browser, what: &str) {
    let sizes = b.js(OVERFLOW).await;
    let (scroll, client) = (sizes[0].as_i64().unwrap(), sizes[1].as_i64().unwrap());
    assert!(scroll <= client, "{what}: the page is {scroll} px wide in a {client} px viewport");
}

/// Every main page at `width`, plus the open ticket, its contact and the edit pages in `more`.
async fn walk(b: &Browser, t: &TestApp, ticket: i64, more: &[String], label: &str) {
    let ticket_page = format!("/inbox/{ticket}");
    for path in PAGES.iter().copied().chain([ticket_page.as_str()]).chain(more.iter().map(String::as_str)) {
        b.go(&t.url(path)).await;
        b.wait_for("document.readyState === 'complete' && document.querySelector('.sidebar')", "the page").await;
        assert_no_overflow(b, &format!("{path} at {label}")).await;
    }
}

async fn rect(b: &Browser, css: &str) -> Value {
    b.js(&format!("const r = document.querySelector(\"{css}\").getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom, innerWidth, innerHeight];")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_overflows_and_the_sidebar_folds_and_opens_as_a_drawer() {
    let Some(b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let (sim, _) = t.simulator(demo).await;
    // A long name and message: text that could push a page wider than the screen.
    sim.customer_sends(
        "5511987654321",
        "Maria Aparecida dos Santos Cliente de Teste",
        wa_sim::CustomerMessage::Text("Olá, quero saber o preço do plano anual para a minha empresa".into()),
    )
    .await
    .unwrap();
    let ticket = loop {
        let n = t.count("tickets", "1 = 1").await;
        if n > 0 {
            break sqlx::Row::get::<i64, _>(
                &sqlx::query("SELECT MAX(id) FROM tickets").fetch_one(t.app.db.reader()).await.unwrap(),
                0,
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let contact: i64 =
        sqlx::Row::get(&sqlx::query("SELECT MAX(id) FROM contacts").fetch_one(t.app.db.reader()).await.unwrap(), 0);
    let department = t.department(demo, "Pós-venda com um nome bem comprido para caber").await;
    let ana = t.create_user(demo, "ana@demo.local", atende::domain::Role::Agent, "ana-password-1").await;
    t.create_user(demo, "carla@demo.local", atende::domain::Role::Supervisor, "carla-password-1").await;
    let more = [
        format!("/contacts/{contact}"),
        format!("/admin/departments/{department}"),
        format!("/admin/users/{}", ana.id.0),
    ];
    b.login(&t, "admin@demo.local", &t.logins.demo_password.clone(), "demo").await;

    viewport(&b, 1024, 768).await;
    walk(&b, &t, ticket, &more, "1024x768").await;
    let core: Vec<String> =
        CORE_PAGES.iter().map(|p| p.to_string()).chain([format!("/inbox/{ticket}"), more[0].clone()]).collect();
    for (width, height) in [(1280, 800), (1366, 768), (1920, 1080)] {
        viewport(&b, width, height).await;
        walk_only(&b, &t, &core, &format!("{width}x{height}")).await;
    }
    // The other roles at the narrowest desktop width, and the platform admin.
    viewport(&b, 1024, 768).await;
    let agent: Vec<String> =
        AGENT_PAGES.iter().map(|p| p.to_string()).chain([format!("/inbox/{ticket}"), more[0].clone()]).collect();
    let supervisor: Vec<String> = agent.iter().cloned().chain(SUPERVISOR_PAGES.iter().map(|p| p.to_string())).collect();
    for (email, password, pages) in
        [("ana@demo.local", "ana-password-1", &agent), ("carla@demo.local", "carla-password-1", &supervisor)]
    {
        b.cmd(reqwest::Method::DELETE, "/cookie", None).await;
        b.login(&t, email, password, "demo").await;
        walk_only(&b, &t, pages, &format!("1024 as {email}")).await;
    }
    b.cmd(reqwest::Method::DELETE, "/cookie", None).await;
    b.login(&t, "admin@atende.local", &t.logins.platform_password.clone(), "platform").await;
    let platform: Vec<String> = PLATFORM_PAGES.iter().map(|p| p.to_string()).collect();
    walk_only(&b, &t, &platform, "1024 as the platform admin").await;
    b.cmd(reqwest::Method::DELETE, "/cookie", None).await;
    b.login(&t, "admin@demo.local", &t.logins.demo_password.clone(), "demo").await;

    // 1366×768, the most common laptop: the composer's row is on screen with the top bar.
    viewport(&b, 1366, 768).await;
    b.go(&t.url(&format!("/inbox/{ticket}"))).await;
    b.wait_for("document.querySelector('form.composer button[type=submit]')", "the composer").await;
    let send = rect(&b, "form.composer button[type=submit]").await;
    assert!(send[3].as_f64().unwrap() <= send[5].as_f64().unwrap(), "the send button is cut off: {send}");
    let user = rect(&b, ".user-menu summary").await;
    assert!(user[1].as_f64().unwrap() <= user[4].as_f64().unwrap(), "the user menu is on screen: {user}");
    b.screenshot("shell-ticket-1366x768").await;

    // A form error about one field is shown beside it, which describes and focuses it.
    b.go(&t.url("/admin/users")).await;
    b.type_into("form[action='/admin/users'] input[name=name]", "Outra").await;
    b.type_into("form[action='/admin/users'] input[name=email]", "admin@demo.local").await;
    b.click("form[action='/admin/users'] button[type=submit]").await;
    b.wait_for("document.querySelector('#error-email')", "the error beside the e-mail").await;
    assert_eq!(
        b.js("const i = document.querySelector('form input[name=email]'); return [i.getAttribute('aria-invalid'), i.getAttribute('aria-describedby'), document.activeElement === i, document.querySelector('.alert.error[data-field]').hidden]").await,
        json!(["true", "error-email", true, true])
    );
    b.go(&t.url(&format!("/inbox/{ticket}"))).await;
    b.wait_for("document.querySelector('.user-menu summary')", "the ticket again").await;

    // The user menu opens with the status switch, Minha conta and Sair.
    b.click(".user-menu summary").await;
    let items = b.js("return [...document.querySelectorAll('.user-menu-items a, .user-menu-items button')].filter(e => e.offsetParent).map(e => e.textContent.trim())").await;
    assert_eq!(items, json!(["Ficar ausente", "Minha conta", "Sair"]));
    assert_eq!(b.js("return document.querySelector('#user-status strong').textContent").await, json!("Online"));
    // Switching is a plain form post that comes back to this ticket.
    b.click(".status-form button").await;
    b.wait_for("document.querySelector('.presence.away')", "the away status").await;
    assert_eq!(b.js("return location.pathname").await, json!(format!("/inbox/{ticket}")));
    b.click(".user-menu summary").await;
    b.click(".status-form button").await;
    b.wait_for("document.querySelector('.presence.online')", "back online").await;

    // Folding keeps the icons, and the choice survives a new page.
    let wide = rect(&b, ".sidebar").await;
    b.click("#nav-collapse").await;
    let folded = rect(&b, ".sidebar").await;
    assert!(folded[1].as_f64().unwrap() < wide[1].as_f64().unwrap() / 2.0, "{wide} → {folded}");
    b.go(&t.url("/admin/departments")).await;
    b.wait_for("document.documentElement.classList.contains('nav-folded')", "the sidebar still folded").await;
    assert_eq!(
        b.js("return getComputedStyle(document.querySelector('.mainnav a .label')).display").await,
        json!("none")
    );
    assert_eq!(
        b.js("return document.querySelector('#nav-collapse').getAttribute('aria-expanded')").await,
        json!("false")
    );
    assert_no_overflow(&b, "folded at 1366").await;
    b.click("#nav-collapse").await;
    b.go(&t.url("/inbox")).await;
    b.wait_for(
        "!document.documentElement.classList.contains('nav-folded') && document.querySelector('.sidebar')",
        "unfolded",
    )
    .await;
    drop(b);

    // The phone: nothing sideways, and the sidebar is a drawer.
    let Some(p) = Browser::start_with(Some((390, 844))).await else { return };
    p.login(&t, "admin@demo.local", &t.logins.demo_password.clone(), "demo").await;
    walk(&p, &t, ticket, &more, "390x844").await;
    // The ticket's actions are in the header on the phone, and Finalizar's popover fits.
    p.go(&t.url(&format!("/inbox/{ticket}"))).await;
    p.wait_for("document.querySelector('.conv-head details.pop summary')", "the header actions").await;
    let finish = rect(&p, ".conv-head details.pop:last-of-type summary").await;
    assert!(
        finish[1].as_f64().unwrap() <= 390.0 && finish[2].as_f64().unwrap() < 200.0,
        "Finalizar on screen: {finish}"
    );
    p.click(".conv-head details.pop:last-of-type summary").await;
    p.wait_for("document.querySelector('.conv-head details.pop:last-of-type').open", "the popover").await;
    let pop = rect(&p, ".conv-head details.pop:last-of-type .pop-body").await;
    assert!(pop[0].as_f64().unwrap() >= 0.0 && pop[1].as_f64().unwrap() <= 390.0, "the popover fits: {pop}");
    assert_no_overflow(&p, "the open Finalizar popover").await;
    p.go(&t.url("/inbox")).await;
    p.wait_for("document.querySelector('.sidebar')", "the inbox").await;
    let closed = rect(&p, ".sidebar").await;
    assert!(closed[1].as_f64().unwrap() <= 0.0, "the drawer starts closed: {closed}");
    p.click("#nav-toggle").await;
    p.wait_for("document.querySelector('.sidebar').getBoundingClientRect().left >= 0", "the drawer open").await;
    assert_no_overflow(&p, "the open drawer").await;
    p.screenshot("shell-drawer-phone").await;
    p.click(".sidebar a[href='/contacts']").await;
    p.wait_for("location.pathname === '/contacts'", "the page picked in the drawer").await;
    p.wait_for("document.querySelector('.sidebar')", "the contacts page").await;
    let after = rect(&p, ".sidebar").await;
    assert!(after[1].as_f64().unwrap() <= 0.0, "the drawer is closed on the new page: {after}");
    // Escape closes an open drawer.
    p.click("#nav-toggle").await;
    p.wait_for("document.querySelector('.sidebar').getBoundingClientRect().left >= 0", "the drawer open again").await;
    p.js("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'})); return true").await;
    p.wait_for("document.querySelector('.sidebar').getBoundingClientRect().right <= 0", "the drawer closed by Escape")
        .await;
    sim.shutdown().await;
    t.stop().await;
}
