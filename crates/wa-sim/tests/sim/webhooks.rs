//! Customer webhooks: every message type, replies, batches, receiver answers and retries,
//! duplicate and out-of-order deliveries, faults, and customer reads.

use super::*;

#[tokio::test]
async fn customer_messages_of_every_type() {
    let (sim, rx) = start().await;
    let from = "5511987654321";
    let cases = vec![
        CustomerMessage::Text("Olá".into()),
        CustomerMessage::Image { caption: Some("foto".into()) },
        CustomerMessage::Audio { voice: true },
        CustomerMessage::Video,
        CustomerMessage::Document { filename: "boleto.pdf".into() },
        CustomerMessage::Sticker,
        CustomerMessage::Location { latitude: -23.5, longitude: -46.6, name: Some("Casa".into()) },
        CustomerMessage::Contacts,
        CustomerMessage::ButtonReply { id: "b1".into(), title: "Sim".into() },
        CustomerMessage::ListReply { id: "r1".into(), title: "Um".into() },
        CustomerMessage::TemplateButton { payload: "falar".into(), text: "Falar com atendente".into() },
        CustomerMessage::Reaction { message_id: "wamid.X".into(), emoji: "❤️".into() },
        CustomerMessage::Unsupported,
        CustomerMessage::ReplyText { context_id: "wamid.Q".into(), text: "isso".into() },
    ];
    let n = cases.len();
    let mut deliveries = Vec::new();
    for c in cases {
        let d = sim.customer_sends(from, "João", c).await.unwrap();
        assert_eq!(d.status, 200);
        assert_eq!(d.attempts, 1);
        deliveries.push(d);
    }
    let got = rx.wait_for(n).await;
    assert_eq!(got.len(), n);
    for (d, r) in deliveries.iter().zip(&got) {
        assert!(r.signature_ok);
        assert_eq!(r.body, d.payload);
        let value = &r.body["entry"][0]["changes"][0]["value"];
        assert_eq!(value["contacts"][0], json!({"profile":{"name":"João"},"wa_id":from,"user_id":d.user_id}));
        let m = only_message(d);
        assert_eq!(m["from"], from);
        assert_eq!(m["id"], d.message_id.as_str());
        assert!(m["timestamp"].as_str().unwrap().parse::<u64>().is_ok());
    }
    let m: Vec<&Value> = deliveries.iter().map(only_message).collect();
    assert_eq!((&m[0]["type"], &m[0]["text"]["body"]), (&json!("text"), &json!("Olá")));
    assert_eq!(m[1]["type"], "image");
    assert_eq!(m[1]["image"]["mime_type"], "image/jpeg");
    assert_eq!(m[1]["image"]["caption"], "foto");
    assert!(m[1]["image"]["sha256"].is_string());
    assert_eq!(
        (&m[2]["audio"]["voice"], &m[2]["audio"]["mime_type"]),
        (&json!(true), &json!("audio/ogg; codecs=opus"))
    );
    assert_eq!(m[3]["video"]["mime_type"], "video/mp4");
    assert_eq!(m[4]["document"]["filename"], "boleto.pdf");
    assert_eq!(m[4]["document"]["mime_type"], "application/pdf");
    assert_eq!(m[5]["sticker"]["mime_type"], "image/webp");
    assert_eq!(m[6]["location"]["latitude"], -23.5);
    assert_eq!(m[6]["location"]["name"], "Casa");
    assert_eq!(m[7]["contacts"][0]["name"]["formatted_name"], "Maria Silva");
    assert_eq!(m[7]["contacts"][0]["phones"][0]["wa_id"], "5511912345678");
    assert_eq!(m[8]["interactive"], json!({"type":"button_reply","button_reply":{"id":"b1","title":"Sim"}}));
    assert_eq!(m[9]["interactive"]["type"], "list_reply");
    assert_eq!(m[9]["interactive"]["list_reply"]["id"], "r1");
    assert_eq!(m[10]["type"], "button");
    assert_eq!(m[10]["button"], json!({"payload":"falar","text":"Falar com atendente"}));
    assert_eq!(m[11]["reaction"], json!({"message_id":"wamid.X","emoji":"❤️"}));
    assert_eq!(m[12]["type"], "unsupported");
    assert_eq!(m[12]["errors"][0]["code"], 131051);
    assert_eq!(m[13]["text"]["body"], "isso");
    assert_eq!(m[13]["context"], json!({"from":"15550000001","id":"wamid.Q"}));

    // The media customers send can be fetched and downloaded like Meta's.
    let client = reqwest::Client::new();
    for (i, kind, magic) in
        [(1, "image", &b"\xFF\xD8\xFF"[..]), (2, "audio", b"OggS"), (4, "document", b"%PDF"), (5, "sticker", b"RIFF")]
    {
        let info = media_info(&sim, m[i][kind]["id"].as_str().unwrap()).await;
        assert_eq!(info["mime_type"], m[i][kind]["mime_type"]);
        let bytes = client.get(info["url"].as_str().unwrap()).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(bytes.status(), 200);
        let bytes = bytes.bytes().await.unwrap();
        assert!(bytes.starts_with(magic), "{kind}");
        assert_eq!(info["file_size"], bytes.len());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn replies_to_interactive_and_templates_carry_context() {
    let (sim, _rx) = start().await;
    let (_, resp) = post_json(
        &messages_url(&sim),
        Some(TOKEN),
        json!({"messaging_product":"whatsapp","to":"5511912345678","type":"interactive",
               "interactive":{"type":"button","body":{"text":"?"},"action":{"buttons":[{"type":"reply","reply":{"id":"s","title":"Sim"}}]}}}),
    )
    .await;
    let d = sim
        .customer_sends("5511912345678", "Maria", CustomerMessage::ButtonReply { id: "s".into(), title: "Sim".into() })
        .await
        .unwrap();
    assert_eq!(only_message(&d)["context"]["id"], resp["messages"][0]["id"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn batched_deliveries() {
    let (sim, rx) = start().await;
    let items = || {
        vec![
            ("5511900000001".to_string(), "A".to_string(), CustomerMessage::Text("1".into())),
            ("5511900000002".to_string(), "B".to_string(), CustomerMessage::Text("2".into())),
        ]
    };
    let one = sim.customer_sends_batch(items(), BatchShape::OneChange).await.unwrap();
    assert_eq!(one.payload["entry"][0]["changes"][0]["value"]["messages"].as_array().unwrap().len(), 2);
    assert_eq!(one.payload["entry"][0]["changes"][0]["value"]["contacts"][1]["wa_id"], "5511900000002");
    let per_change = sim.customer_sends_batch(items(), BatchShape::ChangePerMessage).await.unwrap();
    assert_eq!(per_change.payload["entry"][0]["changes"].as_array().unwrap().len(), 2);
    let per_entry = sim.customer_sends_batch(items(), BatchShape::EntryPerMessage).await.unwrap();
    assert_eq!(per_entry.payload["entry"].as_array().unwrap().len(), 2);
    assert_eq!(
        per_entry.payload["entry"][1]["changes"][0]["value"]["messages"][0]["id"],
        per_entry.message_ids[1].as_str()
    );
    let status = sim.send_raw_webhook(json!({"object":"whatsapp_business_account","entry":[]})).await.unwrap();
    assert_eq!(status, 200);
    let got = rx.wait_for(4).await;
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|r| r.signature_ok));
    assert_eq!(got[3].body["entry"], json!([]));
    sim.shutdown().await;
}

#[tokio::test]
async fn receiver_status_is_reported_and_statuses_are_retried() {
    let (sim, rx) = start().await;
    rx.answer.store(503, Ordering::SeqCst);
    let d = sim.customer_sends("5511912345678", "M", CustomerMessage::Text("x".into())).await.unwrap();
    assert_eq!(d.status, 503);
    let conv: Value = reqwest::get(format!("{}/sim/conversations/5511912345678", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(conv["messages"][0]["status"], "failed");
    // A status webhook answered 503 is retried until acknowledged.
    let (status, _) = send_text(&sim, "5511912345678", "y").await;
    assert_eq!(status, 200);
    rx.wait_for(2).await;
    rx.answer.store(200, Ordering::SeqCst);
    let got = rx.wait_for(5).await;
    let sent_count = rx.statuses().iter().filter(|(_, s, _)| s == "sent").count();
    assert!(sent_count >= 2, "sent delivered {sent_count} times in {} webhooks", got.len());
    sim.shutdown().await;
}

#[tokio::test]
async fn duplicate_deliveries_send_the_same_wamid_twice() {
    let (sim, rx) = start().await;
    sim.set_faults(Faults { duplicate_deliveries: true, ..Faults::default() });
    let d = sim.customer_sends("5511912345678", "M", CustomerMessage::Text("x".into())).await.unwrap();
    assert_eq!(d.attempts, 2);
    let got = rx.wait_for(2).await;
    assert_eq!(got.len(), 2);
    for r in &got {
        assert!(r.signature_ok);
        assert_eq!(r.body["entry"][0]["changes"][0]["value"]["messages"][0]["id"], d.message_id.as_str());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn out_of_order_statuses_arrive_read_first() {
    let (sim, rx) = start().await;
    sim.set_faults(Faults { out_of_order_statuses: true, ..Faults::default() });
    let (_, body) = send_text(&sim, "5511912345678", "x").await;
    rx.wait_for(3).await;
    let statuses = rx.statuses();
    let order: Vec<&str> = statuses.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(order, ["read", "delivered", "sent"]);
    assert!(statuses.iter().all(|(id, _, _)| id == body["messages"][0]["id"].as_str().unwrap()));
    let ts: Vec<u64> = statuses.iter().map(|(_, _, v)| v["timestamp"].as_str().unwrap().parse().unwrap()).collect();
    assert!(ts[0] >= ts[1] && ts[1] >= ts[2]);
    assert_eq!(sim.sent_messages()[0].status, MessageStatus::Read);
    sim.shutdown().await;
}

#[tokio::test]
async fn every_nth_request_fails_or_hangs() {
    let (sim, _rx) = start().await;
    sim.set_faults(Faults { http_5xx_every: Some(2), ..Faults::default() });
    let mut answers = Vec::new();
    for _ in 0..4 {
        let (status, body) = send_text(&sim, "5511912345678", "x").await;
        answers.push((status, body["error"]["code"].as_u64()));
    }
    assert_eq!(answers, [(200, None), (500, Some(2)), (200, None), (500, Some(1))]);

    sim.set_faults(Faults { timeout_every: Some(1), ..Faults::default() });
    let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let err = client
        .post(messages_url(&sim))
        .bearer_auth(TOKEN)
        .json(&json!({"messaging_product":"whatsapp","to":"5511912345678","text":{"body":"x"}}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    // Shutdown does not wait out the hang.
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), sim.shutdown()).await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn customer_reads_when_auto_read_is_off() {
    let rx = Receiver::start().await;
    let sim = Simulator::start(SimConfig { status_delays_ms: (0, 0, u64::MAX), ..config(&rx) }).await.unwrap();
    send_text(&sim, "5511912345678", "a").await;
    send_text(&sim, "5511912345678", "b").await;
    rx.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx.statuses().len(), 4);
    assert!(sim.sent_messages().iter().all(|m| m.status == MessageStatus::Delivered));
    assert_eq!(sim.customer_reads("5511912345678").await.unwrap(), 2);
    rx.wait_for(6).await;
    assert!(sim.sent_messages().iter().all(|m| m.status == MessageStatus::Read));
    assert_eq!(sim.customer_reads("5511912345678").await.unwrap(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn no_webhook_url_is_an_error() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    assert!(sim.customer_sends("5511912345678", "M", CustomerMessage::Text("x".into())).await.is_err());
    let rx = Receiver::start().await;
    sim.set_webhook_url(rx.url.clone());
    let d = sim.customer_sends("5511912345678", "M", CustomerMessage::Text("x".into())).await.unwrap();
    assert_eq!(d.status, 200);
    sim.shutdown().await;
}
