//! Regression tests of the web face's security review (issue 10): the CSV preview bomb, the
//! open redirect after login, CSRF token rotation, caching and transport headers, and the
//! login limiter (trusted proxies, successes, lock-outs by strangers).

use std::sync::Arc;
use std::time::{Duration, Instant};

use atende::config::Settings;
use atende::domain::Role;

use crate::engine_test;
use crate::support::{extract_csrf, fresh_postgres_database, postgres_base_url, Engine, TestApp};

/// A second app on `t`'s engine (a fresh database) with `tweak`ed settings; `t` is stopped.
async fn respawn_with(t: TestApp, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let engine = t.engine;
    t.stop().await;
    let url = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => Some(fresh_postgres_database(&postgres_base_url().expect("PostgreSQL")).await),
    };
    TestApp::spawn_with(engine, url, tweak).await
}

/// An app that takes 127.0.0.1 (where the tests connect from) for a trusted reverse proxy.
async fn behind_a_local_proxy(t: TestApp) -> TestApp {
    respawn_with(t, |s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// The value an answer's `Set-Cookie` gives cookie `name`, if it sets it.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(prefix.as_str()))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

/// Posts the login form from `client` (with its CSRF token), as if through the local proxy
/// for client address `forwarded_for` when given.
async fn post_login(
    t: &TestApp,
    client: &reqwest::Client,
    forwarded_for: Option<&str>,
    email: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    let csrf = t.csrf(client).await;
    let mut request = client.post(t.url("/login")).form(&[
        ("csrf", csrf.as_str()),
        ("email", email),
        ("password", password),
        ("tenant", "demo"),
        ("next", next),
    ]);
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    request.send().await.expect("post /login")
}

async fn admin_login(t: &TestApp, from: Option<&str>, password: &str) -> reqwest::Response {
    post_login(t, &t.browser(), from, "admin@demo.local", password, "").await
}

// ---------- CSV import preview ----------

fn multipart(csrf: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----atendeSecurityBoundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads `file` for a preview; gives up after 20 s (the unfixed server never answered).
async fn upload(t: &TestApp, browser: &reqwest::Client, file: &[u8]) -> (u16, String, Duration) {
    let csrf = extract_csrf(&browser.get(t.url("/contacts/import")).send().await.unwrap().text().await.unwrap());
    let (content_type, body) = multipart(&csrf, file);
    let started = Instant::now();
    let response = browser
        .post(t.url("/contacts/import"))
        .header("content-type", content_type)
        .body(body)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("the preview answers within 20 s");
    let status = response.status().as_u16();
    (status, response.text().await.expect("the preview's body"), started.elapsed())
}

engine_test!(a_csv_with_4000_header_columns_is_refused_quickly_with_a_4xx, |t: TestApp| async move {
    let browser = t.login_demo_admin().await;
    // 22 KB, one line, 4,000 headers: each would have offered every other as a new field.
    let wide: Vec<String> = (0..4000).map(|i| format!("c{i}")).collect();
    let (status, html, took) = upload(&t, &browser, wide.join(";").as_bytes()).await;
    assert_eq!(status, 422, "{}", &html[..html.len().min(2000)]);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(html.len() < 50_000, "the refusal is a small page: {} bytes", html.len());
    assert!(html.contains("data-error-code=\"too_many_columns\""), "{html}");
    assert!(html.contains("O arquivo tem colunas demais: no máximo 200."), "translated, by the field: {html}");
    assert!(!html.contains("action=\"/contacts/import/"), "nothing to map: {html}");
    assert_eq!(std::fs::read_dir(t.dir.path().join("imports")).map(|d| d.count()).unwrap_or(0), 0, "not kept");

    // At the cap the preview works, and its page grows with the columns, not their square.
    let at_cap: Vec<String> = (0..200).map(|i| format!("campo{i}")).collect();
    let mut file = at_cap.join(";");
    file.push_str(&format!("\r\n{}\r\n", vec!["x"; 200].join(";")));
    let (status, html, _) = upload(&t, &browser, file.as_bytes()).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"col199\""), "every column can be mapped");
    assert!(html.len() < 400_000, "{} bytes for 200 columns", html.len());
    t.stop().await;
});

engine_test!(a_csv_over_the_upload_limit_is_refused_with_a_translated_413, |t: TestApp| async move {
    let browser = t.login_demo_admin().await;
    let file = vec![b'x'; atende::actions::contact_csv::MAX_FILE_BYTES + 128 * 1024];
    let (status, html, _) = upload(&t, &browser, &file).await;
    assert_eq!(status, 413);
    assert!(html.contains("data-error-code=\"file_too_large\""), "{html}");
    assert!(html.contains("O arquivo passa de 64 MiB."), "{html}");
    t.stop().await;
});

// ---------- the redirect after login ----------

engine_test!(login_next_with_a_tab_cannot_redirect_off_site, |t: TestApp| async move {
    // The login form does not carry the hostile `next` along.
    let form = t.browser().get(t.url("/login?next=/%09/evil.example/")).send().await.unwrap().text().await.unwrap();
    assert!(form.contains("name=\"next\" value=\"/inbox\""), "{form}");
    assert!(!form.contains("evil.example"), "{form}");

    for next in ["/\t/evil.example/", "/\\evil.example/", "//evil.example/", "/ /evil.example/"] {
        let r = post_login(&t, &t.browser(), None, "admin@demo.local", &t.logins.demo_password, next).await;
        assert_eq!(r.status(), 303, "{next:?}");
        assert_eq!(header(&r, "location"), "/inbox", "{next:?}");
    }
    // A same-site path is still where people go back to.
    let r = post_login(&t, &t.browser(), None, "admin@demo.local", &t.logins.demo_password, "/contacts?q=a").await;
    assert_eq!(header(&r, "location"), "/contacts?q=a");
    t.stop().await;
});

engine_test!(login_next_with_a_newline_is_not_a_500, |t: TestApp| async move {
    for next in ["/\n/evil.example/", "/inbox\r\nSet-Cookie: atende_session=x", "/\u{0}x"] {
        let r = post_login(&t, &t.browser(), None, "admin@demo.local", &t.logins.demo_password, next).await;
        assert_eq!(r.status(), 303, "{next:?}");
        assert_eq!(header(&r, "location"), "/inbox", "{next:?}");
    }
    let form = t.browser().get(t.url("/login?next=/%0A/evil.example/")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    t.stop().await;
});

// ---------- CSRF ----------

engine_test!(a_planted_csrf_cookie_does_not_survive_login, |t: TestApp| async move {
    // An attacker who can set cookies for the site (a sibling subdomain, plain HTTP) plants a
    // token they know, then waits for the victim to log in.
    let planted = "planted-by-the-attacker-0123456789abcdefghij";
    let jar = Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&format!("atende_csrf={planted}; Path=/"), &t.base.parse().unwrap());
    let victim = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(t.csrf(&victim).await, planted, "before login the planted token is the browser's");

    let login = post_login(&t, &victim, None, "admin@demo.local", &t.logins.demo_password, "").await;
    assert_eq!(login.status(), 303);
    let fresh = set_cookie(&login, "atende_csrf").expect("login sets a new CSRF cookie");
    assert_ne!(fresh, planted);
    assert!(fresh.len() >= 32);

    // The planted token no longer passes a logged-in form; the fresh one does.
    let forged = victim.post(t.url("/logout")).form(&[("csrf", planted)]).send().await.unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(victim.get(t.url("/")).send().await.unwrap().status(), 200, "still logged in");
    let page = victim.get(t.url("/account")).send().await.unwrap().text().await.unwrap();
    assert_eq!(extract_csrf(&page), fresh);
    let out = victim.post(t.url("/logout")).form(&[("csrf", fresh.as_str())]).send().await.unwrap();
    assert_eq!(out.status(), 303);
    t.stop().await;
});

// ---------- headers ----------

engine_test!(logged_in_pages_are_not_cached, |t: TestApp| async move {
    let admin = t.login_demo_admin().await;
    for path in ["/", "/inbox", "/contacts", "/account", "/admin/users"] {
        let r = admin.get(t.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "cache-control"), "no-store", "{path}");
    }
    // Static assets keep their cache.
    let css = admin.get(t.url("/assets/app.css")).send().await.unwrap();
    assert!(header(&css, "cache-control").starts_with("public"), "{}", header(&css, "cache-control"));
    t.stop().await;
});

