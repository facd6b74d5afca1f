//! Instances: create and auth, QR codes and scans, drops, logouts and deletes.

use std::time::Duration;

use evo_sim::Disconnect;
use serde_json::{json, Value};

use super::{call, create, gateway, open, state, Receiver, KEY};

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
    let (_, list) =
        call("GET", format!("{}/instance/fetchInstances?instanceName=loja", gw.base_url()), Some(KEY), None).await;
    assert_eq!(list[0]["connectionStatus"], "open");
    assert_eq!(list[0]["ownerJid"], "5511940000001@s.whatsapp.net");
    let (status, hook) = call("GET", format!("{}/webhook/find/loja", gw.base_url()), Some(KEY), None).await;
    assert_eq!(status, 200);
    assert_eq!((hook["url"].as_str(), hook["enabled"].as_bool()), (Some(rx.url.as_str()), Some(true)));
    assert_eq!(hook["webhookBase64"], true);
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
