//! What the two exports hold. One contact's (supervisors and admins, as deleting a contact):
//! profile with its custom fields' labels and tags, identities, consent history, tickets with
//! their history, messages, private notes, tasks with comments, campaign and schedule rows, and
//! the media files of its messages. The company's (its admins): every table's rows of the
//! company as JSON lines (`tenant_id` on every query; credentials, sealed secrets, hashes, the
//! job queue and the live-event log left out) and every media file its messages and chat name.

use std::collections::HashSet;

use super::stream::{exportable, ZipOut};
use super::ZipJob;
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::TenantId;
use crate::store::lgpd::{RowQuery, SKIPPED_TABLES};
use crate::store::{self};

pub(super) enum Kind {
    Contact(i64),
    Company,
}

const TICKETS: &str = "SELECT id FROM tickets WHERE tenant_id = $1 AND contact_id = $2";

/// Checks the caller, audits `contact.exported` (the id only) and returns the export to run.
pub async fn export_contact(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<ZipJob> {
    actor.require_supervisor_of(tenant)?;
    store::contacts::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let subject = format!("contact:{id}");
    store::audit::record(&mut *tx, tenant, &actor.label(), "contact.exported", &subject, &serde_json::json!({}), now)
        .await?;
    tx.commit().await?;
    Ok(ZipJob { kind: Kind::Contact(id), tenant, filename: format!("contato-{id}-lgpd.zip") })
}

/// Checks the caller (the company's admins), audits `company.exported` and returns the export.
pub async fn company_export(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<ZipJob> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let subject = format!("tenant:{}", tenant.0);
    store::audit::record(&mut *tx, tenant, &actor.label(), "company.exported", &subject, &serde_json::json!({}), now)
        .await?;
    tx.commit().await?;
    let day = chrono::DateTime::from_timestamp_millis(now).map(|d| d.format("%Y%m%d").to_string()).unwrap_or_default();
    Ok(ZipJob { kind: Kind::Company, tenant, filename: format!("empresa-{}-{day}.zip", tenant.0) })
}

const README: &str = "Exportação de dados do Atende / Atende data export\n\n\
pt-BR: cada arquivo .json traz os registros como estão guardados (horários em milissegundos Unix, UTC);\n\
a pasta media/ traz os arquivos das mensagens, com o nome do seu SHA-256. Segredos (senhas, tokens,\n\
chaves) não são exportados.\n\n\
en: each .json file holds the records as stored (times in Unix milliseconds, UTC); the media/ folder\n\
holds the messages' files, named by their SHA-256. Secrets (passwords, tokens, keys) are not exported.\n";

pub(super) async fn write(app: &App, job: &ZipJob, out: &mut ZipOut) -> anyhow::Result<()> {
    out.file("LEIAME-README.txt", README.as_bytes()).await?;
    let manifest = match job.kind {
        Kind::Contact(id) => contact(app, job.tenant, id, out).await?,
        Kind::Company => company(app, job.tenant, out).await?,
    };
    out.file("manifest.json", &serde_json::to_vec_pretty(&manifest)?).await?;
    Ok(())
}

async fn contact(app: &App, tenant: TenantId, id: i64, out: &mut ZipOut) -> anyhow::Result<serde_json::Value> {
    let ticket_events = format!("tenant_id = $1 AND ticket_id IN ({TICKETS})");
    let tasks = format!("tenant_id = $1 AND (contact_id = $2 OR ticket_id IN ({TICKETS}))");
    let comments = format!("tenant_id = $1 AND task_id IN (SELECT id FROM tasks WHERE {tasks})");
    let parts: [(&str, &str, &str); 13] = [
        ("contact.json", "contacts", "tenant_id = $1 AND id = $2"),
        ("custom_field_labels.json", "contact_fields", "tenant_id = $1 AND $2 = $2"),
        (
            "tags.json",
            "tags",
            "tenant_id = $1 AND id IN (SELECT tag_id FROM contact_tags WHERE tenant_id = $1 AND contact_id = $2)",
        ),
        ("identities.json", "contact_identities", "tenant_id = $1 AND contact_id = $2"),
        ("consent_history.json", "consent_events", "tenant_id = $1 AND contact_id = $2"),
        ("tickets.json", "tickets", "tenant_id = $1 AND contact_id = $2"),
        ("ticket_history.json", "ticket_events", &ticket_events),
        ("messages.json", "messages", "tenant_id = $1 AND contact_id = $2 AND direction <> 'note'"),
        ("notes.json", "messages", "tenant_id = $1 AND contact_id = $2 AND direction = 'note'"),
        ("tasks.json", "tasks", &tasks),
        ("task_comments.json", "task_comments", &comments),
        ("campaigns.json", "campaign_recipients", "tenant_id = $1 AND contact_id = $2"),
        ("schedules.json", "schedules", "tenant_id = $1 AND contact_id = $2"),
    ];
    let mut counts = serde_json::Map::new();
    for (name, table, condition) in parts {
        let columns = exportable(app, table).await?;
        let q = RowQuery { table, columns: &columns, condition };
        let n = out.rows(app, name, &q, tenant, id, false).await?;
        counts.insert(name.to_string(), n.into());
    }
    let media = store::lgpd::media_of(app.db.reader(), tenant, Some(id), 0, i64::MAX).await?;
    let mut seen = HashSet::new();
    let mut files = 0;
    for (_, name, mime) in media {
        if seen.insert(name.clone()) && out.media(app, &name, mime.as_deref()).await? {
            files += 1;
        }
    }
    Ok(
        serde_json::json!({ "kind": "contact", "contact_id": id, "exported_at": out.now, "entries": counts, "media_files": files }),
    )
}

async fn company(app: &App, tenant: TenantId, out: &mut ZipOut) -> anyhow::Result<serde_json::Value> {
    let mut counts = serde_json::Map::new();
    for table in store::lgpd::tables(&app.db).await? {
        if SKIPPED_TABLES.contains(&table.as_str()) {
            continue;
        }
        let columns = exportable(app, &table).await?;
        let condition = if table == "tenants" {
            "id = $1 AND $2 = $2"
        } else if columns.iter().any(|c| c.name == "tenant_id") {
            "tenant_id = $1 AND $2 = $2"
        } else {
            continue; // not a company's table
        };
        let q = RowQuery { table: &table, columns: &columns, condition };
        let n = out.rows(app, &format!("tables/{table}.jsonl"), &q, tenant, 0, true).await?;
        counts.insert(table.clone(), n.into());
    }
    let mut seen = HashSet::new();
    let (mut after, mut files) = (0i64, 0u64);
    loop {
        let page = store::lgpd::media_of(app.db.reader(), tenant, None, after, 500).await?;
        let Some((last, _, _)) = page.last() else { break };
        after = *last;
        for (_, name, mime) in page {
            if seen.insert(name.clone()) && out.media(app, &name, mime.as_deref()).await? {
                files += 1;
            }
        }
    }
    for name in store::lgpd::chat_files(app.db.reader(), tenant).await? {
        if seen.insert(name.clone()) && out.media(app, &name, None).await? {
            files += 1;
        }
    }
    Ok(
        serde_json::json!({ "kind": "company", "tenant_id": tenant.0, "exported_at": out.now, "tables": counts, "media_files": files }),
    )
}
