//! Carteira: a contact's owner agent gets the contact's new and reopened tickets while online
//! and not away (past the chatbot), set through the API (checked before anything is written),
//! refused to agents on the page, imported from a CSV column, and filtered as "Minha carteira".
//! On SQLite and PostgreSQL.

use atende::actions::inbox::{self, Farewell};
use atende::actions::{contact_csv, departments, settings, Actor};
use atende::domain::{Role, Scope};
use serde_json::{json, Value};
use wa_sim::CustomerMessage;

use crate::engine_test;
use crate::support::TestApp;
use crate::timed_rules::eventually;

/// The newest ticket of `phone` newer than `after` (and its status and assignee).
async fn next_ticket(t: &TestApp, phone: &str, after: i64) -> (i64, String, Option<i64>) {
    eventually("a ticket", || async {
        sqlx::query_as::<_, (i64, String, Option<i64>)>(
            "SELECT t.id, t.status, t.assignee_id FROM tickets t JOIN contacts c ON c.id = t.contact_id
             WHERE c.phone = $1 AND t.id > $2 ORDER BY t.id DESC",
        )
        .bind(phone)
        .bind(after)
        .fetch_optional(t.app.db.reader())
        .await
        .unwrap()
    })
    .await
}

/// The ticket's state once the customer's `n`-th message is in it.
async fn after_message(t: &TestApp, ticket: i64, n: i64) -> (String, Option<i64>) {
    eventually("the message in the ticket", || async {
        let count = t.count("messages", &format!("ticket_id = {ticket} AND direction = 'in'")).await;
        if count < n {
            return None;
        }
        sqlx::query_as::<_, (String, Option<i64>)>("SELECT status, assignee_id FROM tickets WHERE id = $1")
            .bind(ticket)
            .fetch_optional(t.app.db.reader())
            .await
            .unwrap()
    })
    .await
}

async fn owner_of(t: &TestApp, contact: i64) -> Option<i64> {
    sqlx::query_as::<_, (Option<i64>,)>("SELECT owner_id FROM contacts WHERE id = $1")
        .bind(contact)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap()
        .0
}

