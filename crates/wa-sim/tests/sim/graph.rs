//! Graph API sends: wamids and signed statuses, tokens, validation, message types, failures,
//! the rate limit, media and templates.

use super::*;

#[tokio::test]
async fn send_returns_wamid_and_signed_statuses_arrive_in_order() {
    let (sim, rx) = start().await;
    let (status, body) = send_text(&sim, "+55 11 91234-5678", "Olá!").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["contacts"][0]["input"], "+55 11 91234-5678");
    assert_eq!(body["contacts"][0]["wa_id"], "5511912345678");
    let wamid = body["messages"][0]["id"].as_str().unwrap().to_string();
    assert!(wamid.starts_with("wamid."));

    let got = rx.wait_for(3).await;
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.signature_ok && r.content_type == "application/json"));
    let statuses = rx.statuses();
    let order: Vec<&str> = statuses.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(order, ["sent", "delivered", "read"]);
    let env = &got[0].body;
    assert_eq!(env["object"], "whatsapp_business_account");
    assert_eq!(env["entry"][0]["id"], "200000000000001");
    let change = &env["entry"][0]["changes"][0];
    assert_eq!(change["field"], "messages");
    assert_eq!(change["value"]["messaging_product"], "whatsapp");
    assert_eq!(change["value"]["metadata"]["phone_number_id"], "100000000000001");
    assert_eq!(change["value"]["metadata"]["display_phone_number"], "15550000001");
    let sent = &statuses[0].2;
    assert_eq!(sent["id"], wamid.as_str());
    assert_eq!(sent["recipient_id"], "5511912345678");
    assert!(sent["timestamp"].as_str().unwrap().parse::<u64>().is_ok());
    assert!(sent["conversation"]["expiration_timestamp"].is_string());
    assert_eq!(sent["conversation"]["origin"]["type"], "service");
    assert_eq!(sent["pricing"]["category"], "service");
    assert!(statuses[2].2.get("conversation").is_none());

    let sent = sim.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].id, wamid);
    assert_eq!(sent[0].to, "5511912345678");
    assert_eq!(sent[0].status, MessageStatus::Read);
    assert_eq!(sent[0].status_history, [MessageStatus::Sent, MessageStatus::Delivered, MessageStatus::Read]);
    sim.shutdown().await;
}

