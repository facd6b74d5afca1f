//! End-to-end tests over real HTTP on loopback: a simulator, and a local axum receiver standing in
//! for Atende's webhook endpoint.

// Tests may unwrap: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use wa_sim::{
    run_load, verify_signature, BatchShape, CustomerMessage, Faults, LoadConfig, MessageStatus, SimConfig, Simulator,
};

const SECRET: &str = "test-app-secret";
const TOKEN: &str = "test-token";

#[derive(Clone)]
struct Received {
    body: Value,
    signature_ok: bool,
    content_type: String,
}

#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    answer: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(AtomicU16::new(200));
        let state = (got.clone(), answer.clone());
        let app = Router::new().route("/hook", post(hook)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, got, answer }
    }

    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let all = self.all();
            if all.len() >= n || Instant::now() > deadline {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Status webhooks only, as (id, status) in arrival order.
    fn statuses(&self) -> Vec<(String, String, Value)> {
        self.all()
            .iter()
            .filter_map(|r| r.body["entry"][0]["changes"][0]["value"]["statuses"].as_array().cloned())
            .flatten()
            .map(|s| (s["id"].as_str().unwrap().to_string(), s["status"].as_str().unwrap().to_string(), s))
            .collect()
    }
}

type RecvState = (Arc<Mutex<Vec<Received>>>, Arc<AtomicU16>);

async fn hook(State((got, answer)): State<RecvState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok()).unwrap_or("");
    let received = Received {
        signature_ok: verify_signature(SECRET, &body, sig),
        content_type: headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string(),
        body: serde_json::from_slice(&body).unwrap(),
    };
    got.lock().unwrap().push(received);
    StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap()
}

fn config(webhook: &Receiver) -> SimConfig {
    SimConfig {
        access_token: TOKEN.into(),
        app_secret: SECRET.into(),
        webhook_url: Some(webhook.url.clone()),
        status_delays_ms: (0, 20, 20),
        ..SimConfig::default()
    }
}

async fn start() -> (Simulator, Receiver) {
    let rx = Receiver::start().await;
    let sim = Simulator::start(config(&rx)).await.unwrap();
    (sim, rx)
}

fn messages_url(sim: &Simulator) -> String {
    format!("{}/v21.0/{}/messages", sim.base_url(), sim.phone_number_id())
}

async fn post_json(url: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn send_text(sim: &Simulator, to: &str, text: &str) -> (u16, Value) {
    post_json(
        &messages_url(sim),
        Some(TOKEN),
        json!({"messaging_product":"whatsapp","recipient_type":"individual","to":to,"type":"text",
               "text":{"body":text,"preview_url":false}}),
    )
    .await
}

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

async fn media_info(sim: &Simulator, id: &str) -> Value {
    let resp =
        reqwest::Client::new().get(format!("{}/v21.0/{id}", sim.base_url())).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
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

fn only_message(d: &wa_sim::Delivery) -> &Value {
    let value = &d.payload["entry"][0]["changes"][0]["value"];
    assert_eq!(value["messages"].as_array().unwrap().len(), 1);
    &value["messages"][0]
}

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

#[tokio::test]
async fn load_mode_counts_match_the_receiver() {
    let rx = Receiver::start().await;
    let mut cfg = LoadConfig::new(&rx.url, SECRET, "100000000000001");
    cfg.customers = 7;
    cfg.rate_per_sec = 600;
    cfg.duration = Duration::from_millis(500);
    cfg.concurrency = 8;
    cfg.messages_per_delivery = 3;
    let report = run_load(cfg).await.unwrap();
    let got = rx.all();
    let messages: usize =
        got.iter().map(|r| r.body["entry"][0]["changes"][0]["value"]["messages"].as_array().unwrap().len()).sum();
    assert!(got.iter().all(|r| r.signature_ok));
    assert_eq!(report.deliveries_sent, got.len() as u64);
    assert_eq!(report.deliveries_acknowledged, got.len() as u64);
    assert_eq!(report.messages_sent, messages as u64);
    assert_eq!(report.messages_acknowledged, messages as u64);
    assert!(report.errors_by_status.is_empty());
    assert_eq!(report.messages_sent, 300, "{report:?}");
    assert!(report.latency.max_ms >= report.latency.p50_ms);
    let senders: std::collections::BTreeSet<String> = got
        .iter()
        .flat_map(|r| r.body["entry"][0]["changes"][0]["value"]["messages"].as_array().unwrap().clone())
        .map(|m| m["from"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(senders.len(), 7);

    // Errors are counted by status.
    rx.answer.store(500, Ordering::SeqCst);
    let mut cfg = LoadConfig::new(&rx.url, SECRET, "100000000000001");
    cfg.rate_per_sec = 100;
    cfg.duration = Duration::from_millis(100);
    let report = run_load(cfg).await.unwrap();
    assert_eq!(report.deliveries_acknowledged, 0);
    assert_eq!(report.errors_by_status.get("500"), Some(&report.deliveries_sent));
    assert!(run_load(LoadConfig::new("http://192.0.2.1/hook", SECRET, "1")).await.is_err());
}

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

/// How fast the load generator itself goes against a receiver that only counts
/// (`cargo test -p wa-sim --release -- --ignored load_generator_throughput --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a check"]
async fn load_generator_throughput() {
    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let c = count.clone();
    let app = Router::new().route(
        "/hook",
        post(move |_body: Bytes| {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut cfg = LoadConfig::new(&url, SECRET, "100000000000001");
    cfg.rate_per_sec = 0;
    cfg.duration = Duration::from_secs(3);
    cfg.concurrency = 32;
    let report = run_load(cfg).await.unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.deliveries_acknowledged, count.load(Ordering::Relaxed));
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
