// Atende — the page's live connection. Listens to /events (SSE): shows whether the page is
// live and, on the inbox, re-fetches the affected part
// (ticket list, messages, side panel) as server-rendered HTML. Text from events is inserted as
// text, never as HTML; only the server's own escaped fragments are swapped in.

// The shell: the sidebar folds to its icons (remembered in this browser), the phone drawer and
// the user menu close with Escape or a click elsewhere.
const FOLDED_KEY = "atende.sidebar.folded";
const foldButton = document.getElementById("nav-collapse");
function setFolded(folded) {
  document.documentElement.classList.toggle("nav-folded", folded);
  if (!foldButton) return;
  foldButton.setAttribute("aria-expanded", String(!folded));
  const label = folded ? foldButton.dataset.expand : foldButton.dataset.collapse;
  foldButton.title = label;
  const hidden = foldButton.querySelector(".visually-hidden");
  if (hidden) hidden.textContent = label;
}
function storedFolded() {
  try { return localStorage.getItem(FOLDED_KEY) === "1"; } catch { return false; }
}
setFolded(storedFolded());
foldButton?.addEventListener("click", () => {
  const folded = !document.documentElement.classList.contains("nav-folded");
  setFolded(folded);
  try { localStorage.setItem(FOLDED_KEY, folded ? "1" : "0"); } catch { /* private mode: not remembered */ }
});
const drawer = document.getElementById("nav-toggle");
const userMenu = document.querySelector("details.user-menu");
// Popovers (the user menu, the ticket's Transferir and Finalizar) are <details>: one open at a
// time, closed by Escape (focus back on its button) or a click elsewhere.
const popovers = () => document.querySelectorAll("details.user-menu, details.pop");
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  if (drawer?.checked) { drawer.checked = false; drawer.focus(); }
  for (const d of popovers()) if (d.open) { d.open = false; d.querySelector("summary")?.focus(); }
});
document.addEventListener("click", (e) => {
  for (const d of popovers()) if (d.open && !d.contains(e.target)) d.open = false;
});
document.addEventListener("toggle", (e) => {
  const d = e.target;
  if (!(d instanceof HTMLDetailsElement) || !d.open || !d.matches("details.pop")) return;
  for (const other of popovers()) if (other !== d && other.open) other.open = false;
  d.querySelector(".pop-body select, .pop-body input:checked, .pop-body textarea")?.focus();
}, true);

const status = document.getElementById("live-status");
const ticketList = document.getElementById("ticket-list");
const messages = document.getElementById("messages");
const panel = document.getElementById("ticket-panel");
const ticketActions = document.getElementById("ticket-actions");
const announcer = document.getElementById("live-announce");

// Screen readers hear a new customer message in the open conversation (a polite live region:
// after what they are reading now).
function announce(textOf) {
  if (!announcer) return;
  announcer.textContent = "";
  setTimeout(() => { announcer.textContent = textOf; }, 50);
}
const conversation = document.querySelector(".conversation[data-ticket-id]");
const currentTicket = conversation ? Number(conversation.dataset.ticketId) : null;

function setLive(on) {
  if (!status) return;
  status.hidden = false;
  status.textContent = on ? status.dataset.on : status.dataset.off;
  status.classList.toggle("off", !on);
}

// Times are rendered by the server on the company's clock (its time zone), as every page shows
// them; the browser's own zone is not used.

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
      const html = await r.text();
      if (el === messages && el.querySelector(".msg[data-id]")) mergeMessages(html);
      else el.innerHTML = html;
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

// The newest page of a conversation merged into what is shown: bubbles already there are
// replaced (ticks, reactions), new ones appended, and older pages loaded by scrolling are kept.
function mergeMessages(html) {
  const tpl = document.createElement("template");
  tpl.innerHTML = html;
  for (const fresh of tpl.content.querySelectorAll(".msg[data-id]")) {
    const old = messages.querySelector(`.msg[data-id="${CSS.escape(fresh.dataset.id)}"]`);
    if (old) {
      // Keep an open reaction picker open across the swap.
      if (old.querySelector("details[open]")) fresh.querySelector("details")?.setAttribute("open", "");
      old.replaceWith(fresh);
    } else {
      messages.append(fresh);
    }
  }
}

