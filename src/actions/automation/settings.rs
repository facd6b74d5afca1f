//! The company's automation settings: what the "Horários e regras" page edits (hours, holidays,
//! messages, urgent words, the flow, checked and versioned at save), its own dates, and the demo
//! company's ready setup.

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::flow::{self, Flow};
use crate::domain::hours::{self, Calendar, WeekSchedule};
use crate::domain::inbox::Priority;
use crate::domain::keyword_rules::{KeywordRule, MatchMode};
use crate::domain::TenantId;
use crate::store;
use crate::store::automation::Automation;

/// What the Automação page edits.
pub struct AutomationInput {
    pub enabled: bool,
    pub time_zone: String,
    /// One text per weekday (Monday first), e.g. "08:00-12:00, 13:30-18:00"; all empty: no hours.
    pub days: [String; 7],
    pub optional_holidays: Vec<hours::OptionalHoliday>,
    pub greeting: String,
    pub away_message: String,
    /// The default chatbot's flow as JSON (saved as its new version when changed; a company
    /// without chatbots gets one, "Principal"); empty: no default chatbot.
    pub flow: String,
    /// Words that send a ticket to people at once with high priority (comma-separated).
    pub urgent_words: String,
    /// Customer messages in the chatbot after which people take over (0: never).
    pub handoff_after: i64,
}

