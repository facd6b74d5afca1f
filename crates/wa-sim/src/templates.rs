//! The message templates the simulated WABA has.

use serde_json::{json, Value};

/// All templates, in Meta's `message_templates` shape.
pub(crate) fn all() -> Vec<Value> {
    vec![
        json!({
            "name": "hello_world",
            "parameter_format": "POSITIONAL",
            "components": [
                { "type": "HEADER", "format": "TEXT", "text": "Hello World" },
                { "type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking the time to test with us." },
                { "type": "FOOTER", "text": "WhatsApp Business Platform sample message" }
            ],
            "language": "en_US",
            "status": "APPROVED",
            "category": "UTILITY",
            "id": "1000000000000001"
        }),
        json!({
            "name": "atendimento_retorno",
            "parameter_format": "POSITIONAL",
            "components": [
                { "type": "BODY", "text": "Olá {{1}}, temos novidades sobre o seu atendimento. Responda esta mensagem para continuar a conversa.",
                  "example": { "body_text": [["Maria"]] } },
                { "type": "BUTTONS", "buttons": [
                    { "type": "QUICK_REPLY", "text": "Falar com atendente" },
                    { "type": "QUICK_REPLY", "text": "Está resolvido" }
                ] }
            ],
            "language": "pt_BR",
            "status": "APPROVED",
            "category": "UTILITY",
            "id": "1000000000000002"
        }),
        json!({
            "name": "order_shipped",
            "parameter_format": "POSITIONAL",
            "components": [
                { "type": "HEADER", "format": "TEXT", "text": "Order update" },
                { "type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped.",
                  "example": { "body_text": [["Maria", "#1234"]] } }
            ],
            "language": "en_US",
            "status": "APPROVED",
            "category": "UTILITY",
            "id": "1000000000000003"
        }),
        json!({
            "name": "promocao_mensal",
            "parameter_format": "POSITIONAL",
            "components": [
                { "type": "BODY", "text": "Olá {{1}}! Este mês você tem {{2}} de desconto. Responda SAIR para não receber mais.",
                  "example": { "body_text": [["Maria", "10%"]] } }
            ],
            "language": "pt_BR",
            "status": "APPROVED",
            "category": "MARKETING",
            "id": "1000000000000004"
        }),
        json!({
            "name": "codigo_rejeitado",
            "parameter_format": "POSITIONAL",
            "components": [ { "type": "BODY", "text": "Seu código é {{1}}." } ],
            "language": "pt_BR",
            "status": "REJECTED",
            "category": "AUTHENTICATION",
            "id": "1000000000000005"
        }),
    ]
}

/// The template called `name` in `language`, if any.
pub(crate) fn find(name: &str, language: &str) -> Option<Value> {
    all().into_iter().find(|t| t["name"] == name && t["language"] == language)
}

/// [`all`] with the statuses set through [`crate::Simulator::set_template_status`].
pub(crate) fn current(overrides: &std::collections::HashMap<(String, String), String>) -> Vec<Value> {
    let mut list = all();
    for t in &mut list {
        let key = (t["name"].as_str().unwrap_or("").to_string(), t["language"].as_str().unwrap_or("").to_string());
        if let Some(status) = overrides.get(&key) {
            t["status"] = Value::String(status.clone());
        }
    }
    list
}

/// How many distinct `{{n}}` variables the template's BODY has.
pub(crate) fn body_variables(template: &Value) -> usize {
    let Some(components) = template["components"].as_array() else { return 0 };
    let Some(body) = components.iter().find(|c| c["type"] == "BODY").and_then(|c| c["text"].as_str()) else {
        return 0;
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        seen.insert(after[..end].to_string());
        rest = &after[end + 2..];
    }
    seen.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_body_variables() {
        assert_eq!(body_variables(&find("hello_world", "en_US").unwrap()), 0);
        assert_eq!(body_variables(&find("atendimento_retorno", "pt_BR").unwrap()), 1);
        assert_eq!(body_variables(&find("order_shipped", "en_US").unwrap()), 2);
        assert!(find("hello_world", "pt_BR").is_none());
    }
}
