//! The flow editor's "test this flow" panel: runs a flow turn by turn as a customer would meet
//! it — the company's real business hours, HTTP requests made for real through the same guard —
//! but writes nothing and sends nothing. The state between turns travels with the page.

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::flow::{self, BotState, Change, Context, Effect, Say};
use crate::domain::TenantId;
use crate::store;

/// One turn of a test conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestTurn {
    /// What the bot says.
    pub says: Vec<Say>,
    /// Opaque JSON to send back with the next reply; `None` when the bot is done.
    pub state: Option<String>,
    /// When the bot is done: what happened, in pt-BR ("Transferido para o setor Suporte",
    /// "Atendimento encerrado").
    pub outcome: Option<String>,
    /// What the turn changed or called, in pt-BR (a tag, a priority, a saved field, an HTTP
    /// request and its answer): shown in the panel, applied nowhere.
    pub notes: Vec<String>,
}

/// Runs one turn of `flow_json`: its start when `state` is `None`, else the answer `reply` to
/// where `state` waits. Admins only; an invalid flow is refused as on save.
pub async fn test_turn(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    flow_json: &str,
    state: Option<&str>,
    reply: &str,
) -> ActionResult<TestTurn> {
    let f = super::flow_editor::valid(app, actor, tenant, flow_json).await?;
    let departments = store::departments::list(app.db.reader(), tenant).await?;
    let chatbots = store::chatbots::list(app.db.reader(), tenant).await?;
    let a = store::automation::get(app.db.reader(), tenant).await?;
    let channel = store::connections::list(app.db.reader(), tenant)
        .await?
        .into_iter()
        .next()
        .map(|c| c.kind)
        .unwrap_or_else(|| "whatsapp_cloud".into());
    let ctx = Context {
        text: reply.to_string(),
        open_now: super::automation::open_now(&a, None, app.clock.now_ms()),
        channel,
        contact: Default::default(),
    };
    let mut step = match state {
        None => flow::start(&f, &ctx),
        Some(s) => {
            let s: BotState = serde_json::from_str(s)
                .map_err(|_| ActionError::invalid("invalid_flow", "the test's state is unreadable; start again"))?;
            flow::answer(&f, &s, &ctx)
        }
    };
    let mut says = Vec::new();
    let mut notes = Vec::new();
    let mut calls = 0;
    let mut waits = 0;
    loop {
        says.append(&mut step.says);
        notes.extend(step.changes.iter().map(|c| note(c, &departments)));
        // A timed wait goes on at once in the test (a few times at most: a loop through waits is
        // refused at save, and this keeps a turn short whatever comes).
        if let (Some(ms), Some(at)) = (step.wake_in_ms.take(), step.waiting.clone()) {
            waits += 1;
            if waits > flow::STEP_BUDGET {
                break;
            }
            notes.push(format!("Espera de {} min (no teste, segue na hora)", ms / 60_000));
            step = flow::wake(&f, &at, &ctx);
            continue;
        }
        let (Some(call), Some(at)) = (step.request.take(), step.waiting.clone()) else { break };
        calls += 1;
        if calls > flow::MAX_HTTP_PER_MESSAGE {
            notes.push(format!("Mais de {} requisições para uma mensagem", flow::MAX_HTTP_PER_MESSAGE));
            step = flow::Step { effect: Some(Effect::Handoff { department: at.department }), ..flow::Step::default() };
            continue;
        }
        let outcome = super::flow_http::perform(app, tenant, &call).await;
        let method = match call.method {
            flow::Method::Get => "GET",
            flow::Method::Post => "POST",
        };
        notes.push(match &outcome {
            flow::HttpOutcome::Response { status, .. } => format!("{method} {} → HTTP {status}", call.url),
            flow::HttpOutcome::Failed { reason } => format!("{method} {} → falhou: {reason}", call.url),
        });
        step = flow::resume(&f, &at, &ctx, outcome);
    }
    let outcome = step.effect.map(|e| match e {
        Effect::Handoff { department: Some(d) } => match departments.iter().find(|x| x.id == d) {
            Some(x) => format!("Transferido para o setor {}", x.name),
            None => "Transferido para atendimento humano".to_string(),
        },
        Effect::Handoff { department: None } => "Transferido para atendimento humano".to_string(),
        Effect::Close => "Atendimento encerrado".to_string(),
        Effect::Goto { flow, .. } => match chatbots.iter().find(|c| c.id == flow) {
            Some(c) => format!("Continua no chatbot {}", c.name),
            None => "Continua em outro chatbot".to_string(),
        },
    });
    let state = step.waiting.map(|s| serde_json::to_string(&s)).transpose().map_err(anyhow::Error::from)?;
    Ok(TestTurn { says, state, outcome, notes })
}

fn note(change: &Change, departments: &[store::departments::Department]) -> String {
    match change {
        Change::Department(d) => match departments.iter().find(|x| x.id == *d) {
            Some(x) => format!("Setor: {}", x.name),
            None => format!("Setor {d}"),
        },
        Change::Tag(t) => format!("Etiqueta: {t}"),
        Change::Priority(p) => {
            let name = match p {
                crate::domain::inbox::Priority::Low => "baixa",
                crate::domain::inbox::Priority::Normal => "normal",
                crate::domain::inbox::Priority::High => "alta",
                crate::domain::inbox::Priority::Urgent => "urgente",
            };
            format!("Prioridade: {name}")
        }
        Change::ContactField { key, value } => format!("Campo do contato {key}: {value}"),
        Change::Classification(urgency, complexity) => {
            use crate::domain::sla::{Complexity, Urgency};
            let urgency = urgency.map(|u| match u {
                Urgency::Low => "urgência baixa",
                Urgency::Medium => "urgência média",
                Urgency::High => "urgência alta",
                Urgency::Critical => "urgência crítica",
            });
            let complexity = complexity.map(|c| match c {
                Complexity::Simple => "complexidade simples",
                Complexity::Moderate => "complexidade moderada",
                Complexity::Complex => "complexidade complexa",
            });
            let parts: Vec<&str> = [urgency, complexity].into_iter().flatten().collect();
            format!("Classificação: {}", parts.join(" × "))
        }
    }
}
