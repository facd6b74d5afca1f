use super::*;

#[test]
fn map_texts_reaches_bodies_captions_and_template_parameter_texts_only() {
    let upper = |t: &str| t.to_uppercase();
    let mut text = OutboundContent::Text { body: "oi".into(), preview_url: false };
    text.map_texts(&upper);
    assert_eq!(text, OutboundContent::Text { body: "OI".into(), preview_url: false });
    let mut template = OutboundContent::Template {
        name: "pedido".into(),
        language: "pt_BR".into(),
        components: json!([{"type": "body", "parameters": [{"type": "text", "text": "ana"}]}]),
    };
    template.map_texts(&upper);
    let OutboundContent::Template { name, components, .. } = template else { unreachable!() };
    assert_eq!(name, "pedido", "the template's name is not a customer text");
    assert_eq!(components, json!([{"type": "body", "parameters": [{"type": "text", "text": "ANA"}]}]));
}

fn out(content: OutboundContent) -> Outbound {
    Outbound { content, reply_to: None }
}

#[test]
fn buttons_and_lists_give_their_choices_for_numbered_text() {
    let b = interactive_buttons("Escolha", &[("a".into(), "Vendas".into()), ("b".into(), "Suporte".into())]).unwrap();
    assert_eq!(interactive_choices(&b), Some(("Escolha".into(), vec!["Vendas".into(), "Suporte".into()])));
    let row: ListRow = ("r1".into(), "Boleto".into(), None);
    let l = interactive_list("Menu", "Ver", &[("Financeiro".into(), vec![row])]).unwrap();
    assert_eq!(interactive_choices(&l), Some(("Menu".into(), vec!["Boleto".into()])));
    assert_eq!(interactive_choices(&json!({"type": "cta_url"})), None);
}

#[test]
fn text_with_reply_to_is_built_as_meta_documents() {
    let mut m = out(OutboundContent::Text { body: "Olá!".into(), preview_url: false });
    m.reply_to = Some("wamid.IN1".into());
    assert_eq!(
        m.request_json("5511987654321".into(), None),
        json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"5511987654321",
               "type":"text","text":{"body":"Olá!","preview_url":false},"context":{"message_id":"wamid.IN1"}})
    );
}

#[test]
fn a_user_id_goes_as_recipient_and_callback_data_rides_along() {
    let m = out(OutboundContent::Text { body: "Oi".into(), preview_url: false });
    let j = m.request_json(Recipient::UserId("BR.1502576394655843"), Some(&callback_data(42)));
    assert_eq!(j["recipient"], "BR.1502576394655843");
    assert!(j.get("to").is_none(), "a user-id send names no phone: {j}");
    assert_eq!(j["biz_opaque_callback_data"], "atende:42");
    assert_eq!(parse_callback_data("atende:42"), Some(42));
    for other in ["atende:", "atende:-1", "other:42", "{\"a\":1}"] {
        assert_eq!(parse_callback_data(other), None, "{other}");
    }
    let long = "x".repeat(CALLBACK_DATA_MAX + 1);
    assert!(m.request_json("551".into(), Some(&long)).get("biz_opaque_callback_data").is_none());
}

#[test]
fn media_by_link_and_by_id_keep_only_the_fields_each_kind_takes() {
    let image = out(OutboundContent::Media {
        kind: MediaKind::Image,
        source: MediaSource::Link("https://x.test/a.jpg".into()),
        caption: Some("foto".into()),
        filename: Some("ignored.jpg".into()),
    });
    let j = image.request_json("551".into(), None);
    assert_eq!(j["type"], "image");
    assert_eq!(j["image"], json!({"link":"https://x.test/a.jpg","caption":"foto"}));
    let doc = out(OutboundContent::Media {
        kind: MediaKind::Document,
        source: MediaSource::Id("MID".into()),
        caption: None,
        filename: Some("boleto.pdf".into()),
    });
    assert_eq!(doc.request_json("551".into(), None)["document"], json!({"id":"MID","filename":"boleto.pdf"}));
    let audio = out(OutboundContent::Media {
        kind: MediaKind::Audio,
        source: MediaSource::Id("A".into()),
        caption: None,
        filename: None,
    });
    assert_eq!(audio.request_json("551".into(), None)["audio"], json!({"id":"A"}));
}

