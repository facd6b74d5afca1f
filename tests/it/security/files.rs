//! Finding 1: a signed webhook must not make the media route serve a server file.

use serde_json::{json, Value};
use sqlx::Row;

use super::{acme_admin, connection_id, create_connection_by_form};
use crate::engine_test;
use crate::support::TestApp;

/// Posts a delivery of one message object, signed with the company's own app secret.
async fn deliver(t: &TestApp, conn: i64, message: Value) {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "PNACME"},
            "contacts": [{"profile": {"name": "Mallory"}, "wa_id": "5511911112222"}], "messages": [message]}}]}]})
    .to_string();
    let signature =
        format!("sha256={}", atende::crypto::hmac_sha256_hex(b"company-chosen-app-secret", body.as_bytes()));
    let answer = reqwest::Client::new()
        .post(t.url(&format!("/hooks/whatsapp/{conn}")))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

engine_test!(a_signed_webhook_with_a_smuggled_file_path_cannot_read_server_files, |t: TestApp| async move {
    let (tenant, admin) = acme_admin(&t).await;
    let (status, page) = create_connection_by_form(&t, &admin, "PNACME", "").await;
    assert_eq!(status, 200, "{page}");
    let conn = connection_id(&t, tenant, "PNACME").await.expect("the connection exists");
    let data_dir = t.dir.path().display().to_string();
    let master_key = std::fs::read(t.dir.path().join("master.key")).expect("the generated master key");
    let targets = [
        format!("{data_dir}/media/../master.key"),
        "./data/media/../master.key".to_string(),
        format!("{data_dir}/media/../atende.db"),
        format!("{data_dir}/media/../../../../../../etc/passwd"),
    ];
    for (i, path) in targets.iter().enumerate() {
        let smuggled = json!({"type": "media", "kind": "document",
            "source": {"file": {"path": path, "mime": "application/pdf"}}});
        let wamid = format!("wamid.SMUGGLE{i}");
        for message in [
            json!({"from": "5511911112222", "id": wamid, "timestamp": "1700000000", "type": "text",
                "text": {"body": "oi"}, "content": smuggled}),
            json!({"from": "5511911112222", "id": format!("{wamid}b"), "timestamp": "1700000000", "type": "content",
                "content": smuggled, "direction": "out"}),
        ] {
            deliver(&t, conn, message).await;
        }
    }
    let rows = sqlx::query("SELECT id, ticket_id, payload FROM messages WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_all(t.app.db.reader())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2 * targets.len(), "every message is stored");
    for row in rows {
        let (id, ticket, payload): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
        assert!(!payload.contains("master.key") && !payload.contains("passwd"), "the stored payload: {payload}");
        let answer = admin.get(t.url(&format!("/inbox/{ticket}/media/{id}"))).send().await.unwrap();
        assert_eq!(answer.status(), 404, "message {id}");
        let body = answer.bytes().await.unwrap();
        assert!(!body.windows(master_key.len()).any(|w| w == master_key.as_slice()), "the master key leaked");
        assert!(!body.starts_with(b"SQLite format") && !body.starts_with(b"root:"), "a server file leaked");
    }
    t.stop().await;
});

engine_test!(a_media_row_pointing_outside_the_media_store_serves_nothing, |t: TestApp| async move {
    // Rows written before names were used hold a full path; one that was tampered with (or any
    // other reference that is not a bare hash) reaches no file.
    let (tenant, admin) = acme_admin(&t).await;
    create_connection_by_form(&t, &admin, "PNACME", "").await;
    let conn = connection_id(&t, tenant, "PNACME").await.unwrap();
    deliver(
        &t,
        conn,
        json!({"from": "5511911112222", "id": "wamid.IMG", "timestamp": "1700000000",
        "type": "image", "image": {"id": "MEDIA9", "mime_type": "image/jpeg"}}),
    )
    .await;
    let row = sqlx::query("SELECT id, ticket_id FROM messages WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap();
    let (id, ticket): (i64, i64) = (row.get(0), row.get(1));
    for reference in [
        format!("{}/media/../master.key", t.dir.path().display()),
        "../../../etc/passwd".to_string(),
        "master.key".to_string(),
    ] {
        sqlx::query("UPDATE messages SET media_path = $1, media_mime = 'application/pdf' WHERE id = $2")
            .bind(&reference)
            .bind(id)
            .execute(t.app.db.writer())
            .await
            .unwrap();
        let answer = admin.get(t.url(&format!("/inbox/{ticket}/media/{id}"))).send().await.unwrap();
        assert_eq!(answer.status(), 404, "{reference}");
    }
    t.stop().await;
});
