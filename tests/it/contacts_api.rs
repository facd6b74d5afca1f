//! `/api/v1/contacts` over real HTTP: CRUD, search and cursor pages, bulk upsert with per-row
//! results and its limit, merge, template preview, export, scopes, bad input and cross-tenant
//! probes (another tenant's contacts answer 404 and stay unchanged).

use atende::domain::{Scope, TenantId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::engine_test;
use crate::support::TestApp;

struct Api<'a> {
    t: &'a TestApp,
    token: String,
}

impl Api<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req =
            reqwest::Client::new().request(method, self.t.url(&format!("/api/v1{path}"))).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let response = req.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
        };
        (status, value)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }
}

fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
}

async fn api<'a>(t: &'a TestApp, tenant: TenantId, scopes: &[Scope]) -> Api<'a> {
    Api { t, token: t.token(tenant, scopes).await }
}

engine_test!(contacts_crud_search_and_cursor_pages, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let a = api(&t, tenant, &[Scope::Read, Scope::Write]).await;
    let (status, ana) = a
        .post(
            "/contacts",
            json!({"name": "Ana Souza", "phone": "(11) 98765-4321", "email": "Ana@Example.com",
                   "custom_fields": {"cpf": "123"}, "tags": ["vip"], "consent": "marketing_opt_in"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ana}");
    assert_eq!(ana["phone"], "+5511987654321");
    assert_eq!(ana["email"], "ana@example.com");
    assert_eq!(ana["custom_fields"]["cpf"], "123");
    assert_eq!(ana["tags"], json!(["vip"]));
    assert_eq!(ana["consent"]["status"], "marketing_opt_in");
    assert_eq!(ana["consent"]["source"], "api");
    assert!(ana["consent"]["at"].as_str().unwrap().ends_with('Z'));
    let id = ana["id"].as_i64().unwrap();

    // The same mobile without its ninth digit is the same contact.
    assert_error(&a.post("/contacts", json!({"phone": "+55 11 8765-4321"})).await, StatusCode::CONFLICT, "phone_taken");
    assert_error(
        &a.post("/contacts", json!({"phone": "123"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_phone",
    );
    assert_error(
        &a.post("/contacts", json!({"email": "x@y.com"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "phone_required",
    );
    assert_error(
        &a.post("/contacts", json!({"phone": "11912345678", "consent": "maybe"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_consent",
    );
    assert_error(
        &a.post("/contacts", json!({"phone": "11912345678", "custom_fields": {"Bad Key": "x"}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_custom_fields",
    );
    assert_error(
        &a.post("/contacts", json!({"phone": "11912345678", "colour": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    let malformed = reqwest::Client::new()
        .post(t.url("/api/v1/contacts"))
        .bearer_auth(&a.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);

    let (status, got) = a.get(&format!("/contacts/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["name"], "Ana Souza");
    assert_error(&a.get("/contacts/999999").await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&a.get("/contacts/abc").await, StatusCode::NOT_FOUND, "not_found");

    // Patch: partial; null removes a field; tags replace; consent dated.
    let (status, patched) = a
        .patch(
            &format!("/contacts/{id}"),
            json!({"name": "Ana S.", "custom_fields": {"cpf": null, "plano": "ouro"}, "tags": ["novo"], "consent": "opted_out"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Ana S.");
    assert_eq!(patched["email"], "ana@example.com", "absent members stay");
    assert_eq!(patched["custom_fields"], json!({"plano": "ouro"}));
    assert_eq!(patched["tags"], json!(["novo"]));
    assert_eq!(patched["consent"]["status"], "opted_out");
    assert_error(
        &a.patch(&format!("/contacts/{id}"), json!({"email": "bad"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_email",
    );
    assert_eq!(a.get(&format!("/contacts/{id}")).await.1["name"], "Ana S.", "a refused patch changes nothing");

    // Search and cursor pages.
    for i in 0..4 {
        let (s, _) = a.post("/contacts", json!({"name": format!("Lote {i}"), "phone": format!("2198888{i:04}")})).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, found) = a.get("/contacts?q=ana%20s").await;
    assert_eq!(found["data"].as_array().unwrap().len(), 1, "{found}");
    let (_, found) = a.get("/contacts?q=98888").await;
    assert_eq!(found["data"].as_array().unwrap().len(), 4, "{found}");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/contacts?q=lote&limit=3&cursor={c}"),
            None => "/contacts?q=lote&limit=3".into(),
        };
        let (status, page) = a.get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, vec!["Lote 0", "Lote 1", "Lote 2", "Lote 3"]);
    assert_error(&a.get("/contacts?cursor=%%%").await, StatusCode::BAD_REQUEST, "invalid_cursor");
    assert_error(&a.get("/contacts?limit=500").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit");

    // Template preview.
    let (status, r) =
        a.post(&format!("/contacts/{id}/render"), json!({"template": "Oi {{nome}}, plano {{plano}}{{x}}"})).await;
    assert_eq!(status, 200);
    assert_eq!(r["text"], "Oi Ana S., plano ouro");

    // Delete: a contact without tickets goes; then it is not found.
    assert_eq!(a.delete(&format!("/contacts/{id}")).await.0, StatusCode::NO_CONTENT);
    assert_error(&a.get(&format!("/contacts/{id}")).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&a.delete(&format!("/contacts/{id}")).await, StatusCode::NOT_FOUND, "not_found");

    // Scopes: read-only tokens cannot write.
    let reader = api(&t, tenant, &[Scope::Read]).await;
    assert_error(
        &reader.post("/contacts", json!({"phone": "11955554444"})).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
    );
    assert_error(
        &reader.post("/contacts/bulk", json!({"contacts": []})).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
    );
    let writer = api(&t, tenant, &[Scope::Write]).await;
    assert_error(&writer.get("/contacts").await, StatusCode::FORBIDDEN, "insufficient_scope");
    t.stop().await;
});

engine_test!(bulk_upsert_reports_each_row_merges_duplicates_and_enforces_its_limit, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let a = api(&t, tenant, &[Scope::Read, Scope::Write]).await;
    let (_, existing) =
        a.post("/contacts", json!({"name": "Já Existia", "phone": "552198765432", "email": "ja@x.com"})).await;
    let existing_id = existing["id"].as_i64().unwrap();
    let rows = json!({"contacts": [
        {"name": "Novo", "phone": "11 91111-2222", "tags": ["lead"]},
        {"phone": "+55 21 99876-5432", "custom_fields": {"plano": "ouro"}},
        {"name": "Novo de novo", "phone": "5511911112222", "custom_fields": {"origem": "site"}},
        {"phone": "abc"},
        {"email": "ja@x.com", "name": "Já Existia (por e-mail)"},
        {"email": "ninguem@x.com"},
        {"phone": "11 92222-3333", "email": "nope"},
        {}
    ]});
    let (status, out) = a.post("/contacts/bulk", rows).await;
    assert_eq!(status, 200, "{out}");
    let r = out["results"].as_array().unwrap();
    assert_eq!(r.len(), 8);
    let status_of = |i: usize| r[i]["status"].as_str().unwrap().to_string();
    let code_of = |i: usize| r[i]["error"]["code"].as_str().unwrap_or("").to_string();
    assert_eq!(status_of(0), "created");
    assert_eq!(r[0]["id"], r[2]["id"], "duplicates inside the batch are one contact");
    assert_eq!((status_of(1), r[1]["id"].as_i64()), ("updated".to_string(), Some(existing_id)));
    assert_eq!((status_of(3), code_of(3)), ("error".to_string(), "invalid_phone".to_string()));
    assert_eq!(r[4]["id"].as_i64(), Some(existing_id), "matched by e-mail");
    assert_eq!(code_of(5), "contact_not_found");
    assert_eq!(code_of(6), "invalid_email");
    assert_eq!(code_of(7), "phone_or_email_required");
    assert_eq!(out["summary"], json!({"created": 1, "updated": 1, "errors": 4}));

    let (_, novo) = a.get(&format!("/contacts/{}", r[0]["id"])).await;
    assert_eq!(novo["name"], "Novo de novo");
    assert_eq!(novo["custom_fields"], json!({"origem": "site"}));
    assert_eq!(novo["tags"], json!(["lead"]));
    let (_, ja) = a.get(&format!("/contacts/{existing_id}")).await;
    assert_eq!(ja["name"], "Já Existia (por e-mail)");
    assert_eq!(ja["custom_fields"]["plano"], "ouro");
    assert_eq!(ja["phone"], "+552198765432", "the stored phone stays");

    // A bulk upsert never lifts an opt-out.
    a.patch(&format!("/contacts/{existing_id}"), json!({"consent": "opted_out"})).await;
    let (_, out) =
        a.post("/contacts/bulk", json!({"contacts": [{"phone": "21998765432", "consent": "marketing_opt_in"}]})).await;
    assert_eq!(out["results"][0]["status"], "updated");
    assert_eq!(a.get(&format!("/contacts/{existing_id}")).await.1["consent"]["status"], "opted_out");

    // Over the limit: refused whole, nothing written.
    let before = t.count("contacts", "1 = 1").await;
    let too_many: Vec<Value> = (0..1001).map(|i| json!({"phone": format!("3199{i:07}")})).collect();
    assert_error(
        &a.post("/contacts/bulk", json!({"contacts": too_many})).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_many_rows",
    );
    assert_eq!(t.count("contacts", "1 = 1").await, before);
    // Exactly the limit is fine.
    let full: Vec<Value> =
        (0..1000).map(|i| json!({"phone": format!("3199{i:07}"), "name": format!("C{i}")})).collect();
    let (status, out) = a.post("/contacts/bulk", json!({"contacts": full})).await;
    assert_eq!(status, 200);
    assert_eq!(out["summary"]["created"], 1000);
    assert_error(
        &a.post("/contacts/bulk", json!({"rows": []})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );

    // Export over the API: header plus every contact.
    let csv =
        reqwest::Client::new().get(t.url("/api/v1/contacts/export.csv")).bearer_auth(&a.token).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count() as i64, 1 + t.count("contacts", &format!("tenant_id = {}", tenant.0)).await);
    t.stop().await;
});

engine_test!(merge_over_the_api_and_cross_tenant_probes_find_nothing, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    let a = api(&t, tenant, &[Scope::Read, Scope::Write]).await;
    let (_, keep) =
        a.post("/contacts", json!({"name": "Fica", "phone": "11940000001", "custom_fields": {"a": "1"}})).await;
    let (_, gone) = a
        .post(
            "/contacts",
            json!({"name": "Sai", "phone": "11940000002", "custom_fields": {"a": "2", "b": "3"}, "tags": ["t1"]}),
        )
        .await;
    let (keep, gone) = (keep["id"].as_i64().unwrap(), gone["id"].as_i64().unwrap());

    let other = t.create_tenant("beta").await;
    let b = api(&t, other, &[Scope::Read, Scope::Write]).await;
    let (_, theirs) = b.post("/contacts", json!({"name": "Deles", "phone": "11940000003"})).await;
    let theirs = theirs["id"].as_i64().unwrap();

    // Tenant B probes every endpoint on A's contacts.
    assert_error(&b.get(&format!("/contacts/{keep}")).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &b.patch(&format!("/contacts/{keep}"), json!({"name": "hacked"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(&b.delete(&format!("/contacts/{keep}")).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &b.post(&format!("/contacts/{keep}/merge"), json!({"from": gone})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &b.post(&format!("/contacts/{theirs}/merge"), json!({"from": gone})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &b.post(&format!("/contacts/{keep}/render"), json!({"template": "{{nome}}"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (_, listed) = b.get("/contacts?q=11940000").await;
    let names: Vec<&str> = listed["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Deles"]);
    // B's bulk upsert of A's phone creates B's own contact, never touches A's.
    let (_, out) = b.post("/contacts/bulk", json!({"contacts": [{"phone": "11940000001", "name": "Cópia"}]})).await;
    assert_eq!(out["results"][0]["status"], "created");
    assert_eq!(a.get(&format!("/contacts/{keep}")).await.1["name"], "Fica");
    // A cannot merge B's contact in either.
    assert_error(
        &a.post(&format!("/contacts/{keep}/merge"), json!({"from": theirs})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &a.post(&format!("/contacts/{keep}/merge"), json!({"from": keep})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "same_contact",
    );
    assert_error(
        &a.post(&format!("/contacts/{keep}/merge"), json!({"from": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );

    let (status, merged) = a.post(&format!("/contacts/{keep}/merge"), json!({"from": gone})).await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["contact"]["custom_fields"], json!({"a": "1", "b": "3"}));
    assert_eq!(merged["contact"]["tags"], json!(["t1"]));
    assert_eq!(merged["moved"]["tickets"], 0);
    assert_error(&a.get(&format!("/contacts/{gone}")).await, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(b.get(&format!("/contacts/{theirs}")).await.0, 200, "B's contact untouched");
    t.stop().await;
});

#[test]
fn the_contacts_openapi_document_lists_every_path() {
    use utoipa::OpenApi;
    let doc = atende::http::api::contacts::ContactsApi::openapi();
    let json = serde_json::to_value(&doc).unwrap();
    for path in ["/contacts", "/contacts/{id}", "/contacts/bulk", "/contacts/{id}/merge", "/contacts/export.csv"] {
        assert!(json["paths"][path].is_object(), "{path} missing");
    }
    assert!(json["components"]["schemas"]["ContactOut"].is_object());
}
