//! Two-step sign-in with an authenticator app (TOTP): enrol with a QR code, one-time recovery
//! codes, the login's second step, a company's requirement, an admin's reset for a lost phone,
//! and a person's list of sessions ("sair de todos").

use crate::actions::auth::{LoggedIn, SESSION_DAYS};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::crypto;
use crate::domain::totp;
use crate::domain::{TenantId, UserId};
use crate::store::sessions::Origin;
use crate::store::users::User;
use crate::store::{self};

/// Recovery codes handed out at once.
pub const RECOVERY_CODES: usize = 10;
/// How long the second step may wait after a right password.
pub const CHALLENGE_MINUTES: i64 = 5;
/// Codes tried per challenge before the password has to be typed again.
const ATTEMPTS_PER_CHALLENGE: i64 = 5;

/// What the security page shows.
pub struct Overview {
    pub enabled: bool,
    /// The company requires two-step sign-in of everyone.
    pub required: bool,
    pub recovery_codes_left: i64,
}

/// A secret being enrolled: shown as a QR code (the address) and as text to type.
pub struct Enrolling {
    /// Base32 in groups of four, as people type it.
    pub secret: String,
    pub uri: String,
}

pub async fn overview(app: &App, user: &User) -> ActionResult<Overview> {
    let e = store::two_factor::enrolment(app.db.reader(), user.tenant_id, user.id).await?;
    Ok(Overview {
        enabled: e.secret.is_some(),
        required: store::two_factor::required(app.db.reader(), user.tenant_id).await?,
        recovery_codes_left: store::two_factor::recovery_codes_left(app.db.reader(), user.tenant_id, user.id).await?,
    })
}

/// The secret being enrolled, made now when there is none yet (so reloading the page keeps
/// the QR code the person may have scanned already).
pub async fn enrolling(app: &App, user: &User, company: &str) -> ActionResult<Enrolling> {
    let e = store::two_factor::enrolment(app.db.reader(), user.tenant_id, user.id).await?;
    if e.secret.is_some() {
        return Err(ActionError::Conflict {
            code: "two_factor_enabled",
            message: "two-step sign-in is on already".into(),
        });
    }
    let secret = match e.pending.as_deref().map(|s| app.master_key.open(s)) {
        Some(Ok(s)) => s.expose().to_string(),
        // None yet, or sealed with another master key: a new one.
        _ => {
            let mut bytes = [0u8; totp::SECRET_BYTES];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            let secret = totp::base32_encode(&bytes);
            let sealed = app.master_key.seal(&secret)?;
            store::two_factor::set_pending(app.db.writer(), user.tenant_id, user.id, Some(&sealed), app.clock.now_ms())
                .await?;
            secret
        }
    };
    let issuer = format!("Atende ({company})");
    Ok(Enrolling { uri: totp::otpauth_uri(&issuer, &user.email, &secret), secret: grouped(&secret) })
}

