// Atende — Chat interno. On every page: the sidebar's unread badge, kept live. On /chat: the
// conversation list and the open conversation follow the live stream (app.js forwards its
// events as `atende:<kind>` DOM events), the composer sends text and files without leaving the
// page, says "digitando…" to the others, and a mention of me shows a notification when the
// person turned them on. Text from events and answers is inserted as text; only the server's
// own escaped fragments are swapped in as HTML.

const badge = document.getElementById("chat-badge");
const page = document.querySelector("[data-chat-page]");
const list = document.getElementById("chat-list");
const conv = document.querySelector(".chat-conversation[data-chat-id]");
const current = conv ? Number(conv.dataset.chatId) : null;
const me = conv ? Number(conv.dataset.me) : null;
const box = document.getElementById("chat-messages");
const typingLine = document.getElementById("chat-typing");
const announcer = document.getElementById("chat-announce");
const composer = document.querySelector("form.chat-composer");
const csrf = () => page?.dataset.csrf || document.querySelector("input[name=csrf]")?.value || "";
const fragment = { credentials: "same-origin", headers: { "x-fragment": "1" } };

// One fetch per job at a time; calls arriving meanwhile cause one more run afterwards.
function single(job) {
  let running = false;
  let again = false;
  const run = async () => {
    if (running) { again = true; return; }
    running = true;
    try { await job(); } catch (_) { /* offline: the next event or reconnect runs it again */ }
    running = false;
    if (again) { again = false; run(); }
  };
  return run;
}

const refreshBadge = single(async () => {
  if (!badge) return;
  const r = await fetch("/chat/unread", fragment);
  if (!r.ok) return;
  const { total } = await r.json();
  badge.textContent = total > 99 ? "99+" : String(total);
  badge.hidden = !total;
  badge.title = String(total);
});

const refreshList = single(async () => {
  if (!list) return;
  const r = await fetch(list.dataset.src, fragment);
  if (r.ok && !r.redirected) list.innerHTML = await r.text();
});

function nearBottom(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
}

// The read mark follows what is on screen: only while the tab is visible.
const markRead = single(async () => {
  if (!current || document.hidden) return;
  const body = new URLSearchParams({ csrf: csrf(), upto: box?.dataset.last || "" });
  await fetch(`/chat/${current}/read`, { method: "POST", body, credentials: "same-origin" });
});

const loadNew = single(async () => {
  if (!box) return;
  const stick = nearBottom(box);
  const r = await fetch(`/chat/${current}?part=messages&after=${encodeURIComponent(box.dataset.last || "0")}`, fragment);
  if (!r.ok || r.redirected) return;
  const tpl = document.createElement("template");
  tpl.innerHTML = await r.text();
  let added = false;
  let mine = false;
  for (const m of tpl.content.querySelectorAll(".msg[data-id]")) {
    if (box.querySelector(`.msg[data-id="${CSS.escape(m.dataset.id)}"]`)) continue;
    box.querySelector(".chat-empty")?.remove();
    box.append(m);
    box.dataset.last = m.dataset.id;
    added = true;
    if (m.classList.contains("out")) mine = true;
    if (!m.classList.contains("out") && announcer) {
      announcer.textContent = "";
      setTimeout(() => { announcer.textContent = announcer.dataset.newMessage || ""; }, 50);
    }
  }
  if (added && (stick || mine)) box.scrollTop = box.scrollHeight;
  if (added) markRead();
});

// ---------------------------------------------------------------- notifications
async function notifyMention(d) {
  if (localStorage.getItem("atende.notify") !== "on") return;
  if (d.conversation_id === current && !document.hidden) return;
  let n;
  try {
    const r = await fetch(`/chat/${d.conversation_id}/notice/${d.message_id}`, fragment);
    if (!r.ok) return;
    n = await r.json();
  } catch (_) { return; }
  const title = `${n.sender} ${page?.dataset.mentionTitle || "mencionou você"} · ${n.title}`;
  if ("Notification" in window && Notification.permission === "granted") {
    const note = new Notification(title, { body: n.preview || "", tag: `atende-chat-${d.message_id}` });
    note.onclick = () => { window.focus(); location.href = n.href; };
  }
}

