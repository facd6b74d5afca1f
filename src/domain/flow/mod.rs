//! Chatbot flows as pure rules: a flow is a graph of nodes — a message, a menu, a question whose
//! answer is checked and saved, a condition, a "set" (department, tag, priority), an HTTP request,
//! a hand-off to people, a close. [`start`] runs it from its first node, [`answer`] takes the
//! customer's reply to the menu or question it waits on, and [`resume`] goes on after an HTTP
//! request the caller made. All three return what to say, what to change and what to do, never
//! touching the world, and stop within [`STEP_BUDGET`] nodes whatever the flow. [`validate`]
//! refuses flows with dangling links, unsafe variables or loops that never wait for the customer.

mod check;
mod fill;
mod run;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_property;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use check::{check_answer, default_invalid, is_cnpj, is_cpf, parse_date};
pub use validate::{safe_var, validate, FlowError, MAX_NODES};

use self::run::Run;
use super::inbox::Priority;

/// The most nodes one step may run: a flow that would go on is stopped and handed to people.
pub const STEP_BUDGET: usize = 20;
/// The most options a menu offers (WhatsApp lists hold ten rows).
pub const MAX_OPTIONS: usize = 10;
/// The most HTTP requests one customer message may set off (the caller's loop stops there and
/// hands the ticket to people).
pub const MAX_HTTP_PER_MESSAGE: usize = 3;
/// The longest value a variable keeps (a contact's custom field holds 1,000 characters).
pub const MAX_VALUE_CHARS: usize = 1000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// The node the flow starts at.
    pub start: String,
    pub nodes: BTreeMap<String, Node>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MenuOption {
    pub label: String,
    pub next: String,
}

/// What a question accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    #[default]
    Text,
    Number,
    Email,
    /// A Brazilian phone with DDD (or an international one with `+`); saved as E.164.
    Phone,
    /// A CPF (11 digits) or CNPJ (14) with valid check digits; saved as digits.
    CpfCnpj,
    /// dd/mm/aaaa, a real date; saved as dd/mm/aaaa.
    Date,
}

