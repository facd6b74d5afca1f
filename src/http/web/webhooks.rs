//! Webhook pages: subscriptions (admins create, edit, delete and read secrets; supervisors see
//! them, send test events and replay), each subscription's deliveries with their attempts, the
//! private-network setting, and the dead-letter alert.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use super::pages::EmptyForm;
use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions::webhooks::{self as hooks, SubscriptionInput, SubscriptionPatch};
use crate::actions::ActionError;
use crate::app::App;
use crate::domain::webhooks::EVENTS;
use crate::store::webhooks::{Attempt, Delivery, Subscription};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/webhooks", get(list).post(create))
        .route("/admin/webhooks/{id}", get(edit).post(update))
        .route("/admin/webhooks/{id}/delete", post(delete))
        .route("/admin/webhooks/{id}/secret", post(reveal_secret))
        .route("/admin/webhooks/{id}/test", post(send_test))
        .route("/admin/webhooks/{id}/deliveries", get(deliveries))
        .route("/admin/webhook-deliveries/{id}", get(delivery))
        .route("/admin/webhook-deliveries/{id}/replay", post(replay))
}

/// Form fields as typed (checkboxes come as repeated `events` pairs).
struct Fields {
    url: String,
    description: String,
    events: Vec<String>,
    active: bool,
}

impl Fields {
    fn blank() -> Fields {
        Fields {
            url: String::new(),
            description: String::new(),
            events: EVENTS.iter().map(|e| e.to_string()).collect(),
            active: true,
        }
    }

    fn of(s: &Subscription) -> Fields {
        Fields { url: s.url.clone(), description: s.description.clone(), events: s.events.clone(), active: s.active }
    }

    fn read(pairs: &[(String, String)]) -> Fields {
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        Fields {
            url: get("url"),
            description: get("description"),
            events: pairs.iter().filter(|(n, _)| n == "events").map(|(_, v)| v.clone()).collect(),
            active: pairs.iter().any(|(n, _)| n == "active"),
        }
    }

