//! Finding 8 (the small ones on input): oversized search texts, malformed JSON, a close with a
//! body that is not JSON, NUL characters in a customer's message.

use atende::domain::Scope;
use serde_json::Value;
use sqlx::Row;

use crate::engine_test;
use crate::support::TestApp;

engine_test!(a_50000_character_search_is_a_clear_4xx_not_a_500, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let token = t.token(demo, &[Scope::Read]).await;
    let long = "abc_".repeat(12_501);
    for path in ["/api/v1/contacts"] {
        let answer = reqwest::Client::new()
            .get(t.url(path))
            .query(&[("q", long.as_str())])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 422, "{path}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_search", "{path}: {body}");
    }
    let admin = t.login_demo_admin().await;
    for path in ["/contacts", "/inbox"] {
        let answer = admin.get(t.url(path)).query(&[("q", long.as_str())]).send().await.unwrap();
        assert_eq!(answer.status(), 422, "{path}");
    }
    t.stop().await;
});

engine_test!(malformed_json_is_a_400_malformed_json_on_every_operation, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let spec: Value =
        reqwest::Client::new().get(t.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let takes_json = op["requestBody"]["content"].get("application/json").is_some();
            if !takes_json {
                continue;
            }
            // A token per operation: all of them together outrun one token's rate limit.
            let token = t.token(demo, &[Scope::Read, Scope::Write, Scope::Send]).await;
            let concrete = path.replace("{id}", "1").replace("{contact_id}", "1").replace("{ticket_id}", "1");
            let url = t.url(&format!("/api/v1{concrete}"));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for body in [r#"{"name": "x","#, "{not json", r#"{"a": 1} trailing"#] {
                let answer = reqwest::Client::new()
                    .request(method.clone(), &url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = answer.status();
                let v: Value = answer.json().await.unwrap_or(Value::Null);
                assert_eq!(
                    (status.as_u16(), v["error"]["code"].as_str()),
                    (400, Some("malformed_json")),
                    "{method} {path} with {body:?}: {v}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 14, "only {checked} operations take JSON");
    t.stop().await;
});

engine_test!(closing_a_ticket_with_a_text_plain_body_is_refused, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let token = t.token(demo, &[Scope::Read, Scope::Write]).await;
    let answer = reqwest::Client::new()
        .post(t.url("/api/v1/tickets/1/close"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 415);
    t.stop().await;
});

engine_test!(a_customer_message_with_nul_characters_is_stored_on_both_engines, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (_sim, conn) = t.simulator(demo).await;
    let phone_number_id: String = sqlx::query("SELECT phone_number_id FROM connections WHERE id = $1")
        .bind(conn)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap()
        .get(0);
    t.deliver_texts(conn, &phone_number_id, "sim-app-secret", &[("5511987654321", "wamid.NUL", "o\u{0}i\u{0}")]).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let row = sqlx::query("SELECT body FROM messages WHERE provider_id = 'wamid.NUL'")
            .fetch_optional(t.app.db.reader())
            .await
            .unwrap();
        if let Some(row) = row {
            assert_eq!(row.get::<Option<String>, _>(0).as_deref(), Some("oi"));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the message was not stored");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    t.stop().await;
});
