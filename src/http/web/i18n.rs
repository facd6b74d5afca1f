//! The UI's two languages: Brazilian Portuguese (default) and English.

use axum::http::{header, HeaderMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    PtBr,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::PtBr => "pt-BR",
            Lang::En => "en",
        }
    }

    /// The user's saved preference, else the browser's `Accept-Language`, else pt-BR.
    pub fn pick(preference: Option<&str>, headers: &HeaderMap) -> Lang {
        match preference {
            Some("en") => return Lang::En,
            Some("pt-BR") => return Lang::PtBr,
            _ => {}
        }
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        Lang::from_accept_language(accept)
    }

    /// The first listed language we speak wins (browsers list them by preference).
    pub fn from_accept_language(accept: &str) -> Lang {
        for part in accept.split(',') {
            let tag = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if tag.starts_with("pt") {
                return Lang::PtBr;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::PtBr
    }

    /// The text for `key`; an unknown key shows itself, so a missing translation is visible.
    pub fn t(self, key: &str) -> &str {
        TEXTS
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, pt, en)| if self == Lang::En { *en } else { *pt })
            .unwrap_or(key)
    }
}

/// (key, pt-BR, en)
const TEXTS: &[(&str, &str, &str)] = &[
    ("app.tagline", "Atendimento omnichannel", "Omnichannel customer service"),
    ("nav.home", "Início", "Home"),
    ("nav.inbox", "Atendimentos", "Inbox"),
    ("inbox.tab.mine", "Meus", "Mine"),
    ("inbox.tab.waiting", "Em espera", "Waiting"),
    ("inbox.tab.all", "Todos", "All"),
    ("inbox.tab.closed", "Finalizados", "Closed"),
    ("inbox.search", "Buscar nome, telefone, protocolo ou texto", "Search name, phone, protocol or text"),
    ("inbox.all_departments", "Todos os setores", "All departments"),
    ("inbox.filter", "Filtrar", "Filter"),
    ("inbox.empty", "Nenhum atendimento aqui.", "No tickets here."),
    ("inbox.more", "Mostrar mais", "Show more"),
    ("inbox.unread", "Não lidas", "Unread"),
    ("inbox.pick", "Escolha um atendimento na lista.", "Pick a ticket from the list."),
    ("inbox.back", "Atendimentos", "Inbox"),
    ("inbox.older", "Carregar anteriores", "Load earlier messages"),
    ("inbox.no_messages", "Nenhuma mensagem ainda.", "No messages yet."),
    ("inbox.note", "Nota interna", "Private note"),
    (
        "inbox.compose",
        "Escreva uma mensagem (Enter envia, Shift+Enter quebra a linha)",
        "Write a message (Enter sends, Shift+Enter breaks the line)",
    ),
    ("inbox.private_note", "Nota interna (não é enviada ao cliente)", "Private note (not sent to the customer)"),
    ("inbox.quick_replies", "Respostas rápidas", "Quick replies"),
    ("inbox.send", "Enviar", "Send"),
    (
        "inbox.outside_window",
        "O cliente não escreve há mais de 24 horas: o WhatsApp só permite enviar um modelo aprovado.",
        "The customer has not written in the last 24 hours: WhatsApp allows only an approved template.",
    ),
    ("inbox.template_name", "Modelo (nome)", "Template (name)"),
    ("inbox.template_language", "Idioma", "Language"),
    ("inbox.send_template", "Enviar modelo", "Send template"),
    ("inbox.protocol", "Protocolo", "Protocol"),
    ("inbox.department", "Setor", "Department"),
    ("inbox.assignee", "Atendente", "Agent"),
    ("inbox.agent", "Atendente", "Agent"),
    ("inbox.priority", "Prioridade", "Priority"),
    ("inbox.priority.low", "Baixa", "Low"),
    ("inbox.priority.normal", "Normal", "Normal"),
    ("inbox.priority.high", "Alta", "High"),
    ("inbox.priority.urgent", "Urgente", "Urgent"),
    ("inbox.status.bot", "No robô", "With the bot"),
    ("inbox.status.waiting", "Em espera", "Waiting"),
    ("inbox.status.open", "Em atendimento", "Open"),
    ("inbox.status.closed", "Finalizado", "Closed"),
    ("inbox.capture", "Capturar", "Take it"),
    ("inbox.transfer", "Transferir", "Transfer"),
    ("inbox.transfer_note", "Observação (opcional)", "Note (optional)"),
    ("inbox.close", "Encerrar", "Close"),
    ("inbox.reopen", "Reabrir", "Reopen"),
    ("inbox.farewell.none", "Sem despedida", "No farewell"),
    ("inbox.farewell.default", "Despedida padrão", "Default farewell"),
    ("inbox.farewell.text", "Esta despedida:", "This farewell:"),
    ("inbox.history", "Histórico", "History"),
    ("inbox.notify", "Ativar notificações", "Turn on notifications"),
    ("inbox.notify_new", "Novo atendimento em espera", "New waiting ticket"),
    ("history.created", "Aberto", "Opened"),
    ("history.captured", "Capturado", "Taken"),
    ("history.assigned", "Atribuído", "Assigned"),
    ("history.transferred", "Transferido", "Transferred"),
    ("history.closed", "Encerrado", "Closed"),
    ("history.reopened", "Reaberto", "Reopened"),
    ("history.priority", "Prioridade alterada", "Priority changed"),
    ("history.csat", "Avaliação recebida", "Rating received"),
    ("history.by", "por", "by"),
    ("msg.reply", "resposta a uma mensagem", "reply to a message"),
    ("msg.location", "Localização", "Location"),
    ("msg.image", "Imagem", "Image"),
    ("msg.audio", "Áudio", "Audio"),
    ("msg.video", "Vídeo", "Video"),
    ("msg.document", "Documento", "Document"),
    ("msg.sticker", "Figurinha", "Sticker"),
    ("tick.queued", "Na fila", "Queued"),
    ("tick.sent", "Enviada", "Sent"),
    ("tick.delivered", "Entregue", "Delivered"),
    ("tick.read", "Lida", "Read"),
    ("tick.failed", "Falhou", "Failed"),
    ("nav.users", "Usuários", "Users"),
    ("nav.tokens", "Tokens de API", "API tokens"),
    ("nav.tenants", "Empresas", "Companies"),
    ("nav.connections", "Conexões", "Connections"),
    ("conn.webhook_url", "URL do webhook (cole no painel da Meta)", "Webhook URL (paste into Meta's dashboard)"),
    ("conn.verify_token", "Token de verificação", "Verify token"),
    ("conn.last_webhook", "Último webhook", "Last webhook"),
    ("conn.last_send", "Último envio", "Last send"),
    ("conn.last_error", "Último erro", "Last error"),
    (
        "conn.needs_reauth",
        "O token de acesso expirou ou foi revogado: gere um novo no painel da Meta e informe-o abaixo.",
        "The access token expired or was revoked: create a new one in Meta's dashboard and enter it below.",
    ),
    ("conn.new_token", "Novo token de acesso", "New access token"),
    ("conn.new_app_secret", "Novo app secret (opcional)", "New app secret (optional)"),
    ("conn.update_token", "Atualizar token", "Update token"),
    ("conn.none", "Nenhuma conexão ainda.", "No connections yet."),
    ("conn.new", "Nova conexão WhatsApp Cloud API", "New WhatsApp Cloud API connection"),
    ("conn.rate", "Envios por segundo", "Sends per second"),
    ("nav.departments", "Setores", "Departments"),
    ("nav.quick_replies", "Respostas rápidas", "Quick replies"),
    ("nav.settings", "Configurações", "Settings"),
    ("dept.none", "Nenhum setor ainda.", "No departments yet."),
    ("dept.new", "Novo setor", "New department"),
    ("dept.colour", "Cor", "Colour"),
    ("dept.greeting", "Saudação (enviada ao entrar no setor)", "Greeting (sent when a ticket enters)"),
    ("dept.sign_messages", "Assinar mensagens", "Sign messages"),
    ("dept.distribution", "Distribuição", "Distribution"),
    ("dept.mode.off", "Manual (atendentes capturam)", "Manual (agents take tickets)"),
    ("dept.mode.round_robin", "Rodízio", "Round robin"),
    ("dept.mode.least_busy", "Menos ocupado", "Least busy"),
    ("dept.members", "Membros", "Members"),
    ("dept.members_help", "Quem atende este setor", "Who attends this department"),
    ("dept.delete", "Excluir setor", "Delete department"),
    (
        "dept.delete_help",
        "Os atendimentos ficam sem setor (os em espera passam a ser vistos por todos) e as respostas rápidas do setor são apagadas.",
        "Its tickets lose the department (waiting ones become visible to every agent) and its quick replies are deleted.",
    ),
    ("qr.none", "Nenhuma resposta rápida ainda.", "No quick replies yet."),
    ("qr.new", "Nova resposta rápida", "New quick reply"),
    ("qr.shortcut", "Atalho", "Shortcut"),
    ("qr.body", "Texto", "Text"),
    ("qr.all_departments", "Todos os setores", "All departments"),
    (
        "qr.help",
        "Digite /atalho no atendimento. Variáveis trocadas ao enviar: nome do cliente, protocolo e nome do atendente:",
        "Type /shortcut in a ticket. Variables replaced on sending: customer name, protocol and agent name:",
    ),
    ("settings.reopen_window", "Janela de reabertura (minutos)", "Reopen window (minutes)"),
    (
        "settings.reopen_help",
        "Se o cliente escrever até este tempo após o encerramento, o atendimento é reaberto; depois, um novo começa. 0 desativa.",
        "A customer writing this soon after a close reopens the ticket; later, a new one starts. 0 turns it off.",
    ),
    ("settings.csat_enabled", "Pedir avaliação (CSAT) ao encerrar", "Ask for a rating (CSAT) on close"),
    ("settings.csat_question", "Pergunta da avaliação", "Rating question"),
    ("settings.csat_help", "Vazio: o texto padrão.", "Empty: the built-in text."),
    ("settings.farewell", "Despedida padrão", "Default farewell"),
    ("settings.farewell_help", "Enviada ao encerrar; vazio: nenhuma.", "Sent on close; empty: none."),
    ("account.signature", "Assinatura", "Signature"),
    ("account.sign_messages", "Assinar minhas mensagens", "Sign my messages"),
    (
        "account.signature_help",
        "Suas mensagens começam com *Seu nome:* (setores podem exigir a assinatura).",
        "Your messages start with *Your name:* (departments may require it).",
    ),
    ("conn.default_department", "Setor padrão dos novos atendimentos", "Default department of new tickets"),
    ("conn.no_department", "Nenhum (todos veem)", "None (everyone sees them)"),
    ("common.yes", "Sim", "Yes"),
    ("common.no", "Não", "No"),
    ("common.delete", "Excluir", "Delete"),
    ("nav.account", "Minha conta", "My account"),
    ("nav.logout", "Sair", "Log out"),
    ("nav.menu", "Menu", "Menu"),
    ("login.title", "Entrar", "Log in"),
    ("login.email", "E-mail", "E-mail"),
    ("login.password", "Senha", "Password"),
    ("login.tenant", "Empresa (opcional)", "Company (optional)"),
    ("login.submit", "Entrar", "Log in"),
    ("login.bad_credentials", "E-mail ou senha incorretos.", "Wrong e-mail or password."),
    (
        "login.tenant_required",
        "Este e-mail pertence a mais de uma empresa: informe a empresa.",
        "This e-mail belongs to several companies: enter the company.",
    ),
    (
        "login.rate_limited",
        "Muitas tentativas. Aguarde alguns minutos e tente de novo.",
        "Too many attempts. Wait a few minutes and try again.",
    ),
    ("home.title", "Início", "Home"),
    ("home.welcome", "Bem-vindo(a)", "Welcome"),
    ("home.company", "Empresa", "Company"),
    ("home.role", "Papel", "Role"),
    ("home.live", "Eventos ao vivo", "Live events"),
    (
        "home.live_empty",
        "Nenhum evento ainda. Ações da sua equipe aparecem aqui sem recarregar a página.",
        "No events yet. Your team's actions appear here without reloading.",
    ),
    (
        "home.next",
        "A caixa de entrada dos atendimentos chega na próxima versão; por enquanto as mensagens aparecem aqui ao vivo.",
        "The ticket inbox arrives in the next version; for now messages show up here live.",
    ),
    ("live.connected", "ao vivo", "live"),
    ("live.offline", "reconectando…", "reconnecting…"),
    ("role.agent", "Atendente", "Agent"),
    ("role.supervisor", "Supervisor", "Supervisor"),
    ("role.admin", "Administrador", "Admin"),
    ("role.platform_admin", "Admin da plataforma", "Platform admin"),
    ("common.save", "Salvar", "Save"),
    ("common.create", "Criar", "Create"),
    ("common.cancel", "Cancelar", "Cancel"),
    ("common.name", "Nome", "Name"),
    ("common.email", "E-mail", "E-mail"),
    ("common.role", "Papel", "Role"),
    ("common.status", "Situação", "Status"),
    ("common.active", "Ativo", "Active"),
    ("common.inactive", "Inativo", "Inactive"),
    ("common.actions", "Ações", "Actions"),
    ("common.edit", "Editar", "Edit"),
    ("common.created", "Criado em", "Created"),
    ("common.never", "nunca", "never"),
    ("common.saved", "Alterações salvas.", "Changes saved."),
    ("error.forbidden", "Você não tem permissão para isso.", "You are not allowed to do this."),
    ("error.not_found", "Não encontrado.", "Not found."),
    (
        "error.csrf",
        "O formulário expirou. Recarregue a página e tente de novo.",
        "The form expired. Reload the page and try again.",
    ),
    (
        "error.internal",
        "Erro interno. Tente de novo; se persistir, avise o administrador.",
        "Internal error. Try again; if it persists, tell your administrator.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portuguese_is_the_default_and_english_on_request() {
        assert_eq!(Lang::from_accept_language(""), Lang::PtBr);
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("de-DE,pt-BR;q=0.8,en;q=0.5"), Lang::PtBr);
        assert_eq!(Lang::from_accept_language("fr"), Lang::PtBr);
        assert_eq!(Lang::PtBr.t("nav.home"), "Início");
        assert_eq!(Lang::En.t("nav.home"), "Home");
    }

    #[test]
    fn every_key_is_unique() {
        let mut keys: Vec<_> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        keys.sort();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len());
    }
}