#[tokio::test]
async fn tokens_are_checked_like_graph() {
    let (sim, _rx) = start().await;
    let body = json!({"messaging_product":"whatsapp","to":"5511912345678","type":"text","text":{"body":"x"}});
    let (status, err) = post_json(&messages_url(&sim), Some("wrong"), body.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["code"], 190);
    assert_eq!(err["error"]["type"], "OAuthException");
    assert!(err["error"]["fbtrace_id"].is_string());
    let (status, err) = post_json(&messages_url(&sim), None, body).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["code"], 104);
    let resp = reqwest::get(format!("{}/v21.0/200000000000001/message_templates", sim.base_url())).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(sim.sent_messages().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn validation_errors_have_meta_codes() {
    let (sim, _rx) = start().await;
    let url = messages_url(&sim);
    let cases = [
        (json!({"to":"5511912345678","type":"text","text":{"body":"x"}}), 400, 100),
        (json!({"messaging_product":"whatsapp","to":"5511912345678","type":"text","text":{}}), 400, 100),
        (json!({"messaging_product":"whatsapp","type":"text","text":{"body":"x"}}), 400, 100),
        (json!({"messaging_product":"whatsapp","to":"5511912345678","type":"carrier_pigeon"}), 400, 100),
        (json!({"messaging_product":"whatsapp","to":"5511912345678","type":"image","image":{"id":"999"}}), 400, 131009),
        (
            json!({"messaging_product":"whatsapp","to":"5511912345678","type":"template",
                   "template":{"name":"nope","language":{"code":"pt_BR"}}}),
            404,
            132001,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"5511912345678","type":"template",
                   "template":{"name":"atendimento_retorno","language":{"code":"pt_BR"}}}),
            400,
            132000,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"5511912345678","type":"interactive",
                   "interactive":{"type":"button","body":{"text":"Escolha"},"action":{"buttons":[]}}}),
            400,
            131009,
        ),
    ];
    for (body, want_status, want_code) in cases {
        let (status, err) = post_json(&url, Some(TOKEN), body.clone()).await;
        assert_eq!((status, err["error"]["code"].as_u64().unwrap()), (want_status, want_code), "{body} → {err}");
        assert_eq!(err["error"]["type"], "OAuthException");
    }
    let (status, err) = post_json(
        &format!("{}/v21.0/123/messages", sim.base_url()),
        Some(TOKEN),
        json!({"messaging_product":"whatsapp","to":"5511912345678","text":{"body":"x"}}),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_u64(), err["error"]["error_subcode"].as_u64()),
        (400, Some(100), Some(33))
    );
    assert!(sim.sent_messages().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn every_message_type_is_accepted() {
    let (sim, rx) = start().await;
    let url = messages_url(&sim);
    let to = "5511912345678";
    let bodies = [
        json!({"type":"text","text":{"body":"oi"},"context":{"message_id":"wamid.ABC"}}),
        json!({"type":"image","image":{"link":"https://example.com/a.jpg","caption":"c"}}),
        json!({"type":"document","document":{"link":"https://example.com/a.pdf","filename":"a.pdf"}}),
        json!({"type":"template","template":{"name":"atendimento_retorno","language":{"code":"pt_BR"},
               "components":[{"type":"body","parameters":[{"type":"text","text":"Maria"}]}]}}),
        json!({"type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}),
        json!({"type":"interactive","interactive":{"type":"button","body":{"text":"Escolha"},
               "action":{"buttons":[{"type":"reply","reply":{"id":"sim","title":"Sim"}},
                                     {"type":"reply","reply":{"id":"nao","title":"Não"}}]}}}),
        json!({"type":"interactive","interactive":{"type":"list","body":{"text":"Escolha"},
               "action":{"button":"Opções","sections":[{"title":"A","rows":[{"id":"r1","title":"Um"}]}]}}}),
        json!({"type":"reaction","reaction":{"message_id":"wamid.ABC","emoji":"👍"}}),
        json!({"type":"location","location":{"latitude":-23.56,"longitude":-46.65,"name":"Loja"}}),
        json!({"type":"contacts","contacts":[{"name":{"formatted_name":"Ana"},"phones":[{"phone":"+5511"}]}]}),
    ];
    for mut b in bodies {
        b["messaging_product"] = json!("whatsapp");
        b["to"] = json!(to);
        let (status, resp) = post_json(&url, Some(TOKEN), b.clone()).await;
        assert_eq!(status, 200, "{b} → {resp}");
        if b["type"] == "template" {
            assert_eq!(resp["messages"][0]["message_status"], "accepted");
        }
    }
    let sent = sim.sent_messages();
    assert_eq!(sent.len(), 10);
    assert_eq!(sent[3].message_type, "template");
    assert_eq!(sent[3].request["template"]["name"], "atendimento_retorno");
    // Template statuses carry the template's pricing category.
    rx.wait_for(30).await;
    let template_sent = rx.statuses().into_iter().find(|(id, s, _)| id == &sent[3].id && s == "sent").unwrap();
    assert_eq!(template_sent.2["pricing"]["category"], "utility");
    // Mark-as-read of a customer's message.
    let d = sim.customer_sends("5511912345678", "Maria", CustomerMessage::Text("oi".into())).await.unwrap();
    let (status, resp) =
        post_json(&url, Some(TOKEN), json!({"messaging_product":"whatsapp","status":"read","message_id":d.message_id}))
            .await;
    assert_eq!((status, resp), (200, json!({"success": true})));
    sim.shutdown().await;
}

#[tokio::test]
async fn undeliverable_numbers_get_a_failed_status() {
    let (sim, rx) = start().await;
    let (status, body) = send_text(&sim, "5511900000000", "x").await;
    assert_eq!(status, 200);
    rx.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let statuses = rx.statuses();
    assert_eq!(statuses.len(), 1);
    let (id, st, v) = &statuses[0];
    assert_eq!(id, body["messages"][0]["id"].as_str().unwrap());
    assert_eq!(st, "failed");
    assert_eq!(v["errors"][0]["code"], 131026);
    assert_eq!(v["errors"][0]["title"], "Message Undeliverable");
    assert_eq!(sim.sent_messages()[0].status, MessageStatus::Failed);
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_130429() {
    let rx = Receiver::start().await;
    let sim = Simulator::start(SimConfig { rate_per_sec: Some(3), ..config(&rx) }).await.unwrap();
    let mut codes = Vec::new();
    for _ in 0..5 {
        let (status, body) = send_text(&sim, "5511912345678", "x").await;
        codes.push((status, body["error"]["code"].as_u64()));
    }
    assert_eq!(codes[..3], [(200, None), (200, None), (200, None)]);
    assert_eq!(codes[3..], [(400, Some(130429)), (400, Some(130429))]);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(send_text(&sim, "5511912345678", "x").await.0, 200);
    sim.shutdown().await;
}

fn multipart(boundary: &str, mime: &str, file: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, value) in [("messaging_product", "whatsapp"), ("type", mime)] {
        b.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(file);
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    b
}

#[tokio::test]
async fn media_upload_fetch_and_download() {
    let (sim, _rx) = start().await;
    let client = reqwest::Client::new();
    let file = b"%PDF-1.4 not really a pdf\r\n--almost a boundary\r\n".to_vec();
    let resp = client
        .post(format!("{}/v21.0/{}/media", sim.base_url(), sim.phone_number_id()))
        .bearer_auth(TOKEN)
        .header("content-type", "multipart/form-data; boundary=----b0und4ry")
        .body(multipart("----b0und4ry", "application/pdf", &file))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    let info = media_info(&sim, &id).await;
    assert_eq!(info["messaging_product"], "whatsapp");
    assert_eq!(info["id"], id.as_str());
    assert_eq!(info["mime_type"], "application/pdf");
    assert_eq!(info["file_size"], file.len());
    assert_eq!(info["sha256"].as_str().unwrap().len(), 64);
    let url = info["url"].as_str().unwrap();
    assert!(url.starts_with(&sim.base_url()));

    let ok = client.get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-type"], "application/pdf");
    assert_eq!(ok.bytes().await.unwrap().as_ref(), file.as_slice());
    assert_eq!(client.get(url).send().await.unwrap().status(), 401);
    assert_eq!(client.get(url).bearer_auth("wrong").send().await.unwrap().status(), 401);

    // Sending the uploaded media by id works.
    let (status, _) = post_json(
        &messages_url(&sim),
        Some(TOKEN),
        json!({"messaging_product":"whatsapp","to":"5511912345678","type":"document","document":{"id":id,"filename":"x.pdf"}}),
    )
    .await;
    assert_eq!(status, 200);

    // Expired URLs.
    sim.set_faults(Faults { expired_media_urls: true, ..Faults::default() });
    let info = media_info(&sim, &id).await;
    let expired = client.get(info["url"].as_str().unwrap()).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(expired.status(), 404);

    // Unsupported types and unknown ids.
    let bad = client
        .post(format!("{}/v21.0/{}/media", sim.base_url(), sim.phone_number_id()))
        .bearer_auth(TOKEN)
        .header("content-type", "multipart/form-data; boundary=zz")
        .body(multipart("zz", "application/x-msdownload", b"MZ"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"]["code"], 131053);
    let missing = client.get(format!("{}/v21.0/1234", sim.base_url())).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(missing.json::<Value>().await.unwrap()["error"]["error_subcode"], 33);
    sim.shutdown().await;
}

#[tokio::test]
async fn templates_are_listed() {
    let (sim, _rx) = start().await;
    let resp = reqwest::Client::new()
        .get(format!("{}/v21.0/200000000000001/message_templates?status=APPROVED", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let data = body["data"].as_array().unwrap();
    assert!(data.iter().all(|t| t["status"] == "APPROVED"));
    assert!(data.iter().any(|t| t["name"] == "hello_world" && t["language"] == "en_US"));
    let pt = data.iter().find(|t| t["language"] == "pt_BR" && t["category"] == "UTILITY").unwrap();
    assert!(pt["components"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "BODY" && c["text"].as_str().unwrap().contains("{{1}}")));
    assert!(body["paging"]["cursors"]["before"].is_string());
    sim.shutdown().await;
}
