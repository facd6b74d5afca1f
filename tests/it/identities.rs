//! Contact identities and the Cloud API's business-scoped user ids: a customer who shows a
//! username (no phone at all) is stored, found again by user id, answered by `recipient`, and
//! shown by username; the same person arriving later with a phone ends up as one contact; our
//! `biz_opaque_callback_data` comes back in statuses and names the message.

use std::time::{Duration, Instant};

use atende::domain::{Scope, TenantId};
use serde_json::{json, Value};
use sqlx::Row;
use wa_sim::{Customer, CustomerMessage};

use crate::engine_test;
use crate::support::{sent_to_sim, TestApp};

async fn simulator(t: &TestApp, tenant: TenantId) -> (wa_sim::Simulator, i64) {
    let config = wa_sim::SimConfig { status_delays_ms: (50, 50, u64::MAX), ..Default::default() };
    t.simulator_with(tenant, "WhatsApp", config).await
}

fn ana(phone: Option<&str>) -> Customer {
    Customer { phone: phone.map(str::to_string), username: Some("ana.souza".into()), profile_name: "Ana Souza".into() }
}

async fn one_i64(t: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(t.app.db.reader()).await.unwrap().get(0)
}

/// `(kind, value)` of a contact's identities, sorted.
async fn identities_of(t: &TestApp, contact: i64) -> Vec<(String, String)> {
    let sql = format!("SELECT kind, value FROM contact_identities WHERE contact_id = {contact} ORDER BY kind, value");
    let rows = sqlx::query(&sql).fetch_all(t.app.db.reader()).await.unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

async fn post_form(t: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> u16 {
    let csrf = t.csrf(client).await;
    let mut form = fields.to_vec();
    form.push(("csrf", csrf.as_str()));
    client.post(t.url(path)).form(&form).send().await.unwrap().status().as_u16()
}

/// POSTs a webhook body signed as the simulator's connection; returns the ingest summary.
async fn post_signed(t: &TestApp, conn: i64, body: Value) -> Value {
    let body = body.to_string();
    let signature = format!("sha256={}", atende::crypto::hmac_sha256_hex(b"sim-app-secret", body.as_bytes()));
    let r = reqwest::Client::new()
        .post(t.url(&format!("/hooks/whatsapp/{conn}")))
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn wait_status(t: &TestApp, message: i64, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let sql = format!("SELECT status FROM messages WHERE id = {message}");
    loop {
        let now: String = sqlx::query(&sql).fetch_one(t.app.db.reader()).await.unwrap().get(0);
        if now == status {
            return;
        }
        assert!(Instant::now() < deadline, "message {message} stayed {now}, never {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

engine_test!(a_username_only_customer_is_stored_shown_and_answered_by_user_id, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, _) = simulator(&t, demo).await;
    let d = sim.customer_sends_as(&ana(None), CustomerMessage::Text("Oi, sou a Ana".into())).await.unwrap();
    assert_eq!(d.status, 200);
    assert!(d.payload.to_string().contains("from_user_id") && !d.payload.to_string().contains("\"from\""));

    // Stored on a contact without a phone, found by its user id; a ticket waits for an agent.
    assert_eq!(t.count("messages", "direction = 'in' AND body = 'Oi, sou a Ana'").await, 1);
    let contact = one_i64(&t, "SELECT id FROM contacts WHERE username = 'ana.souza' AND phone = ''").await;
    assert_eq!(identities_of(&t, contact).await, [("whatsapp_user".to_string(), d.user_id.clone())]);
    let ticket =
        one_i64(&t, &format!("SELECT id FROM tickets WHERE contact_id = {contact} AND status = 'waiting'")).await;

    // She writes again: the same contact and ticket, no second contact.
    sim.customer_sends_as(&ana(None), CustomerMessage::Text("Alguém aí?".into())).await.unwrap();
    assert_eq!(t.count("contacts", "1 = 1").await, 1);
    assert_eq!(t.count("messages", &format!("ticket_id = {ticket} AND direction = 'in'")).await, 2);

    // The inbox shows her username, in the list and on the ticket.
    let admin = t.login_demo_admin().await;
    let list = admin.get(t.url("/inbox?tab=waiting")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("@ana.souza"), "{list}");
    let page = admin.get(t.url(&format!("/inbox/{ticket}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("@ana.souza") && page.contains("Ana Souza"), "{page}");
    let found = admin.get(t.url("/inbox?tab=waiting&q=ana.souza")).send().await.unwrap().text().await.unwrap();
    assert!(found.contains(&format!("data-ticket=\"{ticket}\"")), "a search finds her by username: {found}");

    // The API shows her without a phone, with her username.
    let token = t.token(demo, &[Scope::Read]).await;
    let api: Value = reqwest::Client::new()
        .get(t.url(&format!("/api/v1/contacts/{contact}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((api["phone"].as_str(), api["username"].as_str()), (Some(""), Some("ana.souza")), "{api}");

    // The agent's reply goes to her user id as `recipient`, with our callback data.
    assert_eq!(post_form(&t, &admin, &format!("/inbox/{ticket}/messages"), &[("body", "Olá, Ana!")]).await, 303);
    let sent = sent_to_sim(&sim, "the reply", |r| r["text"]["body"] == "Olá, Ana!").await;
    assert_eq!(sent["recipient"], d.user_id.as_str());
    assert!(sent.get("to").is_none(), "no phone to send to: {sent}");
    let reply = one_i64(&t, "SELECT id FROM messages WHERE direction = 'out' AND body = 'Olá, Ana!'").await;
    assert_eq!(sent["biz_opaque_callback_data"], format!("atende:{reply}"));
    // Meta's statuses (recipient_user_id, no recipient_id) move it on.
    wait_status(&t, reply, "delivered").await;
    let statuses = sim.sent_messages().into_iter().find(|m| m.request["text"]["body"] == "Olá, Ana!").unwrap();
    assert_eq!(statuses.user_id.as_deref(), Some(d.user_id.as_str()));
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(the_same_person_with_a_phone_later_stays_one_contact, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, _) = simulator(&t, demo).await;
    let first = sim.customer_sends_as(&ana(None), CustomerMessage::Text("sem número".into())).await.unwrap();
    let contact = one_i64(&t, "SELECT id FROM contacts WHERE username = 'ana.souza'").await;

    // Her number shows now: it is attached to the contact found by user id.
    let second =
        sim.customer_sends_as(&ana(Some("5511987654321")), CustomerMessage::Text("com número".into())).await.unwrap();
    assert_eq!(second.user_id, first.user_id);
    assert_eq!(t.count("contacts", "1 = 1").await, 1, "no duplicate contact");
    assert_eq!(t.count("contacts", &format!("id = {contact} AND phone = '5511987654321'")).await, 1);
    assert_eq!(
        identities_of(&t, contact).await,
        [
            ("phone".to_string(), "+5511987654321".to_string()),
            ("whatsapp".to_string(), "5511987654321".to_string()),
            ("whatsapp_user".to_string(), first.user_id.clone()),
        ]
    );
    assert_eq!(t.count("messages", &format!("contact_id = {contact} AND direction = 'in'")).await, 2);
    // By number alone (an older payload without user id) she is still the same contact.
    let conn = second_conn(&t).await;
    t.deliver_texts(conn, sim.phone_number_id(), "sim-app-secret", &[("5511987654321", "wamid.OLD1", "só número")])
        .await;
    assert_eq!(t.count("contacts", "1 = 1").await, 1);
    assert_eq!(t.count("messages", &format!("contact_id = {contact} AND body = 'só número'")).await, 1);
    // A new username, and her number's WhatsApp id without the ninth digit: both are kept on
    // the contact her user id names.
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000001","phone_number_id":sim.phone_number_id()},
        "contacts":[{"profile":{"name":"Ana Souza","username":"ana.nova"},"wa_id":"551187654321","user_id":first.user_id}],
        "messages":[{"from":"551187654321","from_user_id":first.user_id,"id":"wamid.NEW1","timestamp":"1700000000",
            "type":"text","text":{"body":"novo nome"}}]}}]}]});
    assert_eq!(post_signed(&t, conn, body).await["stored"], 1);
    assert_eq!(t.count("contacts", "1 = 1").await, 1);
    assert_eq!(
        t.count("contacts", &format!("id = {contact} AND username = 'ana.nova' AND wa_id = '551187654321'")).await,
        1
    );
    sim.shutdown().await;
    t.stop().await;
});

/// The simulator's connection (the only one).
async fn second_conn(t: &TestApp) -> i64 {
    one_i64(t, "SELECT id FROM connections").await
}

engine_test!(a_phone_contact_and_a_username_contact_of_one_person_are_merged, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, conn) = simulator(&t, demo).await;
    // Known by number before user ids (a payload without them), with a note an agent wrote.
    t.deliver_texts(conn, sim.phone_number_id(), "sim-app-secret", &[("5511955554444", "wamid.PRE1", "antigo")]).await;
    let by_phone = one_i64(&t, "SELECT id FROM contacts WHERE phone = '5511955554444'").await;
    // Then she writes by username only: nothing ties her to the number yet.
    let u = sim.customer_sends_as(&ana(None), CustomerMessage::Text("oi".into())).await.unwrap();
    let by_user = one_i64(&t, "SELECT id FROM contacts WHERE username = 'ana.souza'").await;
    assert_ne!(by_phone, by_user);
    let user_ticket = one_i64(&t, &format!("SELECT id FROM tickets WHERE contact_id = {by_user}")).await;

    // Both at once: one person. The username contact is merged into the phone contact.
    sim.customer_sends_as(&ana(Some("5511955554444")), CustomerMessage::Text("sou eu".into())).await.unwrap();
    assert_eq!(t.count("contacts", "1 = 1").await, 1);
    assert_eq!(t.count("contacts", &format!("id = {by_user}")).await, 0);
    let ids = identities_of(&t, by_phone).await;
    assert!(ids.contains(&("whatsapp_user".to_string(), u.user_id.clone())), "{ids:?}");
    assert!(ids.contains(&("phone".to_string(), "+5511955554444".to_string())), "{ids:?}");
    assert_eq!(t.count("messages", &format!("contact_id = {by_phone} AND direction = 'in'")).await, 3);
    assert_eq!(t.count("tickets", &format!("id = {user_ticket} AND contact_id = {by_phone}")).await, 1);
    assert_eq!(t.count("contacts", &format!("id = {by_phone} AND username = 'ana.souza'")).await, 1);
    assert_eq!(t.count("audit_log", "action = 'contact.merged' AND actor = 'channel:whatsapp'").await, 1);
    // Later messages by username only go to the merged contact.
    sim.customer_sends_as(&ana(None), CustomerMessage::Text("de novo".into())).await.unwrap();
    assert_eq!(t.count("messages", &format!("contact_id = {by_phone} AND body = 'de novo'")).await, 1);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(callback_data_in_a_status_names_a_send_whose_answer_was_not_recorded, |t: TestApp| async move {
    use atende::domain::message::DeliveryStatus;
    use atende::store::messages::{self, NewMessage};
    let demo = t.demo_tenant().await;
    let (sim, conn) = simulator(&t, demo).await;
    sim.customer_sends("5511987654321", "Caio", CustomerMessage::Text("oi".into())).await.unwrap();
    let ticket = one_i64(&t, "SELECT id FROM tickets").await;
    let contact = one_i64(&t, "SELECT id FROM contacts").await;
    // A message Meta accepted but whose answer never got recorded: queued, no provider id (and
    // no job, so nothing else touches it).
    let mut tx = t.app.db.begin().await.unwrap();
    let new = NewMessage {
        tenant_id: demo,
        connection_id: conn,
        ticket_id: ticket,
        contact_id: contact,
        direction: "out",
        provider_id: None,
        kind: "text",
        body: Some("olá"),
        payload: "{}",
        refers_to: None,
        status: DeliveryStatus::Queued,
        media_id: None,
        media_mime: None,
        idempotency_key: None,
        sender_user_id: None,
        origin: None,
        sent_at: 0,
    };
    let id = messages::insert(&mut *tx, new, 0).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    let status = |wamid: &str, data: &str| {
        json!({"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000001","phone_number_id":sim.phone_number_id()},
            "statuses":[{"id":wamid,"status":"delivered","timestamp":"1700000100","recipient_id":"5511987654321",
                "recipient_user_id":"BR.1","biz_opaque_callback_data":data}]}}]}]})
    };
    let post = |body: Value| post_signed(&t, conn, body);
    // Someone else's callback data names nothing of ours: the status waits, as before.
    let other = post(status("wamid.ELSE", &format!("crm:{id}"))).await;
    assert_eq!((other["statuses_applied"].as_i64(), other["statuses_kept"].as_i64()), (Some(0), Some(1)));
    // Ours: the wamid is recorded on the message and the status applies at once.
    let ours = post(status("wamid.LOST", &format!("atende:{id}"))).await;
    assert_eq!((ours["statuses_applied"].as_i64(), ours["statuses_kept"].as_i64()), (Some(1), Some(0)), "{ours}");
    assert_eq!(
        t.count("messages", &format!("id = {id} AND provider_id = 'wamid.LOST' AND status = 'delivered'")).await,
        1
    );
    // A second status naming it with another wamid does not re-point it.
    let again = post(status("wamid.OTHER", &format!("atende:{id}"))).await;
    assert_eq!(again["statuses_kept"].as_i64(), Some(1));
    assert_eq!(t.count("messages", &format!("id = {id} AND provider_id = 'wamid.LOST'")).await, 1);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(migration_0009_gives_existing_contacts_their_phone_and_whatsapp_identities, |t: TestApp| async move {
    use sqlx::Executor;
    let demo = t.demo_tenant().await;
    // Back to schema 8, with contacts as 0008 knew them (one without a WhatsApp id).
    let db = &t.app.db;
    for stmt in [
        "DROP TABLE contact_identities",
        "ALTER TABLE contacts DROP COLUMN username",
        "DELETE FROM schema_migrations WHERE version = 9",
    ] {
        db.writer().execute(stmt).await.unwrap();
    }
    for (phone, key, wa_id) in
        [("5511987654321", "11987654321", "'5511987654321'"), ("5521912345678", "21912345678", "NULL")]
    {
        let sql = format!(
            "INSERT INTO contacts (tenant_id, name, phone, phone_key, wa_id, created_at, updated_at)
             VALUES ({}, 'C', '{phone}', '{key}', {wa_id}, 1, 1)",
            demo.0
        );
        db.writer().execute(sql.as_str()).await.unwrap();
    }
    assert_eq!(atende::store::migrate::run(db).await.unwrap(), [9]);
    let first = one_i64(&t, "SELECT id FROM contacts WHERE phone = '5511987654321'").await;
    let second = one_i64(&t, "SELECT id FROM contacts WHERE phone = '5521912345678'").await;
    assert_eq!(
        identities_of(&t, first).await,
        [("phone".to_string(), "+5511987654321".to_string()), ("whatsapp".to_string(), "5511987654321".to_string())]
    );
    assert_eq!(identities_of(&t, second).await, [("phone".to_string(), "+5521912345678".to_string())]);
    assert_eq!(t.count("contacts", "username IS NULL").await, 2);
    t.stop().await;
});
