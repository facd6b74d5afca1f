//! The Painel beyond the page: its alerts as signed `report.alert` webhook events (raised once,
//! cleared once, per company), each person's time online from presence signs of life, and the
//! rebuild a change of hours queues.

use std::time::Duration;

use atende::actions::inbox::Farewell;
use atende::actions::reports::{self, RangeQuery};
use atende::actions::Actor;
use atende::domain::reports::range::Period;
use atende::domain::{Role, Scope};

use crate::support::TestApp;
use crate::webhooks::{allow_private, connect, inbound_text, subscribe, Receiver};
use crate::{engine_test, engine_test_with};

// The background check is off so that each check here is the only one.
engine_test_with!(
    a_painel_alert_reaches_the_receiver_once_when_raised_and_once_when_cleared,
    |s: &mut atende::config::Settings| s.report_alert_every_secs = 0,
    |t: TestApp| async move {
        let tenant = t.create_tenant("alertas").await;
        allow_private(&t, tenant, true).await;
        let token = t.token(tenant, &[Scope::Read, Scope::Write]).await;
        let r = Receiver::start().await;
        subscribe(&t, &token, &r, &["report.alert"]).await;
        let limits =
            atende::store::reports::live::AlertSettings { wait_alert_minutes: 2, band_low_pct: 0, band_high_pct: 0 };
        atende::store::reports::live::save_alert_settings(t.app.db.writer(), tenant, &limits, 1).await.unwrap();
        let conn = connect(&t, tenant, "PNALERT").await;
        inbound_text(&t, conn, "PNALERT", "5511912345678", "wamid.ALERT1", "alguém aí?").await;
        let check = || atende::actions::reports::watch::check(&t.app, tenant);
        assert_eq!(check().await.unwrap(), 0, "a fresh wait is no alert");

        t.app.clock.advance(Duration::from_secs(150));
        assert_eq!(check().await.unwrap(), 1);
        assert_eq!(check().await.unwrap(), 0, "an alert that still holds is not sent again");
        let got = r.wait_for(1).await;
        let raised = &got[0].body;
        assert_eq!(raised["event"], "report.alert");
        assert_eq!(raised["data"]["code"], "long_wait", "{raised}");
        assert_eq!(raised["data"]["state"], "raised", "{raised}");
        assert_eq!((raised["data"]["value"].as_i64(), raised["data"]["threshold"].as_i64()), (Some(2), Some(2)));
        assert!(got[0].signature_valid);

        // Somebody answers: the wait ends, the alert clears, one more event.
        let ticket: i64 = sqlx::Row::get(
            &sqlx::query("SELECT id FROM tickets WHERE tenant_id = $1")
                .bind(tenant.0)
                .fetch_one(t.app.db.reader())
                .await
                .unwrap(),
            0,
        );
        atende::actions::inbox::close(&t.app, &Actor::Operator, tenant, ticket, Farewell::None).await.unwrap();
        t.app.clock.advance(Duration::from_secs(30));
        assert_eq!(check().await.unwrap(), 1);
        let got = r.wait_for(2).await;
        let cleared = &got[1].body["data"];
        assert_eq!((cleared["code"].as_str(), cleared["state"].as_str()), (Some("long_wait"), Some("cleared")));
        let active = cleared["active_ms"].as_i64().unwrap();
        assert!((30_000..40_000).contains(&active), "30 s on the clock plus the real time the test took: {cleared}");
        assert_eq!(check().await.unwrap(), 0);
        // The job runs every company: the demo company's alerts are its own, none of these.
        atende::actions::reports::watch::check_all(&t.app).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(r.count(), 2);
        t.stop().await;
    }
);

