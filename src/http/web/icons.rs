//! The shell's icons: small inline SVGs drawn for Atende (24-unit grid, 2-unit strokes in the
//! text colour), so no icon font, emoji font or extra request is needed. Decorative: every icon
//! sits next to a text label, so screen readers skip it.

macro_rules! icon {
    ($name:ident, $paths:literal) => {
        pub const $name: &str = concat!(
            r#"<svg class="icon" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">"#,
            $paths,
            "</svg>"
        );
    };
}

// A circle with a moon inside: the person's status (online / away).
icon!(STATUS, r#"<circle cx="12" cy="12" r="9"/><path d="M14 7a5 5 0 1 0 3 8 4 4 0 0 1-3-8z"/>"#);
// A calendar with a clock hand: scheduled messages.
icon!(CALENDAR, r#"<rect x="3" y="5" width="18" height="16" rx="2"/><path d="M3 10h18M8 3v4M16 3v4M12 13v3l2 1"/>"#);
// A house: the start page.
icon!(HOME, r#"<path d="M3 11 12 4l9 7"/><path d="M5 10v10h5v-6h4v6h5V10"/>"#);
// Two speech bubbles: conversations with customers.
icon!(INBOX, r#"<path d="M4 5h12v8H9l-4 3v-3H4z"/><path d="M19 9h1v8h-1v3l-4-3h-5v-2"/>"#);
// An address card.
icon!(
    CONTACTS,
    r#"<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="11" r="2.5"/><path d="M5.5 17c.7-2 2-3 3.5-3s2.8 1 3.5 3"/><path d="M15 9h3M15 13h3"/>"#
);
// A tree of boxes: teams a ticket is routed to.
icon!(
    DEPARTMENTS,
    r#"<rect x="9" y="3" width="6" height="5" rx="1"/><rect x="3" y="16" width="6" height="5" rx="1"/><rect x="15" y="16" width="6" height="5" rx="1"/><path d="M12 8v4M6 16v-4h12v4"/>"#
);
// Two people.
icon!(
    USERS,
    r#"<circle cx="9" cy="8" r="3"/><path d="M3 20c0-3.3 2.7-6 6-6s6 2.7 6 6"/><path d="M16 5a3 3 0 0 1 0 6"/><path d="M18 14c1.8.8 3 2.8 3 5"/>"#
);
// A phone handset: the WhatsApp numbers.
icon!(
    CONNECTIONS,
    r#"<path d="M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a1 1 0 0 1-1 1A16 16 0 0 1 4 5a1 1 0 0 1 1-1z"/>"#
);
// A lightning bolt: answers at hand.
icon!(QUICK_REPLIES, r#"<path d="M13 3 5 14h6l-1 7 8-11h-6z"/>"#);
// A price tag.
icon!(TAGS, r#"<path d="M3 12V4h8l10 10-8 8z"/><circle cx="7.5" cy="8.5" r="1.5"/>"#);
// Three columns of cards: the kanban board.
icon!(
    KANBAN,
    r#"<rect x="3" y="4" width="5" height="16" rx="1"/><rect x="10" y="4" width="5" height="10" rx="1"/><rect x="17" y="4" width="4" height="13" rx="1"/>"#
);
// A page with a stamp of approval: message templates WhatsApp approved.
icon!(TEMPLATES, r#"<path d="M6 3h9l4 4v14H6z"/><path d="M9 9h6M9 13h4"/><path d="m10 17 1.5 1.5L15 15"/>"#);
icon!(CAMPAIGNS, r#"<path d="M3 10v4h3l6 4V6L6 10z"/><path d="M16 9a4 4 0 0 1 0 6M19 6a8 8 0 0 1 0 12"/>"#);
// Angle brackets: the programming interface.
icon!(API, r#"<path d="m8 7-5 5 5 5M16 7l5 5-5 5M14 4l-4 16"/>"#);
// Three linked nodes: events sent out.
icon!(
    WEBHOOKS,
    r#"<circle cx="6" cy="12" r="2.5"/><circle cx="18" cy="6" r="2.5"/><circle cx="18" cy="18" r="2.5"/><path d="m8.3 10.8 7.4-3.6M8.3 13.2l7.4 3.6"/>"#
);
// Sliders: settings.
icon!(
    SETTINGS,
    r#"<path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0"/><circle cx="16" cy="6" r="2"/><circle cx="10" cy="12" r="2"/><circle cx="18" cy="18" r="2"/>"#
);
// An office building: the companies of the platform.
icon!(TENANTS, r#"<path d="M4 21V4h10v17M14 9h6v12M3 21h18"/><path d="M8 8h2M8 12h2M8 16h2M17 13h0M17 17h0"/>"#);
// Stacked layers: plans and what each includes.
icon!(PLANS, r#"<path d="M12 3 3 8l9 5 9-5z"/><path d="M3 13l9 5 9-5"/><path d="M3 17.5l9 5 9-5"/>"#);
// Three lines: opens the menu on a phone.
icon!(MENU, r#"<path d="M4 6h16M4 12h16M4 18h16"/>"#);
// A double chevron: folds the sidebar to its icons.
icon!(COLLAPSE, r#"<path d="m11 17-5-5 5-5M18 17l-5-5 5-5"/>"#);
// A person in a circle: one's own account.
icon!(
    ACCOUNT,
    r#"<circle cx="12" cy="12" r="9"/><circle cx="12" cy="10" r="3"/><path d="M6.5 18.5c1.2-2 3.2-3 5.5-3s4.3 1 5.5 3"/>"#
);
// An arrow leaving a door.
icon!(LOGOUT, r#"<path d="M14 4h5v16h-5"/><path d="M10 8l-4 4 4 4M6 12h10"/>"#);
// A tick: a step that is done.
icon!(CHECK, r#"<path d="m5 12.5 4.5 4.5L19 7.5"/>"#);
// Atende's mark: a speech bubble with a tick.
icon!(BRAND, r#"<path d="M4 5h16v11H10l-5 4v-4H4z"/><path d="m8.5 10.5 2.5 2.5 4.5-4.5"/>"#);

// A robot's head: the chatbot and business hours.
icon!(
    AUTOMATION,
    r#"<rect x="4" y="8" width="16" height="11" rx="2"/><path d="M12 4v4"/><circle cx="12" cy="3.5" r="1"/><circle cx="9" cy="13" r="1.2"/><circle cx="15" cy="13" r="1.2"/><path d="M9.5 16.5h5"/>"#
);
// A clock: business hours and timed rules.
icon!(CHART, r#"<path d="M4 20V4M4 20h16"/><path d="M8 16v-5M12 16V8M16 16v-3M20 16V6"/>"#);

icon!(CLOCK, r#"<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>"#);
// A paper clip: attach a file, or a document received.
icon!(ATTACH, r#"<path d="m20 11-8.5 8.5a5 5 0 0 1-7-7L13 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L14 7"/>"#);
// A microphone: record a voice note.
icon!(MIC, r#"<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/>"#);
// A square: stop recording.
icon!(STOP, r#"<rect x="6" y="6" width="12" height="12" rx="1"/>"#);
// A framed landscape: a picture.
icon!(
    IMAGE,
    r#"<rect x="3" y="5" width="18" height="14" rx="2"/><circle cx="9" cy="10" r="1.5"/><path d="m21 16-5-5-9 8"/>"#
);
// A speaker with sound waves: a voice note or audio file.
icon!(AUDIO, r#"<path d="M4 10v4h4l5 4V6L8 10z"/><path d="M16 9a4 4 0 0 1 0 6M18.5 6.5a7.5 7.5 0 0 1 0 11"/>"#);
// A film camera: a video.
icon!(VIDEO, r#"<rect x="3" y="6" width="12" height="12" rx="2"/><path d="m15 10 6-3v10l-6-3z"/>"#);
// A sheet with a folded corner: a document.
icon!(DOCUMENT, r#"<path d="M6 3h8l4 4v14H6z"/><path d="M14 3v4h4M9 12h6M9 16h6"/>"#);
// A smiling face: a sticker.
icon!(STICKER, r#"<circle cx="12" cy="12" r="9"/><path d="M8.5 14.5a4 4 0 0 0 7 0"/><path d="M9 9.5h0M15 9.5h0"/>"#);
// A map pin: a location.
icon!(
    LOCATION,
    r#"<path d="M12 21s-7-6.2-7-11.5a7 7 0 0 1 14 0C19 14.8 12 21 12 21z"/><circle cx="12" cy="9.5" r="2.5"/>"#
);
// A person: a shared contact card.
icon!(PERSON, r#"<circle cx="12" cy="8" r="4"/><path d="M4 21c0-4.4 3.6-8 8-8s8 3.6 8 8"/>"#);
// A curved arrow back: reply to a message.
icon!(REPLY, r#"<path d="M10 7 5 12l5 5"/><path d="M5 12h9a5 5 0 0 1 5 5v2"/>"#);
// A cross: remove, cancel.
icon!(CLOSE, r#"<path d="M6 6l12 12M18 6 6 18"/>"#);
// Two opposite arrows: hand a ticket to someone else.
icon!(TRANSFER, r#"<path d="M4 8h14l-3-3M20 16H6l3 3"/>"#);
// A tick in a circle: finish a ticket.
icon!(FINISH, r#"<circle cx="12" cy="12" r="9"/><path d="m8 12.5 3 3 5-6"/>"#);
// A hand-drawn clock face without hands' detail: waiting to be sent.
icon!(PENDING, r#"<circle cx="12" cy="12" r="8"/><path d="M12 8v4l2.5 1.5"/>"#);
// A warning triangle: a failed send.
icon!(WARNING, r#"<path d="M12 4 2.5 20h19z"/><path d="M12 10v4M12 17h0"/>"#);
// A bell: notifications.
icon!(BELL, r#"<path d="M6 16V11a6 6 0 0 1 12 0v5l1.5 2h-15z"/><path d="M10 20a2 2 0 0 0 4 0"/>"#);

/// An icon by name, for templates (unknown names draw nothing). The names are ours, never
/// user data, so the markup is safe to insert unescaped.
pub fn named(name: &str) -> &'static str {
    match name {
        "menu" => MENU,
        "collapse" => COLLAPSE,
        "account" => ACCOUNT,
        "logout" => LOGOUT,
        "status" => STATUS,
        "brand" => BRAND,
        "check" => CHECK,
        "attach" => ATTACH,
        "mic" => MIC,
        "stop" => STOP,
        "image" => IMAGE,
        "audio" => AUDIO,
        "video" => VIDEO,
        "document" => DOCUMENT,
        "sticker" => STICKER,
        "location" => LOCATION,
        "person" => PERSON,
        "reply" => REPLY,
        "close" => CLOSE,
        "transfer" => TRANSFER,
        "finish" => FINISH,
        "pending" => PENDING,
        "warning" => WARNING,
        "bell" => BELL,
        "quick" => QUICK_REPLIES,
        _ => "",
    }
}

/// The icon of a message kind (media, location, contact card); `""` for text and the rest.
pub fn for_kind(kind: &str) -> &'static str {
    match kind {
        "image" => IMAGE,
        "audio" | "voice" => AUDIO,
        "video" => VIDEO,
        "document" => DOCUMENT,
        "sticker" => STICKER,
        "location" => LOCATION,
        "contacts" | "contact" => PERSON,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn icons_are_whole_decorative_svgs() {
        for icon in [super::HOME, super::INBOX, super::SETTINGS, super::BRAND, super::ATTACH, super::named("finish")] {
            assert!(icon.starts_with("<svg") && icon.ends_with("</svg>"));
            assert!(icon.contains(r#"aria-hidden="true""#));
        }
        assert_eq!(super::named("nope"), "");
        assert_eq!(super::for_kind("text"), "");
        assert_eq!(super::for_kind("voice"), super::AUDIO);
    }
}
