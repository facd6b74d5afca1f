//! Contacts in and out as CSV: a preview of an uploaded file (encoding, separator, first rows,
//! a guessed column mapping), the import through [`super::contacts::upsert_many`] in batches,
//! the file of rejected rows, and the export in pages (streamed by the HTTP edge).

use std::collections::BTreeMap;

use crate::actions::contacts::{upsert_many, BulkSummary, ContactRow, MAX_BULK};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::contacts::{field_key, fold, source};
use crate::domain::csv::{decode, detect_separator, write_record, Encoding, Reader};
use crate::domain::TenantId;
use crate::store;

/// Rows shown in a preview.
const PREVIEW_ROWS: usize = 5;
/// Characters of a cell shown in a preview (the import reads the whole cell).
const PREVIEW_CELL_CHARS: usize = 200;
/// The largest file one import takes.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// The most data rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 200_000;
/// The most columns a file may have. Contacts have a handful of fields; the cap keeps the
/// preview page (a mapping choice per column) small whatever the upload.
pub const MAX_COLUMNS: usize = 200;

fn too_many_columns(width: usize) -> ActionError {
    ActionError::invalid(
        "too_many_columns",
        format!("the file has {width} columns; at most {MAX_COLUMNS} are accepted"),
    )
}

fn too_many_rows() -> ActionError {
    ActionError::invalid("too_many_rows", format!("at most {MAX_IMPORT_ROWS} rows per file"))
}

/// The header of a file: trimmed names, refused when wider than [`MAX_COLUMNS`].
fn read_header(reader: &mut Reader<'_>) -> ActionResult<Vec<String>> {
    let header = reader.next().ok_or_else(|| ActionError::invalid("empty_file", "the file has no rows"))?;
    if reader.width > MAX_COLUMNS {
        return Err(too_many_columns(reader.width));
    }
    Ok(header.into_iter().map(|c| c.trim().to_string()).collect())
}

/// A cell as the preview shows it: at most [`PREVIEW_CELL_CHARS`] characters.
fn preview_cell(cell: String) -> String {
    match cell.char_indices().nth(PREVIEW_CELL_CHARS) {
        Some((cut, _)) => format!("{}…", &cell[..cut]),
        None => cell,
    }
}

/// What a column of the file becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnTarget {
    Ignore,
    Name,
    Phone,
    Email,
    Tags,
    Consent,
    /// Carteira: the owner's e-mail (a person of the company).
    Owner,
    /// A custom field with this key.
    Field(String),
}

impl ColumnTarget {
    /// The form value of this target (`name`, `field:cpf`, …).
    pub fn form_value(&self) -> String {
        match self {
            ColumnTarget::Ignore => "ignore".into(),
            ColumnTarget::Name => "name".into(),
            ColumnTarget::Phone => "phone".into(),
            ColumnTarget::Email => "email".into(),
            ColumnTarget::Tags => "tags".into(),
            ColumnTarget::Consent => "consent".into(),
            ColumnTarget::Owner => "owner".into(),
            ColumnTarget::Field(k) => format!("field:{k}"),
        }
    }

    pub fn from_form(value: &str) -> Result<ColumnTarget, ActionError> {
        Ok(match value {
            "" | "ignore" => ColumnTarget::Ignore,
            "name" => ColumnTarget::Name,
            "phone" => ColumnTarget::Phone,
            "email" => ColumnTarget::Email,
            "tags" => ColumnTarget::Tags,
            "consent" => ColumnTarget::Consent,
            "owner" => ColumnTarget::Owner,
            other => match other.strip_prefix("field:") {
                Some(k) => ColumnTarget::Field(
                    field_key(k).map_err(|m| ActionError::invalid("invalid_mapping", format!("{k}: {m}")))?,
                ),
                None => return Err(ActionError::invalid("invalid_mapping", format!("unknown column target {other}"))),
            },
        })
    }

