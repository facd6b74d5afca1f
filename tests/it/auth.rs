//! Logging in and out: credentials, session cookies, rate limits, CSRF, password changes,
//! e-mails shared by several companies.

use crate::engine_test;
use crate::support::TestApp;
use atende::domain::Role;

/// Posts the login form (with this browser's CSRF token) and returns the raw answer.
async fn post_login(
    t: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
    tenant: &str,
) -> reqwest::Response {
    let csrf = t.csrf(client).await;
    client
        .post(t.url("/login"))
        .form(&[("csrf", csrf.as_str()), ("email", email), ("password", password), ("tenant", tenant)])
        .send()
        .await
        .expect("post /login")
}

/// The `Set-Cookie` header that sets the session cookie, if the answer has one.
fn session_set_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("atende_session="))
        .map(str::to_string)
}

/// The value of the session cookie an answer sets.
fn session_value(response: &reqwest::Response) -> String {
    let header = session_set_cookie(response).expect("answer sets the session cookie");
    header["atende_session=".len()..].split(';').next().unwrap_or_default().to_string()
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get(reqwest::header::LOCATION).expect("has Location").to_str().unwrap().to_string()
}

/// The text of the page's error alert.
fn alert(html: &str) -> String {
    let marker = "<p class=\"alert error\" role=\"alert\">";
    let start = html.find(marker).expect("page shows an error") + marker.len();
    let end = html[start..].find("</p>").expect("alert ends") + start;
    html[start..end].to_string()
}

/// GET `/` with only the given session cookie (no cookie store).
async fn home_with_cookie(t: &TestApp, session: &str) -> reqwest::Response {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    client.get(t.url("/")).header(reqwest::header::COOKIE, format!("atende_session={session}")).send().await.unwrap()
}

/// Whether `location` is the login page asking to come back to `/`.
fn is_login_redirect_to_home(location: &str) -> bool {
    location == "/login?next=/" || location == "/login?next=%2F"
}

engine_test!(logging_in_sets_a_protected_session_cookie_and_opens_the_home_page, |t: TestApp| async move {
    let client = t.browser();
    let before = client.get(t.url("/")).send().await.unwrap();
    assert_eq!(before.status(), 303, "home needs a session");

    let response = post_login(&t, &client, "admin@demo.local", &t.logins.demo_password, "demo").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/inbox", "the inbox is where people land");
    let cookie = session_set_cookie(&response).expect("session cookie set");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(session_value(&response).len() >= 32, "{cookie}");
    assert_eq!(t.count("sessions", "1=1").await, 1);

    let home = client.get(t.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains("<span class=\"user-name\">Demo admin</span>"), "the user menu names who is in: {html}");
    assert!(html.contains("<h1>Primeiros passos</h1>"), "an admin starts with the first steps: {html}");
    t.stop().await;
});

engine_test!(a_wrong_password_and_an_unknown_email_get_the_same_answer, |t: TestApp| async move {
    let client = t.browser();
    let wrong_password = post_login(&t, &client, "admin@demo.local", "not-the-password", "demo").await;
    assert_eq!(wrong_password.status(), 401);
    assert!(session_set_cookie(&wrong_password).is_none());
    let wrong_password = wrong_password.text().await.unwrap();

    let unknown = post_login(&t, &client, "nobody@demo.local", "not-the-password", "demo").await;
    assert_eq!(unknown.status(), 401);
    assert!(session_set_cookie(&unknown).is_none());
    let unknown = unknown.text().await.unwrap();

    assert_eq!(alert(&wrong_password), "E-mail ou senha incorretos.");
    assert_eq!(alert(&unknown), alert(&wrong_password));
    assert_eq!(t.count("sessions", "1=1").await, 0);
    t.stop().await;
});

