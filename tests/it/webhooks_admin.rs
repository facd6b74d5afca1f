//! Managing outgoing webhooks: the SSRF guard at creation and at delivery, tenant isolation, a
//! repeated fan-out (a restart) duplicating nothing, the admin pages with the dead-letter alert,
//! and the OpenAPI document of the endpoints.

use crate::engine_test;
use crate::support::TestApp;
use crate::webhooks::*;
use atende::actions::Actor;
use atende::domain::Scope;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

engine_test!(private_destinations_are_refused_unless_the_tenant_allows_them, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let token = t.token(tenant, &[Scope::Read, Scope::Write]).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://192.168.0.10/",
        "http://localhost:9/hook",
    ] {
        let (status, body) =
            api(&t, "POST", "/webhooks", &token, Some(json!({ "url": url, "events": ["message.created"] }))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(body["error"]["code"], "webhook_url_forbidden", "{url}: {body}");
    }
    for (url, code) in [
        ("ftp://example.com/x", "invalid_url"),
        ("javascript:alert(1)", "invalid_url"),
        ("http://u:p@example.com/", "invalid_url"),
    ] {
        let (status, body) =
            api(&t, "POST", "/webhooks", &token, Some(json!({ "url": url, "events": ["message.created"] }))).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{url}");
    }
    let (status, body) =
        api(&t, "POST", "/webhooks", &token, Some(json!({ "url": "http://127.0.0.1:9/", "events": ["nope"] }))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_events")));
    assert_eq!(t.count("webhook_subscriptions", "1 = 1").await, 0);

    // Allowed: loopback works; then the setting is turned off and delivery refuses to connect.
    allow_private(&t, tenant, true).await;
    let r = Receiver::start().await;
    let sub = subscribe(&t, &token, &r, &["message.created"]).await;
    allow_private(&t, tenant, false).await;
    let (_, test) = api(&t, "POST", &format!("/webhooks/{sub}/test"), &token, None).await;
    let id = test["id"].as_i64().unwrap();
    let mut d = delivery(&t, tenant, id).await;
    for _ in 0..200 {
        if !d.attempts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        d = delivery(&t, tenant, id).await;
    }
    let a = &d.attempts[0];
    assert_eq!(a.status_code, None);
    assert!(a.error.as_deref().unwrap_or("").contains("loopback"), "{a:?}");
    assert_eq!(r.count(), 0, "nothing reached the private address");
    // PATCH re-checks a changed URL.
    let (status, body) =
        api(&t, "PATCH", &format!("/webhooks/{sub}"), &token, Some(json!({ "url": "http://10.0.0.1/" }))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("webhook_url_forbidden"))
    );
    t.stop().await;
});

