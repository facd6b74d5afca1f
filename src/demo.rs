//! Demo mode: `atende serve` with `demo = true` runs the WhatsApp simulator in-process and wires
//! the Demo company's connection to it, so a newcomer can write as a customer within a minute.

use std::net::SocketAddr;

use anyhow::Context;

use crate::actions::connections::{create_whatsapp_cloud, CreateWhatsappCloud};
use crate::actions::{bootstrap, ActionError, Actor};
use crate::app::App;

/// The simulated business number of the Demo company.
pub use crate::actions::home::DEMO_PHONE_NUMBER_ID;

/// Starts the simulator next to the server (`http_addr`) when demo mode is on and the Demo
/// company exists; creates its connection on first run and points it at this run's simulator.
pub async fn start_simulator(app: &App, http_addr: SocketAddr) -> anyhow::Result<Option<wa_sim::Simulator>> {
    if !app.settings.demo {
        return Ok(None);
    }
    let Some(tenant) = crate::store::tenants::find_by_slug(app.db.reader(), bootstrap::DEMO_SLUG).await? else {
        return Ok(None);
    };
    if let Err(e) = crate::actions::tasks::seed_demo(app, tenant.id).await {
        tracing::warn!(error = %e, "seeding the demo's sample tasks failed");
    }
    let existing = crate::store::connections::list(app.db.reader(), tenant.id)
        .await?
        .into_iter()
        .find(|c| c.phone_number_id == DEMO_PHONE_NUMBER_ID);
    let connection = match existing {
        Some(c) => c,
        None => {
            let input = CreateWhatsappCloud {
                name: "WhatsApp (simulador)",
                phone_number_id: DEMO_PHONE_NUMBER_ID,
                waba_id: "200000000000001",
                access_token: &crate::crypto::random_token(24),
                app_secret: &crate::crypto::random_token(24),
                graph_url: Some("http://127.0.0.1:9"),
                api_version: None,
                rate_per_sec: Some(80),
            };
            match create_whatsapp_cloud(app, &Actor::Operator, tenant.id, input).await {
                Ok(created) => created.connection,
                // Another instance starting at the same moment created it first.
                Err(ActionError::Conflict { .. }) => crate::store::connections::list(app.db.reader(), tenant.id)
                    .await?
                    .into_iter()
                    .find(|c| c.phone_number_id == DEMO_PHONE_NUMBER_ID)
                    .context("the demo connection vanished")?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    let (access_token, app_secret) = crate::actions::connections::secrets(app, &connection)?;
    let host = if http_addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { http_addr.ip().to_string() };
    let webhook_url = format!("http://{host}:{}/hooks/whatsapp/{}", http_addr.port(), connection.id);
    // Next to the server's port when free (a stable URL for the customer phone), else any port.
    let mut config = wa_sim::SimConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], http_addr.port().wrapping_add(1))),
        access_token: access_token.expose().to_string(),
        app_secret: app_secret.expose().to_string(),
        phone_number_id: DEMO_PHONE_NUMBER_ID.to_string(),
        webhook_url: Some(webhook_url),
        rate_per_sec: Some(80),
        ..wa_sim::SimConfig::default()
    };
    let simulator = match wa_sim::Simulator::start(config.clone()).await {
        Ok(s) => s,
        Err(_) => {
            config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
            wa_sim::Simulator::start(config).await.context("starting the WhatsApp simulator")?
        }
    };
    crate::store::connections::set_graph_url(app.db.writer(), tenant.id, connection.id, &simulator.base_url()).await?;
    Ok(Some(simulator))
}

/// In demo mode without a configured gateway, starts the built-in WhatsApp Web stand-in next to
/// the server (port + 2 when free) and points the settings at it, so "WhatsApp (QR Code)" works
/// out of the box: its page plays the phone that scans the QR.
pub async fn start_gateway(settings: &mut crate::config::Settings) -> anyhow::Result<Option<evo_sim::Gateway>> {
    if !settings.demo || settings.gateway_url.is_some() {
        return Ok(None);
    }
    let mut config = evo_sim::GatewayConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], settings.listen.port().wrapping_add(2))),
        api_key: crate::crypto::random_token(24),
        ..evo_sim::GatewayConfig::default()
    };
    let gateway = match evo_sim::Gateway::start(config.clone()).await {
        Ok(g) => g,
        Err(_) => {
            config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
            evo_sim::Gateway::start(config).await.context("starting the WhatsApp Web stand-in")?
        }
    };
    settings.gateway_url = Some(gateway.base_url());
    settings.gateway_api_key = Some(crate::config::Secret::new(gateway.api_key()));
    Ok(Some(gateway))
}

