// Atende — the page's live connection. Listens to /events (SSE): shows whether the page is
// live, lists incoming events on the home page, and reloads data after a resync. Everything
// from the server is inserted as text, never as HTML.

const status = document.getElementById("live-status");
const list = document.getElementById("live-events");
const empty = document.getElementById("live-empty");

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

if (status && "EventSource" in window) {
  // EventSource reconnects by itself and sends Last-Event-ID, so missed events are replayed.
  const source = new EventSource("/events");
  source.addEventListener("ready", () => setLive(true));
  source.addEventListener("resync", () => show("resync", ""));
  source.onerror = () => setLive(false);
  for (const kind of ["user.created", "user.updated", "contact.created", "ticket.created", "message.created", "message.status"]) {
    source.addEventListener(kind, (e) => show(kind, e.data));
  }
}
