//! Plans: the platform admin's catalogue (list, create, edit) and a company's own "Plano" page
//! with its usage ("3 de 5 conexões").

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::NoticeQuery;
use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions::plans::Usage;
use crate::actions::{self, ActionError};
use crate::domain::plans::{self, Feature, Limit};
use crate::store::plans::{Plan, PlanFields};

/// One line of usage as a page shows it.
pub struct UsageRow {
    pub label: String,
    /// "3 de 5" or "3 (sem limite)".
    pub text: String,
    /// Share of the limit used, 0–100, for the bar (none without a limit).
    pub percent: Option<i64>,
    pub full: bool,
}

pub fn usage_rows(layout: &Layout, usage: &Usage) -> Vec<UsageRow> {
    usage
        .items
        .iter()
        .map(|i| {
            let label = layout.t(&format!("plan.limit.{}", i.limit)).to_string();
            match i.allowed {
                Some(allowed) => UsageRow {
                    label,
                    text: format!("{} {} {allowed}", i.used, layout.t("plan.of")),
                    percent: Some(if allowed > 0 { (i.used * 100 / allowed).clamp(0, 100) } else { 100 }),
                    full: i.used >= allowed,
                },
                None => UsageRow {
                    label,
                    text: format!("{} ({})", i.used, layout.t("plan.unlimited")),
                    percent: None,
                    full: false,
                },
            }
        })
        .collect()
}

/// "3 de 5 conexões no plano" for a page that lists what a limit counts (`None` without one).
pub async fn usage_line(p: &Page, limit: Limit) -> Option<String> {
    let item = actions::plans::usage_of(&p.app, &p.actor(), p.tenant(), limit).await.ok().flatten()?;
    let lang = p.lang();
    let key = format!("plan.limit.{}", item.limit);
    let what = lang.t(&key);
    Some(format!(
        "{} {} {} {what} {}",
        item.used,
        lang.t("plan.of"),
        item.allowed.unwrap_or_default(),
        lang.t("plan.in_plan")
    ))
}

/// The plan form as typed (what it shows again after a refusal).
#[derive(Clone, Default, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    max_connections: String,
    #[serde(default)]
    max_agents: String,
    #[serde(default)]
    max_departments: String,
    #[serde(default)]
    max_chatbots: String,
    #[serde(default)]
    max_campaigns_per_month: String,
    #[serde(default)]
    max_contacts: String,
    #[serde(default)]
    max_storage_mb: String,
    feature_campaigns: Option<String>,
    feature_api: Option<String>,
    feature_chat: Option<String>,
    feature_chatbot: Option<String>,
    feature_kanban: Option<String>,
    active: Option<String>,
}

impl PlanForm {
    fn limit_text(&self, limit: Limit) -> &str {
        match limit {
            Limit::Connections => &self.max_connections,
            Limit::Agents => &self.max_agents,
            Limit::Departments => &self.max_departments,
            Limit::Chatbots => &self.max_chatbots,
            Limit::CampaignsPerMonth => &self.max_campaigns_per_month,
            Limit::Contacts => &self.max_contacts,
            Limit::StorageMb => &self.max_storage_mb,
        }
    }

    fn feature(&self, feature: Feature) -> bool {
        match feature {
            Feature::Campaigns => self.feature_campaigns.is_some(),
            Feature::Api => self.feature_api.is_some(),
            Feature::Chat => self.feature_chat.is_some(),
            Feature::Chatbot => self.feature_chatbot.is_some(),
            Feature::Kanban => self.feature_kanban.is_some(),
        }
    }

    fn fields(&self) -> Result<PlanFields, ActionError> {
        let price_cents = plans::parse_price_cents(&self.price)
            .ok_or_else(|| ActionError::invalid("invalid_price", "the price is a amount such as 99,90"))?;
        let mut limits = [None; 7];
        for (slot, limit) in limits.iter_mut().zip(Limit::ALL) {
            let text = self.limit_text(limit).trim();
            if !text.is_empty() {
                let n = text.parse().map_err(|_| {
                    ActionError::invalid("invalid_limit", "a limit must be a whole number from 0, or empty for none")
                })?;
                *slot = Some(n);
            }
        }
        let mut features = [false; 5];
        for (slot, feature) in features.iter_mut().zip(Feature::ALL) {
            *slot = self.feature(feature);
        }
        Ok(PlanFields {
            name: self.name.clone(),
            price_cents,
            period: self.period.clone(),
            limits,
            features,
            active: self.active.is_some(),
        })
    }

    fn of(plan: &Plan) -> PlanForm {
        let n = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        let on = |b: bool| b.then(|| "1".to_string());
        PlanForm {
            name: plan.name.clone(),
            price: format!("{},{:02}", plan.price_cents / 100, plan.price_cents % 100),
            period: plan.period.clone(),
            max_connections: n(plan.max_connections),
            max_agents: n(plan.max_agents),
            max_departments: n(plan.max_departments),
            max_chatbots: n(plan.max_chatbots),
            max_campaigns_per_month: n(plan.max_campaigns_month),
            max_contacts: n(plan.max_contacts),
            max_storage_mb: n(plan.max_storage_mb),
            feature_campaigns: on(plan.feature_campaigns),
            feature_api: on(plan.feature_api),
            feature_chat: on(plan.feature_chat),
            feature_chatbot: on(plan.feature_chatbot),
            feature_kanban: on(plan.feature_kanban),
            active: on(plan.active),
        }
    }

    fn blank() -> PlanForm {
        let on = Some("1".to_string());
        PlanForm {
            period: "monthly".into(),
            feature_campaigns: on.clone(),
            feature_api: on.clone(),
            feature_chat: on.clone(),
            feature_chatbot: on.clone(),
            feature_kanban: on.clone(),
            active: on,
            ..PlanForm::default()
        }
    }
}

