//! The platform admin's company pages: the list (with plan and status), a new company, and one
//! company's page (its plan, its usage, suspend / reactivate, private networks for webhooks).

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::NoticeQuery;
use super::plans::UsageRow;
use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions::{self, ActionError};
use crate::domain::TenantId;
use crate::store::plans::Plan;
use crate::store::tenants::Tenant;

/// A company on the list: with its plan's name and whether its webhooks may reach private networks.
pub struct TenantRow {
    pub tenant: Tenant,
    pub plan: Option<String>,
    pub private: bool,
}

#[derive(Template)]
#[template(path = "tenants.html")]
struct TenantsPage {
    layout: Layout,
    tenants: Vec<TenantRow>,
    notice: Option<String>,
    error: Option<String>,
}

async fn tenants_page(p: &Page, notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.tenants", "/platform/tenants");
    let actor = p.actor();
    let rows = async {
        let mut rows = Vec::new();
        for t in actions::tenants::list_tenants(&p.app, &actor).await? {
            let private = actions::webhooks::allow_private_networks(&p.app, &actor, t.id).await?;
            let plan = actions::plans::tenant_plan(&p.app, &actor, t.id).await?.map(|p| p.name);
            rows.push(TenantRow { tenant: t, plan, private });
        }
        Ok::<_, ActionError>(rows)
    };
    match rows.await {
        Ok(tenants) => render(TenantsPage { layout, tenants, notice, error }),
        Err(e) => p.failure(&e),
    }
}

pub async fn list_tenants(p: Page) -> Response {
    tenants_page(&p, None, None).await
}

#[derive(Deserialize)]
pub struct CreateTenantForm {
    name: String,
    slug: String,
}

pub async fn create_tenant(p: Page, CsrfForm(form): CsrfForm<CreateTenantForm>) -> Response {
    match actions::tenants::create_tenant(&p.app, &p.actor(), &form.name, &form.slug).await {
        Ok(t) => tenants_page(&p, Some(format!("{} ({})", t.name, t.slug)), None).await,
        Err(e) => {
            let lang = p.lang();
            let status = error_status(&e);
            (status, tenants_page(&p, None, Some(error_message(lang, &e))).await).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct PrivateNetworksForm {
    allow: String,
}

/// The platform admin lets a company's webhooks reach private networks, or stops it.
pub async fn set_private_networks(
    p: Page,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<PrivateNetworksForm>,
) -> Response {
    let allow = form.allow == "1";
    match actions::webhooks::set_allow_private_networks(&p.app, &p.actor(), TenantId(id), allow).await {
        Ok(()) => Redirect::to("/platform/tenants").into_response(),
        Err(e) => p.failure(&e),
    }
}

#[derive(Template)]
#[template(path = "tenant.html")]
struct TenantPage {
    layout: Layout,
    tenant: Tenant,
    /// The company's plan id (0: none).
    current_plan: i64,
    plans: Vec<Plan>,
    usage: Vec<UsageRow>,
    notice: Option<String>,
}

/// One company: its plan (change it), what it uses of each limit, suspend or reactivate.
pub async fn tenant(p: Page, Path(id): Path<i64>, Query(q): Query<NoticeQuery>) -> Response {
    let layout = p.layout("nav.tenants", "/platform/tenants");
    let actor = p.actor();
    let page = async {
        let tenant = actions::tenants::get_tenant(&p.app, &actor, TenantId(id)).await?;
        let plans = actions::plans::list(&p.app, &actor).await?.into_iter().map(|(p, _)| p).collect();
        let usage = actions::plans::usage(&p.app, &actor, tenant.id).await?;
        Ok::<_, ActionError>((tenant, plans, usage))
    };
    match page.await {
        Ok((tenant, plans, usage)) => {
            let notice = super::saved_notice(layout.lang, q.saved.as_deref());
            let rows = super::plans::usage_rows(&layout, &usage);
            let current_plan = usage.plan.map_or(0, |p| p.id);
            render(TenantPage { layout, tenant, current_plan, plans, usage: rows, notice })
        }
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
pub struct TenantPlanForm {
    #[serde(default)]
    plan_id: String,
}

pub async fn set_plan(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<TenantPlanForm>) -> Response {
    let plan = match form.plan_id.trim() {
        "" => None,
        v => match v.parse() {
            Ok(n) => Some(n),
            Err(_) => return p.failure(&ActionError::invalid("unknown_plan", "there is no such plan")),
        },
    };
    match actions::plans::set_tenant_plan(&p.app, &p.actor(), TenantId(id), plan).await {
        Ok(()) => Redirect::to(&format!("/platform/tenants/{id}?saved=plan_assigned")).into_response(),
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: String,
}

pub async fn set_active(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<ActiveForm>) -> Response {
    let active = form.active == "1";
    match actions::tenants::set_active(&p.app, &p.actor(), TenantId(id), active).await {
        Ok(()) => {
            let saved = if active { "tenant_reactivated" } else { "tenant_suspended" };
            Redirect::to(&format!("/platform/tenants/{id}?saved={saved}")).into_response()
        }
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
pub struct SupportForm {
    #[serde(default)]
    reason: String,
}

/// Opens a support session in the company's account (this browser leaves the platform's
/// session for it; "Sair" ends it).
pub async fn start_support(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<SupportForm>) -> Response {
    match actions::support::start(&p.app, &p.actor(), TenantId(id), &form.reason).await {
        Ok(logged_in) => super::pages::signed_in(&p.app, logged_in, "/"),
        Err(e) => p.failure(&e),
    }
}
