//! The UI's two languages: Brazilian Portuguese (default) and English.

use axum::http::{header, HeaderMap};

mod admin;
mod automation;
mod campaigns;
mod chat;
mod consent;
mod errors;
mod inbox;
mod kanban;
mod lgpd;
mod pages;
mod plans;
mod reports;
mod schedules;
mod security;
mod sla;
mod status_page;
mod tasks;
mod vault;

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
        all().find(|(k, _, _)| *k == key).map(|(_, pt, en)| if self == Lang::En { *en } else { *pt }).unwrap_or(key)
    }
}

/// Every text as (key, pt-BR, en): for tests that look for untranslated words on pages.
pub fn texts() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    all()
}

/// Every text: the shell's and the common pages' here, each theme's (errors, admin pages,
/// automation, inbox, reports…) in its own file.
fn all() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    TEXTS
        .iter()
        .chain(admin::TEXTS)
        .chain(errors::TEXTS)
        .chain(kanban::TEXTS)
        .chain(automation::TEXTS)
        .chain(inbox::TEXTS)
        .chain(pages::TEXTS)
        .chain(security::TEXTS)
        .chain(consent::TEXTS)
        .chain(reports::TEXTS)
        .chain(schedules::TEXTS)
        .chain(sla::TEXTS)
        .chain(campaigns::TEXTS)
        .chain(status_page::TEXTS)
        .chain(vault::TEXTS)
        .chain(tasks::TEXTS)
        .chain(chat::TEXTS)
        .chain(plans::TEXTS)
        .chain(lgpd::TEXTS)
}

