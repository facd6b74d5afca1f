//! Message templates without I/O: reading Graph's `message_templates` list, the `{{1}}`-style
//! parameters of a template, how each is mapped (a contact field, a fixed text, or a variable the
//! agent types), the preview people read and the `components` a send carries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One template as Graph lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphTemplate {
    pub provider_id: String,
    pub name: String,
    pub language: String,
    /// MARKETING, UTILITY or AUTHENTICATION (upper case, as Meta sends it).
    pub category: String,
    /// APPROVED, PENDING, REJECTED, PAUSED, DISABLED… (upper case).
    pub status: String,
    pub components: Value,
}

pub const APPROVED: &str = "APPROVED";
pub const MARKETING: &str = "MARKETING";

/// Reads one page of `GET /{waba-id}/message_templates`: the templates, and the `paging.next`
/// URL when there is another page. Entries without a name or language are skipped.
pub fn parse_page(body: &Value) -> (Vec<GraphTemplate>, Option<String>) {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::trim).unwrap_or("").to_string();
    let items = body.get("data").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let templates = items
        .iter()
        .filter_map(|t| {
            let name = s(t, "name");
            let language = s(t, "language");
            if name.is_empty() || language.is_empty() || name.len() > 512 || language.len() > 20 {
                return None;
            }
            Some(GraphTemplate {
                provider_id: s(t, "id"),
                name,
                language,
                category: s(t, "category").to_ascii_uppercase(),
                status: s(t, "status").to_ascii_uppercase(),
                components: t.get("components").filter(|c| c.is_array()).cloned().unwrap_or_else(|| json!([])),
            })
        })
        .collect();
    let next = body.get("paging").and_then(|p| p.get("next")).and_then(Value::as_str).map(str::to_string);
    (templates, next)
}

/// The text of a component (`HEADER` of format TEXT, `BODY`, `FOOTER`), if it has one.
pub fn component_text<'a>(components: &'a Value, kind: &str) -> Option<&'a str> {
    components
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind)))?
        .get("text")?
        .as_str()
}

/// The button labels of a template.
pub fn buttons(components: &Value) -> Vec<String> {
    let Some(list) = components.as_array() else { return Vec::new() };
    list.iter()
        .filter(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("BUTTONS")))
        .flat_map(|c| c.get("buttons").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter_map(|b| b.get("text").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// The distinct `{{…}}` placeholders of a text, in order of first appearance.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let key = after[..end].trim().to_string();
        if !key.is_empty() && key.len() <= 40 && !out.contains(&key) {
            out.push(key);
        }
        rest = &after[end + 2..];
    }
    out
}

/// The parameters of a template: the body's, then the text header's (prefixed `header.`).
pub fn parameters(components: &Value) -> Vec<String> {
    let mut out = placeholders(component_text(components, "BODY").unwrap_or(""));
    out.extend(
        placeholders(component_text(components, "HEADER").unwrap_or("")).into_iter().map(|k| format!("header.{k}")),
    );
    out
}

/// Where a parameter's value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ParamSource {
    /// A contact variable: `nome`, `telefone`, `email` or a custom-field key.
    Field(String),
    /// The same text for everyone.
    Text(String),
    /// Typed by the agent at send time (the value is a hint shown in the field).
    Variable(String),
}

/// A template's mapping: parameter → source.
pub type Mapping = BTreeMap<String, ParamSource>;

pub fn parse_mapping(json: &str) -> Mapping {
    serde_json::from_str(json).unwrap_or_default()
}

/// The values each parameter starts with: fields looked up (missing → empty), fixed texts as
/// they are, variables empty.
pub fn default_values(
    params: &[String],
    mapping: &Mapping,
    lookup: impl Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    params
        .iter()
        .map(|p| {
            let v = match mapping.get(p) {
                Some(ParamSource::Field(key)) => lookup(key).unwrap_or_default(),
                Some(ParamSource::Text(t)) => t.clone(),
                Some(ParamSource::Variable(_)) | None => String::new(),
            };
            (p.clone(), v)
        })
        .collect()
}

