//! The public status page `/status/{company}` and its Atom feed, without login: components and
//! their states, open incidents with their updates, 90 days of history. An unknown company, or
//! one that turned its page off, answers the "page not found" page. Everything is escaped (the
//! templates escape HTML; the feed escapes XML here).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::super::{error_page, error_title, render, CsrfToken, Layout};
use crate::actions::status_page::{self as status, PublicFeed, PublicIncident, PublicPage};
use crate::app::App;
use crate::domain::status_page::ComponentState;

/// One component as listed.
struct ComponentRow {
    name: String,
    description: String,
    state: &'static str,
}

/// One day of the history bar.
struct DayCell {
    /// `dd/mm/aaaa`.
    date: String,
    incidents: u32,
    /// The worst impact's word, or `none`.
    worst: &'static str,
}

#[derive(Template)]
#[template(path = "status_public.html")]
struct PublicView {
    layout: Layout,
    company: String,
    slug: String,
    overall: &'static str,
    components: Vec<ComponentRow>,
    open: Vec<PublicIncident>,
    resolved: Vec<PublicIncident>,
    days: Vec<DayCell>,
}

impl PublicView {
    fn overall_label(&self) -> String {
        self.layout.t(&format!("sp.overall.{}", self.overall)).to_string()
    }
}

fn not_found(headers: &HeaderMap, csrf: &CsrfToken) -> Response {
    let layout = Layout::anonymous(headers, csrf, error_title(StatusCode::NOT_FOUND));
    let message = layout.t("error.page.not_found_text").to_string();
    error_page(layout, StatusCode::NOT_FOUND, message, false)
}

fn internal(e: anyhow::Error) -> Response {
    tracing::error!(error = %format!("{e:#}"), "status page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

pub async fn page(
    State(app): State<Arc<App>>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Extension(csrf): Extension<CsrfToken>,
) -> Response {
    let found = match status::public_page(&app, &slug).await {
        Ok(found) => found,
        Err(e) => return internal(e),
    };
    let Some(p) = found else { return not_found(&headers, &csrf) };
    render(view(p, &headers, &csrf))
}

fn view(p: PublicPage, headers: &HeaderMap, csrf: &CsrfToken) -> PublicView {
    let anonymous = Layout::anonymous(headers, csrf, "sp.title");
    let layout = Layout {
        title: format!("{} · {}", anonymous.title, p.tenant.name),
        tz: super::super::zone_of(&p.tenant),
        ..anonymous
    };
    let components = p
        .components
        .into_iter()
        .map(|(c, state)| ComponentRow { name: c.name, description: c.description, state: state.as_str() })
        .collect();
    let days = p
        .history
        .iter()
        .map(|d| DayCell {
            date: d.date.format("%d/%m/%Y").to_string(),
            incidents: d.incidents,
            worst: d.worst.map(ComponentState::as_str).unwrap_or("none"),
        })
        .collect();
    PublicView {
        layout,
        company: p.tenant.name,
        slug: p.tenant.slug,
        overall: p.overall.as_str(),
        components,
        open: p.open,
        resolved: p.resolved,
        days,
    }
}

pub async fn feed(
    State(app): State<Arc<App>>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Extension(csrf): Extension<CsrfToken>,
) -> Response {
    let found = match status::feed(&app, &slug).await {
        Ok(found) => found,
        Err(e) => return internal(e),
    };
    let Some(f) = found else { return not_found(&headers, &csrf) };
    let page_url = status::public_url(&app, &f.tenant.slug);
    ([(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")], atom(&f, &page_url)).into_response()
}

/// Text safe inside XML elements and attributes: markup characters escaped, characters XML 1.0
/// forbids dropped.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// Incident states in the feed's words (pt-BR, like the page).
fn state_label(state: &str) -> &'static str {
    match state {
        "investigating" => "Investigando",
        "identified" => "Identificado",
        "monitoring" => "Monitorando",
        _ => "Resolvido",
    }
}

/// The Atom 1.0 document: the page's id and links, the company as author, one entry per update.
fn atom(f: &PublicFeed, page_url: &str) -> String {
    let updated = f.entries.iter().map(|(_, u)| u.created_at).max().unwrap_or(f.tenant.created_at);
    let page = xml_escape(page_url);
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"pt-BR\">\n",
    );
    xml.push_str(&format!("  <id>{page}</id>\n"));
    xml.push_str(&format!("  <title>Status do serviço · {}</title>\n", xml_escape(&f.tenant.name)));
    xml.push_str(&format!("  <updated>{}</updated>\n", rfc3339(updated)));
    xml.push_str(&format!("  <link rel=\"alternate\" type=\"text/html\" href=\"{page}\"/>\n"));
    xml.push_str(&format!("  <link rel=\"self\" type=\"application/atom+xml\" href=\"{page}/feed.atom\"/>\n"));
    xml.push_str(&format!("  <author><name>{}</name></author>\n", xml_escape(&f.tenant.name)));
    for (incident, update) in &f.entries {
        xml.push_str("  <entry>\n");
        xml.push_str(&format!("    <id>{page}#update-{}</id>\n", update.id));
        let title = format!("{} — {}", incident.title, state_label(&update.state));
        xml.push_str(&format!("    <title>{}</title>\n", xml_escape(&title)));
        xml.push_str(&format!("    <updated>{}</updated>\n", rfc3339(update.created_at)));
        xml.push_str(&format!("    <published>{}</published>\n", rfc3339(update.created_at)));
        xml.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{page}#incident-{}\"/>\n",
            incident.id
        ));
        xml.push_str(&format!("    <content type=\"text\">{}</content>\n", xml_escape(&update.body)));
        xml.push_str("  </entry>\n");
    }
    xml.push_str("</feed>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escaping_leaves_no_markup_and_no_forbidden_characters() {
        assert_eq!(
            xml_escape("<script>alert('x') & \"y\"</script>\u{1}"),
            "&lt;script&gt;alert(&apos;x&apos;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(xml_escape("linha\nnova"), "linha\nnova");
    }
}
