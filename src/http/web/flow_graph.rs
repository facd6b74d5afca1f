//! A chatbot flow drawn as inline SVG, server-side: nodes in rows by their distance from the
//! start, arrows labelled with the option or branch that takes them. Every text is escaped; a
//! node the validator complains about is marked and carries the complaint as its tooltip.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write;

use crate::domain::flow::{Flow, FlowError};

const BOX_W: i64 = 190;
const BOX_H: i64 = 58;
const GAP_X: i64 = 40;
const GAP_Y: i64 = 70;
const MARGIN: i64 = 20;
/// The most nodes drawn; a larger flow is drawn up to here (the editor still lists them all).
const MAX_DRAWN: usize = 200;

/// The node's type in pt-BR, for its box.
fn kind_label(kind: &str) -> &'static str {
    match kind {
        "message" => "Mensagem",
        "menu" => "Menu",
        "question" => "Pergunta",
        "condition" => "Condição",
        "set" => "Definir",
        "http" => "Requisição HTTP",
        "handoff" => "Transferir para atendente",
        "close" => "Encerrar",
        "wait" => "Aguardar",
        "goto" => "Ir para outro chatbot",
        _ => "Etapa",
    }
}

/// The names the map shows instead of ids: departments and chatbots, `(id, name)`.
#[derive(Default)]
pub struct Names {
    pub departments: Vec<(i64, String)>,
    pub chatbots: Vec<(i64, String)>,
}

