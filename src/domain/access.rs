//! Roles of people and scopes of API tokens, and what each may do.

use serde::{Deserialize, Serialize};

/// A person's role, ordered from least to most powerful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
    PlatformAdmin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Agent, Role::Supervisor, Role::Admin, Role::PlatformAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::PlatformAdmin => "platform_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Admins (and the platform admin) manage users and tokens of their tenant.
    pub fn can_manage_tenant(self) -> bool {
        self >= Role::Admin
    }

    /// Supervisors and above see everything of their tenant.
    pub fn sees_whole_tenant(self) -> bool {
        self >= Role::Supervisor
    }

    /// The roles this role may hand out: never above its own.
    pub fn can_grant(self, other: Role) -> bool {
        self.can_manage_tenant() && other <= self
    }
}

/// What an API token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Write,
    Send,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Send];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Send => "send",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// Parses a comma-separated list such as `read,write`; an empty or unknown entry is an error.
    pub fn parse_list(s: &str) -> Result<Vec<Scope>, String> {
        let mut scopes = Vec::new();
        for part in s.split(',') {
            let scope = Scope::parse(part).ok_or_else(|| format!("unknown scope {:?}", part.trim()))?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        Ok(scopes)
    }

    pub fn join(scopes: &[Scope]) -> String {
        scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_cannot_grant_platform_admin() {
        assert!(Role::Admin.can_grant(Role::Supervisor));
        assert!(Role::Admin.can_grant(Role::Admin));
        assert!(!Role::Admin.can_grant(Role::PlatformAdmin));
        assert!(!Role::Supervisor.can_grant(Role::Agent));
    }

    #[test]
    fn scope_lists_parse_and_reject_unknown() {
        assert_eq!(Scope::parse_list("read, send,read").unwrap(), vec![Scope::Read, Scope::Send]);
        assert!(Scope::parse_list("read,admin").is_err());
        assert!(Scope::parse_list("").is_err());
    }
}

/// Who may see a live event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Everyone of the tenant (and its API tokens).
    Tenant,
    /// People of this role or above (and the tenant's API tokens).
    MinRole(Role),
    /// One person only.
    User(crate::domain::UserId),
}

impl Audience {
    pub fn encode(self) -> String {
        match self {
            Audience::Tenant => "tenant".into(),
            Audience::MinRole(r) => format!("role:{}", r.as_str()),
            Audience::User(u) => format!("user:{}", u.0),
        }
    }

    pub fn decode(s: &str) -> Option<Audience> {
        if s == "tenant" {
            return Some(Audience::Tenant);
        }
        if let Some(r) = s.strip_prefix("role:") {
            return Role::parse(r).map(Audience::MinRole);
        }
        s.strip_prefix("user:")?.parse().ok().map(|id| Audience::User(crate::domain::UserId(id)))
    }

    /// Whether a viewer sees it: a person (role and id) or an API token (`None`, tenant-wide).
    pub fn admits(self, person: Option<(Role, crate::domain::UserId)>) -> bool {
        match (self, person) {
            (Audience::Tenant, _) => true,
            (Audience::MinRole(_), None) => true,
            (Audience::MinRole(min), Some((role, _))) => role >= min,
            (Audience::User(_), None) => false,
            (Audience::User(target), Some((_, id))) => target == id,
        }
    }
}

#[cfg(test)]
mod audience_tests {
    use super::*;
    use crate::domain::UserId;

    #[test]
    fn audiences_round_trip_and_filter_by_role_and_person() {
        for a in [Audience::Tenant, Audience::MinRole(Role::Admin), Audience::User(UserId(7))] {
            assert_eq!(Audience::decode(&a.encode()), Some(a));
        }
        assert!(!Audience::MinRole(Role::Admin).admits(Some((Role::Agent, UserId(1)))));
        assert!(Audience::MinRole(Role::Admin).admits(Some((Role::PlatformAdmin, UserId(1)))));
        assert!(Audience::User(UserId(7)).admits(Some((Role::Agent, UserId(7)))));
        assert!(!Audience::User(UserId(7)).admits(Some((Role::Admin, UserId(8)))));
    }
}
