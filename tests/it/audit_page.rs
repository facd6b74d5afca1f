//! The audit page (`/admin/audit`) and `GET /api/v1/audit`: filters by person, action, object
//! and period, pages, tenant isolation, admins only; and the retention per company applied by the
//! daily `audit.retention` job.

use atende::domain::{Role, Scope, TenantId};
use atende::store::audit;
use serde_json::{json, Value};

use crate::engine_test;
use crate::support::TestApp;

const DAY_MS: i64 = 86_400_000;

async fn record(t: &TestApp, tenant: TenantId, actor: &str, action: &str, subject: &str, at: i64) {
    audit::record(t.app.db.writer(), tenant, actor, action, subject, &json!({"ip": "10.0.0.9"}), at).await.unwrap();
}

async fn page(t: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = client.get(t.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn rows(html: &str) -> usize {
    html.matches("class=\"audit-entry\"").count()
}

/// `2026-12-07` for an instant, on São Paulo's clock (the demo company's zone).
fn date(ms: i64) -> String {
    let tz = chrono_tz::America::Sao_Paulo;
    chrono::DateTime::from_timestamp_millis(ms).unwrap().with_timezone(&tz).format("%Y-%m-%d").to_string()
}

engine_test!(
    the_audit_page_filters_by_person_action_object_and_period_and_keeps_companies_apart,
    |t: TestApp| async move {
        let demo = t.demo_tenant().await;
        let now = t.app.clock.now_ms();
        let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
        let ana_label = format!("user:{}", ana.id.0);
        record(&t, demo, &ana_label, "credential.revealed", "credential:5", now - DAY_MS).await;
        record(&t, demo, &ana_label, "credential.reveal_refused", "credential:6", now - 10 * DAY_MS).await;
        record(&t, demo, "user:999", "credential.revealed", "credential:55", now - 20 * DAY_MS).await;
        record(&t, demo, "user:999", "tag.deleted", "tag:5", now - 20 * DAY_MS).await;
        let acme = t.create_tenant("acme").await;
        record(&t, acme, "user:1", "credential.revealed", "credential:5", now).await;
        t.create_user(acme, "boss@acme.test", Role::Admin, "acme-admin-password-1").await;

        let admin = t.login_demo_admin().await;
        let (status, all) = page(&t, &admin, "/admin/audit").await;
        assert_eq!(status, 200);
        assert!(all.contains("Registro de auditoria") && all.contains("credential.revealed"), "{all}");
        assert!(all.contains("href=\"/admin/audit\""), "the sidebar lists it for admins");
        let demo_rows = rows(&all);
        assert!(demo_rows >= 4, "{all}");

        let (_, by_ana) = page(&t, &admin, &format!("/admin/audit?person={ana_label}")).await;
        assert_eq!(rows(&by_ana), 2, "{by_ana}");
        assert!(by_ana.contains("ana (user:"), "people show by name: {by_ana}");
        let (_, reveals) = page(&t, &admin, "/admin/audit?action=credential.revealed").await;
        assert_eq!(rows(&reveals), 2);
        let (_, one) = page(&t, &admin, "/admin/audit?object=credential:5").await;
        assert_eq!(rows(&one), 1, "an exact subject is not a prefix of credential:55");
        let (_, credentials) = page(&t, &admin, "/admin/audit?object=credential").await;
        assert_eq!(rows(&credentials), 3);
        let (_, wild) = page(&t, &admin, "/admin/audit?object=cred%25").await;
        assert_eq!(rows(&wild), 0, "typed wildcards match literally");
        let from = date(now - 15 * DAY_MS);
        let to = date(now - 5 * DAY_MS);
        let (_, period) = page(&t, &admin, &format!("/admin/audit?from={from}&to={to}")).await;
        assert_eq!(rows(&period), 1, "{period}");
        assert!(period.contains("credential.reveal_refused"));
        let (status, _) = page(&t, &admin, &format!("/admin/audit?from={to}&to={from}")).await;
        assert_eq!(status, 422, "a period that ends before it starts");
        assert_eq!(page(&t, &admin, "/admin/audit?from=ontem").await.0, 422);

        // Another company's admin sees only its own entries; agents may not open the page.
        let boss = t.login("boss@acme.test", "acme-admin-password-1", "acme").await;
        let (_, theirs) = page(&t, &boss, "/admin/audit").await;
        assert!(!theirs.contains("credential:6") && !theirs.contains("tag.deleted"), "{theirs}");
        assert_eq!(rows(&theirs), t.count("audit_log", &format!("tenant_id = {}", acme.0)).await as usize);
        let agent = t.login("ana@demo.local", "ana-password-1", "demo").await;
        assert_eq!(page(&t, &agent, "/admin/audit").await.0, 403);
        let (_, home) = page(&t, &agent, "/").await;
        assert!(!home.contains("href=\"/admin/audit\""));

        // Pages of 50, newest first, and the link to the older ones.
        for i in 0..60 {
            record(&t, demo, "user:42", "contact.updated", &format!("contact:{i}"), now - 2 * DAY_MS).await;
        }
        let (_, first) = page(&t, &admin, "/admin/audit?person=user:42").await;
        assert_eq!(rows(&first), 50);
        assert!(first.contains("contact:59") && !first.contains("contact:9<"), "newest first");
        let marker = "class=\"audit-more\" href=\"";
        let at = first.find(marker).expect("a link to older entries") + marker.len();
        let href = first[at..first[at..].find('"').unwrap() + at].replace("&#38;", "&").replace("&amp;", "&");
        let (_, second) = page(&t, &admin, &href).await;
        assert_eq!(rows(&second), 10, "{href}");
        assert!(second.contains("contact:0<") && !second.contains("audit-more"));

        // The API: the same filters, cursor pages, and only the token's company.
        let token = t.token(demo, &[Scope::Read]).await;
        let http = reqwest::Client::new();
        let get = |q: String| {
            let (http, token, url) = (http.clone(), token.clone(), t.url(&format!("/api/v1/audit{q}")));
            async move { http.get(url).bearer_auth(token).send().await.unwrap() }
        };
        let body: Value = get(format!("?actor={ana_label}&action=credential.revealed")).await.json().await.unwrap();
        assert_eq!(body["data"].as_array().unwrap().len(), 1);
        assert_eq!(body["data"][0]["subject"], "credential:5");
        assert_eq!(body["data"][0]["details"]["ip"], "10.0.0.9");
        let since = atende::http::api::timestamp(now - 15 * DAY_MS);
        let until = atende::http::api::timestamp(now - 5 * DAY_MS);
        let body: Value = get(format!("?subject=credential&from={since}&to={until}")).await.json().await.unwrap();
        assert_eq!(body["data"].as_array().unwrap().len(), 1);
        let body: Value = get("?actor=user:42&limit=40".into()).await.json().await.unwrap();
        assert_eq!(body["data"].as_array().unwrap().len(), 40);
        let cursor = body["next_cursor"].as_str().unwrap().to_string();
        let body: Value = get(format!("?actor=user:42&limit=40&cursor={cursor}")).await.json().await.unwrap();
        assert_eq!(body["data"].as_array().unwrap().len(), 20);
        assert!(body["next_cursor"].is_null());
        let r = get("?from=yesterday".into()).await;
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalid_timestamp");
        let r = get(format!("?from={until}&to={since}")).await;
        assert_eq!(r.status(), 422);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalid_audit_period");
        let theirs = t.token(acme, &[Scope::Read]).await;
        let body: Value = http
            .get(t.url("/api/v1/audit?subject=credential"))
            .bearer_auth(theirs)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["data"].as_array().unwrap().len(), 1, "{body}");
        t.stop().await;
    }
);

engine_test!(retention_deletes_old_entries_only_for_that_company, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let acme = t.create_tenant("acme").await;
    let admin = t.login_demo_admin().await;
    let csrf = t.csrf(&admin).await;
    let (status, html) = page(&t, &admin, "/admin/audit").await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"days\"") && html.contains("value=\"365\""), "365 days by default");
    let r = admin
        .post(t.url("/admin/audit/retention"))
        .form(&[("csrf", csrf.as_str()), ("days", "10")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "under 30 days is refused");
    assert_eq!(t.count("audit_settings", "1 = 1").await, 0);
    let r = admin
        .post(t.url("/admin/audit/retention"))
        .form(&[("csrf", csrf.as_str()), ("days", "30")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(t.count("audit_settings", &format!("tenant_id = {} AND retention_days = 30", demo.0)).await, 1);
    assert_eq!(t.count("audit_log", "action = 'audit.retention_changed'").await, 1);

    let now = t.app.clock.now_ms();
    record(&t, demo, "user:1", "old.demo", "x:1", now - 40 * DAY_MS).await;
    record(&t, demo, "user:1", "recent.demo", "x:2", now - 10 * DAY_MS).await;
    record(&t, acme, "user:1", "old.acme", "x:3", now - 40 * DAY_MS).await;
    record(&t, acme, "user:1", "ancient.acme", "x:4", now - 400 * DAY_MS).await;

    // The job as the scheduler enqueues it, run by the worker.
    let platform = atende::actions::tenants::find_by_slug(&t.app, "platform").await.unwrap().id;
    let payload = json!({});
    let job = atende::store::jobs::NewJob {
        tenant_id: platform,
        kind: "audit.retention",
        payload: &payload,
        run_at: now,
        max_attempts: 3,
        dedupe_key: Some("audit.retention:test"),
    };
    atende::store::jobs::enqueue(t.app.db.writer(), job, now).await.unwrap();
    t.app.jobs_wakeup.notify_one();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while t.count("jobs", "dedupe_key = 'audit.retention:test' AND state = 'done'").await == 0 {
        assert!(std::time::Instant::now() < deadline, "the retention job did not run");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(t.count("audit_log", "action = 'old.demo'").await, 0, "past the company's 30 days");
    assert_eq!(t.count("audit_log", "action = 'recent.demo'").await, 1);
    assert_eq!(t.count("audit_log", "action = 'old.acme'").await, 1, "the other company keeps 365 days");
    assert_eq!(t.count("audit_log", "action = 'ancient.acme'").await, 0);
    assert_eq!(t.count("audit_log", "action = 'audit.retention_changed'").await, 1);
    t.stop().await;
});