/// The form's inputs, in the order the page shows them.
pub struct FormView {
    pub action: String,
    pub name: String,
    pub price: String,
    pub period: String,
    /// (input name, label key, typed value)
    pub limits: Vec<(String, String, String)>,
    /// (input name, label key, checked)
    pub features: Vec<(String, String, bool)>,
    pub active: bool,
}

fn form_view(action: String, f: &PlanForm) -> FormView {
    FormView {
        action,
        name: f.name.clone(),
        price: f.price.clone(),
        period: f.period.clone(),
        limits: Limit::ALL
            .iter()
            .map(|l| (format!("max_{}", l.name()), format!("plan.limit.{}", l.name()), f.limit_text(*l).to_string()))
            .collect(),
        features: Feature::ALL
            .iter()
            .map(|x| (format!("feature_{}", x.name()), format!("plan.feature.{}", x.name()), f.feature(*x)))
            .collect(),
        active: f.active.is_some(),
    }
}

/// A plan's row on the list.
pub struct PlanRow {
    pub plan: Plan,
    pub price: String,
    pub companies: i64,
    pub limits: String,
}

#[derive(Template)]
#[template(path = "plans.html")]
struct PlansPage {
    layout: Layout,
    plans: Vec<PlanRow>,
    form: FormView,
    notice: Option<String>,
    error: Option<String>,
}

fn limits_summary(layout: &Layout, plan: &Plan) -> String {
    Limit::ALL
        .iter()
        .filter_map(|l| plan.allowed(*l).map(|n| format!("{n} {}", layout.t(&format!("plan.limit.{}", l.name())))))
        .collect::<Vec<_>>()
        .join(" · ")
}

async fn plans_page(p: &Page, typed: PlanForm, notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.plans", "/platform/plans");
    match actions::plans::list(&p.app, &p.actor()).await {
        Ok(list) => {
            let plans = list
                .into_iter()
                .map(|(plan, companies)| PlanRow {
                    price: plans::format_brl(plan.price_cents),
                    limits: limits_summary(&layout, &plan),
                    plan,
                    companies,
                })
                .collect();
            let form = form_view("/platform/plans".into(), &typed);
            render(PlansPage { layout, plans, form, notice, error })
        }
        Err(e) => p.failure(&e),
    }
}

pub async fn list_plans(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    plans_page(&p, PlanForm::blank(), notice, None).await
}

pub async fn create_plan(p: Page, CsrfForm(form): CsrfForm<PlanForm>) -> Response {
    let created = match form.fields() {
        Ok(fields) => actions::plans::create(&p.app, &p.actor(), fields).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => Redirect::to("/platform/plans?saved=plan_created").into_response(),
        Err(e) => {
            let message = error_message(p.lang(), &e);
            (error_status(&e), plans_page(&p, form, None, Some(message)).await).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    layout: Layout,
    form: FormView,
    error: Option<String>,
}

async fn plan_page(p: &Page, id: i64, typed: Option<PlanForm>, error: Option<String>) -> Response {
    let layout = p.layout("nav.plans", "/platform/plans");
    let plan = match actions::plans::list(&p.app, &p.actor()).await {
        Ok(list) => list.into_iter().map(|(plan, _)| plan).find(|plan| plan.id == id),
        Err(e) => return p.failure(&e),
    };
    let Some(plan) = plan else { return p.failure(&ActionError::NotFound) };
    let typed = typed.unwrap_or_else(|| PlanForm::of(&plan));
    render(PlanPage { layout, form: form_view(format!("/platform/plans/{id}"), &typed), error })
}

pub async fn edit_plan(p: Page, Path(id): Path<i64>) -> Response {
    plan_page(&p, id, None, None).await
}

pub async fn update_plan(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<PlanForm>) -> Response {
    let updated = match form.fields() {
        Ok(fields) => actions::plans::update(&p.app, &p.actor(), id, fields).await,
        Err(e) => Err(e),
    };
    match updated {
        Ok(_) => Redirect::to("/platform/plans?saved=plan_saved").into_response(),
        Err(ActionError::NotFound) => p.failure(&ActionError::NotFound),
        Err(e) => {
            let message = error_message(p.lang(), &e);
            (error_status(&e), plan_page(&p, id, Some(form), Some(message)).await).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "company_plan.html")]
struct CompanyPlanPage {
    layout: Layout,
    plan: Option<Plan>,
    price: String,
    usage: Vec<UsageRow>,
    /// (label, included)
    features: Vec<(String, bool)>,
}

/// The company's own "Plano" page: its plan, what it includes, what it uses. Any admin.
pub async fn company_plan(p: Page) -> Response {
    let layout = p.layout("nav.plan", "/admin/plan");
    if !p.user.user.role.can_manage_tenant() {
        return p.failure(&ActionError::Forbidden);
    }
    match actions::plans::usage(&p.app, &p.actor(), p.tenant()).await {
        Ok(usage) => {
            let rows = usage_rows(&layout, &usage);
            let features = Feature::ALL
                .iter()
                .map(|f| {
                    let label = layout.t(&format!("plan.feature.{}", f.name())).to_string();
                    (label, usage.plan.as_ref().is_none_or(|p| p.has(*f)))
                })
                .collect();
            let price = usage.plan.as_ref().map(|p| plans::format_brl(p.price_cents)).unwrap_or_default();
            render(CompanyPlanPage { layout, plan: usage.plan, price, usage: rows, features })
        }
        Err(e) => p.failure(&e),
    }
}
