//! The kinds of durable jobs, named once: the actions that enqueue a job and the runner that
//! dispatches it both read them from here (so no layer reaches up to name another's job).

/// Every job kind the runner knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// `atende admin job diagnostic`: an end-to-end check of the queue.
    Diagnostic,
    /// Periodic purge of expired rows.
    Purge,
    /// Send one queued message through its connection's provider.
    Send,
    /// Tell WhatsApp a customer's messages were read.
    MarkRead,
    /// Download a received message's media file.
    FetchMedia,
    /// Deliver one outgoing webhook.
    DeliverWebhook,
    /// Bring a dropped WhatsApp Web session back (with back-off).
    Reconnect,
    /// Greet, answer outside hours, or move the chatbot on, for one customer message.
    Automation,
    /// A paced pass of the companies' timed rules (auto-close, auto-transfer).
    TimedRules,
    /// A chatbot's timed wait is over: move the ticket's flow on.
    Wake,
    /// Thank a customer who answered the rating question.
    CsatThanks,
    /// Send one of the server's own e-mails (password reset, invitation).
    Mail,
    /// Confirm to a customer, once, that their opt-out / opt-in keyword took effect.
    ConsentReply,
    /// Sync message templates from Graph: one connection on demand, or a paced pass of all.
    TemplateSync,
    /// Judge every company's Painel alerts again and send what was raised or cleared.
    ReportAlerts,
    /// Recompute a company's roll-ups after its business hours, holidays or time zone changed.
    ReportsRebuild,
    /// Send a company's due scheduled messages (each occurrence once).
    Schedules,
    /// Send a running campaign's next recipients at its pace (one run per campaign at a time).
    Campaigns,
    /// Time new tickets against their SLA, resume clocks the customer restarted, raise alerts.
    SlaScan,
    /// Delete audit entries older than each company's retention (daily).
    AuditRetention,
    /// Remind assignees of tasks whose early reminder or due time came (each reminder once).
    TaskReminders,
    /// Remove the content of conversations older than each company's retention (paced, hourly).
    Retention,
}

impl JobKind {
    pub const ALL: [JobKind; 22] = [
        JobKind::Diagnostic,
        JobKind::Purge,
        JobKind::Send,
        JobKind::MarkRead,
        JobKind::FetchMedia,
        JobKind::DeliverWebhook,
        JobKind::Reconnect,
        JobKind::Automation,
        JobKind::TimedRules,
        JobKind::Wake,
        JobKind::CsatThanks,
        JobKind::Mail,
        JobKind::ConsentReply,
        JobKind::TemplateSync,
        JobKind::ReportAlerts,
        JobKind::ReportsRebuild,
        JobKind::Schedules,
        JobKind::Campaigns,
        JobKind::SlaScan,
        JobKind::AuditRetention,
        JobKind::TaskReminders,
        JobKind::Retention,
    ];

    /// The name stored in `jobs.kind` (stable: rows outlive releases).
    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::Diagnostic => "diagnostic.marker",
            JobKind::Purge => "maintenance.purge",
            JobKind::Send => "whatsapp.send",
            JobKind::MarkRead => "whatsapp.mark_read",
            JobKind::FetchMedia => "whatsapp.fetch_media",
            JobKind::DeliverWebhook => "webhook.deliver",
            JobKind::Reconnect => "connection.reconnect",
            JobKind::Automation => "automation.inbound",
            JobKind::TimedRules => "automation.timed",
            JobKind::Wake => "automation.wake",
            JobKind::CsatThanks => "inbox.csat_thanks",
            JobKind::Mail => "mail.send",
            JobKind::ConsentReply => "contacts.consent_reply",
            JobKind::TemplateSync => "templates.sync",
            JobKind::ReportAlerts => "reports.alerts",
            JobKind::ReportsRebuild => "reports.rebuild",
            JobKind::Schedules => "schedules.due",
            JobKind::Campaigns => "campaigns.send",
            JobKind::SlaScan => "sla.scan",
            JobKind::AuditRetention => "audit.retention",
            JobKind::TaskReminders => "tasks.remind",
            JobKind::Retention => "lgpd.retention",
        }
    }

    pub fn parse(name: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_stored_name() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(JobKind::parse("whatsapp.nope"), None);
    }
}
