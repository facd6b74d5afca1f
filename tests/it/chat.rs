//! Chat interno: one direct conversation per pair; groups managed by their creator and admins;
//! only active members read or write (others and other companies get 404, a deactivated person
//! loses access at once); mentions notify the mentioned member only; a ticket protocol is a link
//! only for a reader who may see the ticket; files pass the inbox's checks; search stays inside
//! one's conversations; unread counts follow reading; "digitando…" is live and never stored.
//! On SQLite and PostgreSQL.

use std::time::Duration;

use atende::actions::chat;
use atende::actions::{ActionError, Actor};
use atende::domain::{Role, TenantId, UserId};
use atende::store::users::User;
use wa_sim::CustomerMessage;

use crate::engine_test;
use crate::support::{extract_csrf, TestApp};
use crate::timed_rules::ticket_of;

pub(crate) const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x08\x00\x00\x00\x08\x08\x02\x00\x00\x00\x4b\x6d\x29\xdc\x00\x00\x00\x11\x49\x44\x41\x54\x78\x9c\x63\xe0\xae\x8a\xc3\x8a\x18\x86\x96\x04\x00\x18\x52\x38\xc1\x8c\xc7\x80\xf0\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

struct People {
    demo: TenantId,
    ana: User,
    bia: User,
    carla: User,
}

async fn people(t: &TestApp) -> People {
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana.chat@demo.local", Role::Agent, "senha-da-ana-1").await;
    let bia = t.create_user(demo, "bia.chat@demo.local", Role::Agent, "senha-da-bia-1").await;
    let carla = t.create_user(demo, "carla.chat@demo.local", Role::Agent, "senha-da-carla-1").await;
    People { demo, ana, bia, carla }
}

fn as_user(u: &User) -> Actor {
    Actor::User(u.clone())
}

async fn admin_of(t: &TestApp, tenant: TenantId) -> User {
    let all = atende::store::users::list(t.app.db.reader(), tenant).await.unwrap();
    all.into_iter().find(|u| u.email == "admin@demo.local").unwrap()
}

fn code(e: ActionError) -> &'static str {
    e.code()
}