function ticketOf(e) {
  try { return JSON.parse(e.data).ticket_id; } catch (_) { return null; }
}

// ---------------------------------------------------------------- notifications
// Asked politely (a banner with a button, never on page load), remembered per browser in
// localStorage. A notification and a short beep (WebAudio, no audio file) for new waiting
// tickets of my departments, new messages in my tickets and reminders of my unanswered
// tickets, when the tab is hidden or another ticket is open. The server says whether a ticket concerns me (`?part=summary`, 404 if not).
const notifyBar = document.querySelector(".notify-bar");
const NOTIFY_KEY = "atende.notify";
let audio = null;

function notifyOn() {
  return localStorage.getItem(NOTIFY_KEY) === "on";
}

function beep() {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, audio.currentTime);
    osc.frequency.setValueAtTime(660, audio.currentTime + 0.12);
    gain.gain.setValueAtTime(0.0001, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.3);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.32);
  } catch (_) { /* no audio: the notification alone */ }
}

function renderNotifyBar() {
  if (!notifyBar) return;
  const supported = "Notification" in window;
  const setting = localStorage.getItem(NOTIFY_KEY);
  notifyBar.hidden = false;
  notifyBar.querySelector(".notify-ask").hidden = !(supported && setting === null && Notification.permission !== "denied");
  const toggle = notifyBar.querySelector(".notify-toggle");
  toggle.hidden = setting === null && supported && Notification.permission !== "denied";
  const denied = supported && Notification.permission === "denied";
  toggle.textContent = denied ? notifyBar.dataset.denied : (notifyOn() ? notifyBar.dataset.on : notifyBar.dataset.off);
  toggle.setAttribute("aria-pressed", String(notifyOn()));
}

async function enableNotifications() {
  if ("Notification" in window && Notification.permission === "default") {
    try { await Notification.requestPermission(); } catch (_) { /* old API */ }
  }
  localStorage.setItem(NOTIFY_KEY, "on");
  beep(); // also unlocks audio: browsers allow sound only after a gesture
  renderNotifyBar();
}

if (notifyBar) {
  notifyBar.querySelector(".notify-enable").addEventListener("click", enableNotifications);
  notifyBar.querySelector(".notify-later").addEventListener("click", () => {
    localStorage.setItem(NOTIFY_KEY, "off");
    renderNotifyBar();
  });
  notifyBar.querySelector(".notify-toggle").addEventListener("click", () => {
    if (notifyOn()) { localStorage.setItem(NOTIFY_KEY, "off"); renderNotifyBar(); } else { enableNotifications(); }
  });
  renderNotifyBar();
}

const notified = new Set();
async function maybeNotify(ticketId, kind) {
  if (!notifyOn() || !ticketId) return;
  if (!document.hidden && ticketId === currentTicket) return;
  let t;
  try {
    const r = await fetch(`/inbox/${ticketId}?part=summary`, { credentials: "same-origin", headers: { "x-fragment": "1" } });
    if (!r.ok) return; // not a ticket of mine to see
    t = await r.json();
  } catch (_) { return; }
  let title = null;
  if (t.status === "waiting" && kind !== "message") title = notifyBar.dataset.titleWaiting;
  else if (t.status === "waiting" && kind === "message" && !notified.has(`w${t.id}`)) title = notifyBar.dataset.titleWaiting;
  else if (t.mine && kind === "message") title = notifyBar.dataset.titleMessage;
  else if (t.mine && kind === "reminder") title = notifyBar.dataset.titleReminder;
  else if ((t.mine || t.supervisor) && kind === "sla") title = notifyBar.dataset.titleSla;
  if (!title) return;
  if (t.status === "waiting") notified.add(`w${t.id}`);
  beep();
  if ("Notification" in window && Notification.permission === "granted") {
    const n = new Notification(`${title}: ${t.contact}`, { body: t.preview || "", tag: `atende-${t.id}` });
    n.onclick = () => { window.focus(); location.href = `/inbox/${t.id}`; };
  }
}

