//! What guards every `/api/v1` endpoint: token scopes (read, write, send) on each route,
//! `Idempotency-Key` (replayed once executed, refused when reused for another request or still
//! running, forgotten after 24 h), the per-token rate limit (429 with `Retry-After`), and input
//! no database could store (NUL characters).

use std::time::Duration;

use atende::domain::{Role, Scope};
use reqwest::Method;
use serde_json::{json, Value};

use crate::api_kit::{company, customer, ticket_from, Api, Company};
use crate::engine_test;
use crate::support::{Engine, TestApp};

/// Every endpoint with a valid request and the scope it needs.
fn endpoints(
    ticket: i64,
    tag: i64,
    department: i64,
    quick_reply: i64,
    user: i64,
    conn: i64,
) -> Vec<(Method, String, Option<Value>, Scope)> {
    use Method as M;
    vec![
        (M::GET, "/me".into(), None, Scope::Read),
        (M::GET, "/events".into(), None, Scope::Read),
        (M::GET, "/tickets".into(), None, Scope::Read),
        (M::GET, format!("/tickets/{ticket}"), None, Scope::Read),
        (M::GET, format!("/tickets/{ticket}/messages"), None, Scope::Read),
        (M::POST, format!("/tickets/{ticket}/assign"), Some(json!({"user_id": user})), Scope::Write),
        (M::POST, format!("/tickets/{ticket}/transfer"), Some(json!({"department_id": department})), Scope::Write),
        (M::POST, format!("/tickets/{ticket}/close"), Some(json!({})), Scope::Write),
        (M::POST, format!("/tickets/{ticket}/close"), Some(json!({"farewell": "Tchau"})), Scope::Send),
        (M::POST, format!("/tickets/{ticket}/reopen"), Some(json!({})), Scope::Write),
        (M::POST, format!("/tickets/{ticket}/tags"), Some(json!({"tag_id": tag})), Scope::Write),
        (M::DELETE, format!("/tickets/{ticket}/tags/{tag}"), None, Scope::Write),
        (
            M::POST,
            "/messages".into(),
            Some(json!({"ticket_id": ticket, "type": "text", "text": {"body": "Oi"}})),
            Scope::Send,
        ),
        (M::GET, "/messages/1".into(), None, Scope::Read),
        (M::POST, format!("/tickets/{ticket}/media?kind=image"), Some(json!({})), Scope::Send),
        (M::GET, "/departments".into(), None, Scope::Read),
        (M::POST, "/departments".into(), Some(json!({"name": "Novo"})), Scope::Write),
        (M::GET, format!("/departments/{department}"), None, Scope::Read),
        (M::PATCH, format!("/departments/{department}"), Some(json!({"name": "Outro"})), Scope::Write),
        (M::DELETE, format!("/departments/{department}"), None, Scope::Write),
        (M::GET, "/tags".into(), None, Scope::Read),
        (M::POST, "/tags".into(), Some(json!({"name": "Nova"})), Scope::Write),
        (M::GET, format!("/tags/{tag}"), None, Scope::Read),
        (M::PATCH, format!("/tags/{tag}"), Some(json!({"name": "Outra"})), Scope::Write),
        (M::DELETE, format!("/tags/{tag}"), None, Scope::Write),
        (M::GET, "/quick-replies".into(), None, Scope::Read),
        (M::POST, "/quick-replies".into(), Some(json!({"shortcut": "novo", "body": "x"})), Scope::Write),
        (M::GET, format!("/quick-replies/{quick_reply}"), None, Scope::Read),
        (M::PATCH, format!("/quick-replies/{quick_reply}"), Some(json!({"body": "y"})), Scope::Write),
        (M::DELETE, format!("/quick-replies/{quick_reply}"), None, Scope::Write),
        (M::GET, "/users".into(), None, Scope::Read),
        (M::GET, format!("/users/{user}"), None, Scope::Read),
        (M::GET, "/connections".into(), None, Scope::Read),
        (M::GET, format!("/connections/{conn}"), None, Scope::Read),
    ]
}

engine_test!(every_endpoint_refuses_a_token_without_its_scope_and_changes_nothing, |t: TestApp| async move {
    let c = company(&t, Some("acme")).await;
    let ticket = ticket_from(&t, &c, &customer(1), "Oi").await;
    let tag = c.api.post("/tags", &json!({"name": "VIP"})).await.id();
    let department = c.api.post("/departments", &json!({"name": "Vendas"})).await.id();
    let quick_reply = c.api.post("/quick-replies", &json!({"shortcut": "oi", "body": "Oi!"})).await.id();
    let user = t.create_user(c.tenant, "sup@acme.test", Role::Supervisor, "correct horse battery").await.id.0;
    let before = state(&t, &c).await;

    for (method, path, body, needed) in endpoints(ticket, tag, department, quick_reply, user, c.conn) {
        let others: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != needed).collect();
        let token = t.token(c.tenant, &others).await;
        let api = Api::new(&t, &token);
        let answer = api.call(method.clone(), &path, body.as_ref(), None).await;
        answer.assert_error(403, "insufficient_scope");
        let message = answer.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needed.as_str()), "{method} {path}: {message}");
        // Without any token: 401.
        let anonymous = Api::new(&t, "");
        let response = reqwest::Client::new()
            .request(method.clone(), format!("{}{path}", anonymous.base))
            .header("content-type", "application/json")
            .body(body.as_ref().map(|b| b.to_string()).unwrap_or_default())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
    }
    assert_eq!(state(&t, &c).await, before, "refused calls wrote nothing");
    t.stop().await;
});

