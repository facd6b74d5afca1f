//! "Agendamentos": the list of scheduled messages (next run, contact, text, recurrence in
//! words, status, last result), the form to create or edit one, and pause / resume / cancel.
//! For every person of the company; one contact's with `?contact=`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::i18n::Lang;
use super::multipart::{media_in_words, picked_file, CsrfUpload, Upload};
use super::pages::EmptyForm;
use super::{error_status, render, CsrfForm, Layout, Page};
use crate::actions::schedules::{self, Schedule, ScheduleInput};
use crate::actions::{self, ActionError, ActionResult};
use crate::domain::outbound::Attached;
use crate::domain::schedules::{parse_local, weekday_keys};

/// One row of the list, in words.
struct Row {
    id: i64,
    next_run: String,
    contact: String,
    body: String,
    recurrence: String,
    status: String,
    status_key: String,
    last_result: String,
    active: bool,
    paused: bool,
}

/// The form's fields as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    recurrence: String,
    /// One checkbox per weekday (`mon` … `sun`), present when ticked.
    #[serde(default)]
    mon: Option<String>,
    #[serde(default)]
    tue: Option<String>,
    #[serde(default)]
    wed: Option<String>,
    #[serde(default)]
    thu: Option<String>,
    #[serde(default)]
    fri: Option<String>,
    #[serde(default)]
    sat: Option<String>,
    #[serde(default)]
    sun: Option<String>,
    #[serde(default)]
    month_day: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    business_hours: Option<String>,
    #[serde(default)]
    marketing: Option<String>,
    /// The template's id, or empty for none.
    #[serde(default)]
    template_id: String,
    /// Ticked on an edit: the file goes.
    #[serde(default)]
    remove_media: Option<String>,
}

impl ScheduleForm {
    fn weekdays(&self) -> Vec<String> {
        let days = [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ];
        days.iter().filter(|(_, v)| v.is_some()).map(|(k, _)| k.to_string()).collect()
    }

    fn has(&self, day: &str) -> bool {
        self.weekdays().iter().any(|d| d == day)
    }

    fn input(&self, contact_id: Option<i64>) -> ScheduleInput {
        let number = |s: &str| s.trim().parse::<i64>().ok();
        ScheduleInput {
            contact_id,
            phone: contact_id.is_none().then(|| self.phone.clone()),
            connection_id: None,
            body: self.body.clone(),
            template_id: number(&self.template_id).filter(|t| *t > 0),
            media: None,
            recurrence: Some(self.recurrence.clone()),
            weekdays: self.weekdays(),
            month_day: number(&self.month_day),
            start: self.start.clone(),
            until: Some(self.until.clone()),
            count: number(&self.count),
            business_hours: self.business_hours.is_some(),
            marketing: self.marketing.is_some(),
        }
    }

    fn of(s: &Schedule, phone: String) -> ScheduleForm {
        let on = |k: &str| weekday_keys(s.weekdays as u8).contains(&k).then(|| "on".to_string());
        ScheduleForm {
            phone,
            body: s.body.clone(),
            start: s.start_local.clone(),
            recurrence: s.kind.clone(),
            mon: on("mon"),
            tue: on("tue"),
            wed: on("wed"),
            thu: on("thu"),
            fri: on("fri"),
            sat: on("sat"),
            sun: on("sun"),
            month_day: if s.month_day > 0 { s.month_day.to_string() } else { String::new() },
            until: s.until_date.clone().unwrap_or_default(),
            count: s.max_count.map(|c| c.to_string()).unwrap_or_default(),
            business_hours: s.business_hours.then(|| "on".into()),
            marketing: s.marketing.then(|| "on".into()),
            template_id: s.template_id.map(|t| t.to_string()).unwrap_or_default(),
            remove_media: None,
        }
    }
}

#[derive(Template)]
#[template(path = "schedules.html")]
struct SchedulesPage {
    layout: Layout,
    rows: Vec<Row>,
    /// Contacts for the picker: (phone, label).
    contacts: Vec<(String, String)>,
    form: ScheduleForm,
    /// Approved templates to pick: (id, "name (language)").
    templates: Vec<(String, String)>,
    /// The file of the schedule being edited, in words.
    current_media: Option<String>,
    /// The schedule being edited.
    editing: Option<i64>,
    contact_filter: Option<i64>,
    notice: Option<String>,
    error: Option<String>,
}

