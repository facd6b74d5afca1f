//! The kanban board: supervisors choose the lanes (tags), cards move between them — the lane
//! tag swapped, the move in the ticket's history and published live — under the inbox's
//! visibility rule; closed tickets leave the board; each column pages on its own; another
//! company sees nothing. On SQLite and PostgreSQL.

use atende::actions::inbox::{self, Farewell};
use atende::actions::{contacts, Actor};
use atende::domain::{Role, TenantId};

use crate::engine_test;
use crate::support::{extract_csrf, TestApp};
use crate::vault::{connect, APP_SECRET};

async fn lane(t: &TestApp, tenant: TenantId, name: &str) -> i64 {
    contacts::create_tag(&t.app, &Actor::Operator, tenant, name, "#2563eb").await.unwrap().id
}

/// Posts a form with the page's CSRF token; returns the status and body.
async fn post(t: &TestApp, c: &reqwest::Client, path: &str, fields: &[(&str, String)]) -> (u16, String) {
    let csrf = t.csrf(c).await;
    let mut form = vec![("csrf", csrf)];
    form.extend(fields.iter().map(|(k, v)| (*k, v.clone())));
    let res = c.post(t.url(path)).form(&form).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn get(t: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let res = c.get(t.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn lanes_of(t: &TestApp, ticket: i64) -> Vec<i64> {
    let sql = format!(
        "SELECT g.id FROM ticket_tags x JOIN tags g ON g.id = x.tag_id WHERE x.ticket_id = {ticket}
         AND g.lane_position IS NOT NULL ORDER BY g.id"
    );
    sqlx::query_as::<_, (i64,)>(&sql).fetch_all(t.app.db.reader()).await.unwrap().into_iter().map(|r| r.0).collect()
}

engine_test!(cards_move_between_lanes_with_history_and_live_events_under_the_inbox_rule, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana.kanban@demo.local", Role::Agent, "senha-da-ana-1").await;
    let bia = t.create_user(demo, "bia.kanban@demo.local", Role::Agent, "senha-da-bia-1").await;
    let novo = lane(&t, demo, "Novo contato").await;
    let proposta = lane(&t, demo, "Proposta").await;
    let plain = lane(&t, demo, "VIP").await;
    let other = t.create_tenant("kanban-outra").await;
    let foreign = lane(&t, other, "Deles").await;
    t.create_user(other, "x@kanban-outra.local", Role::Admin, "senha-do-x-123").await;

    // Lanes: supervisors choose them; an agent may not; another company's tag is unknown here.
    let admin = t.login_demo_admin().await;
    let ana_web = t.login("ana.kanban@demo.local", "senha-da-ana-1", "demo").await;
    let set = |c: reqwest::Client, tag: i64, pos: &'static str| {
        let t = &t;
        async move { post(t, &c, "/kanban/lanes", &[("tag_id", tag.to_string()), ("position", pos.into())]).await.0 }
    };
    assert_eq!(set(ana_web.clone(), novo, "1").await, 403);
    assert_eq!(set(admin.clone(), novo, "1").await, 303);
    assert_eq!(set(admin.clone(), proposta, "2").await, 303);
    assert_eq!(set(admin.clone(), foreign, "3").await, 422, "another company's tag");
    assert_eq!(set(admin.clone(), plain, "1000").await, 422, "positions run 1-999");
    assert_eq!(t.count("tags", &format!("id = {foreign} AND lane_position IS NOT NULL")).await, 0);
    assert_eq!(t.count("audit_log", "action = 'tag.lane'").await, 2);

    let conn = connect(&t, demo, "PNKANBAN").await;
    t.deliver_texts(conn, "PNKANBAN", APP_SECRET, &[("5511911160001", "wamid.K1", "Quero um orçamento")]).await;
    t.deliver_texts(conn, "PNKANBAN", APP_SECRET, &[("5511911160002", "wamid.K2", "Outro assunto")]).await;
    let ticket = |phone: &'static str| {
        let t = &t;
        async move {
            crate::timed_rules::eventually("the ticket", || async {
                let sql = format!(
                    "SELECT t.id FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE c.phone = '{phone}'"
                );
                sqlx::query_as::<_, (i64,)>(&sql).fetch_optional(t.app.db.reader()).await.unwrap().map(|r| r.0)
            })
            .await
        }
    };
    let (mine, bias) = (ticket("5511911160001").await, ticket("5511911160002").await);
    inbox::assign(&t.app, &Actor::Operator, demo, mine, ana.id).await.unwrap();
    inbox::assign(&t.app, &Actor::Operator, demo, bias, bia.id).await.unwrap();

    // Ana's board: her ticket in "Sem etapa", Bia's nowhere; the lanes as columns in order.
    let (status, board) = get(&t, &ana_web, "/kanban").await;
    assert_eq!(status, 200);
    assert!(board.contains(&format!("data-ticket=\"{mine}\"")), "her card");
    assert!(!board.contains(&format!("data-ticket=\"{bias}\"")), "not Bia's");
    let (n, p) = (board.find("Novo contato").unwrap(), board.find("Proposta").unwrap());
    assert!(board.find("Sem etapa").unwrap() < n && n < p, "columns in lane order");
    assert!(!board.contains("Colunas do quadro"), "agents do not manage lanes");

    // A move: the lane tag on, the history line, one live event.
    let moves = || t.count("events", "kind = 'ticket.updated' AND data LIKE '%\"change\":\"lane\"%'");
    let go = |c: reqwest::Client, id: i64, to: String| {
        let t = &t;
        async move { post(t, &c, "/kanban/move", &[("ticket_id", id.to_string()), ("lane", to)]).await }
    };
    assert_eq!(go(ana_web.clone(), mine, novo.to_string()).await.0, 303);
    assert_eq!(lanes_of(&t, mine).await, vec![novo]);
    assert_eq!(moves().await, 1);
    assert_eq!(go(ana_web.clone(), mine, proposta.to_string()).await.0, 303);
    assert_eq!(lanes_of(&t, mine).await, vec![proposta], "the old lane is left");
    assert_eq!(go(ana_web.clone(), mine, proposta.to_string()).await.0, 303);
    assert_eq!(moves().await, 2, "moving to where it is tells no one");
    assert_eq!(t.count("ticket_events", &format!("ticket_id = {mine} AND kind = 'lane'")).await, 2);
    let (_, page) = get(&t, &admin, &format!("/inbox/{mine}")).await;
    assert!(
        page.contains("Etapa alterada") && page.contains("Novo contato → Proposta"),
        "the history names both stages"
    );
    let (_, column) = get(&t, &ana_web, &format!("/kanban/column?lane={proposta}")).await;
    assert!(column.contains(&format!("data-ticket=\"{mine}\"")));
    let (status, card) = get(&t, &ana_web, &format!("/kanban/cards/{mine}")).await;
    assert_eq!(status, 200);
    assert!(card.contains(&format!("data-lane=\"{proposta}\"")));

    // Refusals: an ordinary tag is no lane, Bia's ticket is not Ana's to see, nothing changes.
    let (status, body) = go(ana_web.clone(), mine, plain.to_string()).await;
    assert_eq!(status, 422);
    assert!(body.contains("não é uma coluna"), "the reason in pt-BR");
    assert_eq!(go(ana_web.clone(), bias, novo.to_string()).await.0, 404);
    assert_eq!(get(&t, &ana_web, &format!("/kanban/cards/{bias}")).await.0, 404);
    assert!(lanes_of(&t, bias).await.is_empty());
    let bia_web = t.login("bia.kanban@demo.local", "senha-da-bia-1", "demo").await;
    assert_eq!(go(bia_web.clone(), mine, novo.to_string()).await.0, 404);

    // Another company: nothing of ours is there.
    let stranger = t.login("x@kanban-outra.local", "senha-do-x-123", "kanban-outra").await;
    assert_eq!(get(&t, &stranger, &format!("/kanban/cards/{mine}")).await.0, 404);
    assert_eq!(go(stranger.clone(), mine, foreign.to_string()).await.0, 404);
    assert_eq!(get(&t, &stranger, &format!("/kanban/column?lane={proposta}")).await.0, 422);
    let (_, theirs) = get(&t, &stranger, "/kanban").await;
    assert!(!theirs.contains("Proposta") && !theirs.contains("Novo contato"));
    assert_eq!(lanes_of(&t, mine).await, vec![proposta]);

    // Back to no lane; then closed: off the board, and no more moves.
    assert_eq!(go(ana_web.clone(), mine, "0".into()).await.0, 303);
    assert!(lanes_of(&t, mine).await.is_empty());
    inbox::close(&t.app, &Actor::User(ana.clone()), demo, mine, Farewell::None).await.unwrap();
    assert_eq!(get(&t, &ana_web, &format!("/kanban/cards/{mine}")).await.0, 404);
    let (status, body) = go(ana_web.clone(), mine, novo.to_string()).await;
    assert_eq!(status, 409);
    assert!(body.contains("finalizado"));
    assert!(!get(&t, &ana_web, "/kanban").await.1.contains(&format!("data-ticket=\"{mine}\"")));

    // Taking a lane off the board keeps the tag and its uses.
    let csrf = extract_csrf(&get(&t, &admin, "/kanban").await.1);
    let res = admin
        .post(t.url("/kanban/lanes"))
        .form(&[("csrf", csrf.as_str()), ("tag_id", &novo.to_string()), ("position", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(t.count("tags", &format!("id = {novo} AND lane_position IS NULL")).await, 1);
});

engine_test!(each_column_pages_on_its_own, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let proposta = lane(&t, demo, "Proposta").await;
    atende::actions::kanban::set_lane(&t.app, &Actor::Operator, demo, proposta, Some(1)).await.unwrap();
    let conn = connect(&t, demo, "PNKANBAN2").await;
    let phones: Vec<String> = (0..35).map(|i| format!("55119111700{i:02}")).collect();
    let ids: Vec<String> = (0..35).map(|i| format!("wamid.KP{i}")).collect();
    let msgs: Vec<(&str, &str, &str)> =
        phones.iter().zip(&ids).map(|(p, id)| (p.as_str(), id.as_str(), "Oi")).collect();
    t.deliver_texts(conn, "PNKANBAN2", APP_SECRET, &msgs).await;
    let ours = format!("connection_id = {conn}");
    crate::timed_rules::eventually("35 tickets", || async { (t.count("tickets", &ours).await == 35).then_some(()) })
        .await;
    let sql = format!("SELECT id FROM tickets WHERE {ours} ORDER BY id LIMIT 1");
    let first: i64 = sqlx::Row::get(&sqlx::query(&sql).fetch_one(t.app.db.reader()).await.unwrap(), 0);
    // Only these tickets are open: the demo's own are closed first.
    sqlx::query(&format!("UPDATE tickets SET status = 'closed' WHERE NOT ({ours})"))
        .execute(t.app.db.writer())
        .await
        .unwrap();
    atende::actions::kanban::move_ticket(&t.app, &Actor::Operator, demo, first, Some(proposta)).await.unwrap();

    let admin = t.login_demo_admin().await;
    let board = get(&t, &admin, "/kanban").await.1.replace("&#38;", "&");
    // "Sem etapa" shows its first 30 of 34 and a "more" link; "Proposta" its one card.
    assert_eq!(board.matches("class=\"kanban-card\"").count(), 31);
    let more = board.split("href=\"/kanban/column?lane=0&after=").nth(1).expect("more in the first column");
    let after = more.split('"').next().unwrap();
    assert!(!board.contains(&format!("lane={proposta}&after")), "the short column has no more");
    let (status, rest) = get(&t, &admin, &format!("/kanban/column?lane=0&after={after}")).await;
    assert_eq!(status, 200);
    assert_eq!(rest.matches("class=\"kanban-card\"").count(), 4);
    assert!(!rest.contains(&format!("data-ticket=\"{first}\"")), "the moved card is in its own column");
    assert!(!rest.contains("data-more"), "the last page");
    assert_eq!(get(&t, &admin, "/kanban/column?lane=abc").await.0, 422);
});
