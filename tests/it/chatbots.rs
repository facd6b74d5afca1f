//! Several chatbots per company, end to end through the WhatsApp simulator: a timed wait that
//! resumes the flow when its time comes (and ignores what the customer writes meanwhile), a
//! `goto` into another chatbot carrying what was saved, the chatbot each connection's new
//! tickets start in (its own, none, or the company's default), and the page's management of
//! chatbots (create, rename, default, remove only what nothing uses; another company's ids
//! unknown). On SQLite and PostgreSQL.

use std::time::Duration;

use atende::actions::flow_editor;
use atende::actions::{ActionError, Actor};
use atende::domain::TenantId;
use wa_sim::CustomerMessage;

use crate::automation_flow::{eventually, say, texts, ticket, with_flow, CUSTOMER};
use crate::engine_test;
use crate::support::{extract_csrf, TestApp};

/// A chatbot with this flow; returns its id.
async fn chatbot(t: &TestApp, tenant: TenantId, name: &str, flow: &str) -> i64 {
    let id = flow_editor::create(&t.app, &Actor::Operator, tenant, name).await.unwrap();
    flow_editor::save(&t.app, &Actor::Operator, tenant, id, flow).await.unwrap();
    id
}

fn greeting_flow(text: &str) -> String {
    format!(
        r#"{{"start":"m","nodes":{{"m":{{"type":"message","text":"{text}","next":"h"}},"h":{{"type":"handoff"}}}}}}"#
    )
}

