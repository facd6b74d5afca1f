//! The REST API: bearer-token authentication, the error envelope, how token secrets are stored,
//! and tenant isolation through the actions layer. (Live events over the API: `events.rs`.)

use atende::actions::{self, ActionError, Actor};
use atende::domain::ids::TokenId;
use atende::domain::{Role, Scope, TenantId, UserId};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Row;

use crate::engine_test;
use crate::support::TestApp;

const PASSWORD: &str = "correct horse battery";

/// `GET path` with an optional bearer token; returns the status and the JSON body.
async fn get_json(t: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(t.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let body = response.text().await.unwrap();
    assert_eq!(content_type.as_deref(), Some("application/json"), "{path} answered {status} with {body}");
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}")))
}

/// Asserts an error envelope `{"error":{"code":…,"message":…}}` with this status and code.
fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

/// The stored token whose listed prefix starts `secret`.
async fn stored_token(t: &TestApp, tenant: TenantId, secret: &str) -> atende::store::tokens::ApiToken {
    let tokens = atende::store::tokens::list(t.app.db.reader(), tenant).await.unwrap();
    tokens.into_iter().find(|k| secret.starts_with(&k.prefix)).expect("the token is listed")
}

engine_test!(me_answers_with_the_tokens_tenant_and_scopes_and_marks_it_used, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let secret = t.token(tenant, &[Scope::Read, Scope::Write]).await;
    assert_eq!(stored_token(&t, tenant, &secret).await.last_used_at, None, "a fresh token was never used");

    let (status, me) = get_json(&t, "/api/v1/me", Some(&secret)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["tenant"]["slug"], "demo", "{me}");
    assert_eq!(me["tenant"]["id"], tenant.0, "{me}");
    assert_eq!(me["scopes"], serde_json::json!(["read", "write"]), "{me}");
    assert_eq!(me["token"]["prefix"], secret[..12], "{me}");
    assert_eq!(me["token"]["name"], "test", "{me}");

    let used = stored_token(&t, tenant, &secret).await;
    assert!(used.last_used_at.is_some_and(|at| at >= used.created_at), "{used:?}");
    assert_eq!(t.count("api_tokens", &format!("id = {} AND last_used_at IS NOT NULL", used.id.0)).await, 1);
    t.stop().await;
});

engine_test!(a_request_without_an_authorization_header_is_refused_with_missing_token, |t: TestApp| async move {
    assert_error(&get_json(&t, "/api/v1/me", None).await, StatusCode::UNAUTHORIZED, "missing_token");
    assert_error(&get_json(&t, "/api/v1/events", None).await, StatusCode::UNAUTHORIZED, "missing_token");
    // A scheme other than Bearer is no token either.
    let response =
        reqwest::Client::new().get(t.url("/api/v1/me")).basic_auth("admin", Some("secret")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_token", "{body}");
    t.stop().await;
});

engine_test!(a_garbage_token_is_refused_with_invalid_token, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let real = t.token(tenant, &[Scope::Read]).await;
    // Same shape as a real token (right prefix and length), but never issued.
    let forged = format!("atd_{}", "x".repeat(real.len() - 4));
    for garbage in ["nonsense", "atd_", forged.as_str()] {
        let answer = get_json(&t, "/api/v1/me", Some(garbage)).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_token");
    }
    // The stored hash is not a credential either.
    let hash = atende::crypto::sha256_hex(&real);
    assert_error(&get_json(&t, "/api/v1/me", Some(&hash)).await, StatusCode::UNAUTHORIZED, "invalid_token");
    t.stop().await;
});

engine_test!(a_revoked_token_is_refused_with_invalid_token, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let (token, secret) =
        actions::tokens::create_token(&t.app, &Actor::Operator, tenant, "revoke me", &[Scope::Read]).await.unwrap();
    let (status, body) = get_json(&t, "/api/v1/me", Some(&secret)).await;
    assert_eq!(status, 200, "the token works before it is revoked: {body}");

    actions::tokens::revoke_token(&t.app, &Actor::Operator, tenant, token.id).await.unwrap();
    assert_error(&get_json(&t, "/api/v1/me", Some(&secret)).await, StatusCode::UNAUTHORIZED, "invalid_token");
    assert_error(&get_json(&t, "/api/v1/events", Some(&secret)).await, StatusCode::UNAUTHORIZED, "invalid_token");
    // Revoking twice finds nothing left to revoke.
    let again = actions::tokens::revoke_token(&t.app, &Actor::Operator, tenant, token.id).await;
    assert!(matches!(again, Err(ActionError::NotFound)), "{again:?}");
    t.stop().await;
});