const taskToasts = document.getElementById("task-toasts");
function taskReminder(d) {
  if (!taskToasts || !d.task_id) return;
  const when = d.stage === "due" ? taskToasts.dataset.due : `${taskToasts.dataset.soon} ${d.due_local || ""}`;
  const toast = document.createElement("div");
  toast.className = "toast task-toast";
  toast.setAttribute("role", "status");
  toast.dataset.task = String(d.task_id);
  toast.dataset.stage = d.stage || "";
  const head = document.createElement("strong");
  head.textContent = taskToasts.dataset.title;
  const link = document.createElement("a");
  link.href = `/tasks/${d.task_id}`;
  link.textContent = d.title || "";
  const time = document.createElement("span");
  time.className = "muted";
  time.textContent = when;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "toast-close secondary";
  close.textContent = "×";
  close.setAttribute("aria-label", taskToasts.dataset.dismiss);
  close.addEventListener("click", () => { toast.remove(); taskBadge(); });
  toast.append(head, " ", link, " ", time, close);
  taskToasts.append(toast);
  taskBadge();
  const allowed = localStorage.getItem(NOTIFY_KEY) !== "off";
  if (allowed && notifyOn()) beep();
  if (allowed && "Notification" in window && Notification.permission === "granted") {
    const n = new Notification(`${taskToasts.dataset.title}: ${d.title || ""}`, { body: when, tag: `atende-task-${d.task_id}-${d.stage}` });
    n.onclick = () => { window.focus(); location.href = `/tasks/${d.task_id}`; };
  }
}

// The sidebar's Tarefas shows how many reminders are on screen.
function taskBadge() {
  const entry = document.querySelector('.sidebar a[href="/tasks"], nav a[href="/tasks"]');
  if (!entry || !taskToasts) return;
  const count = taskToasts.querySelectorAll(".task-toast").length;
  let badge = entry.querySelector(".task-badge");
  if (!count) { badge?.remove(); return; }
  if (!badge) { badge = document.createElement("span"); badge.className = "badge reminder task-badge"; entry.append(badge); }
  badge.textContent = String(count);
}

function eventData(e) {
  try { return JSON.parse(e.data); } catch (_) { return {}; }
}

if (status && "EventSource" in window) {
  // EventSource reconnects by itself and sends Last-Event-ID, so missed events are replayed.
  const source = new EventSource("/events");
  // Close the stream as the page goes: a browser keeps ~6 connections per host, and streams left
  // open by pages being navigated away from make the next page loads wait for a free one.
  window.addEventListener("pagehide", () => source.close());
  let connectedOnce = false;
  source.addEventListener("ready", () => {
    setLive(true);
    // After a reconnect the page may have missed things: resync every part.
    if (connectedOnce) { refresh(ticketList); refresh(messages); refresh(panel); refresh(ticketActions); }
    connectedOnce = true;
  });
  source.addEventListener("resync", () => {
    refresh(ticketList); refresh(messages); refresh(panel); refresh(ticketActions);
  });
  source.onerror = () => setLive(false);
  // Chat interno (assets/chat.js) hears the page's one stream through DOM events.
  for (const kind of ["ready", "resync", "chat.message", "chat.mention", "chat.read", "chat.typing", "chat.conversation"]) {
    source.addEventListener(kind, (e) => document.dispatchEvent(new CustomEvent(`atende:${kind}`, { detail: eventData(e) })));
  }
  source.addEventListener("message.created", (e) => {
    refresh(ticketList);
    if (ticketOf(e) === currentTicket) refresh(messages);
    if (eventData(e).direction === "in") {
      if (ticketOf(e) === currentTicket) announce(announcer?.dataset.newMessage || "");
      maybeNotify(ticketOf(e), "message");
    }
  });
  source.addEventListener("message.status", (e) => {
    if (ticketOf(e) === currentTicket) refresh(messages);
  });
  // A timed rule reminds me of a customer waiting for my answer (only the assignee gets it).
  source.addEventListener("ticket.reminder", (e) => {
    refresh(ticketList);
    if (ticketOf(e) === currentTicket) refresh(panel);
    maybeNotify(ticketOf(e), "reminder");
  });
  // A task's reminder (only its assignee gets it): a toast on any page and a count on the
  // sidebar's Tarefas, plus a browser notification when the browser allows them.
  source.addEventListener("task.reminder", (e) => taskReminder(eventData(e)));
  // A deadline near or past: the assignee and supervisors are told (the server's summary says who).
  for (const kind of ["ticket.sla_warning", "ticket.sla_breached"]) {
    source.addEventListener(kind, (e) => {
      refresh(ticketList);
      if (ticketOf(e) === currentTicket) refresh(panel);
      maybeNotify(ticketOf(e), "sla");
    });
  }
  // Someone opened or left the ticket on screen: its panel says who sees it now.
  source.addEventListener("ticket.viewers", (e) => {
    if (ticketOf(e) === currentTicket) refresh(panel);
  });
  for (const kind of ["ticket.created", "ticket.updated"]) {
    source.addEventListener(kind, (e) => {
      refresh(ticketList);
      // An open popover (a transfer being filled in) is not redrawn under the person's hands.
      if (ticketOf(e) === currentTicket) { refresh(panel); if (!ticketActions?.querySelector("details[open]")) refresh(ticketActions); }
      const d = eventData(e);
      if (kind === "ticket.created" || (d.status === "waiting" && d.change !== "tags")) maybeNotify(ticketOf(e), "ticket");
    });
  }
}