/// What a condition tests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "test", rename_all = "snake_case")]
pub enum Test {
    /// The customer's last message mentions one of these words (comma-separated, as the urgent
    /// words are written).
    Keyword { words: String },
    /// Open now by the business hours of the ticket's department (its own week, or the
    /// company's when it has none or follows the company's).
    Open,
    /// The ticket's connection is of this kind (`whatsapp_cloud`, `whatsapp_qr`).
    Channel { channel: String },
    /// A variable equals a value, case and accents ignored.
    VarEquals { var: String, value: String },
    /// A variable has a value.
    VarSet { var: String },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    #[default]
    #[serde(rename = "GET", alias = "get")]
    Get,
    #[serde(rename = "POST", alias = "post")]
    Post,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Node {
    /// Say something, then go on (or end the bot's part when there is no `next`).
    Message { text: String, next: Option<String> },
    /// Offer options and wait for the customer's choice (by number or title). An answer that
    /// picks none gets `invalid` (or a default) up to `retries` times, then goes to `fallback`
    /// (a hand-off to people when there is none).
    Menu {
        text: String,
        options: Vec<MenuOption>,
        #[serde(default)]
        invalid: Option<String>,
        #[serde(default = "one")]
        retries: u8,
        #[serde(default)]
        fallback: Option<String>,
    },
    /// Ask something and wait; a valid answer (by `kind`) is saved as `save_as` — a ticket
    /// variable, or the contact's custom field when it starts with `contact.` — and the flow
    /// goes on to `next` (people, when there is none). Invalid answers as in a menu.
    Question {
        text: String,
        #[serde(default)]
        kind: AnswerKind,
        save_as: String,
        #[serde(default)]
        next: Option<String>,
        #[serde(default)]
        invalid: Option<String>,
        #[serde(default = "one")]
        retries: u8,
        #[serde(default)]
        fallback: Option<String>,
    },
    /// Go to `then` when the test holds, else to `else`.
    Condition {
        #[serde(flatten)]
        test: Test,
        then: String,
        #[serde(rename = "else")]
        otherwise: String,
    },
    /// Set the ticket's department (where a later plain hand-off goes), a tag (by name, created
    /// when missing), its priority and/or its urgency and complexity (pre-analysis, which times
    /// its SLA), then go on.
    Set {
        #[serde(default)]
        department: Option<i64>,
        #[serde(default)]
        tag: Option<String>,
        #[serde(default)]
        priority: Option<Priority>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        urgency: Option<super::sla::Urgency>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        complexity: Option<super::sla::Complexity>,
        #[serde(default)]
        next: Option<String>,
    },
    /// Call a URL (`{{var}}` placeholders URL-encoded; the body a JSON template whose
    /// placeholders are JSON-escaped), save parts of the JSON answer (`variable ← JSON pointer`)
    /// and go to `next` on a 2xx answer, else to `error` (people, when there is none).
    Http {
        #[serde(default)]
        method: Method,
        url: String,
        #[serde(default)]
        body: Option<String>,
        #[serde(default)]
        save: BTreeMap<String, String>,
        next: String,
        #[serde(default)]
        error: Option<String>,
    },
    /// Hand the ticket to people, in a department (its greeting is sent), in the one a `set`
    /// chose, or wherever it is.
    Handoff {
        #[serde(default)]
        department: Option<i64>,
        #[serde(default)]
        text: Option<String>,
    },
    /// Close the ticket, saying goodbye.
    Close {
        #[serde(default)]
        text: Option<String>,
    },
    /// Pause for `minutes` (a scheduled resume, not a sleep), then go on to `next`. What the
    /// customer writes meanwhile does not move the flow.
    Wait { minutes: u32, next: String },
    /// Go on in another of the company's flows (by its id), from its start, with the variables
    /// saved so far.
    Goto { flow: i64 },
}

impl Node {
    /// The node's type as written in the flow's JSON (`"type"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Message { .. } => "message",
            Node::Menu { .. } => "menu",
            Node::Question { .. } => "question",
            Node::Condition { .. } => "condition",
            Node::Set { .. } => "set",
            Node::Http { .. } => "http",
            Node::Handoff { .. } => "handoff",
            Node::Close { .. } => "close",
            Node::Wait { .. } => "wait",
            Node::Goto { .. } => "goto",
        }
    }

    /// Where the node can go next, each with the label of its edge ("" for the plain next, "?"
    /// for a fallback, "sim"/"não" for a condition, "ok"/"erro" for an HTTP request): what the
    /// editor draws as arrows.
    pub fn links(&self) -> Vec<(String, &str)> {
        fn plain(n: &Option<String>) -> Vec<(String, &str)> {
            n.iter().map(|n| (String::new(), n.as_str())).collect()
        }
        match self {
            Node::Message { next, .. } | Node::Set { next, .. } => plain(next),
            Node::Wait { next, .. } => vec![(String::new(), next.as_str())],
            Node::Menu { options, fallback, .. } => options
                .iter()
                .map(|o| (o.label.clone(), o.next.as_str()))
                .chain(fallback.iter().map(|f| ("?".to_string(), f.as_str())))
                .collect(),
            Node::Question { next, fallback, .. } => {
                plain(next).into_iter().chain(fallback.iter().map(|f| ("?".to_string(), f.as_str()))).collect()
            }
            Node::Condition { then, otherwise, .. } => {
                vec![("sim".to_string(), then.as_str()), ("não".to_string(), otherwise.as_str())]
            }
            Node::Http { next, error, .. } => std::iter::once(("ok".to_string(), next.as_str()))
                .chain(error.iter().map(|e| ("erro".to_string(), e.as_str())))
                .collect(),
            Node::Handoff { .. } | Node::Close { .. } | Node::Goto { .. } => Vec::new(),
        }
    }

    /// Whether the flow stops here to wait for the customer (a menu or a question). A timed
    /// wait does not count: a loop through it would still speak on its own, forever.
    pub fn waits(&self) -> bool {
        matches!(self, Node::Menu { .. } | Node::Question { .. })
    }
}

