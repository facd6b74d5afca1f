//! Tarefas: create, list and filter through the API; validation; who sees which task (agent vs
//! admin, the ticket rule); another company's task is "not found" in the API and the pages;
//! reminders fire once ahead and once at the due time on the test clock and reach the
//! assignee's live stream; `task.created` / `task.completed` webhooks. On SQLite and PostgreSQL.

use std::time::Duration;

use atende::actions::tasks::{self, TaskInput, TaskQuery};
use atende::actions::Actor;
use atende::domain::tasks::format_due;
use atende::domain::{Role, Scope, TenantId};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::engine_test;
use crate::events::{browser_stream, Item};
use crate::support::TestApp;
use crate::timed_rules::ticket_of;
use crate::webhooks::{allow_private, api, connect, inbound_text, subscribe, Receiver};

const HOUR: i64 = 3_600_000;

/// A due time `from_now` ms ahead of the app's clock, typed in the company's zone.
async fn due_in(t: &TestApp, tenant: TenantId, from_now: i64) -> String {
    let tz = tasks::zone(t.app.db.reader(), tenant).await.unwrap();
    format_due(tz, t.app.clock.now_ms() + from_now)
}

/// A ticket of `tenant` from a customer's message.
async fn a_ticket(t: &TestApp, tenant: TenantId, pnid: &str, phone: &str) -> i64 {
    let conn = connect(t, tenant, pnid).await;
    inbound_text(t, conn, pnid, phone, &format!("wamid.{phone}"), "Preciso de ajuda").await;
    ticket_of(t, phone).await.0
}

