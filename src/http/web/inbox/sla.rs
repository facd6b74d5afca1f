//! The inbox's service-level parts: a row's SLA badge, the ticket panel's pre-analysis block
//! (urgency, complexity, priority, "Abrir chamado", "Aguardando cliente", "Solicitar arquivos")
//! and its form posts. The rules live in `actions::sla`.

use super::*;
use crate::actions::sla::{Classification, SlaView};
use crate::domain::inbox::Priority;
use crate::domain::sla::{Complexity, Level, Urgency};
use crate::http::web::sla::{complexity_label, urgency_label};

/// A row's badge: the level's class and its text ("SLA em 2 h", "SLA vencido há 10 min").
pub struct SlaBadge {
    pub class: &'static str,
    pub text: String,
}

/// "2 h", "35 min", "3 d" for a span of wall time.
fn span_text(lang: Lang, ms: i64) -> String {
    let minutes = (ms.abs() / 60_000).max(1);
    let (key, n) = if minutes < 60 {
        ("sla.span.min", minutes)
    } else if minutes < 48 * 60 {
        ("sla.span.hours", minutes / 60)
    } else {
        ("sla.span.days", minutes / (24 * 60))
    };
    lang.t(key).replace("{n}", &n.to_string())
}

pub(super) fn badge(lang: Lang, v: &SlaView, now: i64) -> Option<SlaBadge> {
    match v.worst()? {
        Level::Breached => {
            let late = v.next_due().map(|d| now - d).unwrap_or(0);
            Some(SlaBadge {
                class: "sla-breached",
                text: lang.t("sla.badge.breached").replace("{t}", &span_text(lang, late)),
            })
        }
        Level::Warning | Level::OnTrack => {
            let left = v.next_due().map(|d| d - now).unwrap_or(0);
            let class = if v.worst() == Some(Level::Warning) { "sla-warning" } else { "sla-on-track" };
            Some(SlaBadge { class, text: lang.t("sla.badge.left").replace("{t}", &span_text(lang, left)) })
        }
        Level::Paused => Some(SlaBadge { class: "sla-paused", text: lang.t("sla.badge.paused").to_string() }),
        Level::Met => None,
    }
}

/// One deadline as the panel shows it.
pub struct DeadlineLine {
    pub label: &'static str,
    pub due: String,
    pub class: &'static str,
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "inbox_sla.html")]
struct SlaBlock {
    lang: Lang,
    csrf: String,
    ticket_id: i64,
    closed: bool,
    urgency: &'static str,
    complexity: &'static str,
    priority: String,
    support: bool,
    paused: bool,
    deadlines: Vec<DeadlineLine>,
    urgencies: Vec<(&'static str, &'static str)>,
    complexities: Vec<(&'static str, &'static str)>,
    priorities: Vec<(&'static str, &'static str)>,
}

fn level_text(lang: Lang, l: Level) -> (&'static str, &'static str) {
    let key = match l {
        Level::OnTrack => "sla.level.on_track",
        Level::Warning => "sla.level.warning",
        Level::Breached => "sla.level.breached",
        Level::Paused => "sla.level.paused",
        Level::Met => "sla.level.met",
    };
    (l.as_str(), lang.t(key))
}

