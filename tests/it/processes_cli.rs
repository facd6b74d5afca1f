//! The real `atende` binary's command line: admin commands, configuration errors named,
//! passwords never printed (helpers in `processes`).

use std::time::{Duration, Instant};

use crate::processes::*;

// ---------------------------------------------------------------------------------------------
// 4. The command line
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_create_tenants_users_and_tokens_and_refuse_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut server = Server::start(d, &[]);
    server.wait_ready().await;

    let tenant = admin(d, None, &["create-tenant", "--name", "Acme", "--slug", "acme"]).await.json();
    assert_eq!(tenant["slug"], "acme", "{tenant}");
    assert_eq!(tenant["name"], "Acme", "{tenant}");
    let again = admin(d, None, &["create-tenant", "--name", "Acme 2", "--slug", "acme"]).await;
    assert!(!again.status.success(), "a duplicate slug must fail: {}", again.stdout);
    assert!(again.stderr.contains("slug"), "the error names the slug: {}", again.stderr);

    let user = admin(d, None, &["create-user", "--tenant", "acme", "--email", "a@acme.com", "--role", "agent"]).await;
    let user = user.json();
    assert_eq!(user["email"], "a@acme.com", "{user}");
    let first = user["password"].as_str().expect("password").to_string();
    assert_eq!(first.len(), 16, "{user}");
    let reset = admin(d, None, &["reset-password", "--tenant", "acme", "--email", "a@acme.com"]).await.json();
    let second = reset["password"].as_str().expect("new password").to_string();
    assert_eq!(second.len(), 16, "{reset}");
    assert_ne!(first, second, "the reset gives a new password");
    let (_, status) = web_login(&server, "a@acme.com", &second, "acme").await;
    assert_eq!(status, 303, "the reset password logs in");
    let (_, status) = web_login(&server, "a@acme.com", &first, "acme").await;
    assert_eq!(status, 401, "the old password no longer does");

    let token = admin(d, None, &["token", "create", "--tenant", "acme", "--name", "x", "--scopes", "read,send"]).await;
    let token = token.json()["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("atd_"), "{token}");
    let me = reqwest::Client::new()
        .get(server.url("/api/v1/me"))
        .bearer_auth(&token)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("GET /api/v1/me");
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.expect("me");
    assert_eq!(me["tenant"]["slug"], "acme", "{me}");
    let bogus = admin(d, None, &["token", "create", "--tenant", "acme", "--name", "y", "--scopes", "read,bogus"]).await;
    assert!(!bogus.status.success(), "an unknown scope must fail: {}", bogus.stdout);
    assert!(bogus.stderr.contains("bogus"), "{}", bogus.stderr);
    let url = sqlite_url(d);
    assert_eq!(count(&url, "SELECT COUNT(*) FROM api_tokens WHERE name = $1", &["y"]).await, 0);

    server.signal("-TERM");
    assert!(server.wait_exit(Duration::from_secs(10)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_connection_set_token_replaces_the_token_and_clears_needs_reauth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut server = Server::start(d, &[]);
    server.wait_ready().await;
    let args = ["connection", "create", "--tenant", "demo", "--phone-number-id", "444000444"];
    let created =
        admin(d, None, &[&args[..], &["--access-token", "EAAG-old", "--app-secret", "s1"]].concat()).await.json();
    let id = created["id"].as_i64().expect("connection id").to_string();
    let url = sqlite_url(d);
    {
        let pool = sqlx::SqlitePool::connect(&url).await.expect("open SQLite");
        sqlx::query("UPDATE connections SET needs_reauth = 1 WHERE phone_number_id = '444000444'")
            .execute(&pool)
            .await
            .expect("flag");
        pool.close().await;
    }
    let listed = admin(d, None, &["connection", "list", "--tenant", "demo"]).await.json();
    let ours = listed.as_array().and_then(|l| l.iter().find(|c| c["phone_number_id"] == "444000444")).cloned();
    assert_eq!(ours.map(|c| c["needs_reauth"].clone()), Some(serde_json::json!(true)), "{listed}");

    let missing =
        admin(d, None, &["connection", "set-token", "--tenant", "demo", "--id", "999", "--access-token", "x"]).await;
    assert!(!missing.status.success(), "an unknown connection must fail: {}", missing.stdout);
    let empty =
        admin(d, None, &["connection", "set-token", "--tenant", "demo", "--id", &id, "--access-token", " "]).await;
    assert!(!empty.status.success(), "an empty token must fail: {}", empty.stdout);
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM connections WHERE needs_reauth = 1 AND phone_number_id = $1", &["444000444"])
            .await,
        1
    );

    let set = ["connection", "set-token", "--tenant", "demo", "--id", &id, "--access-token", "EAAG-new"];
    let out = admin(d, None, &set).await;
    let updated = out.json();
    assert_eq!(updated["needs_reauth"], false, "{updated}");
    assert_eq!(updated["id"].as_i64().map(|i| i.to_string()), Some(id.clone()));
    assert!(!out.stdout.contains("EAAG-new"), "the token is never printed: {}", out.stdout);
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM connections WHERE needs_reauth = 1 AND phone_number_id = $1", &["444000444"])
            .await,
        0
    );
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM audit_log WHERE action = $1", &["connection.secrets_updated"]).await,
        1
    );

    server.signal("-TERM");
    assert!(server.wait_exit(Duration::from_secs(10)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atende_config_never_prints_the_database_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("ATENDE_DATABASE_URL", "postgres://u:hunter2@127.0.0.1:1/x".to_string())];
    let mut cmd = atende(dir.path(), &env);
    cmd.arg("config");
    let out = run(cmd).await;
    let config = out.json();
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    assert!(out.stdout.contains("[redacted]"), "{}", out.stdout);
    assert_eq!(config["database_url"], "postgres://u:[redacted]@127.0.0.1:1/x", "{config}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_listen_address_stops_every_command_naming_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [&["config"][..], &["admin", "stats"], &["serve"], &["migrate"]] {
        let mut cmd = atende(dir.path(), &[("ATENDE_LISTEN", "nope".to_string())]);
        cmd.env("ATENDE_DATA_DIR", dir.path()).args(args);
        let out = run(cmd).await;
        assert!(!out.status.success(), "{args:?} must fail: {}", out.stdout);
        assert!(out.stderr.contains("ATENDE_LISTEN"), "{args:?}: {}", out.stderr);
    }
    assert!(!dir.path().join("atende.db").exists(), "nothing is created on a configuration error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_in_the_config_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("custom.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9\"\nlistne = \"127.0.0.1:9\"\n").expect("write config");
    let mut cmd = atende(dir.path(), &[]);
    cmd.arg("--config").arg(&file).arg("config");
    let out = run(cmd).await;
    assert!(!out.status.success(), "{}", out.stdout);
    assert!(out.stderr.contains("listne"), "{}", out.stderr);

    // The same file without the typo is accepted and applied.
    std::fs::write(&file, "listen = \"127.0.0.1:9\"\n").expect("write config");
    let mut cmd = atende(dir.path(), &[]);
    cmd.arg("--config").arg(&file).arg("config");
    assert_eq!(run(cmd).await.json()["listen"], "127.0.0.1:9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_an_unreachable_database_exits_non_zero_saying_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut server =
        Server::start(dir.path(), &[("ATENDE_DATABASE_URL", "postgres://postgres@127.0.0.1:1/x".to_string())]);
    let status = server.wait_exit(Duration::from_secs(30)).await;
    let elapsed = started.elapsed();
    assert!(!status.success(), "{status}");
    let stderr = server.stderr();
    assert!(stderr.contains("unreachable"), "{stderr}");
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    assert!(server.stdout().iter().all(|l| !l.contains("Atende is running")), "{:?}", server.stdout());
}