fn ids(body: &Value) -> Vec<i64> {
    body["data"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect()
}

engine_test!(tasks_are_created_listed_filtered_and_checked_through_the_api, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana.tarefas@demo.local", Role::Agent, "senha-da-ana-1").await;
    let bia = t.create_user(demo, "bia.tarefas@demo.local", Role::Agent, "senha-da-bia-1").await;
    let token = t.token(demo, &[Scope::Read, Scope::Write]).await;
    let ticket = a_ticket(&t, demo, "155000917001", "5511911150001").await;
    let tomorrow = due_in(&t, demo, 24 * HOUR).await;
    let (status, first) = api(
        &t,
        "POST",
        "/tasks",
        &token,
        Some(json!({ "title": "  Ligar para a Maria  ", "description": "Orçamento", "due": tomorrow,
            "remind_before_minutes": 15, "assignee_id": ana.id.0, "ticket_id": ticket })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["title"], "Ligar para a Maria");
    assert_eq!(first["status"], "todo");
    assert_eq!(first["due_local"], tomorrow.as_str());
    assert_eq!(first["overdue"], false);
    assert_eq!(first["creator_id"], Value::Null, "a token created it");
    let contact = first["contact_id"].as_i64().expect("the ticket's contact is linked");
    let first_id = first["id"].as_i64().unwrap();
    let (status, late) = api(
        &t,
        "POST",
        "/tasks",
        &token,
        Some(json!({ "title": "Boleto", "due": due_in(&t, demo, -HOUR).await, "assignee_id": bia.id.0 })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{late}");
    assert_eq!(late["overdue"], true);
    let late_id = late["id"].as_i64().unwrap();

    let list = |q: String| {
        let token = token.clone();
        let t = &t;
        async move { api(t, "GET", &format!("/tasks{q}"), &token, None).await }
    };
    let (_, all) = list(String::new()).await;
    assert_eq!(ids(&all), vec![first_id, late_id]);
    assert_eq!(ids(&list(format!("?assignee_id={}", ana.id.0)).await.1), vec![first_id]);
    assert_eq!(ids(&list(format!("?ticket_id={ticket}")).await.1), vec![first_id]);
    assert_eq!(ids(&list(format!("?contact_id={contact}")).await.1), vec![first_id]);
    let now = atende::http::api::timestamp(t.app.clock.now_ms());
    assert_eq!(ids(&list(format!("?due_before={}", now.replace('+', "%2B"))).await.1), vec![late_id]);
    let (_, page) = list("?limit=1".into()).await;
    assert_eq!(ids(&page), vec![first_id]);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(ids(&list(format!("?limit=1&cursor={cursor}")).await.1), vec![late_id]);

    // Status moves, comments, and the status filter.
    let (status, done) =
        api(&t, "PATCH", &format!("/tasks/{late_id}"), &token, Some(json!({ "status": "done" }))).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "done");
    assert!(done["completed_at"].is_string());
    assert_eq!(done["overdue"], false, "a done task is not overdue");
    assert_eq!(ids(&list("?status=done".into()).await.1), vec![late_id]);
    assert_eq!(ids(&list("?status=open".into()).await.1), vec![first_id]);
    let (status, c) = api(
        &t,
        "POST",
        &format!("/tasks/{first_id}/comments"),
        &token,
        Some(json!({ "body": "Liguei, sem resposta" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let (_, comments) = api(&t, "GET", &format!("/tasks/{first_id}/comments"), &token, None).await;
    assert_eq!(comments["data"][0]["body"], "Liguei, sem resposta");
    // A PATCH of one field keeps the others.
    let (_, renamed) =
        api(&t, "PATCH", &format!("/tasks/{first_id}"), &token, Some(json!({ "title": "Ligar de novo" }))).await;
    assert_eq!(renamed["title"], "Ligar de novo");
    assert_eq!(renamed["due_local"], tomorrow.as_str());
    assert_eq!(renamed["ticket_id"], ticket);

    // Bad input: 4xx with stable codes, nothing written.
    let before = t.count("tasks", "1 = 1").await;
    let bad = [
        (json!({ "title": "  ", "due": tomorrow, "assignee_id": ana.id.0 }), "invalid_title"),
        (json!({ "title": "x".repeat(201), "due": tomorrow, "assignee_id": ana.id.0 }), "invalid_title"),
        (json!({ "title": "a", "due": "amanhã", "assignee_id": ana.id.0 }), "invalid_due"),
        (json!({ "title": "a", "due": "20266-01-01T10:00", "assignee_id": ana.id.0 }), "invalid_due"),
        (
            json!({ "title": "a", "due": tomorrow, "assignee_id": ana.id.0, "remind_before_minutes": -5 }),
            "invalid_remind_before",
        ),
        (json!({ "title": "a", "due": tomorrow }), "unknown_assignee"),
        (json!({ "title": "a", "due": tomorrow, "assignee_id": 999_999 }), "unknown_assignee"),
        (json!({ "title": "a", "due": tomorrow, "assignee_id": ana.id.0, "ticket_id": 999_999 }), "unknown_ticket"),
        (json!({ "title": "a", "due": tomorrow, "assignee_id": ana.id.0, "contact_id": -1 }), "unknown_contact"),
        (json!({ "title": "a", "due": tomorrow, "assignee_id": ana.id.0, "colour": "x" }), "invalid_body"),
    ];
    for (body, code) in bad {
        let (status, answer) = api(&t, "POST", "/tasks", &token, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}");
    }
    let (status, answer) =
        api(&t, "PATCH", &format!("/tasks/{first_id}"), &token, Some(json!({ "status": "closed" }))).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_task_status"))
    );
    let (status, answer) =
        api(&t, "POST", &format!("/tasks/{first_id}/comments"), &token, Some(json!({ "body": " " }))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_comment")));
    assert_eq!(list("?due_before=ontem".into()).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(list("?limit=0".into()).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(list("?status=nope".into()).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(list("?cursor=zzz".into()).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(api(&t, "GET", "/tasks/abc", &token, None).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(t.count("tasks", "1 = 1").await, before);

    // A read-only token reads but does not write; DELETE removes the task and its comments.
    let reader = t.token(demo, &[Scope::Read]).await;
    assert_eq!(api(&t, "GET", &format!("/tasks/{first_id}"), &reader, None).await.0, StatusCode::OK);
    assert_eq!(api(&t, "DELETE", &format!("/tasks/{first_id}"), &reader, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api(&t, "DELETE", &format!("/tasks/{first_id}"), &token, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api(&t, "GET", &format!("/tasks/{first_id}"), &token, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(t.count("task_comments", &format!("task_id = {first_id}")).await, 0);
    t.stop().await;
});

engine_test!(agents_see_their_tasks_and_those_of_tickets_they_see_supervisors_see_all, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana.ver@demo.local", Role::Agent, "senha-da-ana-1").await;
    let bia = t.create_user(demo, "bia.ver@demo.local", Role::Agent, "senha-da-bia-1").await;
    let carla = t.create_user(demo, "carla.ver@demo.local", Role::Supervisor, "senha-da-carla-1").await;
    let ticket = a_ticket(&t, demo, "155000917002", "5511911150002").await;
    // The ticket is Bia's: open and assigned to her, so Ana may not see it.
    sqlx::query("UPDATE tickets SET status = 'open', assignee_id = $1 WHERE id = $2")
        .bind(bia.id.0)
        .bind(ticket)
        .execute(t.app.db.writer())
        .await
        .unwrap();
    let (ana_a, bia_a, carla_a) = (Actor::User(ana.clone()), Actor::User(bia.clone()), Actor::User(carla.clone()));
    let due = due_in(&t, demo, 2 * HOUR).await;
    let input = |title: &str, assignee: i64, ticket_id: Option<i64>| TaskInput {
        title: title.into(),
        due: due.clone(),
        assignee_id: Some(assignee),
        ticket_id,
        ..TaskInput::default()
    };
    let own = tasks::create(&t.app, &ana_a, demo, input("Minha", ana.id.0, None)).await.unwrap();
    assert_eq!(own.creator_id, Some(ana.id.0));
    let delegated = tasks::create(&t.app, &ana_a, demo, input("Para a Carla", carla.id.0, None)).await.unwrap();
    let of_ticket = tasks::create(&t.app, &carla_a, demo, input("Do ticket", carla.id.0, Some(ticket))).await.unwrap();
    let private = tasks::create(&t.app, &carla_a, demo, input("Da Carla", carla.id.0, None)).await.unwrap();
    let for_ana = tasks::create(&t.app, &carla_a, demo, input("Para a Ana", ana.id.0, Some(ticket))).await.unwrap();
    // An agent cannot tie a task to a ticket they may not see.
    let refused = tasks::create(&t.app, &ana_a, demo, input("x", ana.id.0, Some(ticket))).await.unwrap_err();
    assert_eq!(refused.code(), "unknown_ticket");

    let seen = |actor: Actor| {
        let t = &t;
        async move {
            let q = TaskQuery { limit: 100, ..TaskQuery::default() };
            let mut ids: Vec<i64> = tasks::list(&t.app, &actor, demo, &q).await.unwrap().iter().map(|k| k.id).collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(seen(ana_a.clone()).await, vec![own.id, delegated.id, for_ana.id], "hers and the one she created");
    assert_eq!(seen(bia_a.clone()).await, vec![of_ticket.id, for_ana.id], "the tasks of her ticket");
    assert_eq!(seen(carla_a.clone()).await, vec![own.id, delegated.id, of_ticket.id, private.id, for_ana.id]);
    // Ana edits her task though its ticket is Bia's: the link stays.
    let edit = TaskInput { title: "Para a Ana, editada".into(), ..input("", ana.id.0, Some(ticket)) };
    let edited = tasks::update(&t.app, &ana_a, demo, for_ana.id, edit).await.unwrap();
    assert_eq!((edited.title.as_str(), edited.ticket_id), ("Para a Ana, editada", Some(ticket)));
    for (actor, id) in [(&ana_a, of_ticket.id), (&ana_a, private.id), (&bia_a, own.id)] {
        assert_eq!(tasks::get(&t.app, actor, demo, id).await.unwrap_err().code(), "not_found");
        let status = tasks::set_status(&t.app, actor, demo, id, "done").await.unwrap_err();
        assert_eq!(status.code(), "not_found");
        assert_eq!(tasks::add_comment(&t.app, actor, demo, id, "oi").await.unwrap_err().code(), "not_found");
    }
    // Bia works the ticket's task; only its creator or a supervisor deletes.
    tasks::set_status(&t.app, &bia_a, demo, of_ticket.id, "doing").await.unwrap();
    assert_eq!(tasks::delete(&t.app, &bia_a, demo, of_ticket.id).await.unwrap_err().code(), "forbidden");
    tasks::delete(&t.app, &ana_a, demo, delegated.id).await.unwrap();

    // The pages follow the same rule.
    let ana_web = t.login("ana.ver@demo.local", "senha-da-ana-1", "demo").await;
    let html = ana_web.get(t.url("/tasks?view=team&status=all")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Minha") && !html.contains("Do ticket") && !html.contains("Da Carla"), "{html}");
    let answer = ana_web.get(t.url(&format!("/tasks/{}", of_ticket.id))).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let bia_web = t.login("bia.ver@demo.local", "senha-da-bia-1", "demo").await;
    let panel = bia_web.get(t.url(&format!("/inbox/{ticket}?part=panel"))).send().await.unwrap().text().await.unwrap();
    assert!(panel.contains("Do ticket") && panel.contains(&format!("/tasks/new?ticket={ticket}")), "{panel}");
    // "Nova tarefa" from the ticket: the form comes with the ticket and its contact.
    let form = bia_web.get(t.url(&format!("/tasks/new?ticket={ticket}"))).send().await.unwrap().text().await.unwrap();
    let contact: i64 = sqlx::query_scalar("SELECT contact_id FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap();
    assert!(form.contains(&format!("name=\"ticket\" value=\"{ticket}\"")), "{form}");
    assert!(form.contains(&format!("name=\"contact\" value=\"{contact}\"")), "{form}");
    let contact_page = bia_web.get(t.url(&format!("/contacts/{contact}"))).send().await.unwrap().text().await.unwrap();
    assert!(contact_page.contains("Do ticket"), "the contact page lists the contact's tasks");
    t.stop().await;
});

engine_test!(another_companys_task_is_not_found_in_the_api_and_the_pages, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let other = t.create_tenant("tarefas-outra").await;
    t.create_user(other, "admin@outra.local", Role::Admin, "senha-da-outra-1").await;
    let other_token = t.token(other, &[Scope::Read, Scope::Write]).await;
    let token = t.token(demo, &[Scope::Read, Scope::Write]).await;
    let admin = t.create_user(demo, "dono@demo.local", Role::Admin, "senha-do-dono-1").await;
    let due = due_in(&t, demo, HOUR).await;
    let (status, task) = api(
        &t,
        "POST",
        "/tasks",
        &token,
        Some(json!({ "title": "Segredo da Demo", "due": due, "assignee_id": admin.id.0 })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = task["id"].as_i64().unwrap();
    for (method, path, body) in [
        ("GET", format!("/tasks/{id}"), None),
        ("PATCH", format!("/tasks/{id}"), Some(json!({ "status": "done" }))),
        ("DELETE", format!("/tasks/{id}"), None),
        ("GET", format!("/tasks/{id}/comments"), None),
        ("POST", format!("/tasks/{id}/comments"), Some(json!({ "body": "oi" }))),
    ] {
        let (status, answer) = api(&t, method, &path, &other_token, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
    }
    let (_, listed) = api(&t, "GET", "/tasks", &other_token, None).await;
    assert_eq!(ids(&listed), Vec::<i64>::new());
    // Another company's person cannot be the assignee either.
    let (status, answer) =
        api(&t, "POST", "/tasks", &other_token, Some(json!({ "title": "x", "due": due, "assignee_id": admin.id.0 })))
            .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_assignee"))
    );
    let web = t.login("admin@outra.local", "senha-da-outra-1", "tarefas-outra").await;
    assert_eq!(web.get(t.url(&format!("/tasks/{id}"))).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let csrf = t.csrf(&web).await;
    let post = web
        .post(t.url(&format!("/tasks/{id}/status")))
        .form(&[("csrf", csrf.as_str()), ("status", "done")])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
    let html = web.get(t.url("/tasks?view=team&status=all")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("Segredo da Demo"));
    assert_eq!(t.count("tasks", &format!("id = {id} AND status = 'todo'")).await, 1, "nothing changed");
    t.stop().await;
});

engine_test!(reminders_fire_once_ahead_and_once_at_the_due_time_on_the_assignees_stream, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana.lembra@demo.local", Role::Agent, "senha-da-ana-1").await;
    t.create_user(demo, "bia.lembra@demo.local", Role::Agent, "senha-da-bia-1").await;
    let ana_web = t.login("ana.lembra@demo.local", "senha-da-ana-1", "demo").await;
    let bia_web = t.login("bia.lembra@demo.local", "senha-da-bia-1", "demo").await;
    let mut ana_stream = browser_stream(&t, &ana_web).await;
    let mut bia_stream = browser_stream(&t, &bia_web).await;
    let actor = Actor::User(ana.clone());
    let input = |title: &str, due: String, before: i64| TaskInput {
        title: title.into(),
        due,
        remind_before_minutes: before,
        ..TaskInput::default()
    };
    let task =
        tasks::create(&t.app, &actor, demo, input("Retornar à Maria", due_in(&t, demo, HOUR).await, 15)).await.unwrap();
    let finished =
        tasks::create(&t.app, &actor, demo, input("Já feita", due_in(&t, demo, HOUR).await, 15)).await.unwrap();
    tasks::set_status(&t.app, &actor, demo, finished.id, "done").await.unwrap();
    // Created past due: no reminder for it.
    tasks::create(&t.app, &actor, demo, input("Atrasada", due_in(&t, demo, -HOUR).await, 0)).await.unwrap();
    let mine = format!("kind = 'task.reminder' AND audience = 'user:{}'", ana.id.0);
    let reminders = || t.count("events", &mine);

    tasks::remind_due(&t.app).await.unwrap();
    assert_eq!(reminders().await, 0, "nothing is due yet");
    t.app.clock.advance(Duration::from_secs(46 * 60));
    tasks::remind_due(&t.app).await.unwrap();
    tasks::remind_due(&t.app).await.unwrap();
    assert_eq!(reminders().await, 1, "the early reminder, once");
    let seen = ana_stream.events_until("task.reminder").await;
    let early: Value = serde_json::from_str(&seen.last().unwrap().data).unwrap();
    assert_eq!((early["task_id"].as_i64(), early["stage"].as_str()), (Some(task.id), Some("before")));
    assert_eq!(early["title"], "Retornar à Maria");

    t.app.clock.advance(Duration::from_secs(15 * 60));
    tasks::remind_due(&t.app).await.unwrap();
    tasks::remind_due(&t.app).await.unwrap();
    assert_eq!(reminders().await, 2, "the due-time reminder, once");
    let seen = ana_stream.events_until("task.reminder").await;
    let due: Value = serde_json::from_str(&seen.last().unwrap().data).unwrap();
    assert_eq!((due["task_id"].as_i64(), due["stage"].as_str()), (Some(task.id), Some("due")));
    t.app.clock.advance(Duration::from_secs(3600));
    tasks::remind_due(&t.app).await.unwrap();
    assert_eq!(reminders().await, 2, "never again, and never for the done or the late task");

    // A new due time reminds again, at the new time only.
    let edit = input("Retornar à Maria", due_in(&t, demo, 30 * 60_000).await, 0);
    tasks::update(&t.app, &actor, demo, task.id, edit).await.unwrap();
    tasks::remind_due(&t.app).await.unwrap();
    assert_eq!(reminders().await, 2);
    t.app.clock.advance(Duration::from_secs(31 * 60));
    tasks::remind_due(&t.app).await.unwrap();
    assert_eq!(reminders().await, 3);
    // Nobody else's stream carried them.
    let items = bia_stream.collect_for(Duration::from_millis(500)).await;
    assert!(
        !items.iter().any(|i| matches!(i, Item::Event(e) if e.kind().starts_with("task."))),
        "Bia got Ana's reminders: {items:?}"
    );
    t.stop().await;
});

engine_test!(task_created_and_completed_go_out_as_webhooks, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let token = t.token(demo, &[Scope::Read, Scope::Write]).await;
    allow_private(&t, demo, true).await;
    let receiver = Receiver::start().await;
    subscribe(&t, &token, &receiver, &["task.created", "task.completed"]).await;
    let ana = t.create_user(demo, "ana.hook@demo.local", Role::Agent, "senha-da-ana-1").await;
    let due = due_in(&t, demo, HOUR).await;
    let (_, task) = api(
        &t,
        "POST",
        "/tasks",
        &token,
        Some(json!({ "title": "Enviar proposta", "due": due, "assignee_id": ana.id.0 })),
    )
    .await;
    let id = task["id"].as_i64().unwrap();
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].body["event"], "task.created", "{:?}", got[0].body);
    assert!(got[0].signature_valid);
    assert_eq!(got[0].body["data"]["task"]["title"], "Enviar proposta", "{:?}", got[0].body);
    api(&t, "PATCH", &format!("/tasks/{id}"), &token, Some(json!({ "status": "doing" }))).await;
    api(&t, "PATCH", &format!("/tasks/{id}"), &token, Some(json!({ "status": "done" }))).await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].body["event"], "task.completed");
    assert_eq!(got[1].body["data"]["task_id"], id);
    // Done again: no second completion.
    api(&t, "PATCH", &format!("/tasks/{id}"), &token, Some(json!({ "status": "done" }))).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.count(), 2);
    assert_eq!(t.count("events", "kind = 'task.completed'").await, 1);
    t.stop().await;
});

engine_test!(a_task_follows_its_contact_into_a_merge_and_is_unlinked_when_it_is_deleted, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana.merge@demo.local", Role::Agent, "senha-da-ana-1").await;
    let token = t.token(demo, &[Scope::Read, Scope::Write]).await;
    let contact = |phone: &'static str| {
        let (t, token) = (&t, token.clone());
        async move {
            let (status, c) =
                api(t, "POST", "/contacts", &token, Some(json!({ "name": "Cliente", "phone": phone }))).await;
            assert_eq!(status, StatusCode::CREATED, "{c}");
            c["id"].as_i64().unwrap()
        }
    };
    let (kept, merged, deleted) =
        (contact("+5511911190001").await, contact("+5511911190002").await, contact("+5511911190003").await);
    let due = due_in(&t, demo, 24 * HOUR).await;
    let task = |c: i64| {
        let (t, token, due) = (&t, token.clone(), due.clone());
        async move {
            let (status, v) = api(
                t,
                "POST",
                "/tasks",
                &token,
                Some(json!({ "title": "Retornar", "due": due, "contact_id": c, "assignee_id": ana.id.0 })),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{v}");
            v["id"].as_i64().unwrap()
        }
    };
    let (on_merged, on_deleted) = (task(merged).await, task(deleted).await);
    let (status, _) =
        api(&t, "POST", &format!("/contacts/{kept}/merge"), &token, Some(json!({ "from": merged }))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, v) = api(&t, "GET", &format!("/tasks/{on_merged}"), &token, None).await;
    assert_eq!(v["contact_id"], kept, "the task moved with the merge");
    let (status, _) = api(&t, "DELETE", &format!("/contacts/{deleted}"), &token, None).await;
    assert!(status.is_success(), "{status}");
    let (_, v) = api(&t, "GET", &format!("/tasks/{on_deleted}"), &token, None).await;
    assert_eq!(v["contact_id"], Value::Null, "the task stays, unlinked");
});
