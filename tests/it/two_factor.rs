//! Two-step sign-in through the web UI: enrolment with the page's secret, the login's second
//! step (codes work once, recovery codes once), a company's requirement, an admin's reset, and
//! the list of one's sessions with "sair de todos".

use std::time::Duration;

use crate::engine_test;
use crate::support::TestApp;
use atende::domain::totp;
use atende::domain::Role;

const PASSWORD: &str = "uma senha bem longa";

async fn post_form(t: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = t.csrf(client).await;
    let mut form = fields.to_vec();
    form.push(("csrf", csrf.as_str()));
    client.post(t.url(path)).form(&form).send().await.expect("post form")
}

async fn get(t: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String, String) {
    let r = client.get(t.url(path)).send().await.expect("get");
    let location = location(&r);
    (r.status().as_u16(), location, r.text().await.expect("body"))
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

/// The text between `start` and the next `<`, for each occurrence.
fn all_between(html: &str, start: &str) -> Vec<String> {
    html.match_indices(start)
        .map(|(i, _)| {
            let rest = &html[i + start.len()..];
            rest[..rest.find('<').unwrap_or(rest.len())].to_string()
        })
        .collect()
}

/// The secret shown on the set-up page, as bytes.
fn secret_on(html: &str) -> Vec<u8> {
    let shown = all_between(html, "id=\"totp-secret\">").pop().expect("the page shows the secret");
    totp::base32_decode(&shown).expect("base32")
}

fn code(secret: &[u8], t: &TestApp) -> String {
    format!("{:06}", totp::code_at(secret, totp::step_of(t.app.clock.now_ms())))
}

/// A six-digit code that is none of the codes accepted now.
fn wrong_code(secret: &[u8], t: &TestApp) -> String {
    let now = totp::step_of(t.app.clock.now_ms());
    let accepted: Vec<u32> = (now - 1..=now + 1).map(|s| totp::code_at(secret, s)).collect();
    let wrong = (0..1_000_000u32).find(|c| !accepted.contains(c)).expect("a wrong code");
    format!("{wrong:06}")
}

/// Turns two-step sign-in on for the logged-in browser; returns the secret and recovery codes.
async fn enrol(t: &TestApp, client: &reqwest::Client) -> (Vec<u8>, Vec<String>) {
    let (status, _, html) = get(t, client, "/account/security").await;
    assert_eq!(status, 200);
    let secret = secret_on(&html);
    let r = post_form(t, client, "/account/security/confirm", &[("code", &code(&secret, t))]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let codes: Vec<String> = all_between(&html, "<li><code>");
    assert_eq!(codes.len(), 10, "ten recovery codes are shown once");
    assert!(html.contains("id=\"codes-left\">10<"), "{html}");
    (secret, codes)
}

/// Password step: (status, Location, whether a session cookie was set).
async fn password_step(t: &TestApp, client: &reqwest::Client, email: &str) -> (u16, String, bool) {
    let r = post_form(t, client, "/login", &[("email", email), ("password", PASSWORD), ("tenant", "demo")]).await;
    let session = r.headers().get_all(reqwest::header::SET_COOKIE).iter().any(|v| {
        v.to_str().unwrap_or("").starts_with("atende_session=") && !v.to_str().unwrap_or("").contains("Max-Age=0")
    });
    (r.status().as_u16(), location(&r), session)
}

async fn code_step(t: &TestApp, client: &reqwest::Client, code: &str) -> (u16, String) {
    let r = post_form(t, client, "/login/code", &[("code", code)]).await;
    (r.status().as_u16(), location(&r))
}

engine_test!(two_step_sign_in_asks_for_a_code_that_works_once, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    t.create_user(tenant, "ana@demo.local", Role::Agent, PASSWORD).await;
    let ana = t.login("ana@demo.local", PASSWORD, "demo").await;

    // A wrong first code does not turn it on.
    let (_, _, html) = get(&t, &ana, "/account/security").await;
    let secret = secret_on(&html);
    let r = post_form(&t, &ana, "/account/security/confirm", &[("code", &wrong_code(&secret, &t))]).await;
    assert_eq!(r.status(), 422);
    assert_eq!(t.count("users", "email = 'ana@demo.local' AND totp_secret IS NOT NULL").await, 0);
    // Reloading keeps the same secret (the app may have scanned it already).
    let (_, _, again) = get(&t, &ana, "/account/security").await;
    assert_eq!(secret_on(&again), secret);

    let (secret, recovery) = enrol(&t, &ana).await;
    assert_eq!(t.count("audit_log", "action = 'two_factor.enabled'").await, 1);
    // The secret is sealed at rest, never stored as typed.
    let shown = totp::base32_encode(&secret);
    assert_eq!(t.count("users", &format!("totp_secret LIKE '%{shown}%'")).await, 0);
    let enrolment_code = code(&secret, &t);

    // The password alone opens no session: the second step is asked for.
    let browser = t.browser();
    let (status, to, session) = password_step(&t, &browser, "ana@demo.local").await;
    assert_eq!((status, to.as_str(), session), (303, "/login/code", false));
    let (status, to, _) = get(&t, &browser, "/inbox").await;
    assert_eq!(status, 303);
    assert!(to.starts_with("/login"), "{to}");
    let (status, _, html) = get(&t, &browser, "/login/code").await;
    assert_eq!(status, 200);
    assert!(html.contains("Verificação em duas etapas"));

    // The code used to enrol is spent; a wrong one is refused.
    assert_eq!(code_step(&t, &browser, &enrolment_code).await.0, 401);
    assert_eq!(code_step(&t, &browser, &wrong_code(&secret, &t)).await.0, 401);
    // A minute later the app shows a new code, and it signs in.
    t.app.clock.advance(Duration::from_secs(60));
    let fresh = code(&secret, &t);
    assert_eq!(code_step(&t, &browser, &fresh).await, (303, "/inbox".to_string()));
    assert_eq!(get(&t, &browser, "/inbox").await.0, 200);

    // The same code again, from another browser with the password: refused.
    let other = t.browser();
    assert_eq!(password_step(&t, &other, "ana@demo.local").await.1, "/login/code");
    assert_eq!(code_step(&t, &other, &fresh).await.0, 401);
    // A recovery code (typed loosely) works once.
    let loose = recovery[3].to_uppercase().replace('-', " ");
    assert_eq!(code_step(&t, &other, &loose).await.0, 303);
    let third = t.browser();
    password_step(&t, &third, "ana@demo.local").await;
    assert_eq!(code_step(&t, &third, &recovery[3]).await.0, 401);
    let (_, _, html) = get(&t, &other, "/account/security").await;
    assert!(html.contains("id=\"codes-left\">9<"));

    // Turning it off needs the password and a code.
    t.app.clock.advance(Duration::from_secs(60));
    let r = post_form(
        &t,
        &other,
        "/account/security/disable",
        &[("password", "not it at all"), ("code", &code(&secret, &t))],
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post_form(&t, &other, "/account/security/disable", &[("password", PASSWORD), ("code", &code(&secret, &t))])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(t.count("recovery_codes", "1 = 1").await, 0);
    let plain = t.browser();
    let (status, to, session) = password_step(&t, &plain, "ana@demo.local").await;
    assert_eq!((status, to.as_str(), session), (303, "/inbox", true));
});

engine_test!(a_challenge_ends_after_five_wrong_codes, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    t.create_user(tenant, "bia@demo.local", Role::Agent, PASSWORD).await;
    let bia = t.login("bia@demo.local", PASSWORD, "demo").await;
    let (secret, _) = enrol(&t, &bia).await;
    let browser = t.browser();
    password_step(&t, &browser, "bia@demo.local").await;
    for _ in 0..5 {
        assert_eq!(code_step(&t, &browser, &wrong_code(&secret, &t)).await.0, 401);
    }
    // Used up: even a right code now means typing the password again.
    t.app.clock.advance(Duration::from_secs(60));
    assert_eq!(code_step(&t, &browser, &code(&secret, &t)).await, (303, "/login?expired=1".to_string()));
    // After the password again, the right code works.
    password_step(&t, &browser, "bia@demo.local").await;
    assert_eq!(code_step(&t, &browser, &code(&secret, &t)).await.0, 303);
    // Past ten wrong codes in a quarter of an hour, even the right one waits.
    for _ in 0..6 {
        let b = t.browser();
        password_step(&t, &b, "bia@demo.local").await;
        code_step(&t, &b, &wrong_code(&secret, &t)).await;
    }
    t.app.clock.advance(Duration::from_secs(60));
    let b = t.browser();
    password_step(&t, &b, "bia@demo.local").await;
    assert_eq!(code_step(&t, &b, &code(&secret, &t)).await.0, 429);
});

engine_test!(a_company_can_require_it_and_an_admin_can_reset_it, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let caio = t.create_user(tenant, "caio@demo.local", Role::Agent, PASSWORD).await;
    let admin = t.login_demo_admin().await;
    let agent = t.login("caio@demo.local", PASSWORD, "demo").await;

    // Only admins set the rule.
    assert_eq!(post_form(&t, &agent, "/admin/settings/two-factor", &[("required", "1")]).await.status(), 403);
    let r = post_form(&t, &admin, "/admin/settings/two-factor", &[("required", "1")]).await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/admin/settings?saved=two_factor_required".into()));
    // The rule is for everyone, the admin who set it too.
    assert_eq!(get(&t, &admin, "/admin/settings").await.1, "/account/security");
    enrol(&t, &admin).await;
    let (_, _, settings) = get(&t, &admin, "/admin/settings").await;
    assert!(settings.contains("name=\"required\" value=\"1\" checked"), "{settings}");

    // Without it set up, every page leads to the set-up; the set-up page says why.
    let (status, to, _) = get(&t, &agent, "/inbox").await;
    assert_eq!((status, to.as_str()), (303, "/account/security"));
    let (status, _, html) = get(&t, &agent, "/account/security").await;
    assert_eq!(status, 200);
    assert!(html.contains("Sua empresa exige a verificação em duas etapas"));
    enrol(&t, &agent).await;
    assert_eq!(get(&t, &agent, "/inbox").await.0, 200);
    let (_, _, html) = get(&t, &agent, "/account/security").await;
    assert!(!html.contains("/account/security/disable"), "no way to turn it off while required");

    // Another company's admin cannot touch this person.
    let other = t.create_tenant("outra").await;
    t.create_user(other, "chefe@outra.local", Role::Admin, PASSWORD).await;
    let stranger = t.login("chefe@outra.local", PASSWORD, "outra").await;
    let path = format!("/admin/users/{}/two-factor/reset", caio.id.0);
    assert_eq!(post_form(&t, &stranger, &path, &[]).await.status(), 404);
    assert_eq!(post_form(&t, &agent, &path, &[]).await.status(), 403);
    assert_eq!(t.count("users", "email = 'caio@demo.local' AND totp_secret IS NOT NULL").await, 1);

    // The admin sees it on the person's page and removes it (lost phone): sessions end.
    let (_, _, page) = get(&t, &admin, &format!("/admin/users/{}", caio.id.0)).await;
    assert!(page.contains(&path));
    let r = post_form(&t, &admin, &path, &[]).await;
    assert_eq!(r.status(), 303);
    assert!(get(&t, &agent, "/inbox").await.1.starts_with("/login"));
    assert_eq!(t.count("audit_log", "action = 'two_factor.reset'").await, 1);
    // Next login needs no code, and leads to the set-up again (still required).
    let again = t.login("caio@demo.local", PASSWORD, "demo").await;
    assert_eq!(get(&t, &again, "/inbox").await.1, "/account/security");
    // Lifting the rule frees them.
    post_form(&t, &admin, "/admin/settings/two-factor", &[]).await;
    assert_eq!(get(&t, &again, "/inbox").await.0, 200);
});

