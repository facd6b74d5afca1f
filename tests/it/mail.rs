//! The server's own e-mail over real SMTP on loopback: "Esqueci minha senha" (no account
//! enumeration, a one-time link, sessions ended) and invitations; a small SMTP server started by
//! the test receives what Atende sends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{Engine, TestApp};
use atende::actions::{self, Actor};
use atende::config::Secret;
use atende::domain::Role;

/// One message as the SMTP server received it.
#[derive(Clone, Debug)]
struct Received {
    mail_from: String,
    rcpt_to: String,
    data: String,
}

impl Received {
    fn header(&self, name: &str) -> String {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        head.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap_or("").to_string()
    }

    fn subject(&self) -> String {
        let raw = self.header("Subject");
        let b64 = raw.trim_start_matches("=?UTF-8?B?").trim_end_matches("?=");
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap()
    }

    fn text(&self) -> String {
        let body = self.data.split("\r\n\r\n").nth(1).unwrap_or("").replace("\r\n", "");
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body).unwrap()).unwrap()
    }

    /// The path and query of the link in the text.
    fn link(&self) -> String {
        let text = self.text();
        let start = text.find("/password/reset?token=").expect("a link");
        text[start..].split_whitespace().next().unwrap().to_string()
    }
}

/// A minimal SMTP server (RFC 5321's commands Atende uses) on a random loopback port.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let store = inbox.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test.local ESMTP\r\n").await.unwrap();
                let (mut from, mut to) = (String::new(), String::new());
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let answer: &[u8] = if upper.starts_with("EHLO") {
                        b"250-test.local\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        from = line[10..].to_string();
                        b"250 ok\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        to = line[8..].to_string();
                        b"250 ok\r\n"
                    } else if upper == "DATA" {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        let mut data = Vec::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push(l.strip_prefix('.').map(str::to_string).unwrap_or(l));
                        }
                        let received =
                            Received { mail_from: from.clone(), rcpt_to: to.clone(), data: data.join("\r\n") };
                        store.lock().unwrap().push(received);
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (port, inbox)
}

async fn spawn_with_mail(engine: Engine) -> Option<(TestApp, Arc<Mutex<Vec<Received>>>)> {
    let database_url = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => Some(crate::support::fresh_postgres_database(&crate::support::postgres_base_url()?).await),
    };
    let (port, inbox) = smtp_server().await;
    let t = TestApp::spawn_with(engine, database_url, |s| {
        s.smtp_url = Some(Secret::new(format!("smtp+plain://127.0.0.1:{port}")));
        s.mail_from = Some("Atende <no-reply@atende.test>".into());
    })
    .await;
    Some((t, inbox))
}