/// The form's file; on an edit with none picked, the schedule's own stays.
async fn media_of(
    p: &Page,
    form: &ScheduleForm,
    files: Vec<Upload>,
    editing: Option<i64>,
) -> ActionResult<Option<Attached>> {
    let kept = match editing {
        Some(id) => schedules::get(&p.app, &p.actor(), p.tenant(), id).await?.media,
        None => None,
    };
    picked_file(&p.app, files, kept, form.remove_media.is_some()).await
}

/// The recurrence in words, in the page's language.
fn in_words(lang: Lang, s: &Schedule) -> String {
    let time = parse_local(&s.start_local).map(|t| t.format("%H:%M").to_string()).unwrap_or_default();
    let date = parse_local(&s.start_local).map(|t| t.format("%d/%m/%Y").to_string()).unwrap_or_default();
    let mut text = match s.kind.as_str() {
        "daily" => lang.t("sched.words.daily").replace("{time}", &time),
        "weekly" => {
            let days: Vec<String> = weekday_keys(s.weekdays as u8)
                .into_iter()
                .map(|k| lang.t(&format!("sched.day.{k}")).to_string())
                .collect();
            lang.t("sched.words.weekly").replace("{days}", &days.join(", ")).replace("{time}", &time)
        }
        "monthly" => lang.t("sched.words.monthly").replace("{day}", &s.month_day.to_string()).replace("{time}", &time),
        _ => lang.t("sched.words.once").replace("{date}", &date).replace("{time}", &time),
    };
    if s.kind != "once" {
        if let Some(u) = s.until_date.as_deref().and_then(|u| chrono::NaiveDate::parse_from_str(u, "%Y-%m-%d").ok()) {
            text.push_str(&lang.t("sched.words.until").replace("{date}", &u.format("%d/%m/%Y").to_string()));
        }
        if let Some(c) = s.max_count {
            text.push_str(&lang.t("sched.words.count").replace("{n}", &c.to_string()));
        }
    }
    if s.business_hours {
        text.push_str(lang.t("sched.words.business_hours"));
    }
    text
}

