//! The REST API's resources end to end over HTTP: tickets (list and filters, get, assign,
//! transfer, close, reopen, tags), messages (list both orders, get, send text/media/template to
//! a ticket or a phone), departments, tags and quick replies (CRUD), users and connections
//! (read, no secrets), and cursor pagination walks with no duplicates or misses.

use std::collections::HashSet;

use atende::domain::Role;
use serde_json::json;

use crate::api_kit::{company, customer, ids, inbound, ticket_from, walk};
use crate::engine_test;
use crate::support::TestApp;

const PASSWORD: &str = "correct horse battery";

engine_test!(tickets_are_listed_filtered_and_read_with_tags_and_history, |t: TestApp| async move {
    let c = company(&t, Some("acme")).await;
    let first = ticket_from(&t, &c, &customer(1), "Oi, quero um orçamento").await;
    let second = ticket_from(&t, &c, &customer(2), "Meu pedido atrasou").await;
    let sales = c.api.post("/departments", &json!({"name": "Vendas"})).await.id();
    let agent = t.create_user(c.tenant, "ana@acme.test", Role::Supervisor, PASSWORD).await;

    let all = c.api.get("/tickets").await;
    let rows = all.assert_ok(200)["data"].as_array().unwrap().clone();
    assert_eq!(ids(&rows), vec![second, first], "most recent activity first");
    assert_eq!(rows[0]["status"], "waiting");
    assert_eq!(rows[0]["contact_phone"], customer(2));
    assert_eq!(rows[0]["last_message_preview"], "Meu pedido atrasou");
    assert!(rows[0]["created_at"].as_str().unwrap().ends_with('Z'), "{}", rows[0]);
    assert_eq!(all.body["next_cursor"], serde_json::Value::Null);

    // Transfer the first to Vendas and to Ana, with a note.
    let moved = c
        .api
        .post(
            &format!("/tickets/{first}/transfer"),
            &json!({"department_id": sales, "user_id": agent.id.0, "note": "VIP"}),
        )
        .await;
    let moved = moved.assert_ok(200);
    assert_eq!(moved["department_id"], sales);
    assert_eq!(moved["assignee_id"], agent.id.0);
    assert_eq!(moved["status"], "open");

    let by = |q: &str| {
        let api = c.api.clone();
        let q = q.to_string();
        async move { ids(api.get(&format!("/tickets?{q}")).await.assert_ok(200)["data"].as_array().unwrap()) }
    };
    assert_eq!(by(&format!("department_id={sales}")).await, vec![first]);
    assert_eq!(by(&format!("assignee_id={}", agent.id.0)).await, vec![first]);
    assert_eq!(by("status=waiting").await, vec![second]);
    assert_eq!(by("status=open").await, vec![first]);
    assert_eq!(by(&format!("connection_id={}", c.conn)).await.len(), 2);
    assert!(by(&format!("connection_id={}", c.conn + 1000)).await.is_empty());
    let contact = rows[1]["contact_id"].as_i64().unwrap();
    assert_eq!(by(&format!("contact_id={contact}")).await, vec![first]);

    // Tags on and off.
    let vip = c.api.post("/tags", &json!({"name": "VIP", "colour": "#ff0000"})).await.id();
    let tagged = c.api.post(&format!("/tickets/{first}/tags"), &json!({"tag_id": vip})).await;
    assert_eq!(tagged.assert_ok(200)[0]["name"], "VIP");
    assert_eq!(by(&format!("tag_id={vip}")).await, vec![first]);
    let detail = c.api.get(&format!("/tickets/{first}")).await;
    let detail = detail.assert_ok(200);
    assert_eq!(detail["id"], first);
    assert_eq!(detail["tags"][0]["id"], vip);
    let kinds: Vec<&str> = detail["history"].as_array().unwrap().iter().map(|h| h["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"transferred"), "{kinds:?}");
    let transfer = detail["history"].as_array().unwrap().iter().find(|h| h["kind"] == "transferred").unwrap();
    assert_eq!(transfer["note"], "VIP");
    assert_eq!(transfer["to_department_id"], sales);
    let untagged = c.api.delete(&format!("/tickets/{first}/tags/{vip}")).await;
    assert_eq!(untagged.assert_ok(200).as_array().unwrap().len(), 0);
    assert!(by(&format!("tag_id={vip}")).await.is_empty());

    // updated_since: only what changed after the instant.
    let later = atende::http::api::timestamp(t.app.clock.now_ms() + 60_000);
    assert!(by(&format!("updated_since={later}")).await.is_empty());
    t.app.clock.advance(std::time::Duration::from_secs(120));
    c.api.post(&format!("/tickets/{second}/assign"), &json!({"user_id": agent.id.0})).await.assert_ok(200);
    assert_eq!(by(&format!("updated_since={later}")).await, vec![second]);

    // Bad filters answer 400 with stable codes.
    c.api.get("/tickets?status=lost").await.assert_error(400, "invalid_status");
    c.api.get("/tickets?updated_since=yesterday").await.assert_error(400, "invalid_timestamp");
    c.api.get("/tickets?limit=500").await.assert_error(400, "invalid_limit");
    c.api.get("/tickets?cursor=bm9wZQ").await.assert_error(400, "invalid_cursor");
    c.api.get("/tickets?department_id=abc").await.assert_error(400, "invalid_query");
    c.api.get("/tickets/abc").await.assert_error(400, "invalid_path");
    c.api.get("/tickets/999999").await.assert_error(404, "not_found");
    t.stop().await;
});

engine_test!(tickets_are_assigned_closed_with_a_farewell_and_reopened, |t: TestApp| async move {
    let c = company(&t, Some("acme")).await;
    let id = ticket_from(&t, &c, &customer(3), "Olá").await;
    let sup = t.create_user(c.tenant, "sup@acme.test", Role::Supervisor, PASSWORD).await;

    let assigned = c.api.post(&format!("/tickets/{id}/assign"), &json!({"user_id": sup.id.0})).await;
    assert_eq!(assigned.assert_ok(200)["assignee_id"], sup.id.0);
    assert_eq!(assigned.body["status"], "open");
    c.api.post(&format!("/tickets/{id}/assign"), &json!({"user_id": 987654})).await.assert_error(422, "unknown_agent");
    c.api.post(&format!("/tickets/{id}/transfer"), &json!({})).await.assert_error(422, "invalid_transfer");
    c.api.post(&format!("/tickets/{id}/assign"), &json!({"user": 1})).await.assert_error(422, "invalid_body");

    let closed = c.api.post(&format!("/tickets/{id}/close"), &json!({"farewell": "Obrigado, {{nome}}!"})).await;
    let closed = closed.assert_ok(200);
    assert_eq!(closed["ticket"]["status"], "closed");
    assert!(closed["ticket"]["closed_at"].is_string());
    let farewell = closed["farewell_message_id"].as_i64().expect("the farewell was queued");
    let message = c.api.get(&format!("/messages/{farewell}")).await;
    assert_eq!(message.assert_ok(200)["body"], format!("Obrigado, Cliente {}!", customer(3)));
    assert_eq!(message.body["direction"], "out");

    c.api.post(&format!("/tickets/{id}/close"), &json!({})).await.assert_error(409, "ticket_closed");
    let reopened = c.api.post(&format!("/tickets/{id}/reopen"), &json!({})).await;
    assert_eq!(reopened.assert_ok(200)["status"], "waiting", "a token's reopen queues the ticket again");
    c.api.post(&format!("/tickets/{id}/reopen"), &json!({})).await.assert_error(409, "ticket_not_closed");
    // Closing with an empty body closes without a farewell.
    let response = reqwest::Client::new()
        .post(t.url(&format!("/api/v1/tickets/{id}/close")))
        .bearer_auth(&c.api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["farewell_message_id"], serde_json::Value::Null);
    assert_eq!(body["ticket"]["status"], "closed");
    t.stop().await;
});

engine_test!(messages_are_sent_to_tickets_and_phones_and_listed_in_both_orders, |t: TestApp| async move {
    let c = company(&t, Some("acme")).await;
    let id = ticket_from(&t, &c, &customer(4), "Preciso de ajuda").await;

    let text = c.api.post("/messages", &json!({"ticket_id": id, "type": "text", "text": {"body": "Claro!"}})).await;
    let text = text.assert_ok(202);
    assert_eq!(text["status"], "queued");
    assert_eq!(text["kind"], "text");
    assert_eq!(text["ticket_id"], id);
    let media = c
        .api
        .post(
            "/messages",
            &json!({"ticket_id": id, "type": "media",
                "media": {"kind": "image", "link": "https://example.com/a.jpg", "caption": "Foto"}}),
        )
        .await;
    assert_eq!(media.assert_ok(202)["kind"], "image");
    assert_eq!(media.body["body"], "Foto");

    // To a new phone: outside the window only a template goes, and it creates contact and ticket.
    let phone = "+55 11 91234-5678";
    c.api
        .post("/messages", &json!({"phone": phone, "type": "text", "text": {"body": "Oi"}}))
        .await
        .assert_error(422, "outside_window");
    assert_eq!(t.count("contacts", &format!("tenant_id = {} AND phone = '5511912345678'", c.tenant.0)).await, 0);
    let template = c
        .api
        .post(
            "/messages",
            &json!({"phone": phone, "type": "template", "template": {"name": "boas_vindas", "language": "pt_BR",
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]}}),
        )
        .await;
    let template = template.assert_ok(202);
    assert_eq!(template["kind"], "template");
    assert_eq!(template["connection_id"], c.conn, "the company's first WhatsApp number by default");
    let new_ticket = template["ticket_id"].as_i64().unwrap();
    assert_ne!(new_ticket, id);
    let ticket = c.api.get(&format!("/tickets/{new_ticket}")).await;
    assert_eq!(ticket.assert_ok(200)["contact_phone"], "5511912345678");

    // The send job delivers them to Graph.
    for _ in 0..400 {
        if c.graph.messages().len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let sent = c.graph.messages();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent.iter().any(|m| m["type"] == "template" && m["template"]["name"] == "boas_vindas"), "{sent:?}");

    // A file uploaded as the body is stored, sniffed and sent by the media id Graph gives it.
    let png = [&b"\x89PNG\r\n\x1a\n"[..], &[0u8; 64][..]].concat();
    let upload = reqwest::Client::new()
        .post(t.url(&format!("/api/v1/tickets/{id}/media?kind=image&caption=Recibo")))
        .bearer_auth(&c.api.token)
        .header("content-type", "application/octet-stream")
        .body(png)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 202);
    let uploaded: serde_json::Value = upload.json().await.unwrap();
    assert_eq!(uploaded["kind"], "image");
    assert_eq!(uploaded["media_mime"], "image/png");
    assert_eq!(uploaded["body"], "Recibo");
    for _ in 0..400 {
        if c.graph.messages().len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let sent = c.graph.messages();
    assert!(sent.iter().any(|m| m["image"]["id"] == "MEDIA-UPLOADED"), "{sent:?}");
    let empty = reqwest::Client::new()
        .post(t.url(&format!("/api/v1/tickets/{id}/media?kind=image")))
        .bearer_auth(&c.api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 422);
    assert_eq!(empty.json::<serde_json::Value>().await.unwrap()["error"]["code"], "empty_file");
    assert_eq!(c.api.get(&format!("/tickets/{id}/media?kind=image")).await.status, 405);

    // Bad sends.
    c.api.post("/messages", &json!({"type": "text", "text": {"body": "x"}})).await.assert_error(422, "invalid_target");
    c.api
        .post("/messages", &json!({"ticket_id": id, "phone": phone, "type": "text", "text": {"body": "x"}}))
        .await
        .assert_error(422, "invalid_target");
    c.api.post("/messages", &json!({"ticket_id": id, "type": "text"})).await.assert_error(422, "invalid_message");
    c.api.post("/messages", &json!({"ticket_id": id, "type": "fax"})).await.assert_error(422, "invalid_message_type");
    c.api
        .post(
            "/messages",
            &json!({"ticket_id": id, "type": "media", "media": {"kind": "hologram", "link": "https://x"}}),
        )
        .await
        .assert_error(422, "invalid_media_kind");
    c.api
        .post("/messages", &json!({"ticket_id": id, "type": "text", "text": {"body": "  "}}))
        .await
        .assert_error(422, "invalid_message");
    c.api
        .post("/messages", &json!({"phone": "12", "type": "template", "template": {"name": "a", "language": "pt_BR"}}))
        .await
        .assert_error(422, "invalid_phone");
    c.api
        .post("/messages", &json!({"ticket_id": 99999999, "type": "text", "text": {"body": "x"}}))
        .await
        .assert_error(404, "not_found");
    c.api
        .post(
            "/messages",
            &json!({"phone": phone, "connection_id": 99999999, "type": "template",
                "template": {"name": "a", "language": "pt_BR"}}),
        )
        .await
        .assert_error(404, "not_found");

    // Listing: newest first by default, oldest first on request, both walk the same set.
    let desc = walk(&c.api, &format!("/tickets/{id}/messages"), 2).await;
    let asc = walk(&c.api, &format!("/tickets/{id}/messages?order=asc"), 2).await;
    assert_eq!(desc.len(), 4, "the customer's message and three replies");
    let mut reversed = ids(&desc);
    reversed.reverse();
    assert_eq!(ids(&asc), reversed);
    assert_eq!(asc[0]["direction"], "in");
    assert_eq!(asc[0]["body"], "Preciso de ajuda");
    c.api.get(&format!("/tickets/{id}/messages?order=sideways")).await.assert_error(400, "invalid_order");
    c.api.get("/tickets/99999999/messages").await.assert_error(404, "not_found");
    t.stop().await;
});

engine_test!(departments_tags_and_quick_replies_are_created_read_changed_and_deleted, |t: TestApp| async move {
    let c = company(&t, Some("acme")).await;
    let api = &c.api;

    // Departments.
    let d = api.post("/departments", &json!({"name": "Suporte", "distribution_mode": "round_robin"})).await;
    let d = d.assert_ok(201).clone();
    assert_eq!(d["distribution_mode"], "round_robin");
    assert_eq!(d["colour"], "#2563eb");
    let id = d["id"].as_i64().unwrap();
    assert_eq!(api.get(&format!("/departments/{id}")).await.assert_ok(200)["name"], "Suporte");
    let changed = api.patch(&format!("/departments/{id}"), &json!({"greeting": "Olá!", "sign_messages": true})).await;
    let changed = changed.assert_ok(200);
    assert_eq!(changed["greeting"], "Olá!");
    assert_eq!(changed["sign_messages"], true);
    assert_eq!(changed["name"], "Suporte", "fields left out keep their value");
    api.post("/departments", &json!({"name": "Suporte"})).await.assert_error(409, "name_taken");
    api.post("/departments", &json!({"name": "X", "colour": "red"})).await.assert_error(422, "invalid_colour");
    api.post("/departments", &json!({"name": "X", "distribution_mode": "random"}))
        .await
        .assert_error(422, "invalid_distribution_mode");
    api.post("/departments", &json!({"name": ""})).await.assert_error(422, "invalid_name");
    assert_eq!(ids(api.get("/departments").await.assert_ok(200)["data"].as_array().unwrap()), vec![id]);

    // Tags.
    let tag = api.post("/tags", &json!({"name": "Atacado"})).await;
    let tag_id = tag.assert_ok(201)["id"].as_i64().unwrap();
    assert_eq!(tag.body["colour"], "#64748b");
    let renamed = api.patch(&format!("/tags/{tag_id}"), &json!({"name": "Varejo", "colour": "#00FF00"})).await;
    assert_eq!(renamed.assert_ok(200)["name"], "Varejo");
    assert_eq!(renamed.body["colour"], "#00ff00");
    assert_eq!(api.get(&format!("/tags/{tag_id}")).await.assert_ok(200)["name"], "Varejo");
    api.post("/tags", &json!({"name": "Varejo"})).await.assert_error(409, "tag_exists");
    // One tag ignoring case and accents.
    api.post("/tags", &json!({"name": "VARÉJO"})).await.assert_error(409, "tag_exists");
    api.post("/tags", &json!({"name": "Outra", "shade": 1})).await.assert_error(422, "invalid_body");

    // Quick replies.
    let qr =
        api.post("/quick-replies", &json!({"shortcut": "/ola", "body": "Olá {{nome}}!", "department_id": id})).await;
    let qr_id = qr.assert_ok(201)["id"].as_i64().unwrap();
    assert_eq!(qr.body["shortcut"], "ola");
    assert_eq!(qr.body["department_id"], id);
    let wide = api.patch(&format!("/quick-replies/{qr_id}"), &json!({"department_id": null})).await;
    assert_eq!(wide.assert_ok(200)["department_id"], serde_json::Value::Null, "null makes it company-wide");
    assert_eq!(wide.body["body"], "Olá {{nome}}!");
    let kept = api.patch(&format!("/quick-replies/{qr_id}"), &json!({"body": "Oi"})).await;
    assert_eq!(kept.assert_ok(200)["department_id"], serde_json::Value::Null, "absent keeps it");
    assert_eq!(api.get(&format!("/quick-replies/{qr_id}")).await.assert_ok(200)["body"], "Oi");
    api.post("/quick-replies", &json!({"shortcut": "a b", "body": "x"})).await.assert_error(422, "invalid_shortcut");
    api.post("/quick-replies", &json!({"shortcut": "ola", "body": "x"})).await.assert_error(409, "shortcut_taken");
    api.post("/quick-replies", &json!({"shortcut": "z", "body": "x", "department_id": 999999}))
        .await
        .assert_error(422, "unknown_department");
    assert_eq!(api.get("/quick-replies").await.assert_ok(200)["data"].as_array().unwrap().len(), 1);

    // Deletes: 204, then 404.
    for path in [format!("/quick-replies/{qr_id}"), format!("/tags/{tag_id}"), format!("/departments/{id}")] {
        let gone = api.delete(&path).await;
        assert_eq!(gone.status, 204, "{path}: {}", gone.body);
        api.get(&path).await.assert_error(404, "not_found");
        api.delete(&path).await.assert_error(404, "not_found");
    }
    t.stop().await;
});

engine_test!(users_and_connections_are_read_without_secrets, |t: TestApp| async move {
    let c = company(&t, Some("acme")).await;
    let ana = t.create_user(c.tenant, "ana@acme.test", Role::Agent, PASSWORD).await;
    let users = c.api.get("/users").await;
    let rows = users.assert_ok(200)["data"].as_array().unwrap().clone();
    assert!(rows.iter().any(|u| u["email"] == "ana@acme.test" && u["role"] == "agent"), "{rows:?}");
    let one = c.api.get(&format!("/users/{}", ana.id.0)).await;
    assert_eq!(one.assert_ok(200)["name"], "ana");
    assert!(one.body.get("password_hash").is_none());
    let text = users.body.to_string();
    assert!(!text.contains("argon2"), "{text}");

    let conns = c.api.get("/connections").await;
    let rows = conns.assert_ok(200)["data"].as_array().unwrap().clone();
    assert_eq!(ids(&rows), vec![c.conn]);
    assert_eq!(rows[0]["health"], "ok");
    assert_eq!(rows[0]["phone_number_id"], c.phone_number_id);
    let one = c.api.get(&format!("/connections/{}", c.conn)).await;
    let text = one.assert_ok(200).to_string();
    for secret in ["EAAG-api-token", crate::api_kit::APP_SECRET, "access_token", "app_secret", "verify_token"] {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }
    let stored = atende::store::connections::get(t.app.db.reader(), c.tenant, c.conn).await.unwrap().unwrap();
    assert!(!text.contains(&stored.verify_token));
    c.api.get("/connections/999999").await.assert_error(404, "not_found");
    t.stop().await;
});

engine_test!(pagination_walks_every_list_without_duplicates_or_misses, |t: TestApp| async move {
    let c = company(&t, Some("acme")).await;
    // 23 customers write at once; 5 of them twice (same tickets, newer activity).
    let first: Vec<(String, String, String)> =
        (0..23).map(|i| (customer(100 + i), format!("wamid.P{i}"), format!("m{i}"))).collect();
    inbound(&t, &c, &first).await;
    let again: Vec<(String, String, String)> =
        (0..5).map(|i| (customer(100 + i), format!("wamid.Q{i}"), format!("again {i}"))).collect();
    inbound(&t, &c, &again).await;
    for _ in 0..400 {
        if t.count("messages", &format!("tenant_id = {} AND direction = 'in'", c.tenant.0)).await == 28 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let expected: HashSet<i64> = {
        let rows = c.api.get("/tickets?limit=200").await;
        ids(rows.assert_ok(200)["data"].as_array().unwrap()).into_iter().collect()
    };
    assert_eq!(expected.len(), 23);
    for limit in [1, 4, 7, 23, 50] {
        let walked = ids(&walk(&c.api, "/tickets", limit).await);
        let unique: HashSet<i64> = walked.iter().copied().collect();
        assert_eq!(walked.len(), unique.len(), "limit {limit}: duplicates in {walked:?}");
        assert_eq!(unique, expected, "limit {limit}: misses");
    }
    // Short lists page by id the same way.
    for i in 0..11 {
        c.api.post("/tags", &json!({"name": format!("tag {i:02}")})).await.assert_ok(201);
    }
    let tags = ids(&walk(&c.api, "/tags", 3).await);
    assert_eq!(tags.len(), 11);
    assert!(tags.windows(2).all(|w| w[0] < w[1]), "{tags:?}");
    // A cursor of another list is refused.
    let page = c.api.get("/tags?limit=3").await;
    let cursor = page.body["next_cursor"].as_str().unwrap().to_string();
    c.api.get(&format!("/departments?cursor={cursor}")).await.assert_error(400, "invalid_cursor");
    t.stop().await;
});

engine_test!(api_sends_fill_contact_variables_in_texts_captions_and_template_parameters, |t: TestApp| async move {
    let c = company(&t, Some("acme")).await;
    let id = ticket_from(&t, &c, &customer(5), "Oi").await;
    let contact = c.api.get(&format!("/tickets/{id}")).await.assert_ok(200)["contact_id"].as_i64().unwrap();
    c.api
        .patch(&format!("/contacts/{contact}"), &json!({"name": "Maria", "custom_fields": {"pedido": "A-17"}}))
        .await
        .assert_ok(200);

    let text = c
        .api
        .post(
            "/messages",
            &json!({"ticket_id": id, "type": "text", "text": {"body": "Olá {{nome}}, pedido {{pedido}}{{falta}}."}}),
        )
        .await;
    assert_eq!(text.assert_ok(202)["body"], "Olá Maria, pedido A-17.");
    let template = c
        .api
        .post(
            "/messages",
            &json!({"ticket_id": id, "type": "template", "template": {"name": "pedido", "language": "pt_BR",
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "{{nome}}"}]}]}}),
        )
        .await;
    template.assert_ok(202);
    for _ in 0..400 {
        if c.graph.messages().len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let sent = c.graph.messages();
    assert!(sent.iter().any(|m| m["text"]["body"] == "Olá Maria, pedido A-17."), "{sent:?}");
    assert!(
        sent.iter().any(|m| m["template"]["components"][0]["parameters"][0]["text"] == "Maria"),
        "the template parameter is filled from the contact: {sent:?}"
    );
});