// "Quem está vendo": the open ticket beats every 20 s while the tab is visible (the server
// counts a viewer for 45 s) and says goodbye when the page goes.
if (currentTicket) {
  const csrfInput = document.querySelector("input[name=csrf]");
  const viewing = (leave) => {
    if (!csrfInput) return;
    const body = new URLSearchParams({ csrf: csrfInput.value, leave: leave ? "1" : "0" });
    const url = `/inbox/${currentTicket}/viewing`;
    if (leave && navigator.sendBeacon) navigator.sendBeacon(url, body);
    else fetch(url, { method: "POST", body, credentials: "same-origin" }).catch(() => {});
  };
  viewing(false);
  setInterval(() => { if (!document.hidden) viewing(false); }, 20_000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) viewing(false); });
  window.addEventListener("pagehide", () => viewing(true));
}

if (messages) messages.scrollTop = messages.scrollHeight;
if (ticketList) {
  // Waiting times ("há 5 min") move on without events: the list is redrawn each minute.
  setInterval(() => { if (!document.hidden) refresh(ticketList); }, 60_000);
}

// Composer: Enter sends, Shift+Enter breaks the line; a quick reply goes into the text box.
const composer = document.querySelector("form.composer");
if (composer) {
  const text = composer.querySelector("textarea");
  text.addEventListener("keydown", (e) => {
    // An option of the "/" list is chosen with Enter (quick.js), not sent.
    if (text.hasAttribute("aria-activedescendant")) return;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (text.value.trim() !== "") composer.requestSubmit();
    }
  });
  if (!text.value) text.focus();
}


// ---------------------------------------------------------------- older messages on scroll
// Scrolling to the top loads the page before the oldest bubble shown (keyset on message id) and
// keeps the view where it was.
let loadingOlder = false;
async function loadOlder() {
  const link = messages && messages.querySelector(".older a");
  if (!link || loadingOlder) return;
  loadingOlder = true;
  try {
    const url = new URL(link.href, location.href);
    url.searchParams.set("part", "messages");
    const r = await fetch(url, { credentials: "same-origin", headers: { "x-fragment": "1" } });
    if (!r.ok) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = await r.text();
    const before = messages.scrollHeight;
    link.parentElement.remove();
    const have = new Set([...messages.querySelectorAll(".msg[data-id]")].map((m) => m.dataset.id));
    for (const m of tpl.content.querySelectorAll(".msg[data-id]")) if (have.has(m.dataset.id)) m.remove();
    for (const empty of tpl.content.querySelectorAll("p.muted")) empty.remove();
    messages.prepend(tpl.content);
    messages.scrollTop += messages.scrollHeight - before;
  } catch (_) {
    // Offline: the next scroll tries again.
  } finally {
    loadingOlder = false;
  }
}
if (messages) {
  messages.addEventListener("scroll", () => { if (messages.scrollTop < 60) loadOlder(); }, { passive: true });
  messages.addEventListener("click", (e) => {
    const link = e.target.closest(".older a");
    if (link) { e.preventDefault(); loadOlder(); }
  });
}

