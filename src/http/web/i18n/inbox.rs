//! The inbox's newer texts (waiting times, the "/" quick-reply list, the header's actions, what
//! screen readers hear): (key, pt-BR, en), looked up with the rest by [`super::Lang::t`].

pub(super) const TEXTS: &[(&str, &str, &str)] = &[
    ("inbox.wait.now", "agora", "just now"),
    ("inbox.wait.min", "há {n} min", "{n} min ago"),
    ("inbox.wait.hours", "há {n} h", "{n} h ago"),
    ("inbox.wait.days", "há {n} d", "{n} d ago"),
    ("inbox.wait.title", "Cliente aguardando resposta", "Customer waiting for an answer"),
    ("inbox.actions", "Ações do atendimento", "Ticket actions"),
    ("inbox.announce_message", "Nova mensagem do cliente", "New message from the customer"),
    ("quick.none_match", "Nenhuma resposta rápida com esse atalho.", "No quick reply with this shortcut."),
    (
        "quick.hint",
        "Digite / na mensagem para escolher uma resposta rápida",
        "Type / in the message to pick a quick reply",
    ),
    ("msg.contact", "Contato", "Contact"),
    (
        "err.tag_exists",
        "Já existe uma etiqueta com este nome (maiúsculas e acentos não contam).",
        "A tag with this name already exists (case and accents do not count).",
    ),
    ("settings.time_zone", "Fuso horário da empresa", "Company time zone"),
    (
        "settings.time_zone_help",
        "Datas e horas do Atende, o horário de atendimento e a data dos protocolos seguem este fuso (ex.: America/Sao_Paulo).",
        "Atende's dates and times, business hours and protocol dates follow this zone (e.g. America/Sao_Paulo).",
    ),
    ("settings.csat_thanks", "Agradecimento após a avaliação", "Thank-you after the rating"),
    ("settings.csat_thanks_default", "Obrigado pela sua avaliação!", "Obrigado pela sua avaliação!"),
    (
        "settings.csat_thanks_help",
        "Enviado automaticamente quando o cliente responde à avaliação. Em branco: “Obrigado pela sua avaliação!”.",
        "Sent automatically when the customer answers the rating question. Blank: “Obrigado pela sua avaliação!”.",
    ),
];
