//! "Campanhas": the list, the form of a draft (message variations, template, audience, pace),
//! a campaign's page with its progress (refreshed live while it runs), its recipients by state,
//! the commands (iniciar, pausar, retomar, cancelar, reenviar os desconhecidos) and the CSV
//! export. For supervisors and admins; hidden when the company's plan switches campaigns off.

use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::multipart::{media_in_words, picked_file, CsrfUpload};
use super::pages::EmptyForm;
use super::{error_status, render, CsrfForm, Layout, Page};
use crate::actions::campaigns::{self, export, Campaign, CampaignInput, Recipient};
use crate::actions::{self, ActionError};
use crate::domain::campaigns::{RecipientState, Status};

/// The form's fields as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CampaignForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    connection_id: String,
    #[serde(default)]
    v1: String,
    #[serde(default)]
    v2: String,
    #[serde(default)]
    v3: String,
    #[serde(default)]
    v4: String,
    #[serde(default)]
    v5: String,
    #[serde(default)]
    template_id: String,
    /// `all`, `tags` or `phones`.
    #[serde(default)]
    audience: String,
    /// Tag ids, comma-separated (the API's and an edit's); the page ticks boxes instead.
    #[serde(default)]
    tags: String,
    #[serde(default)]
    phones: String,
    /// A saved contact filter's id (audience `filter`).
    #[serde(default)]
    filter_id: String,
    #[serde(default)]
    reply_tag_id: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    business_hours: Option<String>,
    #[serde(default)]
    rate_per_minute: String,
    #[serde(default)]
    spacing_pct: String,
    #[serde(default)]
    daily_cap: String,
    /// Ticked on an edit: the file goes.
    #[serde(default)]
    remove_media: Option<String>,
    /// The saved file in words (shown on an edit).
    #[serde(skip)]
    current_media: Option<String>,
    /// The ticked tag boxes, `tag_<id>`.
    #[serde(flatten)]
    ticked: std::collections::HashMap<String, String>,
}