/// A text with its `{{…}}` placeholders replaced by the given values (missing ones kept).
pub fn render(text: &str, values: &BTreeMap<String, String>, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = format!("{prefix}{}", after[..end].trim());
        match values.get(&key) {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// What the customer will read: header, body and footer with the values filled in.
pub fn preview(components: &Value, values: &BTreeMap<String, String>) -> String {
    let mut parts = Vec::new();
    if let Some(h) = component_text(components, "HEADER") {
        parts.push(render(h, values, "header."));
    }
    if let Some(b) = component_text(components, "BODY") {
        parts.push(render(b, values, ""));
    }
    if let Some(f) = component_text(components, "FOOTER") {
        parts.push(f.to_string());
    }
    parts.join("\n\n")
}

/// The `components` of a send, as Meta documents them: the body's text parameters in order, and
/// the text header's. Every parameter needs a non-empty value (`Err` names the first without).
pub fn send_components(components: &Value, values: &BTreeMap<String, String>) -> Result<Value, String> {
    let mut out = Vec::new();
    for (kind, prefix) in [("header", "header."), ("body", "")] {
        let keys = placeholders(component_text(components, kind).unwrap_or(""));
        if keys.is_empty() {
            continue;
        }
        let mut params = Vec::new();
        for k in keys {
            let full = format!("{prefix}{k}");
            let v = values.get(&full).map(|v| v.trim()).unwrap_or("");
            if v.is_empty() {
                return Err(full);
            }
            let mut p = json!({ "type": "text", "text": v });
            if !k.chars().all(|c| c.is_ascii_digit()) {
                p["parameter_name"] = json!(k);
            }
            params.push(p);
        }
        out.push(json!({ "type": kind, "parameters": params }));
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        json!([
            { "type": "HEADER", "format": "TEXT", "text": "Pedido {{1}}" },
            { "type": "BODY", "text": "Olá {{1}}, seu pedido {{2}} saiu. {{1}}!" },
            { "type": "FOOTER", "text": "Loja" },
            { "type": "BUTTONS", "buttons": [{ "type": "QUICK_REPLY", "text": "Ok" }] }
        ])
    }

    #[test]
    fn reads_graph_pages_and_skips_nameless_entries() {
        let body = json!({ "data": [
            { "name": "promo", "language": "pt_BR", "category": "marketing", "status": "APPROVED", "id": "9", "components": [] },
            { "language": "pt_BR" }
        ], "paging": { "next": "http://x/next" } });
        let (list, next) = parse_page(&body);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].category, "MARKETING");
        assert_eq!(next.as_deref(), Some("http://x/next"));
        assert_eq!(parse_page(&json!({})).0, vec![]);
    }

    #[test]
    fn parameters_fill_the_preview_and_the_send() {
        let c = sample();
        assert_eq!(parameters(&c), vec!["1", "2", "header.1"]);
        assert_eq!(buttons(&c), vec!["Ok"]);
        let mapping: Mapping = [
            ("1".to_string(), ParamSource::Field("nome".into())),
            ("2".to_string(), ParamSource::Variable("nº".into())),
            ("header.1".to_string(), ParamSource::Text("#7".into())),
        ]
        .into();
        let vals = default_values(&parameters(&c), &mapping, |k| (k == "nome").then(|| "Ana".to_string()));
        assert_eq!(vals[0], ("1".into(), "Ana".into()));
        assert_eq!(vals[1].1, "");
        let mut values: BTreeMap<String, String> = vals.into_iter().collect();
        assert_eq!(send_components(&c, &values), Err("2".to_string()));
        values.insert("2".into(), "A-1".into());
        assert_eq!(preview(&c, &values), "Pedido #7\n\nOlá Ana, seu pedido A-1 saiu. Ana!\n\nLoja");
        let sent = send_components(&c, &values).unwrap();
        assert_eq!(sent[0]["parameters"][0]["text"], "#7");
        assert_eq!(sent[1]["parameters"].as_array().unwrap().len(), 2);
        assert_eq!(sent[1]["parameters"][1]["text"], "A-1");
        assert_eq!(parse_mapping("nonsense"), Mapping::new());
        let round = serde_json::to_string(&mapping).unwrap();
        assert_eq!(parse_mapping(&round), mapping);
    }
}