// ---------------------------------------------------------------- confirmations
document.addEventListener("submit", (e) => {
  const b = e.submitter;
  if (b && b.dataset.confirm && !window.confirm(b.dataset.confirm)) e.preventDefault();
});

// ---------------------------------------------------------------- composer: reply, files, voice
if (composer) {
  const text = composer.querySelector("textarea");
  const replyTo = composer.querySelector("input[name=reply_to]");
  const replyBox = composer.querySelector(".reply-preview");
  const fileBox = composer.querySelector(".attachment-preview");
  const errorBox = composer.querySelector(".composer-error");
  const fileInput = composer.querySelector(".attach-input");
  const recordButton = composer.querySelector(".record-button");
  const placeholder = text.placeholder;
  let file = null;

  const showError = (msg) => { errorBox.textContent = msg; errorBox.hidden = !msg; };

  function setReply(id) {
    replyTo.value = id || "";
    replyBox.hidden = !id;
    if (id) {
      const bubble = messages && messages.querySelector(`.msg[data-id="${CSS.escape(String(id))}"]`);
      const body = bubble && (bubble.querySelector(".msg-body") || bubble.querySelector(".msg-media"));
      replyBox.querySelector(".reply-text").textContent = body ? body.textContent.trim().slice(0, 140) : "";
      text.focus();
    }
  }
  replyBox.querySelector(".reply-cancel").addEventListener("click", () => setReply(null));
  if (messages) {
    messages.addEventListener("click", (e) => {
      const b = e.target.closest("button[data-reply]");
      if (b) setReply(b.dataset.reply);
    });
  }

  function setFile(f) {
    file = f || null;
    fileBox.hidden = !file;
    fileBox.querySelector(".attachment-name").textContent = file ? `${file.name || "arquivo"} · ${Math.max(1, Math.round(file.size / 1024))} KB` : "";
    text.required = !file;
    text.placeholder = file ? text.dataset.caption : placeholder;
    showError("");
    if (!file) fileInput.value = "";
  }
  fileInput.addEventListener("change", () => setFile(fileInput.files[0]));
  // A real button (reachable by Tab, Enter and Space) opens the hidden file picker.
  composer.querySelector(".attach-button")?.addEventListener("click", () => fileInput.click());
  fileBox.querySelector(".attachment-remove").addEventListener("click", () => setFile(null));
  text.addEventListener("paste", (e) => {
    const f = e.clipboardData && [...e.clipboardData.files][0];
    if (f) { e.preventDefault(); setFile(f); }
  });
  const dropZone = composer.closest(".conversation") || composer;
  dropZone.addEventListener("dragover", (e) => {
    if (e.dataTransfer && [...e.dataTransfer.types].includes("Files")) { e.preventDefault(); dropZone.classList.add("dropping"); }
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dropping"));
  dropZone.addEventListener("drop", (e) => {
    dropZone.classList.remove("dropping");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) { e.preventDefault(); setFile(f); }
  });

  // Uploads a file (or a recording) with the caption and the quoted message.
  async function upload(blob, name, caption) {
    const form = new FormData();
    form.append("csrf", composer.querySelector("input[name=csrf]").value);
    form.append("caption", caption || "");
    form.append("reply_to", replyTo.value);
    form.append("file", blob, name);
    const send = composer.querySelector("button[type=submit]");
    send.disabled = true;
    try {
      const r = await fetch(composer.dataset.attachUrl, { method: "POST", body: form, credentials: "same-origin", headers: { "x-fragment": "1" } });
      if (r.ok) {
        setFile(null);
        setReply(null);
        text.value = "";
        refresh(messages);
        return;
      }
      if (r.status === 413) { showError(composer.dataset.errTooLarge); return; }
      const tpl = document.createElement("template");
      tpl.innerHTML = await r.text();
      showError(tpl.content.textContent.trim() || composer.dataset.errUpload);
    } catch (_) {
      showError(composer.dataset.errUpload);
    } finally {
      send.disabled = false;
    }
  }

  composer.addEventListener("submit", (e) => {
    if (!file) return; // text goes as a normal form post
    e.preventDefault();
    // A private note never leaves Atende: a file attached to one is not sent to the customer.
    const note = composer.querySelector("input[name=note]");
    if (note && note.checked) { showError(composer.dataset.errNoteFile); return; }
    upload(file, file.name || "arquivo", text.value);
  });

  // Voice notes: MediaRecorder; the server turns WebM into Ogg Opus for WhatsApp.
  if (recordButton && window.MediaRecorder && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    recordButton.hidden = false;
    let recorder = null;
    let chunks = [];
    recordButton.addEventListener("click", async () => {
      if (recorder && recorder.state === "recording") { recorder.stop(); return; }
      showError("");
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (_) {
        showError(composer.dataset.errMic);
        return;
      }
      const type = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/webm"].find((t) => MediaRecorder.isTypeSupported(t));
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      chunks = [];
      recorder.ondataavailable = (ev) => { if (ev.data.size) chunks.push(ev.data); };
      recorder.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        recordButton.querySelector(".record-label").textContent = recordButton.dataset.start;
        recordButton.classList.remove("recording");
        recordButton.setAttribute("aria-pressed", "false");
        const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
        const ext = (recorder.mimeType || "").includes("ogg") ? "ogg" : "webm";
        if (blob.size) upload(blob, `voz.${ext}`, "");
      };
      recorder.start(250);
      recordButton.querySelector(".record-label").textContent = recordButton.dataset.stop;
      recordButton.classList.add("recording");
      recordButton.setAttribute("aria-pressed", "true");
    });
  }
}

