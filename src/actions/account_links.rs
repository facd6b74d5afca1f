//! One-time links by e-mail: "Esqueci minha senha" (an hour) and invitations for new people
//! (three days). Asking for a reset never says whether the address has an account; using a link
//! sets the password, spends every other open link of the person and ends their sessions.

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::crypto;
use crate::domain::jobs::JobKind;
use crate::domain::{validate, TenantId, UserId};
use crate::store::users::User;
use crate::store::{self};

pub const RESET_MINUTES: i64 = 60;
pub const INVITE_HOURS: i64 = 72;
const RESET: &str = "reset";
const INVITE: &str = "invite";

/// Whether the operator configured a mail relay (the pages offer the e-mail flows only then).
pub fn mail_enabled(app: &App) -> bool {
    app.settings.smtp_url.is_some()
}

fn require_mail(app: &App) -> ActionResult<()> {
    if mail_enabled(app) {
        Ok(())
    } else {
        Err(ActionError::invalid("mail_not_configured", "this server sends no e-mail (ATENDE_SMTP_URL is not set)"))
    }
}

/// "Esqueci minha senha": mails a link to each active account with this address (of the named
/// company, when given). Answers the same whether or not there is one; limited per address and
/// per client so nobody is flooded with mail.
pub async fn request_reset(app: &App, email: &str, tenant_slug: Option<&str>, client_ip: &str) -> ActionResult<()> {
    require_mail(app)?;
    let now = app.clock.now_ms();
    let email = email.trim().to_lowercase();
    let limited = |wait| ActionError::RateLimited { retry_after_secs: wait };
    app.login_ip_limiter.hit(&format!("reset|{client_ip}"), now).map_err(limited)?;
    app.login_account_limiter.hit(&format!("reset|{email}"), now).map_err(limited)?;
    let slug = tenant_slug.map(str::trim).filter(|s| !s.is_empty());
    let candidates = store::users::login_candidates(app.db.reader(), &email, slug).await?;
    for c in candidates.into_iter().filter(|c| c.user.active && c.tenant_active) {
        send_link(app, &c.user, RESET, now + RESET_MINUTES * 60_000, now).await?;
    }
    tracing::info!(client.ip = client_ip, "password reset asked for");
    Ok(())
}

/// An admin e-mails a person an invitation to set their own password and sign in.
pub async fn invite(app: &App, actor: &Actor, tenant: TenantId, id: UserId) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    require_mail(app)?;
    let now = app.clock.now_ms();
    let user =
        store::users::get(app.db.reader(), tenant, id).await?.filter(|u| u.active).ok_or(ActionError::NotFound)?;
    send_link(app, &user, INVITE, now + INVITE_HOURS * 3_600_000, now).await?;
    let details = serde_json::json!({});
    store::audit::record(
        app.db.writer(),
        tenant,
        &actor.label(),
        "user.invited",
        &format!("user:{}", id.0),
        &details,
        now,
    )
    .await?;
    Ok(())
}

