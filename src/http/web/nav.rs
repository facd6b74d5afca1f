//! The sidebar: the one list of the app's pages by group, and who may open each, so a person
//! sees only the pages that would let them in.

use super::icons;
use super::Lang;
use crate::domain::Role;

/// One navigation entry; only pages that exist and the user may open are listed.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    /// Inline SVG markup from `icons` (a constant of ours, never user data).
    pub icon: &'static str,
    pub active: bool,
}

/// A titled group of the sidebar (Atendimento, Gestão, …); an untitled group leads.
pub struct NavGroup {
    pub label: &'static str,
    pub items: Vec<NavItem>,
}

/// Who may open a page: the sidebar shows an entry only when its page would let the person in.
#[derive(Clone, Copy)]
enum Audience {
    Everyone,
    WholeTenant,
    TenantAdmins,
    PlatformAdmins,
}

impl Audience {
    fn admits(self, role: Role) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::WholeTenant => role.sees_whole_tenant(),
            Audience::TenantAdmins => role.can_manage_tenant(),
            Audience::PlatformAdmins => role == Role::PlatformAdmin,
        }
    }
}

/// (href, label key, icon, who may open it)
type NavEntry = (&'static str, &'static str, &'static str, Audience);

/// The sidebar, the one list of the app's pages: (group key, [(href, label key, icon, audience)]).
/// A new page gets its entry here, in the group where a Whaticket user would look for it.
const NAV: &[(&str, &[NavEntry])] = &[
    ("", &[("/", "nav.home", icons::HOME, Audience::Everyone)]),
    (
        "nav.group.service",
        &[
            ("/inbox", "nav.inbox", icons::INBOX, Audience::Everyone),
            ("/contacts", "nav.contacts", icons::CONTACTS, Audience::Everyone),
            ("/tasks", "nav.tasks", super::tasks::ICON, Audience::Everyone),
            ("/kanban", "nav.kanban", icons::KANBAN, Audience::Everyone),
            ("/schedules", "nav.schedules", icons::CALENDAR, Audience::Everyone),
            ("/chat", "nav.chat", super::chat::ICON, Audience::Everyone),
        ],
    ),
    (
        "nav.group.manage",
        &[
            // Whaticket's order: Painel, Campanhas, Setores, Chatbot, Horários,
            // Usuários, Conexões, Respostas rápidas, Etiquetas.
            ("/painel", "nav.painel", icons::CHART, Audience::WholeTenant),
            ("/campaigns", "nav.campaigns", icons::CAMPAIGNS, Audience::WholeTenant),
            ("/admin/departments", "nav.departments", icons::DEPARTMENTS, Audience::TenantAdmins),
            ("/admin/chatbot", "nav.chatbot", icons::AUTOMATION, Audience::TenantAdmins),
            ("/admin/automation", "nav.automation", icons::CLOCK, Audience::TenantAdmins),
            ("/admin/sla", "nav.sla", icons::PENDING, Audience::WholeTenant),
            ("/admin/users", "nav.users", icons::USERS, Audience::TenantAdmins),
            ("/admin/connections", "nav.connections", icons::CONNECTIONS, Audience::TenantAdmins),
            ("/admin/quick-replies", "nav.quick_replies", icons::QUICK_REPLIES, Audience::WholeTenant),
            ("/admin/tags", "nav.tags", icons::TAGS, Audience::WholeTenant),
            ("/admin/templates", "nav.templates", icons::TEMPLATES, Audience::WholeTenant),
            ("/admin/status", "nav.status_page", super::status_page::ICON, Audience::WholeTenant),
        ],
    ),
    (
        "nav.group.integrations",
        &[
            ("/admin/tokens", "nav.api", icons::API, Audience::TenantAdmins),
            ("/admin/webhooks", "nav.webhooks", icons::WEBHOOKS, Audience::WholeTenant),
        ],
    ),
    (
        "nav.group.account",
        &[
            ("/admin/settings", "nav.settings", icons::SETTINGS, Audience::TenantAdmins),
            ("/admin/plan", "nav.plan", icons::PLANS, Audience::TenantAdmins),
            ("/admin/audit", "nav.audit", icons::ACCOUNT, Audience::TenantAdmins),
        ],
    ),
];

/// The platform admin's sidebar: their tenant serves no customers, so no inbox, contacts or
/// company settings; they manage companies and the platform's own people (other operators).
const PLATFORM_NAV: &[(&str, &[NavEntry])] = &[(
    "nav.group.platform",
    &[
        ("/platform/tenants", "nav.tenants", icons::TENANTS, Audience::PlatformAdmins),
        ("/platform/plans", "nav.plans", icons::PLANS, Audience::PlatformAdmins),
        ("/admin/users", "nav.users", icons::USERS, Audience::PlatformAdmins),
    ],
)];

/// The sidebar of `role` in `lang`, with `current` marked; groups left empty are dropped.
pub fn navigation(lang: Lang, role: Role, current: &str) -> Vec<NavGroup> {
    let nav = if role == Role::PlatformAdmin { PLATFORM_NAV } else { NAV };
    nav.iter()
        .map(|(group, entries)| NavGroup {
            label: if group.is_empty() { "" } else { lang.t(group) },
            items: entries
                .iter()
                .filter(|(_, _, _, audience)| audience.admits(role))
                .map(|(href, key, icon, _)| NavItem { href, label: lang.t(key), icon, active: *href == current })
                .collect(),
        })
        .filter(|g| !g.items.is_empty())
        .collect()
}
