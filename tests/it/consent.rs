//! Consent enforced on every send: marketing only to contacts who opted in, nothing unsolicited
//! to those who opted out (replies in their own conversation still go), the history of every
//! change, the opt-out / opt-in keywords confirmed once, and Meta's signals (`user_preferences`,
//! 131050) — all through the real app, the WhatsApp simulator and real HTTP.

use atende::actions::connections::{create_whatsapp_cloud, CreateWhatsappCloud};
use atende::actions::send::{self, SendRequest, SendTarget};
use atende::actions::{ActionError, Actor};
use atende::domain::outbound::OutboundContent;
use atende::domain::{Scope, TenantId};
use serde_json::{json, Value};
use wa_sim::CustomerMessage;

use crate::automation::eventually;
use crate::engine_test;
use crate::support::TestApp;

pub(crate) const WABA: &str = "200000000000001";

/// A simulator and a Cloud API connection to it that has the simulator's WABA id (so its
/// templates can be synced).
pub(crate) async fn connected(t: &TestApp, tenant: TenantId) -> (wa_sim::Simulator, i64) {
    let sim = wa_sim::Simulator::start(wa_sim::SimConfig::default()).await.unwrap();
    let input = CreateWhatsappCloud {
        name: "WhatsApp",
        phone_number_id: sim.phone_number_id(),
        waba_id: WABA,
        access_token: "sim-access-token",
        app_secret: "sim-app-secret",
        graph_url: Some(&sim.base_url()),
        api_version: None,
        rate_per_sec: None,
    };
    let conn = create_whatsapp_cloud(&t.app, &Actor::Operator, tenant, input).await.unwrap().connection.id;
    sim.set_webhook_url(t.url(&format!("/hooks/whatsapp/{conn}")));
    (sim, conn)
}

/// The customer writes; returns their contact and ticket ids.
pub(crate) async fn customer_writes(t: &TestApp, sim: &wa_sim::Simulator, phone: &str, text: &str) -> (i64, i64) {
    let d = sim.customer_sends(phone, "Cliente", CustomerMessage::Text(text.into())).await.unwrap();
    assert_eq!(d.status, 200);
    contact_and_ticket(t, phone).await
}

pub(crate) async fn contact_and_ticket(t: &TestApp, phone: &str) -> (i64, i64) {
    sqlx::query_as::<_, (i64, i64)>(
        "SELECT c.id, t.id FROM contacts c JOIN tickets t ON t.contact_id = c.id WHERE c.phone = $1 ORDER BY t.id DESC",
    )
    .bind(phone)
    .fetch_one(t.app.db.reader())
    .await
    .unwrap()
}

async fn consent_of(t: &TestApp, contact: i64) -> String {
    sqlx::query_scalar::<_, String>("SELECT consent FROM contacts WHERE id = $1")
        .bind(contact)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap()
}

