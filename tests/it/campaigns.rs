//! Campaigns ("campanhas") through the real app and the WhatsApp simulator: the audience frozen
//! with consent (excluded counted), variations per recipient, each recipient sent once with its
//! callback data, a template for contacts outside the window (skipped without one), PARAR in
//! the middle stopping that contact, a reply opening a tagged ticket with the campaign's message,
//! the pace and the daily cap, a lost answer settled by Meta's status webhook (never resent),
//! orphaned sends made unknown and resent only when a person asks, the plan switch, another
//! company seeing nothing, the REST API and the page. SQLite and PostgreSQL.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use atende::actions::campaigns::{self, CampaignInput};
use atende::actions::contacts::ContactRow;
use atende::actions::Actor;
use atende::domain::templates::ParamSource;
use atende::domain::{Scope, TenantId};
use serde_json::{json, Value};

use crate::consent::{connected, customer_writes};
use crate::engine_test;
use crate::support::{extract_csrf, TestApp};

/// A contact created by the company (it never wrote: outside the window), with this consent
/// and tag.
async fn contact(t: &TestApp, tenant: TenantId, name: &str, phone: &str, consent: &str, tag: &str) -> i64 {
    let row = ContactRow {
        name: Some(name.into()),
        phone: Some(phone.into()),
        consent: Some(consent.into()),
        tags: vec![tag.into()],
        ..Default::default()
    };
    atende::actions::contacts::create_contact(&t.app, &Actor::Operator, tenant, &row, "test").await.unwrap().id
}

async fn tag_id(t: &TestApp, tenant: TenantId, name: &str) -> i64 {
    let tags = atende::actions::contacts::list_tags(&t.app, &Actor::Operator, tenant).await.unwrap();
    tags.into_iter().find(|x| x.name == name).map(|x| x.id).expect("the tag exists")
}

pub(crate) async fn set_consent(t: &TestApp, contact: i64, consent: &str) {
    sqlx::query("UPDATE contacts SET consent = $1 WHERE id = $2")
        .bind(consent)
        .bind(contact)
        .execute(t.app.db.writer())
        .await
        .unwrap();
}

/// The simulator's marketing template, synced, with `{{1}}` = the contact's name and `{{2}}` =
/// `discount`; its id.
async fn marketing_template(t: &TestApp, tenant: TenantId, conn: i64, discount: &str) -> i64 {
    atende::actions::templates::sync_now(&t.app, &Actor::Operator, tenant, conn).await.unwrap();
    let template = atende::actions::templates::list(&t.app, &Actor::Operator, tenant, Some(conn))
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.template.name == "promocao_mensal")
        .unwrap();
    let mapping =
        [("1".to_string(), ParamSource::Field("nome".into())), ("2".into(), ParamSource::Text(discount.into()))];
    atende::actions::templates::set_mapping(&t.app, &Actor::Operator, tenant, template.template.id, mapping.into())
        .await
        .unwrap();
    template.template.id
}

fn input(name: &str, variations: &[&str], tags: Vec<i64>) -> CampaignInput {
    CampaignInput {
        name: name.into(),
        variations: variations.iter().map(|s| s.to_string()).collect(),
        tag_ids: tags,
        rate_per_minute: Some(1200),
        spacing_pct: Some(0),
        ..Default::default()
    }
}

async fn counts(t: &TestApp, tenant: TenantId, id: i64) -> HashMap<String, i64> {
    campaigns::counts(&t.app, &Actor::Operator, tenant, id)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect()
}

