//! Messages: API sends and their acks, customer and phone messages, media, webhook
//! delivery, and the phone page.

use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use evo_sim::{CustomerMessage, SentKind};
use serde_json::{json, Value};

use super::{call, create, gateway, http, open, state, Receiver, EVENTS, KEY};

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