    /// A guess from a header as Brazilian spreadsheets (and our export) name columns.
    pub fn guess(header: &str) -> ColumnTarget {
        let h = fold(header).trim().replace(['-', '_'], " ");
        match h.as_str() {
            "nome" | "name" | "nome completo" | "cliente" | "contato" | "full name" => ColumnTarget::Name,
            "telefone" | "phone" | "celular" | "whatsapp" | "fone" | "tel" | "mobile" | "numero" => ColumnTarget::Phone,
            "email" | "e mail" | "mail" | "correio" => ColumnTarget::Email,
            "tags" | "etiquetas" | "tag" | "marcadores" => ColumnTarget::Tags,
            "consentimento" | "consent" | "opt in" | "optin" => ColumnTarget::Consent,
            "responsavel" | "carteira" | "owner" | "dono" | "vendedor" => ColumnTarget::Owner,
            // Our export's consent details are not imported back (the import dates its own).
            "consentimento em" | "consentimento origem" | "notas" | "notes" | "id" => ColumnTarget::Ignore,
            _ => field_key(header).map(ColumnTarget::Field).unwrap_or(ColumnTarget::Ignore),
        }
    }
}

/// A first look at an uploaded file.
#[derive(Clone, Debug)]
pub struct CsvPreview {
    pub encoding: Encoding,
    pub separator: char,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Data rows (after the header).
    pub total_rows: usize,
    pub guessed: Vec<ColumnTarget>,
}

/// Reads a file's encoding, separator, header and first rows; suggests a mapping. Refuses a
/// file the import would refuse for its size (`too_many_columns`, `too_many_rows`), so nobody
/// maps columns for nothing. The preview's rows are cut to the header's width and its cells to
/// a readable length, so the page grows with the header, never with the data.
pub fn preview(bytes: &[u8]) -> ActionResult<CsvPreview> {
    let (text, encoding) = decode(bytes);
    let separator = detect_separator(&text);
    let mut reader = Reader::new(&text, separator).with_max_fields(MAX_COLUMNS + 1);
    let headers = read_header(&mut reader)?;
    let mut rows = Vec::new();
    let mut total_rows = 0;
    for r in reader {
        if rows.len() < PREVIEW_ROWS {
            rows.push(r.into_iter().take(headers.len()).map(preview_cell).collect());
        }
        total_rows += 1;
        if total_rows > MAX_IMPORT_ROWS {
            return Err(too_many_rows());
        }
    }
    let guessed = headers.iter().map(|h| ColumnTarget::guess(h)).collect();
    Ok(CsvPreview { encoding, separator, headers, rows, total_rows, guessed })
}

/// A rejected row: its line in the file, its cells, and why.
#[derive(Clone, Debug)]
pub struct RejectedRow {
    pub line: usize,
    pub cells: Vec<String>,
    pub code: &'static str,
    pub message: String,
}

/// The outcome of an import.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    pub rows: usize,
    pub summary: BulkSummary,
    pub rejected: Vec<RejectedRow>,
    pub headers: Vec<String>,
    pub separator: char,
}

impl ImportReport {
    /// The rejected rows as CSV (UTF-8 with BOM, the file's separator): the original columns,
    /// then the line number, error code and message.
    pub fn rejected_csv(&self) -> String {
        let mut out = String::from("\u{feff}");
        let mut header = self.headers.clone();
        header.extend(["linha".to_string(), "erro".to_string(), "motivo".to_string()]);
        write_record(&mut out, &header, self.separator);
        for r in &self.rejected {
            let mut cells = r.cells.clone();
            cells.resize(self.headers.len(), String::new());
            cells.extend([r.line.to_string(), r.code.to_string(), r.message.clone()]);
            write_record(&mut out, &cells, self.separator);
        }
        out
    }
}