engine_test!(api_docs_carry_csp_and_frame_headers, |t: TestApp| async move {
    for path in ["/api/docs", "/api/docs/docs.js", "/api/docs/docs.css"] {
        let r = reqwest::get(t.url(path)).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let csp = header(&r, "content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(header(&r, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
    }
    t.stop().await;
});

engine_test!(hsts_is_sent_when_the_base_url_is_https, |t: TestApp| async move {
    // Plain HTTP: no HSTS (it would pin a site that has no TLS).
    let plain = reqwest::get(t.url("/login")).await.unwrap();
    assert_eq!(header(&plain, "strict-transport-security"), "");

    let t = respawn_with(t, |s| s.base_url = Some("https://atende.example".into())).await;
    for path in ["/login", "/api/docs", "/healthz", "/api/v1/openapi.json"] {
        let r = reqwest::get(t.url(path)).await.unwrap();
        assert_eq!(header(&r, "strict-transport-security"), "max-age=31536000", "{path}");
    }
    t.stop().await;
});

// ---------- the login limiter ----------

engine_test!(a_stranger_cannot_lock_an_account_out_with_wrong_passwords, |t: TestApp| async move {
    let t = behind_a_local_proxy(t).await;
    let stranger = Some("203.0.113.7");
    for attempt in 1..=5 {
        let r = admin_login(&t, stranger, &format!("guess-{attempt}")).await;
        assert_eq!(r.status(), 401, "attempt {attempt}");
    }
    // The stranger's address is locked out of the account, even with the right password…
    let locked = admin_login(&t, stranger, &t.logins.demo_password).await;
    assert_eq!(locked.status(), 429);
    let wait: u64 = header(&locked, "retry-after").parse().expect("429 says when to retry");
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    assert!(set_cookie(&locked, "atende_session").is_none());

    // …and guessing from more addresses only slows the account down (past ten failures).
    for _ in 0..5 {
        assert_eq!(admin_login(&t, Some("203.0.113.8"), "another-guess").await.status(), 401);
    }
    assert_eq!(admin_login(&t, Some("203.0.113.9"), "one-more-guess").await.status(), 401);
    // The owner, from their own address, logs in.
    let owner = admin_login(&t, Some("198.51.100.2"), &t.logins.demo_password).await;
    assert_eq!(owner.status(), 303);
    assert!(set_cookie(&owner, "atende_session").is_some());
    t.stop().await;
});

engine_test!(the_limiter_reads_x_forwarded_for_only_from_a_trusted_proxy, |t: TestApp| async move {
    // Without trusted proxies a client's own X-Forwarded-For changes nothing: rotating it does
    // not reset the count of its (real) address.
    for i in 1..=5 {
        let r = admin_login(&t, Some(&format!("192.0.2.{i}")), "wrong-password").await;
        assert_eq!(r.status(), 401);
    }
    let r = admin_login(&t, Some("192.0.2.99"), &t.logins.demo_password).await;
    assert_eq!(r.status(), 429, "the spoofed header was ignored");

    // Behind a trusted proxy the client is the right-most address the proxy did not add…
    let t = behind_a_local_proxy(t).await;
    for _ in 1..=5 {
        let r = admin_login(&t, Some("192.0.2.1, 203.0.113.7"), "wrong-password").await;
        assert_eq!(r.status(), 401);
    }
    // …so what the client wrote to its left does not reset its count,
    let r = admin_login(&t, Some("192.0.2.2, 203.0.113.7"), &t.logins.demo_password).await;
    assert_eq!(r.status(), 429);
    // a proxy of ours to its right is skipped,
    let r = admin_login(&t, Some("203.0.113.7, 127.0.0.1"), &t.logins.demo_password).await;
    assert_eq!(r.status(), 429);
    // and another client behind the same proxy is not affected.
    let r = admin_login(&t, Some("198.51.100.2"), &t.logins.demo_password).await;
    assert_eq!(r.status(), 303);
    t.stop().await;
});

engine_test!(a_successful_login_does_not_count_against_the_limit, |t: TestApp| async move {
    // An office behind one address: more logins than the per-address limit (30 attempts) in
    // a few minutes, all with the right password.
    let demo = t.demo_tenant().await;
    t.create_user(demo, "agent@demo.local", Role::Agent, "agent-password-1").await;
    for i in 1..=35 {
        let (email, password) = if i % 2 == 0 {
            ("agent@demo.local", "agent-password-1")
        } else {
            ("admin@demo.local", t.logins.demo_password.as_str())
        };
        let r = post_login(&t, &t.browser(), None, email, password, "").await;
        assert_eq!(r.status(), 303, "login {i}");
    }
    // Typos still count, and a success between them does not use up the account's allowance.
    for _ in 0..4 {
        assert_eq!(admin_login(&t, None, "typo").await.status(), 401);
    }
    assert_eq!(admin_login(&t, None, &t.logins.demo_password).await.status(), 303);
    for _ in 0..4 {
        assert_eq!(admin_login(&t, None, "typo").await.status(), 401);
    }
    assert_eq!(admin_login(&t, None, &t.logins.demo_password).await.status(), 303);
    t.stop().await;
});
