//! "Quem está vendo": an open ticket page's beats make its person a viewer for 45 s, shown on
//! the others' panels; arriving and leaving publish `ticket.viewers` once each (a repeated beat
//! publishes nothing); people who may not see the ticket get 404 and are never counted. On
//! SQLite and PostgreSQL.

use std::time::Duration;

use atende::actions::Actor;
use atende::domain::Role;
use wa_sim::CustomerMessage;

use crate::engine_test;
use crate::support::{extract_csrf, TestApp};
use crate::timed_rules::ticket_of;

engine_test!(the_panel_shows_who_else_has_the_ticket_open_until_they_leave, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana.vendo@demo.local", Role::Agent, "senha-da-ana-1").await;
    t.create_user(demo, "bia.vendo@demo.local", Role::Agent, "senha-da-bia-1").await;
    let (sim, _) = t.simulator(demo).await;
    let phone = "5511911150001";
    sim.customer_sends(phone, "Cliente", CustomerMessage::Text("Oi".into())).await.unwrap();
    let (ticket, _, _) = ticket_of(&t, phone).await;
    atende::actions::inbox::assign(&t.app, &Actor::Operator, demo, ticket, ana.id).await.unwrap();

    let page_url = t.url(&format!("/inbox/{ticket}"));
    let beat_url = t.url(&format!("/inbox/{ticket}/viewing"));
    let page_of = |c: reqwest::Client| {
        let url = page_url.clone();
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let ana_web = t.login("ana.vendo@demo.local", "senha-da-ana-1", "demo").await;
    let ana_page = page_of(ana_web.clone()).await;
    let csrf = extract_csrf(&ana_page);
    let beat = |c: reqwest::Client, csrf: String, leave: &'static str| {
        let url = beat_url.clone();
        async move {
            let form = [("csrf", csrf.as_str()), ("leave", leave)];
            c.post(url).form(&form).send().await.unwrap().status()
        }
    };
    let events = || t.count("events", "kind = 'ticket.viewers'");

    assert_eq!(beat(ana_web.clone(), csrf.clone(), "0").await, 204);
    assert_eq!(events().await, 1, "arriving is published");
    assert_eq!(beat(ana_web.clone(), csrf.clone(), "0").await, 204);
    assert_eq!(events().await, 1, "a repeated beat is not");
    let admin = t.login_demo_admin().await;
    let shown = format!("Vendo agora: {}", ana.name);
    assert!(page_of(admin.clone()).await.contains(&shown), "the supervisor sees Ana there");
    assert!(!page_of(ana_web.clone()).await.contains("Vendo agora"), "nobody else is there for Ana");

    // Bia may not see Ana's ticket: 404, and she is never counted.
    let bia = t.login("bia.vendo@demo.local", "senha-da-bia-1", "demo").await;
    let bia_csrf = extract_csrf(&bia.get(t.url("/inbox")).send().await.unwrap().text().await.unwrap());
    assert_eq!(beat(bia.clone(), bia_csrf, "0").await, 404);
    assert_eq!(t.count("ticket_viewers", "1 = 1").await, 1);

    // Ana's beats stop: after the window she is gone from the panel.
    t.app.clock.advance(Duration::from_secs(46));
    assert!(!page_of(admin.clone()).await.contains("Vendo agora"));
    // She is back, then leaves: each is published, and the panel follows.
    assert_eq!(beat(ana_web.clone(), csrf.clone(), "0").await, 204);
    assert_eq!(events().await, 2);
    assert!(page_of(admin.clone()).await.contains(&shown));
    assert_eq!(beat(ana_web.clone(), csrf.clone(), "1").await, 204);
    assert_eq!(events().await, 3);
    assert!(!page_of(admin.clone()).await.contains("Vendo agora"));
    assert_eq!(t.count("ticket_viewers", "1 = 1").await, 0);
    sim.shutdown().await;
});