/// Counts that any write of the API would change.
async fn state(t: &TestApp, c: &Company) -> Vec<i64> {
    let w = format!("tenant_id = {}", c.tenant.0);
    let mut out = Vec::new();
    for table in
        ["tickets", "messages", "departments", "tags", "ticket_tags", "quick_replies", "ticket_events", "contacts"]
    {
        out.push(t.count(table, &w).await);
    }
    out.push(t.count("tickets", &format!("{w} AND status = 'closed'")).await);
    out
}

engine_test!(an_idempotent_send_runs_once_and_replays_the_same_answer, |t: TestApp| async move {
    let c = company(&t, Some("acme")).await;
    let ticket = ticket_from(&t, &c, &customer(2), "Oi").await;
    let body = json!({"ticket_id": ticket, "type": "text", "text": {"body": "Uma vez só"}});
    let outbound_where = format!("tenant_id = {} AND direction = 'out'", c.tenant.0);

    let first = c.api.post_with_key("/messages", &body, "order-42").await;
    first.assert_ok(202);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = c.api.post_with_key("/messages", &body, "order-42").await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body, first.body, "the very same answer");
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(t.count("messages", &outbound_where).await, 1, "executed once");

    // The same key for another request is refused; another key runs.
    let other = json!({"ticket_id": ticket, "type": "text", "text": {"body": "Outra"}});
    c.api.post_with_key("/messages", &other, "order-42").await.assert_error(422, "idempotency_key_reused");
    assert_eq!(t.count("messages", &outbound_where).await, 1);
    c.api.post_with_key("/messages", &other, "order-43").await.assert_ok(202);
    assert_eq!(t.count("messages", &outbound_where).await, 2);

    // Keys belong to a token: another token's same key is its own.
    let second_token = Api::new(&t, &t.token(c.tenant, &Scope::ALL).await);
    let theirs = second_token.post_with_key("/messages", &body, "order-42").await;
    theirs.assert_ok(202);
    assert_ne!(theirs.body["id"], first.body["id"]);
    assert_eq!(t.count("messages", &outbound_where).await, 3);

    // Refusals are remembered too: the same failed request answers the same.
    let bad = json!({"ticket_id": ticket, "type": "text"});
    let refused = c.api.post_with_key("/messages", &bad, "bad-1").await;
    refused.assert_error(422, "invalid_message");
    let replay = c.api.post_with_key("/messages", &bad, "bad-1").await;
    assert_eq!(replay.body, refused.body);
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");

    // After 24 hours the key is forgotten and runs again.
    t.app.clock.advance(Duration::from_secs(24 * 3600 + 60));
    // The customer writes again so a text is allowed in the window.
    ticket_from(&t, &c, &customer(2), "De novo").await;
    let later = c.api.post_with_key("/messages", &body, "order-42").await;
    later.assert_ok(202);
    assert!(later.headers.get("idempotent-replayed").is_none());
    assert_ne!(later.body["id"], first.body["id"]);
    assert_eq!(t.count("messages", &outbound_where).await, 4);

    // A malformed key is refused.
    c.api
        .post_with_key("/tags", &json!({"name": "A"}), &"k".repeat(300))
        .await
        .assert_error(422, "invalid_idempotency_key");
    c.api.post_with_key("/tags", &json!({"name": "A"}), "has space").await.assert_error(422, "invalid_idempotency_key");
    t.stop().await;
});