engine_test!(a_wallet_contact_goes_to_its_online_owner_and_nobody_else, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana.carteira@demo.local", Role::Agent, "senha-da-ana-1").await;
    let bia = t.create_user(demo, "bia.carteira@demo.local", Role::Agent, "senha-da-bia-1").await;
    let other = t.create_tenant("carteira-outra").await;
    let stranger = t.create_user(other, "x@outra.local", Role::Admin, "senha-do-x-123").await;
    let token = t.token(demo, &[Scope::Read, Scope::Write]).await;
    let api = reqwest::Client::new();
    let phone = "5511911140001";
    let created: Value = api
        .post(t.url("/api/v1/contacts"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Carla", "phone": format!("+{phone}") }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let contact = created["id"].as_i64().expect("a contact id");
    assert_eq!(created["owner_id"], Value::Null);
    let patch =
        |body: Value| api.patch(t.url(&format!("/api/v1/contacts/{contact}"))).bearer_auth(&token).json(&body).send();

    // Another company's person is unknown here, and nothing of the request is written.
    let res = patch(json!({ "name": "Mudou", "owner_id": stranger.id.0 })).await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "unknown_owner");
    let name: (String,) = sqlx::query_as("SELECT name FROM contacts WHERE id = $1")
        .bind(contact)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap();
    assert_eq!(name.0, "Carla", "no partial write");
    let res = patch(json!({ "owner_id": ana.id.0 })).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["owner_id"], ana.id.0);
    assert_eq!(t.count("audit_log", &format!("action = 'contact.owner' AND subject = 'contact:{contact}'")).await, 1);

    // An agent sees whose wallet it is and may not change it.
    let bia_web = t.login("bia.carteira@demo.local", "senha-da-bia-1", "demo").await;
    let page = bia_web.get(t.url(&format!("/contacts/{contact}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Carteira") && page.contains(&ana.name), "the owner is shown");
    let csrf = crate::support::extract_csrf(&page);
    let form = [("csrf", csrf.as_str()), ("owner", &bia.id.0.to_string())];
    let res = bia_web.post(t.url(&format!("/contacts/{contact}/owner"))).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(owner_of(&t, contact).await, Some(ana.id.0));

    // Ana online: the customer's new ticket is hers at once; another customer's is nobody's.
    settings::touch_presence(&t.app, &ana).await.unwrap();
    let (sim, _) = t.simulator(demo).await;
    sim.customer_sends(phone, "Carla", CustomerMessage::Text("Oi, sou eu".into())).await.unwrap();
    let (ticket, status, assignee) = next_ticket(&t, phone, 0).await;
    assert_eq!((status.as_str(), assignee), ("open", Some(ana.id.0)));
    let wallet_events = format!("ticket_id = {ticket} AND kind = 'assigned' AND data LIKE '%wallet%'");
    assert_eq!(t.count("ticket_events", &wallet_events).await, 1);
    let stranger_phone = "5511911140002";
    sim.customer_sends(stranger_phone, "Davi", CustomerMessage::Text("Olá".into())).await.unwrap();
    let (strangers, _, nobody) = next_ticket(&t, stranger_phone, 0).await;
    assert_eq!(nobody, None);

    // "Minha carteira": the admin owns nobody, so their filtered list leaves it out.
    let admin = t.login_demo_admin().await;
    let all = admin.get(t.url("/inbox?tab=all&part=list")).send().await.unwrap().text().await.unwrap();
    let mine = admin.get(t.url("/inbox?tab=all&wallet=1&part=list")).send().await.unwrap().text().await.unwrap();
    let row = format!("data-ticket=\"{ticket}\"");
    assert!(all.contains(&row) && !mine.contains(&row));
    let ana_web = t.login("ana.carteira@demo.local", "senha-da-ana-1", "demo").await;
    let hers = ana_web.get(t.url("/inbox?tab=all&wallet=1&part=list")).send().await.unwrap().text().await.unwrap();
    assert!(hers.contains(&row));
    let listed: Value = api
        .get(t.url(&format!("/api/v1/tickets?wallet_owner_id={}", ana.id.0)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = listed["data"].as_array().unwrap().iter().filter_map(|x| x["id"].as_i64()).collect();
    assert_eq!(ids, [ticket]);

    // A supervisor transferring sees each person's presence.
    let sales = crate::admin_pages::department(&t, demo, "Vendas").await;
    departments::set_member(&t.app, &Actor::Operator, demo, sales, ana.id, true).await.unwrap();
    let transfer_label = |presence: &str| format!(">{} · {presence}</option>", ana.name);
    let panel = admin.get(t.url(&format!("/inbox/{ticket}"))).send().await.unwrap().text().await.unwrap();
    assert!(panel.contains(&transfer_label("Online")), "{panel}");

    // Away, the reopened ticket waits like any other; back, the next reopening is hers again.
    inbox::close(&t.app, &Actor::Operator, demo, ticket, Farewell::None).await.unwrap();
    settings::set_away(&t.app, &ana, true).await.unwrap();
    let panel = admin.get(t.url(&format!("/inbox/{strangers}"))).send().await.unwrap().text().await.unwrap();
    assert!(panel.contains(&transfer_label("Ausente")));
    sim.customer_sends(phone, "Carla", CustomerMessage::Text("Mais uma coisa".into())).await.unwrap();
    assert_eq!(after_message(&t, ticket, 2).await, ("waiting".to_string(), None));
    inbox::close(&t.app, &Actor::Operator, demo, ticket, Farewell::None).await.unwrap();
    settings::set_away(&t.app, &ana, false).await.unwrap();
    sim.customer_sends(phone, "Carla", CustomerMessage::Text("E outra".into())).await.unwrap();
    assert_eq!(after_message(&t, ticket, 3).await, ("open".to_string(), Some(ana.id.0)));
    sim.shutdown().await;
});

engine_test!(a_csv_column_fills_the_wallet_and_an_unknown_owner_rejects_its_row, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana.csv@demo.local", Role::Agent, "senha-da-ana-1").await;
    let other = t.create_tenant("carteira-csv").await;
    t.create_user(other, "fora@outra.local", Role::Agent, "senha-de-fora-1").await;
    let file = "nome;telefone;responsável\nDora;5511911140009;ANA.CSV@demo.local\nEva;5511911140010;fora@outra.local\nFabi;5511911140011;\n";
    let preview = contact_csv::preview(file.as_bytes()).unwrap();
    assert_eq!(preview.guessed[2], contact_csv::ColumnTarget::Owner, "the column is recognised");
    let report = contact_csv::import(&t.app, &Actor::Operator, demo, file.as_bytes(), &preview.guessed).await.unwrap();
    assert_eq!(report.summary.created, 2, "{:?}", report.rejected);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].code, "unknown_owner");
    let db = t.app.db.clone();
    let owner = |phone: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_as::<_, (Option<i64>,)>("SELECT owner_id FROM contacts WHERE phone = $1")
                .bind(phone)
                .fetch_optional(db.reader())
                .await
                .unwrap()
                .map(|r| r.0)
        }
    };
    assert_eq!(owner("5511911140009").await, Some(Some(ana.id.0)), "matched by e-mail, any case");
    assert_eq!(owner("5511911140010").await, None, "the rejected row wrote nothing");
    assert_eq!(owner("5511911140011").await, Some(None), "an empty cell leaves no owner");
});
