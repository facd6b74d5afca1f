//! Tags are one ignoring case and accents: creating, renaming and free-text tags on contacts
//! all meet the same folded key, and the migration's key filling merges old duplicates.

use atende::actions::contacts::{self, ContactRow};
use atende::actions::{tags, ActionError, Actor};

use crate::engine_test;
use crate::support::TestApp;

fn code(e: ActionError) -> &'static str {
    match e {
        ActionError::Conflict { code, .. } => code,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

engine_test!(tag_names_are_unique_ignoring_case_and_accents, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let op = Actor::Operator;
    let promo = contacts::create_tag(&t.app, &op, demo, "Promoção", "#123456").await.unwrap();
    for twin in ["promocao", " PROMOÇÃO ", "Promocão"] {
        assert_eq!(code(contacts::create_tag(&t.app, &op, demo, twin, "#123456").await.unwrap_err()), "tag_exists");
    }
    let other = contacts::create_tag(&t.app, &op, demo, "Atacado", "#123456").await.unwrap();
    assert_eq!(
        code(tags::update_tag(&t.app, &op, demo, other.id, "PROMOCAO", "#123456").await.unwrap_err()),
        "tag_exists"
    );
    // Renaming a tag to another spelling of itself is fine.
    tags::update_tag(&t.app, &op, demo, promo.id, "PROMOÇÃO", "#123456").await.unwrap();
    // Another company keeps its own.
    let other_company = t.create_tenant("outra").await;
    contacts::create_tag(&t.app, &op, other_company, "promocao", "#123456").await.unwrap();

    // Free-text tags on a contact find the existing tag instead of creating a twin.
    let row = ContactRow {
        name: Some("Ana".into()),
        phone: Some("+55 11 91234-0001".into()),
        tags: vec!["promocao".into(), "Atacado".into(), "novo".into()],
        ..Default::default()
    };
    let c = contacts::create_contact(&t.app, &op, demo, &row, "test").await.unwrap();
    let detail = contacts::get_contact(&t.app, &op, demo, c.id).await.unwrap();
    let mut ids: Vec<i64> = detail.tags.iter().map(|g| g.id).collect();
    ids.sort();
    assert!(ids.contains(&promo.id) && ids.contains(&other.id) && ids.len() == 3, "{:?}", detail.tags);
    assert_eq!(t.count("tags", &format!("tenant_id = {}", demo.0)).await, 3);
    t.stop().await;
});

engine_test!(filling_the_keys_merges_tags_that_differ_only_in_case_or_accents, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let op = Actor::Operator;
    let row = ContactRow { name: Some("Bia".into()), phone: Some("+55 11 91234-0002".into()), ..Default::default() };
    let c = contacts::create_contact(&t.app, &op, demo, &row, "test").await.unwrap();
    // Tags as an older release stored them: no key, twins allowed.
    let mut ids = Vec::new();
    for name in ["Vendas", "vendas", "VENDAS"] {
        let r = sqlx::query("INSERT INTO tags (tenant_id, name, created_at) VALUES ($1, $2, 1) RETURNING id")
            .bind(demo.0)
            .bind(name)
            .fetch_one(t.app.db.writer())
            .await
            .unwrap();
        ids.push(sqlx::Row::get::<i64, _>(&r, 0));
    }
    for tag in &ids[1..] {
        sqlx::query("INSERT INTO contact_tags (tenant_id, contact_id, tag_id, created_at) VALUES ($1, $2, $3, 1)")
            .bind(demo.0)
            .bind(c.id)
            .bind(tag)
            .execute(t.app.db.writer())
            .await
            .unwrap();
    }
    let mut conn = t.app.db.writer().acquire().await.unwrap();
    assert_eq!(atende::store::tags::fill_keys(&mut conn).await.unwrap(), 2);
    drop(conn);
    // The oldest stays, with the uses of both others (once), and a key.
    assert_eq!(t.count("tags", &format!("tenant_id = {} AND name_key = 'vendas'", demo.0)).await, 1);
    assert_eq!(t.count("tags", &format!("id IN ({}, {})", ids[1], ids[2])).await, 0);
    assert_eq!(t.count("contact_tags", &format!("contact_id = {} AND tag_id = {}", c.id, ids[0])).await, 1);
    assert_eq!(t.count("contact_tags", &format!("contact_id = {}", c.id)).await, 1);
    assert_eq!(code(contacts::create_tag(&t.app, &op, demo, "vendás", "#123456").await.unwrap_err()), "tag_exists");
    t.stop().await;
});