// ---------------------------------------------------------------- "digitando…"
const typers = new Map();
function drawTyping() {
  if (!typingLine) return;
  const now = Date.now();
  for (const [id, t] of typers) if (now - t.at > 6000) typers.delete(id);
  const names = [...typers.values()].map((t) => t.name);
  typingLine.textContent = names.length ? `${names.join(", ")} ${page?.dataset.typing || "digitando…"}` : "";
}
setInterval(drawTyping, 1000);

// ---------------------------------------------------------------- live events
const on = (kind, f) => document.addEventListener(`atende:${kind}`, (e) => f(e.detail || {}));
// Every `ready` of the stream (the first, after the page loaded, and each reconnect) draws the
// badge, the list and new messages again: nothing published in between is missed. Without a
// stream the badge is drawn once.
if (!document.getElementById("live-status") || !("EventSource" in window)) refreshBadge();
on("ready", () => { refreshBadge(); refreshList(); if (current) loadNew(); });
on("resync", () => { refreshBadge(); refreshList(); if (current) loadNew(); });
on("chat.message", (d) => {
  refreshBadge();
  refreshList();
  if (d.conversation_id === current) {
    typers.delete(d.sender_id);
    drawTyping();
    loadNew();
  }
});
on("chat.read", () => { refreshBadge(); refreshList(); });
on("chat.mention", (d) => notifyMention(d));
on("chat.typing", (d) => {
  if (d.conversation_id !== current || d.user_id === me) return;
  typers.set(d.user_id, { name: String(d.name || ""), at: Date.now() });
  drawTyping();
});
on("chat.conversation", (d) => {
  refreshList();
  refreshBadge();
  // Renamed, or its members changed (perhaps I left it): the page is drawn again.
  if (d.conversation_id === current && d.change !== "created") location.reload();
});
document.addEventListener("visibilitychange", () => { if (!document.hidden && current) markRead(); });

// ---------------------------------------------------------------- composer
if (composer && current) {
  const text = composer.querySelector("textarea");
  const fileInput = composer.querySelector("input[type=file]");
  const errorBox = composer.querySelector(".chat-error");
  const send = composer.querySelector("button[type=submit]");
  const showError = (msg) => { errorBox.textContent = msg; errorBox.hidden = !msg; };
  let lastBeat = 0;
  const fileName = composer.querySelector(".chat-file-name");
  // A file pasted into the text or dropped on the conversation goes into the file input.
  const setFile = (f) => {
    if (!fileInput || !f) return;
    const dt = new DataTransfer();
    dt.items.add(f);
    fileInput.files = dt.files;
    fileInput.dispatchEvent(new Event("change"));
  };
  text.addEventListener("paste", (e) => {
    const f = e.clipboardData && [...e.clipboardData.files][0];
    if (f) { e.preventDefault(); setFile(f); }
  });
  conv.addEventListener("dragover", (e) => {
    if (e.dataTransfer && [...e.dataTransfer.types].includes("Files")) { e.preventDefault(); conv.classList.add("dropping"); }
  });
  conv.addEventListener("dragleave", () => conv.classList.remove("dropping"));
  conv.addEventListener("drop", (e) => {
    conv.classList.remove("dropping");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) { e.preventDefault(); setFile(f); }
  });
  fileInput?.addEventListener("change", () => {
    const f = fileInput.files[0];
    if (fileName) fileName.textContent = f ? `${f.name} · ${Math.max(1, Math.round(f.size / 1024))} KB` : "";
    showError("");
  });

  text.addEventListener("input", () => {
    const now = Date.now();
    if (now - lastBeat < 3000 || !text.value.trim()) return;
    lastBeat = now;
    const body = new URLSearchParams({ csrf: csrf() });
    fetch(`/chat/${current}/typing`, { method: "POST", body, credentials: "same-origin" }).catch(() => {});
  });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  composer.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = fileInput?.files[0];
    if (!text.value.trim() && !file) return;
    const form = new FormData(composer);
    if (!file) form.delete("file");
    send.disabled = true;
    try {
      const r = await fetch(composer.action, { method: "POST", body: form, ...fragment });
      if (r.ok) {
        text.value = "";
        if (fileInput) fileInput.value = "";
        if (fileName) fileName.textContent = "";
        showError("");
        lastBeat = 0;
        loadNew();
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
      text.focus();
    }
  });
  text.focus();
}
if (box) box.scrollTop = box.scrollHeight;