/// Stores the link and queues its e-mail in one transaction (the job retries while the relay is
/// down; the text, which holds the link, is sealed in the job's payload).
async fn send_link(app: &App, user: &User, purpose: &str, expires_at: i64, now: i64) -> ActionResult<()> {
    let token = crypto::random_token(32);
    let link = format!("{}/password/reset?token={token}", app.settings.effective_base_url());
    let company = store::tenants::get(app.db.reader(), user.tenant_id).await?.map(|t| t.name).unwrap_or_default();
    let (subject, text) = letter(user, &company, purpose, &link);
    let payload = serde_json::json!({
        "to": user.email,
        "subject": subject,
        "text_sealed": app.master_key.seal(&text)?,
    });
    let mut tx = app.db.begin().await?;
    store::account_links::insert(
        &mut *tx,
        &crypto::sha256_hex(&token),
        user.tenant_id,
        user.id,
        purpose,
        now,
        expires_at,
    )
    .await?;
    let job = store::jobs::NewJob {
        tenant_id: user.tenant_id,
        kind: JobKind::Mail.as_str(),
        payload: &payload,
        run_at: now,
        max_attempts: 8,
        dedupe_key: None,
    };
    store::jobs::enqueue(&mut *tx, job, now).await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// The e-mail's subject and text, in the person's language (pt-BR unless they chose English).
fn letter(user: &User, company: &str, purpose: &str, link: &str) -> (String, String) {
    let english = user.locale.as_deref() == Some("en");
    match (purpose, english) {
        (INVITE, false) => (
            format!("Convite para o Atende — {company}"),
            format!(
                "Olá, {name}!\n\nVocê foi convidado(a) para atender os clientes de {company} no Atende.\n\
                 Crie sua senha por este link (vale por {INVITE_HOURS} horas, uma vez):\n\n{link}\n\n\
                 Seu e-mail de acesso: {email}\n",
                name = user.name,
                email = user.email
            ),
        ),
        (INVITE, true) => (
            format!("Your invitation to Atende — {company}"),
            format!(
                "Hello, {name}!\n\nYou were invited to serve {company}'s customers on Atende.\n\
                 Choose your password with this link (valid for {INVITE_HOURS} hours, once):\n\n{link}\n\n\
                 You sign in as: {email}\n",
                name = user.name,
                email = user.email
            ),
        ),
        (_, false) => (
            "Redefinição de senha do Atende".to_string(),
            format!(
                "Olá, {name}!\n\nAlguém (esperamos que você) pediu para redefinir a sua senha do Atende em {company}.\n\
                 Crie uma nova senha por este link (vale por {RESET_MINUTES} minutos, uma vez):\n\n{link}\n\n\
                 Se não foi você, ignore este e-mail: a sua senha continua a mesma.\n",
                name = user.name
            ),
        ),
        (_, true) => (
            "Reset your Atende password".to_string(),
            format!(
                "Hello, {name}!\n\nSomeone (we hope you) asked to reset your Atende password at {company}.\n\
                 Choose a new password with this link (valid for {RESET_MINUTES} minutes, once):\n\n{link}\n\n\
                 If it was not you, ignore this e-mail: your password stays as it is.\n",
                name = user.name
            ),
        ),
    }
}

/// Who an open link is for (the page greets them), and whether it is an invitation.
pub async fn link_owner(app: &App, token: &str) -> ActionResult<(User, bool)> {
    let found = store::account_links::find(app.db.reader(), &crypto::sha256_hex(token), app.clock.now_ms()).await?;
    let (tenant, id, purpose) = found.ok_or_else(expired)?;
    let user = store::users::get(app.db.reader(), tenant, id).await?.filter(|u| u.active).ok_or_else(expired)?;
    Ok((user, purpose == INVITE))
}

fn expired() -> ActionError {
    ActionError::invalid("link_expired", "this link was used or has expired; ask for a new one")
}

/// Sets the password a link was for; the link and the person's other links are spent, their
/// sessions end. Returns the person (who then signs in with the new password).
pub async fn use_link(app: &App, token: &str, new_password: &str) -> ActionResult<User> {
    let now = app.clock.now_ms();
    validate::password(new_password).map_err(|m| ActionError::invalid("weak_password", m))?;
    let (user, invite) = link_owner(app, token).await?;
    let hash = crypto::hash_password(new_password)?;
    let mut tx = app.db.begin().await?;
    if !store::account_links::spend(&mut *tx, &crypto::sha256_hex(token), now).await? {
        return Err(expired());
    }
    store::account_links::spend_all_of(&mut *tx, user.tenant_id, user.id, now).await?;
    store::users::set_password(&mut *tx, user.tenant_id, user.id, &hash, now).await?;
    store::sessions::delete_for_user(&mut *tx, user.tenant_id, user.id).await?;
    let action = if invite { "user.invitation_accepted" } else { "user.password_reset_by_link" };
    store::audit::record(
        &mut *tx,
        user.tenant_id,
        &format!("user:{}", user.id),
        action,
        &format!("user:{}", user.id),
        &serde_json::json!({}),
        now,
    )
    .await?;
    let ended = crate::actions::auth::sessions_ended(app, &mut tx, user.tenant_id, user.id, now).await?;
    tx.commit().await?;
    app.bus.deliver(vec![ended]);
    Ok(user)
}