engine_test!(five_failed_logins_lock_that_address_out_of_the_account, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    t.create_user(demo, "other@demo.local", Role::Agent, "other-password-1").await;
    let client = t.browser();
    for attempt in 1..=5 {
        let r = post_login(&t, &client, "admin@demo.local", "wrong-password", "demo").await;
        assert_eq!(r.status(), 401, "attempt {attempt}");
    }
    let sixth = post_login(&t, &client, "admin@demo.local", &t.logins.demo_password, "demo").await;
    // Even the right password, from that address.
    assert_eq!(sixth.status(), 429);
    assert!(sixth.headers().contains_key(reqwest::header::RETRY_AFTER));
    assert!(session_set_cookie(&sixth).is_none());
    let html = sixth.text().await.unwrap();
    assert!(alert(&html).starts_with("Muitas tentativas"), "{html}");
    assert_eq!(t.count("sessions", "1=1").await, 0);

    // Another account of the same company is not affected (nor is this account from another
    // address: see security::web).
    let other = post_login(&t, &t.browser(), "other@demo.local", "other-password-1", "demo").await;
    assert_eq!(other.status(), 303);
    assert_eq!(t.count("sessions", "1=1").await, 1);
    t.stop().await;
});

engine_test!(failed_logins_count_against_the_account_however_the_company_is_spaced, |t: TestApp| async move {
    let client = t.browser();
    for tenant in ["demo", " demo", "demo ", "  demo", " demo  "] {
        let r = post_login(&t, &client, "admin@demo.local", "wrong-password", tenant).await;
        assert_eq!(r.status(), 401, "company {tenant:?}");
    }
    let r = post_login(&t, &client, "admin@demo.local", &t.logins.demo_password, "   demo ").await;
    assert_eq!(r.status(), 429, "spacing the company must not reset the per-account limit");
    assert_eq!(t.count("sessions", "1=1").await, 0);
    t.stop().await;
});

engine_test!(a_post_without_the_right_csrf_token_is_refused_and_changes_nothing, |t: TestApp| async move {
    // Login form: a browser that has a CSRF cookie but sends no field, or a wrong one.
    let client = t.browser();
    let csrf = t.csrf(&client).await;
    let password = t.logins.demo_password.clone();
    let credentials = [("email", "admin@demo.local"), ("password", password.as_str()), ("tenant", "demo")];
    let missing = client.post(t.url("/login")).form(&credentials).send().await.unwrap();
    assert_eq!(missing.status(), 403);
    assert!(session_set_cookie(&missing).is_none());
    assert!(missing.text().await.unwrap().contains("O formulário expirou"));
    let wrong_token = "x".repeat(csrf.len());
    let mut wrong = credentials.to_vec();
    wrong.push(("csrf", wrong_token.as_str()));
    let wrong = client.post(t.url("/login")).form(&wrong).send().await.unwrap();
    assert_eq!(wrong.status(), 403);
    // A field without any CSRF cookie (another site's form) is refused too.
    let mut no_cookie = credentials.to_vec();
    no_cookie.push(("csrf", csrf.as_str()));
    let no_cookie = reqwest::Client::new().post(t.url("/login")).form(&no_cookie).send().await.unwrap();
    assert_eq!(no_cookie.status(), 403);
    assert_eq!(t.count("sessions", "1=1").await, 0);

    // Admin form.
    let admin = t.login_demo_admin().await;
    let csrf = t.csrf(&admin).await;
    let users = t.count("users", "1=1").await;
    let new_user = [("email", "eve@demo.local"), ("name", "Eve"), ("role", "agent")];
    let missing = admin.post(t.url("/admin/users")).form(&new_user).send().await.unwrap();
    assert_eq!(missing.status(), 403);
    let mut wrong = new_user.to_vec();
    wrong.push(("csrf", wrong_token.as_str()));
    let wrong = admin.post(t.url("/admin/users")).form(&wrong).send().await.unwrap();
    assert_eq!(wrong.status(), 403);
    assert_eq!(t.count("users", "1=1").await, users);
    assert_eq!(t.count("users", "email = 'eve@demo.local'").await, 0);

    // The same post with the right token goes through.
    let mut right = new_user.to_vec();
    right.push(("csrf", csrf.as_str()));
    let right = admin.post(t.url("/admin/users")).form(&right).send().await.unwrap();
    assert_eq!(right.status(), 200);
    assert_eq!(t.count("users", "email = 'eve@demo.local'").await, 1);
    t.stop().await;
});