fn number(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

impl CampaignForm {
    fn variation(&self, i: usize) -> &str {
        [&self.v1, &self.v2, &self.v3, &self.v4, &self.v5].get(i).map(|s| s.as_str()).unwrap_or("")
    }

    /// (field number 1–5, text) for the form.
    fn variation_fields(&self) -> Vec<(usize, &str)> {
        (0..5).map(|i| (i + 1, self.variation(i))).collect()
    }

    fn tag_ids(&self) -> Vec<i64> {
        let typed = self.tags.split([',', ' ']).filter_map(number);
        let ticked = self.ticked.keys().filter_map(|k| k.strip_prefix("tag_")).filter_map(number);
        let mut ids: Vec<i64> = typed.chain(ticked).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    fn has_tag(&self, id: &i64) -> bool {
        self.tag_ids().contains(id)
    }

    fn input(&self) -> CampaignInput {
        let phones = self.phones.split(['\n', ',', ';']).map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
        CampaignInput {
            name: self.name.clone(),
            connection_id: number(&self.connection_id),
            variations: (0..5).map(|i| self.variation(i).to_string()).collect(),
            template_id: number(&self.template_id),
            media: None,
            upload: None,
            all_contacts: self.audience == "all",
            tag_ids: if self.audience == "tags" { self.tag_ids() } else { Vec::new() },
            phones: if self.audience == "phones" { phones.collect() } else { Vec::new() },
            filter_id: if self.audience == "filter" { number(&self.filter_id) } else { None },
            reply_tag_id: number(&self.reply_tag_id),
            start: Some(self.start.clone()),
            business_hours: self.business_hours.is_some(),
            rate_per_minute: number(&self.rate_per_minute),
            spacing_pct: number(&self.spacing_pct),
            daily_cap: number(&self.daily_cap),
        }
    }

    fn of(c: &Campaign, start: String, lang: super::i18n::Lang) -> CampaignForm {
        let v = |i: usize| c.variations.get(i).cloned().unwrap_or_default();
        let audience = if c.audience.all {
            "all"
        } else if c.audience.filter_id.is_some() {
            "filter"
        } else if !c.audience.phones.is_empty() {
            "phones"
        } else {
            "tags"
        };
        let phones: Vec<String> = c.audience.phones.iter().map(|p| format!("+{p}")).collect();
        let tags: Vec<String> = c.audience.tags.iter().map(|t| t.to_string()).collect();
        CampaignForm {
            name: c.name.clone(),
            connection_id: c.connection_id.to_string(),
            v1: v(0),
            v2: v(1),
            v3: v(2),
            v4: v(3),
            v5: v(4),
            template_id: c.template_id.map(|t| t.to_string()).unwrap_or_default(),
            audience: audience.into(),
            tags: tags.join(","),
            phones: phones.join("\n"),
            filter_id: c.audience.filter_id.map(|f| f.to_string()).unwrap_or_default(),
            reply_tag_id: c.tag_id.map(|t| t.to_string()).unwrap_or_default(),
            start,
            business_hours: c.business_hours.then(|| "on".into()),
            rate_per_minute: c.rate_per_minute.to_string(),
            spacing_pct: c.spacing_pct.to_string(),
            daily_cap: c.daily_cap.map(|d| d.to_string()).unwrap_or_default(),
            remove_media: None,
            current_media: c.media.as_ref().map(|m| media_in_words(lang, m)),
            ticked: Default::default(),
        }
    }

    fn blank() -> CampaignForm {
        CampaignForm {
            audience: "tags".into(),
            rate_per_minute: "20".into(),
            spacing_pct: "30".into(),
            ..Default::default()
        }
    }
}

/// What the form offers to choose from.
struct Choices {
    /// (id, label)
    connections: Vec<(i64, String)>,
    /// (id, label with the number it belongs to)
    templates: Vec<(i64, String)>,
    tags: Vec<(i64, String)>,
    /// Saved contact filters: (id, name).
    filters: Vec<(i64, String)>,
}

async fn choices(p: &Page) -> Result<Choices, ActionError> {
    let (actor, tenant) = (p.actor(), p.tenant());
    let connections = campaigns::connections(&p.app, &actor, tenant).await?;
    let templates = actions::templates::list(&p.app, &actor, tenant, None).await?;
    let tags = actions::contacts::list_tags(&p.app, &actor, tenant).await?;
    let filters = actions::contact_filters::list(&p.app, &actor, tenant).await?;
    let name_of = |id: i64| connections.iter().find(|c| c.0 == id).map(|c| c.1.clone()).unwrap_or_default();
    Ok(Choices {
        templates: templates
            .iter()
            .filter(|t| t.template.status == crate::domain::templates::APPROVED)
            .map(|t| {
                (
                    t.template.id,
                    format!("{} ({}) — {}", t.template.name, t.template.language, name_of(t.template.connection_id)),
                )
            })
            .collect(),
        connections,
        tags: tags.into_iter().map(|t| (t.id, t.name)).collect(),
        filters: filters.into_iter().map(|f| (f.id, f.name)).collect(),
    })
}

struct Row {
    id: i64,
    name: String,
    status: String,
    status_key: String,
    progress: String,
    created: String,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    form: CampaignForm,
    choices: Choices,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    saved: Option<String>,
}

fn status_label(p: &Page, status: &str) -> String {
    p.lang().t(&format!("camp.status.{status}")).to_string()
}

async fn list_page(p: &Page, form: CampaignForm, notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.campaigns", "/campaigns");
    let (actor, tenant) = (p.actor(), p.tenant());
    let listed = match campaigns::list(&p.app, &actor, tenant).await {
        Ok(l) => l,
        Err(e) => return p.failure(&e),
    };
    let choices = match choices(p).await {
        Ok(c) => c,
        Err(e) => return p.failure(&e),
    };
    let mut rows = Vec::with_capacity(listed.len());
    for c in listed {
        let counts = campaigns::counts(&p.app, &actor, tenant, c.id).await.unwrap_or_default();
        let went: i64 =
            counts.iter().filter(|(s, _)| RecipientState::parse(s).is_some_and(|s| s.went())).map(|(_, n)| n).sum();
        rows.push(Row {
            id: c.id,
            status: status_label(p, &c.status),
            status_key: c.status.clone(),
            progress: if c.status == "draft" { "—".into() } else { format!("{went} / {}", c.total) },
            created: layout.datetime(&c.created_at),
            name: c.name,
        });
    }
    render(ListPage { layout, rows, form, choices, notice, error })
}

pub async fn list(p: Page, Query(q): Query<ListQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    list_page(&p, CampaignForm::blank(), notice, None).await
}

pub async fn create(p: Page, CsrfUpload(form, files): CsrfUpload<CampaignForm>) -> Response {
    let mut input = form.input();
    let created = match picked_file(&p.app, files, None, false).await {
        Ok(upload) => {
            input.upload = upload;
            campaigns::create(&p.app, &p.actor(), p.tenant(), input).await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(c) => Redirect::to(&format!("/campaigns/{}?saved=campaign_created", c.id)).into_response(),
        Err(e) => {
            let message = super::error_message(p.lang(), &e);
            (error_status(&e), list_page(&p, form, None, Some(message)).await).into_response()
        }
    }
}

/// One state's count, for the progress block.
struct Count {
    key: &'static str,
    label: String,
    n: i64,
    /// Share of the recipients, 0–100.
    pct: i64,
}

#[derive(Template)]
#[template(path = "campaign.html")]
struct CampaignPage {
    layout: Layout,
    c: Campaign,
    status: String,
    counts: Vec<Count>,
    recipients: Vec<Recipient>,
    state_filter: String,
    form: CampaignForm,
    choices: Choices,
    draft: bool,
    running: bool,
    paused: bool,
    live: bool,
    unknown: i64,
    /// Contacts the audience reaches now and those with marketing consent (drafts).
    reach: Option<(i64, i64)>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "campaign_progress.html")]
struct ProgressFragment {
    layout: Layout,
    c: Campaign,
    status: String,
    counts: Vec<Count>,
    live: bool,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

async fn counts_of(p: &Page, c: &Campaign) -> Result<Vec<Count>, ActionError> {
    let counts = campaigns::counts(&p.app, &p.actor(), p.tenant(), c.id).await?;
    let total = c.total.max(1);
    Ok(counts
        .into_iter()
        .map(|(key, n)| Count {
            key,
            label: p.lang().t(&format!("camp.state.{key}")).to_string(),
            n,
            pct: n * 100 / total,
        })
        .collect())
}

async fn show_page(p: &Page, id: i64, q: ShowQuery, form: Option<CampaignForm>, error: Option<String>) -> Response {
    let (actor, tenant) = (p.actor(), p.tenant());
    let c = match campaigns::get(&p.app, &actor, tenant, id).await {
        Ok(c) => c,
        Err(e) => return p.failure(&e),
    };
    let layout = p.layout("nav.campaigns", "/campaigns");
    let state = q.state.clone().filter(|s| RecipientState::parse(s).is_some());
    let (counts, recipients, choices) = match (
        counts_of(p, &c).await,
        campaigns::recipients(&p.app, &actor, tenant, id, state.as_deref(), 0, 200).await,
        choices(p).await,
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return p.failure(&e),
    };
    let draft = c.status == Status::Draft.as_str();
    let reach = if draft { campaigns::audience_preview(&p.app, &actor, tenant, &c.audience).await.ok() } else { None };
    let start = crate::domain::hours::wall_clock(layout.tz, c.start_at)
        .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default();
    let form = form.unwrap_or_else(|| CampaignForm::of(&c, start, p.lang()));
    let unknown = counts.iter().find(|k| k.key == "unknown").map(|k| k.n).unwrap_or(0);
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    render(CampaignPage {
        status: status_label(p, &c.status),
        running: c.status == Status::Running.as_str(),
        paused: c.status == Status::Paused.as_str(),
        live: c.status == Status::Running.as_str(),
        draft,
        unknown,
        reach,
        counts,
        recipients,
        state_filter: state.unwrap_or_default(),
        form,
        choices,
        layout,
        c,
        notice,
        error,
    })
}

pub async fn show(p: Page, Path(id): Path<i64>, Query(q): Query<ShowQuery>) -> Response {
    show_page(&p, id, q, None, None).await
}

/// The progress block alone, fetched every few seconds by the page while the campaign runs.
pub async fn progress(p: Page, Path(id): Path<i64>) -> Response {
    let c = match campaigns::get(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(c) => c,
        Err(e) => return p.failure(&e),
    };
    let counts = match counts_of(&p, &c).await {
        Ok(c) => c,
        Err(e) => return p.failure(&e),
    };
    let layout = p.layout("nav.campaigns", "/campaigns");
    render(ProgressFragment { status: status_label(&p, &c.status), live: c.status == "running", layout, c, counts })
}

pub async fn update(p: Page, Path(id): Path<i64>, CsrfUpload(form, files): CsrfUpload<CampaignForm>) -> Response {
    let mut input = form.input();
    let (app, actor, tenant) = (&p.app, p.actor(), p.tenant());
    let kept = campaigns::get(app, &actor, tenant, id).await.map(|c| c.media);
    let upload = match kept {
        Ok(kept) => picked_file(app, files, kept, form.remove_media.is_some()).await,
        Err(e) => Err(e),
    };
    let saved = match upload {
        Ok(upload) => {
            input.upload = upload;
            campaigns::update(app, &actor, tenant, id, input).await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Redirect::to(&format!("/campaigns/{id}?saved=campaign_saved")).into_response(),
        Err(e) => {
            let message = super::error_message(p.lang(), &e);
            let q = ShowQuery { saved: None, state: None };
            (error_status(&e), show_page(&p, id, q, Some(form), Some(message)).await).into_response()
        }
    }
}

/// `start`, `pause`, `resume`, `cancel` or `resend` (the unknown ones).
pub async fn command(p: Page, Path((id, action)): Path<(i64, String)>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    let (actor, tenant) = (p.actor(), p.tenant());
    let done = match action.as_str() {
        "resend" => campaigns::resend_unknown(&p.app, &actor, tenant, id).await.map(|_| ()),
        "start" | "pause" | "resume" | "cancel" => {
            campaigns::command(&p.app, &actor, tenant, id, &action).await.map(|_| ())
        }
        _ => Err(ActionError::NotFound),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/campaigns/{id}?saved=campaign_{action}")).into_response(),
        Err(e) => {
            let message = super::error_message(p.lang(), &e);
            let q = ShowQuery { saved: None, state: None };
            (error_status(&e), show_page(&p, id, q, None, Some(message)).await).into_response()
        }
    }
}

/// The recipients as CSV, streamed a page at a time.
pub async fn csv(p: Page, Path(id): Path<i64>) -> Response {
    let (app, actor, tenant) = (p.app.clone(), p.actor(), p.tenant());
    if let Err(e) = campaigns::get(&app, &actor, tenant, id).await {
        return p.failure(&e);
    }
    enum State {
        Header,
        Page(i64),
        Done,
    }
    let actor = Arc::new(actor);
    let stream = futures_util::stream::unfold(State::Header, move |state| {
        let (app, actor) = (app.clone(), actor.clone());
        async move {
            match state {
                State::Header => Some((Ok::<_, std::io::Error>(export::csv_header()), State::Page(0))),
                State::Page(after) => match export::export_page(&app, &actor, tenant, id, after).await {
                    Ok((text, Some(next))) => Some((Ok(text), State::Page(next))),
                    Ok((text, None)) => Some((Ok(text), State::Done)),
                    Err(e) => {
                        tracing::error!(error = %e, "campaign export failed");
                        Some((Err(std::io::Error::other("export failed")), State::Done))
                    }
                },
                State::Done => None,
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"campanha-{id}.csv\"")),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}
