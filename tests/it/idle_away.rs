//! "Ausente" after idle minutes: the company sets the minutes on Configurações (0–480, 0 = never),
//! the shell's script reads them from `/account/idle`, and in Chromium a person whose tabs had no
//! input for that long becomes Ausente (out of distribution) and Online again at the next key.

use serde_json::{json, Value};

use crate::browser::Browser;
use crate::engine_test;
use crate::support::{Engine, TestApp};
use atende::domain::Role;

async fn away(t: &TestApp, email: &str) -> bool {
    t.count("users", &format!("email = '{email}' AND away = 1")).await == 1
}

engine_test!(the_company_sets_the_idle_minutes_and_everyone_reads_them, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    t.create_user(demo, "ana.idle@demo.local", Role::Agent, "senha-da-ana-1").await;
    let admin = t.login_demo_admin().await;
    let ana = t.login("ana.idle@demo.local", "senha-da-ana-1", "demo").await;
    let idle = |c: reqwest::Client| {
        let url = t.url("/account/idle");
        async move { c.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(idle(ana.clone()).await, json!({"minutes": 15}), "15 minutes by default");
    let save = |minutes: &'static str| {
        let (t, admin) = (&t, admin.clone());
        async move {
            let csrf = t.csrf(&admin).await;
            let form = [
                ("csrf", csrf.as_str()),
                ("time_zone", "America/Sao_Paulo"),
                ("reopen_window_minutes", "120"),
                ("idle_away_minutes", minutes),
            ];
            let res = admin.post(t.url("/admin/settings")).form(&form).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    assert_eq!(save("30").await.0, 303);
    assert_eq!(idle(ana.clone()).await, json!({"minutes": 30}));
    let (status, page) = save("481").await;
    assert_eq!(status, 422);
    assert!(page.contains("data-field=\"idle_away_minutes\"") && page.contains("de 0 (nunca) a 480"), "{page}");
    assert_eq!(save("abc").await.0, 422);
    assert_eq!(idle(ana.clone()).await, json!({"minutes": 30}), "nothing written by a refused form");
    let page = admin.get(t.url("/admin/settings")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"idle_away_minutes\" value=\"30\""));
    // Another company keeps its own.
    let other = t.create_tenant("idle-outra").await;
    t.create_user(other, "x@idle-outra.local", Role::Agent, "senha-do-x-123").await;
    let x = t.login("x@idle-outra.local", "senha-do-x-123", "idle-outra").await;
    assert_eq!(idle(x).await, json!({"minutes": 15}));
    assert!(!away(&t, "ana.idle@demo.local").await);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_idle_for_the_company_s_minutes_is_away_until_the_next_key() {
    let Some(b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    t.create_user(demo, "ana.idle@demo.local", Role::Agent, "senha-da-ana-1").await;
    let mut settings = atende::store::settings::get(t.app.db.reader(), demo).await.unwrap();
    settings.idle_away_minutes = 1;
    atende::actions::settings::update_settings(&t.app, &atende::actions::Actor::Operator, demo, settings)
        .await
        .unwrap();
    b.login(&t, "ana.idle@demo.local", "senha-da-ana-1", "demo").await;
    b.go(&t.url("/inbox")).await;
    b.wait_for("document.querySelector('.user-menu .presence.online')", "online at first").await;
    // The last input anywhere was two minutes ago (the time every tab shares).
    b.js("localStorage.setItem('atende.lastInput', String(Date.now() - 120000)); return true").await;
    b.wait_for_secs("document.querySelector('.user-menu .presence.away')", "Ausente by itself", 30).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !away(&t, "ana.idle@demo.local").await {
        assert!(std::time::Instant::now() < deadline, "the server has her away");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.screenshot("idle-away").await;
    // A key: Online again, in the menu and for distribution.
    b.js("window.dispatchEvent(new KeyboardEvent('keydown', { key: 'a' })); return true").await;
    b.wait_for("document.querySelector('.user-menu .presence.online')", "Online at the next key").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while away(&t, "ana.idle@demo.local").await {
        assert!(std::time::Instant::now() < deadline, "the server has her online again");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    t.stop().await;
}
