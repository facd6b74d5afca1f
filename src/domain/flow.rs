//! Chatbot flows as pure rules: a flow is a graph of nodes (a message, a menu, a hand-off to
//! people, a close); [`start`] runs it from its first node and [`answer`] takes the customer's
//! reply to the menu it waits on. Both return what to say and what to do, never touching the
//! world, and stop within [`STEP_BUDGET`] nodes whatever the flow. [`validate`] refuses flows
//! with dangling links, empty menus or loops that never wait for the customer.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

/// The most nodes one step may run: a flow that would go on is stopped and handed to people.
pub const STEP_BUDGET: usize = 20;
/// The most options a menu offers (WhatsApp lists hold ten rows).
pub const MAX_OPTIONS: usize = 10;

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
    /// Hand the ticket to people, in a department (its greeting is sent) or wherever it is.
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
}

fn one() -> u8 {
    1
}

/// Where a ticket stands in a flow: waiting at a menu, after `retries` invalid answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotState {
    pub node: String,
    #[serde(default)]
    pub retries: u8,
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

/// What to do with the ticket once the bot is done with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Handoff { department: Option<i64> },
    Close,
}

/// The outcome of a step: what to say, and either the menu it now waits on or what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub says: Vec<Say>,
    pub waiting: Option<BotState>,
    pub effect: Option<Effect>,
}

const DEFAULT_INVALID: &str = "Não entendi. Responda com o número de uma das opções.";

/// Runs the flow from its start.
pub fn start(flow: &Flow) -> Step {
    run(flow, &flow.start, Vec::new())
}

/// The customer answered the menu the ticket waits on.
pub fn answer(flow: &Flow, state: &BotState, reply: &str) -> Step {
    let Some(Node::Menu { options, invalid, retries, fallback, text }) = flow.nodes.get(&state.node) else {
        // The flow changed under the ticket (or the state is not a menu's): people take over.
        return handoff_now(Vec::new());
    };
    let labels: Vec<&str> = options.iter().map(|o| o.label.as_str()).collect();
    match super::channel::chosen_option(reply, &labels) {
        Some(i) => run(flow, &options[i].next, Vec::new()),
        None if state.retries < *retries => Step {
            says: vec![
                Say::Text(invalid.clone().unwrap_or_else(|| DEFAULT_INVALID.to_string())),
                Say::Choices { prompt: text.clone(), options: labels.iter().map(|l| l.to_string()).collect() },
            ],
            waiting: Some(BotState { node: state.node.clone(), retries: state.retries + 1 }),
            effect: None,
        },
        None => match fallback {
            Some(next) => run(flow, next, Vec::new()),
            None => handoff_now(Vec::new()),
        },
    }
}

fn handoff_now(says: Vec<Say>) -> Step {
    Step { says, waiting: None, effect: Some(Effect::Handoff { department: None }) }
}

fn run(flow: &Flow, from: &str, mut says: Vec<Say>) -> Step {
    let mut at = from.to_string();
    for _ in 0..STEP_BUDGET {
        let Some(node) = flow.nodes.get(&at) else { return handoff_now(says) };
        match node {
            Node::Message { text, next } => {
                says.push(Say::Text(text.clone()));
                match next {
                    Some(n) => at = n.clone(),
                    None => return Step { says, waiting: None, effect: Some(Effect::Handoff { department: None }) },
                }
            }
            Node::Menu { text, options, .. } => {
                if options.is_empty() {
                    return handoff_now(says);
                }
                says.push(Say::Choices {
                    prompt: text.clone(),
                    options: options.iter().map(|o| o.label.clone()).collect(),
                });
                return Step { says, waiting: Some(BotState { node: at, retries: 0 }), effect: None };
            }
            Node::Handoff { department, text } => {
                says.extend(text.iter().filter(|t| !t.trim().is_empty()).cloned().map(Say::Text));
                return Step { says, waiting: None, effect: Some(Effect::Handoff { department: *department }) };
            }
            Node::Close { text } => {
                says.extend(text.iter().filter(|t| !t.trim().is_empty()).cloned().map(Say::Text));
                return Step { says, waiting: None, effect: Some(Effect::Close) };
            }
        }
    }
    // Over budget: a loop of messages; stop and let people answer.
    handoff_now(says)
}

/// A problem with a node of a flow, shown next to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowError {
    pub node: String,
    pub message: String,
}