/// (key, pt-BR, en)
const TEXTS: &[(&str, &str, &str)] = &[
    ("app.tagline", "Atendimento omnichannel", "Omnichannel customer service"),
    ("nav.home", "Início", "Home"),
    ("nav.inbox", "Atendimentos", "Inbox"),
    ("inbox.tab.mine", "Em atendimento", "In progress"),
    ("inbox.tab.waiting", "Em espera", "Waiting"),
    ("inbox.tab.all", "Todos", "All"),
    ("inbox.tab.closed", "Finalizados", "Closed"),
    ("inbox.tab.bot", "Chatbot", "Chatbot"),
    ("inbox.search", "Buscar nome, telefone, protocolo ou texto", "Search name, phone, protocol or text"),
    ("inbox.all_departments", "Todos os setores", "All departments"),
    ("inbox.filter", "Filtrar", "Filter"),
    ("inbox.wallet", "Minha carteira", "My wallet"),
    ("inbox.viewers", "Vendo agora", "Viewing now"),
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
    ("inbox.csat", "Avaliação do cliente", "Customer rating"),
    ("inbox.status.bot", "No robô", "With the bot"),
    ("inbox.status.waiting", "Em espera", "Waiting"),
    ("inbox.status.open", "Em atendimento", "Open"),
    ("inbox.status.closed", "Finalizado", "Closed"),
    ("inbox.capture", "Aceitar", "Accept"),
    ("inbox.transfer", "Transferir", "Transfer"),
    ("inbox.transfer_note", "Observação (opcional)", "Note (optional)"),
    ("inbox.close", "Finalizar", "Close"),
    ("inbox.reopen", "Reabrir", "Reopen"),
    ("inbox.farewell.none", "Sem despedida", "No farewell"),
    ("inbox.farewell.default", "Despedida padrão", "Default farewell"),
    ("inbox.farewell.text", "Esta despedida:", "This farewell:"),
    ("inbox.history", "Histórico", "History"),
    ("inbox.notify", "Ativar notificações", "Turn on notifications"),
    ("inbox.notify_new", "Novo atendimento em espera", "New waiting ticket"),
    // Composer extras, tags, filters, notifications (issue 4 UI).
    ("nav.tags", "Etiquetas", "Tags"),
    ("tags.none", "Nenhuma etiqueta ainda.", "No tags yet."),
    ("tags.new", "Nova etiqueta", "New tag"),
    ("tags.confirm_delete", "Excluir esta etiqueta de todos os atendimentos e contatos?", "Delete this tag from every ticket and contact?"),
    ("common.colour", "Cor", "Colour"),
    ("inbox.tag", "Etiqueta", "Tag"),
    ("inbox.all_tags", "Todas as etiquetas", "All tags"),
    ("inbox.connection", "Conexão", "Connection"),
    ("inbox.all_connections", "Todas as conexões", "All connections"),
    ("inbox.no_tags", "Sem etiquetas.", "No tags."),
    ("inbox.tag_add", "Adicionar etiqueta", "Add tag"),
    ("inbox.tag_remove", "Remover etiqueta", "Remove tag"),
    ("inbox.contact_page", "Ver contato e atendimentos", "Contact and tickets"),
    ("msg.you", "Você", "You"),
    ("msg.customer", "Cliente", "Customer"),
    ("msg.reply_action", "Responder", "Reply"),
    ("msg.react", "Reagir", "React"),
    ("msg.react_remove", "Remover reação", "Remove reaction"),
    ("composer.attach", "Anexar", "Attach"),
    ("composer.attach_hint", "Anexe, arraste ou cole um arquivo", "Attach, drop or paste a file"),
    ("composer.caption", "Legenda (opcional)", "Caption (optional)"),
    ("composer.remove_file", "Remover arquivo", "Remove file"),
    ("composer.record", "Gravar áudio", "Record voice"),
    ("composer.stop", "Parar e enviar", "Stop and send"),
    ("composer.recording", "Gravando…", "Recording…"),
    ("composer.replying_to", "Respondendo:", "Replying to:"),
    ("composer.cancel_reply", "Cancelar resposta", "Cancel reply"),
    ("notify.ask", "Quer ser avisado de novos atendimentos e mensagens?", "Get notified of new tickets and messages?"),
    ("notify.later", "Agora não", "Not now"),
    ("notify.on", "Notificações ligadas", "Notifications on"),
    ("notify.off", "Notificações desligadas", "Notifications off"),
    ("notify.denied", "O navegador bloqueou as notificações deste site.", "The browser blocks notifications for this site."),
    ("notify.waiting", "Novo atendimento em espera", "New waiting ticket"),
    ("notify.message", "Nova mensagem", "New message"),
    ("history.created", "Aberto", "Opened"),
    ("history.captured", "Aceito", "Accepted"),
    ("history.assigned", "Atribuído", "Assigned"),
    ("history.transferred", "Transferido", "Transferred"),
    ("history.closed", "Finalizado", "Closed"),
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
    ("msg.from_phone", "Celular", "Phone"),
    ("nav.departments", "Setores", "Departments"),
    ("nav.quick_replies", "Respostas rápidas", "Quick replies"),
    ("nav.settings", "Configurações", "Settings"),
    ("nav.automation", "Horários e regras", "Hours & rules"),
    ("nav.chatbot", "Chatbot", "Chatbot"),
    ("account.signature", "Assinatura", "Signature"),
    ("account.sign_messages", "Assinar minhas mensagens", "Sign my messages"),
    (
        "account.signature_help",
        "Suas mensagens começam com *Seu nome:* (setores podem exigir a assinatura).",
        "Your messages start with *Your name:* (departments may require it).",
    ),
    ("common.yes", "Sim", "Yes"),
    ("common.no", "Não", "No"),
    ("common.delete", "Excluir", "Delete"),
    ("nav.account", "Minha conta", "My account"),
    ("nav.logout", "Sair", "Log out"),
    ("nav.menu", "Menu", "Menu"),
    ("nav.skip", "Pular para o conteúdo", "Skip to content"),
    ("nav.collapse", "Recolher menu", "Collapse menu"),
    ("nav.expand", "Expandir menu", "Expand menu"),
    ("nav.api", "API", "API"),
    ("nav.group.service", "Atendimento", "Service"),
    ("nav.group.manage", "Gestão", "Management"),
    ("nav.group.integrations", "Integrações", "Integrations"),
    ("nav.group.account", "Conta", "Account"),
    ("nav.group.platform", "Plataforma", "Platform"),
    ("status.online", "Online", "Online"),
    ("status.away", "Ausente", "Away"),
    ("status.offline", "Offline", "Offline"),
    ("status.label", "Status", "Status"),
    ("status.go_away", "Ficar ausente", "Set as away"),
    ("status.go_online", "Ficar online", "Set as online"),
    ("status.away_help", "Você não recebe novos atendimentos automáticos.", "You get no new tickets from automatic distribution."),
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
    ("home.first_steps", "Primeiros passos", "First steps"),
    ("home.steps_title", "Deixe o atendimento pronto", "Get your service ready"),
    ("home.steps_of", "de", "of"),
    ("home.steps_done", "passos concluídos", "steps done"),
    ("home.steps_all_done", "Tudo pronto! Sua equipe já pode atender pelo WhatsApp.", "All set! Your team can now serve customers on WhatsApp."),
    ("home.step_done", "concluído", "done"),
    ("home.step_todo", "a fazer", "to do"),
    ("home.step.connect", "Conectar WhatsApp", "Connect WhatsApp"),
    ("home.step.connect_hint", "Cadastre o número da empresa para receber e enviar mensagens.", "Add the company's number to receive and send messages."),
    ("home.step.departments", "Criar setores", "Create departments"),
    ("home.step.departments_hint", "Vendas, Suporte, Financeiro…: cada atendimento entra em um setor.", "Sales, Support, Billing…: every ticket queues in a department."),
    ("home.step.invite", "Convidar atendentes", "Invite agents"),
    ("home.step.invite_hint", "Crie os acessos da sua equipe e coloque cada pessoa nos seus setores.", "Create your team's logins and put each person in their departments."),
    ("home.step.quick_replies", "Respostas rápidas", "Quick replies"),
    ("home.step.quick_replies_hint", "Textos prontos que a equipe envia digitando /atalho.", "Ready-made texts your team sends by typing /shortcut."),
    ("home.step.test", "Testar com o simulador", "Test with the simulator"),
    ("home.step.test_hint", "Mande uma mensagem para o número conectado e veja o atendimento chegar.", "Send a message to the connected number and watch the ticket arrive."),
    ("home.step.test_demo_hint", "Abra o celular de cliente do simulador, escreva uma mensagem e veja o atendimento chegar.", "Open the simulator's customer phone, write a message and watch the ticket arrive."),
    ("home.my_queue", "Meus atendimentos", "My tickets"),
    ("home.my_open", "em atendimento comigo", "in progress with me"),
    ("home.my_waiting", "em espera nos meus setores", "waiting in my departments"),
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
    // Banners after a save (`?saved=<what>`, `saved_notice`): they say what was done.
    ("saved.department_created", "Setor criado.", "Department created."),
    ("saved.department_saved", "Setor salvo.", "Department saved."),
    ("saved.members_saved", "Membros do setor salvos.", "Department members saved."),
    ("saved.quick_reply_created", "Resposta rápida /{shortcut} criada.", "Quick reply /{shortcut} created."),
    ("saved.quick_reply_saved", "Resposta rápida salva.", "Quick reply saved."),
    ("saved.quick_reply_deleted", "Resposta rápida excluída.", "Quick reply deleted."),
    ("saved.signature_saved", "Preferência de assinatura salva.", "Signature preference saved."),
    ("saved.language_saved", "Idioma salvo.", "Language saved."),
    ("saved.password_changed", "Senha alterada.", "Password changed."),
    ("saved.user_created", "Usuário {email} criado.", "User {email} created."),
    ("saved.user_created_password", "Usuário {email} criado. Senha inicial (mostrada só agora): {password}", "User {email} created. First password (shown only now): {password}"),
    ("saved.user_saved", "Usuário salvo.", "User saved."),
    ("saved.connection_created", "Conexão criada.", "Connection created."),
    ("saved.connection_department_saved", "Setor da conexão salvo.", "Connection department saved."),
    ("saved.connection_token_saved", "Credenciais da conexão salvas.", "Connection credentials saved."),
    ("saved.connection_removed", "Conexão removida.", "Connection removed."),
    ("saved.tag_created", "Etiqueta criada.", "Tag created."),
    ("saved.tag_saved", "Etiqueta salva.", "Tag saved."),
    ("saved.tag_deleted", "Etiqueta excluída.", "Tag deleted."),
    ("saved.webhook_saved", "Webhook salvo.", "Webhook saved."),
    ("saved.webhook_deleted", "Webhook excluído.", "Webhook deleted."),
    ("saved.contact_saved", "Contato salvo.", "Contact saved."),
    ("saved.field_created", "Campo criado.", "Field created."),
    ("saved.field_deleted", "Campo excluído.", "Field deleted."),
    ("error.forbidden", "Você não tem permissão para isso.", "You are not allowed to do this."),
    ("error.not_found", "Não encontrado.", "Not found."),
    ("error.page.not_found", "Página não encontrada", "Page not found"),
    ("error.page.not_found_text", "O endereço não existe ou o que você procura não está disponível para você.", "This address does not exist, or what you are looking for is not available to you."),
    ("error.page.forbidden", "Acesso negado", "Access denied"),
    ("error.page.internal", "Algo deu errado", "Something went wrong"),
    ("error.page.other", "Não foi possível concluir", "This could not be done"),
    ("error.go_inbox", "Ir para Atendimentos", "Go to the inbox"),
    ("error.go_home", "Voltar ao início", "Back to the start page"),
    ("error.go_login", "Entrar", "Log in"),
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
    ("nav.contacts", "Contatos", "Contacts"),
    ("contacts.search", "Buscar por nome, telefone ou e-mail", "Search by name, phone or e-mail"),
    ("contacts.tag", "Etiqueta", "Tag"),
    ("contacts.any", "Qualquer", "Any"),
    ("contacts.filter", "Filtrar", "Filter"),
    ("contacts.filter_name", "Nome do filtro", "Filter name"),
    ("contacts.save_filter", "Salvar filtro", "Save filter"),
    ("contacts.saved_filters", "Filtros salvos", "Saved filters"),
    ("contacts.confirm_delete_filter", "Excluir este filtro salvo?", "Delete this saved filter?"),
    ("saved.filter_saved", "Filtro salvo.", "Filter saved."),
    ("saved.filter_deleted", "Filtro excluído.", "Filter deleted."),
    ("err.filter_exists", "Já existe um filtro com este nome.", "A filter with this name exists."),
    ("err.empty_filter", "Escolha uma busca, uma etiqueta ou um consentimento para salvar.", "Choose a search, a tag or a consent to save."),
    ("contacts.none", "Nenhum contato encontrado.", "No contacts found."),
    ("contacts.name", "Nome", "Name"),
    ("contacts.phone", "Telefone", "Phone"),
    ("contacts.email", "E-mail", "E-mail"),
    ("contacts.tags", "Etiquetas", "Tags"),
    ("contacts.tags_hint", "separadas por vírgula", "comma-separated"),
    ("contacts.notes", "Observações", "Notes"),
    ("contacts.consent", "Consentimento", "Consent"),
    ("contacts.consent.transactional", "Transacional", "Transactional"),
    ("contacts.consent.marketing_opt_in", "Aceita marketing", "Marketing opt-in"),
    ("contacts.consent.opted_out", "Descadastrado (opt-out)", "Opted out"),
    ("contacts.consent_since", "desde", "since"),
    ("contacts.custom_fields", "Campos personalizados", "Custom fields"),
    ("contacts.tickets", "Atendimentos do contato", "This contact's tickets"),
    ("contacts.no_tickets", "Nenhum atendimento ainda.", "No tickets yet."),
    ("contacts.protocol", "Protocolo", "Protocol"),
    ("contacts.status", "Situação", "Status"),
    ("contacts.wallet", "Carteira", "Wallet"),
    ("contacts.owner_email", "Responsável (e-mail da pessoa)", "Owner (the person's e-mail)"),
    ("contacts.owner", "Responsável", "Owner"),
    ("contacts.no_owner", "Sem responsável", "No owner"),
    ("contacts.owner_unknown", "Escolha uma pessoa da lista.", "Choose a person from the list."),
    ("contacts.wallet_hint", "Novos atendimentos deste contato vão direto para o responsável quando ele está online (e não ausente); senão seguem o caminho normal (chatbot, setor).", "New tickets of this contact go straight to the owner when they are online (and not away); otherwise they take the usual way (chatbot, department)."),
    ("contacts.merge", "Mesclar outro contato neste", "Merge another contact into this one"),
    ("contacts.merge_hint", "Atendimentos, mensagens, etiquetas e campos do outro contato passam para este; o outro é excluído.", "The other contact's tickets, messages, tags and fields move here; the other one is deleted."),
    ("contacts.merge_from", "Número (#) do outro contato", "The other contact's number (#)"),
    ("contacts.merged", "Contatos mesclados.", "Contacts merged."),
    ("contacts.next", "Próxima página", "Next page"),
    ("contacts.first", "Primeira página", "First page"),
    ("contacts.import", "Importar CSV", "Import CSV"),
    ("contacts.export", "Exportar CSV", "Export CSV"),
    ("contacts.settings", "Campos e opt-out", "Fields and opt-out"),
    ("contacts.import.file", "Arquivo CSV (UTF-8 ou Latin-1; separador ; ou ,)", "CSV file (UTF-8 or Latin-1; ; or , separated)"),
    ("contacts.import.upload", "Enviar e pré-visualizar", "Upload and preview"),
    ("contacts.import.encoding", "Codificação", "Encoding"),
    ("contacts.import.separator", "Separador", "Separator"),
    ("contacts.import.rows", "Linhas", "Rows"),
    ("contacts.import.mapping", "Para onde vai cada coluna", "Where each column goes"),
    ("contacts.import.ignore", "(ignorar)", "(ignore)"),
    ("contacts.import.field", "Campo", "Field"),
    ("contacts.import.run", "Importar", "Import"),
    ("contacts.import.done", "Importação concluída", "Import finished"),
    ("contacts.import.created", "Criados", "Created"),
    ("contacts.import.updated", "Atualizados (duplicados mesclados)", "Updated (duplicates merged)"),
    ("contacts.import.rejected", "Linhas com erro", "Rows with errors"),
    ("contacts.import.download", "Baixar as linhas com erro (CSV)", "Download the rows with errors (CSV)"),
    ("contacts.import.expired", "O arquivo enviado expirou; envie de novo.", "The uploaded file expired; upload it again."),
    ("contacts.import.no_file", "Escolha um arquivo CSV.", "Choose a CSV file."),
    (
        "contacts.import.too_many_columns",
        "O arquivo tem colunas demais: no máximo {max}. Remova as colunas que não são de contatos e envie de novo.",
        "The file has too many columns: at most {max}. Remove the columns that are not about contacts and upload it again.",
    ),
    (
        "contacts.import.too_many_rows",
        "O arquivo tem linhas demais: no máximo {max} por arquivo. Divida-o e envie as partes.",
        "The file has too many rows: at most {max} per file. Split it and upload the parts.",
    ),
    ("contacts.import.empty_file", "O arquivo está vazio.", "The file is empty."),
    (
        "contacts.import.too_large",
        "O arquivo passa de {max} MiB. Divida-o e envie as partes.",
        "The file is over {max} MiB. Split it and upload the parts.",
    ),
    ("contacts.keywords", "Palavras de descadastro (opt-out)", "Opt-out keywords"),
    ("contacts.keywords_hint", "Separadas por vírgula. Uma mensagem igual a uma delas (sem diferenciar maiúsculas ou acentos) descadastra o contato na hora.", "Comma-separated. A message equal to one of them (ignoring case and accents) opts the contact out at once."),
    ("contacts.fields", "Campos personalizados conhecidos", "Known custom fields"),
    ("contacts.field_label", "Rótulo", "Label"),
    ("contacts.field_key", "Chave ({{chave}} nos modelos)", "Key ({{key}} in templates)"),
    ("contacts.add_field", "Adicionar campo", "Add field"),
    ("contacts.delete", "Excluir", "Delete"),
    ("contacts.variables", "Variáveis de modelo: {{nome}}, {{telefone}}, {{email}} e a chave de cada campo.", "Template variables: {{nome}}, {{telefone}}, {{email}} and each field's key."),
    // Outgoing webhooks
    ("nav.webhooks", "Webhooks", "Webhooks"),
    ("wh.title", "Webhooks", "Webhooks"),
    ("wh.intro", "Envie os eventos do Atende para outros sistemas (CRM, ERP, automações). Cada requisição é assinada com HMAC-SHA256 e, se falhar, é repetida por 24 horas.", "Send Atende's events to other systems (CRM, ERP, automations). Every request is signed with HMAC-SHA256 and, when it fails, retried for 24 hours."),
    ("wh.url", "URL de destino", "Destination URL"),
    ("wh.description", "Descrição", "Description"),
    ("wh.events", "Eventos", "Events"),
    ("wh.new", "Nova assinatura", "New subscription"),
    ("wh.none", "Nenhuma assinatura ainda.", "No subscriptions yet."),
    ("wh.secret_once", "Copie o segredo de assinatura agora: ele não será mostrado de novo aqui (administradores podem consultá-lo na página da assinatura).", "Copy the signing secret now: it is not shown here again (admins can read it on the subscription's page)."),
    ("wh.secret", "Segredo de assinatura (esta leitura foi registrada na auditoria):", "Signing secret (this read was recorded in the audit log):"),
    ("wh.reveal", "Mostrar segredo", "Show secret"),
    ("wh.test", "Enviar evento de teste", "Send test event"),
    ("wh.test_queued", "Evento de teste enviado para a fila.", "Test event queued."),
    ("wh.deliveries", "Entregas", "Deliveries"),
    ("wh.delivery", "Entrega", "Delivery"),
    ("wh.dead", "Mortas", "Dead"),
    ("wh.dead_alert", "Há entregas de webhook que falharam por 24 horas e desistimos delas. Verifique o destino e reenvie-as.", "Some webhook deliveries failed for 24 hours and were given up. Check the endpoint and replay them."),
    ("wh.replay", "Reenviar", "Replay"),
    ("wh.replayed", "Entrega enviada de novo para a fila.", "Delivery queued again."),
    ("wh.event", "Evento", "Event"),
    ("wh.code", "Código HTTP", "HTTP code"),
    ("wh.latency", "Latência", "Latency"),
    ("wh.attempts", "Tentativas", "Attempts"),
    ("wh.next_retry", "Próxima tentativa", "Next retry"),
    ("wh.when", "Quando", "When"),
    ("wh.error", "Erro", "Error"),
    ("wh.response", "Resposta", "Response"),
    ("wh.body", "Corpo enviado", "Body sent"),
    ("wh.older", "Mais antigas", "Older"),
    ("wh.settings", "Configurações de webhooks", "Webhook settings"),
    ("wh.private_allowed", "O operador do servidor permite que os webhooks desta empresa alcancem redes privadas (localhost, 10.x, 172.16–31.x, 192.168.x…).", "The server's operator lets this company's webhooks reach private networks (localhost, 10.x, 172.16–31.x, 192.168.x…)."),
    ("wh.private_refused", "Webhooks só alcançam endereços públicos da internet. Para um receptor na rede interna, peça ao operador do servidor.", "Webhooks reach public internet addresses only. For a receiver on an internal network, ask the server's operator."),
    ("tenants.private_networks", "Webhooks em redes privadas", "Webhooks on private networks"),
    ("tenants.allow", "Permitir", "Allow"),
    ("tenants.refuse", "Bloquear", "Block"),
    ("wh.state.pending", "pendente", "pending"),
    ("wh.state.retrying", "falhou, tentando de novo", "failed, retrying"),
    ("wh.state.delivered", "entregue", "delivered"),
    ("wh.state.dead", "desistimos (morta)", "dead (gave up)"),
    ("wh.state.cancelled", "cancelada", "cancelled"),
];

#[cfg(test)]
mod tests;