/// The panel's block for a ticket the viewer sees.
pub(super) async fn block_html(p: &Page, lang: Lang, t: &TicketView) -> Result<String, ActionError> {
    let app = &*p.app;
    let now = app.clock.now_ms();
    let view = actions::sla::view(app, p.tenant(), t).await?;
    let tz = p.tz();
    let mut deadlines = Vec::new();
    if let Some(v) = &view {
        for (label, target) in [("sla.first_response", v.response), ("sla.resolution", v.resolution)] {
            if let Some((d, level)) = target {
                let (class, state) = level_text(lang, level);
                deadlines.push(DeadlineLine { label: lang.t(label), due: short_time(d.due_at, now, tz), class, state });
            }
        }
    }
    SlaBlock {
        lang,
        csrf: p.csrf.0.clone(),
        ticket_id: t.id,
        closed: t.status == "closed",
        urgency: view.as_ref().and_then(|v| v.urgency).map_or("", Urgency::as_str),
        complexity: view.as_ref().and_then(|v| v.complexity).map_or("", Complexity::as_str),
        priority: t.priority.clone(),
        support: view.as_ref().is_some_and(|v| v.support),
        paused: view.as_ref().is_some_and(|v| v.paused),
        deadlines,
        urgencies: Urgency::ALL.iter().rev().map(|u| (u.as_str(), urgency_label(lang, *u))).collect(),
        complexities: Complexity::ALL.iter().map(|c| (c.as_str(), complexity_label(lang, *c))).collect(),
        priorities: [
            ("low", "inbox.priority.low"),
            ("normal", "inbox.priority.normal"),
            ("high", "inbox.priority.high"),
            ("urgent", "inbox.priority.urgent"),
        ]
        .into_iter()
        .map(|(k, key)| (k, lang.t(key)))
        .collect(),
    }
    .render()
    .map_err(|e| ActionError::Internal(e.into()))
}

#[derive(Deserialize)]
pub struct ClassifyForm {
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    complexity: String,
    #[serde(default)]
    priority: String,
    /// "support": "Abrir chamado" (and tell the customer); else only save.
    #[serde(default)]
    action: String,
}

fn classification(form: &ClassifyForm) -> Result<Classification, ActionError> {
    fn pick(s: &str) -> Option<&str> {
        Some(s.trim()).filter(|s| !s.is_empty())
    }
    let urgency = pick(&form.urgency)
        .map(|s| {
            Urgency::parse(s)
                .ok_or_else(|| ActionError::invalid("invalid_urgency", "urgency is low, medium, high or critical"))
        })
        .transpose()?;
    let complexity = pick(&form.complexity)
        .map(|s| {
            Complexity::parse(s)
                .ok_or_else(|| ActionError::invalid("invalid_complexity", "complexity is simple, moderate or complex"))
        })
        .transpose()?;
    let priority = pick(&form.priority)
        .map(|s| {
            Priority::parse(s)
                .ok_or_else(|| ActionError::invalid("invalid_priority", "priority is low, normal, high or urgent"))
        })
        .transpose()?;
    Ok(Classification { urgency, complexity, priority })
}

/// `POST /inbox/{ticket}/sla`: pre-analysis saved, or "Abrir chamado".
pub async fn classify_ticket(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<ClassifyForm>) -> Response {
    let (app, actor, tenant) = (&*p.app, p.actor(), p.tenant());
    let result = async {
        let c = classification(&form)?;
        if form.action == "support" {
            let (_, refused) = actions::sla::open_support_ticket(app, &actor, tenant, id, &c).await?;
            // The ticket is open; the customer could not be told (the page says why).
            return refused.map_or(Ok(()), Err);
        }
        actions::sla::classify(app, &actor, tenant, id, &c).await.map(|_| ())
    }
    .await;
    outcome(&p, id, result).await
}

#[derive(Deserialize)]
pub struct AwaitForm {
    #[serde(default)]
    on: String,
}

/// `POST /inbox/{ticket}/sla/await`: "Aguardando cliente" (on=1) or "Retomar" (on=0).
pub async fn await_customer(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<AwaitForm>) -> Response {
    let on = form.on == "1";
    let result = actions::sla::await_customer(&p.app, &p.actor(), p.tenant(), id, on).await.map(|_| ());
    outcome(&p, id, result).await
}

/// `POST /inbox/{ticket}/sla/files`: "Solicitar arquivos".
pub async fn request_files(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    let result = actions::sla::request_files(&p.app, &p.actor(), p.tenant(), id).await.map(|_| ());
    outcome(&p, id, result).await
}
