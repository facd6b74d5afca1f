//! Authentication: password login with rate limits, sessions, logout, and API bearer tokens.

use crate::actions::{ActionError, ActionResult};
use crate::app::App;
use crate::crypto;
use crate::domain::access::Audience;
use crate::domain::{TenantId, UserId};
use crate::store::events::StoredEvent;
use crate::store::sessions::{Origin, SessionOwner};
use crate::store::tokens::ApiToken;
use crate::store::users::User;

pub const SESSION_DAYS: i64 = 7;

/// Failed logins of one account (from anywhere, in the limiter's window) answered at full
/// speed: the owner's own typos.
const FREE_FAILURES: usize = 10;
/// The pause before checking a password once an account has more failures than that: it
/// doubles with each failure from this, up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: u64 = 250;
const MAX_BACKOFF_MS: u64 = 3_000;

/// How long to pause a login attempt on an account that failed `failures` times lately. A
/// pause, never a refusal: a stranger guessing from many addresses slows the owner's login by
/// a few seconds at most, but cannot lock the owner out.
fn backoff_ms(failures: usize) -> u64 {
    let over = failures.saturating_sub(FREE_FAILURES);
    if over == 0 {
        return 0;
    }
    let doublings = u32::try_from(over - 1).unwrap_or(u32::MAX).min(16);
    (FIRST_BACKOFF_MS << doublings).min(MAX_BACKOFF_MS)
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Same answer whether the e-mail exists or not.
    #[error("wrong e-mail or password")]
    BadCredentials,
    /// The e-mail has accounts in several companies and no company was named.
    #[error("this e-mail belongs to several companies; choose the company")]
    TenantRequired,
    #[error("too many attempts; try again in {0} s")]
    RateLimited(u64),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub struct LoggedIn {
    pub user: User,
    /// The session cookie's value; only its hash is stored.
    pub session_token: String,
}

/// Where a right password leads: a session, or the second step for people who turned
/// two-step sign-in on (see `actions::two_factor`).
pub enum LoginStep {
    Session(LoggedIn),
    /// The challenge cookie's value; the code typed next is checked against it.
    SecondStep {
        challenge_token: String,
    },
}

/// Checks e-mail and password (of one company when `tenant_slug` is given) and opens a session.
///
/// Only failures count. A client address gets a number of failures over all accounts, and
/// a number per account: past that, that address is refused for that account (429 with the
/// wait) while the owner, from another address, still logs in. Failures of an account from
/// every address together only slow its attempts down ([`backoff_ms`]).
pub async fn login(
    app: &App,
    email: &str,
    password: &str,
    tenant_slug: Option<&str>,
    origin: &Origin<'_>,
    next: &str,
) -> Result<LoginStep, LoginError> {
    let client_ip = origin.client_ip;
    let now = app.clock.now_ms();
    let email = email.trim().to_lowercase();
    let slug = tenant_slug.map(str::trim).filter(|s| !s.is_empty());
    // Keyed by the company as looked up (trimmed), so re-spacing it does not reset the count.
    let account_key = format!("{}|{email}", slug.unwrap_or(""));
    let pair_key = format!("{client_ip}|{account_key}");
    // Each attempt takes its place in the limits before the password is checked (so parallel
    // guesses cannot all slip past the check); one that does not fail gives it back.
    app.login_ip_limiter.hit(client_ip, now).map_err(LoginError::RateLimited)?;
    if let Err(wait) = app.login_account_limiter.hit(&pair_key, now) {
        app.login_ip_limiter.forgive(client_ip, now);
        return Err(LoginError::RateLimited(wait));
    }
    let result = check_password(app, &email, password, slug, now, &account_key, client_ip).await;
    if !matches!(result, Err(LoginError::BadCredentials)) {
        app.login_ip_limiter.forgive(client_ip, now);
        app.login_account_limiter.forgive(&pair_key, now);
    }
    let user = result?;
    // The owner is back: their earlier typos from this address are forgiven. Failures from
    // elsewhere keep slowing the account down until they age out.
    app.login_account_limiter.clear(&pair_key);
    if crate::actions::two_factor::has_second_step(app, &user).await.map_err(|e| anyhow::anyhow!(e))? {
        let challenge_token =
            crate::actions::two_factor::start_challenge(app, &user, next).await.map_err(|e| anyhow::anyhow!(e))?;
        return Ok(LoginStep::SecondStep { challenge_token });
    }
    let session_token = crypto::random_token(32);
    let expires = now + SESSION_DAYS * 24 * 3_600_000;
    crate::store::sessions::insert(
        app.db.writer(),
        user.tenant_id,
        user.id,
        &crypto::sha256_hex(&session_token),
        origin,
        now,
        expires,
    )
    .await
    .map_err(anyhow::Error::from)?;
    tracing::info!(user.id = user.id.0, tenant.id = user.tenant_id.0, "login");
    Ok(LoginStep::Session(LoggedIn { user, session_token }))
}

/// The one user whose password this is, after the pause the account's recent failures call
/// for; a failure is recorded against the account.
async fn check_password(
    app: &App,
    email: &str,
    password: &str,
    slug: Option<&str>,
    now: i64,
    account_key: &str,
    client_ip: &str,
) -> Result<User, LoginError> {
    let pause = backoff_ms(app.login_account_failures.count(account_key, now));
    if pause > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
    }
    let candidates =
        crate::store::users::login_candidates(app.db.reader(), email, slug).await.map_err(anyhow::Error::from)?;
    // Verify against every candidate (or a dummy hash) so timing does not reveal which exist.
    let mut matches = Vec::new();
    if candidates.is_empty() {
        crypto::dummy_verify(password);
    }
    for c in candidates {
        if crypto::verify_password(password, &c.password_hash) && c.user.active && c.tenant_active {
            matches.push(c.user);
        }
    }
    match matches.len() {
        0 => {
            app.login_account_failures.record(account_key, now);
            tracing::info!(client.ip = client_ip, "login failed");
            Err(LoginError::BadCredentials)
        }
        1 => Ok(matches.remove(0)),
        _ => Err(LoginError::TenantRequired),
    }
}

