// wa-sim customer phone. All user-controlled text goes into the page with textContent.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const state = { waId: "", name: "", replyTo: null, lastJson: "", messages: [] };

  async function api(method, path, body) {
    const opts = { method, headers: {} };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const resp = await fetch(path, opts);
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.error || ("HTTP " + resp.status));
    return data;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  const STATUS_NAMES = { accepted: "aceita", sent: "enviada", delivered: "entregue", read: "lida", failed: "falhou" };

  function ticks(status) {
    const t = el("span", "ticks");
    t.title = STATUS_NAMES[status] || status;
    if (status === "failed") { t.classList.add("failed"); t.textContent = "⚠"; return t; }
    if (status === "read") t.classList.add("read");
    t.textContent = status === "accepted" ? "🕓" : status === "sent" ? "✓" : "✓✓";
    return t;
  }

  function time(ts) {
    const d = new Date(ts * 1000);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function render(messages) {
    const chat = $("chat");
    const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 40;
    chat.replaceChildren();
    const byId = new Map(messages.map((m) => [m.id, m]));
    for (const m of messages) {
      const b = el("div", "bubble " + m.direction);
      if (m.context && byId.has(m.context)) b.appendChild(el("div", "quote", byId.get(m.context).text));
      b.appendChild(el("div", "text", m.text));
      if (m.direction === "out" && m.buttons.length) {
        const box = el("div", "buttons");
        for (const btn of m.buttons) {
          const x = el("button", "", btn.title);
          x.type = "button";
          x.addEventListener("click", (ev) => {
            ev.stopPropagation();
            const kind = btn.kind;
            send(kind === "template_button" ? { type: kind, payload: btn.id, title: btn.title } : { type: kind, id: btn.id, title: btn.title });
          });
          box.appendChild(x);
        }
        b.appendChild(box);
      }
      if (m.direction === "out" && m.list) {
        // A list message: its button opens the rows, as WhatsApp shows them.
        const open = el("button", "list-open", "☰ " + (m.list.button || "Ver opções"));
        open.type = "button";
        open.addEventListener("click", (ev) => { ev.stopPropagation(); openList(m.list); });
        b.appendChild(open);
      }
      const meta = el("div", "meta");
      meta.appendChild(el("span", "", time(m.timestamp)));
      meta.appendChild(ticks(m.status));
      b.appendChild(meta);
      if (m.direction === "out") {
        b.addEventListener("click", () => startReply(m));
        b.addEventListener("dblclick", () => send({ type: "reaction", message_id: m.id, emoji: "👍" }));
      }
      chat.appendChild(b);
    }
    if (atBottom) chat.scrollTop = chat.scrollHeight;
  }

  function openList(list) {
    $("list-sheet-title").textContent = list.button || "Ver opções";
    const rows = $("list-sheet-rows");
    rows.replaceChildren();
    for (const section of list.sections || []) {
      if (section.title) rows.appendChild(el("h3", "sheet-section", section.title));
      for (const row of section.rows || []) {
        const r = el("button", "list-row");
        r.type = "button";
        r.dataset.id = row.id;
        r.appendChild(el("span", "row-title", row.title));
        if (row.description) r.appendChild(el("span", "row-description", row.description));
        r.addEventListener("click", () => {
          closeList();
          send({ type: "list_reply", id: row.id, title: row.title });
        });
        rows.appendChild(r);
      }
    }
    $("list-sheet").hidden = false;
    $("list-sheet-close").focus();
  }

  function closeList() {
    $("list-sheet").hidden = true;
  }

  function startReply(m) {
    state.replyTo = m.id;
    $("replying-text").textContent = m.text;
    $("replying").hidden = false;
    $("text").focus();
  }

  function cancelReply() {
    state.replyTo = null;
    $("replying").hidden = true;
  }

  async function send(fields) {
    $("error").textContent = "";
    if (!state.waId) { $("error").textContent = "Escolha o número do cliente."; return; }
    try {
      const r = await api("POST", "/sim/customer/send", Object.assign({ wa_id: state.waId, name: state.name }, fields));
      if (r.status < 200 || r.status > 299) $("error").textContent = "A empresa respondeu HTTP " + r.status + ".";
    } catch (e) {
      $("error").textContent = "Não entregue: " + e.message;
    }
    poll();
  }

  async function poll() {
    if (!state.waId) return;
    try {
      const data = await api("GET", "/sim/conversations/" + encodeURIComponent(state.waId));
      const json = JSON.stringify(data.messages);
      state.messages = data.messages;
      if (json !== state.lastJson) { state.lastJson = json; render(data.messages); }
      maybeRead();
    } catch (e) { /* simulator restarting; try again next tick */ }
  }

  function maybeRead() {
    if (!$("autoread").checked || document.visibilityState !== "visible" || !document.hasFocus()) return;
    const unread = state.messages.some((m) => m.direction === "out" && (m.status === "sent" || m.status === "delivered"));
    if (unread) api("POST", "/sim/customer/read", { wa_id: state.waId }).then(poll).catch(() => {});
  }

  function loadIdentity() {
    state.waId = (localStorage.getItem("wa-sim.waId") || "5511912345678").replace(/\D/g, "");
    state.name = localStorage.getItem("wa-sim.name") || "Maria Cliente";
    $("wa-id").value = state.waId;
    $("name").value = state.name;
  }

  $("wa-id").addEventListener("change", () => {
    state.waId = $("wa-id").value.replace(/\D/g, "");
    localStorage.setItem("wa-sim.waId", state.waId);
    state.lastJson = "";
    cancelReply();
    poll();
  });
  $("name").addEventListener("change", () => {
    state.name = $("name").value.trim();
    localStorage.setItem("wa-sim.name", state.name);
  });
  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const kind = $("kind").value;
    const text = $("text").value;
    if (kind === "text" && !text.trim()) return;
    send({ type: kind, text: text, reply_to: kind === "text" ? state.replyTo : null });
    $("text").value = "";
    cancelReply();
  });
  $("replying-cancel").addEventListener("click", cancelReply);
  $("list-sheet-close").addEventListener("click", closeList);
  $("list-sheet").addEventListener("click", (ev) => { if (ev.target === $("list-sheet")) closeList(); });
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") closeList(); });
  $("save-webhook").addEventListener("click", () => {
    api("POST", "/sim/webhook-url", { url: $("webhook-url").value.trim() || null })
      .then(() => { $("error").textContent = ""; })
      .catch((e) => { $("error").textContent = e.message; });
  });
  $("save-faults").addEventListener("click", () => {
    const n = (id) => { const v = parseInt($(id).value, 10); return v > 0 ? v : null; };
    api("POST", "/sim/faults", {
      duplicate_deliveries: $("f-dup").checked,
      out_of_order_statuses: $("f-ooo").checked,
      expired_media_urls: $("f-exp").checked,
      http_5xx_every: n("f-5xx"),
      timeout_every: n("f-hang"),
    }).catch((e) => { $("error").textContent = e.message; });
  });
  document.addEventListener("visibilitychange", maybeRead);
  window.addEventListener("focus", maybeRead);

  api("GET", "/sim/info").then((info) => {
    $("biz-number").textContent = "+" + info.display_phone_number;
    $("webhook-url").value = info.webhook_url || "";
    $("graph-url").textContent = info.graph_url;
    const f = info.faults || {};
    $("f-dup").checked = !!f.duplicate_deliveries;
    $("f-ooo").checked = !!f.out_of_order_statuses;
    $("f-exp").checked = !!f.expired_media_urls;
    $("f-5xx").value = f.http_5xx_every || "";
    $("f-hang").value = f.timeout_every || "";
  }).catch(() => {});
  loadIdentity();
  poll();
  setInterval(poll, 1000);
})();