engine_test!(one_tenant_cannot_see_or_change_another_tenants_webhooks, |t: TestApp| async move {
    let a = t.demo_tenant().await;
    let b = t.create_tenant("other").await;
    allow_private(&t, a, true).await;
    let token_a = t.token(a, &[Scope::Read, Scope::Write]).await;
    let token_b = t.token(b, &[Scope::Read, Scope::Write]).await;
    let r = Receiver::start().await;
    let sub = subscribe(&t, &token_a, &r, &["message.created"]).await;
    let (_, test) = api(&t, "POST", &format!("/webhooks/{sub}/test"), &token_a, None).await;
    let delivery_id = test["id"].as_i64().unwrap();
    r.wait_for(1).await;

    let (status, list) = api(&t, "GET", "/webhooks", &token_b, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"], json!([]));
    for (method, path, body) in [
        ("GET", format!("/webhooks/{sub}"), None),
        ("PATCH", format!("/webhooks/{sub}"), Some(json!({ "active": false }))),
        ("DELETE", format!("/webhooks/{sub}"), None),
        ("GET", format!("/webhooks/{sub}/deliveries"), None),
        ("POST", format!("/webhooks/{sub}/test"), None),
        ("GET", format!("/webhook-deliveries/{delivery_id}"), None),
        ("POST", format!("/webhook-deliveries/{delivery_id}/replay"), None),
    ] {
        let (status, answer) = api(&t, method, &path, &token_b, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found");
    }
    // Still A's, unchanged.
    let (status, mine) = api(&t, "GET", &format!("/webhooks/{sub}"), &token_a, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["active"], true);
    // Scopes: a read-only token lists but cannot create, change or replay.
    let read_only = t.token(a, &[Scope::Read]).await;
    assert_eq!(api(&t, "GET", "/webhooks", &read_only, None).await.0, StatusCode::OK);
    let (status, body) =
        api(&t, "POST", "/webhooks", &read_only, Some(json!({ "url": r.url, "events": ["message.created"] }))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("insufficient_scope")));
    assert_eq!(
        api(&t, "POST", &format!("/webhook-deliveries/{delivery_id}/replay"), &read_only, None).await.0,
        StatusCode::FORBIDDEN
    );
    // Deleting stops it everywhere.
    assert_eq!(api(&t, "DELETE", &format!("/webhooks/{sub}"), &token_a, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api(&t, "GET", &format!("/webhooks/{sub}"), &token_a, None).await.0, StatusCode::NOT_FOUND);
    t.stop().await;
});

engine_test!(a_repeated_fan_out_after_a_restart_creates_no_second_delivery, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    allow_private(&t, tenant, true).await;
    let token = t.token(tenant, &[Scope::Read, Scope::Write]).await;
    let r = Receiver::start().await;
    subscribe(&t, &token, &r, &["message.created", "ticket.created", "contact.created"]).await;
    let conn = connect(&t, tenant, "PNCRASH").await;
    for i in 0..3 {
        inbound_text(&t, conn, "PNCRASH", &format!("551190000000{i}"), &format!("wamid.CRASH{i}"), "oi").await;
    }
    r.wait_for(9).await;
    assert_eq!(t.count("webhook_deliveries", "1 = 1").await, 9);
    // A process that died before storing its bookmark starts over from an older one: the
    // events are read again, and the unique key keeps every delivery single.
    sqlx::query("UPDATE webhook_dispatch SET last_event_id = 0").execute(t.app.db.writer()).await.unwrap();
    let mut fresh = atende::jobs::webhooks::DispatchState::default();
    while atende::jobs::webhooks::fan_out(&t.app, &mut fresh).await.unwrap() {}
    assert_eq!(t.count("webhook_deliveries", "1 = 1").await, 9);
    // And the bookmark moved past them again.
    let cursor = atende::store::webhooks::read_cursor(t.app.db.reader()).await.unwrap();
    assert!(cursor >= atende::store::webhooks::max_event_id(t.app.db.reader()).await.unwrap() - 1, "{cursor}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.count(), 9);
    t.stop().await;
});

engine_test!(admins_manage_webhooks_in_the_web_ui_and_see_the_dead_letter_alert, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let r = Receiver::start().await;
    let admin = t.login_demo_admin().await;
    let csrf = t.csrf(&admin).await;
    let page = admin.get(t.url("/admin/webhooks")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Nova assinatura") && html.contains("message.created"), "{html}");

    // Loopback is refused while private networks are not allowed, with the reason on the page.
    let form =
        [("csrf", csrf.as_str()), ("url", r.url.as_str()), ("events", "message.created"), ("events", "ticket.closed")];
    let refused = admin.post(t.url("/admin/webhooks")).form(&form).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("rede interna"));
    // Only the platform admin lets this company reach private networks.
    let platform = t.login("admin@atende.local", &t.logins.platform_password, "platform").await;
    let platform_csrf = t.csrf(&platform).await;
    let allow = [("csrf", platform_csrf.as_str()), ("allow", "1")];
    let answer = platform
        .post(t.url(&format!("/platform/tenants/{}/private-networks", tenant.0)))
        .form(&allow)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let created = admin.post(t.url("/admin/webhooks")).form(&form).send().await.unwrap();
    assert_eq!(created.status(), 200);
    let html = created.text().await.unwrap();
    let start = html.find("whsec_").expect("the secret is shown once");
    let secret: String = html[start..].chars().take_while(|c| *c != '<').collect();
    *r.secret.lock().unwrap() = secret.clone();
    let subs = atende::actions::webhooks::list_subscriptions(&t.app, &Actor::Operator, tenant, 0, 10).await.unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].events, vec!["message.created", "ticket.closed"]);
    let id = subs[0].id;
    // The stored secret is sealed, not the secret itself.
    let sealed = &subs[0].secret_sealed;
    assert!(!sealed.contains(&secret) && sealed.starts_with("v1:"));
    // Admins can read it again (audited).
    let reveal = admin
        .post(t.url(&format!("/admin/webhooks/{id}/secret")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(reveal.text().await.unwrap().contains(&secret));
    assert_eq!(t.count("audit_log", "action = 'webhook.secret_read'").await, 1);

    // A test event arrives signed, and the deliveries page lists it.
    let sent =
        admin.post(t.url(&format!("/admin/webhooks/{id}/test"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(sent.status(), 303);
    let got = r.wait_for(1).await;
    assert!(got[0].signature_valid);
    assert_eq!(got[0].body["event"], "webhook.test");
    let delivery_id = got[0].body["id"].as_i64().unwrap();
    let mut html = String::new();
    for _ in 0..100 {
        html =
            admin.get(t.url(&format!("/admin/webhooks/{id}/deliveries"))).send().await.unwrap().text().await.unwrap();
        if html.contains("entregue") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(html.contains("webhook.test") && html.contains("entregue") && html.contains("200"), "{html}");

    // A dead letter: the alert shows on the home and webhook pages, and a replay clears it.
    sqlx::query("UPDATE webhook_deliveries SET state = 'dead' WHERE id = $1")
        .bind(delivery_id)
        .execute(t.app.db.writer())
        .await
        .unwrap();
    let home = admin.get(t.url("/")).header("Accept-Language", "en").send().await.unwrap().text().await.unwrap();
    assert!(home.contains("webhook-dead-alert"), "{home}");
    let list = admin.get(t.url("/admin/webhooks")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("webhook-dead-alert"));
    let replay = admin
        .post(t.url(&format!("/admin/webhook-deliveries/{delivery_id}/replay")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303);
    r.wait_for(2).await;
    let home = admin.get(t.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!home.contains("webhook-dead-alert"));
    let detail = admin
        .get(t.url(&format!("/admin/webhook-deliveries/{delivery_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(detail.contains("receiver says hi"), "{detail}");

    // Agents do not see webhooks.
    let agent_password = "correct horse battery";
    t.create_user(tenant, "agent@demo.local", atende::domain::Role::Agent, agent_password).await;
    let agent = t.login("agent@demo.local", agent_password, "demo").await;
    assert_eq!(agent.get(t.url("/admin/webhooks")).send().await.unwrap().status(), 403);
    assert_eq!(
        agent.get(t.url(&format!("/admin/webhook-deliveries/{delivery_id}"))).send().await.unwrap().status(),
        403
    );

    // Delete.
    let deleted = admin
        .post(t.url(&format!("/admin/webhooks/{id}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 303);
    assert!(atende::actions::webhooks::list_subscriptions(&t.app, &Actor::Operator, tenant, 0, 10)
        .await
        .unwrap()
        .is_empty());
    t.stop().await;
});

#[test]
fn the_openapi_document_describes_every_webhook_endpoint() {
    let doc = serde_json::to_value(atende::http::api::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/webhooks", &["get", "post"][..]),
        ("/webhooks/{id}", &["get", "patch", "delete"][..]),
        ("/webhooks/{id}/deliveries", &["get"][..]),
        ("/webhooks/{id}/test", &["post"][..]),
        ("/webhook-deliveries/{id}", &["get"][..]),
        ("/webhook-deliveries/{id}/replay", &["post"][..]),
    ] {
        for m in methods {
            assert!(paths[path].get(*m).is_some(), "{m} {path} missing");
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in ["WebhookOut", "WebhookCreate", "WebhookCreated", "DeliveryOut", "DeliveryPage", "ErrorBody"] {
        assert!(schemas.contains_key(s), "schema {s} missing");
    }
    assert_eq!(
        paths["/webhooks"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/WebhookCreated"
    );
}