async fn status_of(client: &reqwest::Client, url: String) -> (u16, String) {
    let r = client.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A multipart message post as chat.js sends it.
async fn post_message(
    t: &TestApp,
    client: &reqwest::Client,
    id: i64,
    body: &str,
    file: Option<(&str, &str, &[u8])>,
) -> (u16, String) {
    let html = client.get(t.url("/chat")).send().await.unwrap().text().await.unwrap();
    let csrf = extract_csrf(&html);
    let boundary = "----atende-chat-boundary-7MA4YWxkTrZu0gW";
    let mut data = Vec::new();
    for (name, value) in [("csrf", csrf.as_str()), ("body", body)] {
        data.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((filename, mime, bytes)) = file {
        data.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {mime}\r\n\r\n")
                .as_bytes(),
        );
        data.extend_from_slice(bytes);
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let r = client
        .post(t.url(&format!("/chat/{id}/messages")))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .header("x-fragment", "1")
        .body(data)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post_form(t: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> u16 {
    let html = client.get(t.url("/chat")).send().await.unwrap().text().await.unwrap();
    let csrf = extract_csrf(&html);
    let mut form = fields.to_vec();
    form.push(("csrf", csrf.as_str()));
    client.post(t.url(path)).form(&form).send().await.unwrap().status().as_u16()
}

engine_test!(a_direct_conversation_exists_once_per_pair, |t: TestApp| async move {
    let p = people(&t).await;
    let (ana, bia) = (as_user(&p.ana), as_user(&p.bia));
    let first = chat::open_direct(&t.app, &ana, p.demo, p.bia.id).await.unwrap();
    assert_eq!(chat::open_direct(&t.app, &ana, p.demo, p.bia.id).await.unwrap(), first);
    assert_eq!(chat::open_direct(&t.app, &bia, p.demo, p.ana.id).await.unwrap(), first, "either of them");
    assert_eq!(t.count("chat_conversations", "kind = 'direct'").await, 1);
    // The database refuses a second one too (the unique key), not only the action's look-up.
    let key = atende::domain::chat::direct_key(p.ana.id, p.bia.id);
    let again =
        atende::store::chat::insert_conversation(t.app.db.writer(), p.demo, "direct", "", Some(&key), p.ana.id, 1)
            .await;
    assert!(again.is_err(), "a second direct conversation of the pair is refused");
    assert_eq!(code(chat::open_direct(&t.app, &ana, p.demo, p.ana.id).await.unwrap_err()), "chat_self");
    // Someone of another company is nobody here.
    let other = t.create_tenant("outra-chat").await;
    let stranger = t.create_user(other, "zeca@outra.local", Role::Agent, "senha-do-zeca-1").await;
    assert_eq!(code(chat::open_direct(&t.app, &ana, p.demo, stranger.id).await.unwrap_err()), "unknown_agent");
    assert_eq!(
        code(chat::open_direct(&t.app, &as_user(&stranger), other, p.ana.id).await.unwrap_err()),
        "unknown_agent"
    );
    // The page's form leads to the same conversation.
    let web = t.login("carla.chat@demo.local", "senha-da-carla-1", "demo").await;
    let bia_id = p.bia.id.0.to_string();
    assert_eq!(post_form(&t, &web, "/chat/direct", &[("user", &bia_id)]).await, 303);
    assert_eq!(post_form(&t, &web, "/chat/direct", &[("user", &bia_id)]).await, 303);
    assert_eq!(t.count("chat_conversations", "kind = 'direct'").await, 2);
});

engine_test!(a_group_is_managed_by_its_creator_and_admins, |t: TestApp| async move {
    let p = people(&t).await;
    let admin = admin_of(&t, p.demo).await;
    let (ana, bia) = (as_user(&p.ana), as_user(&p.bia));
    let members = [p.bia.id, p.carla.id, admin.id];
    let group = chat::create_group(&t.app, &ana, p.demo, "  Equipe de vendas ", &members).await.unwrap();
    let opened = chat::open(&t.app, &bia, p.demo, group).await.unwrap();
    assert_eq!(opened.title, "Equipe de vendas");
    assert_eq!(opened.members.len(), 4);
    assert!(!opened.can_manage, "a member who did not create it does not manage it");
    assert_eq!(code(chat::create_group(&t.app, &ana, p.demo, "   ", &members).await.unwrap_err()), "invalid_chat_name");

    // Bia may neither rename nor choose members; she may leave.
    assert!(matches!(chat::rename_group(&t.app, &bia, p.demo, group, "Meu").await, Err(ActionError::Forbidden)));
    assert!(matches!(chat::remove_member(&t.app, &bia, p.demo, group, p.carla.id).await, Err(ActionError::Forbidden)));
    assert!(matches!(chat::add_members(&t.app, &bia, p.demo, group, &[p.ana.id]).await, Err(ActionError::Forbidden)));
    chat::remove_member(&t.app, &bia, p.demo, group, p.bia.id).await.unwrap();
    assert!(matches!(chat::open(&t.app, &bia, p.demo, group).await, Err(ActionError::NotFound)), "she left");

    // The creator adds her back; an admin (a member) renames it and removes Carla.
    chat::add_members(&t.app, &ana, p.demo, group, &[p.bia.id]).await.unwrap();
    assert!(chat::open(&t.app, &bia, p.demo, group).await.is_ok());
    chat::rename_group(&t.app, &as_user(&admin), p.demo, group, "Equipe").await.unwrap();
    chat::remove_member(&t.app, &as_user(&admin), p.demo, group, p.carla.id).await.unwrap();
    assert_eq!(chat::open(&t.app, &ana, p.demo, group).await.unwrap().title, "Equipe");
    assert!(matches!(chat::open(&t.app, &as_user(&p.carla), p.demo, group).await, Err(ActionError::NotFound)));

    // A direct conversation has no name or members to choose.
    let direct = chat::open_direct(&t.app, &ana, p.demo, p.bia.id).await.unwrap();
    assert_eq!(code(chat::rename_group(&t.app, &ana, p.demo, direct, "x").await.unwrap_err()), "not_a_group");

    // Over the web: Bia's rename is refused, the creator's goes through.
    let bia_web = t.login("bia.chat@demo.local", "senha-da-bia-1", "demo").await;
    assert_eq!(post_form(&t, &bia_web, &format!("/chat/{group}/name"), &[("name", "Dela")]).await, 403);
    let ana_web = t.login("ana.chat@demo.local", "senha-da-ana-1", "demo").await;
    assert_eq!(post_form(&t, &ana_web, &format!("/chat/{group}/name"), &[("name", "Time <b>")]).await, 303);
    let (status, html) = status_of(&bia_web, t.url(&format!("/chat/{group}"))).await;
    assert_eq!(status, 200);
    assert!(html.contains("Time &lt;b&gt;") || html.contains("Time &#60;b&#62;"), "names are escaped");
    // Group changes are audited (messages are not).
    assert_eq!(t.count("audit_log", "action LIKE 'chat.%'").await, 6);
    // Membership changes reach every member, the removed one included.
    assert!(t.count("events", "kind = 'chat.conversation'").await >= 4);
});

engine_test!(only_members_of_the_company_reach_a_conversation, |t: TestApp| async move {
    let p = people(&t).await;
    let group = chat::create_group(&t.app, &as_user(&p.ana), p.demo, "Segredo", &[p.bia.id]).await.unwrap();
    let ana_web = t.login("ana.chat@demo.local", "senha-da-ana-1", "demo").await;
    let (status, _) = post_message(&t, &ana_web, group, "só entre nós", Some(("a.png", "image/png", PNG))).await;
    assert_eq!(status, 200);
    let message: i64 =
        sqlx::Row::get(&sqlx::query("SELECT id FROM chat_messages").fetch_one(t.app.db.reader()).await.unwrap(), 0);

    // Carla is of the company but not a member: 404 everywhere, and the list does not show it.
    let carla = t.login("carla.chat@demo.local", "senha-da-carla-1", "demo").await;
    for path in [
        format!("/chat/{group}"),
        format!("/chat/{group}?part=messages&after=0"),
        format!("/chat/{group}/files/{message}"),
        format!("/chat/{group}/notice/{message}"),
    ] {
        assert_eq!(status_of(&carla, t.url(&path)).await.0, 404, "{path}");
    }
    assert_eq!(post_message(&t, &carla, group, "oi", None).await.0, 404);
    assert_eq!(post_form(&t, &carla, &format!("/chat/{group}/typing"), &[]).await, 404);
    assert_eq!(post_form(&t, &carla, &format!("/chat/{group}/read"), &[("upto", "")]).await, 404);
    assert_eq!(post_form(&t, &carla, &format!("/chat/{group}/members"), &[("add", "1")]).await, 404);
    let (_, list) = status_of(&carla, t.url("/chat")).await;
    assert!(!list.contains("Segredo"));
    assert_eq!(t.count("chat_messages", "1 = 1").await, 1);

    // Another company's admin: 404 too.
    let other = t.create_tenant("outra-empresa").await;
    t.create_user(other, "chefe@outra.local", Role::Admin, "senha-do-chefe-1").await;
    let stranger = t.login("chefe@outra.local", "senha-do-chefe-1", "outra-empresa").await;
    assert_eq!(status_of(&stranger, t.url(&format!("/chat/{group}"))).await.0, 404);
    assert_eq!(status_of(&stranger, t.url(&format!("/chat/{group}/files/{message}"))).await.0, 404);
    assert_eq!(post_message(&t, &stranger, group, "oi", None).await.0, 404);
    // Tokens have no conversations (chat is between people).
    t.token(p.demo, &[atende::domain::Scope::Read, atende::domain::Scope::Write]).await;
    let token = atende::store::tokens::list(t.app.db.reader(), p.demo).await.unwrap().remove(0);
    let token = Actor::Token(token);
    assert!(matches!(chat::open(&t.app, &token, p.demo, group).await, Err(ActionError::Forbidden)));

    // Bia, a member, reads it and its image.
    let bia = t.login("bia.chat@demo.local", "senha-da-bia-1", "demo").await;
    let (status, html) = status_of(&bia, t.url(&format!("/chat/{group}"))).await;
    assert_eq!(status, 200);
    assert!(html.contains("só entre nós"));
    let r = bia.get(t.url(&format!("/chat/{group}/files/{message}"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
});

engine_test!(a_deactivated_person_loses_the_chat_at_once, |t: TestApp| async move {
    let p = people(&t).await;
    let group = chat::create_group(&t.app, &as_user(&p.ana), p.demo, "Equipe", &[p.bia.id]).await.unwrap();
    let bia_web = t.login("bia.chat@demo.local", "senha-da-bia-1", "demo").await;
    assert_eq!(status_of(&bia_web, t.url(&format!("/chat/{group}"))).await.0, 200);
    let input = atende::actions::users::UpdateUser { name: &p.bia.name, role: Role::Agent, active: false };
    atende::actions::users::update_user(&t.app, &Actor::Operator, p.demo, p.bia.id, input).await.unwrap();
    // Her session ends with the deactivation: the page sends her to the login.
    let r = bia_web.get(t.url(&format!("/chat/{group}"))).send().await.unwrap();
    assert!(r.status().is_redirection() || r.status() == 401, "{}", r.status());
    assert_eq!(status_of(&bia_web, t.url("/chat/unread")).await.0 / 100, 3);
    // And membership itself counts only active people (an actor still holding her record).
    let stale = as_user(&p.bia);
    assert!(matches!(chat::open(&t.app, &stale, p.demo, group).await, Err(ActionError::NotFound)));
    assert!(matches!(chat::send(&t.app, &stale, p.demo, group, "oi", None).await, Err(ActionError::NotFound)));
    // She no longer counts as a member: no events for her, not offered as a person.
    let before = t.count("events", &format!("kind = 'chat.message' AND audience = 'user:{}'", p.bia.id.0)).await;
    chat::send(&t.app, &as_user(&p.ana), p.demo, group, "ainda aí?", None).await.unwrap();
    let after = t.count("events", &format!("kind = 'chat.message' AND audience = 'user:{}'", p.bia.id.0)).await;
    assert_eq!(before, after);
    let offered = chat::people(&t.app, &as_user(&p.ana), p.demo).await.unwrap();
    assert!(!offered.iter().any(|(u, _)| *u == p.bia.id));
    assert_eq!(
        code(chat::add_members(&t.app, &as_user(&p.ana), p.demo, group, &[p.bia.id]).await.unwrap_err()),
        "unknown_agent"
    );
});

engine_test!(a_mention_notifies_the_member_it_names, |t: TestApp| async move {
    let p = people(&t).await;
    let group = chat::create_group(&t.app, &as_user(&p.ana), p.demo, "Equipe", &[p.bia.id, p.carla.id]).await.unwrap();
    chat::send(&t.app, &as_user(&p.ana), p.demo, group, "@bia.chat pode ver isso? @ana.chat", None).await.unwrap();
    let t = &t;
    let mention = |u: UserId| {
        let cond = format!("kind = 'chat.mention' AND audience = 'user:{}'", u.0);
        async move { t.count("events", &cond).await }
    };
    assert_eq!(mention(p.bia.id).await, 1, "Bia is told");
    assert_eq!(mention(p.carla.id).await, 0, "Carla is not named");
    assert_eq!(mention(p.ana.id).await, 0, "naming oneself notifies nobody");
    assert_eq!(t.count("events", "kind = 'chat.message'").await, 3, "every member hears the message");
    assert_eq!(t.count("events", "kind = 'chat.message' AND audience = 'tenant'").await, 0, "never the company");
    // Bia's page marks the mention as hers; the notification's text is hers to read only.
    let bia = t.login("bia.chat@demo.local", "senha-da-bia-1", "demo").await;
    let (_, html) = status_of(&bia, t.url(&format!("/chat/{group}"))).await;
    assert!(html.contains("<strong class=\"mention me\">@bia.chat</strong>"), "{html}");
    let message: i64 =
        sqlx::Row::get(&sqlx::query("SELECT id FROM chat_messages").fetch_one(t.app.db.reader()).await.unwrap(), 0);
    let notice: serde_json::Value =
        bia.get(t.url(&format!("/chat/{group}/notice/{message}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(notice["sender"], "ana.chat");
    assert_eq!(notice["title"], "Equipe");
    // A mention of someone outside the conversation is just text.
    let pair = chat::open_direct(&t.app, &as_user(&p.ana), p.demo, p.bia.id).await.unwrap();
    chat::send(&t.app, &as_user(&p.ana), p.demo, pair, "falei com @carla.chat", None).await.unwrap();
    assert_eq!(mention(p.carla.id).await, 0);
});

engine_test!(a_ticket_protocol_links_only_for_who_may_see_the_ticket, |t: TestApp| async move {
    let p = people(&t).await;
    let (sim, _) = t.simulator(p.demo).await;
    let phone = "5511911170001";
    sim.customer_sends(phone, "Cliente", CustomerMessage::Text("Oi".into())).await.unwrap();
    let (ticket, _, _) = ticket_of(&t, phone).await;
    atende::actions::inbox::assign(&t.app, &Actor::Operator, p.demo, ticket, p.bia.id).await.unwrap();
    let protocol: String = sqlx::Row::get(
        &sqlx::query("SELECT protocol FROM tickets WHERE id = $1")
            .bind(ticket)
            .fetch_one(t.app.db.reader())
            .await
            .unwrap(),
        0,
    );
    let group = chat::create_group(&t.app, &as_user(&p.ana), p.demo, "Equipe", &[p.bia.id]).await.unwrap();
    let text = format!("veja o #{protocol} e o #20000101-000001, por favor");
    chat::send(&t.app, &as_user(&p.ana), p.demo, group, &text, None).await.unwrap();

    let link = format!("<a class=\"chat-ticket\" href=\"/inbox/{ticket}\">#{protocol}</a>");
    // Bia is its assignee: a link. Ana (an agent who may not see it): plain text.
    let bia = t.login("bia.chat@demo.local", "senha-da-bia-1", "demo").await;
    let (_, html) = status_of(&bia, t.url(&format!("/chat/{group}"))).await;
    assert!(html.contains(&link), "{html}");
    assert!(html.contains("<span class=\"chat-protocol\">#20000101-000001</span>"), "an unknown protocol stays text");
    let ana = t.login("ana.chat@demo.local", "senha-da-ana-1", "demo").await;
    let (_, html) = status_of(&ana, t.url(&format!("/chat/{group}"))).await;
    assert!(!html.contains(&format!("href=\"/inbox/{ticket}\"")), "no link for Ana");
    assert!(html.contains(&format!("<span class=\"chat-protocol\">#{protocol}</span>")));
    // The same rule as the inbox: Ana really may not open it.
    assert_eq!(ana.get(t.url(&format!("/inbox/{ticket}"))).send().await.unwrap().status(), 404);
    // A supervisor sees every ticket: a link for them (once a member).
    let sup = t.create_user(p.demo, "sup.chat@demo.local", Role::Supervisor, "senha-do-sup-1").await;
    chat::add_members(&t.app, &as_user(&p.ana), p.demo, group, &[sup.id]).await.unwrap();
    let shown = chat::page(&t.app, &as_user(&sup), p.demo, group, None, None).await.unwrap().1;
    assert!(shown[0]
        .pieces
        .iter()
        .any(|s| *s == chat::Shown::Ticket { protocol: protocol.clone(), ticket_id: Some(ticket) }));
    sim.shutdown().await;
});

engine_test!(files_pass_the_inbox_checks, |t: TestApp| async move {
    let p = people(&t).await;
    let pair = chat::open_direct(&t.app, &as_user(&p.ana), p.demo, p.bia.id).await.unwrap();
    let ana = t.login("ana.chat@demo.local", "senha-da-ana-1", "demo").await;
    let media_files = || walkdir_count(t.dir.path().join("media"));
    // A program disguised as a PDF: refused by its bytes, nothing stored.
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00 not a pdf";
    let (status, body) = post_message(&t, &ana, pair, "", Some(("nota.pdf", "application/pdf", exe))).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("não aceita este tipo de arquivo"), "{body}");
    let (status, _) = post_message(&t, &ana, pair, "", Some(("vazio.txt", "text/plain", b""))).await;
    assert_eq!(status, 422, "an empty file and no text");
    // An image over WhatsApp's 5 MB image limit.
    let mut big = PNG.to_vec();
    big.resize(5 * 1024 * 1024 + 10, 0);
    let (status, body) = post_message(&t, &ana, pair, "grande", Some(("big.png", "image/png", &big))).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(t.count("chat_messages", "1 = 1").await, 0);
    assert_eq!(media_files(), 0, "a refused file is never stored");
    // A text document goes through, named as sent, and downloads (never rendered).
    let (status, _) =
        post_message(&t, &ana, pair, "o relatório", Some(("relatório.txt", "text/plain", b"linha 1\n"))).await;
    assert_eq!(status, 200);
    assert_eq!(media_files(), 1);
    let message: i64 =
        sqlx::Row::get(&sqlx::query("SELECT id FROM chat_messages").fetch_one(t.app.db.reader()).await.unwrap(), 0);
    let r = ana.get(t.url(&format!("/chat/{pair}/files/{message}"))).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    // Too long a text is refused with its code.
    let long = "x".repeat(4001);
    let refused = chat::send(&t.app, &as_user(&p.ana), p.demo, pair, &long, None).await.unwrap_err();
    assert_eq!(code(refused), "chat_message_too_long");
});

fn walkdir_count(dir: std::path::PathBuf) -> usize {
    let Ok(entries) = std::fs::read_dir(&dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                walkdir_count(e.path())
            } else {
                usize::from(!e.file_name().to_string_lossy().starts_with('.'))
            }
        })
        .sum()
}

engine_test!(search_stays_inside_ones_conversations, |t: TestApp| async move {
    let p = people(&t).await;
    let ab = chat::open_direct(&t.app, &as_user(&p.ana), p.demo, p.bia.id).await.unwrap();
    let bc = chat::open_direct(&t.app, &as_user(&p.bia), p.demo, p.carla.id).await.unwrap();
    chat::send(&t.app, &as_user(&p.ana), p.demo, ab, "O boleto de Março venceu", None).await.unwrap();
    chat::send(&t.app, &as_user(&p.bia), p.demo, bc, "boleto da Carla, segredo", None).await.unwrap();
    chat::send(&t.app, &as_user(&p.bia), p.demo, ab, "100% resolvido", None).await.unwrap();
    let ana_hits = chat::search(&t.app, &as_user(&p.ana), p.demo, "BOLETO").await.unwrap();
    assert_eq!(ana_hits.len(), 1, "only Ana's conversations");
    assert!(ana_hits[0].message.body.contains("Março"));
    assert_eq!(chat::search(&t.app, &as_user(&p.bia), p.demo, "boleto").await.unwrap().len(), 2);
    // Wildcards typed by people are text.
    assert_eq!(chat::search(&t.app, &as_user(&p.ana), p.demo, "%").await.unwrap().len(), 1);
    assert_eq!(chat::search(&t.app, &as_user(&p.ana), p.demo, "_").await.unwrap().len(), 0);
    assert_eq!(
        code(chat::search(&t.app, &as_user(&p.ana), p.demo, &"x".repeat(201)).await.unwrap_err()),
        "invalid_search"
    );
    let ana = t.login("ana.chat@demo.local", "senha-da-ana-1", "demo").await;
    let (status, html) = status_of(&ana, t.url("/chat?q=boleto")).await;
    assert_eq!(status, 200);
    assert!(html.contains("O boleto de Março venceu") && !html.contains("segredo"));
});

engine_test!(unread_counts_follow_reading, |t: TestApp| async move {
    let p = people(&t).await;
    let pair = chat::open_direct(&t.app, &as_user(&p.bia), p.demo, p.ana.id).await.unwrap();
    let group = chat::create_group(&t.app, &as_user(&p.bia), p.demo, "Equipe", &[p.ana.id]).await.unwrap();
    for text in ["um", "dois"] {
        chat::send(&t.app, &as_user(&p.bia), p.demo, pair, text, None).await.unwrap();
    }
    chat::send(&t.app, &as_user(&p.bia), p.demo, group, "três", None).await.unwrap();
    chat::send(&t.app, &as_user(&p.ana), p.demo, group, "minha", None).await.unwrap();
    let demo = p.demo;
    let total = |u: &User| {
        let a = as_user(u);
        let app = t.app.clone();
        async move { chat::unread_total(&app, &a, demo).await.unwrap() }
    };
    // Ana's own message in the group moved her read mark past Bia's there.
    assert_eq!(total(&p.ana).await, 2);
    assert_eq!(total(&p.bia).await, 1, "Ana's message, unread by Bia");
    let listed = chat::list(&t.app, &as_user(&p.ana), p.demo).await.unwrap();
    assert_eq!(listed.iter().find(|l| l.id == pair).unwrap().unread, 2);
    assert_eq!(listed.iter().find(|l| l.id == group).unwrap().unread, 0);

    let ana = t.login("ana.chat@demo.local", "senha-da-ana-1", "demo").await;
    let json: serde_json::Value = ana.get(t.url("/chat/unread")).send().await.unwrap().json().await.unwrap();
    assert_eq!(json["total"], 2);
    let (_, html) = status_of(&ana, t.url("/chat")).await;
    assert!(html.contains(">2<span class=\"visually-hidden\">"), "the list shows the count");
    // Opening the conversation reads it; the reader's other pages hear `chat.read`.
    assert_eq!(status_of(&ana, t.url(&format!("/chat/{pair}"))).await.0, 200);
    assert_eq!(total(&p.ana).await, 0);
    assert_eq!(t.count("events", &format!("kind = 'chat.read' AND audience = 'user:{}'", p.ana.id.0)).await, 1);
    // A read mark never passes the newest message nor goes back.
    chat::send(&t.app, &as_user(&p.bia), p.demo, pair, "quatro", None).await.unwrap();
    chat::mark_read(&t.app, &as_user(&p.ana), p.demo, pair, Some(i64::MAX)).await.unwrap();
    assert_eq!(total(&p.ana).await, 0);
    chat::send(&t.app, &as_user(&p.bia), p.demo, pair, "cinco", None).await.unwrap();
    chat::mark_read(&t.app, &as_user(&p.ana), p.demo, pair, Some(1)).await.unwrap();
    assert_eq!(total(&p.ana).await, 1);
});

engine_test!(typing_is_live_for_the_others_and_never_stored, |t: TestApp| async move {
    let p = people(&t).await;
    let group = chat::create_group(&t.app, &as_user(&p.ana), p.demo, "Equipe", &[p.bia.id]).await.unwrap();
    let mut live = t.app.bus.subscribe();
    let events_before = t.count("events", "1 = 1").await;
    let ana = t.login("ana.chat@demo.local", "senha-da-ana-1", "demo").await;
    assert_eq!(post_form(&t, &ana, &format!("/chat/{group}/typing"), &[]).await, 204);
    let seen = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(atende::realtime::BusMessage::Event(e)) = live.recv().await {
                if e.kind == "chat.typing" {
                    return e;
                }
            }
        }
    })
    .await
    .expect("the typing event");
    assert_eq!(seen.audience, format!("user:{}", p.bia.id.0), "for Bia, not for Ana herself");
    assert_eq!(seen.id.0, 0, "no id: nothing to resume from");
    assert!(seen.data.contains("ana.chat"));
    assert_eq!(t.count("events", "kind = 'chat.typing'").await, 0);
    assert_eq!(t.count("events", "1 = 1").await, events_before);
});

engine_test!(the_demo_company_has_a_team_group, |t: TestApp| async move {
    let p = people(&t).await;
    atende::demo::set_up_chat(&t.app).await.unwrap();
    atende::demo::set_up_chat(&t.app).await.unwrap();
    assert_eq!(t.count("chat_conversations", "kind = 'group' AND name = 'Equipe'").await, 1, "once");
    assert_eq!(t.count("chat_messages", "1 = 1").await, 2);
    let listed = chat::list(&t.app, &as_user(&p.ana), p.demo).await.unwrap();
    assert_eq!(listed.len(), 1, "everyone of the company is in it");
    assert_eq!(listed[0].unread, 2);
});
