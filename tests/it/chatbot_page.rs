//! The Chatbot page over HTTP: the editor's map and problems for a flow being typed, the test
//! chat's turns (nothing written), saving a new version without touching the business hours,
//! an invalid flow refused with its node named, and agents kept out. On SQLite and PostgreSQL.

use atende::actions::automation::{self, AutomationInput};
use atende::actions::Actor;
use atende::domain::Role;
use serde_json::{json, Value};

use crate::engine_test;
use crate::support::{extract_csrf, TestApp};

engine_test!(the_chatbot_page_draws_tests_and_saves_flows_for_admins_only, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let suporte = t.department(demo, "Suporte").await;
    let input = AutomationInput {
        enabled: true,
        time_zone: "America/Sao_Paulo".into(),
        days: std::array::from_fn(|_| "08:00-18:00".to_string()),
        optional_holidays: Vec::new(),
        greeting: "Olá!".into(),
        away_message: String::new(),
        flow: String::new(),
        urgent_words: String::new(),
        handoff_after: 0,
    };
    automation::save(&t.app, &Actor::Operator, demo, input).await.unwrap();
    let admin = t.login_demo_admin().await;
    let page = admin.get(t.url("/admin/chatbot")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Testar este fluxo") && page.contains("/assets/flow.js"), "{page}");
    let csrf = extract_csrf(&page);
    let flow = json!({"start": "menu", "nodes": {
        "menu": {"type": "menu", "text": "Como <ajudar>?", "options": [{"label": "Suporte", "next": "s"}, {"label": "Outro", "next": "nada"}]},
        "s": {"type": "handoff", "department": suporte}
    }})
    .to_string();
    let post = |path: &'static str, fields: Vec<(&'static str, String)>| {
        let admin = admin.clone();
        let url = t.url(path);
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields);
        async move { admin.post(url).form(&form).send().await.unwrap() }
    };
    // The map marks the menu whose option goes nowhere, and says why.
    let preview: Value = post("/admin/chatbot/preview", vec![("flow", flow.clone())]).await.json().await.unwrap();
    assert_eq!(preview["errors"][0]["node"], "menu", "{preview}");
    let svg = preview["svg"].as_str().unwrap();
    assert!(svg.contains(r#"class="node menu start bad""#) && svg.contains("Como &lt;ajudar&gt;?"), "{svg}");
    let fixed = flow.replace("\"nada\"", "\"s\"");
    let preview: Value = post("/admin/chatbot/preview", vec![("flow", fixed.clone())]).await.json().await.unwrap();
    assert_eq!(preview["errors"], json!([]));

    // The test chat: the menu, then the hand-off; nothing written.
    let first: Value =
        post("/admin/chatbot/test", vec![("flow", fixed.clone()), ("reply", "oi".into())]).await.json().await.unwrap();
    assert_eq!(first["says"][0]["options"], json!(["Suporte", "Outro"]), "{first}");
    let state = first["state"].as_str().unwrap().to_string();
    let second: Value =
        post("/admin/chatbot/test", vec![("flow", fixed.clone()), ("state", state), ("reply", "1".into())])
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(second["outcome"], "Transferido para o setor Suporte", "{second}");
    assert_eq!(t.count("messages", "1=1").await + t.count("flows", "1=1").await, 0);

    // Refused with the node named; then saved as a version, the hours untouched.
    let refused = post("/admin/chatbot", vec![("flow", flow.clone())]).await;
    assert_eq!(refused.status(), 422);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("(menu: ") && text.contains("nada"),
        "{}",
        text.split("alert error").nth(1).unwrap_or("").chars().take(300).collect::<String>()
    );
    let saved = post("/admin/chatbot", vec![("flow", fixed.clone())]).await;
    assert_eq!(saved.status(), 303);
    let location = saved.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/admin/chatbot?id=") && location.ends_with("&saved=1"), "{location}");
    let (a, stored) = automation::get(&t.app, &Actor::Operator, demo).await.unwrap();
    assert!(a.enabled && a.hours.contains("480") && a.greeting == "Olá!", "{a:?}");
    let read = |s: &str| serde_json::from_str::<atende::domain::flow::Flow>(s).unwrap();
    assert_eq!(read(&stored.unwrap()), read(&fixed));

    // Agents see neither the page nor its helpers.
    t.create_user(demo, "agente@demo.test", Role::Agent, "uma senha longa 123").await;
    let agent = t.login("agente@demo.test", "uma senha longa 123", "demo").await;
    let page = agent.get(t.url("/admin/chatbot")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    let agent_csrf = t.csrf(&agent).await;
    let answer = agent
        .post(t.url("/admin/chatbot/test"))
        .form(&[("csrf", agent_csrf.as_str()), ("flow", fixed.as_str()), ("reply", "oi")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
});
