//! The connection life cycle of an instance: create, QR sessions and their rotation, scan,
//! connect (including the reconnects after a drop), disconnects, logout and delete.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{json, Value};

use super::{wait_all, Conn, Instance, Qr, Shared};
use crate::error::ApiError;
use crate::webhook::{Pending, WebhookConfig};
use crate::{ids, Disconnect};

/// What `POST /instance/create` asks for.
pub(crate) struct CreateParams {
    pub name: String,
    pub token: Option<String>,
    pub qrcode: bool,
    pub number: Option<String>,
    pub integration: String,
    /// `(url, byEvents, base64, events)`.
    pub webhook: Option<(String, bool, bool, Vec<String>)>,
}

impl Shared {
    /// Creates an instance; with `qrcode` it starts waiting for a scan at once.
    pub(crate) fn create(self: &Arc<Self>, p: CreateParams) -> Result<Value, ApiError> {
        let mut instances = self.lock();
        if instances.contains_key(&p.name) {
            return Err(ApiError::Forbidden(format!("This name \"{}\" is already in use.", p.name)));
        }
        let mut webhook = WebhookConfig::disabled();
        if let Some((url, by_events, base64, events)) = &p.webhook {
            webhook.set(!url.is_empty(), url.clone(), *by_events, *base64, events.clone());
        }
        let token = p.token.clone().filter(|t| !t.is_empty()).unwrap_or_else(ids::token);
        let mut inst = Instance {
            name: p.name.clone(),
            id: ids::uuid(),
            token: token.clone(),
            integration: p.integration.clone(),
            webhook,
            conn: Conn::Close,
            paired: false,
            session: 0,
            qr: None,
            failing_connects: 0,
            disconnection_reason: None,
            connect_calls: 0,
            sent: Vec::new(),
            media: HashMap::new(),
            log: VecDeque::new(),
            created_at: ids::date_time_brt(),
            outbox: self.new_outbox(),
        };
        let _ = self.post(&inst, "instance.create", json!({ "instanceName": inst.name, "instanceId": inst.id }));
        let qrcode = if p.qrcode {
            self.start_qr(&mut inst, p.number.as_deref());
            Some(qr_json(&inst))
        } else {
            None
        };
        let mut answer = json!({
            "instance": {
                "instanceName": inst.name,
                "instanceId": inst.id,
                "integration": inst.integration,
                "webhookWaBusiness": null,
                "accessTokenWaBusiness": "",
                "status": "created",
            },
            "hash": token,
            "webhook": {
                "webhookUrl": p.webhook.as_ref().map(|w| w.0.clone()),
                "webhookByEvents": p.webhook.as_ref().is_some_and(|w| w.1),
                "webhookBase64": p.webhook.as_ref().is_some_and(|w| w.2),
            },
            "websocket": { "enabled": false },
            "rabbitmq": { "enabled": false },
            "sqs": { "enabled": false },
            "settings": {
                "rejectCall": false, "msgCall": "", "groupsIgnore": false, "alwaysOnline": false,
                "readMessages": false, "readStatus": false, "syncFullHistory": false,
            },
        });
        if let Some(qr) = qrcode {
            answer["qrcode"] = qr;
        }
        instances.insert(p.name, inst);
        Ok(answer)
    }

    /// Starts a new QR session: a fresh code (count 1), a `qrcode.updated` webhook, and a
    /// task that rotates the code every `qr_rotate_every` until the session ends.
    fn start_qr(self: &Arc<Self>, inst: &mut Instance, number: Option<&str>) -> Pending {
        inst.session += 1;
        inst.conn = Conn::Connecting;
        inst.paired = false;
        inst.failing_connects = 0;
        let keys = ids::qr_keys();
        let pairing_code = number.filter(|n| !ids::digits(n).is_empty()).map(|_| ids::pairing_code());
        inst.qr = Some(Qr { code: ids::qr_code(&keys), keys, pairing_code, count: 1 });
        let pending = self.post_qr(inst);
        let (shared, name, session) = (self.clone(), inst.name.clone(), inst.session);
        tokio::spawn(async move { shared.rotate_qr(name, session).await });
        pending
    }