engine_test!(time_online_counts_short_gaps_between_signs_of_life_and_nothing_while_away, |t: TestApp| async move {
    let tenant = t.create_tenant("turno").await;
    let ana = t.create_user(tenant, "ana@turno.test", Role::Agent, "correct horse battery").await;
    let bia = t.create_user(tenant, "bia@turno.test", Role::Agent, "correct horse battery").await;
    let admin = Actor::User(t.create_user(tenant, "adm@turno.test", Role::Admin, "correct horse battery").await);
    let step = |s: u64| t.app.clock.advance(Duration::from_secs(s));
    let touch = |u| atende::actions::settings::touch_presence(&t.app, u);

    touch(&ana).await.unwrap(); // the first sign of life credits nothing
    step(40);
    touch(&ana).await.unwrap(); // +40 s
    step(10);
    touch(&ana).await.unwrap(); // too soon to write: nothing, and the next gap still counts from +40 s
    step(50);
    touch(&ana).await.unwrap(); // +60 s
    step(600);
    touch(&ana).await.unwrap(); // ten minutes without a sign: the tab was closed, nothing
    step(45);
    touch(&ana).await.unwrap(); // +45 s
    atende::actions::settings::set_away(&t.app, &bia, true).await.unwrap();
    touch(&bia).await.unwrap();
    step(45);
    touch(&bia).await.unwrap(); // away: nothing

    let q = RangeQuery { period: Period::Days7, department: None, agent: None };
    let lines = reports::agents(&t.app, &admin, tenant, &q).await.unwrap();
    let online = |id: i64| lines.iter().find(|l| l.agent_id == id).map(|l| l.online_s);
    assert_eq!(online(ana.id.0), Some(145), "{lines:?}");
    assert_eq!(online(bia.id.0), None, "no time online and no tickets: no line");
    // A person filter narrows to that person; the API carries the figure too.
    let only_bia = RangeQuery { agent: Some(bia.id.0), ..q };
    assert!(reports::agents(&t.app, &admin, tenant, &only_bia).await.unwrap().is_empty());
    let token = t.token(tenant, &[Scope::Read]).await;
    let api: serde_json::Value = reqwest::Client::new()
        .get(t.url("/api/v1/reports/agents?period=7d"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["data"][0]["online_s"], 145, "{api}");
    // Another company's people never show here.
    let other = t.create_tenant("outra").await;
    let carla = t.create_user(other, "carla@outra.test", Role::Agent, "correct horse battery").await;
    touch(&carla).await.unwrap();
    step(40);
    touch(&carla).await.unwrap();
    let lines = reports::agents(&t.app, &admin, tenant, &q).await.unwrap();
    assert!(lines.iter().all(|l| l.agent_id != carla.id.0));
    t.stop().await;
});

engine_test!(a_change_of_hours_queues_one_rebuild_that_recomputes_the_roll_ups, |t: TestApp| async move {
    let tenant = t.create_tenant("horas").await;
    let (sim, conn) = t.simulator(tenant).await;
    t.deliver_texts(conn, sim.phone_number_id(), "sim-app-secret", &[("5511933334444", "wamid.H1", "bom dia")]).await;
    atende::store::reports::refresh(&t.app.db, tenant, t.app.clock.now_ms(), 0).await.unwrap();
    let cells = atende::store::reports::rollup_cells(t.app.db.reader(), tenant).await.unwrap();
    assert!(!cells.is_empty());
    // Roll-ups that no longer match the history (as after new hours): only a rebuild fixes them.
    for table in ["report_rollups", "report_ticket_cells"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1"))
            .bind(tenant.0)
            .execute(t.app.db.writer())
            .await
            .unwrap();
    }
    let admin = Actor::Operator;
    atende::actions::automation::save_dates(&t.app, &admin, tenant, "24/12/2027 Véspera de Natal").await.unwrap();
    atende::actions::automation::save_dates(&t.app, &admin, tenant, "24/12/2027 Véspera\n31/12/2027 Réveillon")
        .await
        .unwrap();
    let rebuilds = format!("tenant_id = {} AND kind = 'reports.rebuild'", tenant.0);
    let queued = t.count("jobs", &rebuilds).await;
    assert!((1..=2).contains(&queued), "two saves in a row share a rebuild (two only across a 30 s edge): {queued}");
    t.app.clock.advance(Duration::from_secs(31));
    let done = format!("{rebuilds} AND state = 'done'");
    for _ in 0..200 {
        if t.count("jobs", &done).await == queued {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(t.count("jobs", &done).await, queued);
    assert_eq!(atende::store::reports::rollup_cells(t.app.db.reader(), tenant).await.unwrap(), cells);
    t.stop().await;
});
