//! A task's reminder in headless Chromium: Ana has "Tarefas" open, the test clock moves past the
//! early reminder and then the due time, and each reminder appears once as a toast (with a link
//! to the task and a count on the sidebar's Tarefas) and as a browser notification (the page's
//! `Notification` is a recording stand-in that says notifications are allowed). Screenshots go
//! to `target/screenshots/`.

use std::time::Duration;

use atende::actions::tasks::{self, TaskInput};
use atende::actions::Actor;
use atende::domain::Role;
use serde_json::json;

use crate::browser::Browser;
use crate::support::{Engine, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_reminder_pops_up_in_the_browser_once_ahead_and_once_at_the_due_time() {
    let Some(b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    let tz = tasks::zone(t.app.db.reader(), demo).await.unwrap();
    let due = atende::domain::tasks::format_due(tz, t.app.clock.now_ms() + 3_600_000);
    let input =
        TaskInput { title: "Retornar à <b>Maria</b>".into(), due, remind_before_minutes: 15, ..TaskInput::default() };
    let task = tasks::create(&t.app, &Actor::User(ana), demo, input).await.unwrap();

    b.login(&t, "ana@demo.local", "ana-password-1", "demo").await;
    b.go(&t.url("/tasks")).await;
    b.wait_for("document.querySelector('tr[data-task]')", "the task in Minhas tarefas").await;
    b.wait_for("document.getElementById('live-status').textContent.length > 0", "the live stream").await;
    b.js("window.__notes = []; \
         window.Notification = function (title, opts) { window.__notes.push({ title, body: opts.body }); }; \
         window.Notification.permission = 'granted'; return true")
        .await;

    t.app.clock.advance(Duration::from_secs(46 * 60));
    tasks::remind_due(&t.app).await.unwrap();
    b.wait_for("document.querySelectorAll('.task-toast').length === 1", "the early reminder's toast").await;
    let link = b.js("return document.querySelector('.task-toast a').getAttribute('href')").await;
    assert_eq!(link, json!(format!("/tasks/{}", task.id)));
    let text = b.js("return document.querySelector('.task-toast a').textContent").await;
    assert_eq!(text, json!("Retornar à <b>Maria</b>"), "the title stays text");
    assert_eq!(b.js("return document.querySelector('.task-toast b')").await, json!(null));
    assert_eq!(b.js("return document.querySelector('.task-badge').textContent").await, json!("1"));
    b.wait_for("window.__notes.length === 1", "the early reminder's notification").await;
    let note = b.js("return window.__notes[0].title").await;
    assert_eq!(note, json!("Lembrete de tarefa: Retornar à <b>Maria</b>"));
    b.screenshot("task-reminder-early").await;

    t.app.clock.advance(Duration::from_secs(15 * 60));
    tasks::remind_due(&t.app).await.unwrap();
    tasks::remind_due(&t.app).await.unwrap();
    b.wait_for("document.querySelectorAll('.task-toast').length === 2", "the due-time reminder's toast").await;
    b.wait_for("window.__notes.length === 2", "the due-time notification").await;
    assert_eq!(b.js("return window.__notes[1].body").await, json!("Prazo agora"));
    // Nothing more comes: each reminder once.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(b.js("return window.__notes.length").await, json!(2));
    // Dismissing a toast lowers the count.
    b.click(".task-toast .toast-close").await;
    b.wait_for("document.querySelector('.task-badge').textContent === '1'", "the count after a dismiss").await;
    b.screenshot("task-reminder-due").await;
    t.stop().await;
}
