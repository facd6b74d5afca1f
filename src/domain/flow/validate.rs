//! Checks a flow before it is saved.

use std::collections::HashSet;

use super::{Flow, Method, Node, Test, MAX_OPTIONS, MAX_WAIT_MINUTES};

/// The most nodes a flow has.
pub const MAX_NODES: usize = 200;
const MAX_URL: usize = 2048;
const MAX_TEXT: usize = 4096;
const MAX_SAVES: usize = 20;

/// A problem with a node of a flow, shown next to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowError {
    pub node: String,
    pub message: String,
}

/// Whether `name` is a variable a flow may save into: `[a-z0-9_]{1,40}` (a ticket variable), or
/// `contact.` and a custom-field key (letters, digits and `_`, starting with a letter; not
/// `nome`, `telefone` or `email`).
pub fn safe_var(name: &str) -> bool {
    let plain = |s: &str| {
        (1..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    match name.strip_prefix("contact.") {
        Some(key) => plain(key) && crate::domain::contacts::field_key(key).is_ok_and(|k| k == key),
        None => plain(name),
    }
}

/// Checks a flow before it is saved: the start and every link exist; menus have 1 to 10
/// options with labels; questions save into safe variables; conditions have a known test and
/// both branches; a `set` sets something valid; HTTP requests go to http(s) URLs of at most
/// 2,048 characters with a JSON body template and JSON pointers; departments exist
/// (`department_exists`); and no loop of nodes that do not wait (messages, conditions, sets,
/// HTTP requests) goes round without a menu or question.
pub fn validate(
    flow: &Flow,
    department_exists: &dyn Fn(i64) -> bool,
    flow_exists: &dyn Fn(i64) -> bool,
) -> Result<(), Vec<FlowError>> {
    let mut errors = Vec::new();
    let mut err = |node: &str, message: String| errors.push(FlowError { node: node.to_string(), message });
    if !flow.nodes.contains_key(&flow.start) {
        err(&flow.start, "the flow's start node does not exist".into());
    }
    if flow.nodes.len() > MAX_NODES {
        err(&flow.start, format!("a flow has at most {MAX_NODES} nodes"));
    }
    for (name, node) in &flow.nodes {
        let mut text = |t: &str, what: &str| {
            if t.trim().is_empty() {
                err(name, format!("{what} needs a text"));
            } else if t.chars().count() > MAX_TEXT {
                err(name, format!("{what}'s text has at most {MAX_TEXT} characters"));
            }
        };
        match node {
            Node::Message { text: t, .. } => text(t, "a message"),
            Node::Menu { text: t, .. } => text(t, "a menu"),
            Node::Question { text: t, .. } => text(t, "a question"),
            Node::Handoff { text: Some(t), .. } | Node::Close { text: Some(t) } if !t.trim().is_empty() => {
                text(t, "a farewell")
            }
            _ => {}
        }
        for (label, target) in node.links() {
            if !flow.nodes.contains_key(target) {
                let what = match label.as_str() {
                    "" => "goes to".to_string(),
                    "?" => "the fallback goes to".to_string(),
                    l => format!("\"{l}\" goes to"),
                };
                err(name, format!("{what} \"{target}\", which does not exist"));
            }
        }
        match node {
            Node::Message { .. } | Node::Close { .. } => {}
            Node::Menu { options, .. } => {
                if options.is_empty() || options.len() > MAX_OPTIONS {
                    err(name, format!("a menu has 1 to {MAX_OPTIONS} options"));
                }
                if options.iter().any(|o| o.label.trim().is_empty()) {
                    err(name, "every option needs a label".into());
                }
            }
            Node::Question { save_as, .. } => {
                if !safe_var(save_as) {
                    err(
                        name,
                        format!(
                            "\"{save_as}\" is not a variable name (a-z, 0-9 and _, at most 40; or contact.<field>)"
                        ),
                    );
                }
            }
            Node::Condition { test, then, otherwise } => {
                if then.trim().is_empty() || otherwise.trim().is_empty() {
                    err(name, "a condition needs both branches (then and else)".into());
                }
                match test {
                    Test::Keyword { words } => match crate::domain::contacts::parse_keywords(words) {
                        Ok(w) if !w.is_empty() => {}
                        Ok(_) => err(name, "a keyword condition needs at least one word".into()),
                        Err(m) => err(name, m.to_string()),
                    },
                    Test::Open => {}
                    Test::Channel { channel } => {
                        if crate::domain::channel::ChannelKind::parse(channel.trim()).is_none() {
                            err(name, format!("\"{channel}\" is not a channel (whatsapp_cloud or whatsapp_qr)"));
                        }
                    }
                    Test::VarEquals { var, .. } | Test::VarSet { var } => {
                        if !safe_var(var) {
                            err(name, format!("\"{var}\" is not a variable name"));
                        }
                    }
                }
            }
            Node::Set { department, tag, priority, urgency, complexity, .. } => {
                let nothing = urgency.is_none() && complexity.is_none();
                if department.is_none() && tag.is_none() && priority.is_none() && nothing {
                    err(name, "a set node sets a department, a tag, a priority, an urgency or a complexity".into());
                }
                if let Some(d) = department.filter(|d| !department_exists(*d)) {
                    err(name, format!("department {d} does not exist"));
                }
                if let Some(Err(m)) = tag.as_deref().map(crate::domain::validate::name) {
                    err(name, format!("the tag: {m}"));
                }
            }
            Node::Http { method, url, body, save, .. } => {
                if let Err(m) = check_url(url) {
                    err(name, m);
                }
                match (method, body) {
                    (Method::Get, Some(_)) => err(name, "a GET request sends no body (use POST)".into()),
                    (Method::Post, Some(b)) => {
                        // Placeholders become strings' insides: empty ones show the shape.
                        let shape = crate::domain::contacts::fill_with(b, |_| None);
                        if serde_json::from_str::<serde_json::Value>(&shape).is_err() {
                            err(name, "the body is not a JSON template".into());
                        }
                    }
                    _ => {}
                }
                if save.len() > MAX_SAVES {
                    err(name, format!("an HTTP request saves at most {MAX_SAVES} variables"));
                }
                for (var, pointer) in save {
                    if !safe_var(var) {
                        err(name, format!("\"{var}\" is not a variable name"));
                    }
                    if !pointer.starts_with('/') {
                        err(name, format!("\"{pointer}\" is not a JSON pointer (it starts with /, as in /status)"));
                    }
                }
            }
            Node::Handoff { department, .. } => {
                if let Some(d) = department.filter(|d| !department_exists(*d)) {
                    err(name, format!("department {d} does not exist"));
                }
            }
            Node::Wait { minutes, .. } => {
                if !(1..=MAX_WAIT_MINUTES).contains(minutes) {
                    err(name, format!("a wait lasts 1 to {MAX_WAIT_MINUTES} minutes (7 days)"));
                }
            }
            Node::Goto { flow: id } => {
                if !flow_exists(*id) {
                    err(name, format!("flow {id} does not exist"));
                }
            }
        }
    }
    // A loop of nodes that never wait for the customer would run until the step budget: from
    // each such node, follow every link through such nodes and see whether it comes back.
    let goes_on = |n: &str| flow.nodes.get(n).is_some_and(|node| !node.waits() && !node.links().is_empty());
    for (name, node) in &flow.nodes {
        if !goes_on(name) {
            continue;
        }
        let mut seen = HashSet::new();
        let mut todo: Vec<&str> = node.links().into_iter().map(|(_, t)| t).collect();
        while let Some(at) = todo.pop() {
            if at == name {
                err(name, "these steps go round in a loop without waiting for the customer".into());
                break;
            }
            if goes_on(at) && seen.insert(at) {
                if let Some(next) = flow.nodes.get(at) {
                    todo.extend(next.links().into_iter().map(|(_, t)| t));
                }
            }
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

/// An http(s) URL with a host, no spaces, at most 2,048 characters (placeholders count as
/// written; their values are URL-encoded when sent).
fn check_url(url: &str) -> Result<(), String> {
    let url = url.trim();
    if url.len() > MAX_URL {
        return Err(format!("the URL has at most {MAX_URL} characters"));
    }
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")) else {
        return Err("the URL starts with http:// or https://".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains("{{") || host.contains('@') {
        return Err("the URL needs a host written out (no placeholders or user names in it)".into());
    }
    if url.chars().any(char::is_whitespace) && !url.contains("{{") {
        return Err("the URL has spaces".into());
    }
    Ok(())
}