    fn post_qr(&self, inst: &Instance) -> Pending {
        let Some(qr) = &inst.qr else { return Pending::none() };
        let data = json!({ "qrcode": {
            "instance": inst.name,
            "pairingCode": qr.pairing_code,
            "code": qr.code,
            "base64": ids::QR_PNG,
        }});
        self.post(inst, "qrcode.updated", data)
    }

    /// Replaces the QR code every `qr_rotate_every` while the same QR session lasts.
    async fn rotate_qr(&self, name: String, session: u64) {
        loop {
            if !self.sleep_or_shutdown(self.cfg.qr_rotate_every).await {
                return;
            }
            let mut instances = self.lock();
            let Some(inst) = instances.get_mut(&name) else { return };
            if inst.session != session {
                return;
            }
            let Some(qr) = inst.qr.as_mut() else { return };
            qr.code = ids::qr_code(&qr.keys);
            qr.count += 1;
            let _ = self.post_qr(inst);
        }
    }

    /// `GET /instance/connect/{instance}`.
    pub(crate) fn connect(self: &Arc<Self>, name: &str, number: Option<&str>) -> Result<Value, ApiError> {
        let mut instances = self.lock();
        let inst = instances.get_mut(name).ok_or_else(|| ApiError::NotFound(name.to_string()))?;
        inst.connect_calls += 1;
        let state_json =
            |inst: &Instance| json!({ "instance": { "instanceName": inst.name, "state": inst.conn.as_str() } });
        if inst.conn == Conn::Open {
            return Ok(state_json(inst));
        }
        if let Some(qr) = inst.qr.as_mut() {
            // Still waiting: the same code; a number asks for a pairing code as well.
            if qr.pairing_code.is_none() && number.is_some_and(|n| !ids::digits(n).is_empty()) {
                qr.pairing_code = Some(ids::pairing_code());
            }
            return Ok(qr_json(inst));
        }
        if inst.paired {
            // After a network drop: the linked session reconnects, unless it still fails.
            if inst.failing_connects > 0 {
                inst.failing_connects -= 1;
                if inst.conn == Conn::Close {
                    inst.conn = Conn::Connecting;
                    let data = json!({ "instance": inst.name, "state": "connecting", "statusReason": 200 });
                    let _ = self.post(inst, "connection.update", data);
                }
            } else {
                inst.conn = Conn::Open;
                inst.disconnection_reason = None;
                let _ = self.post(inst, "connection.update", self.open_data(inst));
            }
            return Ok(state_json(inst));
        }
        self.start_qr(inst, number);
        Ok(qr_json(inst))
    }

    /// `GET /instance/connectionState/{instance}`.
    pub(crate) fn connection_state(&self, name: &str) -> Result<Value, ApiError> {
        let instances = self.lock();
        let inst = instances.get(name).ok_or_else(|| ApiError::NotFound(name.to_string()))?;
        Ok(json!({ "instance": { "instanceName": inst.name, "state": inst.conn.as_str() } }))
    }

    fn open_data(&self, inst: &Instance) -> Value {
        json!({
            "instance": inst.name,
            "wuid": self.business_jid(),
            "profileName": ids::PROFILE_NAME,
            "profilePictureUrl": null,
            "state": "open",
            "statusReason": 200,
        })
    }

    /// The phone scans a QR code (or enters the pairing code).
    pub(crate) async fn scan(&self, name: &str, code: &str) -> anyhow::Result<()> {
        let pending = {
            let mut instances = self.lock();
            let inst = instances.get_mut(name).ok_or_else(|| ApiError::NotFound(name.to_string()))?;
            let Some(qr) = &inst.qr else { anyhow::bail!("instance \"{name}\" is not waiting for a QR code scan") };
            let code = code.trim();
            if code != qr.code && qr.pairing_code.as_deref() != Some(code) {
                anyhow::bail!("that is not the QR code instance \"{name}\" shows now");
            }
            inst.qr = None;
            inst.session += 1;
            inst.conn = Conn::Open;
            inst.paired = true;
            inst.disconnection_reason = None;
            self.post(inst, "connection.update", self.open_data(inst))
        };
        pending.wait().await
    }