/// Imports a file with a column mapping (one target per header column): rows go through
/// [`upsert_many`] in batches of [`MAX_BULK`] (one transaction each), so duplicates merge and
/// a batch's failure cannot leave a partial batch. Rows with more or fewer cells than the
/// header are rejected with `wrong_column_count`.
pub async fn import(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    bytes: &[u8],
    mapping: &[ColumnTarget],
) -> ActionResult<ImportReport> {
    actor.require_supervisor_of(tenant)?;
    let (text, _) = decode(bytes);
    let separator = detect_separator(&text);
    // A row wider than the header is rejected anyway; keeping one cell more than the cap is
    // enough to tell, and bounds what a rejected row holds.
    let mut reader = Reader::new(&text, separator).with_max_fields(MAX_COLUMNS + 1);
    let headers = read_header(&mut reader)?;
    if mapping.len() != headers.len() {
        return Err(ActionError::invalid("invalid_mapping", "the mapping does not match the file's columns"));
    }
    if !mapping.iter().any(|m| *m == ColumnTarget::Phone || *m == ColumnTarget::Email) {
        return Err(ActionError::invalid("invalid_mapping", "map a column to the phone (or the e-mail)"));
    }
    let mut report = ImportReport { headers: headers.clone(), separator, ..Default::default() };
    let owner_column = mapping.iter().position(|m| *m == ColumnTarget::Owner);
    let people = match owner_column {
        Some(_) => crate::store::users::list(app.db.reader(), tenant).await?,
        None => Vec::new(),
    };
    let mut batch: Vec<ContactRow> = Vec::with_capacity(MAX_BULK);
    let mut batch_lines: Vec<(usize, Vec<String>)> = Vec::with_capacity(MAX_BULK);
    let mut batch_owners: Vec<Option<i64>> = Vec::with_capacity(MAX_BULK);
    loop {
        let next = reader.next();
        let (line, width) = (reader.line, reader.width);
        let last = next.is_none();
        if let Some(cells) = next {
            report.rows += 1;
            if report.rows > MAX_IMPORT_ROWS {
                return Err(too_many_rows());
            }
            if width != headers.len() {
                report.rejected.push(RejectedRow {
                    line,
                    code: "wrong_column_count",
                    message: format!("{width} columns where the header has {}", headers.len()),
                    cells,
                });
            } else {
                // The owner is a person's e-mail: an unknown one rejects the row before anything
                // of it is written.
                let owner_cell = owner_column.and_then(|i| cells.get(i)).map(|c| c.trim()).filter(|c| !c.is_empty());
                let owner = owner_cell
                    .map(|cell| people.iter().find(|u| u.active && u.email.eq_ignore_ascii_case(cell)).map(|u| u.id.0));
                if let Some(None) = owner {
                    report.rejected.push(RejectedRow {
                        line,
                        code: "unknown_owner",
                        message: "the owner is not the e-mail of an active person of this company".into(),
                        cells,
                    });
                } else {
                    batch.push(row_of(&cells, mapping));
                    batch_lines.push((line, cells));
                    batch_owners.push(owner.flatten());
                }
            }
        }
        if batch.len() == MAX_BULK || (last && !batch.is_empty()) {
            let (results, summary) = upsert_many(app, actor, tenant, &batch, source::CSV).await?;
            report.summary.created += summary.created;
            report.summary.updated += summary.updated;
            let mut owners = Vec::new();
            for r in results {
                if let Some(e) = r.error {
                    let (line, cells) = std::mem::take(&mut batch_lines[r.index]);
                    report.rejected.push(RejectedRow { line, cells, code: e.code, message: e.message });
                } else if let (Some(id), Some(Some(owner))) = (r.id, batch_owners.get(r.index)) {
                    owners.push((id, *owner));
                }
            }
            if !owners.is_empty() {
                let mut tx = app.db.begin().await?;
                crate::store::wallet::set_owner_many(&mut tx, tenant, &owners, app.clock.now_ms()).await?;
                tx.commit().await?;
            }
            batch.clear();
            batch_lines.clear();
            batch_owners.clear();
        }
        if last {
            break;
        }
    }
    report.summary.errors = report.rejected.len();
    report.rejected.sort_by_key(|r| r.line);
    Ok(report)
}

fn row_of(cells: &[String], mapping: &[ColumnTarget]) -> ContactRow {
    let mut row = ContactRow::default();
    for (cell, target) in cells.iter().zip(mapping) {
        let v = cell.trim();
        if v.is_empty() {
            continue;
        }
        match target {
            ColumnTarget::Ignore | ColumnTarget::Owner => {}
            ColumnTarget::Name => row.name = Some(v.to_string()),
            ColumnTarget::Phone => row.phone = Some(v.to_string()),
            ColumnTarget::Email => row.email = Some(v.to_string()),
            ColumnTarget::Consent => row.consent = Some(v.to_string()),
            ColumnTarget::Tags => {
                row.tags.extend(v.split([',', '|', ';']).map(str::trim).filter(|t| !t.is_empty()).map(String::from))
            }
            ColumnTarget::Field(k) => {
                row.custom_fields.insert(k.clone(), v.to_string());
            }
        }
    }
    row
}

/// Contacts per export page.
pub const EXPORT_PAGE: i64 = 1000;

/// The export's columns: fixed ones, then the tenant's custom fields.
pub struct ExportLayout {
    pub separator: char,
    pub field_keys: Vec<String>,
}

