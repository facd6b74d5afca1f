//! Queues the chatbot's automatic messages: choices as buttons, a list or numbered text.

use crate::actions::send::{queue_on_ticket, QueueMessage};
use crate::actions::ActionError;
use crate::app::App;
use crate::domain::flow::Say;
use crate::domain::outbound::{interactive_buttons, interactive_list, ListRow, OutboundContent};
use crate::store::tickets::Ticket;
use crate::store::{self, Tx};

/// Queues one automatic message: choices as buttons (up to three) or a list (up to ten) where
/// the channel renders them, else as numbered text.
pub(super) async fn say_it(
    app: &App,
    tx: &mut Tx,
    t: &Ticket,
    say: &Say,
    buttons: bool,
    now: i64,
    events: &mut Vec<store::events::StoredEvent>,
) -> anyhow::Result<()> {
    let content = match say {
        Say::Text(body) => OutboundContent::Text { body: body.clone(), preview_url: false },
        Say::Choices { prompt, options } if buttons => {
            let interactive = if options.len() <= 3 {
                let pairs: Vec<(String, String)> =
                    options.iter().enumerate().map(|(i, o)| (format!("opt-{}", i + 1), truncate(o, 20))).collect();
                interactive_buttons(prompt, &pairs)
            } else {
                let rows: Vec<ListRow> = options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| (format!("opt-{}", i + 1), truncate(o, 24), None))
                    .collect();
                interactive_list(prompt, "Ver opções", &[("Opções".to_string(), rows)])
            };
            match interactive {
                Ok(interactive) => OutboundContent::Interactive { interactive },
                Err(_) => numbered(prompt, options),
            }
        }
        Say::Choices { prompt, options } => numbered(prompt, options),
    };
    let m = QueueMessage {
        marketing: false,
        content,
        reply_to: None,
        idempotency_key: None,
        sender: None,
        sign: false,
        automatic: true,
    };
    match queue_on_ticket(app, tx, t, m, now, events).await {
        Ok(_) => Ok(()),
        // A connection switched off meanwhile: nothing to say through it.
        Err(ActionError::Invalid { code, .. }) => {
            tracing::info!(ticket.id = t.id, code, "an automatic message was not queued");
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!(e)),
    }
}

fn numbered(prompt: &str, options: &[String]) -> OutboundContent {
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    OutboundContent::Text { body: crate::domain::channel::numbered_choices(prompt, &options), preview_url: false }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
