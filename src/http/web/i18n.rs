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
    ("inbox.tab.mine", "Em atendimento", "In progress"),
    ("inbox.tab.waiting", "Em espera", "Waiting"),
    ("inbox.tab.all", "Todos", "All"),
    ("inbox.tab.closed", "Finalizados", "Closed"),
    ("inbox.tab.bot", "Chatbot", "Chatbot"),
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
    ("notify.on", "🔔 Notificações ligadas", "🔔 Notifications on"),
    ("notify.off", "🔕 Notificações desligadas", "🔕 Notifications off"),
    ("notify.denied", "O navegador bloqueou as notificações deste site.", "The browser blocks notifications for this site."),
    ("notify.waiting", "Novo atendimento em espera", "New waiting ticket"),
    ("notify.message", "Nova mensagem", "New message"),
    ("err.file_too_large", "Arquivo grande demais para o WhatsApp: imagens até 5 MB, áudio e vídeo até 16 MB, documentos até 100 MB.", "File too large for WhatsApp: images up to 5 MB, audio and video up to 16 MB, documents up to 100 MB."),
    ("err.unsupported_file_type", "O WhatsApp não aceita este tipo de arquivo. Envie imagens JPEG ou PNG, vídeo MP4, áudio MP3/OGG/AAC, PDF, documentos do Office ou texto.", "WhatsApp does not take this kind of file. Send JPEG or PNG images, MP4 video, MP3/OGG/AAC audio, PDF, Office or text documents."),
    ("err.unsupported_audio", "Não foi possível converter esta gravação em áudio do WhatsApp.", "This recording could not be turned into a WhatsApp voice note."),
    ("err.forbidden_graph_url", "Esta URL da Graph API leva a um endereço interno (localhost, rede privada ou link-local). Só o operador do servidor pode liberar redes privadas.", "This Graph API URL leads to an internal address (localhost, a private network or link-local). Only the server's operator can allow private networks."),
    ("err.unresolvable_graph_url", "O nome do servidor desta URL da Graph API não foi encontrado.", "The host name of this Graph API URL does not resolve."),
    ("err.invalid_graph_url", "A URL da Graph API deve ser http:// ou https://, com um servidor e sem usuário ou senha.", "The Graph API URL must be http:// or https://, with a host and no user name or password."),
    ("err.invalid_search", "A busca pode ter no máximo 200 caracteres.", "The search may have at most 200 characters."),
    ("err.empty_file", "O arquivo está vazio.", "The file is empty."),
    ("err.invalid_upload", "O envio do arquivo veio incompleto. Tente de novo.", "The upload arrived incomplete. Try again."),
    ("err.upload_failed", "Não foi possível enviar o arquivo. Tente de novo.", "The file could not be sent. Try again."),
    ("err.microphone", "Não foi possível usar o microfone.", "The microphone could not be used."),
    ("err.note_file", "Notas internas não levam anexos: desmarque \"Nota interna\" para enviar o arquivo ao cliente.", "Private notes take no files: untick \"Private note\" to send the file to the customer."),
    ("err.invalid_caption", "A legenda pode ter no máximo 1024 caracteres.", "A caption has at most 1024 characters."),
    ("err.outside_window", "O cliente não escreve há mais de 24 horas: o WhatsApp só permite enviar um modelo aprovado.", "The customer has not written in the last 24 hours: WhatsApp allows only an approved template now."),
    ("err.unknown_message", "Mensagem não encontrada nesta conversa.", "No such message in this conversation."),
    ("err.not_replyable", "Não é possível responder ou reagir a esta mensagem.", "This message cannot be replied to or reacted to."),
    ("err.message_not_sent_yet", "Esta mensagem ainda não chegou ao WhatsApp. Tente em instantes.", "This message has not reached WhatsApp yet. Try again in a moment."),
    ("err.invalid_reaction", "Escolha uma das reações oferecidas.", "Pick one of the offered reactions."),
    ("err.unknown_tag", "Etiqueta desconhecida.", "Unknown tag."),
    ("err.name_taken", "Já existe um item com este nome.", "Something with this name already exists."),
    ("err.invalid_idempotency_key", "A chave de idempotência pode ter no máximo 200 caracteres.", "An idempotency key has at most 200 characters."),
    ("err.connection_needs_reauth", "O token de acesso deste número expirou ou foi revogado: um administrador precisa reconectá-lo em Conexões antes de enviar.", "This number's access token expired or was revoked: an admin must reconnect it under Connections before sending."),
    ("err.invalid_reopen_window", "A janela de reabertura vai de 0 a 43.200 minutos (30 dias).", "The reopen window is 0 to 43,200 minutes (30 days)."),
    ("err.unknown_quick_reply", "Não há resposta rápida com este atalho.", "No quick reply has this shortcut."),
    ("err.invalid_distribution_mode", "Escolha um modo de distribuição da lista.", "Pick a distribution mode from the list."),
    ("err.cannot_demote_self", "Você não pode desativar a própria conta nem reduzir o próprio papel.", "You cannot deactivate your own account or lower your own role."),
    ("err.invalid_body", "O texto deve ter de 1 a 4096 caracteres.", "The text must have 1 to 4096 characters."),
    ("err.invalid_consent", "Escolha um consentimento válido: transacional, aceita marketing ou descadastrado.", "Pick a valid consent: transactional, marketing opt-in or opted out."),
    ("err.invalid_custom_fields", "Campos personalizados: até 50, com nomes de 1 a 60 caracteres e valores de até 1000.", "Custom fields: up to 50, named with 1 to 60 characters, values up to 1000."),
    ("err.invalid_description", "A descrição pode ter no máximo 200 caracteres.", "The description has at most 200 characters."),
    ("err.invalid_email", "Informe um e-mail válido, como nome@empresa.com.br.", "Enter a valid e-mail address, such as name@company.com."),
    ("err.invalid_events", "Escolha pelo menos um evento da lista.", "Choose at least one event from the list."),
    ("err.invalid_farewell", "A despedida pode ter no máximo 4096 caracteres.", "The farewell has at most 4096 characters."),
    ("err.invalid_field_key", "A chave do campo tem de 1 a 40 letras, números ou _, começa por letra e não pode ser nome, telefone ou email (já existem).", "A field key has 1 to 40 letters, digits or _, starts with a letter and cannot be nome, telefone or email (built in)."),
    ("err.invalid_greeting", "A saudação pode ter no máximo 4096 caracteres.", "The greeting has at most 4096 characters."),
    ("err.invalid_keywords", "Informe no máximo 20 palavras, separadas por vírgula, cada uma com até 40 caracteres.", "Give at most 20 words, separated by commas, each up to 40 characters."),
    ("err.invalid_label", "O rótulo deve ter de 1 a 120 caracteres.", "The label must have 1 to 120 characters."),
    ("err.invalid_locale", "Escolha Português (Brasil) ou English.", "Choose Português (Brasil) or English."),
    ("err.invalid_mapping", "Revise o mapeamento das colunas: uma coluna deve ser o telefone (ou o e-mail), e cada coluna só pode ir para um campo.", "Check the column mapping: one column must be the phone (or the e-mail), and each column can go to one field only."),
    ("err.invalid_marker", "O marcador deve ter de 1 a 200 caracteres.", "The marker must have 1 to 200 characters."),
    ("err.invalid_message", "A mensagem está vazia, incompleta ou é longa demais para o WhatsApp.", "The message is empty, incomplete or too long for WhatsApp."),
    ("err.gateway_not_configured", "Este servidor não tem um gateway do WhatsApp Web para QR Code.", "This server has no WhatsApp Web gateway for QR codes."),
    ("err.gateway_unavailable", "O gateway do WhatsApp não respondeu. Tente de novo em instantes.", "The WhatsApp gateway did not answer. Try again in a moment."),
    ("err.invalid_name", "O nome é obrigatório e deve ter no máximo 120 caracteres.", "The name is required and has at most 120 characters."),
    ("err.invalid_note", "A nota deve ter de 1 a 4096 caracteres.", "The note must have 1 to 4096 characters."),
    ("err.invalid_notes", "As observações podem ter no máximo 10.000 caracteres.", "Notes have at most 10,000 characters."),
    ("err.invalid_phone", "Informe o telefone com código do país e DDD, como +55 11 98765-4321.", "Enter the phone number with country and area code, such as +55 11 98765-4321."),
    ("err.invalid_phone_number_id", "O Phone number ID tem de 1 a 64 letras ou números (veja no painel da Meta).", "The phone number ID has 1 to 64 letters or digits (see Meta's dashboard)."),
    ("err.invalid_rate", "Os envios por segundo devem ficar entre 1 e 1000.", "Sends per second must be between 1 and 1000."),
    ("err.invalid_role", "Este papel não pode ser dado a esta conta.", "This role cannot be given to this account."),
    ("err.invalid_scopes", "Escolha pelo menos um escopo.", "Choose at least one scope."),
    ("err.invalid_shortcut", "O atalho deve ter de 1 a 30 caracteres: letras minúsculas sem acento, números, - e _.", "A shortcut has 1 to 30 characters: lowercase letters without accents, digits, - and _."),
    ("err.invalid_slug", "O identificador deve ter de 2 a 40 caracteres (a-z, 0-9 e -), não pode começar nem terminar com - e não pode ser um nome reservado.", "The identifier has 2 to 40 characters (a-z, 0-9 and -), cannot start or end with - and cannot be a reserved name."),
    ("err.invalid_tag", "Cada etiqueta tem de 1 a 120 caracteres, e um contato tem no máximo 20.", "Each tag has 1 to 120 characters, and a contact has at most 20."),
    ("err.invalid_text", "A despedida (até 4096 caracteres) ou a pergunta de avaliação (até 1024) é longa demais.", "The farewell (up to 4096 characters) or the rating question (up to 1024) is too long."),
    ("err.invalid_transfer", "Escolha um setor ou uma pessoa para transferir.", "Choose a department or a person to transfer to."),
    ("err.invalid_url", "Informe um endereço completo, começando por https://.", "Enter a full address, starting with https://."),
    ("err.invalid_utc_offset", "O fuso horário deve ficar entre UTC−14 e UTC+14.", "The time zone must be between UTC−14 and UTC+14."),
    ("err.missing_secret", "Informe o token de acesso e o app secret.", "Enter the access token and the app secret."),
    ("err.not_inbound", "Só uma mensagem recebida pode ser marcada como lida.", "Only a received message can be marked as read."),
    ("err.person_required", "Só uma pessoa pode fazer isso (não um token de API).", "Only a person can do this (not an API token)."),
    ("err.phone_required", "Um contato novo precisa de telefone.", "A new contact needs a phone number."),
    ("err.same_contact", "Um contato não pode ser mesclado com ele mesmo.", "A contact cannot be merged into itself."),
    ("err.too_many_rows", "Linhas demais de uma vez: divida o arquivo em partes menores.", "Too many rows at once: split the file into smaller parts."),
    ("err.too_many_columns", "O arquivo tem colunas demais.", "The file has too many columns."),
    ("err.wrong_column_count", "Uma linha do arquivo tem um número de colunas diferente do cabeçalho.", "A row of the file has a different number of columns than the header."),
    ("err.unknown_agent", "Esta pessoa não existe ou está inativa nesta empresa.", "This person does not exist or is inactive in this company."),
    ("err.unknown_department", "Este setor não existe nesta empresa.", "This department does not exist in this company."),
    ("err.weak_password", "A senha deve ter de 10 a 256 caracteres.", "The password must have 10 to 256 characters."),
    ("err.webhook_url_forbidden", "Este endereço leva a uma rede interna (localhost, rede privada ou link-local). Só o administrador da plataforma pode permitir destinos em redes privadas para esta empresa.", "This address leads to an internal network (localhost, a private network or link-local). Only the platform admin can allow private-network destinations for this company."),
    ("err.wrong_password", "A senha atual está errada.", "The current password is wrong."),
    ("err.not_in_department", "Esta pessoa não faz parte do setor do atendimento.", "This person is not a member of the ticket's department."),
    ("err.ticket_closed", "Este atendimento está finalizado.", "This ticket is closed."),
    ("err.ticket_not_closed", "Este atendimento não está finalizado.", "This ticket is not closed."),
    ("err.already_assigned", "Outra pessoa já está neste atendimento.", "Someone else is already attending this ticket."),
    ("err.ticket_superseded", "Este contato já tem um atendimento em andamento neste número.", "This contact already has a ticket in progress on this number."),
    ("err.connection_exists", "Este número já está conectado.", "This number is already connected."),
    ("err.contact_has_tickets", "Este contato tem atendimentos: mescle-o com outro contato em vez de excluir.", "This contact has tickets: merge it into another contact instead."),
    ("err.delivery_not_replayable", "Só entregas que falharam podem ser reenviadas, e esta mudou enquanto isso: recarregue a página.", "Only failed deliveries can be replayed, and this one changed meanwhile: reload the page."),
    ("err.duplicate_message", "Esta mensagem já foi enviada.", "This message was sent already."),
    ("err.email_taken", "Este e-mail já tem uma conta nesta empresa.", "This e-mail already has an account in this company."),
    ("err.phone_or_email_required", "Informe o telefone ou o e-mail do contato.", "Enter the contact's phone or e-mail."),
    ("err.phone_taken", "Já existe um contato com este telefone.", "A contact with this phone number already exists."),
    ("err.shortcut_taken", "Já existe uma resposta rápida com este atalho.", "A quick reply with this shortcut already exists."),
    ("err.slug_taken", "Já existe uma empresa com este identificador.", "A company with this identifier already exists."),
    ("err.invalid_colour", "A cor deve ser como #2563eb.", "The colour must look like #2563eb."),
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
    ("conn.state.connecting", "Conectando", "Connecting"),
    ("conn.state.qr", "Aguardando leitura do QR", "Waiting for the QR to be scanned"),
    ("conn.state.connected", "Conectado", "Connected"),
    ("conn.state.disconnected", "Desconectado", "Disconnected"),
    ("conn.state.failed", "Falhou: reconecte", "Failed: reconnect it"),
    ("conn.state_since", "desde", "since"),
    ("conn.deactivate", "Desativar", "Deactivate"),
    ("conn.activate", "Reativar", "Reactivate"),
    ("conn.remove", "Remover", "Remove"),
    ("conn.remove_confirm", "Sim, remover esta conexão (o histórico de atendimentos fica)", "Yes, remove this connection (the ticket history stays)"),
    ("err.confirmation_required", "Marque a confirmação para remover a conexão.", "Tick the confirmation to remove the connection."),
    ("err.connection_inactive", "Esta conexão está desativada: reative-a em Conexões para enviar.", "This connection is deactivated: reactivate it under Connections to send."),
    ("conn.new", "Nova conexão WhatsApp Cloud API", "New WhatsApp Cloud API connection"),
    ("conn.rate", "Envios por segundo", "Sends per second"),
    ("conn.add", "Adicionar conexão", "Add a connection"),
    ("conn.kind.qr", "WhatsApp (QR Code)", "WhatsApp (QR Code)"),
    ("conn.kind.cloud", "WhatsApp Cloud API (oficial)", "WhatsApp Cloud API (official)"),
    (
        "conn.qr.intro",
        "Use o número que sua empresa já tem: crie a conexão e leia o QR Code com o celular, como no WhatsApp Web.",
        "Use the number your company already has: create the connection and scan the QR code with the phone, as with WhatsApp Web.",
    ),
    ("conn.qr.create", "Gerar QR Code", "Show the QR code"),
    (
        "conn.qr.unavailable",
        "Este servidor ainda não tem um gateway do WhatsApp Web. Peça ao operador para configurar gateway_url e gateway_api_key.",
        "This server has no WhatsApp Web gateway yet. Ask the operator to set gateway_url and gateway_api_key.",
    ),
    ("conn.qr.alt", "QR Code para conectar o WhatsApp", "QR code to connect WhatsApp"),
    ("conn.qr.step1", "Abra o WhatsApp no celular da empresa.", "Open WhatsApp on the company's phone."),
    (
        "conn.qr.step2",
        "Toque em Mais opções (⋮) ou Configurações › Aparelhos conectados › Conectar um aparelho.",
        "Tap More options (⋮) or Settings › Linked devices › Link a device.",
    ),
    (
        "conn.qr.step3",
        "Aponte a câmera para este código. Ele muda a cada poucos segundos; esta página se atualiza sozinha.",
        "Point the camera at this code. It changes every few seconds; this page updates itself.",
    ),
    ("conn.qr.pairing_phone", "Ou conecte com código: número do celular", "Or link with a code: the phone's number"),
    ("conn.qr.get_pairing_code", "Gerar código de pareamento", "Get a pairing code"),
    ("conn.qr.pairing_code", "Digite no celular o código:", "Type this code on the phone:"),
    ("conn.reconnect", "Reconectar", "Reconnect"),
    ("conn.disconnect", "Desconectar", "Disconnect"),
    ("msg.from_phone", "Celular", "Phone"),
    ("nav.departments", "Setores", "Departments"),
    ("nav.quick_replies", "Respostas rápidas", "Quick replies"),
    ("nav.settings", "Configurações", "Settings"),
    ("nav.automation", "Horários e regras", "Hours & rules"),
    ("nav.chatbot", "Chatbot", "Chatbot"),
    ("auto.edit_flow", "Editar o fluxo do chatbot →", "Edit the chatbot's flow →"),
    ("bot.off", "A automação está desligada: o chatbot não responde aos clientes até ligá-la em", "Automation is off: the chatbot does not answer customers until you switch it on in"),
    (
        "bot.help",
        "Monte o caminho que o cliente percorre: cada etapa envia uma mensagem, pergunta algo, oferece um menu, decide por uma condição, consulta um sistema ou passa para um atendente. Teste ao lado antes de salvar; quem já está no fluxo termina na versão em que começou.",
        "Build the path a customer follows: each step sends a message, asks something, offers a menu, decides by a condition, asks another system or hands over to a person. Test it alongside before saving; customers already in the flow finish on the version they started.",
    ),
    ("bot.steps", "Etapas do fluxo", "The flow's steps"),
    ("bot.start", "Começa em", "Starts at"),
    ("bot.new_step", "Nova etapa", "New step"),
    ("bot.add", "Adicionar", "Add"),
    ("bot.department_menu", "Criar menu com os setores", "Make a menu of the departments"),
    ("bot.json", "JSON do fluxo (importar e exportar)", "The flow's JSON (import and export)"),
    ("bot.json_help", "Cole aqui um fluxo exportado, ou copie este para outra empresa.", "Paste an exported flow here, or copy this one to another company."),
    ("bot.map", "Mapa do fluxo", "The flow's map"),
    ("bot.test", "Testar este fluxo", "Test this flow"),
    ("bot.test_help", "Converse como um cliente: nada é enviado nem gravado.", "Chat as a customer would: nothing is sent or stored."),
    ("bot.test_reply", "Sua resposta como cliente", "Your answer as the customer"),
    ("bot.test_send", "Enviar", "Send"),
    ("bot.test_restart", "Recomeçar", "Start over"),
    ("auto.enabled", "Automação ligada (saudação, ausência e chatbot)", "Automation on (greeting, away message and chatbot)"),
    (
        "auto.enabled_help",
        "Com o chatbot, novos atendimentos começam nele e vão para o setor escolhido pelo cliente.",
        "With a chatbot, new tickets start in it and go to the department the customer picks.",
    ),
    ("auto.hours", "Horário de atendimento", "Business hours"),
    ("auto.open_now", "aberto agora", "open now"),
    ("auto.closed_now", "fechado agora", "closed now"),
    (
        "auto.hours_help",
        "Intervalos por dia, como 08:00-12:00, 13:30-18:00. Dia vazio: fechado. Todos vazios: sempre aberto. Feriados nacionais fecham o dia.",
        "Intervals per day, such as 08:00-12:00, 13:30-18:00. An empty day is closed; all empty means always open. National holidays close the day.",
    ),
    ("auto.time_zone", "Fuso horário", "Time zone"),
    ("hours.mon", "Segunda", "Monday"),
    ("hours.tue", "Terça", "Tuesday"),
    ("hours.wed", "Quarta", "Wednesday"),
    ("hours.thu", "Quinta", "Thursday"),
    ("hours.fri", "Sexta", "Friday"),
    ("hours.sat", "Sábado", "Saturday"),
    ("hours.sun", "Domingo", "Sunday"),
    ("auto.holidays", "Pontos facultativos", "Optional holidays"),
    (
        "auto.holidays_help",
        "Os feriados nacionais (com a Sexta-feira Santa) já fecham o atendimento. Marque também:",
        "National holidays (Good Friday included) already close. Also close on:",
    ),
    ("auto.messages", "Mensagens automáticas", "Automatic messages"),
    ("auto.greeting", "Saudação (primeira mensagem de um novo atendimento)", "Greeting (a new ticket's first message)"),
    ("auto.away", "Mensagem de ausência (fora do horário)", "Away message (outside business hours)"),
    ("auto.variables", "Use {{nome}}, {{telefone}} e {{email}} do contato.", "Use the contact's {{nome}}, {{telefone}} and {{email}}."),
    ("auto.flow", "Chatbot", "Chatbot"),
    (
        "auto.flow_help",
        "Regras que valem em qualquer ponto do chatbot: palavras que passam o atendimento a uma pessoa na hora, com prioridade alta, e um limite de mensagens no chatbot.",
        "Rules that apply anywhere in the chatbot: words that hand the ticket to a person at once, with high priority, and a limit of messages in the chatbot.",
    ),
    (
        "auto.urgent_words",
        "Palavras que passam direto para um atendente, com prioridade alta",
        "Words that go straight to a person, with high priority",
    ),
    (
        "auto.handoff_after",
        "Passar para um atendente após quantas mensagens no chatbot (0: nunca)",
        "Hand over to a person after how many messages in the chatbot (0: never)",
    ),
    ("err.invalid_handoff_after", "Informe de 0 a 100 mensagens.", "Give 0 to 100 messages."),
    ("auto.next_closures", "Próximos feriados e fechamentos (12 meses)", "Next holidays and closures (12 months)"),
    ("auto.date", "Data", "Date"),
    ("auto.closed_range", "Fechado", "Closed"),
    ("auto.all_day", "o dia todo", "all day"),
    ("auto.dates", "Datas da empresa", "The company's own dates"),
    (
        "auto.dates_help",
        "Feriados estaduais e municipais, recessos e fechamentos: uma data por linha, como 25/01/2027 Aniversário da cidade, ou 24/12/2027 12:00-18:00 Véspera (fechado só nesse horário).",
        "State and city holidays, breaks and closures: one date per line, such as 25/01/2027 City anniversary, or 24/12/2027 12:00-18:00 Eve (closed in those hours only).",
    ),
    ("auto.save_dates", "Salvar datas", "Save dates"),
    ("auto.rules", "Regras de tempo", "Timed rules"),
    (
        "auto.rules_help",
        "Por setor: encerrar atendimentos em que o cliente não respondeu à última mensagem da empresa, e transferir atendimentos que ninguém pegou. Deixe 0 para desligar. Valem mesmo com a automação desligada.",
        "Per department: close tickets whose customer did not answer the business's last message, and move tickets nobody took. Leave 0 to switch off. They apply even with automation off.",
    ),
    ("auto.rule_department", "Setor", "Department"),
    ("auto.no_department", "Sem setor (inclui o chatbot)", "No department (the chatbot's included)"),
    ("auto.close_after", "Encerrar sem resposta após (min)", "Close with no answer after (min)"),
    ("auto.close_message", "Mensagem ao encerrar", "Message on closing"),
    ("auto.transfer_after", "Transferir sem atendimento após (min)", "Transfer when nobody took it after (min)"),
    ("auto.transfer_to", "Para o setor", "To department"),
    ("auto.save_rules", "Salvar regras", "Save rules"),
    ("err.invalid_dates", "Revise as datas: uma por linha, como 25/01/2027 Feriado municipal.", "Check the dates: one per line, such as 25/01/2027 City holiday."),
    ("err.invalid_rule", "Uma regra por setor.", "One rule per department."),
    ("err.invalid_minutes", "Informe de 0 a 43200 minutos (30 dias).", "Give 0 to 43200 minutes (30 days)."),
    ("err.invalid_time_zone", "Escolha um fuso horário como America/Sao_Paulo.", "Choose a time zone such as America/Sao_Paulo."),
    ("err.invalid_hours", "Horário inválido: use intervalos como 08:00-12:00, 13:30-18:00.", "Invalid hours: use intervals such as 08:00-12:00, 13:30-18:00."),
    ("err.invalid_flow", "O fluxo do chatbot tem problemas: confira o JSON e os nós indicados.", "The chatbot flow has problems: check the JSON and the nodes named."),
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
    ("nav.skip", "Pular para o conteúdo", "Skip to content"),
    ("nav.collapse", "Recolher menu", "Collapse menu"),
    ("nav.expand", "Expandir menu", "Expand menu"),
    ("nav.api", "API", "API"),
    ("nav.group.service", "Atendimento", "Service"),
    ("nav.group.manage", "Gestão", "Management"),
    ("nav.group.integrations", "Integrações", "Integrations"),
    ("nav.group.account", "Conta", "Account"),
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

    /// The stable codes the actions (and pages) raise, read from their source:
    /// `invalid("code"` and `code: "code"`.
    fn raised_codes() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        // The actions, and the pages that raise codes of their own, with
        // their directory modules.
        let mut dirs = vec![root.join("actions"), root.join("http/web")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        let mut codes = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for marker in ["invalid(", "code: \""] {
                for (at, _) in text.match_indices(marker) {
                    let rest = text[at + marker.len()..].trim_start();
                    let rest = rest.strip_prefix('"').unwrap_or(rest);
                    let code: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                    let whole = rest[code.len()..].starts_with('"');
                    if whole && code.contains('_') {
                        codes.push(code);
                    }
                }
            }
        }
        use crate::domain::inbox::RuleError;
        codes.extend(
            [RuleError::TicketClosed, RuleError::NotClosed, RuleError::AlreadyAssigned].map(|e| e.code().to_string()),
        );
        codes.sort();
        codes.dedup();
        codes
    }

    #[test]
    fn every_action_error_code_reads_in_both_languages() {
        let codes = raised_codes();
        assert!(codes.len() > 50, "{codes:?}");
        let missing: Vec<_> = codes
            .iter()
            .filter(|c| !TEXTS.iter().any(|(k, _, _)| k.strip_prefix("err.") == Some(c.as_str())))
            .collect();
        assert!(missing.is_empty(), "add pt-BR and English texts for err.{missing:?}");
    }
}