engine_test!(logging_out_ends_the_session_for_good, |t: TestApp| async move {
    let client = t.browser();
    let response = post_login(&t, &client, "admin@demo.local", &t.logins.demo_password, "demo").await;
    assert_eq!(response.status(), 303);
    let old = session_value(&response);
    assert_eq!(home_with_cookie(&t, &old).await.status(), 200);

    let csrf = t.csrf(&client).await;
    let out = client.post(t.url("/logout")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(location(&out), "/login");
    let cleared = session_set_cookie(&out).expect("logout clears the cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(t.count("sessions", "1=1").await, 0);

    // Even a copy of the old cookie no longer opens anything.
    let again = home_with_cookie(&t, &old).await;
    assert_eq!(again.status(), 303);
    let to = location(&again);
    assert!(is_login_redirect_to_home(&to), "{to}");
    let browser = client.get(t.url("/")).send().await.unwrap();
    assert_eq!(browser.status(), 303);
    t.stop().await;
});

engine_test!(changing_the_password_needs_the_current_one_and_ends_the_other_sessions, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "first-password-1").await;
    let mine = t.login("ana@demo.local", "first-password-1", "demo").await;
    let other = t.login("ana@demo.local", "first-password-1", "demo").await;
    let csrf = t.csrf(&mine).await;

    let wrong = mine
        .post(t.url("/account/password"))
        .form(&[("csrf", csrf.as_str()), ("current", "not-my-password"), ("new", "second-password-2")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422);
    assert_eq!(other.get(t.url("/")).send().await.unwrap().status(), 200, "a refused change ends nothing");
    let old_still_works = post_login(&t, &t.browser(), "ana@demo.local", "first-password-1", "demo").await;
    assert_eq!(old_still_works.status(), 303, "a refused change keeps the password");
    assert_eq!(t.count("sessions", &format!("user_id = {}", ana.id.0)).await, 3);

    let right = mine
        .post(t.url("/account/password"))
        .form(&[("csrf", csrf.as_str()), ("current", "first-password-1"), ("new", "second-password-2")])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 303);
    assert_eq!(location(&right), "/account?saved=password_changed");
    assert_eq!(mine.get(t.url("/")).send().await.unwrap().status(), 200, "this session keeps working");
    assert_eq!(other.get(t.url("/")).send().await.unwrap().status(), 303, "other sessions end");
    assert_eq!(t.count("sessions", &format!("user_id = {}", ana.id.0)).await, 1);

    let old = post_login(&t, &t.browser(), "ana@demo.local", "first-password-1", "demo").await;
    assert_eq!(old.status(), 401);
    let new = post_login(&t, &t.browser(), "ana@demo.local", "second-password-2", "demo").await;
    assert_eq!(new.status(), 303);
    t.stop().await;
});

engine_test!(an_email_in_two_companies_needs_the_company_to_log_in, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let acme = t.create_tenant("acme").await;
    t.create_user(demo, "shared@example.com", Role::Agent, "shared-password-1").await;
    t.create_user(acme, "shared@example.com", Role::Admin, "shared-password-1").await;

    let ambiguous = post_login(&t, &t.browser(), "shared@example.com", "shared-password-1", "").await;
    assert_eq!(ambiguous.status(), 401);
    assert!(session_set_cookie(&ambiguous).is_none());
    let html = ambiguous.text().await.unwrap();
    assert!(alert(&html).contains("informe a empresa"), "{html}");
    assert_eq!(t.count("sessions", "1=1").await, 0);

    let client = t.browser();
    let with_company = post_login(&t, &client, "shared@example.com", "shared-password-1", "acme").await;
    assert_eq!(with_company.status(), 303);
    let home = client.get(t.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Company acme"), "{home}");
    assert!(home.contains("Administrador"), "the acme account (an admin) is the one logged in: {home}");

    let client = t.browser();
    let other = post_login(&t, &client, "shared@example.com", "shared-password-1", "demo").await;
    assert_eq!(other.status(), 303);
    let home = client.get(t.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("<span class=\"tenant\">Demo</span>"), "{home}");
    assert!(home.contains("Atendente"), "{home}");
    t.stop().await;
});