/// The company's automation and its default chatbot's flow, for its page.
pub async fn get(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<(Automation, Option<String>)> {
    actor.require_admin_of(tenant)?;
    let a = store::automation::get(app.db.reader(), tenant).await?;
    let mut conn = app.db.reader().acquire().await?;
    let flow = default_flow(&mut conn, tenant, a.chatbot_id).await?;
    Ok((a, flow.map(|(_, _, d)| d)))
}

/// The default chatbot's id, current version and definition.
async fn default_flow(
    conn: &mut sqlx::AnyConnection,
    tenant: TenantId,
    chatbot: Option<i64>,
) -> Result<Option<(i64, i64, String)>, sqlx::Error> {
    let Some(c) = chatbot else { return Ok(None) };
    let Some(v) = store::chatbots::get(&mut *conn, tenant, c).await?.and_then(|c| c.flow_id) else { return Ok(None) };
    Ok(store::chatbots::version(&mut *conn, tenant, v).await?.map(|d| (c, v, d)))
}

const TEXT_MAX: usize = 4096;

/// Sets the company's time zone (the company settings form; the "Horários e regras" page saves
/// the same value): an IANA name such as `America/Sao_Paulo`.
pub async fn set_time_zone(app: &App, actor: &Actor, tenant: TenantId, name: &str) -> ActionResult<String> {
    actor.require_admin_of(tenant)?;
    let tz = name.trim();
    if hours::parse_tz(tz).is_none() {
        return Err(ActionError::invalid("invalid_time_zone", "choose a time zone such as America/Sao_Paulo"));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::automation::set_time_zone(&mut *tx, tenant, tz, now).await?;
    crate::actions::reports::queue_rebuild(&mut tx, tenant, now).await?;
    let details = serde_json::json!({ "time_zone": tz });
    store::audit::record(&mut *tx, tenant, &actor.label(), "settings.time_zone", "settings:company", &details, now)
        .await?;
    tx.commit().await?;
    Ok(tz.to_string())
}

/// Saves the company's automation; a changed flow is stored as a new version (tickets already
/// in the old one finish on it).
pub async fn save(app: &App, actor: &Actor, tenant: TenantId, input: AutomationInput) -> ActionResult<Automation> {
    actor.require_admin_of(tenant)?;
    let tz = input.time_zone.trim();
    if hours::parse_tz(tz).is_none() {
        return Err(ActionError::invalid("invalid_time_zone", "choose a time zone such as America/Sao_Paulo"));
    }
    let mut schedule = WeekSchedule::default();
    for (i, day) in input.days.iter().enumerate() {
        schedule.days[i] = WeekSchedule::parse_day(day).map_err(|m| ActionError::invalid("invalid_hours", m))?;
    }
    for t in [&input.greeting, &input.away_message] {
        if t.chars().count() > TEXT_MAX {
            return Err(ActionError::invalid("invalid_message", "a message has at most 4096 characters"));
        }
    }
    let mut calendar = Calendar { national: true, optional: input.optional_holidays.clone(), custom: Vec::new() };
    crate::domain::contacts::parse_keywords(&input.urgent_words)
        .map_err(|m| ActionError::invalid("invalid_keywords", m))?;
    if !(0..=100).contains(&input.handoff_after) {
        return Err(ActionError::invalid("invalid_handoff_after", "hand off after 0 to 100 messages"));
    }
    let flow = match input.flow.trim() {
        "" => None,
        text => Some(crate::actions::flow_editor::valid(app, actor, tenant, text).await?),
    };
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let before = store::automation::get(&mut *tx, tenant).await?;
    // The company's own dates are edited apart ([`save_dates`]): keep them.
    calendar.custom = serde_json::from_str::<Calendar>(&before.calendar).map(|c| c.custom).unwrap_or_default();
    let before_flow = default_flow(&mut tx, tenant, before.chatbot_id).await?;
    let chatbot_id = match (&flow, before_flow) {
        (None, _) => None,
        (Some(f), Some((c, _, d))) if serde_json::from_str::<Flow>(&d).ok().as_ref() == Some(f) => Some(c),
        (Some(f), _) => {
            let c = match before.chatbot_id {
                Some(c) => c,
                None => store::chatbots::insert(&mut *tx, tenant, "Principal", now).await?,
            };
            let json = serde_json::to_string(f).map_err(anyhow::Error::from)?;
            store::chatbots::insert_version(&mut tx, tenant, c, &json, now).await?;
            Some(c)
        }
    };
    let a = Automation {
        enabled: input.enabled,
        time_zone: tz.to_string(),
        hours: if schedule.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&schedule).map_err(anyhow::Error::from)?
        },
        calendar: serde_json::to_string(&calendar).map_err(anyhow::Error::from)?,
        greeting: input.greeting.trim().to_string(),
        away_message: input.away_message.trim().to_string(),
        chatbot_id,
        urgent_words: input.urgent_words.trim().to_string(),
        handoff_after: input.handoff_after,
    };
    store::automation::put(&mut *tx, tenant, &a, now).await?;
    if (&before.time_zone, &before.hours, &before.calendar) != (&a.time_zone, &a.hours, &a.calendar) {
        crate::actions::reports::queue_rebuild(&mut tx, tenant, now).await?;
    }
    let details = serde_json::json!({ "enabled": a.enabled, "chatbot_id": a.chatbot_id });
    store::audit::record(&mut *tx, tenant, &actor.label(), "automation.updated", "automation", &details, now).await?;
    tx.commit().await?;
    Ok(a)
}

/// Sets a department's own week, one text per weekday (Monday first) as on the company's form;
/// all empty: the department follows the company's hours. The company's holidays apply either
/// way.
pub async fn save_department_hours(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    department: i64,
    days: &[String; 7],
) -> ActionResult<WeekSchedule> {
    actor.require_admin_of(tenant)?;
    let mut schedule = WeekSchedule::default();
    for (i, day) in days.iter().enumerate() {
        schedule.days[i] = WeekSchedule::parse_day(day).map_err(|m| ActionError::invalid("invalid_hours", m))?;
    }
    let json = if schedule.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&schedule).map_err(anyhow::Error::from)?
    };
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::departments::set_hours(&mut *tx, tenant, department, &json, now).await? {
        return Err(ActionError::NotFound);
    }
    crate::actions::reports::queue_rebuild(&mut tx, tenant, now).await?;
    let details = serde_json::json!({ "department_id": department, "own_hours": !schedule.is_empty() });
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "department.hours_updated",
        &format!("department:{department}"),
        &details,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(schedule)
}