engine_test!(people_see_their_sessions_and_end_the_others, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    t.create_user(tenant, "duda@demo.local", Role::Agent, PASSWORD).await;
    t.create_user(tenant, "edu@demo.local", Role::Agent, PASSWORD).await;
    let windows =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
    let phone = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Firefox/121.0";
    let browser = |ua: &str| {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(ua.to_string())
            .build()
            .unwrap()
    };
    let login = |client: reqwest::Client, email: &'static str| {
        let t = &t;
        async move {
            let (status, _, session) = password_step(t, &client, email).await;
            assert_eq!((status, session), (303, true));
            client
        }
    };
    let desk = login(browser(windows), "duda@demo.local").await;
    let mobile = login(browser(phone), "duda@demo.local").await;
    let edu = login(browser(windows), "edu@demo.local").await;
    // Last activity is kept to within minutes: a request ten minutes on marks only its session.
    assert_eq!(get(&t, &desk, "/inbox").await.0, 200);
    assert_eq!(t.count("sessions", "last_seen_at > created_at").await, 0);
    t.app.clock.advance(Duration::from_secs(600));
    assert_eq!(get(&t, &desk, "/inbox").await.0, 200);
    assert_eq!(t.count("sessions", "last_seen_at > created_at").await, 1);

    let (_, _, html) = get(&t, &desk, "/account/security").await;
    assert!(html.contains("Chrome · Windows"));
    assert!(html.contains("Firefox · Android"));
    assert_eq!(html.matches("este navegador").count(), 1);

    // End the phone's session by its row: it is logged out, the desk stays.
    let ends: Vec<String> = all_between(&html, "action=\"/account/security/sessions/")
        .into_iter()
        .filter(|a| a.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(ends.len(), 1, "only the other session has an end button");
    let id = ends[0].split('/').next().unwrap().to_string();
    assert_eq!(post_form(&t, &desk, &format!("/account/security/sessions/{id}/end"), &[]).await.status(), 303);
    assert!(get(&t, &mobile, "/inbox").await.1.starts_with("/login"));
    assert_eq!(get(&t, &desk, "/inbox").await.0, 200);

    // Someone else's session id is not theirs to end.
    let (_, _, edu_page) = get(&t, &edu, "/account/security").await;
    assert!(edu_page.contains("este navegador"));
    let edu_session: i64 = sqlx::Row::get(
        &sqlx::query("SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'edu@demo.local'")
            .fetch_one(t.app.db.reader())
            .await
            .unwrap(),
        0,
    );
    let path = format!("/account/security/sessions/{edu_session}/end");
    assert_eq!(post_form(&t, &desk, &path, &[]).await.status(), 404);
    assert_eq!(get(&t, &edu, "/inbox").await.0, 200);

    // "Sair de todos os outros dispositivos".
    let mobile = login(browser(phone), "duda@demo.local").await;
    let tablet = login(browser(phone), "duda@demo.local").await;
    let r = post_form(&t, &desk, "/account/security/sessions/end-others", &[]).await;
    assert_eq!(location(&r), "/account/security?saved=other_sessions_ended");
    for gone in [&mobile, &tablet] {
        assert!(get(&t, gone, "/inbox").await.1.starts_with("/login"));
    }
    assert_eq!(get(&t, &desk, "/inbox").await.0, 200);
    assert_eq!(get(&t, &edu, "/inbox").await.0, 200);
});