fn one() -> u8 {
    1
}

/// Where a ticket stands in a flow: waiting at a menu or question (after `retries` invalid
/// answers) or at an HTTP request not answered yet, with the variables saved so far and the
/// department a `set` chose. Old states (node and retries only) still read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotState {
    pub node: String,
    #[serde(default)]
    pub retries: u8,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<i64>,
}

/// What the engine knows of the world at a step: the customer's last message (the reply),
/// whether the ticket's department (or the company) is open, the connection's kind and the contact's fields (custom fields
/// plus `nome`, `telefone`, `email` where the caller has them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub text: String,
    pub open_now: bool,
    pub channel: String,
    pub contact: BTreeMap<String, String>,
}

/// Something to say to the customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Say {
    Text(String),
    /// A prompt with options: buttons or a list where the channel renders them, else numbered
    /// text.
    Choices {
        prompt: String,
        options: Vec<String>,
    },
}

/// A change to the ticket or its contact, applied with the step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Department(i64),
    Tag(String),
    Priority(Priority),
    /// Pre-analysis: either or both.
    Classification(Option<super::sla::Urgency>, Option<super::sla::Complexity>),
    /// The contact's custom field `key` (without `contact.`).
    ContactField {
        key: String,
        value: String,
    },
}

/// What to do with the ticket once the bot is done with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Handoff {
        department: Option<i64>,
    },
    Close,
    /// Go on in another flow from its start ([`enter`]), keeping the state's variables and
    /// department.
    Goto {
        flow: i64,
        state: BotState,
    },
}

/// An HTTP request the caller must make, then [`resume`] with its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCall {
    pub method: Method,
    pub url: String,
    /// A JSON body (sent as `application/json`).
    pub body: Option<String>,
}

/// How an HTTP request went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpOutcome {
    Response {
        status: u16,
        body: String,
    },
    /// Refused, unreachable, timed out…
    Failed {
        reason: String,
    },
}

/// The outcome of a step: what to say and change, and then either the state it now waits in
/// (`waiting`; with `request` when that is an HTTP request to make and [`resume`] from, with
/// `wake_in_ms` when it is a timed wait to [`wake`] from) or what to do (`effect`). Exactly one
/// of `waiting` and `effect` is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    pub says: Vec<Say>,
    pub changes: Vec<Change>,
    pub waiting: Option<BotState>,
    pub request: Option<HttpCall>,
    pub wake_in_ms: Option<i64>,
    pub effect: Option<Effect>,
}

/// The longest a wait node pauses: seven days.
pub const MAX_WAIT_MINUTES: u32 = 7 * 24 * 60;

const DEFAULT_INVALID: &str = "Não entendi. Responda com o número de uma das opções.";

/// Runs the flow from its start.
pub fn start(flow: &Flow, ctx: &Context) -> Step {
    Run::new(flow, ctx, &BotState::default()).go(&flow.start)
}

/// Runs the flow from its start with what another flow saved (a `goto`).
pub fn enter(flow: &Flow, ctx: &Context, state: &BotState) -> Step {
    Run::new(flow, ctx, state).go(&flow.start)
}

/// The wait the state is at is over: go on to its `next`.
pub fn wake(flow: &Flow, state: &BotState, ctx: &Context) -> Step {
    let run = Run::new(flow, ctx, state);
    match flow.nodes.get(&state.node) {
        Some(Node::Wait { next, .. }) => run.go(next),
        _ => run.handoff(),
    }
}