engine_test!(a_token_without_the_read_scope_is_forbidden_with_insufficient_scope, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let send_only = t.token(tenant, &[Scope::Send]).await;
    let answer = get_json(&t, "/api/v1/me", Some(&send_only)).await;
    assert_error(&answer, StatusCode::FORBIDDEN, "insufficient_scope");
    assert!(answer.1["error"]["message"].as_str().unwrap().contains("read"), "{}", answer.1);
    let answer = get_json(&t, "/api/v1/events", Some(&send_only)).await;
    assert_error(&answer, StatusCode::FORBIDDEN, "insufficient_scope");
    t.stop().await;
});

engine_test!(an_unknown_api_path_answers_not_found_in_the_error_envelope, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let secret = t.token(tenant, &[Scope::Read]).await;
    assert_error(&get_json(&t, "/api/v1/nope", Some(&secret)).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&get_json(&t, "/api/v1/nope", None).await, StatusCode::NOT_FOUND, "not_found");
    t.stop().await;
});

engine_test!(token_secrets_are_stored_only_as_hashes_and_listed_by_prefix, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let mut secrets = Vec::new();
    for _ in 0..3 {
        secrets.push(t.token(tenant, &[Scope::Read, Scope::Send]).await);
    }
    let rows = sqlx::query("SELECT id, name, prefix, token_hash, scopes FROM api_tokens")
        .fetch_all(t.app.db.reader())
        .await
        .unwrap();
    assert!(rows.len() >= secrets.len());
    for secret in &secrets {
        assert!(secret.starts_with("atd_") && secret.len() > 12, "{secret}");
        let hash = atende::crypto::sha256_hex(secret);
        let mut found = 0;
        for row in &rows {
            let stored_hash: String = row.get("token_hash");
            for column in ["name", "prefix", "token_hash", "scopes"] {
                let value: String = row.get(column);
                assert!(!value.contains(secret.as_str()), "api_tokens.{column} holds a secret: {value}");
            }
            if stored_hash == hash {
                found += 1;
                assert_ne!(stored_hash, *secret);
                assert_eq!(row.get::<String, _>("prefix"), secret[..12]);
            }
        }
        assert_eq!(found, 1, "exactly one row holds the SHA-256 of {secret}");
        // Neither the audit log records the secret.
        let leaked = t.count("audit_log", &format!("details LIKE '%{secret}%' OR subject LIKE '%{secret}%'")).await;
        assert_eq!(leaked, 0);
    }
    let listed = actions::tokens::list_tokens(&t.app, &Actor::Operator, tenant).await.unwrap();
    let prefixes: Vec<&str> = listed.iter().map(|k| k.prefix.as_str()).collect();
    for secret in &secrets {
        assert!(prefixes.contains(&&secret[..12]), "{prefixes:?} lacks {}", &secret[..12]);
    }
    assert!(listed.iter().all(|k| k.prefix.chars().count() == 12), "{prefixes:?}");
    t.stop().await;
});

/// Everything of a user that an attack from another tenant could change.
async fn user_state(t: &TestApp, tenant: TenantId, id: UserId) -> (String, Role, bool, String) {
    let user = atende::store::users::get(t.app.db.reader(), tenant, id).await.unwrap().expect("user exists");
    let hash = atende::store::users::password_hash(t.app.db.reader(), tenant, id).await.unwrap().expect("hash");
    (user.name, user.role, user.active, hash)
}

fn assert_not_found<T: std::fmt::Debug>(what: &str, result: Result<T, ActionError>) {
    assert!(matches!(result, Err(ActionError::NotFound)), "{what}: {result:?}");
}

