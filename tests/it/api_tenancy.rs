//! Cross-tenant probes over every endpoint: company A's token, with every scope, names company
//! B's tickets, messages, departments, tags, quick replies, users and connections. Each answer
//! is 404 (never 403, which would confirm they exist), A's lists show none of them, references
//! to them in A's own requests are unknown, and nothing of B changes.

use atende::domain::Role;
use serde_json::{json, Value};

use crate::api_kit::{company, customer, ticket_from, Company};
use crate::engine_test;
use crate::support::TestApp;

/// Everything of B that a request from A could change or reveal.
async fn snapshot(t: &TestApp, b: &Company) -> Vec<Value> {
    let mut out = Vec::new();
    for path in ["/tickets?limit=200", "/departments", "/tags", "/quick-replies", "/users", "/connections"] {
        out.push(b.api.get(path).await.assert_ok(200).clone());
    }
    let w = format!("tenant_id = {}", b.tenant.0);
    for table in ["messages", "ticket_events", "ticket_tags", "contacts", "audit_log"] {
        out.push(json!(t.count(table, &w).await));
    }
    out
}

engine_test!(a_token_of_one_company_can_neither_see_nor_change_anything_of_another, |t: TestApp| async move {
    let a = company(&t, Some("alpha")).await;
    let b = company(&t, Some("beta")).await;
    let own_ticket = ticket_from(&t, &a, &customer(1), "Oi da alpha").await;
    // The same customer phone writes to both companies.
    let ticket = ticket_from(&t, &b, &customer(1), "Oi da beta").await;
    let message =
        b.api.get(&format!("/tickets/{ticket}/messages")).await.assert_ok(200)["data"][0]["id"].as_i64().unwrap();
    let department = b.api.post("/departments", &json!({"name": "Vendas"})).await.id();
    let tag = b.api.post("/tags", &json!({"name": "VIP"})).await.id();
    let quick_reply = b.api.post("/quick-replies", &json!({"shortcut": "oi", "body": "Oi!"})).await.id();
    let user = t.create_user(b.tenant, "sup@beta.test", Role::Supervisor, "correct horse battery").await.id.0;
    b.api.post(&format!("/tickets/{ticket}/tags"), &json!({"tag_id": tag})).await.assert_ok(200);
    let before = snapshot(&t, &b).await;

    let probes: Vec<(reqwest::Method, String, Option<Value>)> = {
        use reqwest::Method as M;
        vec![
            (M::GET, format!("/tickets/{ticket}"), None),
            (M::GET, format!("/tickets/{ticket}/messages"), None),
            (M::GET, format!("/tickets/{ticket}/messages?order=asc"), None),
            (M::POST, format!("/tickets/{ticket}/assign"), Some(json!({"user_id": user}))),
            (M::POST, format!("/tickets/{ticket}/transfer"), Some(json!({"department_id": department, "note": "x"}))),
            (M::POST, format!("/tickets/{ticket}/close"), Some(json!({"farewell": "Tchau"}))),
            (M::POST, format!("/tickets/{ticket}/close"), Some(json!({}))),
            (M::POST, format!("/tickets/{ticket}/reopen"), Some(json!({}))),
            (M::POST, format!("/tickets/{ticket}/tags"), Some(json!({"tag_id": tag}))),
            (M::DELETE, format!("/tickets/{ticket}/tags/{tag}"), None),
            (M::GET, format!("/messages/{message}"), None),
            (M::POST, format!("/tickets/{ticket}/media?kind=image&caption=x"), Some(json!({"not": "a file"}))),
            (M::POST, "/messages".into(), Some(json!({"ticket_id": ticket, "type": "text", "text": {"body": "Oi"}}))),
            (
                M::POST,
                "/messages".into(),
                Some(json!({"phone": format!("+{}", customer(9)), "connection_id": b.conn, "type": "template",
                    "template": {"name": "ola", "language": "pt_BR"}})),
            ),
            (M::GET, format!("/departments/{department}"), None),
            (M::PATCH, format!("/departments/{department}"), Some(json!({"name": "Roubado"}))),
            (M::DELETE, format!("/departments/{department}"), None),
            (M::GET, format!("/tags/{tag}"), None),
            (M::PATCH, format!("/tags/{tag}"), Some(json!({"name": "Roubada"}))),
            (M::DELETE, format!("/tags/{tag}"), None),
            (M::GET, format!("/quick-replies/{quick_reply}"), None),
            (M::PATCH, format!("/quick-replies/{quick_reply}"), Some(json!({"body": "hackeado"}))),
            (M::DELETE, format!("/quick-replies/{quick_reply}"), None),
            (M::GET, format!("/users/{user}"), None),
            (M::GET, format!("/connections/{}", b.conn), None),
        ]
    };
    for (method, path, body) in &probes {
        let answer = a.api.call(method.clone(), path, body.as_ref(), None).await;
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], "not_found", "{method} {path}");
        // With an Idempotency-Key the answer is the same.
        if *method == reqwest::Method::POST {
            let key = format!("probe-{}", atende::crypto::random_token(8));
            let keyed = a.api.call(method.clone(), path, body.as_ref(), Some(&key)).await;
            assert_eq!(keyed.status, 404, "{method} {path} (keyed): {}", keyed.body);
            let again = a.api.call(method.clone(), path, body.as_ref(), Some(&key)).await;
            assert_eq!(again.status, 404, "{method} {path} (replayed): {}", again.body);
            assert_eq!(again.body, keyed.body);
        }
    }

    // A's lists show nothing of B.
    for path in ["/tickets?limit=200", "/departments", "/tags", "/quick-replies", "/users", "/connections"] {
        let rows = a.api.get(path).await.assert_ok(200)["data"].as_array().unwrap().clone();
        for row in &rows {
            let text = row.to_string();
            assert!(!text.contains("beta"), "{path}: {text}");
        }
        let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        match path {
            "/tickets?limit=200" => assert_eq!(ids, vec![own_ticket]),
            "/connections" => assert_eq!(ids, vec![a.conn]),
            "/users" => assert!(!ids.contains(&user), "{ids:?}"),
            _ => assert!(ids.is_empty(), "{path}: A has none of these: {ids:?}"),
        }
    }
    // Filters naming B's things find nothing.
    for q in [
        format!("department_id={department}"),
        format!("tag_id={tag}"),
        format!("connection_id={}", b.conn),
        format!("assignee_id={user}"),
    ] {
        let rows = a.api.get(&format!("/tickets?{q}")).await.assert_ok(200)["data"].as_array().unwrap().len();
        assert_eq!(rows, 0, "{q}");
    }
    // B's things named inside A's own requests are unknown, as if they did not exist.
    a.api
        .post(&format!("/tickets/{own_ticket}/assign"), &json!({"user_id": user}))
        .await
        .assert_error(422, "unknown_agent");
    a.api
        .post(&format!("/tickets/{own_ticket}/transfer"), &json!({"department_id": department}))
        .await
        .assert_error(422, "unknown_department");
    a.api.post(&format!("/tickets/{own_ticket}/tags"), &json!({"tag_id": tag})).await.assert_error(422, "unknown_tag");
    a.api
        .post("/quick-replies", &json!({"shortcut": "x", "body": "y", "department_id": department}))
        .await
        .assert_error(422, "unknown_department");

    assert_eq!(snapshot(&t, &b).await, before, "nothing of B changed");
    assert!(b.graph.messages().is_empty(), "nothing was sent through B's number");
    t.stop().await;
});