/// Waits (up to `secs`) until the campaign's counts satisfy `done`.
async fn wait_counts(t: &TestApp, tenant: TenantId, id: i64, secs: u64, done: impl Fn(&HashMap<String, i64>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let c = counts(t, tenant, id).await;
        if done(&c) {
            return;
        }
        if Instant::now() >= deadline {
            let rows = campaigns::recipients(&t.app, &Actor::Operator, tenant, id, None, 0, 50).await.unwrap();
            let why: Vec<_> = rows.iter().map(|r| (r.state.clone(), r.error_title.clone())).collect();
            panic!("campaign {id} did not get there: {c:?} {why:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn went(c: &HashMap<String, i64>) -> i64 {
    ["sent", "delivered", "read", "replied"].iter().map(|k| c.get(*k).copied().unwrap_or(0)).sum()
}

/// What the simulator received for a campaign: recipient id (from the callback data) → times.
fn received(sim: &wa_sim::Simulator) -> HashMap<i64, usize> {
    let mut out = HashMap::new();
    for m in sim.sent_messages() {
        if let Some(r) =
            m.request["biz_opaque_callback_data"].as_str().and_then(atende::domain::campaigns::parse_callback_data)
        {
            *out.entry(r).or_default() += 1;
        }
    }
    out
}

engine_test!(a_campaign_reaches_each_consenting_contact_once_with_a_variation, |t: TestApp| async move {
    let tenant = t.create_tenant("camp1").await;
    let (sim, _conn) = connected(&t, tenant).await;
    // Six customers write (their window is open); four gave marketing consent.
    let mut contacts = Vec::new();
    for i in 0..6 {
        let (c, _) = customer_writes(&t, &sim, &format!("55119222000{i:02}"), "oi").await;
        contacts.push(c);
    }
    let tag = atende::actions::contacts::create_tag(&t.app, &Actor::Operator, tenant, "Clientes", "#3366ff")
        .await
        .unwrap()
        .id;
    for (i, c) in contacts.iter().enumerate() {
        atende::actions::contacts::tag_contact(&t.app, &Actor::Operator, tenant, *c, tag, true).await.unwrap();
        set_consent(
            &t,
            *c,
            if i < 4 {
                "marketing_opt_in"
            } else if i == 4 {
                "transactional"
            } else {
                "opted_out"
            },
        )
        .await;
    }
    let tickets_before = t.count("tickets", &format!("tenant_id = {}", tenant.0)).await;
    let c = campaigns::create(
        &t.app,
        &Actor::Operator,
        tenant,
        input("Natal", &["Oi {{nome}}, promo A", "Promo B"], vec![tag]),
    )
    .await
    .unwrap();
    assert_eq!(c.status, "draft");
    let (reach, consented) = campaigns::audience_preview(&t.app, &Actor::Operator, tenant, &c.audience).await.unwrap();
    assert_eq!((reach, consented), (6, 4));
    let started = campaigns::command(&t.app, &Actor::Operator, tenant, c.id, "start").await.unwrap();
    assert_eq!((started.status.as_str(), started.total, started.excluded), ("running", 4, 2));
    wait_counts(&t, tenant, c.id, 30, |k| went(k) + k["failed"] == 4).await;
    let got = received(&sim);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got.values().all(|n| *n == 1), "each recipient once: {got:?}");
    let bodies: Vec<String> =
        sim.sent_messages().iter().filter_map(|m| m.request["text"]["body"].as_str().map(String::from)).collect();
    assert!(bodies.iter().all(|b| b == "Oi Cliente, promo A" || b == "Promo B"), "{bodies:?}");
    // Another run (a second job, a restart) sends nothing more; the campaign finished.
    wait_counts(&t, tenant, c.id, 10, |k| k["queued"] == 0 && k["sending"] == 0).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while campaigns::get(&t.app, &Actor::Operator, tenant, c.id).await.unwrap().status != "finished" {
        assert!(Instant::now() < deadline, "the campaign did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = campaigns::command(&t.app, &Actor::Operator, tenant, c.id, "start").await.unwrap_err();
    assert_eq!(again.code(), "invalid_campaign_state");
    campaigns::keep_running(&t.app).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(received(&sim).values().sum::<usize>(), 4);
    // No ticket is opened by sending: only a reply opens one.
    assert_eq!(t.count("tickets", &format!("tenant_id = {}", tenant.0)).await, tickets_before);
    // Delivery statuses move the recipients on; the number the simulator cannot reach (…0000)
    // fails after it was accepted, with Meta's reason.
    wait_counts(&t, tenant, c.id, 15, |k| k["read"] == 3 && k["failed"] == 1).await;
    let failed = campaigns::recipients(&t.app, &Actor::Operator, tenant, c.id, Some("failed"), 0, 10).await.unwrap();
    assert_eq!((failed[0].contact_id, failed[0].error_code), (contacts[0], Some(131026)), "{failed:?}");
    // Another company sees nothing of it.
    let other = t.create_tenant("camp1b").await;
    let e = campaigns::get(&t.app, &Actor::Operator, other, c.id).await.unwrap_err();
    assert_eq!(e.code(), "not_found");
    t.stop().await;
});

engine_test!(outside_the_window_a_template_goes_and_without_one_the_contact_is_skipped, |t: TestApp| async move {
    let tenant = t.create_tenant("camp2").await;
    let (sim, conn) = connected(&t, tenant).await;
    let template = marketing_template(&t, tenant, conn, "15%").await;
    let ana = contact(&t, tenant, "Ana", "+55 11 92222-1001", "marketing_opt_in", "Frios").await;
    let _bia = contact(&t, tenant, "Bia", "+55 11 92222-1002", "marketing_opt_in", "Frios").await;
    let frios = tag_id(&t, tenant, "Frios").await;
    // With the template: both cold contacts get it, with their names.
    let mut with = input("Frios com modelo", &["Texto da janela"], vec![frios]);
    with.template_id = Some(template);
    let c = campaigns::create(&t.app, &Actor::Operator, tenant, with).await.unwrap();
    campaigns::command(&t.app, &Actor::Operator, tenant, c.id, "start").await.unwrap();
    wait_counts(&t, tenant, c.id, 30, |k| went(k) == 2).await;
    let sent: Vec<Value> = sim.sent_messages().into_iter().map(|m| m.request).collect();
    assert!(sent.iter().all(|m| m["type"] == "template" && m["template"]["name"] == "promocao_mensal"), "{sent:?}");
    let names: Vec<&str> =
        sent.iter().filter_map(|m| m["template"]["components"][0]["parameters"][0]["text"].as_str()).collect();
    assert!(names.contains(&"Ana") && names.contains(&"Bia"), "{sent:?}");
    let rows = campaigns::recipients(&t.app, &Actor::Operator, tenant, c.id, None, 0, 10).await.unwrap();
    let ana_row = rows.iter().find(|r| r.contact_id == ana).unwrap();
    assert!(
        ana_row.body.as_deref().unwrap_or("").contains("Olá Ana! Este mês você tem 15% de desconto"),
        "{ana_row:?}"
    );
    // Without a template: skipped with the reason, nothing sent.
    let before = sim.sent_messages().len();
    let c2 = campaigns::create(&t.app, &Actor::Operator, tenant, input("Frios sem modelo", &["Só texto"], vec![frios]))
        .await
        .unwrap();
    campaigns::command(&t.app, &Actor::Operator, tenant, c2.id, "start").await.unwrap();
    wait_counts(&t, tenant, c2.id, 20, |k| k["skipped"] == 2).await;
    assert_eq!(sim.sent_messages().len(), before);
    let rows = campaigns::recipients(&t.app, &Actor::Operator, tenant, c2.id, Some("skipped"), 0, 10).await.unwrap();
    assert!(rows.iter().all(|r| r.error_title.as_deref().unwrap_or("").starts_with("outside_window")), "{rows:?}");
    t.stop().await;
});

engine_test!(parar_mid_campaign_stops_that_contact_and_a_reply_opens_a_tagged_ticket, |t: TestApp| async move {
    let tenant = t.create_tenant("camp3").await;
    let (sim, conn) = connected(&t, tenant).await;
    let template = marketing_template(&t, tenant, conn, "5%").await;
    let phones = ["5511922223001", "5511922223002", "5511922223003"];
    for (i, p) in phones.iter().enumerate() {
        contact(&t, tenant, &format!("C{i}"), &format!("+{p}"), "marketing_opt_in", "Lista").await;
    }
    let lista = tag_id(&t, tenant, "Lista").await;
    let reply_tag = atende::actions::contacts::create_tag(&t.app, &Actor::Operator, tenant, "Black Friday", "#aa0000")
        .await
        .unwrap()
        .id;
    // Slow: one message every 3 s, so the third customer's PARAR lands before their turn.
    let mut slow = input("Black Friday", &[], vec![lista]);
    slow.template_id = Some(template);
    slow.rate_per_minute = Some(20);
    slow.reply_tag_id = Some(reply_tag);
    let c = campaigns::create(&t.app, &Actor::Operator, tenant, slow).await.unwrap();
    campaigns::command(&t.app, &Actor::Operator, tenant, c.id, "start").await.unwrap();
    wait_counts(&t, tenant, c.id, 20, |k| went(k) >= 1).await;
    let d = sim.customer_sends(phones[2], "C2", wa_sim::CustomerMessage::Text("PARAR".into())).await.unwrap();
    assert_eq!(d.status, 200);
    wait_counts(&t, tenant, c.id, 30, |k| k["queued"] == 0 && k["sending"] == 0).await;
    let k = counts(&t, tenant, c.id).await;
    assert_eq!((went(&k), k["opted_out"]), (2, 1), "{k:?}");
    let to: Vec<String> = sim
        .sent_messages()
        .iter()
        .filter(|m| m.request["biz_opaque_callback_data"].as_str().is_some_and(|d| d.starts_with("atende:campaign:")))
        .filter_map(|m| m.request["to"].as_str().map(String::from))
        .collect();
    assert!(!to.iter().any(|x| x == phones[2]), "the opted-out contact got nothing of the campaign: {to:?}");

    // The first customer answers: a ticket opens, tagged, with the campaign's message first.
    wait_counts(&t, tenant, c.id, 15, |k| k["read"] == 2).await;
    let d =
        sim.customer_sends(phones[0], "C0", wa_sim::CustomerMessage::Text("Quero o desconto".into())).await.unwrap();
    assert_eq!(d.status, 200);
    let (contact0, ticket) = crate::consent::contact_and_ticket(&t, phones[0]).await;
    let rows = campaigns::recipients(&t.app, &Actor::Operator, tenant, c.id, Some("replied"), 0, 10).await.unwrap();
    assert_eq!(rows.iter().map(|r| (r.contact_id, r.ticket_id)).collect::<Vec<_>>(), vec![(contact0, Some(ticket))]);
    let first: (String, String, Option<String>) =
        sqlx::query_as("SELECT direction, body, origin FROM messages WHERE ticket_id = $1 ORDER BY id LIMIT 1")
            .bind(ticket)
            .fetch_one(t.app.db.reader())
            .await
            .unwrap();
    assert_eq!(first.0, "out");
    assert!(first.1.contains("Olá C0!"), "{first:?}");
    assert_eq!(first.2.as_deref(), Some("campaign"));
    let tagged = t.count("ticket_tags", &format!("ticket_id = {ticket} AND tag_id = {reply_tag}")).await;
    assert_eq!(tagged, 1);
    t.stop().await;
});

engine_test!(the_pace_and_the_daily_cap_hold, |t: TestApp| async move {
    let tenant = t.create_tenant("camp4").await;
    let (sim, _conn) = connected(&t, tenant).await;
    for i in 0..5 {
        let (c, _) = customer_writes(&t, &sim, &format!("55119222240{i:02}"), "oi").await;
        set_consent(&t, c, "marketing_opt_in").await;
    }
    let mut paced = input("Ritmo", &["Uma por meio segundo"], Vec::new());
    paced.phones = (0..5).map(|i| format!("+55119222240{i:02}")).collect();
    paced.rate_per_minute = Some(120);
    paced.daily_cap = Some(3);
    let c = campaigns::create(&t.app, &Actor::Operator, tenant, paced).await.unwrap();
    let started = Instant::now();
    campaigns::command(&t.app, &Actor::Operator, tenant, c.id, "start").await.unwrap();
    wait_counts(&t, tenant, c.id, 20, |k| went(k) == 3).await;
    // Three sends 500 ms apart take at least a second.
    assert!(started.elapsed() >= Duration::from_millis(950), "{:?}", started.elapsed());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let k = counts(&t, tenant, c.id).await;
    assert_eq!((went(&k), k["queued"]), (3, 2), "the daily cap holds the rest: {k:?}");
    assert_eq!(campaigns::get(&t.app, &Actor::Operator, tenant, c.id).await.unwrap().status, "running");
    // The next day (company's clock, still inside the customers' window) the rest go.
    let now = t.app.clock.now_ms();
    let offset = atende::domain::hours::offset_minutes(chrono_tz::America::Sao_Paulo, now) * 60_000;
    let to_midnight = 86_400_000 - (now + offset).rem_euclid(86_400_000) + 60_000;
    t.app.clock.advance(Duration::from_millis(to_midnight as u64));
    campaigns::keep_running(&t.app).await.unwrap();
    wait_counts(&t, tenant, c.id, 20, |k| went(k) == 5).await;
    assert!(received(&sim).values().all(|n| *n == 1));
    t.stop().await;
});

engine_test!(
    an_unanswered_send_is_unknown_until_meta_settles_it_and_orphans_wait_for_a_person,
    |t: TestApp| async move {
        let tenant = t.create_tenant("camp5").await;
        let (sim, _conn) = connected(&t, tenant).await;
        for i in 0..3 {
            let (c, _) = customer_writes(&t, &sim, &format!("55119222250{i:02}"), "oi").await;
            set_consent(&t, c, "marketing_opt_in").await;
        }
        let mut one = input("Sem resposta", &["Oferta"], Vec::new());
        one.phones = (0..3).map(|i| format!("+55119222250{i:02}")).collect();
        // It starts in an hour, so nothing is sent before the orphan is in place.
        let in_an_hour = t.app.clock.now_ms() + 3_600_000;
        let local = atende::domain::schedules::local_of(chrono_tz::America::Sao_Paulo, in_an_hour).unwrap();
        one.start = Some(atende::domain::schedules::format_local(local));
        let c = campaigns::create(&t.app, &Actor::Operator, tenant, one).await.unwrap();
        campaigns::command(&t.app, &Actor::Operator, tenant, c.id, "start").await.unwrap();
        // A run that died after committing "sending" for the first recipient, its call unknown.
        let first: i64 = sqlx::query_scalar("SELECT MIN(id) FROM campaign_recipients WHERE campaign_id = $1")
            .bind(c.id)
            .fetch_one(t.app.db.reader())
            .await
            .unwrap();
        sqlx::query("UPDATE campaign_recipients SET state = 'sending', runner = 'dead-run' WHERE id = $1")
            .bind(first)
            .execute(t.app.db.writer())
            .await
            .unwrap();
        t.app.clock.advance(Duration::from_secs(2 * 3600));
        campaigns::keep_running(&t.app).await.unwrap();
        wait_counts(&t, tenant, c.id, 30, |k| went(k) == 2 && k["unknown"] == 1).await;
        assert!(!received(&sim).contains_key(&first), "an orphaned send is never resent blindly");
        // A person decides: resend it, once.
        assert_eq!(campaigns::resend_unknown(&t.app, &Actor::Operator, tenant, c.id).await.unwrap(), 1);
        wait_counts(&t, tenant, c.id, 20, |k| went(k) == 3).await;
        assert_eq!(received(&sim).get(&first), Some(&1));
        assert!(received(&sim).values().all(|n| *n == 1));

        // Graph hangs past the client's timeout: no answer, so unknown; the simulator still takes
        // the message and its status webhook settles the recipient as sent — never resent.
        let (late, _) = customer_writes(&t, &sim, "5511922225003", "oi").await;
        set_consent(&t, late, "marketing_opt_in").await;
        sim.set_faults(wa_sim::Faults { timeout_every: Some(1), ..Default::default() });
        let mut hang = input("Lento", &["Oferta lenta"], Vec::new());
        hang.phones = vec!["+5511922225003".into()];
        let h = campaigns::create(&t.app, &Actor::Operator, tenant, hang).await.unwrap();
        campaigns::command(&t.app, &Actor::Operator, tenant, h.id, "start").await.unwrap();
        wait_counts(&t, tenant, h.id, 30, |k| k["unknown"] == 1).await;
        sim.set_faults(wa_sim::Faults::default());
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(counts(&t, tenant, h.id).await["unknown"], 1, "never resent on its own");
        // Meta did take it after all: its status webhook names the recipient in the callback data.
        let rows = campaigns::recipients(&t.app, &Actor::Operator, tenant, h.id, None, 0, 10).await.unwrap();
        let callback = atende::domain::campaigns::callback_data(rows[0].id);
        let status = json!({ "object": "whatsapp_business_account", "entry": [{ "id": crate::consent::WABA, "changes": [{
        "field": "messages", "value": { "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550000001", "phone_number_id": sim.phone_number_id() },
            "statuses": [{ "id": "wamid.HANGED1", "status": "delivered", "timestamp": "1767225600",
                "recipient_id": "5511922225003", "biz_opaque_callback_data": callback }] } }] }] });
        assert_eq!(sim.send_raw_webhook(status).await.unwrap(), 200);
        wait_counts(&t, tenant, h.id, 10, |k| k["delivered"] == 1).await;
        let rows = campaigns::recipients(&t.app, &Actor::Operator, tenant, h.id, None, 0, 10).await.unwrap();
        assert_eq!((rows[0].provider_id.as_deref(), rows[0].attempts), (Some("wamid.HANGED1"), 1), "{rows:?}");
        t.stop().await;
    }
);

engine_test!(campaigns_through_the_api_and_the_page_and_the_plan_switch, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let (_sim, _conn) = connected(&t, tenant).await;
    let token = t.token(tenant, &[Scope::Read, Scope::Write]).await;
    let api = reqwest::Client::new();
    let tag = atende::actions::contacts::create_tag(&t.app, &Actor::Operator, tenant, "Promo API", "#00aa00")
        .await
        .unwrap()
        .id;
    let cid = contact(&t, tenant, "Rui", "+55 21 92222-6001", "marketing_opt_in", "Promo API").await;
    let _ = cid;
    let r = api
        .post(t.url("/api/v1/campaigns"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Via API", "variations": ["Olá {{nome}}"], "tag_ids": [tag], "rate_per_minute": 600 }))
        .send()
        .await
        .unwrap();
    let created: Value = r.json().await.unwrap();
    assert!(created["id"].is_i64(), "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["status"], "draft");
    for (body, code) in [
        (json!({ "name": "", "variations": ["a"], "all_contacts": true }), "invalid_name"),
        (json!({ "name": "x", "variations": [], "all_contacts": true }), "message_required"),
        (json!({ "name": "x", "variations": ["a"] }), "audience_required"),
        (json!({ "name": "x", "variations": ["a"], "all_contacts": true, "rate_per_minute": 0 }), "invalid_rate"),
        (json!({ "name": "x", "variations": ["a"], "phones": ["12"] }), "invalid_phone"),
    ] {
        let r = api.post(t.url("/api/v1/campaigns")).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 422, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{body}");
    }
    let r = api.post(t.url(&format!("/api/v1/campaigns/{id}/launch"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let r = api.post(t.url(&format!("/api/v1/campaigns/{id}/start"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!((v["campaign"]["status"].as_str(), v["campaign"]["total"].as_i64()), (Some("running"), Some(1)));
    let r = api
        .patch(t.url(&format!("/api/v1/campaigns/{id}")))
        .bearer_auth(&token)
        .json(&json!({ "name": "Outro", "variations": ["b"], "all_contacts": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = api
        .get(t.url(&format!("/api/v1/campaigns/{id}/recipients?limit=10")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let r = api
        .get(t.url(&format!("/api/v1/campaigns/{id}/recipients?state=nope")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // Another company's token does not find it.
    let other = t.create_tenant("camp6b").await;
    let other_token = t.token(other, &[Scope::Read]).await;
    let r = api.get(t.url(&format!("/api/v1/campaigns/{id}"))).bearer_auth(&other_token).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // The page: the list, the form, a draft created and started there, the CSV.
    let admin = t.login_demo_admin().await;
    let html = admin.get(t.url("/campaigns")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Nova campanha") && html.contains("Via API"), "{html}");
    let csrf = extract_csrf(&html);
    let form: Vec<(String, String)> = [
        ("csrf", csrf.as_str()),
        ("name", "Pela página <b>"),
        ("v1", "Oi {{nome}}"),
        ("audience", "tags"),
        (format!("tag_{tag}").as_str(), "on"),
        ("rate_per_minute", "600"),
        ("spacing_pct", "10"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let r = admin.post(t.url("/campaigns")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/campaigns/"), "{location}");
    let r = admin.get(t.url(&location)).send().await.unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains("Pela página &#60;b&#62;") && page.contains("Iniciar campanha"), "escaped, a draft: {page}");
    assert!(page.contains(r#"data-reach="1""#), "{page}");
    let csv = admin.get(t.url(&format!("/campaigns/{id}/recipients.csv"))).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with('\u{feff}') && text.contains("Rui;"), "{text}");

    // The plan switches campaigns off: refused everywhere with its code.
    campaigns::set_enabled(&t.app, &Actor::Operator, tenant, false).await.unwrap();
    let r = api.get(t.url("/api/v1/campaigns")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "feature_disabled");
    let e = campaigns::create(&t.app, &Actor::Operator, tenant, input("x", &["a"], vec![tag])).await.unwrap_err();
    assert_eq!(e.code(), "feature_disabled");
    t.stop().await;
});