    /// The phone loses its connection.
    pub(crate) async fn disconnect(&self, name: &str, how: Disconnect) -> anyhow::Result<()> {
        let pending = {
            let mut instances = self.lock();
            let inst = instances.get_mut(name).ok_or_else(|| ApiError::NotFound(name.to_string()))?;
            match how {
                Disconnect::Dropped { failing_connects } => {
                    if inst.conn != Conn::Open {
                        anyhow::bail!("instance \"{name}\" is not open");
                    }
                    inst.conn = Conn::Close;
                    inst.failing_connects = failing_connects;
                    inst.disconnection_reason = Some(428);
                    let data = json!({ "instance": inst.name, "state": "close", "statusReason": 428 });
                    vec![self.post(inst, "connection.update", data)]
                }
                Disconnect::LoggedOut => {
                    if !inst.paired {
                        anyhow::bail!("instance \"{name}\" has no linked device");
                    }
                    self.log_out(inst)
                }
            }
        };
        wait_all(pending).await
    }

    /// Ends the session: `connection.update` close 401, then `status.instance` closed.
    fn log_out(&self, inst: &mut Instance) -> Vec<Pending> {
        let close = json!({ "instance": inst.name, "state": "close", "statusReason": 401 });
        let pending = vec![
            self.post(inst, "connection.update", close),
            self.post(inst, "status.instance", json!({ "instance": inst.name, "status": "closed" })),
        ];
        inst.conn = Conn::Close;
        inst.paired = false;
        inst.qr = None;
        inst.session += 1;
        inst.failing_connects = 0;
        inst.disconnection_reason = Some(401);
        pending
    }

    /// `DELETE /instance/logout/{instance}`: refused when already closed, as Evolution does.
    pub(crate) fn logout(&self, name: &str) -> Result<Value, ApiError> {
        let mut instances = self.lock();
        let inst = instances.get_mut(name).ok_or_else(|| ApiError::NotFound(name.to_string()))?;
        if inst.conn == Conn::Close {
            return Err(ApiError::bad(format!("The \"{name}\" instance is not connected")));
        }
        let _ = self.log_out(inst);
        Ok(json!({ "status": "SUCCESS", "error": false, "response": { "message": "Instance logged out" } }))
    }

    /// `DELETE /instance/delete/{instance}`: refused while open (Evolution wants a logout
    /// first); a connecting instance is logged out; queued webhooks are still delivered.
    pub(crate) fn delete(&self, name: &str) -> Result<Value, ApiError> {
        let mut instances = self.lock();
        let inst = instances.get_mut(name).ok_or_else(|| ApiError::NotFound(name.to_string()))?;
        if inst.conn == Conn::Open {
            return Err(ApiError::bad(format!("The \"{name}\" instance needs to be disconnected")));
        }
        if inst.conn == Conn::Connecting {
            let _ = self.log_out(inst);
        }
        let _ = self.post(inst, "instance.delete", json!({ "instanceName": inst.name, "instanceId": inst.id }));
        instances.remove(name);
        Ok(json!({ "status": "SUCCESS", "error": false, "response": { "message": "Instance deleted" } }))
    }
}

/// The QR answer of create and connect: `{pairingCode, code, base64, count}`.
fn qr_json(inst: &Instance) -> Value {
    match &inst.qr {
        Some(qr) => {
            json!({ "pairingCode": qr.pairing_code, "code": qr.code, "base64": ids::QR_PNG, "count": qr.count })
        }
        None => json!({ "count": 0 }),
    }
}
