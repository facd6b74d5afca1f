//! One ticket's page: its messages, panel and actions, rendered whole or by part.

use super::*;

pub(super) struct Parts {
    messages_html: String,
    panel_html: String,
    actions_html: String,
    ticket: TicketView,
}

pub(super) async fn ticket_parts(p: &Page, lang: Lang, id: i64, q: &ListQuery) -> Result<Parts, ActionError> {
    let app = &*p.app;
    let actor = p.actor();
    let tenant = p.tenant();
    let detail = actions::inbox::get_ticket(app, &actor, tenant, id).await?;
    let before = q.before.trim().parse().ok();
    let (messages, more) = actions::inbox::list_messages(app, &actor, tenant, id, before, MESSAGES_PAGE).await?;
    let names = names(app, &actor, tenant).await;
    let now = app.clock.now_ms();
    let departments = actions::departments::list_departments(app, &actor, tenant).await?;
    let older_href = match (more, messages.first()) {
        (true, Some(first)) => Some(format!("/inbox/{id}?{}&before={}", q.list_qs(), first.id)),
        _ => None,
    };
    let (quoted, reactions) = actions::composer::message_links(app, tenant, id, &messages).await?;
    let tz = p.tz();
    let messages = message_views(lang, messages, &quoted, &reactions, &names, now, tz);
    let messages_html = MessagesFragment {
        lang,
        csrf: p.csrf.0.clone(),
        ticket_id: id,
        messages,
        older_href,
        emoji: actions::composer::REACTIONS,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    let history = detail.history.iter().map(|e| history_line(lang, e, &names, &departments, now, tz)).collect();
    let agents = if p.user.user.role.sees_whole_tenant() {
        let targets = actions::departments::transfer_targets(app, &actor, tenant).await.unwrap_or_default();
        targets
            .into_iter()
            .map(|(id, name, presence)| {
                (id, format!("{name} · {}", lang.t(crate::http::web::admin::presence_key(presence))))
            })
            .collect()
    } else {
        Vec::new()
    };
    let t = detail.ticket;
    let can_capture = matches!(t.status.as_str(), "waiting" | "bot");
    let all_tags = actions::contacts::list_tags(app, &actor, tenant).await?;
    let other_tags = all_tags.into_iter().filter(|g| !detail.tags.iter().any(|x| x.id == g.id)).collect();
    let farewell = actions::settings::get_settings(app, &actor, tenant).await?.farewell;
    let actions_html = ActionsFragment {
        lang,
        csrf: p.csrf.0.clone(),
        t: t.clone(),
        departments,
        agents,
        can_capture,
        has_farewell: !farewell.trim().is_empty(),
        farewell,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    let sla_html = sla::block_html(p, lang, &t).await?;
    let panel = PanelFragment {
        sla_html,
        viewers: viewers::others(p, t.id).await?,
        lang,
        csrf: p.csrf.0.clone(),
        created: short_time(t.created_at, now, tz),
        t: t.clone(),
        history,
        tags: detail.tags,
        other_tags,
        vault_html: vault::panel_html(p, lang, id).await,
        tasks_html: crate::http::web::tasks::ticket_panel_html(p, id).await,
    };
    let panel_html = panel.render().map_err(anyhow::Error::from)?;
    Ok(Parts { messages_html, panel_html, actions_html, ticket: t })
}

pub(super) async fn ticket_page(p: &Page, id: i64, q: &ListQuery, error: Option<(ActionError, String)>) -> Response {
    let app = &*p.app;
    let lang = p.lang();
    let actor = p.actor();
    let parts = match ticket_parts(p, lang, id, q).await {
        Ok(parts) => parts,
        Err(e) => return p.failure(&e),
    };
    // Opening a conversation reads it (unread badge, blue ticks for the customer).
    if let Err(e) = actions::inbox::mark_read(app, &actor, p.tenant(), id).await {
        tracing::warn!(error = %e, ticket.id = id, "mark read failed");
    }
    let has_quick_replies =
        !actions::quick_replies::list_quick_replies(app, &actor, p.tenant()).await.unwrap_or_default().is_empty();
    let now = app.clock.now_ms();
    let t = &parts.ticket;
    let kind = crate::store::connections::get(app.db.reader(), p.tenant(), t.connection_id).await.ok().flatten();
    let kind = kind.map(|c| c.kind).unwrap_or_default();
    let outside_window = !crate::domain::channel::free_form_allowed(&kind, t.last_inbound_at, now);
    let templates = if outside_window && t.status != "closed" {
        actions::templates::choices_for_ticket(app, &actor, p.tenant(), id).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let status = error.as_ref().map(|(e, _)| error_status(e));
    let (error, draft) = match error {
        Some((e, draft)) => (Some(error_message(lang, &e)), draft),
        None => (None, String::new()),
    };
    let conversation = Conversation {
        id,
        title: format!("{} · {}", t.contact_name, t.protocol.clone().unwrap_or_default()),
        status: t.status.clone(),
        messages_html: parts.messages_html,
        panel_html: parts.panel_html,
        actions_html: parts.actions_html,
        outside_window,
        templates,
        draft,
        error,
        has_quick_replies,
    };
    let response = page(p, q, Some(conversation)).await;
    match status {
        Some(s) => (s, response).into_response(),
        None => response,
    }
}

/// `GET /inbox/{ticket}`: the conversation (or, with `part=messages|panel`, only that part).
pub async fn show_ticket(p: Page, Path(id): Path<i64>, Query(q): Query<ListQuery>) -> Response {
    if q.part == "summary" {
        return summary(&p, id).await;
    }
    if matches!(q.part.as_str(), "messages" | "panel" | "actions") {
        let lang = p.lang();
        return match ticket_parts(&p, lang, id, &q).await {
            Ok(parts) => {
                if q.part == "messages" {
                    if let Err(e) = actions::inbox::mark_read(&p.app, &p.actor(), p.tenant(), id).await {
                        tracing::warn!(error = %e, ticket.id = id, "mark read failed");
                    }
                    Html(parts.messages_html).into_response()
                } else if q.part == "actions" {
                    Html(parts.actions_html).into_response()
                } else {
                    Html(parts.panel_html).into_response()
                }
            }
            Err(e) => fail(lang, &e),
        };
    }
    ticket_page(&p, id, &q, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_found_in_inbound_and_outbound_payloads() {
        let inbound = serde_json::json!({"type":"location","location":{"latitude":-23.5,"longitude":-46.6}});
        assert_eq!(find_location(&inbound), Some((-23.5, -46.6)));
        let outbound = serde_json::json!({"content":{"Location":{"latitude":1.0,"longitude":2.0}}});
        assert_eq!(find_location(&outbound), Some((1.0, 2.0)));
        assert_eq!(find_location(&serde_json::json!({})), None);
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(size_text(1), "1 KB");
        assert_eq!(size_text(3 * 1024 * 1024), "3.0 MB");
    }
}
