//! A campaign's recipients as CSV for Brazilian Excel (`;`, UTF-8 with BOM, dates dd/mm/aaaa,
//! formula cells neutralised), read a page at a time so a large audience never sits in memory.

use crate::actions::{ActionResult, Actor};
use crate::app::App;
use crate::domain::csv::write_record;
use crate::domain::reports::range::datetime_br;
use crate::domain::TenantId;
use crate::store;

const PAGE: i64 = 2000;

/// The header after the BOM (column names in Portuguese, the file's audience).
pub fn csv_header() -> String {
    let mut out = String::from("\u{feff}");
    let columns = [
        "id",
        "contato",
        "telefone",
        "estado",
        "variacao",
        "mensagem",
        "enviado_em",
        "entregue_em",
        "lido_em",
        "respondido_em",
        "tentativas",
        "erro",
    ];
    write_record(&mut out, &columns, ';');
    out
}

/// One page of rows after recipient `after`, and the id to go on from (None: done).
pub async fn export_page(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    after: i64,
) -> ActionResult<(String, Option<i64>)> {
    super::get(app, actor, tenant, id).await?;
    let zone = store::automation::time_zone(app.db.reader(), tenant).await?;
    let tz = crate::domain::hours::parse_tz(&zone).unwrap_or(chrono_tz::America::Sao_Paulo);
    let rows = store::campaign_recipients::recipients(app.db.reader(), tenant, id, None, after, PAGE).await?;
    let when = |at: Option<i64>| at.map(|a| datetime_br(tz, a)).unwrap_or_default();
    let mut out = String::with_capacity(rows.len() * 140);
    for r in &rows {
        let error = match (r.error_code, r.error_title.as_deref()) {
            (Some(c), Some(t)) => format!("{c}: {t}"),
            (None, Some(t)) => t.to_string(),
            (Some(c), None) => c.to_string(),
            (None, None) => String::new(),
        };
        write_record(
            &mut out,
            &[
                r.id.to_string(),
                r.contact_name.clone(),
                r.contact_phone.clone(),
                r.state.clone(),
                r.variation.map(|v| (v + 1).to_string()).unwrap_or_default(),
                r.body.clone().unwrap_or_default(),
                when(r.sent_at),
                when(r.delivered_at),
                when(r.read_at),
                when(r.replied_at),
                r.attempts.to_string(),
                error,
            ],
            ';',
        );
    }
    let next = (rows.len() as i64 == PAGE).then(|| rows.last().map(|r| r.id)).flatten();
    Ok((out, next))
}
