// Atende — the page's live connection. Listens to /events (SSE): shows whether the page is
// live, lists incoming events on the home page, and on the inbox re-fetches the affected part
// (ticket list, messages, side panel) as server-rendered HTML. Text from events is inserted as
// text, never as HTML; only the server's own escaped fragments are swapped in.

const status = document.getElementById("live-status");
const list = document.getElementById("live-events");
const empty = document.getElementById("live-empty");
const ticketList = document.getElementById("ticket-list");
const messages = document.getElementById("messages");
const panel = document.getElementById("ticket-panel");
const conversation = document.querySelector(".conversation[data-ticket-id]");
const currentTicket = conversation ? Number(conversation.dataset.ticketId) : null;

function setLive(on) {
  if (!status) return;
  status.hidden = false;
  status.textContent = on ? status.dataset.on : status.dataset.off;
  status.classList.toggle("off", !on);
}

function show(kind, data) {
  if (!list) return;
  const item = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString();
  const label = document.createElement("span");
  label.className = "kind";
  label.textContent = kind;
  const body = document.createElement("span");
  body.textContent = data;
  item.append(time, label, body);
  list.prepend(item);
  while (list.children.length > 100) list.lastChild.remove();
  if (empty) empty.hidden = true;
}

// Times rendered by the server (UTC) shown in the browser's zone.
function localize(root) {
  const today = new Date().toDateString();
  for (const el of root.querySelectorAll("time[data-ms]")) {
    const d = new Date(Number(el.dataset.ms));
    const locale = document.documentElement.lang || undefined;
    const hm = d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
    el.textContent = d.toDateString() === today ? hm : `${d.toLocaleDateString(locale, { day: "2-digit", month: "2-digit" })} ${hm}`;
  }
}

function nearBottom(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
}

// One fetch per part at a time; events arriving meanwhile cause one more fetch afterwards.
const pending = new Map();
async function refresh(el) {
  if (!el) return;
  if (pending.has(el)) { pending.set(el, true); return; }
  pending.set(el, false);
  try {
    const stick = el === messages && nearBottom(el);
    const r = await fetch(el.dataset.src, { credentials: "same-origin", headers: { "x-fragment": "1" } });
    if (r.ok && !r.redirected) {
      el.innerHTML = await r.text();
      localize(el);
      if (stick) el.scrollTop = el.scrollHeight;
    }
  } catch (_) {
    // Offline: the next event or the reconnect refreshes again.
  } finally {
    const again = pending.get(el);
    pending.delete(el);
    if (again) refresh(el);
  }
}

function ticketOf(e) {
  try { return JSON.parse(e.data).ticket_id; } catch (_) { return null; }
}

function notifyWaiting() {
  if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
  const title = document.body.dataset.notifyNew || "Atende";
  new Notification(title);
}

if (status && "EventSource" in window) {
  // EventSource reconnects by itself and sends Last-Event-ID, so missed events are replayed.
  const source = new EventSource("/events");
  let connectedOnce = false;
  source.addEventListener("ready", () => {
    setLive(true);
    // After a reconnect the page may have missed things: resync every part.
    if (connectedOnce) { refresh(ticketList); refresh(messages); refresh(panel); }
    connectedOnce = true;
  });
  source.addEventListener("resync", () => {
    show("resync", "");
    refresh(ticketList); refresh(messages); refresh(panel);
  });
  source.onerror = () => setLive(false);
  for (const kind of ["user.created", "user.updated"]) {
    source.addEventListener(kind, (e) => show(kind, e.data));
  }
  source.addEventListener("message.created", (e) => {
    show("message.created", e.data);
    refresh(ticketList);
    if (ticketOf(e) === currentTicket) refresh(messages);
  });
  source.addEventListener("message.status", (e) => {
    if (ticketOf(e) === currentTicket) refresh(messages);
  });
  for (const kind of ["ticket.created", "ticket.updated"]) {
    source.addEventListener(kind, (e) => {
      refresh(ticketList);
      if (ticketOf(e) === currentTicket) refresh(panel);
      if (kind === "ticket.created") notifyWaiting();
    });
  }
}

if (messages) {
  localize(messages);
  messages.scrollTop = messages.scrollHeight;
}
if (ticketList) localize(ticketList);

// Composer: Enter sends, Shift+Enter breaks the line; a quick reply goes into the text box.
const composer = document.querySelector("form.composer");
if (composer) {
  const text = composer.querySelector("textarea");
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (text.value.trim() !== "") composer.requestSubmit();
    }
  });
  const quick = composer.querySelector("select.quick");
  if (quick) {
    quick.addEventListener("change", () => {
      if (quick.value) { text.value = quick.value; quick.value = ""; text.focus(); }
    });
  }
  if (!text.value) text.focus();
}
