//! The credential vault in headless Chromium: the customer fills the one-time form (no login,
//! pt-BR), then the assignee opens the ticket, finds the credential listed without its secret in
//! the page, and "Revelar" fetches and shows it (audited). Screenshots go to
//! `target/screenshots/`.

use serde_json::json;

use crate::browser::Browser;
use crate::support::{Engine, TestApp};
use crate::vault::{connect, customer_writes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_hands_over_a_credential_and_the_assignee_reveals_it() {
    let Some(b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, demo, "PNBROWSER").await;
    let ticket = customer_writes(&t, conn, "PNBROWSER", "5511987650099", "wamid.B1", "meu site caiu").await;
    let ana = t.create_user(demo, "ana@demo.local", atende::domain::Role::Agent, "ana-password-1").await;
    let actor = atende::actions::Actor::User(ana.clone());
    atende::actions::inbox::capture(&t.app, &actor, demo, ticket).await.unwrap();
    atende::actions::vault_links::request_from_customer(&t.app, &actor, demo, ticket).await.unwrap();
    let sql = format!("SELECT body FROM messages WHERE ticket_id = {ticket} AND body LIKE '%/acesso/%'");
    let body: String = sqlx::Row::get(&sqlx::query(&sql).fetch_one(t.app.db.reader()).await.unwrap(), 0);
    let url = body.split_whitespace().find(|w| w.contains("/acesso/")).unwrap().to_string();

    // The customer, not logged in.
    b.go(&url).await;
    b.wait_for("document.querySelector('form.access-form')", "the one-time form").await;
    assert_eq!(b.js("return document.documentElement.lang").await, json!("pt-BR"));
    assert_eq!(b.js("return document.querySelector('h1').textContent.trim()").await, json!("Envio seguro de acesso"));
    let secret = format!("Chave-{}", atende::crypto::random_token(9));
    b.js("document.querySelector('select[name=kind]').value = 'ftp'; return true").await;
    b.type_into("input[name=host]", "ftp.loja.example").await;
    b.type_into("input[name=username]", "loja").await;
    b.type_into("input[name=secret]", &secret).await;
    assert_eq!(b.js("return document.querySelector('input[name=secret]').type").await, json!("password"));
    b.screenshot("vault-customer-form").await;
    b.click("form.access-form button[type=submit]").await;
    b.wait_for("document.querySelector('.access-done')", "the thank-you page").await;
    b.screenshot("vault-customer-done").await;
    // The same link again: gone.
    b.go(&url).await;
    b.wait_for("document.querySelector('.access-gone')", "the used link's page").await;

    // The assignee: listed without the secret; "Revelar" shows it.
    b.login(&t, "ana@demo.local", "ana-password-1", "demo").await;
    b.go(&t.url(&format!("/inbox/{ticket}"))).await;
    b.wait_for("document.querySelector('.vault-block .credential .vault-reveal')", "the credential in Acessos").await;
    assert_eq!(
        b.js("return document.querySelector('.vault-block .credential-host').textContent").await,
        json!("ftp.loja.example")
    );
    let in_page = format!("return document.documentElement.outerHTML.includes({})", json!(secret));
    assert_eq!(b.js(&in_page).await, json!(false), "the secret is not in the page before the reveal");
    b.click(".vault-block .vault-reveal").await;
    let shown = format!("document.querySelector('.vault-secret').textContent === {}", json!(secret));
    b.wait_for(&shown, "the revealed secret").await;
    assert_eq!(b.js("return document.querySelector('.vault-reveal').textContent").await, json!("Ocultar"));
    b.screenshot("vault-agent-reveal").await;
    b.click(".vault-block .vault-reveal").await;
    b.wait_for("document.querySelector('.vault-secret').hidden", "the secret hidden again").await;
    let who = format!("action = 'credential.revealed' AND actor = 'user:{}'", ana.id.0);
    assert_eq!(t.count("audit_log", &who).await, 1);
    t.stop().await;
}
