//! The start page's figures: an admin's first steps (from what the company has really set up)
//! and a person's own queue.

use crate::actions::{ActionResult, Actor};
use crate::app::App;
use crate::domain::TenantId;
use crate::store;
use crate::store::home::SetupCounts;

/// The phone number id of the demo company's simulator connection (`demo` creates it; the
/// checklist links its customer phone).
pub const DEMO_PHONE_NUMBER_ID: &str = "100000000000001";

/// How far a company is, and where its demo customer phone is (demo mode only).
pub struct Setup {
    pub counts: SetupCounts,
    /// The simulator's "customer phone" page, when this company's number is the demo's.
    pub simulator_url: Option<String>,
}

/// The first steps of a company, for its admins.
pub async fn setup(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Setup> {
    actor.require_admin_of(tenant)?;
    let counts = store::home::setup_counts(app.db.reader(), tenant).await?;
    let simulator_url = if app.settings.demo {
        // The demo points its connection's Graph URL at the simulator, which also serves the
        // customer phone on `/`; that URL is this run's, so it is read each time.
        store::connections::list(app.db.reader(), tenant)
            .await?
            .into_iter()
            .find(|c| c.phone_number_id == DEMO_PHONE_NUMBER_ID && c.active)
            .map(|c| format!("{}/", c.graph_url.trim_end_matches('/')))
            .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
    } else {
        None
    };
    Ok(Setup { counts, simulator_url })
}

/// What waits for this person: (tickets they attend now, waiting tickets they may take).
pub async fn my_queue(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<(i64, i64)> {
    actor.role_of(tenant)?;
    let Some(user) = actor.user_id() else { return Ok((0, 0)) };
    Ok(store::home::personal_counts(app.db.reader(), tenant, user.0).await?)
}
