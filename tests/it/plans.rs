//! Plans: the platform admin writes a plan on its page and puts a company on it; each limit at N
//! is refused at N+1 through the web pages, the REST API and the actions (with
//! `plan_limit_reached` naming the limit), a deactivated connection frees its slot, switched-off
//! features answer `feature_disabled`, two requests racing for the last slot get it once, and a
//! company on no plan has no limits. On SQLite and PostgreSQL.

use atende::actions::connections::{create_whatsapp_cloud, set_active, CreateWhatsappCloud};
use atende::actions::{ActionError, Actor};
use atende::domain::{Role, Scope, TenantId};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::engine_test;
use crate::support::TestApp;

async fn post(t: &TestApp, c: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let csrf = t.csrf(c).await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let res = c.post(t.url(path)).form(&form).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn get(t: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let res = c.get(t.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn api(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(t.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn number(t: &TestApp, tenant: TenantId, id: &str) -> Result<i64, ActionError> {
    let input = CreateWhatsappCloud {
        name: "WhatsApp",
        phone_number_id: id,
        waba_id: "WABA1",
        access_token: "token-for-tests",
        app_secret: "secret-for-tests",
        graph_url: Some("http://127.0.0.1:9"),
        api_version: None,
        rate_per_sec: None,
    };
    create_whatsapp_cloud(&t.app, &Actor::Operator, tenant, input).await.map(|c| c.connection.id)
}

fn limit_of(e: Result<i64, ActionError>) -> (&'static str, i64) {
    match e {
        Err(ActionError::PlanLimit { limit, allowed }) => (limit, allowed),
        other => panic!("expected plan_limit_reached, got {other:?}"),
    }
}

async fn platform(t: &TestApp) -> reqwest::Client {
    t.login("admin@atende.local", &t.logins.platform_password, "platform").await
}

/// Creates a plan on the platform page; returns its id.
async fn create_plan(t: &TestApp, c: &reqwest::Client, fields: &[(&str, &str)]) -> i64 {
    let (status, body) = post(t, c, "/platform/plans", fields).await;
    assert_eq!(status, 303, "{body}");
    let name = fields.iter().find(|(k, _)| *k == "name").map(|(_, v)| *v).unwrap();
    let row: (i64,) =
        sqlx::query_as("SELECT id FROM plans WHERE name = $1").bind(name).fetch_one(t.app.db.reader()).await.unwrap();
    row.0
}

async fn put_on_plan(t: &TestApp, c: &reqwest::Client, tenant: TenantId, plan: &str) {
    let (status, body) = post(t, c, &format!("/platform/tenants/{}/plan", tenant.0), &[("plan_id", plan)]).await;
    assert_eq!(status, 303, "{body}");
}

engine_test!(each_limit_is_refused_at_n_plus_one_through_every_entry_point, |t: TestApp| async move {
    let acme = t.create_tenant("plano-acme").await;
    let other = t.create_tenant("plano-outra").await;
    t.create_user(acme, "dona@acme.local", Role::Admin, "senha-da-dona-1").await;
    let op = platform(&t).await;
    let plan = create_plan(
        &t,
        &op,
        &[
            ("name", "Básico <b>"),
            ("price", "99,90"),
            ("period", "monthly"),
            ("max_connections", "2"),
            ("max_agents", "2"),
            ("max_departments", "1"),
            ("max_contacts", "2"),
            ("feature_api", "1"),
            ("feature_chat", "1"),
            ("active", "1"),
        ],
    )
    .await;
    let stored = atende::store::plans::get(t.app.db.reader(), plan).await.unwrap().unwrap();
    assert_eq!((stored.price_cents, stored.max_connections, stored.max_chatbots), (9990, Some(2), None));
    assert!(stored.feature_api && !stored.feature_kanban && !stored.feature_campaigns);
    let (status, page) = get(&t, &op, "/platform/plans").await;
    assert_eq!(status, 200);
    assert!(page.contains("Básico &") && !page.contains("Básico <b>"), "the name is escaped");
    assert!(page.contains("R$ 99,90"));
    put_on_plan(&t, &op, acme, &plan.to_string()).await;
    assert_eq!(t.count("audit_log", &format!("tenant_id = {} AND action = 'plan.changed'", acme.0)).await, 1);

    // Connections: two fit, the third is refused naming the limit; deactivating one frees a
    // slot, and turning it back on then is refused.
    let first = number(&t, acme, "PNPLAN1").await.unwrap();
    number(&t, acme, "PNPLAN2").await.unwrap();
    assert_eq!(limit_of(number(&t, acme, "PNPLAN3").await), ("connections", 2));
    assert_eq!(t.count("connections", &format!("tenant_id = {}", acme.0)).await, 2, "nothing half-written");
    set_active(&t.app, &Actor::Operator, acme, first, false).await.unwrap();
    number(&t, acme, "PNPLAN3").await.unwrap();
    let back = set_active(&t.app, &Actor::Operator, acme, first, true).await;
    assert!(matches!(back, Err(ActionError::PlanLimit { limit: "connections", .. })), "{back:?}");
    // Another company is not counted, and has no plan.
    for id in ["PNOUTRA1", "PNOUTRA2", "PNOUTRA3"] {
        number(&t, other, id).await.unwrap();
    }

    // People, through the Usuários page: the owner is one, a second fits, the third is refused
    // with the limit in Portuguese; the page shows the usage.
    let owner = t.login("dona@acme.local", "senha-da-dona-1", "plano-acme").await;
    let user = |email: &'static str| {
        let (t, owner) = (&t, owner.clone());
        async move {
            post(
                t,
                &owner,
                "/admin/users",
                &[("email", email), ("name", "Pessoa"), ("role", "agent"), ("password", "senha-boa-123")],
            )
            .await
        }
    };
    assert_eq!(user("ana@acme.local").await.0, 200);
    let (status, page) = user("bia@acme.local").await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("O limite do plano da empresa foi atingido (usuários: 2)"), "{page}");
    assert_eq!(t.count("users", &format!("tenant_id = {}", acme.0)).await, 2);
    let (_, page) = get(&t, &owner, "/admin/users").await;
    assert!(page.contains("2 de 2 usuários no plano"), "usage on the page");
    let (_, page) = get(&t, &owner, "/admin/connections").await;
    assert!(page.contains("2 de 2 conexões no plano"));

    // Departments, through the action every entry point calls.
    t.department(acme, "Vendas").await;
    let input = atende::actions::departments::DepartmentInput {
        name: "Suporte".into(),
        colour: "#2563eb".into(),
        greeting: String::new(),
        sign_messages: false,
        distribution_mode: atende::domain::inbox::DistributionMode::Off,
    };
    let refused = atende::actions::departments::create_department(&t.app, &Actor::Operator, acme, input).await;
    assert!(matches!(refused, Err(ActionError::PlanLimit { limit: "departments", allowed: 1 })), "{refused:?}");

    // Contacts, through the REST API: 403 with the limit and what the plan allows; a bulk
    // request that would pass the limit is refused whole; updating a stored contact still works.
    let token = t.token(acme, &[Scope::Read, Scope::Write]).await;
    assert_eq!(api(&t, &token, "/contacts", json!({"name": "Um", "phone": "5511911170001"})).await.0, 201);
    let (status, body) = api(
        &t,
        &token,
        "/contacts/bulk",
        json!({"contacts": [
            {"name": "Dois", "phone": "5511911170002"}, {"name": "Três", "phone": "5511911170003"}
        ]}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "plan_limit_reached");
    assert_eq!(t.count("contacts", &format!("tenant_id = {}", acme.0)).await, 1, "the batch is refused whole");
    assert_eq!(api(&t, &token, "/contacts", json!({"name": "Dois", "phone": "5511911170002"})).await.0, 201);
    let (status, body) = api(&t, &token, "/contacts", json!({"name": "Três", "phone": "5511911170003"})).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"],
        json!({"code": "plan_limit_reached", "message": body["error"]["message"], "limit": "contacts", "allowed": 2})
    );
    let (status, _) =
        api(&t, &token, "/contacts/bulk", json!({"contacts": [{"name": "Um, renomeado", "phone": "5511911170001"}]}))
            .await;
    assert_eq!(status, 200, "an update adds no contact");

    // The Plano page shows the plan and its usage; features off are marked.
    let (status, page) = get(&t, &owner, "/admin/plan").await;
    assert_eq!(status, 200);
    assert!(page.contains("Básico &") && page.contains("R$ 99,90"));
    assert!(page.contains("2 de 2") && page.contains("✗ Kanban"), "{page}");

    // Kanban is off in this plan: refused on its page. The API is on until the plan changes.
    assert_eq!(get(&t, &owner, "/kanban").await.0, 403);
    let me = reqwest::Client::new().get(t.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let (status, body) = post(
        &t,
        &op,
        &format!("/platform/plans/{plan}"),
        &[
            ("name", "Básico <b>"),
            ("price", "99,90"),
            ("period", "monthly"),
            ("max_contacts", "2"),
            ("max_connections", "2"),
            ("active", "1"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let me = reqwest::Client::new().get(t.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 403);
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["error"]["code"], "feature_disabled");

    // Back on no plan: no limits.
    put_on_plan(&t, &op, acme, "").await;
    assert_eq!(api(&t, &token, "/contacts", json!({"name": "Três", "phone": "5511911170003"})).await.0, 201);
    number(&t, acme, "PNPLAN4").await.unwrap();
});

engine_test!(two_requests_racing_for_the_last_slot_get_it_once, |t: TestApp| async move {
    let acme = t.create_tenant("plano-corrida").await;
    let plan = atende::store::plans::PlanFields {
        name: "Um número".into(),
        period: "monthly".into(),
        limits: [Some(2), None, None, None, None, None, None],
        features: [true; 5],
        active: true,
        ..Default::default()
    };
    let plan = atende::actions::plans::create(&t.app, &Actor::Operator, plan).await.unwrap();
    atende::actions::plans::set_tenant_plan(&t.app, &Actor::Operator, acme, Some(plan.id)).await.unwrap();
    number(&t, acme, "PNRACE0").await.unwrap();
    for round in 0..3 {
        let (ida, idb) = (format!("PNRACEA{round}"), format!("PNRACEB{round}"));
        let (a, b) = tokio::join!(number(&t, acme, &ida), number(&t, acme, &idb));
        let won = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {a:?} {b:?}");
        assert!([a, b].into_iter().any(|r| matches!(r, Err(ActionError::PlanLimit { .. }))));
        assert_eq!(t.count("connections", &format!("tenant_id = {} AND active = 1", acme.0)).await, 2);
        // Free the slot for the next round.
        let last: (i64,) = sqlx::query_as("SELECT MAX(id) FROM connections WHERE tenant_id = $1")
            .bind(acme.0)
            .fetch_one(t.app.db.reader())
            .await
            .unwrap();
        atende::actions::connections::remove(&t.app, &Actor::Operator, acme, last.0).await.unwrap();
    }
});

engine_test!(plan_pages_are_the_platform_admins_and_suspension_stops_the_company, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let admin = t.login_demo_admin().await;
    for path in ["/platform/plans", "/platform/tenants", &format!("/platform/tenants/{}", demo.0)] {
        let (status, _) = get(&t, &admin, path).await;
        assert_eq!(status, 403, "{path} is the platform admin's");
    }
    assert_eq!(
        post(&t, &admin, "/platform/plans", &[("name", "Pirata"), ("price", "0"), ("period", "monthly")]).await.0,
        403
    );
    assert_eq!(t.count("plans", "1 = 1").await, 0);
    let op = platform(&t).await;
    let (status, body) =
        post(&t, &op, "/platform/plans", &[("name", "Caro"), ("price", "dez reais"), ("period", "monthly")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("Informe o preço como 99,90."));
    let (status, _) =
        post(&t, &op, "/platform/plans", &[("name", "Ruim"), ("price", "10"), ("period", "weekly")]).await;
    assert_eq!(status, 422);
    let (status, _) = post(
        &t,
        &op,
        "/platform/plans",
        &[("name", "Ruim"), ("price", "10"), ("period", "monthly"), ("max_contacts", "-1")],
    )
    .await;
    assert_eq!(status, 422);
    create_plan(&t, &op, &[("name", "Único"), ("price", "10"), ("period", "monthly")]).await;
    assert_eq!(
        post(&t, &op, "/platform/plans", &[("name", "Único"), ("price", "10"), ("period", "monthly")]).await.0,
        409
    );
    assert_eq!(post(&t, &op, &format!("/platform/tenants/{}/plan", demo.0), &[("plan_id", "999999")]).await.0, 422);

    // Suspend: the company's people are logged out and its tokens stop; reactivate: back.
    let token = t.token(demo, &[Scope::Read]).await;
    let (status, page) = get(&t, &op, &format!("/platform/tenants/{}", demo.0)).await;
    assert_eq!(status, 200);
    assert!(page.contains("Ativa") && page.contains("Sem plano (sem limites)"));
    assert_eq!(post(&t, &op, &format!("/platform/tenants/{}/active", demo.0), &[("active", "0")]).await.0, 303);
    let res = admin.get(t.url("/inbox")).send().await.unwrap();
    let to = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(
        res.status() == 303 && to.starts_with("/login"),
        "a suspended company's session ends: {} {to}",
        res.status()
    );
    let me = reqwest::Client::new().get(t.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 401);
    assert_eq!(t.count("audit_log", &format!("tenant_id = {} AND action = 'tenant.suspended'", demo.0)).await, 1);
    assert_eq!(post(&t, &op, &format!("/platform/tenants/{}/active", demo.0), &[("active", "1")]).await.0, 303);
    let me = reqwest::Client::new().get(t.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 200);
});

engine_test!(a_support_session_is_visible_to_the_company, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let op = platform(&t).await;
    let path = format!("/platform/tenants/{}/support", demo.0);
    assert_eq!(post(&t, &op, &path, &[("reason", "  ")]).await.0, 422, "a reason is required");
    let admin = t.login_demo_admin().await;
    assert_eq!(post(&t, &admin, &path, &[("reason", "ajuda")]).await.0, 403, "only the platform admin");
    let (status, _) = post(&t, &op, &path, &[("reason", "Chamado 42: conexão caiu")]).await;
    assert_eq!(status, 303);
    // The same browser now works in the company's account, and every page says who it is.
    let (status, page) = get(&t, &op, "/inbox").await;
    assert_eq!(status, 200);
    assert!(page.contains("Sessão de suporte da plataforma:") && page.contains("admin@atende.local"), "{page}");
    let (_, own) = get(&t, &admin, "/inbox").await;
    assert!(!own.contains("Sessão de suporte"), "the company's own session has no banner");
    // In the company's audit log with the reason, and an hour long.
    let (details,): (String,) =
        sqlx::query_as("SELECT details FROM audit_log WHERE tenant_id = $1 AND action = 'support.session_started'")
            .bind(demo.0)
            .fetch_one(t.app.db.reader())
            .await
            .unwrap();
    assert!(details.contains("Chamado 42") && details.contains("admin@atende.local"), "{details}");
    let cond =
        format!("tenant_id = {} AND support_by = 'admin@atende.local' AND expires_at - created_at = 3600000", demo.0);
    assert_eq!(t.count("sessions", &cond).await, 1);
    let (_, audit) = get(&t, &admin, "/admin/audit").await;
    assert!(
        audit.contains("support.session_started") || audit.contains("suporte"),
        "the company sees it on its audit page"
    );
});
