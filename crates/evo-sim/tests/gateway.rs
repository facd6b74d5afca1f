//! End-to-end tests over real HTTP on loopback: a gateway, and a small axum receiver standing
//! in for Atende's webhook endpoint.

// Tests may unwrap: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use evo_sim::{CustomerMessage, Disconnect, Gateway, GatewayConfig, SentKind};
use serde_json::{json, Value};

const KEY: &str = "test-global-key";
const EVENTS: &[&str] =
    &["QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT", "MESSAGES_UPDATE", "SEND_MESSAGE", "STATUS_INSTANCE"];

#[derive(Clone)]
struct Receiver {
    url: String,
    /// (path, body) in arrival order.
    got: Arc<Mutex<Vec<(String, Value)>>>,
    /// The status to answer with.
    answer: Arc<AtomicU16>,
    hits: Arc<AtomicUsize>,
}

type RxState = (Arc<Mutex<Vec<(String, Value)>>>, Arc<AtomicU16>, Arc<AtomicUsize>);

async fn hook(State((got, answer, hits)): State<RxState>, uri: Uri, Json(body): Json<Value>) -> StatusCode {
    hits.fetch_add(1, Ordering::SeqCst);
    let status = StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap();
    if status.is_success() {
        got.lock().unwrap().push((uri.path().to_string(), body));
    }
    status
}

impl Receiver {
    async fn start() -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(AtomicU16::new(200));
        let hits = Arc::new(AtomicUsize::new(0));
        let app = Router::new().fallback(hook).with_state((got.clone(), answer.clone(), hits.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, got, answer, hits }
    }

    fn events(&self, event: &str) -> Vec<Value> {
        self.got.lock().unwrap().iter().filter(|(_, b)| b["event"] == event).map(|(_, b)| b.clone()).collect()
    }

    fn all(&self) -> Vec<Value> {
        self.got.lock().unwrap().iter().map(|(_, b)| b.clone()).collect()
    }