/// Replaces the company's own dates (closures, local holidays), one per line as
/// [`hours::parse_custom_dates`] reads them.
pub async fn save_dates(app: &App, actor: &Actor, tenant: TenantId, text: &str) -> ActionResult<usize> {
    actor.require_admin_of(tenant)?;
    let dates = hours::parse_custom_dates(text).map_err(|m| ActionError::invalid("invalid_dates", m))?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut a = store::automation::get(&mut *tx, tenant).await?;
    let mut calendar: Calendar = serde_json::from_str(&a.calendar).unwrap_or_else(|_| Calendar::brazil());
    calendar.custom = dates;
    a.calendar = serde_json::to_string(&calendar).map_err(anyhow::Error::from)?;
    store::automation::put(&mut *tx, tenant, &a, now).await?;
    crate::actions::reports::queue_rebuild(&mut tx, tenant, now).await?;
    let details = serde_json::json!({ "dates": calendar.custom.len() });
    store::audit::record(&mut *tx, tenant, &actor.label(), "automation.dates_updated", "automation", &details, now)
        .await?;
    tx.commit().await?;
    Ok(calendar.custom.len())
}

/// The Demo company's automation: weekdays 08–18, a greeting, an away message, a menu that
/// hands the ticket to Vendas, Suporte or Financeiro, idle tickets closed after four hours,
/// Suporte's agents reminded of a customer left unanswered for half an hour, and complaint
/// words ("reclamação", "procon", "cancelar") straight to people with high priority.
pub async fn set_up_demo(app: &App, tenant: TenantId, departments: &[(i64, String)]) -> anyhow::Result<()> {
    let f = flow::department_menu("Como podemos ajudar? Escolha uma opção:", departments);
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let chatbot = store::chatbots::insert(&mut *tx, tenant, "Principal", now).await?;
    store::chatbots::insert_version(&mut tx, tenant, chatbot, &serde_json::to_string(&f)?, now).await?;
    let a = Automation {
        enabled: true,
        hours: serde_json::to_string(&WeekSchedule::weekdays_8_to_18())?,
        calendar: serde_json::to_string(&Calendar { national: true, ..Calendar::default() })?,
        greeting: "Olá, {{nome}}! Bem-vindo à Demo.".into(),
        away_message: "Olá! Nosso horário é de segunda a sexta, das 8h às 18h. Deixe sua mensagem que respondemos assim que voltarmos.".into(),
        chatbot_id: Some(chatbot),
        // The complaint words are a keyword rule (below), not the older urgent-words setting.
        urgent_words: String::new(),
        handoff_after: 6,
        ..Automation::default()
    };
    // Tickets the customer left idle for four hours close with a note of it.
    let rules: Vec<store::timed_rules::TimedRule> = departments
        .iter()
        .map(|(id, name)| store::timed_rules::TimedRule {
            department_id: *id,
            close_idle_minutes: 240,
            close_message: "Encerramos este atendimento por falta de resposta. Se precisar, é só escrever!".into(),
            remind_after_minutes: if name == "Suporte" { 30 } else { 0 },
            ..Default::default()
        })
        .collect();
    store::timed_rules::replace(&mut tx, tenant, &rules, now).await?;
    // Complaints go to people at once, with high priority and a tag, whatever the chatbot asked.
    let complaint = KeywordRule {
        id: 0,
        words: "reclamação, procon, cancelar".into(),
        mode: MatchMode::Word,
        handoff: true,
        department_id: None,
        priority: Some(Priority::High),
        tag: "Reclamação".into(),
        reply: "Sentimos muito pelo transtorno. Um atendente vai falar com você agora mesmo.".into(),
    };
    store::keyword_rules::replace(&mut tx, tenant, &[complaint], now).await?;
    store::automation::put(&mut *tx, tenant, &a, now).await?;
    tx.commit().await?;
    Ok(())
}
