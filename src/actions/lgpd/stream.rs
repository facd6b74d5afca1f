//! A ZIP archive written into a bounded channel: [`ZipOut`] pairs the pure writer with the
//! sender, and the helpers add a JSON array or JSON-lines entry read page by page from a table,
//! or a stored media file read in pieces.

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::app::App;
use crate::domain::zip::ZipWriter;
use crate::domain::TenantId;
use crate::store::lgpd::{Column, RowQuery};

/// The archive's pieces as the response body reads them.
pub type Chunks = mpsc::Receiver<std::io::Result<Vec<u8>>>;

/// Rows read per query while writing an entry.
const PAGE: i64 = 500;
/// Bytes of a media file read at a time.
const PIECE: usize = 64 * 1024;

/// An export ready to run: what to write, checked and audited already.
pub struct ZipJob {
    pub(super) kind: super::export::Kind,
    pub(super) tenant: TenantId,
    /// The archive's file name for the download.
    pub filename: String,
}

impl ZipJob {
    /// Writes the archive into a new channel from a task of its own; returns the reading end.
    pub fn spawn(self, app: std::sync::Arc<App>) -> Chunks {
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            let errors = tx.clone();
            let mut out = ZipOut { zip: ZipWriter::new(), tx, now: app.clock.now_ms() };
            let result = async {
                super::export::write(&app, &self, &mut out).await?;
                out.finish().await
            }
            .await;
            if let Err(e) = result {
                tracing::error!(error = %format!("{e:#}"), "export failed");
                let _ = errors.send(Err(std::io::Error::other("export failed"))).await;
            }
        });
        rx
    }
}

pub(super) struct ZipOut {
    zip: ZipWriter,
    tx: mpsc::Sender<std::io::Result<Vec<u8>>>,
    pub(super) now: i64,
}

impl ZipOut {
    async fn send(&self, bytes: Vec<u8>) -> anyhow::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.tx.send(Ok(bytes)).await.map_err(|_| anyhow::anyhow!("the client went away"))
    }

    pub(super) async fn file(&mut self, name: &str, data: &[u8]) -> anyhow::Result<()> {
        let bytes = self.zip.file(name, data, self.now)?;
        self.send(bytes).await
    }

    async fn begin(&mut self, name: &str) -> anyhow::Result<()> {
        let bytes = self.zip.begin(name, self.now)?;
        self.send(bytes).await
    }

    async fn write(&mut self, data: Vec<u8>) -> anyhow::Result<()> {
        let bytes = self.zip.write(data)?;
        self.send(bytes).await
    }

    async fn end(&mut self) -> anyhow::Result<()> {
        let bytes = self.zip.end()?;
        self.send(bytes).await
    }

    pub(super) async fn finish(self) -> anyhow::Result<()> {
        let ZipOut { zip, tx, .. } = self;
        tx.send(Ok(zip.finish()?)).await.map_err(|_| anyhow::anyhow!("the client went away"))
    }

    /// An entry of the rows of `q` (with `$2` = `subject`): a JSON array, or JSON lines.
    /// Returns how many rows it holds.
    pub(super) async fn rows(
        &mut self,
        app: &App,
        name: &str,
        q: &RowQuery<'_>,
        tenant: TenantId,
        subject: i64,
        lines: bool,
    ) -> anyhow::Result<u64> {
        self.begin(name).await?;
        if !lines {
            self.write(b"[".to_vec()).await?;
        }
        let (mut after, mut count) = (0i64, 0u64);
        loop {
            let page = crate::store::lgpd::rows_page(app.db.reader(), q, tenant, subject, after, PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            let full = page.len() as i64 == PAGE;
            let mut text = Vec::new();
            for (_, row) in page {
                if lines {
                    serde_json::to_writer(&mut text, &row)?;
                    text.push(b'\n');
                } else {
                    text.extend_from_slice(if count == 0 { b"\n" } else { b",\n" });
                    serde_json::to_writer_pretty(&mut text, &row)?;
                }
                count += 1;
            }
            self.write(text).await?;
            if !full {
                break;
            }
        }
        if !lines {
            self.write(b"\n]\n".to_vec()).await?;
        }
        self.end().await?;
        Ok(count)
    }

    /// A stored media file as `media/<name>.<ext>`; `false` when it is not in the store.
    pub(super) async fn media(&mut self, app: &App, name: &str, mime: Option<&str>) -> anyhow::Result<bool> {
        let Ok(mut file) = crate::store::files::open(&app.settings.data_dir, name).await else {
            return Ok(false);
        };
        self.begin(&format!("media/{name}.{}", extension(mime))).await?;
        loop {
            let mut piece = vec![0u8; PIECE];
            let n = file.read(&mut piece).await?;
            if n == 0 {
                break;
            }
            piece.truncate(n);
            self.write(piece).await?;
        }
        self.end().await?;
        Ok(true)
    }
}

/// A file name extension for a stored type (a fixed list: nothing typed by people).
fn extension(mime: Option<&str>) -> &'static str {
    match mime.unwrap_or("").split(';').next().unwrap_or("").trim() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "audio/mp4" => "m4a",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        _ => "bin",
    }
}

/// The columns of `table` an export may show (secrets left out).
pub(super) async fn exportable(app: &App, table: &str) -> anyhow::Result<Vec<Column>> {
    let mut columns = crate::store::lgpd::columns(&app.db, table).await?;
    columns.retain(|c| !crate::store::lgpd::is_secret_column(&c.name));
    Ok(columns)
}

#[cfg(test)]
mod tests {
    #[test]
    fn extensions_come_from_a_fixed_list() {
        assert_eq!(super::extension(Some("image/jpeg")), "jpg");
        assert_eq!(super::extension(Some("audio/ogg; codecs=opus")), "ogg");
        assert_eq!(super::extension(Some("../../x")), "bin");
        assert_eq!(super::extension(None), "bin");
    }
}