engine_test!(a_duplicate_while_the_first_is_running_is_refused_with_in_progress, |t: TestApp| async move {
    let c = company(&t, Some("acme")).await;
    let token = atende::store::tokens::list(t.app.db.reader(), c.tenant).await.unwrap().remove(0);
    let body = json!({"name": "Concorrente"}).to_string();
    // Another instance claimed this key for the same request a moment ago and is still running it.
    let hash = atende::http::api::guard::fingerprint_of("POST", "/api/v1/tags", b"application/json", body.as_bytes());
    let now = t.app.clock.now_ms();
    let claimed = atende::store::idempotency::claim(
        t.app.db.writer(),
        c.tenant,
        token.id.0,
        "dup-1",
        &hash,
        now,
        now + 86_400_000,
    )
    .await
    .unwrap();
    assert!(claimed);
    let answer = c.api.post_with_key("/tags", &serde_json::from_str(&body).unwrap(), "dup-1").await;
    answer.assert_error(409, "idempotency_in_progress");
    assert_eq!(t.count("tags", &format!("tenant_id = {}", c.tenant.0)).await, 0, "nothing ran");

    // A running claim older than ten minutes is taken to be dead: the request runs.
    t.app.clock.advance(Duration::from_secs(11 * 60));
    let answer = c.api.post_with_key("/tags", &serde_json::from_str(&body).unwrap(), "dup-1").await;
    answer.assert_ok(201);
    assert_eq!(t.count("tags", &format!("tenant_id = {}", c.tenant.0)).await, 1);

    // Concurrent duplicates: exactly one runs, the others replay it or are told it is running.
    let send = |api: Api| async move { api.post_with_key("/tags", &json!({"name": "Corrida"}), "race-1").await };
    let answers = futures_util::future::join_all((0..6).map(|_| send(c.api.clone()))).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    assert!(created >= 1, "{answers:?}");
    for a in &answers {
        match a.status.as_u16() {
            201 => assert_eq!(a.body["name"], "Corrida"),
            409 => assert_eq!(a.body["error"]["code"], "idempotency_in_progress"),
            other => panic!("unexpected {other}: {}", a.body),
        }
    }
    assert_eq!(t.count("tags", &format!("tenant_id = {} AND name = 'Corrida'", c.tenant.0)).await, 1);
    t.stop().await;
});

engine_test!(text_with_nul_characters_is_refused_before_it_reaches_the_database, |t: TestApp| async move {
    let c = company(&t, Some("acme")).await;
    let raw = reqwest::Client::new()
        .post(t.url("/api/v1/tags"))
        .bearer_auth(&c.api.token)
        .header("content-type", "application/json")
        .body(r#"{"name": "a\u0000b"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 422);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_text");
    c.api.get("/tickets?cursor=a%00b").await.assert_error(422, "invalid_text");
    c.api.post("/departments", &json!({"name": "Ok", "greeting": "x\u{0}y"})).await.assert_error(422, "invalid_text");
    assert_eq!(t.count("tags", &format!("tenant_id = {}", c.tenant.0)).await, 0);
    // Malformed JSON and a wrong content type keep their codes.
    let raw = reqwest::Client::new()
        .post(t.url("/api/v1/tags"))
        .bearer_auth(&c.api.token)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(raw.json::<Value>().await.unwrap()["error"]["code"], "malformed_json");
    let raw = reqwest::Client::new()
        .post(t.url("/api/v1/tags"))
        .bearer_auth(&c.api.token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 415);
    t.stop().await;
});

/// The rate limit needs its own settings (1 request/s, burst 2), so these tests spawn their app.
async fn rate_limited_app(engine: Engine) -> Option<TestApp> {
    let url = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => {
            let base = crate::support::postgres_base_url()?;
            Some(crate::support::fresh_postgres_database(&base).await)
        }
    };
    Some(
        TestApp::spawn_with(engine, url, |s| {
            s.api_rate_per_sec = 1;
            s.api_rate_burst = 2;
        })
        .await,
    )
}

async fn rate_limit_answers_429_with_retry_after_per_token(engine: Engine) {
    let Some(t) = rate_limited_app(engine).await else { return };
    let tenant = t.demo_tenant().await;
    let api = Api::new(&t, &t.token(tenant, &[Scope::Read]).await);
    let other = Api::new(&t, &t.token(tenant, &[Scope::Read]).await);
    // Capacity: the rate plus the burst.
    for i in 0..3 {
        let answer = api.get("/me").await;
        assert_eq!(answer.status, 200, "request {i}: {}", answer.body);
    }
    let limited = api.get("/me").await;
    limited.assert_error(429, "rate_limited");
    let retry: u64 = limited.headers.get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // Writes are limited too and run nothing.
    let refused = api.post_with_key("/tags", &json!({"name": "x"}), "k1").await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(t.count("api_idempotency", "1 = 1").await, 0);
    // Another token has its own bucket.
    assert_eq!(other.get("/me").await.status, 200);
    // The bucket refills at the rate.
    tokio::time::sleep(Duration::from_millis(1100 * retry)).await;
    assert_eq!(api.get("/me").await.status, 200);
    // The spec needs no token, so it is not limited.
    for _ in 0..5 {
        let r = reqwest::get(t.url("/api/v1/openapi.json")).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    t.stop().await;
}

mod the_rate_limit_answers_429_with_retry_after_per_token {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        rate_limit_answers_429_with_retry_after_per_token(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        rate_limit_answers_429_with_retry_after_per_token(Engine::Postgres).await;
    }
}