/// The Demo company's QR-code connection: created on first run, and on every later run its
/// instance is created again on this run's stand-in (which starts empty), so the QR is there to
/// scan.
pub async fn wire_qr_connection(app: &App) -> anyhow::Result<()> {
    let Some(tenant) = crate::store::tenants::find_by_slug(app.db.reader(), bootstrap::DEMO_SLUG).await? else {
        return Ok(());
    };
    let existing = crate::store::connections::list(app.db.reader(), tenant.id)
        .await?
        .into_iter()
        .find(|c| c.kind == crate::actions::qr_sessions::KIND);
    match existing {
        Some(c) => crate::actions::qr_sessions::recreate_instance(app, &c).await?,
        None => {
            crate::actions::qr_sessions::create(app, &Actor::Operator, tenant.id, "WhatsApp (QR Code)").await?;
        }
    }
    Ok(())
}

/// The Demo company's automation, on its first run in demo mode: departments Vendas, Suporte and
/// Financeiro (each with a greeting), hours 08–18 on weekdays, a greeting, an away message and
/// the menu that routes to them — so a newcomer's first message meets the chatbot.
pub async fn set_up_automation(app: &App) -> anyhow::Result<()> {
    let Some(tenant) = crate::store::tenants::find_by_slug(app.db.reader(), bootstrap::DEMO_SLUG).await? else {
        return Ok(());
    };
    let existing = crate::store::automation::get(app.db.reader(), tenant.id).await?;
    if existing.enabled
        || existing.chatbot_id.is_some()
        || !crate::store::departments::list(app.db.reader(), tenant.id).await?.is_empty()
    {
        return Ok(()); // set up before, or the company has its own already
    }
    let mut departments = Vec::new();
    for (name, colour) in [("Vendas", "#2563eb"), ("Suporte", "#0f766e"), ("Financeiro", "#b45309")] {
        let input = crate::actions::departments::DepartmentInput {
            name: name.into(),
            colour: colour.into(),
            greeting: format!("Você está falando com {name}. Um atendente já vai te responder."),
            sign_messages: false,
            distribution_mode: crate::domain::inbox::DistributionMode::Off,
        };
        let d = match crate::actions::departments::create_department(app, &Actor::Operator, tenant.id, input).await {
            Ok(d) => d,
            // Another instance on the same database is setting the demo up at this moment.
            Err(crate::actions::ActionError::Conflict { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        departments.push((d.id, d.name));
    }
    crate::actions::automation::set_up_demo(app, tenant.id, &departments).await
}

/// A draft campaign for the demo company, so "Campanhas" shows how one is written: two
/// variations to every contact with marketing consent, at a gentle pace, in business hours.
/// Left as a draft: starting it is the visitor's choice.
pub async fn set_up_campaign(app: &App) -> anyhow::Result<()> {
    let Some(tenant) = crate::store::tenants::find_by_slug(app.db.reader(), bootstrap::DEMO_SLUG).await? else {
        return Ok(());
    };
    if !crate::store::campaigns::list(app.db.reader(), tenant.id).await?.is_empty() {
        return Ok(());
    }
    let input = crate::actions::campaigns::CampaignInput {
        name: "Ofertas de dezembro".into(),
        variations: vec![
            "Olá, {{nome}}! Neste mês há 10% de desconto para você. Responda aqui para saber mais.".into(),
            "Oi, {{nome}}! Separamos uma oferta de dezembro para você: quer conhecer?".into(),
        ],
        all_contacts: true,
        rate_per_minute: Some(20),
        spacing_pct: Some(30),
        business_hours: true,
        ..Default::default()
    };
    match crate::actions::campaigns::create(app, &Actor::Operator, tenant.id, input).await {
        Ok(_) | Err(ActionError::Invalid { .. }) => Ok(()),
        Err(e) => Err(anyhow::anyhow!("creating the demo campaign: {e}")),
    }
}

/// The demo company's SLA: the house default (24–72 h by urgency and complexity, in business
/// hours), so tickets show their deadlines and the SLA page has something to edit. Only when the
/// company has no policy.
pub async fn set_up_sla(app: &App) -> anyhow::Result<()> {
    let Some(tenant) = crate::store::tenants::find_by_slug(app.db.reader(), bootstrap::DEMO_SLUG).await? else {
        return Ok(());
    };
    if !crate::store::sla::policies(app.db.reader(), tenant.id).await?.is_empty() {
        return Ok(());
    }
    let matrix = crate::domain::sla::Matrix::default_support();
    crate::actions::sla::save_policy(app, &Actor::Operator, tenant.id, None, &matrix)
        .await
        .map_err(|e| anyhow::anyhow!("setting up the demo SLA: {e}"))
}

/// A demo schedule (Agendamentos): every Monday at 09:00, within business hours, a check-in to a
/// sample contact, with the simulator's `atendimento_retorno` template (`{{1}}` = the contact's
/// name) for when the customer has not written in the last 24 hours. Needs the simulator's
/// template list, so it runs once the simulator answers; only when the company has no schedule.
pub async fn set_up_schedule(app: &App) -> anyhow::Result<()> {
    use crate::domain::schedules as rules;
    use chrono::Datelike;
    let Some(tenant) = crate::store::tenants::find_by_slug(app.db.reader(), bootstrap::DEMO_SLUG).await? else {
        return Ok(());
    };
    if !crate::store::schedules::list(app.db.reader(), tenant.id, None, 1).await?.is_empty() {
        return Ok(());
    }
    let connections = crate::store::connections::list(app.db.reader(), tenant.id).await?;
    let Some(connection) = connections.into_iter().find(|c| c.phone_number_id == DEMO_PHONE_NUMBER_ID) else {
        return Ok(());
    };
    let op = Actor::Operator;
    crate::actions::templates::sync_now(app, &op, tenant.id, connection.id).await?;
    let templates = crate::actions::templates::list(app, &op, tenant.id, Some(connection.id)).await?;
    let Some(retorno) = templates.into_iter().find(|t| t.template.name == "atendimento_retorno") else {
        return Ok(());
    };
    let mapping = [("1".to_string(), crate::domain::templates::ParamSource::Field("nome".into()))];
    crate::actions::templates::set_mapping(app, &op, tenant.id, retorno.template.id, mapping.into()).await?;
    let row = crate::actions::contacts::ContactRow {
        name: Some("Cliente Demo".into()),
        phone: Some("+5511987650000".into()),
        ..Default::default()
    };
    let contact = match crate::actions::contacts::create_contact(app, &op, tenant.id, &row, "demo").await {
        Ok(c) => c.id,
        Err(ActionError::Invalid { .. } | ActionError::Conflict { .. }) => return Ok(()),
        Err(e) => return Err(anyhow::anyhow!("creating the demo contact: {e}")),
    };
    // The sample contact is in the first person's Carteira: their tickets go to them when online.
    if let Some(owner) = crate::store::users::list(app.db.reader(), tenant.id).await?.into_iter().find(|u| u.active) {
        crate::actions::wallet::set_owner(app, &op, tenant.id, contact, Some(owner.id.0))
            .await
            .map_err(|e| anyhow::anyhow!("the demo wallet: {e}"))?;
    }
    let tz = chrono_tz::America::Sao_Paulo;
    let today = rules::local_of(tz, app.clock.now_ms()).context("the clock")?.date();
    let monday = (1..=7).map(|d| today + chrono::Days::new(d)).find(|d| d.weekday() == chrono::Weekday::Mon);
    let Some(monday) = monday else { return Ok(()) };
    let input = crate::actions::schedules::ScheduleInput {
        contact_id: Some(contact),
        connection_id: Some(connection.id),
        body: "Bom dia! Passando para saber se está tudo certo. Precisa de algo? É só responder.".into(),
        template_id: Some(retorno.template.id),
        recurrence: Some("weekly".into()),
        weekdays: vec!["mon".into()],
        start: format!("{}T09:00", monday.format("%Y-%m-%d")),
        business_hours: true,
        ..Default::default()
    };
    crate::actions::schedules::create(app, &op, tenant.id, input)
        .await
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("creating the demo schedule: {e}"))
}

/// The demo company's status page: three components, all operational, so "Status do serviço"
/// and `/status/demo` show what a page looks like. Only when the company has none.
pub async fn set_up_status_page(app: &App) -> anyhow::Result<()> {
    let Some(tenant) = crate::store::tenants::find_by_slug(app.db.reader(), bootstrap::DEMO_SLUG).await? else {
        return Ok(());
    };
    if crate::store::status_page::count_components(app.db.reader(), tenant.id).await? > 0 {
        return Ok(());
    }
    let components = [
        ("Atendimento WhatsApp", "Mensagens com a equipe pelo WhatsApp"),
        ("Site", "Loja e páginas públicas"),
        ("API", "Integrações e webhooks"),
    ];
    for (position, (name, description)) in components.into_iter().enumerate() {
        let input = crate::actions::status_page::ComponentInput {
            name: name.into(),
            description: description.into(),
            position: position as i64,
            state: "operational".into(),
        };
        crate::actions::status_page::create_component(app, &Actor::Operator, tenant.id, &input)
            .await
            .map_err(|e| anyhow::anyhow!("creating the demo status page: {e}"))?;
    }
    Ok(())
}

/// The demo company's kanban: four sales stages as lanes (tags placed on the board), so
/// "Kanban" shows columns to drag the demo's tickets through. Only when the board has none.
pub async fn set_up_kanban(app: &App) -> anyhow::Result<()> {
    let Some(tenant) = crate::store::tenants::find_by_slug(app.db.reader(), bootstrap::DEMO_SLUG).await? else {
        return Ok(());
    };
    if !crate::store::kanban::lanes(app.db.reader(), tenant.id).await?.is_empty() {
        return Ok(());
    }
    let op = Actor::Operator;
    let stages = [
        ("Novo contato", "#2563eb"),
        ("Em negociação", "#d97706"),
        ("Proposta enviada", "#7c3aed"),
        ("Fechado", "#0b7a5e"),
    ];
    let existing = crate::store::tags::list(app.db.reader(), tenant.id).await?;
    for (position, (name, colour)) in stages.into_iter().enumerate() {
        let id = match existing.iter().find(|t| t.name == name) {
            Some(t) => t.id,
            None => match crate::actions::contacts::create_tag(app, &op, tenant.id, name, colour).await {
                Ok(t) => t.id,
                // Another instance starting on the same database made it a moment ago.
                Err(ActionError::Conflict { .. }) => {
                    let tags = crate::store::tags::list(app.db.reader(), tenant.id).await?;
                    let Some(t) = tags.into_iter().find(|t| t.name == name) else { return Ok(()) };
                    t.id
                }
                Err(e) => return Err(anyhow::anyhow!("creating the demo lanes: {e}")),
            },
        };
        crate::actions::kanban::set_lane(app, &op, tenant.id, id, Some(position as i64 + 1))
            .await
            .map_err(|e| anyhow::anyhow!("placing the demo lanes: {e}"))?;
    }
    Ok(())
}

/// The demo company's team chat: a group "Equipe" with everyone of the company and a couple of
/// messages from its first admin, so "Chat interno" shows what a conversation looks like. Only
/// when that person has no conversation yet.
pub async fn set_up_chat(app: &App) -> anyhow::Result<()> {
    let Some(tenant) = crate::store::tenants::find_by_slug(app.db.reader(), bootstrap::DEMO_SLUG).await? else {
        return Ok(());
    };
    let people = crate::store::users::list(app.db.reader(), tenant.id).await?;
    let Some(admin) = people.iter().find(|u| u.active && u.role.can_manage_tenant()).cloned() else {
        return Ok(());
    };
    if !crate::store::chat::list_for(app.db.reader(), tenant.id, admin.id, 1).await?.is_empty() {
        return Ok(());
    }
    let actor = Actor::User(admin.clone());
    let others: Vec<_> = people.iter().filter(|u| u.active && u.id != admin.id).map(|u| u.id).collect();
    let failed = |e: ActionError| anyhow::anyhow!("the demo chat: {e}");
    let group = crate::actions::chat::create_group(app, &actor, tenant.id, "Equipe", &others).await.map_err(failed)?;
    for text in [
        "Bem-vindos ao chat interno da equipe! 👋",
        "Dica: escreva @nome para chamar alguém e #protocolo (ex.: #20261202-000123) para ligar um atendimento.",
    ] {
        crate::actions::chat::send(app, &actor, tenant.id, group, text, None).await.map_err(failed)?;
    }
    Ok(())
}

/// The platform's demo catalogue: "Básico" and "Profissional" (Whaticket's kind of plans), the
/// Demo company on Profissional, whose limits sit well above what the demo holds, so "Plano"
/// shows usage and the platform admin's pages show plans. Only when the platform has none.
pub async fn set_up_plans(app: &App) -> anyhow::Result<()> {
    let Some(tenant) = crate::store::tenants::find_by_slug(app.db.reader(), bootstrap::DEMO_SLUG).await? else {
        return Ok(());
    };
    if !crate::store::plans::list(app.db.reader()).await?.is_empty() {
        return Ok(());
    }
    let plan = |name: &str, price_cents, limits, features| crate::store::plans::PlanFields {
        name: name.into(),
        price_cents,
        period: "monthly".into(),
        limits,
        features,
        active: true,
    };
    let op = Actor::Operator;
    let created = async {
        crate::actions::plans::create(
            app,
            &op,
            plan(
                "Básico",
                9_900,
                [Some(1), Some(3), Some(2), Some(1), Some(0), Some(2_000), Some(1_024)],
                [false, false, true, true, false],
            ),
        )
        .await?;
        let pro = crate::actions::plans::create(
            app,
            &op,
            plan(
                "Profissional",
                29_900,
                [Some(5), Some(20), Some(10), Some(5), Some(20), Some(50_000), Some(10_240)],
                [true; 5],
            ),
        )
        .await?;
        crate::actions::plans::set_tenant_plan(app, &op, tenant.id, Some(pro.id)).await
    };
    match created.await {
        // Another instance starting on the same database made them a moment ago.
        Ok(()) | Err(ActionError::Conflict { .. }) => Ok(()),
        Err(e) => Err(anyhow::anyhow!("creating the demo plans: {e}")),
    }
}
