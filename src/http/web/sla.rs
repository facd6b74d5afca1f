//! The SLA page (admins edit, supervisors read): the company's policy and departments' own, as
//! a matrix urgency × complexity of first-response and resolution targets in business hours.

use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Lang;
use super::{error_status, render, CsrfForm, Layout, Page};
use crate::actions::{self, ActionError};
use crate::domain::sla::{Complexity, Matrix, Target, Urgency};
use crate::store::departments::Department;

pub fn urgency_label(lang: Lang, u: Urgency) -> &'static str {
    lang.t(match u {
        Urgency::Low => "sla.urgency.low",
        Urgency::Medium => "sla.urgency.medium",
        Urgency::High => "sla.urgency.high",
        Urgency::Critical => "sla.urgency.critical",
    })
}

pub fn complexity_label(lang: Lang, c: Complexity) -> &'static str {
    lang.t(match c {
        Complexity::Simple => "sla.complexity.simple",
        Complexity::Moderate => "sla.complexity.moderate",
        Complexity::Complex => "sla.complexity.complex",
    })
}

/// One row of the form: a pair and its targets in hours as typed ("1,5" or "1.5").
pub struct CellRow {
    pub key: String,
    pub urgency: &'static str,
    pub complexity: &'static str,
    pub first_response: String,
    pub resolution: String,
}

#[derive(Template)]
#[template(path = "sla.html")]
struct SlaPage {
    layout: Layout,
    departments: Vec<Department>,
    /// The policy being edited: None = the company's.
    department_id: Option<i64>,
    /// Whether a policy exists for what is being edited.
    exists: bool,
    can_edit: bool,
    rows: Vec<CellRow>,
    /// Departments with their own policy.
    own: Vec<i64>,
    notice: Option<String>,
    error: Option<String>,
}

impl SlaPage {
    fn is_selected(&self, department: &i64) -> bool {
        self.department_id == Some(*department)
    }
    fn has_own(&self, department: &i64) -> bool {
        self.own.contains(department)
    }
}

fn hours_text(minutes: Option<i64>) -> String {
    match minutes {
        None => String::new(),
        Some(m) if m % 60 == 0 => (m / 60).to_string(),
        Some(m) => format!("{:.2}", m as f64 / 60.0).trim_end_matches('0').replace('.', ","),
    }
}

fn rows_of(p: &Page, m: &Matrix) -> Vec<CellRow> {
    let lang = p.lang();
    let mut out = Vec::new();
    for u in Urgency::ALL.iter().rev() {
        for c in Complexity::ALL {
            let t = m.0.get(&(*u, c)).copied().unwrap_or_default();
            out.push(CellRow {
                key: format!("{}.{}", u.as_str(), c.as_str()),
                urgency: urgency_label(lang, *u),
                complexity: complexity_label(lang, c),
                first_response: hours_text(t.first_response_minutes),
                resolution: hours_text(t.resolution_minutes),
            });
        }
    }
    out
}

#[derive(Deserialize, Default)]
pub struct SlaQuery {
    #[serde(default)]
    department: String,
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    fill: String,
}

async fn sla_page(
    p: &Page,
    department_id: Option<i64>,
    typed: Option<Vec<CellRow>>,
    fill: bool,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let layout = p.layout("nav.sla", "/admin/sla");
    let (app, actor, tenant) = (&*p.app, p.actor(), p.tenant());
    let policies = match actions::sla::policies(app, &actor, tenant).await {
        Ok(list) => list,
        Err(e) => return p.failure(&e),
    };
    let departments = actions::departments::list_departments(app, &actor, tenant).await.unwrap_or_default();
    let current = policies.iter().find(|x| x.department_id == department_id);
    let matrix = match (fill, current) {
        (true, _) => Matrix::default_support(),
        (false, Some(x)) => x.matrix.clone(),
        (false, None) => Matrix::default(),
    };
    let rows = typed.unwrap_or_else(|| rows_of(p, &matrix));
    render(SlaPage {
        layout,
        departments,
        department_id,
        exists: current.is_some(),
        can_edit: p.user.user.role.can_manage_tenant(),
        rows,
        own: policies.iter().filter_map(|x| x.department_id).collect(),
        notice,
        error,
    })
}

pub async fn show(p: Page, Query(q): Query<SlaQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    sla_page(&p, q.department.trim().parse().ok(), None, q.fill == "1", notice, None).await
}

/// Hours as people type them ("2", "1,5", "0.5") to minutes; empty = no target.
fn minutes_of(text: &str) -> Result<Option<i64>, ActionError> {
    let t = text.trim().replace(',', ".");
    if t.is_empty() {
        return Ok(None);
    }
    let bad = || ActionError::invalid("invalid_policy", format!("{text:?} is not a number of hours"));
    let hours: f64 = t.parse().map_err(|_| bad())?;
    if !hours.is_finite() || hours <= 0.0 || hours > (crate::domain::sla::MAX_TARGET_MINUTES / 60) as f64 {
        return Err(bad());
    }
    Ok(Some(((hours * 60.0).round() as i64).max(1)))
}

#[derive(Deserialize)]
pub struct SlaForm {
    #[serde(default)]
    department: String,
    #[serde(flatten)]
    fields: std::collections::HashMap<String, String>,
}

pub async fn save(p: Page, CsrfForm(form): CsrfForm<SlaForm>) -> Response {
    let department_id = form.department.trim().parse().ok();
    let field = |name: String| form.fields.get(&name).cloned().unwrap_or_default();
    let result = (|| {
        let mut cells = Vec::new();
        for u in Urgency::ALL {
            for c in Complexity::ALL {
                let key = format!("{}.{}", u.as_str(), c.as_str());
                let first_response_minutes = minutes_of(&field(format!("fr.{key}")))?;
                let resolution_minutes = minutes_of(&field(format!("res.{key}")))?;
                if first_response_minutes.is_some() || resolution_minutes.is_some() {
                    cells.push(((u, c), Target { first_response_minutes, resolution_minutes }));
                }
            }
        }
        Matrix::from_cells(cells).map_err(|m| ActionError::invalid("invalid_policy", m))
    })();
    let result = match result {
        Ok(m) => actions::sla::save_policy(&p.app, &p.actor(), p.tenant(), department_id, &m).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/admin/sla?department={}&saved=sla", form.department.trim())).into_response(),
        Err(e) => {
            let lang = p.lang();
            let typed = Urgency::ALL
                .iter()
                .rev()
                .flat_map(|u| Complexity::ALL.map(|c| (*u, c)))
                .map(|(u, c)| {
                    let key = format!("{}.{}", u.as_str(), c.as_str());
                    CellRow {
                        urgency: urgency_label(lang, u),
                        complexity: complexity_label(lang, c),
                        first_response: field(format!("fr.{key}")),
                        resolution: field(format!("res.{key}")),
                        key,
                    }
                })
                .collect();
            let message = super::error_message(lang, &e);
            (error_status(&e), sla_page(&p, department_id, Some(typed), false, None, Some(message)).await)
                .into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    department: String,
}

pub async fn delete(p: Page, CsrfForm(form): CsrfForm<DeleteForm>) -> Response {
    let department_id = form.department.trim().parse().ok();
    match actions::sla::delete_policy(&p.app, &p.actor(), p.tenant(), department_id).await {
        Ok(()) => Redirect::to("/admin/sla?saved=sla_deleted").into_response(),
        Err(e) => {
            let message = super::error_message(p.lang(), &e);
            (error_status(&e), sla_page(&p, department_id, None, false, None, Some(message)).await).into_response()
        }
    }
}