// Conexões: the connection cards redraw themselves as a QR rotates and a session changes state
// (the page's own HTML, fetched again; the forms below the cards are left alone).
const liveConnections = document.querySelector("[data-live-connections]");
if (liveConnections && "EventSource" in window) {
  const source = new EventSource("/events");
  window.addEventListener("pagehide", () => source.close());
  let pending = false;
  const redraw = async () => {
    if (pending) return;
    pending = true;
    try {
      const r = await fetch(location.pathname, { credentials: "same-origin" });
      if (!r.ok) return;
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      const fresh = doc.querySelector("[data-live-connections]");
      if (fresh) liveConnections.innerHTML = fresh.innerHTML;
    } finally {
      pending = false;
    }
  };
  for (const kind of ["connection.updated", "connection.qr"]) source.addEventListener(kind, redraw);
  source.addEventListener("ready", redraw);
}

// ---------------------------------------------------------------- errors next to their field
// The server names the field a form error concerns (data-field); its text moves next to that
// input, which is marked invalid, described by it and focused. Errors of the whole form, and
// every error without script, stay in the banner.
for (const banner of document.querySelectorAll(".alert.error[data-field]")) {
  const input = document.querySelector(`form [name="${CSS.escape(banner.dataset.field)}"]`);
  if (!input) continue;
  const note = document.createElement("p");
  note.className = "field-error";
  note.id = `error-${banner.dataset.field}`;
  note.textContent = banner.textContent;
  (input.closest("label") || input).after(note);
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), note.id].filter(Boolean).join(" "));
  banner.hidden = true;
  input.focus();
}

// ---------------------------------------------------------------- campaign progress
// A running campaign's counts refresh every two seconds (its own fragment) until it stops.
if (document.querySelector("#campaign-progress[data-live]")) {
  const tick = async () => {
    const current = document.querySelector("#campaign-progress");
    if (!current || !current.dataset.live) return;
    if (!document.hidden) {
      try {
        const r = await fetch(current.dataset.live, { credentials: "same-origin" });
        if (r.ok) {
          const fresh = new DOMParser().parseFromString(await r.text(), "text/html").querySelector("#campaign-progress");
          if (fresh) current.replaceWith(fresh);
          if (!fresh || !fresh.dataset.live) return;
        }
      } catch (_) { /* offline a moment: try again */ }
    }
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
}