engine_test!(a_wait_resumes_the_flow_when_its_time_comes_and_ignores_messages_meanwhile, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    with_flow(
        &t,
        demo,
        r#"{"start":"a","nodes":{
        "a":{"type":"message","text":"Vou verificar, um momento.","next":"w"},
        "w":{"type":"wait","minutes":30,"next":"b"},
        "b":{"type":"message","text":"Pronto, verifiquei.","next":"h"},
        "h":{"type":"handoff"}}}"#,
    )
    .await;
    let (sim, _) = t.simulator(demo).await;
    say(&t, &sim, "Oi").await;
    assert_eq!(texts(&sim, 1).await, ["Vou verificar, um momento."]);
    assert_eq!(ticket(&t).await.1, "bot");
    assert_eq!(t.count("jobs", "kind = 'automation.wake' AND state = 'queued'").await, 1);
    // Meanwhile the customer writes: nothing is said, no second wake-up is planned.
    say(&t, &sim, "alô?").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.sent_messages().len(), 1);
    assert_eq!(t.count("jobs", "kind = 'automation.wake'").await, 1);
    // Half an hour later the flow goes on by itself and hands the ticket to people.
    t.app.clock.advance(Duration::from_secs(31 * 60));
    t.app.jobs_wakeup.notify_one();
    assert_eq!(texts(&sim, 2).await[1], "Pronto, verifiquei.");
    eventually("the hand-off", || async { (ticket(&t).await.1 == "waiting").then_some(()) }).await;
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(a_wake_up_after_people_took_the_ticket_says_nothing, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    with_flow(
        &t,
        demo,
        r#"{"start":"w","nodes":{"w":{"type":"wait","minutes":5,"next":"b"},"b":{"type":"close","text":"Tchau"}}}"#,
    )
    .await;
    let (sim, _) = t.simulator(demo).await;
    say(&t, &sim, "Oi").await;
    let (id, status, ..) = ticket(&t).await;
    assert_eq!(status, "bot");
    let admin = t.create_user(demo, "sup@demo.test", atende::domain::Role::Admin, "uma senha longa 123").await;
    atende::actions::inbox::capture(&t.app, &Actor::User(admin), demo, id).await.unwrap();
    t.app.clock.advance(Duration::from_secs(6 * 60));
    t.app.jobs_wakeup.notify_one();
    eventually("the wake-up to run", || async {
        (t.count("jobs", "kind = 'automation.wake' AND state = 'done'").await == 1).then_some(())
    })
    .await;
    assert!(sim.sent_messages().is_empty(), "a stale wake-up said something");
    assert_eq!(ticket(&t).await.1, "open");
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(a_goto_continues_in_another_chatbot_with_what_was_saved, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let pedidos = chatbot(
        &t,
        demo,
        "Pedidos",
        r#"{"start":"m","nodes":{"m":{"type":"close","text":"Pedido {{pedido}} recebido, {{nome}}."}}}"#,
    )
    .await;
    with_flow(
        &t,
        demo,
        &format!(
            r#"{{"start":"q","nodes":{{
            "q":{{"type":"question","text":"Qual é o número do pedido?","kind":"number","save_as":"pedido","next":"g"}},
            "g":{{"type":"goto","flow":{pedidos}}}}}}}"#
        ),
    )
    .await;
    let (sim, _) = t.simulator(demo).await;
    say(&t, &sim, "Oi").await;
    say(&t, &sim, "42").await;
    assert_eq!(texts(&sim, 2).await, ["Qual é o número do pedido?", "Pedido 42 recebido, Maria."]);
    assert_eq!(ticket(&t).await.1, "closed");
    // The ticket ran on Pedidos' version at the end.
    let (version,): (Option<i64>,) = sqlx::query_as("SELECT bot_flow_id FROM tickets WHERE id = $1")
        .bind(ticket(&t).await.0)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap();
    let (c, _) = flow_editor::get(&t.app, &Actor::Operator, demo, pedidos).await.unwrap();
    assert_eq!(version, c.flow_id);
    // A goto to a chatbot that does not exist is refused at save, naming the node.
    let refused = flow_editor::save(
        &t.app,
        &Actor::Operator,
        demo,
        pedidos,
        r#"{"start":"g","nodes":{"g":{"type":"goto","flow":987654}}}"#,
    )
    .await;
    assert!(
        matches!(&refused, Err(ActionError::Invalid { code: "invalid_flow", message }) if message.contains("g: flow 987654")),
        "{refused:?}"
    );
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(each_connection_starts_its_tickets_in_its_own_chatbot_none_or_the_default, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    with_flow(&t, demo, &greeting_flow("Olá do principal")).await;
    let loja = chatbot(&t, demo, "Loja", &greeting_flow("Olá da loja")).await;
    let (main_sim, main_conn) = t.simulator(demo).await;
    let config = wa_sim::SimConfig {
        phone_number_id: "109876543210".into(),
        display_phone_number: "15550000002".into(),
        ..wa_sim::SimConfig::default()
    };
    let (shop_sim, shop_conn) = t.simulator_with(demo, "Loja", config).await;
    flow_editor::set_for_connection(&t.app, &Actor::Operator, demo, shop_conn, Some(loja)).await.unwrap();
    flow_editor::set_for_connection(&t.app, &Actor::Operator, demo, main_conn, Some(0)).await.unwrap();

    say(&t, &shop_sim, "Oi loja").await;
    assert_eq!(texts(&shop_sim, 1).await, ["Olá da loja"]);
    // No chatbot on the main number: the ticket waits for people at once, nothing said.
    main_sim.customer_sends("5511912345678", "João", CustomerMessage::Text("Oi".into())).await.unwrap();
    let status = eventually("João's ticket", || async {
        sqlx::query_scalar::<_, String>(
            "SELECT t.status FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE c.phone = '5511912345678'",
        )
        .fetch_optional(t.app.db.reader())
        .await
        .unwrap()
    })
    .await;
    assert_eq!(status, "waiting");
    // Back on the company's default: a new customer meets it.
    flow_editor::set_for_connection(&t.app, &Actor::Operator, demo, main_conn, None).await.unwrap();
    main_sim.customer_sends("5511955554444", "Ana", CustomerMessage::Text("Oi".into())).await.unwrap();
    assert_eq!(texts(&main_sim, 1).await, ["Olá do principal"]);
    assert_eq!(texts(&shop_sim, 1).await.len(), 1);
    // Another company's connection or chatbot is unknown here.
    let other = t.create_tenant("outra").await;
    let foreign = chatbot(&t, other, "Deles", &greeting_flow("Oi")).await;
    let cross = flow_editor::set_for_connection(&t.app, &Actor::Operator, demo, main_conn, Some(foreign)).await;
    assert!(matches!(cross, Err(ActionError::NotFound)), "{cross:?}");
    let cross = flow_editor::set_for_connection(&t.app, &Actor::Operator, other, main_conn, None).await;
    assert!(matches!(cross, Err(ActionError::NotFound)), "{cross:?}");
    let _ = CUSTOMER;
    main_sim.shutdown().await;
    shop_sim.shutdown().await;
    t.stop().await;
});