/// The user and tenant of a live session cookie (noting, every few minutes, that it is in use).
pub async fn session_user(app: &App, session_token: &str) -> ActionResult<Option<SessionOwner>> {
    let hash = crypto::sha256_hex(session_token);
    let now = app.clock.now_ms();
    let owner = crate::store::sessions::find(app.db.reader(), &hash, now).await?;
    if owner.as_ref().is_some_and(|o| o.last_seen_at < now - crate::store::sessions::SEEN_EVERY_MS) {
        crate::store::sessions::touch(app.db.writer(), &hash, now).await?;
    }
    Ok(owner)
}

/// Ends a session; its live-event streams hear [`SESSIONS_ENDED`] and close.
pub async fn logout(app: &App, session_token: &str) -> ActionResult<()> {
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut events = Vec::new();
    if let Some((tenant, user)) = crate::store::sessions::delete(&mut *tx, &crypto::sha256_hex(session_token)).await? {
        events.push(sessions_ended(app, &mut tx, tenant, user, now).await?);
    }
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(())
}

/// The live event that tells a person's event streams to check their session again (logout,
/// password reset or change); only that person's browsers receive it.
pub const SESSIONS_ENDED: &str = "session.ended";

/// Records [`SESSIONS_ENDED`] for `user` in the transaction that ended sessions.
pub async fn sessions_ended(
    app: &App,
    tx: &mut crate::store::Tx,
    tenant: TenantId,
    user: UserId,
    now: i64,
) -> ActionResult<StoredEvent> {
    let data = serde_json::json!({ "user_id": user });
    Ok(app.bus.record(tx, tenant, SESSIONS_ENDED, Audience::User(user), data, now).await?)
}

/// The active token for an `Authorization: Bearer` value. Records its last use at most once a
/// minute, so reads do not turn into a write per request.
pub async fn bearer_token(app: &App, secret: &str) -> ActionResult<ApiToken> {
    if !secret.starts_with(crate::actions::tokens::TOKEN_PREFIX) || secret.len() > 200 {
        return Err(ActionError::Unauthorized);
    }
    let token = crate::store::tokens::find_active(app.db.reader(), &crypto::sha256_hex(secret))
        .await?
        .ok_or(ActionError::Unauthorized)?;
    crate::actions::plans::require_feature(app, token.tenant_id, crate::domain::plans::Feature::Api).await?;
    let now = app.clock.now_ms();
    if token.last_used_at.is_none_or(|t| t < now - 60_000) {
        crate::store::tokens::touch(app.db.writer(), token.id, now).await?;
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_grows_with_failures_and_stays_short() {
        assert_eq!(backoff_ms(0), 0);
        assert_eq!(backoff_ms(FREE_FAILURES), 0);
        assert_eq!(backoff_ms(FREE_FAILURES + 1), FIRST_BACKOFF_MS);
        assert_eq!(backoff_ms(FREE_FAILURES + 2), 2 * FIRST_BACKOFF_MS);
        assert_eq!(backoff_ms(1_000_000), MAX_BACKOFF_MS);
    }
}