/// What a node says or does, in a few words: its text, else its URL or test, else the
/// department it hands to, the chatbot it goes to or how long it waits.
fn summary(node: &serde_json::Value, names: &Names) -> String {
    let named = |key: &str, list: &[(i64, String)], what: &str| {
        let id = node.get(key).and_then(|d| d.as_i64())?;
        list.iter().find(|(i, _)| *i == id).map(|(_, name)| format!("{what} {name}"))
    };
    let minutes = node.get("minutes").and_then(|m| m.as_i64()).map(|m| format!("{m} min"));
    let text = ["text", "url", "test"]
        .iter()
        .find_map(|k| node.get(*k).and_then(|v| v.as_str()))
        .map(str::to_string)
        .or_else(|| named("department", &names.departments, "Setor"))
        .or_else(|| named("flow", &names.chatbots, "Chatbot"))
        .or(minutes)
        .unwrap_or_default();
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 28 {
        format!("{}…", one_line.chars().take(27).collect::<String>())
    } else {
        one_line
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Rows by breadth-first distance from the start; nodes nothing reaches go in a last row.
fn rows(flow: &Flow) -> Vec<Vec<&str>> {
    let mut level: HashMap<&str, usize> = HashMap::new();
    let mut queue = VecDeque::new();
    if flow.nodes.contains_key(&flow.start) {
        level.insert(flow.start.as_str(), 0);
        queue.push_back(flow.start.as_str());
    }
    while let Some(at) = queue.pop_front() {
        let next_level = level[at] + 1;
        if let Some(node) = flow.nodes.get(at) {
            for (_, to) in node.links() {
                if let Some((name, _)) = flow.nodes.get_key_value(to) {
                    if !level.contains_key(name.as_str()) {
                        level.insert(name.as_str(), next_level);
                        queue.push_back(name.as_str());
                    }
                }
            }
        }
    }
    let last = level.values().max().map_or(0, |m| m + 1);
    let mut out: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for name in flow.nodes.keys().take(MAX_DRAWN) {
        out.entry(level.get(name.as_str()).copied().unwrap_or(last)).or_default().push(name);
    }
    out.into_values().collect()
}

/// The SVG of `flow`, nodes named in `errors` marked; `names` name departments and chatbots.
pub fn svg(flow: &Flow, errors: &[FlowError], names: &Names) -> String {
    let rows = rows(flow);
    let widest = rows.iter().map(Vec::len).max().unwrap_or(1).max(1) as i64;
    let width = MARGIN * 2 + widest * BOX_W + (widest - 1) * GAP_X;
    let height = MARGIN * 2 + (rows.len().max(1) as i64) * (BOX_H + GAP_Y) - GAP_Y;
    let mut at: HashMap<&str, (i64, i64)> = HashMap::new();
    for (r, row) in rows.iter().enumerate() {
        let row_width = row.len() as i64 * BOX_W + (row.len() as i64 - 1) * GAP_X;
        let left = (width - row_width) / 2;
        for (i, name) in row.iter().enumerate() {
            at.insert(name, (left + i as i64 * (BOX_W + GAP_X), MARGIN + r as i64 * (BOX_H + GAP_Y)));
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="flow-graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="Fluxo do chatbot"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 10 5 0 10z"/></marker></defs>"#
    );
    // Arrows first, boxes over them.
    for (name, node) in &flow.nodes {
        let Some(&(x, y)) = at.get(name.as_str()) else { continue };
        let links = node.links();
        let n = links.len() as i64;
        for (i, (label, to)) in links.iter().enumerate() {
            let Some(&(tx, ty)) = at.get(to) else { continue };
            let sx = x + BOX_W * (i as i64 + 1) / (n + 1);
            let sy = y + BOX_H;
            let (ex, ey) = (tx + BOX_W / 2, ty);
            let path = if ty > y {
                let mid = (sy + ey) / 2;
                format!("M{sx} {sy} C{sx} {mid} {ex} {mid} {ex} {ey}")
            } else {
                // Back to an earlier row (a loop or a re-ask): round the side.
                let side = x.max(tx) + BOX_W + GAP_X / 2;
                format!("M{sx} {sy} C{side} {} {side} {} {ex} {ey}", sy + GAP_Y / 2, ey - GAP_Y / 2)
            };
            let _ = write!(out, r#"<path class="edge" d="{path}" marker-end="url(#arrow)"/>"#);
            if !label.is_empty() {
                let (lx, ly) = ((sx + ex) / 2, (sy + ey) / 2);
                let _ = write!(out, r#"<text class="edge-label" x="{lx}" y="{ly}">{}</text>"#, escape(&short(label)));
            }
        }
    }
    for (name, node) in &flow.nodes {
        let Some(&(x, y)) = at.get(name.as_str()) else { continue };
        let problems: Vec<&str> = errors.iter().filter(|e| e.node == *name).map(|e| e.message.as_str()).collect();
        let class = format!(
            "node {}{}{}",
            node.kind(),
            if *name == flow.start { " start" } else { "" },
            if problems.is_empty() { "" } else { " bad" }
        );
        let value = serde_json::to_value(node).unwrap_or_default();
        let _ = write!(
            out,
            r#"<g class="{class}" data-node="{id}"><title>{title}</title><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8"/><text class="kind" x="{tx}" y="{ky}">{kind}</text><text class="name" x="{tx}" y="{ny}">{id}</text><text class="summary" x="{tx}" y="{sy}">{summary}</text></g>"#,
            id = escape(name),
            title = escape(&if problems.is_empty() { name.clone() } else { problems.join("; ") }),
            tx = x + 10,
            ky = y + 17,
            ny = y + 34,
            sy = y + 50,
            kind = kind_label(node.kind()),
            summary = escape(&summary(&value, names)),
        );
    }
    out.push_str("</svg>");
    out
}

fn short(label: &str) -> String {
    if label.chars().count() > 18 {
        format!("{}…", label.chars().take(17).collect::<String>())
    } else {
        label.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::flow::department_menu;

    #[test]
    fn a_menu_draws_its_options_as_labelled_arrows_and_escapes_every_text() {
        let f = department_menu("Como <b>ajudar</b>?", &[(1, "Vendas & cia".into()), (2, "<script>".into())]);
        let names = Names { departments: vec![(2, "<script>".into())], ..Names::default() };
        let image = svg(&f, &[], &names);
        assert!(image.starts_with("<svg") && image.ends_with("</svg>"));
        assert_eq!(image.matches(r#"class="edge""#).count(), 2, "{image}");
        assert!(image.contains("Vendas &amp; cia") && image.contains("Setor &lt;script&gt;"));
        assert!(!image.contains("<script") && !image.contains("<b>"));
        assert!(image.contains(r#"class="node menu start""#));
        // The menu on the first row, its two hand-offs on the second.
        assert!(image.contains(&format!(r#"y="{MARGIN}" width"#)));
        assert_eq!(image.matches(&format!(r#"y="{}" width"#, MARGIN + BOX_H + GAP_Y)).count(), 2);
    }

    #[test]
    fn nodes_with_problems_are_marked_with_the_problem_as_tooltip() {
        let f = department_menu("Oi", &[(1, "Vendas".into())]);
        let errors = vec![FlowError { node: "setor-1".into(), message: "department 1 does not exist".into() }];
        let image = svg(&f, &errors, &Names::default());
        assert!(image.contains(r#"class="node handoff bad""#), "{image}");
        assert!(image.contains("<title>department 1 does not exist</title>"));
    }
}
