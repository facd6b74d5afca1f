//! Chat interno: conversations between people of a company — direct (two people, one
//! conversation per pair) and groups (anyone creates one; its creator and the company's admins
//! rename it and choose its members; a member may leave). Only active members read or write a
//! conversation: anyone else, and another company, gets "not found". Live events go to the
//! members only (one event per member, audience `user:<id>`).

mod messages;

pub use messages::*;

use super::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::chat::{self as rules, Kind};
use crate::domain::{TenantId, UserId};
use crate::realtime::NewEvent;
use crate::store::chat::{Conversation, Listed};
use crate::store::users::User;
use crate::store::{self, Tx};

/// How many conversations a person's list shows.
pub const LIST_LIMIT: i64 = 200;

/// A conversation as one of its members sees it.
#[derive(Clone, Debug)]
pub struct Opened {
    pub conversation: Conversation,
    pub kind: Kind,
    /// The group's name, or the other person's in a direct conversation.
    pub title: String,
    pub members: Vec<(UserId, String)>,
    /// The reader's read mark (message id).
    pub last_read: i64,
    /// The reader may rename the group and choose its members.
    pub can_manage: bool,
}

/// The person acting, in `tenant`: chat is between people, so tokens and the operator have no
/// conversations; another company answers "not found".
fn person(actor: &Actor, tenant: TenantId) -> ActionResult<&User> {
    match actor {
        Actor::User(u) if u.tenant_id == tenant => Ok(u),
        Actor::User(_) => Err(ActionError::NotFound),
        _ => Err(ActionError::Forbidden),
    }
}