/// Checks a flow before it is saved: the start and every link exist, menus have 1 to 10
/// options with labels, and no chain of messages loops without a menu (which would never wait
/// for the customer). `department_exists` checks hand-off departments.
pub fn validate(flow: &Flow, department_exists: &dyn Fn(i64) -> bool) -> Result<(), Vec<FlowError>> {
    let mut errors = Vec::new();
    let mut err = |node: &str, message: String| errors.push(FlowError { node: node.to_string(), message });
    if !flow.nodes.contains_key(&flow.start) {
        err(&flow.start, "the flow's start node does not exist".into());
    }
    for (name, node) in &flow.nodes {
        let link = |target: &str| flow.nodes.contains_key(target);
        match node {
            Node::Message { text, next } => {
                if text.trim().is_empty() {
                    err(name, "a message needs a text".into());
                }
                if let Some(n) = next.as_deref().filter(|n| !link(n)) {
                    err(name, format!("goes to \"{n}\", which does not exist"));
                }
            }
            Node::Menu { text, options, fallback, .. } => {
                if text.trim().is_empty() {
                    err(name, "a menu needs a question".into());
                }
                if options.is_empty() || options.len() > MAX_OPTIONS {
                    err(name, format!("a menu has 1 to {MAX_OPTIONS} options"));
                }
                for o in options {
                    if o.label.trim().is_empty() {
                        err(name, "every option needs a label".into());
                    }
                    if !link(&o.next) {
                        err(name, format!("option \"{}\" goes to \"{}\", which does not exist", o.label, o.next));
                    }
                }
                if let Some(f) = fallback.as_deref().filter(|f| !link(f)) {
                    err(name, format!("the fallback \"{f}\" does not exist"));
                }
            }
            Node::Handoff { department: Some(d), .. } if !department_exists(*d) => {
                err(name, format!("department {d} does not exist"));
            }
            Node::Handoff { .. } | Node::Close { .. } => {}
        }
    }
    // A loop made only of messages never waits: follow each message chain.
    for name in flow.nodes.keys() {
        let mut seen = HashSet::new();
        let mut at = name.as_str();
        while let Some(Node::Message { next: Some(n), .. }) = flow.nodes.get(at) {
            if !seen.insert(at) {
                err(name, "these messages go round in a loop without waiting for the customer".into());
                break;
            }
            at = n;
        }
    }
    errors.sort_by(|a, b| (&a.node, &a.message).cmp(&(&b.node, &b.message)));
    errors.dedup();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn menu_flow() -> Flow {
        department_menu(
            "Olá! Como podemos ajudar?",
            &[(1, "Vendas".into()), (2, "Suporte".into()), (3, "Financeiro".into())],
        )
    }

    #[test]
    fn a_menu_waits_and_a_choice_hands_off_to_its_department() {
        let f = menu_flow();
        let s = start(&f);
        assert_eq!(
            s.says,
            vec![Say::Choices {
                prompt: "Olá! Como podemos ajudar?".into(),
                options: vec!["Vendas".into(), "Suporte".into(), "Financeiro".into()]
            }]
        );
        let waiting = s.waiting.unwrap();
        assert_eq!(answer(&f, &waiting, "2").effect, Some(Effect::Handoff { department: Some(2) }));
        assert_eq!(answer(&f, &waiting, "suporte").effect, Some(Effect::Handoff { department: Some(2) }));
        // One re-prompt, then people.
        let again = answer(&f, &waiting, "quero saber o preço");
        assert_eq!(again.says.len(), 2);
        assert!(matches!(&again.says[0], Say::Text(t) if t.contains("Não entendi")));
        let retried = again.waiting.unwrap();
        assert_eq!(retried.retries, 1);
        assert_eq!(answer(&f, &retried, "hã?").effect, Some(Effect::Handoff { department: None }));
    }

    #[test]
    fn messages_chain_and_close_says_goodbye() {
        let mut f = menu_flow();
        f.nodes.insert("oi".into(), Node::Message { text: "Bem-vindo!".into(), next: Some("menu".into()) });
        f.nodes.insert("tchau".into(), Node::Close { text: Some("Até logo".into()) });
        f.start = "oi".into();
        let s = start(&f);
        assert_eq!(s.says[0], Say::Text("Bem-vindo!".into()));
        assert!(s.waiting.is_some());
        f.start = "tchau".into();
        assert_eq!(
            start(&f),
            Step { says: vec![Say::Text("Até logo".into())], waiting: None, effect: Some(Effect::Close) }
        );
    }

    #[test]
    fn validation_names_the_node_of_each_problem() {
        let mut f = menu_flow();
        assert_eq!(validate(&f, &|d| d <= 3), Ok(()));
        f.nodes.insert("a".into(), Node::Message { text: "x".into(), next: Some("b".into()) });
        f.nodes.insert("b".into(), Node::Message { text: "y".into(), next: Some("a".into()) });
        f.nodes.insert(
            "c".into(),
            Node::Menu { text: "?".into(), options: vec![], invalid: None, retries: 1, fallback: Some("z".into()) },
        );
        f.nodes.insert("d".into(), Node::Handoff { department: Some(9), text: None });
        let errors = validate(&f, &|d| d <= 3).unwrap_err();
        let nodes: Vec<&str> = errors.iter().map(|e| e.node.as_str()).collect();
        assert!(
            nodes.contains(&"a") && nodes.contains(&"b") && nodes.contains(&"c") && nodes.contains(&"d"),
            "{errors:?}"
        );
        assert!(errors.iter().any(|e| e.message.contains("loop")));
        f.start = "nowhere".into();
        assert!(validate(&f, &|_| true).unwrap_err().iter().any(|e| e.node == "nowhere"));
    }

    /// A small deterministic generator: random flows, states and replies.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    fn random_flow(r: &mut Rng) -> Flow {
        let names: Vec<String> = (0..r.below(8) + 1).map(|i| format!("n{i}")).collect();
        let pick = |r: &mut Rng| format!("n{}", r.below(names.len() as u64 + 2)); // sometimes dangling
        let mut nodes = BTreeMap::new();
        for name in &names {
            let node = match r.below(4) {
                0 => Node::Message { text: "m".into(), next: (r.below(4) > 0).then(|| pick(r)) },
                1 => Node::Menu {
                    text: "q".into(),
                    options: (0..r.below(4)).map(|i| MenuOption { label: format!("o{i}"), next: pick(r) }).collect(),
                    invalid: None,
                    retries: r.below(3) as u8,
                    fallback: (r.below(2) == 0).then(|| pick(r)),
                },
                2 => Node::Handoff { department: Some(r.below(5) as i64), text: None },
                _ => Node::Close { text: None },
            };
            nodes.insert(name.clone(), node);
        }
        Flow { start: pick(r), nodes }
    }

    #[test]
    fn any_flow_and_any_reply_end_within_the_budget_without_panicking() {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        let replies = ["1", "2", "0", "99", "", "o1", "O0", "qualquer coisa", "١", "🙂", "-1", "2)"];
        for _ in 0..5000 {
            let f = random_flow(&mut r);
            let mut step = start(&f);
            assert!(step.says.len() <= STEP_BUDGET);
            // Either it waits at a menu, or it is done with an effect — never both, never neither.
            assert!(step.waiting.is_some() != step.effect.is_some(), "{f:?} → {step:?}");
            let mut turns = 0;
            while let Some(state) = step.waiting.clone() {
                assert!(matches!(f.nodes.get(&state.node), Some(Node::Menu { .. })));
                step = answer(&f, &state, replies[r.below(replies.len() as u64) as usize]);
                assert!(step.waiting.is_some() != step.effect.is_some());
                turns += 1;
                if turns > 50 {
                    break; // a menu may loop back to itself: it waits each time, which is fine
                }
            }
            let _ = validate(&f, &|_| true);
        }
    }

    #[test]
    fn urgent_words_match_whole_words_whatever_the_accents() {
        let words = super::super::contacts::parse_keywords("reclamação, procon, cancelar assinatura").unwrap();
        assert!(mentions_any("Quero fazer uma RECLAMACAO!", &words));
        assert!(mentions_any("vou no Procon.", &words));
        assert!(mentions_any("quero cancelar  assinatura hoje", &words));
        assert!(!mentions_any("reclamações? não", &words), "a longer word is not the word");
        assert!(!mentions_any("quero cancelar o pedido", &words));
        assert!(!mentions_any("", &words));
    }

    #[test]
    fn flows_read_back_from_json() {
        let f = menu_flow();
        let text = serde_json::to_string(&f).unwrap();
        assert!(text.contains("\"type\":\"menu\""), "{text}");
        assert_eq!(serde_json::from_str::<Flow>(&text).unwrap(), f);
        let written = r#"{"start":"a","nodes":{"a":{"type":"menu","text":"Oi","options":[{"label":"Falar com alguém","next":"h"}]},"h":{"type":"handoff"}}}"#;
        let f: Flow = serde_json::from_str(written).unwrap();
        assert_eq!(validate(&f, &|_| false), Ok(()));
    }
}