fn grouped(secret: &str) -> String {
    secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

fn wrong_code() -> ActionError {
    ActionError::invalid("wrong_code", "the code is wrong or expired; type the one the app shows now")
}

/// Turns two-step sign-in on once the app's first code proves the secret was copied; returns
/// the recovery codes (shown once).
pub async fn confirm(app: &App, user: &User, code: &str) -> ActionResult<Vec<String>> {
    let now = app.clock.now_ms();
    let e = store::two_factor::enrolment(app.db.reader(), user.tenant_id, user.id).await?;
    if e.secret.is_some() {
        return Err(ActionError::Conflict {
            code: "two_factor_enabled",
            message: "two-step sign-in is on already".into(),
        });
    }
    let Some(pending) = e.pending else {
        return Err(ActionError::invalid("no_enrolment", "open the set-up again to get a QR code"));
    };
    let secret = secret_bytes(app, &pending)?;
    limit(app, user.tenant_id, user.id, now)?;
    let Some(step) = totp::verify(&secret, code, now, e.last_step) else {
        fail(app, user.tenant_id, user.id, now);
        return Err(wrong_code());
    };
    let (codes, hashes) = new_recovery_codes();
    let mut tx = app.db.begin().await?;
    store::two_factor::set_secret(&mut *tx, user.tenant_id, user.id, Some(&pending), step, now).await?;
    store::two_factor::replace_recovery_codes(&mut tx, user.tenant_id, user.id, &hashes).await?;
    audit(&mut tx, user.tenant_id, &format!("user:{}", user.id), "two_factor.enabled", user.id, now).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turns it off: the password and a current code (or a recovery code) prove it is the owner.
pub async fn disable(app: &App, user: &User, password: &str, code: &str) -> ActionResult<()> {
    let now = app.clock.now_ms();
    check_password(app, user, password).await?;
    let mut tx = app.db.begin().await?;
    if !second_step_in(app, &mut tx, user.tenant_id, user.id, code, now).await? {
        return Err(wrong_code());
    }
    store::two_factor::set_secret(&mut *tx, user.tenant_id, user.id, None, 0, now).await?;
    store::two_factor::replace_recovery_codes(&mut tx, user.tenant_id, user.id, &[]).await?;
    audit(&mut tx, user.tenant_id, &format!("user:{}", user.id), "two_factor.disabled", user.id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// New recovery codes (the old ones stop working), after a current code.
pub async fn renew_recovery_codes(app: &App, user: &User, code: &str) -> ActionResult<Vec<String>> {
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if store::two_factor::enrolment(&mut *tx, user.tenant_id, user.id).await?.secret.is_none() {
        return Err(ActionError::invalid("two_factor_disabled", "two-step sign-in is off"));
    }
    if !second_step_in(app, &mut tx, user.tenant_id, user.id, code, now).await? {
        return Err(wrong_code());
    }
    let (codes, hashes) = new_recovery_codes();
    store::two_factor::replace_recovery_codes(&mut tx, user.tenant_id, user.id, &hashes).await?;
    audit(&mut tx, user.tenant_id, &format!("user:{}", user.id), "two_factor.recovery_codes_renewed", user.id, now)
        .await?;
    tx.commit().await?;
    Ok(codes)
}

/// An admin turns a person's two-step sign-in off (a lost phone without recovery codes); their
/// sessions end. Audited; the person sets it up again at their next login if the company
/// requires it.
pub async fn reset_for(app: &App, actor: &Actor, tenant: TenantId, id: UserId) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if store::users::get(&mut *tx, tenant, id).await?.is_none() {
        return Err(ActionError::NotFound);
    }
    store::two_factor::set_secret(&mut *tx, tenant, id, None, 0, now).await?;
    store::two_factor::replace_recovery_codes(&mut tx, tenant, id, &[]).await?;
    store::sessions::delete_for_user(&mut *tx, tenant, id).await?;
    audit(&mut tx, tenant, &actor.label(), "two_factor.reset", id, now).await?;
    let ended = crate::actions::auth::sessions_ended(app, &mut tx, tenant, id, now).await?;
    tx.commit().await?;
    app.bus.deliver(vec![ended]);
    Ok(())
}

/// Whether a person of the company uses two-step sign-in (for their admin's page).
pub async fn is_on_for(app: &App, actor: &Actor, tenant: TenantId, id: UserId) -> ActionResult<bool> {
    actor.require_admin_of(tenant)?;
    Ok(store::two_factor::enrolment(app.db.reader(), tenant, id).await?.secret.is_some())
}

/// Whether the company requires two-step sign-in of everyone.
pub async fn required_in(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<bool> {
    actor.role_of(tenant)?;
    Ok(store::two_factor::required(app.db.reader(), tenant).await?)
}

/// An admin requires (or stops requiring) two-step sign-in of everyone in the company.
pub async fn set_required(app: &App, actor: &Actor, tenant: TenantId, required: bool) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::two_factor::set_required(&mut *tx, tenant, required).await?;
    let details = serde_json::json!({ "required": required });
    store::audit::record(&mut *tx, tenant, &actor.label(), "two_factor.required", "settings:security", &details, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

// ---------- the login's second step ----------

/// Whether this person signs in with a second step.
pub async fn has_second_step(app: &App, user: &User) -> ActionResult<bool> {
    Ok(store::two_factor::enrolment(app.db.reader(), user.tenant_id, user.id).await?.secret.is_some())
}

/// Opens a challenge after a right password; the returned token goes into a short-lived cookie.
pub async fn start_challenge(app: &App, user: &User, next: &str) -> ActionResult<String> {
    let now = app.clock.now_ms();
    let token = crypto::random_token(32);
    store::two_factor::purge_challenges(app.db.writer(), now).await?;
    store::two_factor::insert_challenge(
        app.db.writer(),
        &crypto::sha256_hex(&token),
        user.tenant_id,
        user.id,
        next,
        now,
        now + CHALLENGE_MINUTES * 60_000,
    )
    .await?;
    Ok(token)
}

/// Why a second step did not open a session.
#[derive(Debug, thiserror::Error)]
pub enum SecondStepError {
    /// Expired, used up or unknown: type the password again.
    #[error("the sign-in expired; start again")]
    Expired,
    #[error("the code is wrong")]
    WrongCode,
    #[error("too many wrong codes; try again in {0} s")]
    RateLimited(u64),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for SecondStepError {
    fn from(e: sqlx::Error) -> Self {
        SecondStepError::Internal(e.into())
    }
}

impl From<ActionError> for SecondStepError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::RateLimited { retry_after_secs } => SecondStepError::RateLimited(retry_after_secs),
            other => SecondStepError::Internal(anyhow::anyhow!(other)),
        }
    }
}

/// Checks the code of a challenge (a current code or a recovery code) and opens the session;
/// returns it with the page the login was for.
pub async fn answer(
    app: &App,
    challenge_token: &str,
    code: &str,
    origin: &Origin<'_>,
) -> Result<(LoggedIn, String), SecondStepError> {
    let now = app.clock.now_ms();
    let hash = crypto::sha256_hex(challenge_token);
    let Some(c) = store::two_factor::attempt_challenge(app.db.writer(), &hash, now).await? else {
        return Err(SecondStepError::Expired);
    };
    if c.attempts > ATTEMPTS_PER_CHALLENGE {
        store::two_factor::delete_challenge(app.db.writer(), c.id).await?;
        return Err(SecondStepError::Expired);
    }
    let mut tx = app.db.begin().await?;
    if !second_step_in(app, &mut tx, c.tenant_id, c.user_id, code, now).await? {
        return Err(SecondStepError::WrongCode);
    }
    store::two_factor::delete_challenge(&mut *tx, c.id).await?;
    let Some(user) = store::users::get(&mut *tx, c.tenant_id, c.user_id).await?.filter(|u| u.active) else {
        return Err(SecondStepError::Expired);
    };
    let session_token = crypto::random_token(32);
    let expires = now + SESSION_DAYS * 24 * 3_600_000;
    store::sessions::insert(
        &mut *tx,
        user.tenant_id,
        user.id,
        &crypto::sha256_hex(&session_token),
        origin,
        now,
        expires,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user.id = user.id.0, tenant.id = user.tenant_id.0, "login (two-step)");
    Ok((LoggedIn { user, session_token }, c.next_path))
}

/// Whether `code` is a right current code (spending its step) or an unused recovery code
/// (spending it), counting wrong ones against the person's limit.
async fn second_step_in(
    app: &App,
    tx: &mut store::Tx,
    tenant: TenantId,
    user: UserId,
    code: &str,
    now: i64,
) -> ActionResult<bool> {
    limit(app, tenant, user, now)?;
    let e = store::two_factor::enrolment(&mut **tx, tenant, user).await?;
    let Some(sealed) = e.secret else { return Ok(false) };
    let secret = secret_bytes(app, &sealed)?;
    let ok = match totp::verify(&secret, code, now, e.last_step) {
        Some(step) => store::two_factor::spend_step(&mut **tx, tenant, user, step).await?,
        None => {
            let normal = totp::normalize_recovery_code(code);
            normal.len() == 10
                && store::two_factor::spend_recovery_code(&mut **tx, tenant, user, &crypto::sha256_hex(&normal), now)
                    .await?
        }
    };
    if !ok {
        fail(app, tenant, user, now);
    }
    Ok(ok)
}

fn limiter_key(tenant: TenantId, user: UserId) -> String {
    format!("{}|{}", tenant.0, user.0)
}

fn limit(app: &App, tenant: TenantId, user: UserId, now: i64) -> ActionResult<()> {
    app.two_factor_failures
        .check(&limiter_key(tenant, user), now)
        .map_err(|retry_after_secs| ActionError::RateLimited { retry_after_secs })
}

fn fail(app: &App, tenant: TenantId, user: UserId, now: i64) {
    app.two_factor_failures.record(&limiter_key(tenant, user), now);
    tracing::info!(user.id = user.0, "wrong second-step code");
}

fn secret_bytes(app: &App, sealed: &str) -> ActionResult<Vec<u8>> {
    let secret = app.master_key.open(sealed)?;
    totp::base32_decode(secret.expose())
        .ok_or_else(|| ActionError::Internal(anyhow::anyhow!("stored secret is not base32")))
}

fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 7];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            totp::recovery_code_from(&bytes)
        })
        .collect();
    let hashes = codes.iter().map(|c| crypto::sha256_hex(&totp::normalize_recovery_code(c))).collect();
    (codes, hashes)
}

