//! Saved contact filters: the contact list filtered by tag and consent, the filter saved by name
//! (a second with the same name refused), and a campaign whose audience is that filter reaching,
//! when it starts, exactly the contacts the filter matches then — including one that matched only
//! after the draft was saved. Another company's filter is unknown. SQLite and PostgreSQL.

use std::time::Duration;

use atende::actions::campaigns::{self, CampaignInput};
use atende::actions::Actor;
use atende::domain::{Role, TenantId};

use crate::campaigns::set_consent;
use crate::consent::{connected, customer_writes};
use crate::engine_test;
use crate::support::TestApp;

async fn tag(t: &TestApp, tenant: TenantId, contact: i64, tag: i64) {
    atende::actions::contacts::tag_contact(&t.app, &Actor::Operator, tenant, contact, tag, true).await.unwrap();
}

engine_test!(a_saved_filter_lists_contacts_and_is_a_campaign_audience, |t: TestApp| async move {
    let tenant = t.create_tenant("filtros").await;
    let (sim, _conn) = connected(&t, tenant).await;
    let vip =
        atende::actions::contacts::create_tag(&t.app, &Actor::Operator, tenant, "VIP", "#aa3300").await.unwrap().id;
    let (a, _) = customer_writes(&t, &sim, "5511944440001", "oi").await;
    let (b, _) = customer_writes(&t, &sim, "5511944440002", "oi").await;
    let (c, _) = customer_writes(&t, &sim, "5511944440003", "oi").await;
    let (d, _) = customer_writes(&t, &sim, "5511944440004", "oi").await;
    for (id, cons) in [(a, "marketing_opt_in"), (b, "marketing_opt_in"), (c, "opted_out"), (d, "marketing_opt_in")] {
        set_consent(&t, id, cons).await;
    }
    tag(&t, tenant, a, vip).await;
    tag(&t, tenant, c, vip).await;

    // The list filtered by tag and consent shows only the VIP who accepts marketing.
    t.create_user(tenant, "sup@filtros.test", Role::Supervisor, "senha-forte-123").await;
    let web = t.login("sup@filtros.test", "senha-forte-123", "filtros").await;
    let list = |q: String| {
        let web = web.clone();
        let url = t.url(&q);
        async move { web.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let html = list(format!("/contacts?tag={vip}&consent=marketing_opt_in")).await;
    assert!(html.contains(&format!("/contacts/{a}\"")), "{html}");
    for other in [b, c, d] {
        assert!(!html.contains(&format!("/contacts/{other}\"")), "contact {other} is not VIP with consent: {html}");
    }
    let csrf = t.csrf(&web).await;
    let save = |name: &'static str| {
        let (web, csrf) = (web.clone(), csrf.clone());
        let url = t.url("/contacts/filters");
        let vip = vip.to_string();
        async move {
            let form =
                [("csrf", csrf.as_str()), ("name", name), ("q", ""), ("tag", &vip), ("consent", "marketing_opt_in")];
            web.post(url).form(&form).send().await.unwrap()
        }
    };
    let r = save("VIP com consentimento").await;
    assert_eq!(r.status(), 303);
    let html = list("/contacts".into()).await;
    assert!(html.contains("VIP com consentimento"), "{html}");
    assert_eq!(save("VIP com consentimento").await.status(), 409);
    let filters = atende::actions::contact_filters::list(&t.app, &Actor::Operator, tenant).await.unwrap();
    assert_eq!(filters.len(), 1);
    let filter = filters[0].id;

    // A campaign to the filter: the draft is saved, then d becomes VIP; at the start the filter
    // is evaluated, so a and d receive it, b and c do not.
    let input = CampaignInput {
        name: "Só VIP".into(),
        variations: vec!["Oferta VIP".into()],
        filter_id: Some(filter),
        rate_per_minute: Some(1200),
        spacing_pct: Some(0),
        ..Default::default()
    };
    let draft = campaigns::create(&t.app, &Actor::Operator, tenant, input.clone()).await.unwrap();
    assert_eq!(draft.audience.filter_id, Some(filter));
    tag(&t, tenant, d, vip).await;
    let started = campaigns::command(&t.app, &Actor::Operator, tenant, draft.id, "start").await.unwrap();
    assert_eq!(started.total, 2, "{started:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let to: Vec<String> = sim
            .sent_messages()
            .into_iter()
            .filter(|m| m.request["text"]["body"] == "Oferta VIP")
            .map(|m| m.to)
            .collect();
        if to.len() >= 2 {
            let mut to = to;
            to.sort();
            assert_eq!(to, vec!["5511944440001".to_string(), "5511944440004".to_string()]);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "sent so far: {to:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Another company cannot name this filter.
    let other = t.create_tenant("filtros2").await;
    connected(&t, other).await;
    let e = campaigns::create(&t.app, &Actor::Operator, other, input).await.unwrap_err();
    assert_eq!(e.code(), "unknown_filter");
    t.stop().await;
});
