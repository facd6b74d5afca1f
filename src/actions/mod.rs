//! Use cases shared by every entry point (web UI, REST API, command line, jobs). Each one checks
//! who may do it, owns its transaction, writes, records audit entries and events, and commits.

pub mod account_links;
pub mod audit;
pub mod auth;
pub mod automation;
pub mod bootstrap;
pub mod campaigns;
pub mod chat;
pub mod composer;
pub mod connections;
pub mod consent;
pub mod contact_csv;
pub mod contact_filters;
pub mod contacts;
pub mod csat;
pub mod delivery;
pub mod departments;
pub mod diagnostics;
pub mod flow_editor;
mod flow_http;
pub mod flow_test;
pub mod home;
pub mod idempotency;
pub mod inbox;
pub mod kanban;
pub mod keyword_rules;
pub mod lgpd;
pub mod new_conversation;
pub mod plans;
pub mod qr_sessions;
pub mod quick_replies;
pub mod receive;
pub mod reports;
pub mod schedules;
pub mod send;
pub mod settings;
pub mod sla;
pub mod status_page;
pub mod support;
pub mod tags;
pub mod tasks;
pub mod templates;
pub mod tenants;
pub mod timed_rules;
pub mod tokens;
pub mod two_factor;
pub mod users;
pub mod vault;
pub mod vault_links;
pub mod viewers;
pub mod wallet;
pub mod webhooks;

use crate::domain::{Role, TenantId, UserId};
use crate::store::tokens::ApiToken;
use crate::store::users::User;

/// Why an action did not happen. Every variant carries a stable, snake_case code.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("not found")]
    NotFound,
    #[error("you may not do this")]
    Forbidden,
    /// A feature the company's plan switched off (403 with its code, e.g. `feature_disabled`).
    #[error("{message}")]
    Disabled { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A plan's limit would be passed (403 `plan_limit_reached`, naming the limit).
    #[error("plan limit reached: {limit} (the plan allows {allowed})")]
    PlanLimit { limit: &'static str, allowed: i64 },
    #[error("authentication required")]
    Unauthorized,
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ActionError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ActionError::Invalid { code, message: message.into() }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ActionError::Invalid { code, .. }
            | ActionError::Conflict { code, .. }
            | ActionError::Disabled { code, .. } => code,
            ActionError::PlanLimit { .. } => "plan_limit_reached",
            ActionError::NotFound => "not_found",
            ActionError::Forbidden => "forbidden",
            ActionError::Unauthorized => "unauthorized",
            ActionError::RateLimited { .. } => "rate_limited",
            ActionError::Internal(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for ActionError {
    fn from(e: sqlx::Error) -> Self {
        ActionError::Internal(e.into())
    }
}

pub type ActionResult<T> = Result<T, ActionError>;

/// Whether a database error is a unique-key violation (a duplicate slug, e-mail…).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// Who performs an action: a person, an API token, or the operator at the command line.
#[derive(Clone, Debug)]
pub enum Actor {
    User(User),
    Token(ApiToken),
    Operator,
}

impl Actor {
    /// The audit log's name for this actor.
    pub fn label(&self) -> String {
        match self {
            Actor::User(u) => format!("user:{}", u.id),
            Actor::Token(t) => format!("token:{}", t.id.0),
            Actor::Operator => "operator".into(),
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::User(u) => Some(u.id),
            _ => None,
        }
    }

    /// The highest role this actor may act with inside `tenant`; `None` when it has no access.
    fn role_in(&self, tenant: TenantId) -> Option<Role> {
        match self {
            Actor::Operator => Some(Role::PlatformAdmin),
            Actor::User(u) if u.tenant_id == tenant => Some(u.role),
            Actor::User(_) => None,
            // Tokens manage their tenant's data as an admin would, within their scopes.
            Actor::Token(t) if t.tenant_id == tenant => Some(Role::Admin),
            Actor::Token(_) => None,
        }
    }

    /// Requires the right to manage users and tokens of `tenant`. Another tenant's data answers
    /// "not found", never "forbidden", so its existence does not leak.
    pub fn require_admin_of(&self, tenant: TenantId) -> ActionResult<Role> {
        match self.role_in(tenant) {
            Some(role) if role.can_manage_tenant() => Ok(role),
            Some(_) => Err(ActionError::Forbidden),
            None => Err(ActionError::NotFound),
        }
    }

    /// Requires the right to talk to customers of `tenant`: any person of the tenant, or a token
    /// with the `send` scope. Another tenant answers "not found".
    pub fn require_sender_in(&self, tenant: TenantId) -> ActionResult<Role> {
        match (self, self.role_in(tenant)) {
            (_, None) => Err(ActionError::NotFound),
            (Actor::Token(t), Some(_)) if !t.scopes.contains(&crate::domain::Scope::Send) => {
                Err(ActionError::Forbidden)
            }
            (_, Some(role)) => Ok(role),
        }
    }

    /// Requires the right to work tickets of `tenant` (transfer, tag, reopen, close without a
    /// message): any person of the tenant, or a token with the `write` or `send` scope.
    pub fn require_agent_in(&self, tenant: TenantId) -> ActionResult<Role> {
        use crate::domain::Scope;
        match (self, self.role_in(tenant)) {
            (_, None) => Err(ActionError::NotFound),
            (Actor::Token(t), Some(_)) if !(t.scopes.contains(&Scope::Write) || t.scopes.contains(&Scope::Send)) => {
                Err(ActionError::Forbidden)
            }
            (_, Some(role)) => Ok(role),
        }
    }

    /// The role this actor acts with in `tenant`; another tenant answers "not found".
    pub fn role_of(&self, tenant: TenantId) -> ActionResult<Role> {
        self.role_in(tenant).ok_or(ActionError::NotFound)
    }

    /// Requires supervisor rights (or more) in `tenant`; another tenant answers "not found".
    pub fn require_supervisor_of(&self, tenant: TenantId) -> ActionResult<Role> {
        match self.role_in(tenant) {
            Some(role) if role.sees_whole_tenant() => Ok(role),
            Some(_) => Err(ActionError::Forbidden),
            None => Err(ActionError::NotFound),
        }
    }

    pub fn is_platform_admin(&self) -> bool {
        match self {
            Actor::Operator => true,
            Actor::User(u) => u.role == Role::PlatformAdmin,
            Actor::Token(_) => false,
        }
    }
}