    fn has(&self, event: &&str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

pub struct Row {
    subscription: Subscription,
    dead: i64,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    form: Fields,
    events: &'static [&'static str],
    can_manage: bool,
    allow_private: bool,
    dead_total: i64,
    created_secret: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

async fn list_page(
    p: &Page,
    form: Fields,
    created_secret: Option<String>,
    notice: Option<String>,
    error: Option<String>,
) -> Result<ListPage, ActionError> {
    let (actor, tenant) = (p.actor(), p.tenant());
    let subscriptions = hooks::list_subscriptions(&p.app, &actor, tenant, 0, 1000).await?;
    let dead: HashMap<i64, i64> = hooks::dead_letters(&p.app, &actor, tenant).await?.into_iter().collect();
    let allow_private = hooks::allow_private_networks(&p.app, &actor, tenant).await?;
    let rows: Vec<Row> = subscriptions
        .into_iter()
        .map(|s| Row { dead: dead.get(&s.id).copied().unwrap_or(0), subscription: s })
        .collect();
    Ok(ListPage {
        layout: p.layout("wh.title", "/admin/webhooks"),
        dead_total: dead.values().sum(),
        rows,
        form,
        events: &EVENTS,
        can_manage: p.user.user.role.can_manage_tenant(),
        allow_private,
        created_secret,
        notice,
        error,
    })
}

#[derive(serde::Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    saved: Option<String>,
}

async fn list(p: Page, Query(q): Query<Notice>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    match list_page(&p, Fields::blank(), None, notice, None).await {
        Ok(page) => render(page),
        Err(e) => p.failure(&e),
    }
}

async fn create(p: Page, CsrfForm(pairs): CsrfForm<Vec<(String, String)>>) -> Response {
    let fields = Fields::read(&pairs);
    let input = SubscriptionInput {
        url: fields.url.clone(),
        description: fields.description.clone(),
        events: fields.events.clone(),
        active: true,
    };
    match hooks::create_subscription(&p.app, &p.actor(), p.tenant(), input).await {
        Ok((_, secret)) => match list_page(&p, Fields::blank(), Some(secret), None, None).await {
            Ok(page) => render(page),
            Err(e) => p.failure(&e),
        },
        Err(e) => {
            let status = error_status(&e);
            let message = error_message(p.lang(), &e);
            match list_page(&p, fields, None, None, Some(message)).await {
                Ok(page) => (status, render(page)).into_response(),
                Err(e) => p.failure(&e),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "webhook_edit.html")]
struct EditPage {
    layout: Layout,
    id: i64,
    form: Fields,
    events: &'static [&'static str],
    can_manage: bool,
    secret: Option<String>,
    error: Option<String>,
}

async fn edit(p: Page, Path(id): Path<i64>) -> Response {
    match hooks::get_subscription(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(s) => render(EditPage {
            layout: p.layout("wh.title", "/admin/webhooks"),
            id,
            form: Fields::of(&s),
            events: &EVENTS,
            can_manage: p.user.user.role.can_manage_tenant(),
            secret: None,
            error: None,
        }),
        Err(e) => p.failure(&e),
    }
}

async fn update(p: Page, Path(id): Path<i64>, CsrfForm(pairs): CsrfForm<Vec<(String, String)>>) -> Response {
    let fields = Fields::read(&pairs);
    let patch = SubscriptionPatch {
        url: Some(fields.url.clone()),
        description: Some(fields.description.clone()),
        events: Some(fields.events.clone()),
        active: Some(fields.active),
    };
    match hooks::update_subscription(&p.app, &p.actor(), p.tenant(), id, patch).await {
        Ok(_) => Redirect::to("/admin/webhooks?saved=webhook_saved").into_response(),
        Err(ActionError::Invalid { message, .. }) => {
            let page = EditPage {
                layout: p.layout("wh.title", "/admin/webhooks"),
                id,
                form: fields,
                events: &EVENTS,
                can_manage: true,
                secret: None,
                error: Some(message),
            };
            (axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response()
        }
        Err(e) => p.failure(&e),
    }
}

async fn delete(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match hooks::delete_subscription(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(()) => Redirect::to("/admin/webhooks?saved=webhook_deleted").into_response(),
        Err(e) => p.failure(&e),
    }
}

async fn reveal_secret(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    let (actor, tenant) = (p.actor(), p.tenant());
    let result = async {
        let s = hooks::get_subscription(&p.app, &actor, tenant, id).await?;
        let secret = hooks::reveal_secret(&p.app, &actor, tenant, id).await?;
        Ok::<_, ActionError>((s, secret))
    }
    .await;
    match result {
        Ok((s, secret)) => render(EditPage {
            layout: p.layout("wh.title", "/admin/webhooks"),
            id,
            form: Fields::of(&s),
            events: &EVENTS,
            can_manage: true,
            secret: Some(secret),
            error: None,
        }),
        Err(e) => p.failure(&e),
    }
}

async fn send_test(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match hooks::send_test(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(_) => Redirect::to(&format!("/admin/webhooks/{id}/deliveries?queued=1")).into_response(),
        Err(e) => p.failure(&e),
    }
}

#[derive(Template)]
#[template(path = "webhook_deliveries.html")]
struct DeliveriesPage {
    layout: Layout,
    subscription: Subscription,
    deliveries: Vec<Delivery>,
    older: Option<i64>,
    notice: Option<String>,
}

impl DeliveriesPage {
    fn state(&self, d: &Delivery) -> String {
        state_label(&self.layout, &d.state)
    }

    fn waiting(&self, d: &Delivery) -> bool {
        matches!(d.state.as_str(), "pending" | "retrying")
    }
}

fn state_label(layout: &Layout, state: &str) -> String {
    let key = format!("wh.state.{state}");
    let text = layout.t(&key);
    if text == key {
        state.to_string()
    } else {
        text.to_string()
    }
}

#[derive(serde::Deserialize, Default)]
pub struct DeliveriesQuery {
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    queued: Option<String>,
    #[serde(default)]
    replayed: Option<String>,
}

const PAGE: i64 = 50;

async fn deliveries(p: Page, Path(id): Path<i64>, Query(q): Query<DeliveriesQuery>) -> Response {
    let (actor, tenant) = (p.actor(), p.tenant());
    let result = async {
        let subscription = hooks::get_subscription(&p.app, &actor, tenant, id).await?;
        let before = q.before.unwrap_or(i64::MAX);
        let mut deliveries = hooks::list_deliveries(&p.app, &actor, tenant, id, before, PAGE + 1).await?;
        let older = if deliveries.len() as i64 > PAGE {
            deliveries.truncate(PAGE as usize);
            deliveries.last().map(|d| d.id)
        } else {
            None
        };
        Ok::<_, ActionError>((subscription, deliveries, older))
    }
    .await;
    let lang = p.lang();
    let notice = if q.queued.is_some() {
        Some(lang.t("wh.test_queued").to_string())
    } else {
        q.replayed.map(|_| lang.t("wh.replayed").to_string())
    };
    match result {
        Ok((subscription, deliveries, older)) => render(DeliveriesPage {
            layout: p.layout("wh.deliveries", "/admin/webhooks"),
            subscription,
            deliveries,
            older,
            notice,
        }),
        Err(e) => p.failure(&e),
    }
}

#[derive(Template)]
#[template(path = "webhook_delivery.html")]
struct DeliveryPage {
    layout: Layout,
    delivery: Delivery,
    state: String,
    body: String,
    attempts: Vec<Attempt>,
}

async fn delivery(p: Page, Path(id): Path<i64>) -> Response {
    match hooks::get_delivery(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(detail) => {
            let layout = p.layout("wh.delivery", "/admin/webhooks");
            let body = serde_json::from_str::<serde_json::Value>(&detail.delivery.body)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| detail.delivery.body.clone());
            let state = state_label(&layout, &detail.delivery.state);
            render(DeliveryPage { layout, state, body, delivery: detail.delivery, attempts: detail.attempts })
        }
        Err(e) => p.failure(&e),
    }
}

async fn replay(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match hooks::replay_delivery(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(d) => Redirect::to(&format!("/admin/webhooks/{}/deliveries?replayed=1", d.subscription_id)).into_response(),
        Err(e) => p.failure(&e),
    }
}
