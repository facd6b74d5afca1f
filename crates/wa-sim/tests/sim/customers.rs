//! Customers and their identities: the phone page, the 24-hour window, business-scoped user
//! ids, username-only customers, and sends by user id with callback data.

use super::*;

#[tokio::test]
async fn phone_page_and_its_endpoints() {
    let rx = Receiver::start().await;
    let sim = Simulator::start(SimConfig { status_delays_ms: (0, 0, u64::MAX), ..config(&rx) }).await.unwrap();
    let base = sim.base_url();
    let page = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("/sim/phone.js") && !html.contains("src=\"http") && !html.contains("href=\"http"));
    let js = reqwest::get(format!("{base}/sim/phone.js")).await.unwrap().text().await.unwrap();
    assert!(js.contains("textContent") && !js.contains("innerHTML"));

    let (status, sent) = post_json(
        &format!("{base}/sim/customer/send"),
        None,
        json!({"wa_id":"+55 11 95555-0001","name":"Ana","type":"text","text":"<b>oi</b>"}),
    )
    .await;
    assert_eq!((status, sent["status"].as_u64()), (200, Some(200)));
    let got = rx.wait_for(1).await;
    let m = &got[0].body["entry"][0]["changes"][0]["value"]["messages"][0];
    assert_eq!((&m["from"], &m["text"]["body"]), (&json!("5511955550001"), &json!("<b>oi</b>")));

    // The business answers with buttons, and reads the customer's message.
    let (status, _) = post_json(
        &messages_url(&sim),
        Some(TOKEN),
        json!({"messaging_product":"whatsapp","to":"5511955550001","type":"interactive",
               "context":{"message_id":sent["message_id"]},
               "interactive":{"type":"button","body":{"text":"Posso ajudar?"},
                              "action":{"buttons":[{"type":"reply","reply":{"id":"sim","title":"Sim"}}]}}}),
    )
    .await;
    assert_eq!(status, 200);
    post_json(
        &messages_url(&sim),
        Some(TOKEN),
        json!({"messaging_product":"whatsapp","status":"read","message_id":sent["message_id"]}),
    )
    .await;
    rx.wait_for(3).await;
    let conv: Value =
        reqwest::get(format!("{base}/sim/conversations/5511955550001")).await.unwrap().json().await.unwrap();
    let msgs = conv["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!((&msgs[0]["direction"], &msgs[0]["status"]), (&json!("in"), &json!("read")));
    assert_eq!((&msgs[1]["direction"], &msgs[1]["text"]), (&json!("out"), &json!("Posso ajudar?")));
    assert_eq!(msgs[1]["status"], "delivered");
    assert_eq!(msgs[1]["buttons"][0], json!({"kind":"button_reply","id":"sim","title":"Sim"}));
    assert_eq!(msgs[1]["context"], sent["message_id"]);

    let (_, read) = post_json(&format!("{base}/sim/customer/read"), None, json!({"wa_id":"5511955550001"})).await;
    assert_eq!(read["read"], 1);
    let (_, faults) = post_json(&format!("{base}/sim/faults"), None, json!({"duplicate_deliveries": true})).await;
    assert_eq!(faults["duplicate_deliveries"], true);
    let (_, bad) = post_json(&format!("{base}/sim/customer/send"), None, json!({"wa_id":"55","type":"hologram"})).await;
    assert!(bad["error"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_phone_page_opens_a_list_and_a_tapped_row_arrives_as_a_list_reply() {
    let rx = Receiver::start().await;
    let sim = Simulator::start(SimConfig { status_delays_ms: (0, 0, u64::MAX), ..config(&rx) }).await.unwrap();
    let base = sim.base_url();
    let customer = "5511955550002";
    let (_, first) = post_json(
        &format!("{base}/sim/customer/send"),
        None,
        json!({"wa_id":customer,"name":"Bia","type":"text","text":"oi"}),
    )
    .await;
    rx.wait_for(1).await;
    // The business answers with a list of two sections, then with reply buttons.
    let list = json!({"messaging_product":"whatsapp","to":customer,"type":"interactive",
        "interactive":{"type":"list","body":{"text":"Com qual setor quer falar?"},"footer":{"text":"Atende"},
          "action":{"button":"Ver opções","sections":[
            {"title":"Atendimento","rows":[{"id":"vendas","title":"Vendas","description":"Orçamentos e pedidos"},
                                          {"id":"suporte","title":"Suporte"}]},
            {"title":"Outros","rows":[{"id":"financeiro","title":"Financeiro"}]}]}}});
    let (status, sent) = post_json(&messages_url(&sim), Some(TOKEN), list).await;
    assert_eq!(status, 200, "{sent}");
    let list_id = sent["messages"][0]["id"].as_str().unwrap().to_string();
    let buttons = json!({"messaging_product":"whatsapp","to":customer,"type":"interactive",
        "interactive":{"type":"button","body":{"text":"Mais alguma coisa?"},
          "action":{"buttons":[{"type":"reply","reply":{"id":"nao","title":"Não"}}]}}});
    assert_eq!(post_json(&messages_url(&sim), Some(TOKEN), buttons).await.0, 200);

    // What the page draws: the list's button and its sections of rows, not a row of buttons.
    let conv: Value = reqwest::get(format!("{base}/sim/conversations/{customer}")).await.unwrap().json().await.unwrap();
    let shown = &conv["messages"][1];
    assert_eq!(shown["text"], "Com qual setor quer falar?\nAtende");
    assert_eq!(shown["buttons"], json!([]));
    assert_eq!(shown["list"]["button"], "Ver opções");
    assert_eq!(shown["list"]["sections"][0]["title"], "Atendimento");
    assert_eq!(
        shown["list"]["sections"][0]["rows"][0],
        json!({"id":"vendas","title":"Vendas","description":"Orçamentos e pedidos"})
    );
    assert_eq!(shown["list"]["sections"][1]["rows"][0]["title"], "Financeiro");
    assert!(conv["messages"][2]["list"].is_null());
    assert_eq!(conv["messages"][2]["buttons"][0]["kind"], "button_reply");

    // The page's tap on a row: a list_reply naming the row, quoting the list (not the newer
    // buttons message), with the row's description as Meta sends it.
    let (status, tapped) = post_json(
        &format!("{base}/sim/customer/send"),
        None,
        json!({"wa_id":customer,"name":"Bia","type":"list_reply","id":"vendas","title":"Vendas"}),
    )
    .await;
    assert_eq!((status, tapped["status"].as_u64()), (200, Some(200)), "{tapped}");
    // Customer messages only (the sends' statuses arrive at the same receiver).
    let messages = || {
        rx.all()
            .into_iter()
            .filter_map(|r| r.body["entry"][0]["changes"][0]["value"]["messages"].get(0).cloned())
            .collect::<Vec<Value>>()
    };
    let got = messages();
    let m = &got[1];
    assert_eq!(m["type"], "interactive");
    assert_eq!(
        m["interactive"],
        json!({"type":"list_reply","list_reply":{"id":"vendas","title":"Vendas","description":"Orçamentos e pedidos"}})
    );
    assert_eq!(m["context"]["id"], json!(list_id));
    assert_ne!(m["id"], first["message_id"]);
    // A row without a description arrives without one.
    post_json(
        &format!("{base}/sim/customer/send"),
        None,
        json!({"wa_id":customer,"name":"Bia","type":"list_reply","id":"suporte","title":"Suporte"}),
    )
    .await;
    let got = messages();
    let m = &got[2];
    assert_eq!(m["interactive"]["list_reply"], json!({"id":"suporte","title":"Suporte"}));

    // The page carries the sheet the list opens in, and draws rows with textContent only.
    let html = reqwest::get(format!("{base}/")).await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"list-sheet\"") && html.contains("lang=\"pt-BR\""));
    let js = reqwest::get(format!("{base}/sim/phone.js")).await.unwrap().text().await.unwrap();
    assert!(js.contains("list_reply") && js.contains("openList") && !js.contains("innerHTML"));
    sim.shutdown().await;
}

#[tokio::test]
async fn free_form_more_than_24_hours_after_the_customer_wrote_fails_with_131047() {
    let (sim, rx) = start().await;
    let customer = "5511955554444";
    sim.customer_sends(customer, "Ana", CustomerMessage::Text("oi".into())).await.unwrap();
    rx.wait_for(1).await;

    // Inside the window: accepted and delivered normally.
    let (status, inside) = send_text(&sim, customer, "dentro da janela").await;
    assert_eq!(status, 200, "{inside}");

    // 24 h + 1 min later on the simulator's clock: accepted with an id, then failed by webhook.
    sim.advance_clock(Duration::from_secs(24 * 3600 + 60));
    let (status, outside) = send_text(&sim, customer, "fora da janela").await;
    assert_eq!(status, 200, "{outside}");
    let outside_id = outside["messages"][0]["id"].as_str().unwrap().to_string();
    let template = json!({"messaging_product":"whatsapp","to":customer,"type":"template",
        "template":{"name":"hello_world","language":{"code":"en_US"}}});
    let (status, tpl) = post_json(&messages_url(&sim), Some(TOKEN), template).await;
    assert_eq!(status, 200, "{tpl}");
    let tpl_id = tpl["messages"][0]["id"].as_str().unwrap().to_string();
    // A number that never wrote through the simulator is not judged.
    let (status, _) = send_text(&sim, "5511955550001", "sem histórico").await;
    assert_eq!(status, 200);

    let deadline = Instant::now() + Duration::from_secs(10);
    let failed = loop {
        let found = rx.statuses().into_iter().find(|(id, st, _)| id == &outside_id && st == "failed");
        if let Some(f) = found {
            break f;
        }
        assert!(Instant::now() < deadline, "no failed status for the late free-form message");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let error = &failed.2["errors"][0];
    assert_eq!(error["code"], 131047);
    assert_eq!(error["title"], "Re-engagement message");
    assert_eq!(error["message"], "Re-engagement message");
    assert!(error["error_data"]["details"].as_str().unwrap().contains("24 hours"), "{error}");
    assert_eq!(failed.2["recipient_id"], customer);
    // Its timestamp is on the simulator's clock.
    let ts: u64 = failed.2["timestamp"].as_str().unwrap().parse().unwrap();
    let real = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(ts >= real + 24 * 3600, "{ts} vs {real}");

    tokio::time::sleep(Duration::from_millis(200)).await;
    let by_id = |id: &str| sim.sent_messages().into_iter().find(|m| m.id == id).unwrap();
    assert_eq!(by_id(&outside_id).status, MessageStatus::Failed);
    assert_eq!(by_id(&outside_id).status_history, vec![MessageStatus::Failed], "no sent/delivered before failing");
    assert_ne!(by_id(&tpl_id).status, MessageStatus::Failed, "templates are allowed outside the window");
    let inside_id = inside["messages"][0]["id"].as_str().unwrap();
    assert_ne!(by_id(inside_id).status, MessageStatus::Failed);
    sim.shutdown().await;
}

fn only_contact(d: &wa_sim::Delivery) -> &Value {
    let value = &d.payload["entry"][0]["changes"][0]["value"];
    assert_eq!(value["contacts"].as_array().unwrap().len(), 1);
    &value["contacts"][0]
}

#[tokio::test]
async fn every_customer_message_names_a_stable_business_scoped_user_id() {
    let (sim, _rx) = start().await;
    let a = sim.customer_sends("5511987654321", "Ana", CustomerMessage::Text("oi".into())).await.unwrap();
    let b = sim.customer_sends("+55 11 98765-4321", "Ana", CustomerMessage::Text("de novo".into())).await.unwrap();
    let other = sim.customer_sends("5521912345678", "Bia", CustomerMessage::Text("olá".into())).await.unwrap();
    assert!(a.user_id.starts_with("BR."), "{}", a.user_id);
    assert_eq!(a.user_id, b.user_id, "one person, one user id");
    assert_ne!(a.user_id, other.user_id);
    assert_eq!(sim.user_id_of_phone("5511987654321"), a.user_id);
    let (m, c) = (only_message(&a), only_contact(&a));
    assert_eq!(m["from"], "5511987654321");
    assert_eq!(m["from_user_id"], a.user_id.as_str());
    assert_eq!(c["wa_id"], "5511987654321");
    assert_eq!(c["user_id"], a.user_id.as_str());
    assert!(c["profile"].get("username").is_none(), "no username, no member: {c}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_username_only_customer_arrives_without_a_number_and_keeps_their_user_id() {
    let (sim, _rx) = start().await;
    let ana = wa_sim::Customer { username: Some("ana.souza".into()), profile_name: "Ana".into(), ..Default::default() };
    let d = sim.customer_sends_as(&ana, CustomerMessage::Text("oi".into())).await.unwrap();
    assert_eq!(d.status, 200);
    let (m, c) = (only_message(&d), only_contact(&d));
    assert!(m.get("from").is_none() && c.get("wa_id").is_none(), "Meta withholds the number: {m} {c}");
    assert_eq!(m["from_user_id"], d.user_id.as_str());
    assert_eq!(c["user_id"], d.user_id.as_str());
    assert_eq!(c["profile"], json!({"name":"Ana","username":"ana.souza"}));

    // The same person, now with their number shown too: same user id, both in the webhook.
    let with_phone = wa_sim::Customer { phone: Some("5511955554444".into()), ..ana.clone() };
    let again = sim.customer_sends_as(&with_phone, CustomerMessage::Text("meu número".into())).await.unwrap();
    assert_eq!(again.user_id, d.user_id);
    assert_eq!(sim.user_id_of_phone("5511955554444"), d.user_id);
    assert_eq!(only_message(&again)["from"], "5511955554444");
    assert_eq!(only_contact(&again)["wa_id"], "5511955554444");
    assert_eq!(only_contact(&again)["profile"]["username"], "ana.souza");
    assert!(sim.customer_sends_as(&wa_sim::Customer::default(), CustomerMessage::Text("x".into())).await.is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn sends_by_recipient_user_id_echo_callback_data_in_every_status() {
    let (sim, rx) = start().await;
    let ana = wa_sim::Customer { username: Some("ana.souza".into()), profile_name: "Ana".into(), ..Default::default() };
    let d = sim.customer_sends_as(&ana, CustomerMessage::Text("oi".into())).await.unwrap();
    let (status, body) = post_json(
        &messages_url(&sim),
        Some(TOKEN),
        json!({"messaging_product":"whatsapp","recipient_type":"individual","recipient":d.user_id,"type":"text",
               "text":{"body":"Olá, Ana"},"biz_opaque_callback_data":"atende:7"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contacts"][0], json!({"input": d.user_id, "user_id": d.user_id}), "no wa_id for a user-id send");
    let wamid = body["messages"][0]["id"].as_str().unwrap().to_string();
    rx.wait_for(4).await;
    let statuses: Vec<Value> = rx.statuses().into_iter().filter(|(id, _, _)| *id == wamid).map(|(_, _, s)| s).collect();
    assert_eq!(
        statuses.iter().map(|s| s["status"].as_str().unwrap()).collect::<Vec<_>>(),
        ["sent", "delivered", "read"]
    );
    for s in &statuses {
        assert_eq!(s["recipient_user_id"], d.user_id.as_str());
        assert!(s.get("recipient_id").is_none(), "the number stays hidden: {s}");
        assert_eq!(s["biz_opaque_callback_data"], "atende:7");
    }
    let sent = sim.sent_messages();
    assert_eq!(sent[0].user_id.as_deref(), Some(d.user_id.as_str()));
    assert_eq!(sent[0].request["recipient"], d.user_id.as_str());

    // `to` wins when both are given; a phone send names the number and the user id.
    let (status, body) = post_json(
        &messages_url(&sim),
        Some(TOKEN),
        json!({"messaging_product":"whatsapp","to":"5511912345678","recipient":d.user_id,"type":"text","text":{"body":"x"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contacts"][0], json!({"input":"5511912345678","wa_id":"5511912345678"}));
    let wamid = body["messages"][0]["id"].as_str().unwrap().to_string();
    rx.wait_for(5).await;
    let (_, _, s) = rx.statuses().into_iter().find(|(id, _, _)| *id == wamid).unwrap();
    assert_eq!(s["recipient_id"], "5511912345678");
    assert_eq!(s["recipient_user_id"], sim.user_id_of_phone("5511912345678").as_str());
    assert!(s.get("biz_opaque_callback_data").is_none(), "none sent, none echoed");
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_recipients_and_callback_data_are_refused_and_unknown_user_ids_fail() {
    let (sim, rx) = start().await;
    let url = messages_url(&sim);
    let send = |extra: Value| {
        let mut body = json!({"messaging_product":"whatsapp","type":"text","text":{"body":"x"}});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        post_json(&url, Some(TOKEN), body)
    };
    let (status, body) = send(json!({"recipient":"5511912345678"})).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(131009)), "{body}");
    let (status, body) = send(json!({})).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(100)), "{body}");
    let (status, body) = send(json!({"to":"5511912345678","biz_opaque_callback_data":"x".repeat(513)})).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(100)), "{body}");
    let (status, body) = send(json!({"to":"5511912345678","biz_opaque_callback_data":{"a":1}})).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(100)), "{body}");

    // Well formed but nobody's: accepted, then failed as undeliverable (like an unknown number).
    let (status, body) = send(json!({"recipient":"BR.1234567890123456"})).await;
    assert_eq!(status, 200, "{body}");
    rx.wait_for(1).await;
    let statuses = rx.statuses();
    assert_eq!(statuses[0].1, "failed");
    assert_eq!(statuses[0].2["errors"][0]["code"], 131026);
    assert_eq!(statuses[0].2["recipient_user_id"], "BR.1234567890123456");
    sim.shutdown().await;
}