engine_test!(the_chatbot_page_manages_chatbots_and_refuses_removing_one_in_use, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    with_flow(&t, demo, &greeting_flow("Olá")).await;
    let admin = t.login_demo_admin().await;
    let page = admin.get(t.url("/admin/chatbot")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Principal") && page.contains("Padrão"), "the migrated default is listed");
    let csrf = extract_csrf(&page);
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let admin = admin.clone();
        let url = t.url(&path);
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields);
        async move { admin.post(url).form(&form).send().await.unwrap() }
    };
    let created = post("/admin/chatbot/new".into(), vec![("name", "Pedidos <b>".into())]).await;
    assert_eq!(created.status(), 303);
    let list = flow_editor::list(&t.app, &Actor::Operator, demo).await.unwrap();
    let (principal, pedidos) = (list[0].id, list[1].id);
    assert_eq!(list[1].name, "Pedidos <b>");
    let page = admin.get(t.url(&format!("/admin/chatbot?id={pedidos}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Pedidos &#60;b&#62;") && !page.contains("Pedidos <b>"), "names are escaped");
    // An empty chatbot cannot become the default.
    let refused = post(format!("/admin/chatbot/{pedidos}"), vec![("action", "default".into())]).await;
    assert_eq!(refused.status(), 422);
    let saved =
        post("/admin/chatbot".into(), vec![("chatbot", pedidos.to_string()), ("flow", greeting_flow("Pedidos aqui"))])
            .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(saved.headers()["location"], format!("/admin/chatbot?id={pedidos}&saved=1").as_str());
    let renamed =
        post(format!("/admin/chatbot/{pedidos}"), vec![("action", "rename".into()), ("name", "Pedidos".into())]).await;
    assert_eq!(renamed.status(), 303);
    // Principal goes on in Pedidos: Pedidos cannot go while that stands.
    let goes_on = format!(r#"{{"start":"g","nodes":{{"g":{{"type":"goto","flow":{pedidos}}}}}}}"#);
    assert_eq!(
        post("/admin/chatbot".into(), vec![("chatbot", principal.to_string()), ("flow", goes_on)]).await.status(),
        303
    );
    let in_use = post(format!("/admin/chatbot/{pedidos}"), vec![("action", "delete".into())]).await;
    assert_eq!(in_use.status(), 409);
    assert!(in_use.text().await.unwrap().contains("em uso"));
    // The default cannot go either, until it is no longer the default.
    assert_eq!(post(format!("/admin/chatbot/{principal}"), vec![("action", "delete".into())]).await.status(), 409);
    assert_eq!(post(format!("/admin/chatbot/{pedidos}"), vec![("action", "default".into())]).await.status(), 303);
    let (a, _) = atende::actions::automation::get(&t.app, &Actor::Operator, demo).await.unwrap();
    assert_eq!(a.chatbot_id, Some(pedidos));
    assert_eq!(post(format!("/admin/chatbot/{principal}"), vec![("action", "delete".into())]).await.status(), 303);
    let names: Vec<String> =
        flow_editor::list(&t.app, &Actor::Operator, demo).await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Pedidos"]);
    // Another company's chatbot is not found from here.
    let other = t.create_tenant("outra").await;
    let foreign = flow_editor::create(&t.app, &Actor::Operator, other, "Deles").await.unwrap();
    let cross =
        post(format!("/admin/chatbot/{foreign}"), vec![("action", "rename".into()), ("name", "Meu".into())]).await;
    assert_eq!(cross.status(), 404);
    assert_eq!(flow_editor::get(&t.app, &Actor::Operator, other, foreign).await.unwrap().0.name, "Deles");
});