#[test]
fn templates_carry_language_and_components_only_when_given() {
    let components = template_body_parameters(&["Ana".into(), "42".into()]);
    let t = out(OutboundContent::Template { name: "pedido".into(), language: "pt_BR".into(), components });
    assert_eq!(
        t.request_json("551".into(), None)["template"],
        json!({"name":"pedido","language":{"code":"pt_BR"},"components":[{"type":"body","parameters":[
            {"type":"text","text":"Ana"},{"type":"text","text":"42"}]}]})
    );
    let bare = out(OutboundContent::Template { name: "oi".into(), language: "en_US".into(), components: Value::Null });
    assert_eq!(bare.request_json("551".into(), None)["template"], json!({"name":"oi","language":{"code":"en_US"}}));
    assert!(bare.content.allowed_outside_window());
}

#[test]
fn interactive_buttons_and_lists_follow_meta_shapes() {
    let b = interactive_buttons("Confirma?", &[("y".into(), "Sim".into()), ("n".into(), "Não".into())]).unwrap();
    let m = out(OutboundContent::Interactive { interactive: b });
    let j = m.request_json("551".into(), None);
    assert_eq!(j["type"], "interactive");
    assert_eq!(j["interactive"]["action"]["buttons"][1], json!({"type":"reply","reply":{"id":"n","title":"Não"}}));
    assert!(m.content.validate().is_ok());
    assert!(!m.content.allowed_outside_window());
    assert!(interactive_buttons("x", &[]).is_err());
    let l =
        interactive_list("Escolha", "Ver", &[("Planos".into(), vec![("p1".into(), "Básico".into(), None)])]).unwrap();
    assert_eq!(l["action"]["sections"][0]["rows"][0], json!({"id":"p1","title":"Básico"}));
}

#[test]
fn reactions_name_their_message_and_never_quote() {
    let mut m = out(OutboundContent::Reaction { to_provider_id: "wamid.X".into(), emoji: "👍".into() });
    m.reply_to = Some("wamid.X".into());
    let j = m.request_json("551".into(), None);
    assert_eq!(j["reaction"], json!({"message_id":"wamid.X","emoji":"👍"}));
    assert!(j.get("context").is_none());
}

#[test]
fn location_is_built_with_optional_fields() {
    let m =
        out(OutboundContent::Location { latitude: -23.5, longitude: -46.6, name: Some("Loja".into()), address: None });
    assert_eq!(
        m.request_json("551".into(), None)["location"],
        json!({"latitude":-23.5,"longitude":-46.6,"name":"Loja"})
    );
}

#[test]
fn validation_refuses_what_meta_would() {
    assert!(OutboundContent::Text { body: "  ".into(), preview_url: false }.validate().is_err());
    assert!(OutboundContent::Text { body: "x".repeat(4097), preview_url: false }.validate().is_err());
    let sticker_caption = OutboundContent::Media {
        kind: MediaKind::Sticker,
        source: MediaSource::Id("S".into()),
        caption: Some("no".into()),
        filename: None,
    };
    assert!(sticker_caption.validate().is_err());
    let ftp = OutboundContent::Media {
        kind: MediaKind::Image,
        source: MediaSource::Link("ftp://x".into()),
        caption: None,
        filename: None,
    };
    assert!(ftp.validate().is_err());
    assert!(OutboundContent::Template { name: "".into(), language: "pt_BR".into(), components: Value::Null }
        .validate()
        .is_err());
    assert!(OutboundContent::Interactive { interactive: json!({"type":"button"}) }.validate().is_err());
}

#[test]
fn content_round_trips_through_its_stored_json() {
    let m = Outbound {
        content: OutboundContent::Media {
            kind: MediaKind::Video,
            source: MediaSource::Stored { sha256: "ab".repeat(32), mime: "video/mp4".into() },
            caption: None,
            filename: None,
        },
        reply_to: Some("wamid.Q".into()),
    };
    let text = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<Outbound>(&text).unwrap(), m);
}