/// The customer answered (`ctx.text`) the menu or question the ticket waits on. A state at an
/// HTTP request (its call never finished) makes the request again.
pub fn answer(flow: &Flow, state: &BotState, ctx: &Context) -> Step {
    let mut run = Run::new(flow, ctx, state);
    match flow.nodes.get(&state.node) {
        Some(Node::Menu { options, invalid, retries, fallback, text }) => {
            let labels: Vec<&str> = options.iter().map(|o| o.label.as_str()).collect();
            match super::channel::chosen_option(&ctx.text, &labels) {
                Some(i) => run.go(&options[i].next),
                None if state.retries < *retries => {
                    let invalid = invalid.as_deref().unwrap_or(DEFAULT_INVALID);
                    run.says.push(Say::Text(run.fill(invalid)));
                    let prompt = run.fill(text);
                    run.says.push(Say::Choices { prompt, options: labels.iter().map(|l| l.to_string()).collect() });
                    run.wait(&state.node, state.retries + 1)
                }
                None => run.fall(fallback.as_deref()),
            }
        }
        Some(Node::Question { kind, save_as, next, invalid, retries, fallback, .. }) => {
            match check_answer(*kind, &ctx.text) {
                Some(value) => {
                    run.save(save_as, &value);
                    match next {
                        Some(n) => run.go(n),
                        None => run.handoff(),
                    }
                }
                None if state.retries < *retries => {
                    let invalid = invalid.as_deref().unwrap_or(default_invalid(*kind));
                    run.says.push(Say::Text(run.fill(invalid)));
                    run.wait(&state.node, state.retries + 1)
                }
                None => run.fall(fallback.as_deref()),
            }
        }
        Some(Node::Http { .. }) => run.go(&state.node),
        // A timed wait: the message does not move the flow; the wake-up does.
        Some(Node::Wait { .. }) => run.wait(&state.node, state.retries),
        // The flow changed under the ticket (or the state is not a waiting node's): people.
        _ => run.handoff(),
    }
}

/// Goes on after the HTTP request of the node the state is at: a 2xx answer saves what the node
/// asks of its JSON and goes to `next`; anything else goes to `error`.
pub fn resume(flow: &Flow, state: &BotState, ctx: &Context, outcome: HttpOutcome) -> Step {
    let mut run = Run::new(flow, ctx, state);
    let Some(Node::Http { save, next, error, .. }) = flow.nodes.get(&state.node) else { return run.handoff() };
    let ok = match outcome {
        HttpOutcome::Response { status, body } if (200..300).contains(&status) => {
            if save.is_empty() {
                true
            } else if let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) {
                for (var, pointer) in save {
                    let value = match json.pointer(pointer) {
                        None | Some(serde_json::Value::Null) => continue,
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                    };
                    run.save(var, &value);
                }
                true
            } else {
                false
            }
        }
        _ => false,
    };
    if ok {
        run.go(next)
    } else {
        run.fall(error.as_deref())
    }
}

/// Whether a customer's message names one of `words` (as [`super::contacts::parse_keywords`]
/// reads them): whole words, accents, case and punctuation ignored, so "reclamação" matches
/// "Quero fazer uma RECLAMACAO!".
pub fn mentions_any(text: &str, words: &[String]) -> bool {
    let folded: String =
        super::contacts::fold(text).to_uppercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    let padded = format!(" {} ", folded.split_whitespace().collect::<Vec<_>>().join(" "));
    words.iter().any(|w| !w.is_empty() && padded.contains(&format!(" {w} ")))
}

/// The menu flow most companies start with: a greeting menu whose options hand the ticket to a
/// department each, and an invalid answer re-asked once before people take over.
pub fn department_menu(question: &str, departments: &[(i64, String)]) -> Flow {
    let mut nodes = BTreeMap::new();
    let options =
        departments.iter().map(|(id, name)| MenuOption { label: name.clone(), next: format!("setor-{id}") }).collect();
    nodes.insert(
        "menu".to_string(),
        Node::Menu { text: question.to_string(), options, invalid: None, retries: 1, fallback: None },
    );
    for (id, _) in departments {
        nodes.insert(format!("setor-{id}"), Node::Handoff { department: Some(*id), text: None });
    }
    Flow { start: "menu".into(), nodes }
}