/// Starts an export: the header line (after a UTF-8 BOM, so Excel reads the accents) and the
/// columns of every page.
pub async fn export_start(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    separator: char,
) -> ActionResult<(String, ExportLayout)> {
    actor.require_supervisor_of(tenant)?;
    let separator = if separator == ',' { ',' } else { ';' };
    let field_keys: Vec<String> =
        store::contacts::list_fields(app.db.reader(), tenant).await?.into_iter().map(|f| f.key).collect();
    let mut header: Vec<String> = [
        "id",
        "nome",
        "telefone",
        "email",
        "consentimento",
        "consentimento_em",
        "consentimento_origem",
        "tags",
        "notas",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(field_keys.iter().cloned());
    let mut out = String::from("\u{feff}");
    write_record(&mut out, &header, separator);
    Ok((out, ExportLayout { separator, field_keys }))
}

/// One page of the export after contact id `after`; returns the text and where to go on
/// (`None`: done).
pub async fn export_page(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    layout: &ExportLayout,
    after: Option<i64>,
) -> ActionResult<(String, Option<i64>)> {
    let page = super::contacts::list_contacts(app, actor, tenant, None, after, false, EXPORT_PAGE).await?;
    let mut out = String::with_capacity(page.contacts.len() * 120);
    for c in &page.contacts {
        let fields: BTreeMap<String, String> = c.fields();
        let tags = page.tags.get(&c.id).map(|t| t.join(", ")).unwrap_or_default();
        let at = c
            .consent_at
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        let mut cells = vec![
            c.id.to_string(),
            c.name.clone(),
            crate::domain::phone::e164(&c.phone),
            c.email.clone().unwrap_or_default(),
            c.consent.clone(),
            at,
            c.consent_source.clone().unwrap_or_default(),
            tags,
            c.notes.clone(),
        ];
        cells.extend(layout.field_keys.iter().map(|k| fields.get(k).cloned().unwrap_or_default()));
        write_record(&mut out, &cells, layout.separator);
    }
    Ok((out, page.next_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_guessed_like_a_person_would() {
        assert_eq!(ColumnTarget::guess("Nome"), ColumnTarget::Name);
        assert_eq!(ColumnTarget::guess("Celular"), ColumnTarget::Phone);
        assert_eq!(ColumnTarget::guess("E-mail"), ColumnTarget::Email);
        assert_eq!(ColumnTarget::guess("Etiquetas"), ColumnTarget::Tags);
        assert_eq!(ColumnTarget::guess("Data de Nascimento"), ColumnTarget::Field("data_de_nascimento".into()));
        assert_eq!(ColumnTarget::guess("consentimento_em"), ColumnTarget::Ignore);
        assert_eq!(ColumnTarget::guess("%%"), ColumnTarget::Ignore);
        assert_eq!(ColumnTarget::from_form("field:cpf").unwrap(), ColumnTarget::Field("cpf".into()));
        assert!(ColumnTarget::from_form("field:Nome").is_err());
        assert!(ColumnTarget::from_form("bogus").is_err());
    }

    #[test]
    fn previews_latin1_semicolon_files() {
        let file = b"Nome;Telefone;Cidade\r\nJo\xE3o;(11) 98765-4321;S\xE3o Paulo\r\nAna;11 8765-4321;Recife\r\n";
        let p = preview(file).unwrap();
        assert_eq!(p.encoding, Encoding::Windows1252);
        assert_eq!(p.separator, ';');
        assert_eq!(p.headers, vec!["Nome", "Telefone", "Cidade"]);
        assert_eq!(p.rows[0], vec!["João", "(11) 98765-4321", "São Paulo"]);
        assert_eq!(p.total_rows, 2);
        assert_eq!(p.guessed[2], ColumnTarget::Field("cidade".into()));
    }

    #[test]
    fn a_preview_refuses_a_wide_header_and_cuts_wide_rows_and_long_cells() {
        let wide: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect();
        let e = preview(wide.join(";").as_bytes()).unwrap_err();
        assert_eq!(e.code(), "too_many_columns");
        let row = format!("nome;telefone\n{};{};extra;extra\n", "a".repeat(1000), "1");
        let p = preview(row.as_bytes()).unwrap();
        assert_eq!(p.rows[0].len(), 2);
        assert_eq!(p.rows[0][0].chars().count(), PREVIEW_CELL_CHARS + 1);
    }
}
