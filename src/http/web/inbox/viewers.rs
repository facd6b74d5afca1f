//! "Quem está vendo": the beat an open ticket page sends (`POST /inbox/{id}/viewing`, and
//! `leave=1` when the page goes) and the panel's line of who else sees the ticket now.

use super::*;
use axum::http::StatusCode;

#[derive(Deserialize)]
pub struct ViewingForm {
    #[serde(default)]
    leave: String,
}

/// `POST /inbox/{ticket}/viewing`: 204; 404 for a ticket the person may not see.
pub async fn viewing(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<ViewingForm>) -> Response {
    let result = if form.leave == "1" {
        actions::viewers::leave(&p.app, &p.actor(), p.tenant(), id).await
    } else {
        actions::viewers::beat(&p.app, &p.actor(), p.tenant(), id).await
    };
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => p.failure(&e),
    }
}

/// The names of the others who see the ticket now (the panel's "Vendo agora").
pub(super) async fn others(p: &Page, ticket_id: i64) -> Result<Vec<String>, ActionError> {
    let others = actions::viewers::others(&p.app, &p.actor(), p.tenant(), ticket_id).await?;
    Ok(others.into_iter().map(|(_, name)| name).collect())
}
