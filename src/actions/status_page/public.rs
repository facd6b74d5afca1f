//! What anyone may read of a company's status, without login (the page and its Atom feed), and
//! the chatbot's once-per-ticket notice of an open incident. Only a company that is active, not
//! the platform, and has its page on answers; nothing here names people.

use std::collections::HashMap;

use crate::app::App;
use crate::domain::status_page::{self as rules, ComponentState, Day, Span};
use crate::domain::TenantId;
use crate::store::status_page::{self as db, Component, Incident, Update};
use crate::store::tenants::Tenant;
use crate::store::{self, Tx};

use super::component_state;

/// Feed entries at most (the newest updates).
const FEED_ENTRIES: i64 = 50;
/// Incidents the history counts at most (a company with more in 90 days has bigger problems).
const HISTORY_INCIDENTS: i64 = 1000;
/// Resolved incidents listed with their updates (the newest).
const LISTED_RESOLVED: usize = 30;

/// The public address of a company's status page.
pub fn public_url(app: &App, slug: &str) -> String {
    format!("{}/status/{slug}", app.settings.effective_base_url().trim_end_matches('/'))
}

/// An incident as the public sees it: its timeline (newest first) and the components it names.
#[derive(Clone, Debug)]
pub struct PublicIncident {
    pub incident: Incident,
    pub updates: Vec<Update>,
    pub components: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct PublicPage {
    pub tenant: Tenant,
    pub overall: ComponentState,
    /// Each component with the state shown (its own, or worse by an open incident).
    pub components: Vec<(Component, ComponentState)>,
    pub open: Vec<PublicIncident>,
    /// Incidents resolved in the last 90 days, newest first (the 30 newest).
    pub resolved: Vec<PublicIncident>,
    pub history: Vec<Day>,
}

/// The company whose page answers at `slug`, if any.
async fn published(app: &App, slug: &str) -> anyhow::Result<Option<Tenant>> {
    let Some(tenant) = store::tenants::find_by_slug(app.db.reader(), slug).await? else { return Ok(None) };
    if !tenant.active || tenant.is_platform {
        return Ok(None);
    }
    let settings = db::settings(app.db.reader(), tenant.id).await?;
    Ok(settings.public_enabled.then_some(tenant))
}

/// The public page of the company at `slug`; `None` for an unknown company or a page turned off.
pub async fn public_page(app: &App, slug: &str) -> anyhow::Result<Option<PublicPage>> {
    let Some(tenant) = published(app, slug).await? else { return Ok(None) };
    let ex = app.db.reader();
    let now = app.clock.now_ms();
    let since = now - i64::from(rules::HISTORY_DAYS + 1) * 86_400_000;
    let incidents = db::incidents_since(ex, tenant.id, since, HISTORY_INCIDENTS).await?;
    let components = db::components(ex, tenant.id).await?;
    let links = db::component_links(ex, tenant.id).await?;
    let names: HashMap<i64, String> = components.iter().map(|c| (c.id, c.name.clone())).collect();
    let open_impacts: HashMap<i64, ComponentState> =
        incidents.iter().filter(|i| i.resolved_at.is_none()).map(|i| (i.id, component_state(&i.impact))).collect();
    let shown: Vec<(Component, ComponentState)> = components
        .into_iter()
        .map(|c| {
            let impacts =
                links.iter().filter(|(_, comp)| *comp == c.id).filter_map(|(i, _)| open_impacts.get(i).copied());
            let state = rules::effective(component_state(&c.state), impacts);
            (c, state)
        })
        .collect();
    let overall = rules::overall(shown.iter().map(|(_, s)| *s), open_impacts.values().copied());
    let spans: Vec<Span> = incidents
        .iter()
        .map(|i| Span { created_at: i.created_at, resolved_at: i.resolved_at, impact: component_state(&i.impact) })
        .collect();
    let tz = crate::domain::hours::parse_tz(&tenant.time_zone).unwrap_or(chrono_tz::America::Sao_Paulo);
    let history = rules::history(&spans, now, tz, rules::HISTORY_DAYS);
    let (mut open, mut resolved) = (Vec::new(), Vec::new());
    for i in incidents {
        if i.resolved_at.is_some() && resolved.len() >= LISTED_RESOLVED {
            continue;
        }
        let updates = db::updates_of(ex, tenant.id, i.id).await?;
        let components =
            links.iter().filter(|(inc, _)| *inc == i.id).filter_map(|(_, c)| names.get(c).cloned()).collect();
        let item = PublicIncident { incident: i, updates, components };
        if item.incident.resolved_at.is_none() {
            open.push(item);
        } else {
            resolved.push(item);
        }
    }
    Ok(Some(PublicPage { tenant, overall, components: shown, open, resolved, history }))
}

/// The feed of the company at `slug`: its newest updates, each with its incident.
#[derive(Clone, Debug)]
pub struct PublicFeed {
    pub tenant: Tenant,
    pub entries: Vec<(Incident, Update)>,
}

pub async fn feed(app: &App, slug: &str) -> anyhow::Result<Option<PublicFeed>> {
    let Some(tenant) = published(app, slug).await? else { return Ok(None) };
    let ex = app.db.reader();
    let updates = db::recent_updates(ex, tenant.id, FEED_ENTRIES).await?;
    let mut incidents: HashMap<i64, Incident> = HashMap::new();
    let mut entries = Vec::new();
    for u in updates {
        if !incidents.contains_key(&u.incident_id) {
            match db::incident_by_id(ex, tenant.id, u.incident_id).await? {
                Some(i) => {
                    incidents.insert(i.id, i);
                }
                None => continue,
            }
        }
        if let Some(i) = incidents.get(&u.incident_id) {
            entries.push((i.clone(), u));
        }
    }
    Ok(Some(PublicFeed { tenant, entries }))
}

/// Inside the chatbot's transaction: the notice of the newest open incident, once per ticket
/// (the row saying so is written in `tx`, so a rolled-back step tells the customer next time),
/// when the company has the notice on; `None` otherwise. The link goes only where the public
/// page answers.
pub async fn chatbot_notice(
    app: &App,
    tx: &mut Tx,
    tenant: TenantId,
    ticket_id: i64,
    now: i64,
) -> anyhow::Result<Option<String>> {
    let settings = db::settings(&mut **tx, tenant).await?;
    if !settings.chatbot_notice {
        return Ok(None);
    }
    let Some(incident) = db::open_incidents(&mut **tx, tenant).await?.into_iter().next() else { return Ok(None) };
    if !db::note_notice(&mut **tx, tenant, ticket_id, incident.id, now).await? {
        return Ok(None);
    }
    let slug = store::tenants::get(&mut **tx, tenant).await?.map(|t| t.slug).unwrap_or_default();
    let url = settings.public_enabled.then(|| public_url(app, &slug));
    Ok(Some(rules::notice_text(&incident.title, url.as_deref())))
}