async fn check_password(app: &App, user: &User, password: &str) -> ActionResult<()> {
    let stored =
        store::users::password_hash(app.db.reader(), user.tenant_id, user.id).await?.ok_or(ActionError::NotFound)?;
    if crypto::verify_password(password, &stored) {
        Ok(())
    } else {
        Err(ActionError::invalid("wrong_password", "the current password is wrong"))
    }
}

async fn audit(
    tx: &mut store::Tx,
    tenant: TenantId,
    actor: &str,
    action: &str,
    user: UserId,
    now: i64,
) -> ActionResult<()> {
    store::audit::record(&mut **tx, tenant, actor, action, &format!("user:{}", user.0), &serde_json::json!({}), now)
        .await?;
    Ok(())
}

// ---------- sessions ----------

/// One of a person's sessions as listed.
pub struct SessionView {
    pub id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub user_agent: String,
    pub client_ip: String,
    /// The session of the browser looking at the list.
    pub current: bool,
}

pub async fn sessions(app: &App, user: &User, current_hash: &str) -> ActionResult<Vec<SessionView>> {
    let rows = store::two_factor::sessions_of(app.db.reader(), user.tenant_id, user.id, app.clock.now_ms()).await?;
    Ok(rows
        .into_iter()
        .map(|r| SessionView {
            id: r.id,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            user_agent: r.user_agent,
            client_ip: r.client_ip,
            current: crypto::constant_time_eq(&r.token_hash, current_hash),
        })
        .collect())
}

/// Ends one of the person's own sessions (its live streams close).
pub async fn end_session(app: &App, user: &User, id: i64) -> ActionResult<()> {
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::two_factor::delete_session(&mut *tx, user.tenant_id, user.id, id).await? {
        return Err(ActionError::NotFound);
    }
    let ended = crate::actions::auth::sessions_ended(app, &mut tx, user.tenant_id, user.id, now).await?;
    tx.commit().await?;
    app.bus.deliver(vec![ended]);
    Ok(())
}

/// "Sair de todos os outros": every session of the person but this browser's; returns how many.
pub async fn end_other_sessions(app: &App, user: &User, keep_hash: &str) -> ActionResult<u64> {
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let n = store::sessions::delete_others(&mut *tx, user.tenant_id, user.id, keep_hash).await?;
    let ended = crate::actions::auth::sessions_ended(app, &mut tx, user.tenant_id, user.id, now).await?;
    tx.commit().await?;
    app.bus.deliver(vec![ended]);
    Ok(n)
}
