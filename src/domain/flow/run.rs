//! The step machine behind [`super::start`], [`super::answer`], [`super::resume`] and
//! [`super::wake`]: walks nodes from one, gathering what to say and change, until it must wait
//! (a menu, a question, a request, a timed wait), is done (an effect) or runs out of budget.

use std::collections::BTreeMap;

use super::fill::{fill_known, fill_with_escape, json_escape, same_words, url_encode};
use super::*;

/// One step's work in progress.
pub(super) struct Run<'a> {
    flow: &'a Flow,
    ctx: &'a Context,
    pub(super) says: Vec<Say>,
    changes: Vec<Change>,
    vars: BTreeMap<String, String>,
    department: Option<i64>,
}

impl<'a> Run<'a> {
    pub(super) fn new(flow: &'a Flow, ctx: &'a Context, state: &BotState) -> Self {
        Run { flow, ctx, says: Vec::new(), changes: Vec::new(), vars: state.vars.clone(), department: state.department }
    }

    fn state(&self, node: &str, retries: u8) -> BotState {
        BotState { node: node.to_string(), retries, vars: self.vars.clone(), department: self.department }
    }

    pub(super) fn wait(self, node: &str, retries: u8) -> Step {
        let waiting = Some(self.state(node, retries));
        Step { says: self.says, changes: self.changes, waiting, ..Step::default() }
    }

    fn done(self, effect: Effect) -> Step {
        Step { says: self.says, changes: self.changes, effect: Some(effect), ..Step::default() }
    }

    pub(super) fn handoff(self) -> Step {
        let department = self.department;
        self.done(Effect::Handoff { department })
    }

    pub(super) fn fall(self, fallback: Option<&str>) -> Step {
        match fallback {
            Some(next) => self.go(next),
            None => self.handoff(),
        }
    }

    /// A variable: a ticket variable, or a contact field as `contact.<key>`.
    fn var(&self, key: &str) -> Option<&str> {
        if let Some(v) = self.vars.get(key) {
            return Some(v);
        }
        key.strip_prefix("contact.").and_then(|k| self.ctx.contact.get(k)).map(String::as_str)
    }

    /// A template's variable: a [`Run::var`] or a contact field by its own name (`{{nome}}`).
    fn template_var(&self, key: &str) -> Option<&str> {
        self.var(key).or_else(|| self.ctx.contact.get(key).map(String::as_str))
    }

    /// Fills the variables it knows in a text; the others stay for the caller (contact fields).
    pub(super) fn fill(&self, text: &str) -> String {
        fill_known(text, |k| self.template_var(k).map(str::to_string))
    }

    pub(super) fn save(&mut self, key: &str, value: &str) {
        // A value never brings placeholders of its own into later texts.
        let value: String = value.replace("{{", "").replace("}}", "").chars().take(MAX_VALUE_CHARS).collect();
        if let Some(field) = key.strip_prefix("contact.") {
            self.changes.push(Change::ContactField { key: field.to_string(), value: value.clone() });
        }
        self.vars.insert(key.to_string(), value);
    }

    fn test(&self, test: &Test) -> bool {
        match test {
            Test::Keyword { words } => {
                let words = crate::domain::contacts::parse_keywords(words).unwrap_or_default();
                mentions_any(&self.ctx.text, &words)
            }
            Test::Open => self.ctx.open_now,
            Test::Channel { channel } => self.ctx.channel.eq_ignore_ascii_case(channel.trim()),
            Test::VarEquals { var, value } => self.var(var).is_some_and(|v| same_words(v, value)),
            Test::VarSet { var } => self.var(var).is_some_and(|v| !v.trim().is_empty()),
        }
    }

    pub(super) fn go(mut self, from: &str) -> Step {
        let flow = self.flow;
        let mut at = from;
        for _ in 0..STEP_BUDGET {
            let Some(node) = flow.nodes.get(at) else { return self.handoff() };
            match node {
                Node::Message { text, next } => {
                    let text = self.fill(text);
                    self.says.push(Say::Text(text));
                    match next {
                        Some(n) => at = n,
                        None => return self.handoff(),
                    }
                }
                Node::Menu { text, options, .. } => {
                    if options.is_empty() {
                        return self.handoff();
                    }
                    let prompt = self.fill(text);
                    self.says.push(Say::Choices { prompt, options: options.iter().map(|o| o.label.clone()).collect() });
                    return self.wait(at, 0);
                }
                Node::Question { text, .. } => {
                    let text = self.fill(text);
                    self.says.push(Say::Text(text));
                    return self.wait(at, 0);
                }
                Node::Condition { test, then, otherwise } => at = if self.test(test) { then } else { otherwise },
                Node::Set { department, tag, priority, urgency, complexity, next } => {
                    if let Some(d) = department {
                        self.department = Some(*d);
                        self.changes.push(Change::Department(*d));
                    }
                    if let Some(t) = tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                        self.changes.push(Change::Tag(t.to_string()));
                    }
                    if let Some(p) = priority {
                        self.changes.push(Change::Priority(*p));
                    }
                    if urgency.is_some() || complexity.is_some() {
                        self.changes.push(Change::Classification(*urgency, *complexity));
                    }
                    match next {
                        Some(n) => at = n,
                        None => return self.handoff(),
                    }
                }
                Node::Http { method, url, body, .. } => {
                    let call = HttpCall {
                        method: *method,
                        url: fill_with_escape(url, |k| self.template_var(k).map(str::to_string), url_encode),
                        body: body
                            .as_deref()
                            .map(|b| fill_with_escape(b, |k| self.template_var(k).map(str::to_string), json_escape)),
                    };
                    let mut step = self.wait(at, 0);
                    step.request = Some(call);
                    return step;
                }
                Node::Handoff { department, text } => {
                    let said = text.as_deref().filter(|t| !t.trim().is_empty()).map(|t| self.fill(t));
                    self.says.extend(said.map(Say::Text));
                    let department = department.or(self.department);
                    return self.done(Effect::Handoff { department });
                }
                Node::Close { text } => {
                    let said = text.as_deref().filter(|t| !t.trim().is_empty()).map(|t| self.fill(t));
                    self.says.extend(said.map(Say::Text));
                    return self.done(Effect::Close);
                }
                Node::Wait { minutes, .. } => {
                    let minutes = (*minutes).clamp(1, MAX_WAIT_MINUTES);
                    let mut step = self.wait(at, 0);
                    step.wake_in_ms = Some(i64::from(minutes) * 60_000);
                    return step;
                }
                Node::Goto { flow } => {
                    let state = self.state("", 0);
                    return self.done(Effect::Goto { flow: *flow, state });
                }
            }
        }
        // Over budget: a loop that never waits; stop and let people answer.
        self.handoff()
    }
}