/// Waits for the `n`th message (the job runner sends them).
async fn nth_mail(inbox: &Arc<Mutex<Vec<Received>>>, n: usize) -> Received {
    for _ in 0..200 {
        if let Some(m) = inbox.lock().unwrap().get(n - 1).cloned() {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("mail {n} never arrived");
}

async fn post_form(t: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = t.csrf(client).await;
    let mut form = fields.to_vec();
    form.push(("csrf", csrf.as_str()));
    client.post(t.url(path)).form(&form).send().await.expect("post form")
}

async fn login_status(t: &TestApp, email: &str, password: &str) -> u16 {
    let client = t.browser();
    post_form(t, &client, "/login", &[("email", email), ("password", password), ("tenant", "demo")])
        .await
        .status()
        .as_u16()
}

async fn forgot_password_by_e_mail(engine: Engine) {
    let Some((t, inbox)) = spawn_with_mail(engine).await else {
        eprintln!("NOTICE: PostgreSQL variant skipped: ATENDE_TEST_DATABASE_URL is not set");
        return;
    };
    let tenant = t.demo_tenant().await;
    t.create_user(tenant, "rita@demo.local", Role::Agent, "a senha antiga de rita").await;
    let old_session = t.login("rita@demo.local", "a senha antiga de rita", "demo").await;

    let browser = t.browser();
    let login = browser.get(t.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(login.contains("href=\"/password/forgot\""));

    // An unknown address and a known one get the same answer; only the known one gets mail.
    let unknown = post_form(&t, &browser, "/password/forgot", &[("email", "ninguem@demo.local")]).await;
    assert_eq!(unknown.status(), 200);
    let unknown = unknown.text().await.unwrap();
    let known = post_form(&t, &browser, "/password/forgot", &[("email", " Rita@Demo.local ")]).await;
    assert_eq!(known.status(), 200);
    let known = known.text().await.unwrap();
    let sent_text = "Se houver uma conta com esse e-mail";
    assert!(unknown.contains(sent_text) && known.contains(sent_text));
    assert_eq!(unknown, known, "the answer does not tell whether the account exists");

    let mail = nth_mail(&inbox, 1).await;
    assert_eq!((mail.mail_from.as_str(), mail.rcpt_to.as_str()), ("<no-reply@atende.test>", "<rita@demo.local>"));
    assert_eq!(mail.subject(), "Redefinição de senha do Atende");
    assert!(mail.text().contains("Olá, rita!"));
    let link = mail.link();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inbox.lock().unwrap().len(), 1, "no mail for the unknown address");
    // The link is in no row in the clear: the job's text is sealed, the link stored hashed.
    let token = link.rsplit('=').next().unwrap();
    assert_eq!(t.count("jobs", &format!("payload LIKE '%{token}%'")).await, 0);
    assert_eq!(t.count("account_links", &format!("token_hash = '{token}'")).await, 0);

    // The link opens a form for that person; a weak password is refused and nothing changes.
    let page = browser.get(t.url(&link)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("rita@demo.local"));
    let r = post_form(&t, &browser, "/password/reset", &[("token", token), ("password", "curta")]).await;
    assert_eq!(r.status(), 422);
    assert_eq!(login_status(&t, "rita@demo.local", "a senha antiga de rita").await, 303);
    let r = post_form(&t, &browser, "/password/reset", &[("token", token), ("password", "a senha nova da rita")]).await;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/login?reset=1"));
    assert_eq!(login_status(&t, "rita@demo.local", "a senha antiga de rita").await, 401);
    assert_eq!(login_status(&t, "rita@demo.local", "a senha nova da rita").await, 303);
    // Her old session ended; the link works once.
    let r = old_session.get(t.url("/inbox")).send().await.unwrap();
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/login"));
    let again =
        post_form(&t, &browser, "/password/reset", &[("token", token), ("password", "outra senha qualquer")]).await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("Este link já foi usado ou expirou"));
    assert_eq!(t.count("audit_log", "action = 'user.password_reset_by_link'").await, 1);

    // Invitations: the admin sends one; the person chooses a password and signs in.
    let (invited, _) = actions::users::create_user(
        &t.app,
        &Actor::Operator,
        tenant,
        actions::users::CreateUser { email: "novo@demo.local", name: "Novo", role: Role::Agent, password: None },
    )
    .await
    .unwrap();
    let admin = t.login_demo_admin().await;
    let page = admin.get(t.url(&format!("/admin/users/{}", invited.id.0))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("/admin/users/{}/invite", invited.id.0)));
    let r = post_form(&t, &admin, &format!("/admin/users/{}/invite", invited.id.0), &[]).await;
    assert_eq!(r.status(), 303);
    let invitation = nth_mail(&inbox, 2).await;
    assert!(invitation.subject().starts_with("Convite para o Atende"));
    assert!(invitation.text().contains("novo@demo.local"));
    let token = invitation.link().rsplit('=').next().unwrap().to_string();
    let page = browser.get(t.url(&invitation.link())).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("crie sua senha"));
    let r =
        post_form(&t, &browser, "/password/reset", &[("token", &token), ("password", "minha primeira senha")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(login_status(&t, "novo@demo.local", "minha primeira senha").await, 303);

    // An agent cannot send invitations.
    let agent = t.login("rita@demo.local", "a senha nova da rita", "demo").await;
    assert_eq!(post_form(&t, &agent, &format!("/admin/users/{}/invite", invited.id.0), &[]).await.status(), 403);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_by_e_mail_sqlite() {
    forgot_password_by_e_mail(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_by_e_mail_postgres() {
    forgot_password_by_e_mail(Engine::Postgres).await;
}

crate::engine_test!(without_a_relay_no_e_mail_flow_is_offered, |t: TestApp| async move {
    let browser = t.browser();
    let login = browser.get(t.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(!login.contains("/password/forgot"));
    let r = browser.get(t.url("/password/forgot")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/login");
    let r = post_form(&t, &browser, "/password/forgot", &[("email", "admin@demo.local")]).await;
    assert_eq!(r.status(), 422);
    assert_eq!(t.count("jobs", "kind = 'mail.send'").await, 0);
});