    /// Waits until `n` webhooks of `event` arrived (or 5 s), and returns them.
    async fn wait_for(&self, event: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.events(event);
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn gateway(qr_every: Duration) -> Gateway {
    Gateway::start(GatewayConfig { api_key: KEY.into(), qr_rotate_every: qr_every, ..GatewayConfig::default() })
        .await
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A request with an `apikey`, answering (status, JSON).
async fn call(method: &str, url: String, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http().request(method, url);
    if let Some(k) = key {
        req = req.header("apikey", k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Creates `name` with a QR code and a webhook to `rx` (media inline); returns the create answer.
async fn create(gw: &Gateway, rx: &Receiver, name: &str) -> Value {
    let body = json!({
        "instanceName": name, "qrcode": true, "integration": "WHATSAPP-BAILEYS",
        "webhook": { "url": rx.url, "byEvents": false, "base64": true, "events": EVENTS },
    });
    let (status, v) = call("POST", format!("{}/instance/create", gw.base_url()), Some(KEY), Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v
}

/// Creates `name` and scans its QR code; returns its token.
async fn open(gw: &Gateway, rx: &Receiver, name: &str) -> String {
    let created = create(gw, rx, name).await;
    gw.scan(name, &gw.current_qr(name).unwrap()).await.unwrap();
    created["hash"].as_str().unwrap().to_string()
}

async fn state(gw: &Gateway, name: &str) -> String {
    let (_, v) = call("GET", format!("{}/instance/connectionState/{name}", gw.base_url()), Some(KEY), None).await;
    v["instance"]["state"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn create_requires_the_global_key_and_refuses_duplicates() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    let url = format!("{}/instance/create", gw.base_url());
    let body = json!({ "instanceName": "loja", "qrcode": true, "integration": "WHATSAPP-BAILEYS" });
    let (status, v) = call("POST", url.clone(), None, Some(body.clone())).await;
    assert_eq!(status, 401);
    assert_eq!(v, json!({ "status": 401, "error": "Unauthorized", "response": { "message": "Unauthorized" } }));
    assert_eq!(call("POST", url.clone(), Some("wrong"), Some(body.clone())).await.0, 401);

    let created = create(&gw, &rx, "loja").await;
    assert_eq!(created["instance"]["instanceName"], "loja");
    assert_eq!(created["instance"]["integration"], "WHATSAPP-BAILEYS");
    assert_eq!(created["instance"]["instanceId"].as_str().unwrap().len(), 36);
    let token = created["hash"].as_str().unwrap();
    assert_eq!(token.len(), 36);
    assert_eq!(created["webhook"]["webhookUrl"], rx.url.as_str());
    assert!(created["qrcode"]["code"].as_str().unwrap().starts_with("2@"));
    assert!(created["qrcode"]["base64"].as_str().unwrap().starts_with("data:image/png;base64,"));
    assert_eq!(created["qrcode"]["count"], 1);
    assert_eq!(created["qrcode"]["pairingCode"], Value::Null);
    assert_eq!(state(&gw, "loja").await, "connecting");

    // The instance's own token does not create instances.
    let other = json!({ "instanceName": "outra", "qrcode": false });
    assert_eq!(call("POST", url.clone(), Some(token), Some(other)).await.0, 401);

    let (status, v) = call("POST", url.clone(), Some(KEY), Some(body)).await;
    assert_eq!(status, 403);
    assert_eq!(v["error"], "Forbidden");
    assert_eq!(v["response"]["message"], json!(["This name \"loja\" is already in use."]));

    let (status, v) = call("POST", url.clone(), Some(KEY), Some(json!({ "qrcode": true }))).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"], "Bad Request");
    assert!(v["response"]["message"][0].as_str().unwrap().contains("instanceName"));

    // A given token is kept; without qrcode the instance waits closed, with no QR in the answer.
    let mine = json!({ "instanceName": "minha", "token": "meu-token", "qrcode": false });
    let (status, v) = call("POST", url, Some(KEY), Some(mine)).await;
    assert_eq!(status, 201);
    assert_eq!(v["hash"], "meu-token");
    assert!(v.get("qrcode").is_none());
    assert_eq!(state(&gw, "minha").await, "close");

    let (status, v) = call("GET", format!("{}/instance/connectionState/nada", gw.base_url()), Some(KEY), None).await;
    assert_eq!(status, 404);
    assert_eq!(v["response"]["message"], json!(["The \"nada\" instance does not exist"]));

    let (_, list) = call("GET", format!("{}/instance/fetchInstances", gw.base_url()), Some(KEY), None).await;
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["loja", "minha"]);
    assert_eq!(list[0]["connectionStatus"], "connecting");
    assert_eq!(list[0]["token"], token);
    assert_eq!(list[0]["integration"], "WHATSAPP-BAILEYS");
    let (_, only) = call("GET", format!("{}/instance/fetchInstances", gw.base_url()), Some("meu-token"), None).await;
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["name"], "minha");
    gw.shutdown().await;
}

#[tokio::test]
async fn the_qr_code_is_posted_and_rotates_until_scanned() {
    let gw = gateway(Duration::from_millis(100)).await;
    let rx = Receiver::start().await;
    let created = create(&gw, &rx, "loja").await;
    let token = created["hash"].as_str().unwrap();
    let qrs = rx.wait_for("qrcode.updated", 3).await;
    assert!(qrs.len() >= 3);
    let first = &qrs[0];
    assert_eq!(first["instance"], "loja");
    assert_eq!(first["destination"], rx.url.as_str());
    assert_eq!(first["server_url"], gw.base_url().as_str());
    assert_eq!(first["apikey"], token);
    assert!(first["date_time"].as_str().unwrap().ends_with("-03:00"));
    assert_eq!(first["data"]["qrcode"]["instance"], "loja");
    assert_eq!(first["data"]["qrcode"]["code"], created["qrcode"]["code"]);
    let codes: Vec<&str> = qrs.iter().map(|q| q["data"]["qrcode"]["code"].as_str().unwrap()).collect();
    let mut unique = codes.clone();
    unique.dedup();
    assert_eq!(unique.len(), codes.len(), "each rotation shows a new code");
    assert!(codes.iter().all(|c| c.starts_with("2@") && c.split(',').count() == 4));

    // connect while waiting answers the code shown now; a number adds a pairing code.
    let url = format!("{}/instance/connect/loja", gw.base_url());
    let (status, v) = call("GET", url.clone(), Some(KEY), None).await;
    assert_eq!(status, 200);
    assert!(v["count"].as_u64().unwrap() >= 3);
    let (_, v) = call("GET", format!("{url}?number=5511940000001"), Some(token), None).await;
    assert_eq!(v["pairingCode"].as_str().unwrap().len(), 8);
    assert_eq!(gw.connect_calls("loja"), 2);

    // Scanning stops the rotation.
    gw.scan("loja", &gw.current_qr("loja").unwrap()).await.unwrap();
    let n = rx.events("qrcode.updated").len();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(rx.events("qrcode.updated").len(), n);
    assert_eq!(gw.current_qr("loja"), None);
    gw.shutdown().await;
}

#[tokio::test]
async fn scan_refuses_a_wrong_code_and_the_right_one_opens() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    create(&gw, &rx, "loja").await;
    assert!(gw.scan("loja", "2@wrong,a,b,c").await.is_err());
    assert!(gw.scan("nada", "x").await.is_err());
    assert_eq!(state(&gw, "loja").await, "connecting");
    gw.scan("loja", &gw.current_qr("loja").unwrap()).await.unwrap();
    // Delivered before scan returns.
    let open = rx.events("connection.update");
    assert_eq!(open.len(), 1);
    let data = &open[0]["data"];
    assert_eq!(data["state"], "open");
    assert_eq!(data["statusReason"], 200);
    assert_eq!(data["wuid"], "5511940000001@s.whatsapp.net");
    assert_eq!(open[0]["sender"], "5511940000001@s.whatsapp.net");
    assert_eq!(state(&gw, "loja").await, "open");
    let (_, v) = call("GET", format!("{}/instance/connect/loja", gw.base_url()), Some(KEY), None).await;
    assert_eq!(v, json!({ "instance": { "instanceName": "loja", "state": "open" } }));
    // A second scan finds nothing to scan.
    assert!(gw.scan("loja", "anything").await.is_err());
    gw.shutdown().await;
}

#[tokio::test]
async fn send_text_answers_like_evolution_and_acks_follow() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    open(&gw, &rx, "loja").await;
    let url = format!("{}/message/sendText/loja", gw.base_url());

    let (status, v) = call("POST", url.clone(), Some(KEY), Some(json!({ "text": "oi" }))).await;
    assert_eq!(status, 400);
    assert_eq!(v["response"]["message"], json!(["instance requires property \"number\""]));
    let (status, v) =
        call("POST", url.clone(), Some(KEY), Some(json!({ "number": "5500000000000", "text": "oi" }))).await;
    assert_eq!(status, 400);
    assert_eq!(
        v["response"]["message"],
        json!([{ "jid": "5500000000000@s.whatsapp.net", "exists": false, "number": "5500000000000" }])
    );
    let (status, _) = call("POST", url.clone(), Some(KEY), Some(json!({ "number": "abc", "text": "oi" }))).await;
    assert_eq!(status, 400);

    let body = json!({ "number": "5511912345678@s.whatsapp.net", "text": "Olá!", "delay": 0, "linkPreview": false });
    let (status, v) = call("POST", url, Some(KEY), Some(body)).await;
    assert_eq!(status, 201, "{v}");
    let id = v["key"]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("3EB0"));
    assert_eq!(v["key"]["remoteJid"], "5511912345678@s.whatsapp.net");
    assert_eq!(v["key"]["fromMe"], true);
    assert_eq!(v["status"], "PENDING");
    assert_eq!(v["message"], json!({ "conversation": "Olá!" }));
    assert_eq!(v["messageType"], "conversation");
    assert!(v["messageTimestamp"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(v["source"], "unknown");

    // send.message carries the same data; the acks follow in order, never an upsert.
    let sent = rx.wait_for("send.message", 1).await;
    assert_eq!(sent[0]["data"]["key"]["id"], id.as_str());
    let acks = rx.wait_for("messages.update", 2).await;
    let statuses: Vec<&str> = acks.iter().map(|a| a["data"]["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["SERVER_ACK", "DELIVERY_ACK"]);
    assert_eq!(acks[0]["data"]["keyId"], id.as_str());
    assert_eq!(acks[0]["data"]["remoteJid"], "5511912345678@s.whatsapp.net");
    assert_eq!(acks[0]["data"]["fromMe"], true);
    assert!(acks[0]["data"]["messageId"].is_string());
    assert!(rx.events("messages.upsert").is_empty());

    let msgs = gw.sent_messages("loja");
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        (msgs[0].number.as_str(), msgs[0].kind, msgs[0].text.as_deref()),
        ("5511912345678", SentKind::Text, Some("Olá!"))
    );
    assert_eq!(msgs[0].status, "DELIVERY_ACK");
    assert_eq!(gw.customer_reads("loja", "5511912345678").await.unwrap(), 1);
    assert_eq!(rx.events("messages.update")[2]["data"]["status"], "READ");

    // A closed instance refuses sends.
    create(&gw, &rx, "fechada").await;
    let (status, v) = call(
        "POST",
        format!("{}/message/sendText/fechada", gw.base_url()),
        Some(KEY),
        Some(json!({ "number": "5511912345678", "text": "oi" })),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["response"]["message"], json!(["Connection Closed"]));
    gw.shutdown().await;
}

#[tokio::test]
async fn send_media_and_audio_decode_base64() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    open(&gw, &rx, "loja").await;
    let base = gw.base_url();
    let image = vec![0xFFu8, 0xD8, 0xFF, 1, 2, 3, 4, 5, 6, 7];
    let body = json!({ "number": "5511912345678", "mediatype": "image", "mimetype": "image/jpeg",
                       "caption": "foto", "media": STANDARD.encode(&image), "fileName": "foto.jpg" });
    let (status, v) = call("POST", format!("{base}/message/sendMedia/loja"), Some(KEY), Some(body)).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["messageType"], "imageMessage");
    assert_eq!(v["message"]["imageMessage"]["caption"], "foto");
    assert_eq!(v["message"]["imageMessage"]["mimetype"], "image/jpeg");
    let image_id = v["key"]["id"].as_str().unwrap().to_string();

    let pdf = b"%PDF-1.4 tiny".to_vec();
    let body = json!({ "number": "5511912345678", "mediatype": "document", "mimetype": "application/pdf",
                       "media": STANDARD.encode(&pdf), "fileName": "boleto.pdf" });
    let (status, v) = call("POST", format!("{base}/message/sendMedia/loja"), Some(KEY), Some(body)).await;
    assert_eq!(status, 201);
    assert_eq!(v["message"]["documentMessage"]["fileName"], "boleto.pdf");

    let body = json!({ "number": "5511912345678", "mediatype": "image", "media": "data:image/png;base64,AAAA" });
    let (status, v) = call("POST", format!("{base}/message/sendMedia/loja"), Some(KEY), Some(body)).await;
    assert_eq!(status, 400, "{v}");

    let ogg = vec![b'O', b'g', b'g', b'S', 0, 2, 9, 9];
    let body = json!({ "number": "5511912345678", "audio": STANDARD.encode(&ogg) });
    let (status, v) = call("POST", format!("{base}/message/sendWhatsAppAudio/loja"), Some(KEY), Some(body)).await;
    assert_eq!(status, 201);
    assert_eq!(v["messageType"], "audioMessage");
    assert_eq!(v["message"]["audioMessage"]["ptt"], true);
    assert_eq!(v["message"]["audioMessage"]["mimetype"], "audio/ogg; codecs=opus");

    let sent = gw.sent_messages("loja");
    let summary: Vec<_> = sent.iter().map(|m| (m.kind, m.media_len, m.mimetype.clone(), m.text.clone())).collect();
    assert_eq!(
        summary,
        [
            (SentKind::Image, Some(image.len()), Some("image/jpeg".into()), Some("foto".into())),
            (SentKind::Document, Some(pdf.len()), Some("application/pdf".into()), None),
            (SentKind::Audio, Some(ogg.len()), Some("audio/ogg; codecs=opus".into()), None),
        ]
    );
    assert_eq!(sent[1].file_name.as_deref(), Some("boleto.pdf"));

    // What the business sent can be fetched back too.
    let body = json!({ "message": { "key": { "id": image_id } }, "convertToMp4": false });
    let (status, v) = call("POST", format!("{base}/chat/getBase64FromMediaMessage/loja"), Some(KEY), Some(body)).await;
    assert_eq!(status, 201);
    assert_eq!(STANDARD.decode(v["base64"].as_str().unwrap()).unwrap(), image);
    gw.shutdown().await;
}

#[tokio::test]
async fn customer_messages_arrive_as_upserts_and_media_round_trips() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    let token = open(&gw, &rx, "loja").await;
    let id = gw.customer_sends("loja", "5511912345678", "Maria", CustomerMessage::Text("oi".into())).await.unwrap();
    let up = rx.events("messages.upsert");
    assert_eq!(up.len(), 1, "delivered before customer_sends returns");
    let d = &up[0]["data"];
    assert_eq!(d["key"], json!({ "remoteJid": "5511912345678@s.whatsapp.net", "fromMe": false, "id": id }));
    assert_eq!(d["pushName"], "Maria");
    assert_eq!(d["status"], "DELIVERY_ACK");
    assert_eq!(d["message"], json!({ "conversation": "oi" }));
    assert_eq!(d["messageType"], "conversation");
    assert_eq!(d["source"], "android");
    assert_eq!(up[0]["apikey"], token.as_str());
    assert_eq!(up[0]["sender"], "5511940000001@s.whatsapp.net");

    let jpeg = vec![0xFFu8, 0xD8, 0xFF, 0xE0, 42, 42, 42];
    let msg = CustomerMessage::Image { bytes: jpeg.clone(), mime: "image/jpeg".into(), caption: Some("olha".into()) };
    let img_id = gw.customer_sends("loja", "5511912345678", "Maria", msg).await.unwrap();
    let d = rx.events("messages.upsert")[1]["data"].clone();
    assert_eq!(d["messageType"], "imageMessage");
    assert_eq!(d["message"]["imageMessage"]["caption"], "olha");
    assert_eq!(d["message"]["imageMessage"]["mimetype"], "image/jpeg");
    assert_eq!(d["message"]["imageMessage"]["fileLength"], jpeg.len().to_string());
    assert!(d["message"]["imageMessage"]["url"].as_str().unwrap().starts_with("https://mmg.whatsapp.net/"));
    assert_eq!(STANDARD.decode(d["message"]["base64"].as_str().unwrap()).unwrap(), jpeg);

    let url = format!("{}/chat/getBase64FromMediaMessage/loja", gw.base_url());
    let (status, v) = call(
        "POST",
        url.clone(),
        Some(&token),
        Some(json!({ "message": { "key": { "id": img_id } }, "convertToMp4": false })),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(v["mediaType"], "imageMessage");
    assert_eq!(v["mimetype"], "image/jpeg");
    assert_eq!(v["caption"], "olha");
    assert_eq!(STANDARD.decode(v["base64"].as_str().unwrap()).unwrap(), jpeg);
    let (status, _) =
        call("POST", url.clone(), Some(KEY), Some(json!({ "message": { "key": { "id": "NOPE" } } }))).await;
    assert_eq!(status, 400);

    let voice = CustomerMessage::Audio { bytes: vec![1; 9000], mime: "audio/ogg; codecs=opus".into(), voice: true };
    gw.customer_sends("loja", "5511912345678", "Maria", voice).await.unwrap();
    let doc =
        CustomerMessage::Document { bytes: b"%PDF".to_vec(), mime: "application/pdf".into(), filename: "x.pdf".into() };
    let doc_id = gw.customer_sends("loja", "5511912345678", "Maria", doc).await.unwrap();
    let up = rx.events("messages.upsert");
    assert_eq!(up[2]["data"]["message"]["audioMessage"]["ptt"], true);
    assert_eq!(up[2]["data"]["message"]["audioMessage"]["seconds"], 2);
    assert_eq!(up[3]["data"]["message"]["documentMessage"]["fileName"], "x.pdf");
    assert_eq!(up[3]["data"]["message"]["documentMessage"]["title"], "x.pdf");
    let (_, v) = call("POST", url, Some(KEY), Some(json!({ "message": { "key": { "id": doc_id } } }))).await;
    assert_eq!(v["fileName"], "x.pdf");
    assert_eq!(v["mediaType"], "documentMessage");

    // Without webhookBase64 the media stays out of the webhook.
    let set =
        json!({ "webhook": { "enabled": true, "url": rx.url, "byEvents": false, "base64": false, "events": EVENTS } });
    let (status, v) = call("POST", format!("{}/webhook/set/loja", gw.base_url()), Some(KEY), Some(set)).await;
    assert_eq!(status, 201);
    assert_eq!(v["webhookBase64"], false);
    let msg = CustomerMessage::Image { bytes: jpeg, mime: "image/jpeg".into(), caption: None };
    gw.customer_sends("loja", "5511912345678", "Maria", msg).await.unwrap();
    let last = rx.events("messages.upsert").pop().unwrap();
    assert!(last["data"]["message"].get("base64").is_none());
    assert!(last["data"]["message"]["imageMessage"].get("caption").is_none());
    gw.shutdown().await;
}

#[tokio::test]
async fn phone_sends_are_from_me_upserts() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    open(&gw, &rx, "loja").await;
    let id = gw.phone_sends("loja", "5511912345678", "respondi pelo celular").await.unwrap();
    let up = rx.events("messages.upsert");
    assert_eq!(up[0]["data"]["key"], json!({ "remoteJid": "5511912345678@s.whatsapp.net", "fromMe": true, "id": id }));
    assert_eq!(up[0]["data"]["message"]["conversation"], "respondi pelo celular");
    assert_eq!(up[0]["data"]["source"], "android");
    assert!(gw.sent_messages("loja").is_empty(), "phone messages are not API sends");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_drop_fails_the_next_connects_then_reconnects() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    open(&gw, &rx, "loja").await;
    gw.disconnect("loja", Disconnect::Dropped { failing_connects: 2 }).await.unwrap();
    let close = rx.events("connection.update").pop().unwrap();
    assert_eq!(close["data"]["state"], "close");
    assert_eq!(close["data"]["statusReason"], 428);
    assert_eq!(state(&gw, "loja").await, "close");

    let url = format!("{}/instance/connect/loja", gw.base_url());
    for _ in 0..2 {
        let (status, v) = call("GET", url.clone(), Some(KEY), None).await;
        assert_eq!(status, 200);
        assert_eq!(v, json!({ "instance": { "instanceName": "loja", "state": "connecting" } }));
        assert_eq!(state(&gw, "loja").await, "connecting");
    }
    let (_, v) = call("GET", url, Some(KEY), None).await;
    assert_eq!(v["instance"]["state"], "open");
    assert_eq!(gw.connect_calls("loja"), 3);
    let updates = rx.wait_for("connection.update", 4).await;
    let states: Vec<&str> = updates.iter().map(|u| u["data"]["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["open", "close", "connecting", "open"]);
    assert_eq!(state(&gw, "loja").await, "open");
    // No new QR code was needed.
    assert_eq!(rx.events("qrcode.updated").len(), 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn logged_out_closes_with_401_and_connect_shows_a_new_qr() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    let created = create(&gw, &rx, "loja").await;
    gw.scan("loja", &gw.current_qr("loja").unwrap()).await.unwrap();
    gw.disconnect("loja", Disconnect::LoggedOut).await.unwrap();
    let all = rx.all();
    let tail: Vec<(&str, &Value)> =
        all[all.len() - 2..].iter().map(|b| (b["event"].as_str().unwrap(), &b["data"])).collect();
    assert_eq!(tail[0].0, "connection.update");
    assert_eq!(tail[0].1["state"], "close");
    assert_eq!(tail[0].1["statusReason"], 401);
    assert_eq!(tail[1], ("status.instance", &json!({ "instance": "loja", "status": "closed" })));
    assert_eq!(state(&gw, "loja").await, "close");
    assert!(gw.disconnect("loja", Disconnect::LoggedOut).await.is_err());

    let (_, v) = call("GET", format!("{}/instance/connect/loja", gw.base_url()), Some(KEY), None).await;
    let code = v["code"].as_str().unwrap();
    assert_ne!(code, created["qrcode"]["code"].as_str().unwrap());
    assert_eq!(v["count"], 1);
    assert_eq!(Some(code.to_string()), gw.current_qr("loja"));
    let qrs = rx.wait_for("qrcode.updated", 2).await;
    assert_eq!(qrs[1]["data"]["qrcode"]["code"], code);
    assert_eq!(state(&gw, "loja").await, "connecting");
    gw.shutdown().await;
}

#[tokio::test]
async fn logout_and_delete_routes() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    let token = open(&gw, &rx, "loja").await;
    let base = gw.base_url();
    // Evolution refuses to delete an open instance.
    let (status, v) = call("DELETE", format!("{base}/instance/delete/loja"), Some(KEY), None).await;
    assert_eq!(status, 400);
    assert_eq!(v["response"]["message"], json!(["The \"loja\" instance needs to be disconnected"]));

    let (status, v) = call("DELETE", format!("{base}/instance/logout/loja"), Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({ "status": "SUCCESS", "error": false, "response": { "message": "Instance logged out" } }));
    let close = rx.wait_for("connection.update", 2).await;
    assert_eq!(close[1]["data"]["statusReason"], 401);
    let (status, _) = call("DELETE", format!("{base}/instance/logout/loja"), Some(KEY), None).await;
    assert_eq!(status, 400);

    let (status, v) = call("DELETE", format!("{base}/instance/delete/loja"), Some(KEY), None).await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({ "status": "SUCCESS", "error": false, "response": { "message": "Instance deleted" } }));
    assert_eq!(call("GET", format!("{base}/instance/connectionState/loja"), Some(KEY), None).await.0, 404);
    gw.shutdown().await;
}

#[tokio::test]
async fn an_instance_token_opens_its_own_calls_only() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    let token = open(&gw, &rx, "loja").await;
    let other = open(&gw, &rx, "outra").await;
    let base = gw.base_url();
    let text = json!({ "number": "5511912345678", "text": "oi" });
    assert_eq!(call("POST", format!("{base}/message/sendText/loja"), Some(&token), Some(text.clone())).await.0, 201);
    assert_eq!(call("POST", format!("{base}/message/sendText/loja"), Some(&other), Some(text.clone())).await.0, 401);
    assert_eq!(call("POST", format!("{base}/message/sendText/loja"), None, Some(text)).await.0, 401);
    assert_eq!(call("GET", format!("{base}/instance/connectionState/loja"), Some(&token), None).await.0, 200);
    let body = json!({ "instanceName": "nova", "qrcode": true });
    assert_eq!(call("POST", format!("{base}/instance/create"), Some(&token), Some(body)).await.0, 401);
    gw.shutdown().await;
}

#[tokio::test]
async fn webhooks_by_events_and_failed_deliveries() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    open(&gw, &rx, "loja").await;
    let set = json!({ "webhook": { "enabled": true, "url": rx.url, "byEvents": true, "base64": false, "events": [] } });
    let (status, v) = call("POST", format!("{}/webhook/set/loja", gw.base_url()), Some(KEY), Some(set)).await;
    assert_eq!(status, 201);
    assert!(v["events"].as_array().unwrap().len() > 10, "no events means all of them");
    gw.customer_sends("loja", "5511912345678", "Maria", CustomerMessage::Text("oi".into())).await.unwrap();
    let last = rx.got.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.0, "/hook/messages-upsert");

    // 5xx is tried three times, then the send reports the failure; 4xx is not retried.
    rx.answer.store(503, Ordering::SeqCst);
    let before = rx.hits.load(Ordering::SeqCst);
    assert!(gw.customer_sends("loja", "5511912345678", "Maria", CustomerMessage::Text("x".into())).await.is_err());
    assert_eq!(rx.hits.load(Ordering::SeqCst) - before, 3);
    rx.answer.store(404, Ordering::SeqCst);
    let before = rx.hits.load(Ordering::SeqCst);
    assert!(gw.phone_sends("loja", "5511912345678", "x").await.is_err());
    assert_eq!(rx.hits.load(Ordering::SeqCst) - before, 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn the_phone_page_renders_escaped_and_its_routes_work() {
    let gw = gateway(Duration::from_secs(60)).await;
    let rx = Receiver::start().await;
    create(&gw, &rx, "loja").await;
    let base = gw.base_url();
    let page = http().get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"instance-loja\""));
    assert!(page.contains("Escanear QR Code"));
    assert!(page.contains(&gw.current_qr("loja").unwrap()));
    assert!(page.contains("class=\"qr-code\""));

    // The page's scan button posts the shown code.
    let code = gw.current_qr("loja").unwrap();
    let r = http().post(format!("{base}/sim/loja/scan")).json(&json!({ "code": code })).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(state(&gw, "loja").await, "open");
    let r = http().post(format!("{base}/sim/loja/scan")).json(&json!({ "code": code })).send().await.unwrap();
    assert_eq!(r.status(), 400);

    let form = [("phone", "5511912345678"), ("name", "<script>alert(1)</script>"), ("text", "a & b")];
    let r = http().post(format!("{base}/sim/loja/customer")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(rx.events("messages.upsert")[0]["data"]["pushName"], "<script>alert(1)</script>");
    let r =
        http().post(format!("{base}/sim/loja/phone")).json(&json!({ "phone": "5511912345678", "text": "oi" })).send();
    assert_eq!(r.await.unwrap().status(), 200);

    let page = http().get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("a &amp; b"));
    assert!(page.contains("Enviar como cliente") && page.contains("Enviar pelo celular"));
    assert!(page.contains("Derrubar conexão") && page.contains("Desvincular aparelho"));

    let st: Value = http().get(format!("{base}/sim/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!(st["instances"][0]["state"], "open");
    assert_eq!(st["instances"][0]["log"][0]["push_name"], "<script>alert(1)</script>");

    let r = http().post(format!("{base}/sim/loja/drop")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(state(&gw, "loja").await, "close");
    gw.shutdown().await;
}