async fn history(t: &TestApp, token: &str, contact: i64) -> Vec<Value> {
    let r = reqwest::Client::new()
        .get(t.url(&format!("/api/v1/contacts/{contact}/consent-history")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["data"].as_array().unwrap().clone()
}

pub(crate) async fn api_send(t: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new().post(t.url("/api/v1/messages")).bearer_auth(token).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub(crate) fn promo(ticket: i64) -> Value {
    json!({ "ticket_id": ticket, "type": "template", "template": { "name": "promocao_mensal", "language": "pt_BR",
        "components": [{ "type": "body", "parameters": [{ "type": "text", "text": "Ana" }, { "type": "text", "text": "10%" }] }] } })
}

pub(crate) fn utility(ticket: i64) -> Value {
    json!({ "ticket_id": ticket, "type": "template", "template": { "name": "atendimento_retorno", "language": "pt_BR",
        "components": [{ "type": "body", "parameters": [{ "type": "text", "text": "Ana" }] }] } })
}

async fn patch_consent(t: &TestApp, token: &str, contact: i64, consent: &str) {
    let r = reqwest::Client::new()
        .patch(t.url(&format!("/api/v1/contacts/{contact}")))
        .bearer_auth(token)
        .json(&json!({ "consent": consent }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

engine_test!(
    every_send_path_refuses_marketing_without_opt_in_and_anything_unsolicited_after_opt_out,
    |t: TestApp| async move {
        let demo = t.demo_tenant().await;
        let (sim, conn) = connected(&t, demo).await;
        atende::actions::templates::sync_now(&t.app, &Actor::Operator, demo, conn).await.unwrap();
        let token = t.token(demo, &[Scope::Read, Scope::Write, Scope::Send]).await;
        let (contact, ticket) = customer_writes(&t, &sim, "5511987650001", "Olá").await;
        assert_eq!(consent_of(&t, contact).await, "transactional");

        // API: a MARKETING template, and a text flagged marketing, need the opt-in.
        let (s, v) = api_send(&t, &token, promo(ticket)).await;
        assert_eq!((s, code(&v)), (422, "marketing_consent_required"), "{v}");
        let flagged =
            json!({ "ticket_id": ticket, "type": "text", "text": { "body": "Promoção!" }, "marketing": true });
        let (s, v) = api_send(&t, &token, flagged).await;
        assert_eq!((s, code(&v)), (422, "marketing_consent_required"), "{v}");
        // To a phone (the API's other target) too.
        let mut by_phone = promo(0);
        by_phone.as_object_mut().unwrap().remove("ticket_id");
        by_phone["phone"] = json!("+55 11 98765-0001");
        let (s, v) = api_send(&t, &token, by_phone).await;
        assert_eq!((s, code(&v)), (422, "marketing_consent_required"), "{v}");
        // Transactional messages go.
        let (s, v) = api_send(&t, &token, utility(ticket)).await;
        assert_eq!(s, 202, "{v}");

        // The send use case every other path calls (inbox composer, chatbot, CLI): the same refusal.
        let content = OutboundContent::Template {
            name: "promocao_mensal".into(),
            language: "pt_BR".into(),
            components: promo(ticket)["template"]["components"].clone(),
        };
        let req = SendRequest {
            tenant: demo,
            target: SendTarget::Ticket(ticket),
            content,
            reply_to: None,
            idempotency_key: None,
            marketing: false,
        };
        match send::send_message(&t.app, &Actor::Operator, req).await {
            Err(ActionError::Invalid { code, .. }) => assert_eq!(code, "marketing_consent_required"),
            other => panic!("marketing went to a transactional contact: {other:?}"),
        }

        // Opted in: marketing goes.
        patch_consent(&t, &token, contact, "marketing_opt_in").await;
        let (s, v) = api_send(&t, &token, promo(ticket)).await;
        assert_eq!(s, 202, "{v}");

        // Opted out: no template at all, not even transactional; a reply in the customer's own
        // conversation still goes.
        patch_consent(&t, &token, contact, "opted_out").await;
        let (s, v) = api_send(&t, &token, utility(ticket)).await;
        assert_eq!((s, code(&v)), (422, "contact_opted_out"), "{v}");
        let (s, v) = api_send(&t, &token, promo(ticket)).await;
        assert_eq!((s, code(&v)), (422, "contact_opted_out"), "{v}");
        let reply = json!({ "ticket_id": ticket, "type": "text", "text": { "body": "Claro, segue a resposta." } });
        let (s, v) = api_send(&t, &token, reply).await;
        assert_eq!(s, 202, "{v}");

        // A day later the conversation is no longer the customer's: nothing goes.
        t.app.clock.advance(std::time::Duration::from_secs(25 * 3600));
        let late = json!({ "ticket_id": ticket, "type": "text", "text": { "body": "Oi?" } });
        let (s, v) = api_send(&t, &token, late).await;
        assert_eq!((s, code(&v)), (422, "contact_opted_out"), "{v}");

        // The simulator got exactly one promotion (the one sent after the opt-in).
        let sent = eventually("the allowed sends at the simulator", || async {
            let all = sim.sent_messages();
            (all.len() >= 3).then_some(all)
        })
        .await;
        let promos = sent.iter().filter(|m| m.request["template"]["name"] == "promocao_mensal").count();
        assert_eq!(promos, 1);

        // Each change is in the history, newest first, with its source and actor.
        let h = history(&t, &token, contact).await;
        assert_eq!(h.len(), 2, "{h:?}");
        assert_eq!(h[0]["previous"], "marketing_opt_in");
        assert_eq!(h[0]["consent"], "opted_out");
        assert_eq!(h[0]["source"], "api");
        assert!(h[0]["actor"].as_str().unwrap().starts_with("token:"));
        assert_eq!(h[1]["previous"], "transactional");
        sim.shutdown().await;
        t.stop().await;
    }
);

engine_test!(parar_opts_out_with_history_and_one_confirmation_and_voltar_opts_back_in, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, _conn) = connected(&t, demo).await;
    let token = t.token(demo, &[Scope::Read, Scope::Write, Scope::Send]).await;
    let (contact, _) = customer_writes(&t, &sim, "5511987650002", "PARAR").await;
    assert_eq!(consent_of(&t, contact).await, "opted_out");
    let confirmation = eventually("the opt-out confirmation", || async {
        sim.sent_messages().into_iter().find(|m| m.request["type"] == "text").map(|m| m.request)
    })
    .await;
    assert_eq!(confirmation["text"]["body"], atende::domain::consent::DEFAULT_OPT_OUT_REPLY);
    // Again, in other spellings: nothing changes, nothing more is queued.
    customer_writes(&t, &sim, "5511987650002", "parar!").await;
    customer_writes(&t, &sim, "5511987650002", "Descadastrar").await;
    assert_eq!(t.count("jobs", "kind = 'contacts.consent_reply'").await, 1);
    // The opt-in word gives marketing consent back, confirmed once too.
    customer_writes(&t, &sim, "5511987650002", "voltar").await;
    assert_eq!(consent_of(&t, contact).await, "marketing_opt_in");
    assert_eq!(t.count("jobs", "kind = 'contacts.consent_reply'").await, 2);
    eventually("the opt-in confirmation", || async {
        sim.sent_messages()
            .into_iter()
            .any(|m| m.request["text"]["body"] == atende::domain::consent::DEFAULT_OPT_IN_REPLY)
            .then_some(())
    })
    .await;
    let h = history(&t, &token, contact).await;
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(
        (h[1]["consent"].as_str(), h[1]["source"].as_str(), h[1]["detail"].as_str()),
        (Some("opted_out"), Some("keyword"), Some("PARAR"))
    );
    assert_eq!(h[1]["actor"], "customer");
    assert_eq!((h[0]["previous"].as_str(), h[0]["consent"].as_str()), (Some("opted_out"), Some("marketing_opt_in")));
    let opt_out_replies = sim
        .sent_messages()
        .into_iter()
        .filter(|m| m.request["text"]["body"] == atende::domain::consent::DEFAULT_OPT_OUT_REPLY)
        .count();
    assert_eq!(opt_out_replies, 1);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(metas_user_preferences_webhook_and_error_131050_update_consent, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (sim, conn) = connected(&t, demo).await;
    atende::actions::templates::sync_now(&t.app, &Actor::Operator, demo, conn).await.unwrap();
    let token = t.token(demo, &[Scope::Read, Scope::Write, Scope::Send]).await;
    let phone = "5511987650003";
    let (contact, ticket) = customer_writes(&t, &sim, phone, "Oi").await;
    patch_consent(&t, &token, contact, "marketing_opt_in").await;

    // The customer stops marketing in WhatsApp: Meta's user_preferences webhook.
    assert_eq!(sim.customer_sets_marketing(phone, true).await.unwrap(), 200);
    assert_eq!(consent_of(&t, contact).await, "transactional");
    let h = history(&t, &token, contact).await;
    assert_eq!((h[0]["source"].as_str(), h[0]["detail"].as_str()), (Some("meta"), Some("user_preferences: stop")));
    let (s, v) = api_send(&t, &token, promo(ticket)).await;
    assert_eq!((s, code(&v)), (422, "marketing_consent_required"), "{v}");
    // Resuming gives back the opt-in Meta's stop took.
    assert_eq!(sim.customer_sets_marketing(phone, false).await.unwrap(), 200);
    assert_eq!(consent_of(&t, contact).await, "marketing_opt_in");

    // Stopped again at Meta, but an agent marks the opt-in: the send fails with 131050 and the
    // consent follows Meta.
    assert_eq!(sim.customer_sets_marketing(phone, true).await.unwrap(), 200);
    patch_consent(&t, &token, contact, "marketing_opt_in").await;
    let (s, v) = api_send(&t, &token, promo(ticket)).await;
    assert_eq!(s, 202, "{v}");
    let message = v["id"].as_i64().unwrap();
    let failed = eventually("the 131050 failure", || async {
        sqlx::query_as::<_, (String, Option<i64>)>("SELECT status, error_code FROM messages WHERE id = $1")
            .bind(message)
            .fetch_optional(t.app.db.reader())
            .await
            .unwrap()
            .filter(|(s, _)| s == "failed")
    })
    .await;
    assert_eq!(failed.1, Some(131050));
    eventually("consent after 131050", || async { (consent_of(&t, contact).await == "transactional").then_some(()) })
        .await;
    let h = history(&t, &token, contact).await;
    assert_eq!((h[0]["source"].as_str(), h[0]["detail"].as_str()), (Some("meta"), Some("error 131050")));
    sim.shutdown().await;
    t.stop().await;
});
