//! Browser tests: Debian's Chromium, headless, driven over WebDriver (chromedriver) against the
//! real server. Screenshots go to `target/screenshots/`. Without Chromium and chromedriver
//! installed (`apt-get install chromium chromium-driver`; CI installs them) these tests say so
//! loudly and do not run.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{Engine, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver plus one browser session; both end when dropped.
pub(crate) struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leaves Chromium running when killed alone: end its whole process group
        // (it leads one of its own), or every browser test leaks a browser's worth of memory.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    pub(crate) async fn start() -> Option<Browser> {
        Self::start_with(None).await
    }

    /// With `phone` (width, height): Chromium's mobile emulation — that viewport, a touch
    /// screen and a phone's user agent — instead of a desktop window.
    pub(crate) async fn start_with(phone: Option<(u32, u32)>) -> Option<Browser> {
        if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
            eprintln!("!!! Chromium or chromedriver is not installed: this browser test did NOT run !!!");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap().keep();
        let mut options = json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     // A granted fake microphone, for the composer's voice notes.
                     "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                     "--lang=pt-BR", format!("--user-data-dir={}", profile.display())],
            "prefs": {"intl.accept_languages": "pt-BR"}
        });
        if let Some((width, height)) = phone {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 3.0, "touch": true, "mobile": true},
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0 Mobile Safari/537.36"
            });
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}});
        let created: Value =
            http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session =
            created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_string();
        let mut browser = Browser { driver, base, session, http };
        if phone.is_none() {
            browser.size(1280, 900).await;
        }
        Some(browser)
    }

    pub(crate) async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(v["value"].get("error").is_none(), "webdriver {path}: {v}");
        v["value"].clone()
    }

    pub(crate) async fn size(&mut self, width: u32, height: u32) {
        self.cmd(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    pub(crate) async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub(crate) async fn find(&self, css: &str) -> String {
        let v = self.cmd(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v[ELEMENT].as_str().unwrap().to_string()
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    pub(crate) async fn js(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Whether a JavaScript dialog (an `alert`) is open: WebDriver answers "no such alert"
    /// as an error when none is.
    pub(crate) async fn alert_open(&self) -> bool {
        let url = format!("{}/session/{}/alert/text", self.base, self.session);
        let v: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        v["value"].get("error").is_none()
    }

    /// Waits until `script` (an expression) is truthy, polling for up to 20 s.
    pub(crate) async fn wait_for(&self, script: &str, what: &str) {
        self.wait_for_secs(script, what, 20).await;
    }

    pub(crate) async fn wait_for_secs(&self, script: &str, what: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.js(&format!("return !!({script});")).await;
            if v == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn screenshot(&self, name: &str) {
        let png = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    pub(crate) async fn login(&self, app: &TestApp, email: &str, password: &str, tenant: &str) {
        self.go(&app.url("/login")).await;
        self.type_into("input[name=email]", email).await;
        self.type_into("input[name=password]", password).await;
        self.type_into("input[name=tenant]", tenant).await;
        self.click("form button[type=submit]").await;
        self.wait_for("document.querySelector('.mainnav')", "the logged-in layout").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sees_a_customer_message_arrive_live_and_markup_stays_text() {
    let Some(mut b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let (sim, _) = t.simulator(demo).await;

    b.login(&t, "admin@demo.local", &t.logins.demo_password.clone(), "demo").await;
    b.go(&t.url("/inbox?tab=waiting")).await;
    assert_eq!(b.js("return document.documentElement.lang").await, json!("pt-BR"));
    b.wait_for("document.getElementById('live-status').textContent === 'ao vivo'", "the live badge").await;
    // Desktop: the sidebar is visible without opening a menu.
    assert_eq!(b.js("return document.querySelector('.sidebar').getBoundingClientRect().left").await, json!(0));

    let evil = "<script>alert(1)</script>";
    sim.customer_sends("5511987654321", evil, wa_sim::CustomerMessage::Text(evil.into())).await.unwrap();
    b.wait_for(
        "[...document.querySelectorAll('#ticket-list .contact')].some(e => e.textContent === '<script>alert(1)</script>')",
        "the live message",
    )
    .await;
    assert_eq!(b.js("return document.querySelectorAll('#ticket-list script').length").await, json!(0));
    b.screenshot("inbox-live-desktop").await;

    // A user named with markup shows as text on the users page.
    t.create_user(demo, "evil@demo.com", atende::domain::Role::Agent, "senha-segura-123").await;
    atende::actions::users::update_user(
        &t.app,
        &atende::actions::Actor::Operator,
        demo,
        atende::store::users::find_by_email(t.app.db.reader(), demo, "evil@demo.com").await.unwrap().unwrap().id,
        atende::actions::users::UpdateUser { name: evil, role: atende::domain::Role::Agent, active: true },
    )
    .await
    .unwrap();
    b.go(&t.url("/admin/users")).await;
    let cells = b.js("return [...document.querySelectorAll('td')].map(td => td.textContent)").await;
    assert!(cells.as_array().unwrap().iter().any(|c| c.as_str().unwrap().contains(evil)), "{cells}");
    assert_eq!(b.js("return document.querySelectorAll('td script').length").await, json!(0));

    // Phone width: the menu is behind a button.
    b.size(390, 844).await;
    b.go(&t.url("/")).await;
    assert_eq!(b.js("return getComputedStyle(document.querySelector('.sidebar')).visibility").await, json!("hidden"));
    b.click("#nav-toggle").await;
    b.wait_for("document.querySelector('.sidebar').getBoundingClientRect().left >= 0", "the open drawer").await;
    b.screenshot("home-menu-phone").await;
    sim.shutdown().await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sees_a_new_ticket_live_captures_it_and_replies() {
    let Some(mut b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let (sim, _) = t.simulator(demo).await;
    t.create_user(demo, "lia@demo.local", atende::domain::Role::Agent, "lia-password-1").await;

    b.login(&t, "lia@demo.local", "lia-password-1", "demo").await;
    assert_eq!(b.js("return location.pathname").await, json!("/inbox"), "the inbox is the landing page");
    b.go(&t.url("/inbox?tab=waiting")).await;
    b.wait_for("document.getElementById('live-status').textContent === 'ao vivo'", "the live badge").await;

    let text = "Olá, preciso de ajuda com meu pedido";
    sim.customer_sends("5511987654321", "Zé Cliente", wa_sim::CustomerMessage::Text(text.into())).await.unwrap();
    b.wait_for(
        "[...document.querySelectorAll('#ticket-list .preview')].some(e => e.textContent.includes('preciso de ajuda'))",
        "the new ticket listed live under Em espera",
    )
    .await;
    b.screenshot("inbox-waiting-desktop").await;

    b.click("#ticket-list li.ticket a").await;
    b.wait_for("document.querySelector('.conversation[data-ticket-id]')", "the conversation").await;
    b.click("button.capture").await;
    b.wait_for("!document.querySelector('button.capture') && document.querySelector('.status-open')", "the capture")
        .await;
    let reply = "Bom dia! Já vou verificar.";
    b.type_into("form.composer textarea", &format!("{reply}\u{E007}")).await;
    b.wait_for(
        "[...document.querySelectorAll('.msg.out .msg-body')].some(e => e.textContent.includes('Já vou verificar'))",
        "the reply in the conversation",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sent = sim.sent_messages();
        if sent.iter().any(|m| m.request["text"]["body"].as_str().is_some_and(|b| b.contains(reply))) {
            break;
        }
        assert!(Instant::now() < deadline, "the simulator did not receive the reply: {:?}", sent.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The tick moves on live once the simulator reports the message sent.
    b.wait_for("document.querySelector('.msg.out .tick:not(.queued)')", "a tick past queued").await;
    b.screenshot("inbox-conversation-desktop").await;

    // Phone width: the conversation alone, with a way back to the list.
    b.size(390, 844).await;
    b.js("location.reload(); return true").await;
    b.wait_for("document.querySelector('.conversation[data-ticket-id]')", "the conversation on a phone").await;
    assert_eq!(b.js("return getComputedStyle(document.querySelector('.list-pane')).display").await, json!("none"));
    b.screenshot("inbox-conversation-phone").await;
    b.click(".conv-head .back").await;
    b.wait_for("document.querySelector('.inbox:not(.has-ticket)')", "the list on a phone").await;
    assert_eq!(b.js("return getComputedStyle(document.querySelector('.list-pane')).display").await, json!("flex"));
    b.screenshot("inbox-list-phone").await;
    sim.shutdown().await;
    t.stop().await;
}
