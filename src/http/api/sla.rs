//! `/api/v1/sla/policies`: the company's SLA policy and departments' own (a matrix urgency ×
//! complexity → first-response and resolution targets in business-hours minutes).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::actions::sla::{self, PolicyView};
use crate::app::App;
use crate::domain::sla::{Complexity, Matrix, Target, Urgency};
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};

use super::{timestamp, ApiPath, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/sla/policies", get(list_policies))
        .route("/sla/policies/company", put(put_company).delete(delete_company))
        .route("/sla/policies/departments/{id}", put(put_department).delete(delete_department))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_policies, put_company, delete_company, put_department, delete_department),
    components(schemas(PolicyOut, PolicyInput, TargetCell, UrgencyName, ComplexityName))
)]
pub struct SlaApi;

/// `low`, `medium`, `high` or `critical`.
#[derive(Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UrgencyName {
    Low,
    Medium,
    High,
    Critical,
}

/// `simple`, `moderate` or `complex`.
#[derive(Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplexityName {
    Simple,
    Moderate,
    Complex,
}

impl From<UrgencyName> for Urgency {
    fn from(u: UrgencyName) -> Self {
        match u {
            UrgencyName::Low => Urgency::Low,
            UrgencyName::Medium => Urgency::Medium,
            UrgencyName::High => Urgency::High,
            UrgencyName::Critical => Urgency::Critical,
        }
    }
}

impl From<Urgency> for UrgencyName {
    fn from(u: Urgency) -> Self {
        match u {
            Urgency::Low => UrgencyName::Low,
            Urgency::Medium => UrgencyName::Medium,
            Urgency::High => UrgencyName::High,
            Urgency::Critical => UrgencyName::Critical,
        }
    }
}

impl From<ComplexityName> for Complexity {
    fn from(c: ComplexityName) -> Self {
        match c {
            ComplexityName::Simple => Complexity::Simple,
            ComplexityName::Moderate => Complexity::Moderate,
            ComplexityName::Complex => Complexity::Complex,
        }
    }
}

impl From<Complexity> for ComplexityName {
    fn from(c: Complexity) -> Self {
        match c {
            Complexity::Simple => ComplexityName::Simple,
            Complexity::Moderate => ComplexityName::Moderate,
            Complexity::Complex => ComplexityName::Complex,
        }
    }
}

/// One cell of the matrix; a target left out (or null) is not timed.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetCell {
    pub urgency: UrgencyName,
    pub complexity: ComplexityName,
    /// Business-hours minutes to the first response (1–129600).
    #[schema(minimum = 1, maximum = 129600)]
    pub first_response_minutes: Option<i64>,
    /// Business-hours minutes to the resolution (1–129600).
    #[schema(minimum = 1, maximum = 129600)]
    pub resolution_minutes: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct PolicyOut {
    /// The department whose own policy this is; null for the company's.
    pub department_id: Option<i64>,
    pub targets: Vec<TargetCell>,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<PolicyView> for PolicyOut {
    fn from(p: PolicyView) -> Self {
        PolicyOut {
            department_id: p.department_id,
            targets: p
                .matrix
                .0
                .into_iter()
                .map(|((u, c), t)| TargetCell {
                    urgency: u.into(),
                    complexity: c.into(),
                    first_response_minutes: t.first_response_minutes,
                    resolution_minutes: t.resolution_minutes,
                })
                .collect(),
            updated_at: timestamp(p.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// Each urgency × complexity pair at most once; pairs left out are not timed.
    #[schema(min_items = 1, max_items = 12)]
    pub targets: Vec<TargetCell>,
}

fn matrix_of(input: PolicyInput) -> Result<Matrix, ApiError> {
    let cells = input.targets.into_iter().map(|c| {
        let target =
            Target { first_response_minutes: c.first_response_minutes, resolution_minutes: c.resolution_minutes };
        ((c.urgency.into(), c.complexity.into()), target)
    });
    Matrix::from_cells(cells).map_err(|m| ApiError::from(crate::actions::ActionError::invalid("invalid_policy", m)))
}

async fn saved(app: &App, caller: &ApiCaller, department_id: Option<i64>) -> Result<Json<PolicyOut>, ApiError> {
    let all = sla::policies(app, &caller.actor(), caller.token.tenant_id).await?;
    let p = all.into_iter().find(|p| p.department_id == department_id).ok_or(crate::actions::ActionError::NotFound)?;
    Ok(Json(p.into()))
}

/// The company's policy and departments' own.
#[utoipa::path(get, path = "/sla/policies", tag = "sla",
    responses((status = 200, body = [PolicyOut]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn list_policies(caller: ApiCaller, State(app): State<Arc<App>>) -> Result<Json<Vec<PolicyOut>>, ApiError> {
    caller.require(Scope::Read)?;
    let all = sla::policies(&app, &caller.actor(), caller.token.tenant_id).await?;
    Ok(Json(all.into_iter().map(PolicyOut::from).collect()))
}

/// Sets the company's policy; every open ticket is timed again within a minute.
#[utoipa::path(put, path = "/sla/policies/company", tag = "sla", request_body = PolicyInput,
    responses((status = 200, body = PolicyOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_policy`, `empty_policy`, `invalid_body`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn put_company(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<PolicyInput>,
) -> Result<Json<PolicyOut>, ApiError> {
    caller.require(Scope::Write)?;
    let matrix = matrix_of(input)?;
    sla::save_policy(&app, &caller.actor(), caller.token.tenant_id, None, &matrix).await?;
    saved(&app, &caller, None).await
}

/// Removes the company's policy (tickets are no longer timed, except in departments with their own).
#[utoipa::path(delete, path = "/sla/policies/company", tag = "sla",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn delete_company(caller: ApiCaller, State(app): State<Arc<App>>) -> Result<axum::http::StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    sla::delete_policy(&app, &caller.actor(), caller.token.tenant_id, None).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Sets a department's own policy.
#[utoipa::path(put, path = "/sla/policies/departments/{id}", tag = "sla", params(("id" = i64, Path)),
    request_body = PolicyInput,
    responses((status = 200, body = PolicyOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_policy`, `empty_policy`, `unknown_department`, `invalid_body`",
            body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn put_department(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<PolicyInput>,
) -> Result<Json<PolicyOut>, ApiError> {
    caller.require(Scope::Write)?;
    let matrix = matrix_of(input)?;
    sla::save_policy(&app, &caller.actor(), caller.token.tenant_id, Some(id), &matrix).await?;
    saved(&app, &caller, Some(id)).await
}

/// Removes a department's own policy (it follows the company's again).
#[utoipa::path(delete, path = "/sla/policies/departments/{id}", tag = "sla", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn delete_department(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::http::StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    sla::delete_policy(&app, &caller.actor(), caller.token.tenant_id, Some(id)).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
