//! Builders of Meta's `interactive` objects (reply buttons, lists) and template parameters,
//! and reading a sent choice back as text.

use super::*;

/// Body parameters of a template (`{{1}}`, `{{2}}`…) as Meta's `components` list.
pub fn template_body_parameters(texts: &[String]) -> Value {
    if texts.is_empty() {
        return Value::Null;
    }
    let parameters: Vec<Value> = texts.iter().map(|t| json!({ "type": "text", "text": t })).collect();
    json!([{ "type": "body", "parameters": parameters }])
}

/// Reply buttons (at most 3, titles up to 20 characters): `(id, title)` pairs.
pub fn interactive_buttons(body: &str, buttons: &[(String, String)]) -> Result<Value, String> {
    if buttons.is_empty() || buttons.len() > 3 {
        return Err("reply buttons: one to three".into());
    }
    if buttons.iter().any(|(id, title)| id.is_empty() || title.is_empty() || title.chars().count() > 20) {
        return Err("each button needs an id and a title of at most 20 characters".into());
    }
    let buttons: Vec<Value> =
        buttons.iter().map(|(id, title)| json!({ "type": "reply", "reply": { "id": id, "title": title } })).collect();
    Ok(json!({ "type": "button", "body": { "text": body }, "action": { "buttons": buttons } }))
}

/// A row of a list message: `(id, title, description)`.
pub type ListRow = (String, String, Option<String>);

/// The prompt and option titles of reply buttons or a list, for a channel that shows them as
/// numbered text ([`super::channel::numbered_choices`]); `None` for other interactive messages.
pub fn interactive_choices(interactive: &Value) -> Option<(String, Vec<String>)> {
    let body = interactive.pointer("/body/text").and_then(Value::as_str).unwrap_or_default().to_string();
    let title = |v: &Value| v.get("title").and_then(Value::as_str).map(str::to_string);
    let options: Vec<String> = match interactive.get("type").and_then(Value::as_str)? {
        "button" => interactive
            .pointer("/action/buttons")?
            .as_array()?
            .iter()
            .filter_map(|b| b.get("reply").and_then(title))
            .collect(),
        "list" => interactive
            .pointer("/action/sections")?
            .as_array()?
            .iter()
            .flat_map(|s| s.get("rows").and_then(Value::as_array).cloned().unwrap_or_default())
            .filter_map(|r| title(&r))
            .collect(),
        _ => return None,
    };
    (!options.is_empty()).then_some((body, options))
}

/// A list message: a button that opens titled sections of rows.
pub fn interactive_list(body: &str, button: &str, sections: &[(String, Vec<ListRow>)]) -> Result<Value, String> {
    let rows: usize = sections.iter().map(|(_, r)| r.len()).sum();
    if sections.is_empty() || sections.len() > 10 || rows == 0 || rows > 10 {
        return Err("a list has one to ten sections and one to ten rows in all".into());
    }
    if button.is_empty() || button.chars().count() > 20 {
        return Err("the list button needs a title of at most 20 characters".into());
    }
    let sections: Vec<Value> = sections
        .iter()
        .map(|(title, rows)| {
            let rows: Vec<Value> = rows
                .iter()
                .map(|(id, title, description)| match description {
                    Some(d) => json!({ "id": id, "title": title, "description": d }),
                    None => json!({ "id": id, "title": title }),
                })
                .collect();
            json!({ "title": title, "rows": rows })
        })
        .collect();
    Ok(json!({ "type": "list", "body": { "text": body }, "action": { "button": button, "sections": sections } }))
}
