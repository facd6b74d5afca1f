//! The OpenAPI document and the docs page: `/api/v1/openapi.json` is OpenAPI 3.1 JSON with the
//! bearer scheme; every route registered in `src/http/api/` is in it, and every operation in it
//! is routed; errors are documented with the envelope; the docs page and its own assets are
//! served from the binary and load nothing from elsewhere.

use std::collections::BTreeSet;

use atende::domain::Scope;
use serde_json::Value;

use crate::engine_test;
use crate::support::TestApp;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(method, path)` of every `.route("…", …)` in the API's source files (the docs page's routes,
/// outside `/api/v1`, excepted).
fn registered_routes() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/api");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("docs.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let mut rest = source.as_str();
        while let Some(at) = rest.find(".route(\"") {
            rest = &rest[at + ".route(\"".len()..];
            let end = rest.find('"').unwrap();
            let route = rest[..end].to_string();
            // The handler expression: up to the parenthesis closing `.route(`.
            let mut depth = 1;
            let mut stop = rest.len();
            for (i, ch) in rest.char_indices() {
                match ch {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            stop = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let expr = &rest[end + 1..stop];
            let mut found = false;
            for method in METHODS {
                let call = format!("{method}(");
                let mut from = 0;
                while let Some(i) = expr[from..].find(&call) {
                    let pos = from + i;
                    let before = expr[..pos].chars().last().unwrap_or(' ');
                    if !(before.is_alphanumeric() || before == '_') {
                        out.insert((method.to_string(), route.clone()));
                        found = true;
                    }
                    from = pos + call.len();
                }
            }
            assert!(found, "no method found for route {route} in {}", path.display());
        }
    }
    out
}

async fn spec(t: &TestApp) -> Value {
    let response = reqwest::get(t.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("openapi.json is not JSON: {e}"))
}

fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_string(), path.clone(), op.clone()));
            }
        }
    }
    out
}

engine_test!(the_spec_is_openapi_3_1_and_lists_every_registered_route, |t: TestApp| async move {
    let spec = spec(&t).await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1."), "{}", spec["openapi"]);
    assert_eq!(spec["info"]["title"], "Atende REST API");
    assert_eq!(spec["servers"][0]["url"], "/api/v1");
    let bearer = &spec["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");

    let documented: BTreeSet<(String, String)> = operations(&spec).into_iter().map(|(m, p, _)| (m, p)).collect();
    let registered = registered_routes();
    assert!(registered.len() >= 30, "the scan found too few routes: {registered:?}");
    let missing: Vec<_> = registered.difference(&documented).collect();
    assert!(missing.is_empty(), "routes missing from openapi.json: {missing:?}");
    let unrouted: Vec<_> = documented.difference(&registered).collect();
    assert!(unrouted.is_empty(), "operations in openapi.json that no route serves: {unrouted:?}");

    // Every operation answers through its route (not the fallback), and documents its errors.
    let token = t.token(t.demo_tenant().await, &Scope::ALL).await;
    let client = reqwest::Client::new();
    for (method, path, op) in operations(&spec) {
        let responses = op["responses"].as_object().unwrap();
        let secured =
            op.get("security").is_none_or(|s| s.as_array().unwrap().iter().any(|r| r != &serde_json::json!({})));
        if secured {
            for status in ["401", "403", "429"] {
                let r = responses.get(status).unwrap_or_else(|| panic!("{method} {path} does not document {status}"));
                let schema = &r["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
            }
        }
        for (status, r) in responses {
            if status.starts_with('4') {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
        if path == "/events" {
            continue;
        }
        let url = t.url(&format!("/api/v1{}", path.replace("{id}", "999999").replace("{tag_id}", "999999")));
        let response = client
            .request(method.to_uppercase().parse().unwrap(), url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(if method == "get" || method == "delete" { "" } else { "{}" })
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(status, 405, "{method} {path}");
        assert!(body["error"]["message"] != "no such endpoint", "{method} {path} is not routed");
        assert!(status.as_u16() < 500, "{method} {path}: {status} {body}");
        if status != 200 && status != 201 && status != 202 && status != 204 {
            assert!(responses.contains_key(status.as_str()), "{method} {path} answered undocumented {status}: {body}");
        }
    }
    t.stop().await;
});

engine_test!(the_docs_page_and_its_assets_come_from_the_binary, |t: TestApp| async move {
    let page = reqwest::get(t.url("/api/docs")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("/api/docs/docs.js") && html.contains("/api/docs/docs.css"), "{html}");
    // Its chrome speaks pt-BR (the script switches to English for English browsers) and leads
    // back to the app.
    assert!(html.contains(r#"<html lang="pt-BR">"#) && html.contains("Voltar ao Atende"), "{html}");
    assert!(html.contains(r#"href="/admin/tokens""#), "{html}");
    for asset in ["/api/docs/docs.js", "/api/docs/docs.css"] {
        let response = reqwest::get(t.url(asset)).await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let text = response.text().await.unwrap();
        assert!(text.len() > 500, "{asset} is too small to be real");
        // Nothing is fetched from another origin.
        for external in ["http://", "https://", "//cdn", "@import"] {
            assert!(!text.contains(external), "{asset} refers to {external}");
        }
    }
    let script = reqwest::get(t.url("/api/docs/docs.js")).await.unwrap().text().await.unwrap();
    assert!(script.contains("/api/v1/openapi.json"));
    assert!(!script.contains("innerHTML"), "the page builds the DOM with textContent only");
    for external in ["http://", "https://"] {
        assert!(!html.contains(external), "the page refers to {external}");
    }
    t.stop().await;
});