fn row(p: &Page, layout: &Layout, names: &HashMap<i64, String>, s: Schedule) -> Row {
    let lang = p.lang();
    let last_result = match (s.last_state.as_deref(), s.last_error.as_deref()) {
        (None, _) => String::new(),
        (Some("queued"), _) => lang.t("sched.result.queued").to_string(),
        (Some(state), code) => {
            let why = code.map(|c| format!("err.{c}")).map(|k| lang.t(&k).to_string()).unwrap_or_default();
            format!("{}: {why}", lang.t(&format!("sched.result.{state}")))
        }
    };
    Row {
        id: s.id,
        next_run: s.run_at.map(|t| layout.datetime(&t)).unwrap_or_else(|| "—".into()),
        contact: names.get(&s.contact_id).cloned().unwrap_or_else(|| format!("#{}", s.contact_id)),
        recurrence: in_words(lang, &s),
        status: lang.t(&format!("sched.status.{}", s.status)).to_string(),
        status_key: s.status.clone(),
        active: s.status == "active",
        paused: s.status == "paused",
        last_result,
        body: match (&s.media, s.body.trim().is_empty(), s.template_id.is_some()) {
            (Some(m), true, _) => media_in_words(lang, m),
            (Some(m), false, _) => format!("{} — {}", media_in_words(lang, m), s.body),
            (None, true, true) => lang.t("sched.template_only").to_string(),
            (None, _, _) => s.body,
        },
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    contact: Option<i64>,
}

async fn page(
    p: &Page,
    form: ScheduleForm,
    editing: Option<i64>,
    contact_filter: Option<i64>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let layout = p.layout("nav.schedules", "/schedules");
    let (actor, tenant) = (p.actor(), p.tenant());
    let listed = match schedules::list(&p.app, &actor, tenant, contact_filter).await {
        Ok(l) => l,
        Err(e) => return p.failure(&e),
    };
    let contacts = match actions::contacts::list_contacts(&p.app, &actor, tenant, None, None, true, 500).await {
        Ok(c) => c.contacts,
        Err(e) => return p.failure(&e),
    };
    let mut names: HashMap<i64, String> = HashMap::new();
    let mut picker = Vec::new();
    for c in contacts {
        let label =
            if c.name.trim().is_empty() { format!("+{}", c.phone) } else { format!("{} (+{})", c.name, c.phone) };
        if !c.phone.is_empty() {
            picker.push((format!("+{}", c.phone), label.clone()));
        }
        names.insert(c.id, label);
    }
    for s in &listed {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(s.contact_id) {
            if let Ok(c) = actions::contacts::get_contact(&p.app, &actor, tenant, s.contact_id).await {
                slot.insert(format!("{} (+{})", c.contact.name, c.contact.phone));
            }
        }
    }
    let current_media = editing
        .and_then(|id| listed.iter().find(|s| s.id == id))
        .and_then(|s| s.media.as_ref())
        .map(|m| media_in_words(p.lang(), m));
    let templates = match actions::templates::list(&p.app, &actor, tenant, None).await {
        Ok(list) => list
            .into_iter()
            .filter(|t| t.template.status == crate::domain::templates::APPROVED)
            .map(|t| (t.template.id.to_string(), format!("{} ({})", t.template.name, t.template.language)))
            .collect(),
        Err(e) => return p.failure(&e),
    };
    let rows = listed.into_iter().map(|s| row(p, &layout, &names, s)).collect();
    render(SchedulesPage {
        layout,
        rows,
        contacts: picker,
        form,
        templates,
        current_media,
        editing,
        contact_filter,
        notice,
        error,
    })
}

pub async fn list(p: Page, Query(q): Query<ListQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    let mut form = ScheduleForm { recurrence: "once".into(), ..Default::default() };
    if let Some(id) = q.contact {
        // One contact's schedules: the form is for them too.
        match actions::contacts::get_contact(&p.app, &p.actor(), p.tenant(), id).await {
            Ok(c) => form.phone = format!("+{}", c.contact.phone),
            Err(e) => return p.failure(&e),
        }
    }
    page(&p, form, None, q.contact, notice, None).await
}

async fn failed(p: &Page, e: ActionError, form: ScheduleForm, editing: Option<i64>) -> Response {
    let message = super::error_message(p.lang(), &e);
    (error_status(&e), page(p, form, editing, None, None, Some(message)).await).into_response()
}

pub async fn create(p: Page, CsrfUpload(form, files): CsrfUpload<ScheduleForm>) -> Response {
    let mut input = form.input(None);
    input.media = match media_of(&p, &form, files, None).await {
        Ok(m) => m,
        Err(e) => return failed(&p, e, form, None).await,
    };
    match schedules::create(&p.app, &p.actor(), p.tenant(), input).await {
        Ok(_) => Redirect::to("/schedules?saved=schedule_created").into_response(),
        Err(e) => failed(&p, e, form, None).await,
    }
}

pub async fn edit(p: Page, Path(id): Path<i64>) -> Response {
    let (actor, tenant) = (p.actor(), p.tenant());
    let s = match schedules::get(&p.app, &actor, tenant, id).await {
        Ok(s) => s,
        Err(e) => return p.failure(&e),
    };
    let phone = match actions::contacts::get_contact(&p.app, &actor, tenant, s.contact_id).await {
        Ok(c) => format!("+{}", c.contact.phone),
        Err(e) => return p.failure(&e),
    };
    page(&p, ScheduleForm::of(&s, phone), Some(id), None, None, None).await
}

pub async fn update(p: Page, Path(id): Path<i64>, CsrfUpload(form, files): CsrfUpload<ScheduleForm>) -> Response {
    let mut input = form.input(None);
    input.media = match media_of(&p, &form, files, Some(id)).await {
        Ok(m) => m,
        Err(e) => return failed(&p, e, form, Some(id)).await,
    };
    match schedules::update(&p.app, &p.actor(), p.tenant(), id, input).await {
        Ok(_) => Redirect::to("/schedules?saved=schedule_saved").into_response(),
        Err(e) => failed(&p, e, form, Some(id)).await,
    }
}

/// `pause`, `resume` or `cancel`.
pub async fn change_state(
    p: Page,
    Path((id, action)): Path<(i64, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let to = match action.as_str() {
        "pause" => "paused",
        "resume" => "active",
        "cancel" => "cancelled",
        _ => return p.failure(&ActionError::NotFound),
    };
    match schedules::set_state(&p.app, &p.actor(), p.tenant(), id, to).await {
        Ok(_) => Redirect::to(&format!("/schedules?saved=schedule_{action}")).into_response(),
        Err(e) => failed(&p, e, ScheduleForm { recurrence: "once".into(), ..Default::default() }, None).await,
    }
}
