//! Regression tests of the security review (issue 10): each test is named for the attack it
//! stops, and failed before its fix.

mod files;
mod input;
mod jobs;
mod server;
mod ssrf;
mod streams;
mod web;

use atende::domain::{Role, TenantId};

use crate::support::TestApp;

/// A second company "acme" with an admin who logs in; the company admin the review distrusts.
pub async fn acme_admin(t: &TestApp) -> (TenantId, reqwest::Client) {
    let tenant = t.create_tenant("acme").await;
    t.create_user(tenant, "boss@acme.test", Role::Admin, "acme-admin-password-1").await;
    let client = t.login("boss@acme.test", "acme-admin-password-1", "acme").await;
    (tenant, client)
}

/// Creates a WhatsApp connection through the company admin's web form; returns the answer's
/// status and text.
pub async fn create_connection_by_form(
    t: &TestApp,
    admin: &reqwest::Client,
    phone_number_id: &str,
    graph_url: &str,
) -> (u16, String) {
    let csrf = t.csrf(admin).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Meu número"),
        ("phone_number_id", phone_number_id),
        ("access_token", "company-access-token"),
        ("app_secret", "company-chosen-app-secret"),
        ("graph_url", graph_url),
    ];
    let answer = admin.post(t.url("/admin/connections")).form(&form).send().await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// The id of the connection of `tenant` with this phone number id, if one exists.
pub async fn connection_id(t: &TestApp, tenant: TenantId, phone_number_id: &str) -> Option<i64> {
    sqlx::query("SELECT id FROM connections WHERE tenant_id = $1 AND phone_number_id = $2")
        .bind(tenant.0)
        .bind(phone_number_id)
        .fetch_optional(t.app.db.reader())
        .await
        .unwrap()
        .map(|r| sqlx::Row::get(&r, 0))
}