engine_test!(an_admin_of_one_tenant_cannot_reach_users_or_tokens_of_another, |t: TestApp| async move {
    let a = t.create_tenant("alpha").await;
    let b = t.create_tenant("beta").await;
    let admin_a = t.create_user(a, "admin@alpha.test", Role::Admin, PASSWORD).await;
    let colleague_a = t.create_user(a, "agent@alpha.test", Role::Agent, PASSWORD).await;
    let victim = t.create_user(b, "agent@beta.test", Role::Agent, PASSWORD).await;
    let (token_b, secret_b) =
        actions::tokens::create_token(&t.app, &Actor::Operator, b, "beta token", &[Scope::Read]).await.unwrap();
    let actor = Actor::User(admin_a.clone());

    // The same calls work inside the admin's own tenant, so the refusals below are about the tenant.
    let own = actions::users::get_user(&t.app, &actor, a, colleague_a.id).await.unwrap();
    assert_eq!(own.email, "agent@alpha.test");

    let before = user_state(&t, b, victim.id).await;
    let audit_before = t.count("audit_log", &format!("tenant_id = {}", b.0)).await;
    let events_before = t.count("events", &format!("tenant_id = {}", b.0)).await;
    // Naming tenant B outright, and naming B's ids under the admin's own tenant A.
    for tenant in [b, a] {
        assert_not_found("get_user", actions::users::get_user(&t.app, &actor, tenant, victim.id).await);
        let input = actions::users::UpdateUser { name: "Hijacked", role: Role::Admin, active: false };
        assert_not_found("update_user", actions::users::update_user(&t.app, &actor, tenant, victim.id, input).await);
        assert_not_found("reset_password", actions::users::reset_password(&t.app, &actor, tenant, victim.id).await);
        assert_not_found("revoke_token", actions::tokens::revoke_token(&t.app, &actor, tenant, token_b.id).await);
    }
    assert_not_found("list_users", actions::users::list_users(&t.app, &actor, b).await);
    assert_not_found("list_tokens", actions::tokens::list_tokens(&t.app, &actor, b).await);

    // Nothing changed in B: the user, its password, its token, its audit log and events.
    assert_eq!(user_state(&t, b, victim.id).await, before);
    t.login("agent@beta.test", PASSWORD, "beta").await;
    let token = atende::store::tokens::get(t.app.db.reader(), b, token_b.id).await.unwrap().unwrap();
    assert_eq!(token.revoked_at, None);
    let (status, me) = get_json(&t, "/api/v1/me", Some(&secret_b)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["tenant"]["slug"], "beta");
    assert_eq!(t.count("audit_log", &format!("tenant_id = {}", b.0)).await, audit_before);
    assert_eq!(t.count("audit_log", &format!("actor = 'user:{}' AND tenant_id <> {}", admin_a.id, a.0)).await, 0);
    assert_eq!(t.count("events", &format!("tenant_id = {}", b.0)).await, events_before);
    t.stop().await;
});

engine_test!(a_token_of_one_tenant_cannot_list_users_of_another, |t: TestApp| async move {
    let a = t.create_tenant("alpha").await;
    let b = t.create_tenant("beta").await;
    t.create_user(a, "admin@alpha.test", Role::Admin, PASSWORD).await;
    t.create_user(b, "admin@beta.test", Role::Admin, PASSWORD).await;
    let (token_a, _) =
        actions::tokens::create_token(&t.app, &Actor::Operator, a, "alpha token", &[Scope::Read]).await.unwrap();
    let actor = Actor::Token(token_a.clone());

    let own = actions::users::list_users(&t.app, &actor, a).await.unwrap();
    assert_eq!(own.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(), ["admin@alpha.test"]);
    assert_not_found("list_users", actions::users::list_users(&t.app, &actor, b).await);
    assert_not_found("list_tokens", actions::tokens::list_tokens(&t.app, &actor, b).await);
    let b_users = actions::users::list_users(&t.app, &Actor::Operator, b).await.unwrap();
    let b_admin = b_users.iter().find(|u| u.email == "admin@beta.test").unwrap();
    assert_not_found("get_user", actions::users::get_user(&t.app, &actor, b, b_admin.id).await);
    // A made-up token id of B is as invisible as a real one.
    let missing = actions::tokens::revoke_token(&t.app, &actor, b, TokenId(token_a.id.0 + 1000)).await;
    assert_not_found("revoke_token", missing);
    t.stop().await;
});