/// The conversation, if `actor` is an active member of it ("not found" otherwise).
async fn require_member(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<(User, Opened)> {
    let me = person(actor, tenant)?.clone();
    crate::actions::plans::require_feature(app, tenant, crate::domain::plans::Feature::Chat).await?;
    let reader = app.db.reader();
    let conversation = store::chat::get(reader, tenant, id).await?.ok_or(ActionError::NotFound)?;
    let last_read = store::chat::membership(reader, tenant, id, me.id).await?.ok_or(ActionError::NotFound)?;
    let members = store::chat::members(reader, tenant, id).await?;
    let kind = Kind::parse(&conversation.kind).unwrap_or(Kind::Group);
    let title = match kind {
        Kind::Group => conversation.name.clone(),
        Kind::Direct => match members.iter().find(|(u, _)| *u != me.id) {
            Some((_, name)) => name.clone(),
            // The other person was deactivated: still their name.
            None => other_name(app, tenant, me.id, id).await?,
        },
    };
    let can_manage = kind == Kind::Group && (conversation.created_by == me.id || me.role.can_manage_tenant());
    Ok((me, Opened { conversation, kind, title, members, last_read, can_manage }))
}

async fn other_name(app: &App, tenant: TenantId, me: UserId, id: i64) -> ActionResult<String> {
    Ok(store::chat::other_member_name(app.db.reader(), tenant, id, me).await?.unwrap_or_default())
}

/// Opens a conversation for its member (any other reader: "not found").
pub async fn open(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Opened> {
    Ok(require_member(app, actor, tenant, id).await?.1)
}

/// The person's conversations, most recent first, with unread counts.
pub async fn list(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<Listed>> {
    let me = person(actor, tenant)?;
    crate::actions::plans::require_feature(app, tenant, crate::domain::plans::Feature::Chat).await?;
    Ok(store::chat::list_for(app.db.reader(), tenant, me.id, LIST_LIMIT).await?)
}

/// Messages of others the person has not read yet, in all their conversations (the sidebar's
/// badge).
pub async fn unread_total(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<i64> {
    let me = person(actor, tenant)?;
    Ok(store::chat::unread_total(app.db.reader(), tenant, me.id).await?)
}

/// The company's active people other than the actor (id, name): whom to talk to.
pub async fn people(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<(UserId, String)>> {
    let me = person(actor, tenant)?;
    let all = store::chat::people(app.db.reader(), tenant).await?;
    Ok(all.into_iter().filter(|(u, _)| *u != me.id).collect())
}

/// Checks that every id is an active person of the company; returns them once each.
async fn active_people(app: &App, tenant: TenantId, ids: &[UserId]) -> ActionResult<Vec<UserId>> {
    let people = store::chat::people(app.db.reader(), tenant).await?;
    let mut out = Vec::new();
    for id in ids {
        if !people.iter().any(|(u, _)| u == id) {
            return Err(ActionError::invalid("unknown_agent", "this person does not exist or is inactive here"));
        }
        if !out.contains(id) {
            out.push(*id);
        }
    }
    Ok(out)
}

/// One `kind` event per person of `to`, with the same data.
pub(crate) fn events_for(
    tenant: TenantId,
    kind: &'static str,
    to: &[UserId],
    data: serde_json::Value,
) -> Vec<NewEvent> {
    to.iter().map(|u| NewEvent { tenant, kind, audience: Audience::User(*u), data: data.clone() }).collect()
}

/// Records `chat.conversation` for `to` (a conversation created, renamed, or its members
/// changed: lists redraw; a removed member's page drops it).
async fn record_change(
    app: &App,
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    change: &str,
    to: &[UserId],
    now: i64,
) -> ActionResult<Vec<crate::store::events::StoredEvent>> {
    let data = serde_json::json!({ "conversation_id": id, "change": change });
    Ok(app.bus.record_many(tx, events_for(tenant, "chat.conversation", to, data), now).await?)
}

/// Audits a change to a group (created, renamed, members), in the caller's transaction.
async fn audit(
    tx: &mut Tx,
    tenant: TenantId,
    actor: &Actor,
    action: &str,
    id: i64,
    details: serde_json::Value,
    now: i64,
) -> ActionResult<()> {
    store::audit::record(&mut **tx, tenant, &actor.label(), action, &format!("chat:{id}"), &details, now).await?;
    Ok(())
}

/// The direct conversation between the actor and `other`: the existing one, or a new one.
pub async fn open_direct(app: &App, actor: &Actor, tenant: TenantId, other: UserId) -> ActionResult<i64> {
    let me = person(actor, tenant)?.clone();
    crate::actions::plans::require_feature(app, tenant, crate::domain::plans::Feature::Chat).await?;
    if other == me.id {
        return Err(ActionError::invalid("chat_self", "pick someone else to talk to"));
    }
    active_people(app, tenant, &[other]).await?;
    let key = rules::direct_key(me.id, other);
    if let Some(id) = store::chat::find_direct(app.db.reader(), tenant, &key).await? {
        return Ok(id);
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let id = match store::chat::insert_conversation(&mut *tx, tenant, Kind::Direct.as_str(), "", Some(&key), me.id, now)
        .await
    {
        Ok(id) => id,
        // Both started it at once: the other insert won.
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            return store::chat::find_direct(app.db.reader(), tenant, &key).await?.ok_or(ActionError::NotFound);
        }
        Err(e) => return Err(e.into()),
    };
    for u in [me.id, other] {
        store::chat::add_member(&mut tx, tenant, id, u, now).await?;
    }
    let events = record_change(app, &mut tx, tenant, id, "created", &[me.id, other], now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(id)
}

/// A new group named `name` with the actor and `members`.
pub async fn create_group(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    name: &str,
    members: &[UserId],
) -> ActionResult<i64> {
    let me = person(actor, tenant)?.clone();
    crate::actions::plans::require_feature(app, tenant, crate::domain::plans::Feature::Chat).await?;
    let name = rules::clean_name(name)
        .ok_or_else(|| ActionError::invalid("invalid_chat_name", "a group's name has 1 to 80 characters"))?;
    let mut everyone = vec![me.id];
    everyone.extend(active_people(app, tenant, members).await?.into_iter().filter(|u| *u != me.id));
    if everyone.len() > rules::MEMBERS_MAX {
        return Err(ActionError::invalid("too_many_members", "a group has at most 200 members"));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let id = store::chat::insert_conversation(&mut *tx, tenant, Kind::Group.as_str(), &name, None, me.id, now).await?;
    for u in &everyone {
        store::chat::add_member(&mut tx, tenant, id, *u, now).await?;
    }
    let ids: Vec<i64> = everyone.iter().map(|u| u.0).collect();
    audit(&mut tx, tenant, actor, "chat.group_created", id, serde_json::json!({ "name": name, "members": ids }), now)
        .await?;
    let events = record_change(app, &mut tx, tenant, id, "created", &everyone, now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(id)
}

/// The group, for one who may manage it: its creator or an admin of the company who is a
/// member (others: "forbidden"; non-members: "not found").
async fn require_manager(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Opened> {
    let (_, opened) = require_member(app, actor, tenant, id).await?;
    if opened.kind != Kind::Group {
        return Err(ActionError::invalid("not_a_group", "only a group has a name and members to choose"));
    }
    if !opened.can_manage {
        return Err(ActionError::Forbidden);
    }
    Ok(opened)
}

/// Renames a group.
pub async fn rename_group(app: &App, actor: &Actor, tenant: TenantId, id: i64, name: &str) -> ActionResult<()> {
    let opened = require_manager(app, actor, tenant, id).await?;
    let name = rules::clean_name(name)
        .ok_or_else(|| ActionError::invalid("invalid_chat_name", "a group's name has 1 to 80 characters"))?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::chat::rename(&mut *tx, tenant, id, &name).await?;
    let details = serde_json::json!({ "from": opened.conversation.name, "to": name });
    audit(&mut tx, tenant, actor, "chat.group_renamed", id, details, now).await?;
    let to: Vec<UserId> = opened.members.iter().map(|(u, _)| *u).collect();
    let events = record_change(app, &mut tx, tenant, id, "renamed", &to, now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(())
}

/// Adds people to a group.
pub async fn add_members(app: &App, actor: &Actor, tenant: TenantId, id: i64, users: &[UserId]) -> ActionResult<()> {
    let opened = require_manager(app, actor, tenant, id).await?;
    let users = active_people(app, tenant, users).await?;
    let mut to: Vec<UserId> = opened.members.iter().map(|(u, _)| *u).collect();
    let new: Vec<UserId> = users.into_iter().filter(|u| !to.contains(u)).collect();
    if new.is_empty() {
        return Ok(());
    }
    if to.len() + new.len() > rules::MEMBERS_MAX {
        return Err(ActionError::invalid("too_many_members", "a group has at most 200 members"));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    for u in &new {
        store::chat::add_member(&mut tx, tenant, id, *u, now).await?;
    }
    let added: Vec<i64> = new.iter().map(|u| u.0).collect();
    audit(&mut tx, tenant, actor, "chat.members_added", id, serde_json::json!({ "added": added }), now).await?;
    to.extend(new);
    let events = record_change(app, &mut tx, tenant, id, "members", &to, now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(())
}

/// Takes a person out of a group: a manager removes anyone, a member removes themselves
/// (leaves). The removed person loses the conversation at once.
pub async fn remove_member(app: &App, actor: &Actor, tenant: TenantId, id: i64, user: UserId) -> ActionResult<()> {
    let (me, opened) = require_member(app, actor, tenant, id).await?;
    if opened.kind != Kind::Group {
        return Err(ActionError::invalid("not_a_group", "only a group has a name and members to choose"));
    }
    if user != me.id && !opened.can_manage {
        return Err(ActionError::Forbidden);
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::chat::remove_member(&mut *tx, tenant, id, user).await? {
        return Err(ActionError::invalid("unknown_agent", "this person is not in the group"));
    }
    audit(&mut tx, tenant, actor, "chat.member_removed", id, serde_json::json!({ "removed": user.0 }), now).await?;
    // Everyone who was in it hears, the removed person included (their page drops it).
    let to: Vec<UserId> = opened.members.iter().map(|(u, _)| *u).collect();
    let events = record_change(app, &mut tx, tenant, id, "members", &to, now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(())
}
