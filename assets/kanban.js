// The kanban board: drag a card to another column (or focus it and press ← →) to move it; every
// open board redraws a card when its ticket changes (the server's fragment, under the viewer's
// own visibility rule). Hand-written, no library.
const board = document.querySelector("[data-kanban]");

function lanes() { return [...board.querySelectorAll(".kanban-lane")]; }
function laneOf(key) { return board.querySelector(`.kanban-lane[data-lane="${CSS.escape(key)}"]`); }
function cardOf(id) { return board.querySelector(`.kanban-card[data-ticket="${CSS.escape(String(id))}"]`); }

// A column keeps its newest-activity-first order; "more" stays last.
function place(card, lane) {
  const list = lane.querySelector("[data-cards]");
  const at = Number(card.dataset.at);
  const after = [...list.querySelectorAll(".kanban-card")].find((c) => c !== card && Number(c.dataset.at) < at);
  list.insertBefore(card, after || list.querySelector(".kanban-more"));
  card.dataset.lane = lane.dataset.lane;
  for (const o of card.querySelectorAll("select[name=lane] option")) o.selected = o.value === lane.dataset.lane;
}

function announce(lane) {
  const live = document.querySelector("[data-kanban-announce]");
  if (live) live.textContent = `${live.dataset.moved} ${lane.getAttribute("aria-label")}`;
}

function showError(html) {
  let box = document.querySelector("[data-kanban-error]");
  if (!box) {
    box = document.createElement("div");
    box.dataset.kanbanError = "";
    box.setAttribute("role", "alert");
    board.before(box);
  }
  box.innerHTML = html;
}

async function refreshCard(id) {
  const r = await fetch(`/kanban/cards/${id}`, { credentials: "same-origin" });
  const old = cardOf(id);
  if (r.status === 404) { old?.remove(); return; }
  if (!r.ok) return;
  const doc = new DOMParser().parseFromString(`<ol>${await r.text()}</ol>`, "text/html");
  const fresh = doc.querySelector(".kanban-card");
  const lane = fresh && laneOf(fresh.dataset.lane);
  if (!fresh || !lane) { old?.remove(); return; }
  const focused = old && old.contains(document.activeElement);
  if (old) old.replaceWith(fresh);
  place(fresh, lane);
  if (focused) fresh.focus();
}

async function move(card, lane) {
  if (!lane || card.dataset.lane === lane.dataset.lane) return;
  const from = laneOf(card.dataset.lane);
  place(card, lane);
  card.focus();
  const body = new URLSearchParams({ csrf: board.dataset.csrf, ticket_id: card.dataset.ticket, lane: lane.dataset.lane });
  const r = await fetch("/kanban/move", { method: "POST", body, credentials: "same-origin", redirect: "manual" });
  if (r.type === "opaqueredirect" || r.ok) {
    announce(lane);
    return;
  }
  // Refused (closed meanwhile, lane removed…): put it back and say why.
  if (from) place(card, from);
  const doc = new DOMParser().parseFromString(await r.text(), "text/html");
  showError(doc.querySelector(".alert.error")?.outerHTML || "");
  refreshCard(card.dataset.ticket);
}

if (board) {
  board.addEventListener("dragstart", (e) => {
    const card = e.target.closest?.(".kanban-card");
    if (!card) return;
    e.dataTransfer.setData("text/plain", card.dataset.ticket);
    e.dataTransfer.effectAllowed = "move";
    card.classList.add("dragging");
  });
  board.addEventListener("dragend", (e) => e.target.closest?.(".kanban-card")?.classList.remove("dragging"));
  for (const lane of lanes()) {
    lane.addEventListener("dragover", (e) => { e.preventDefault(); lane.classList.add("drop-target"); });
    lane.addEventListener("dragleave", () => lane.classList.remove("drop-target"));
    lane.addEventListener("drop", (e) => {
      e.preventDefault();
      lane.classList.remove("drop-target");
      const card = cardOf(e.dataTransfer.getData("text/plain"));
      if (card) move(card, lane);
    });
  }
  // The keyboard: ← → on a focused card move it one column.
  board.addEventListener("keydown", (e) => {
    const card = e.target;
    if (!card.classList?.contains("kanban-card") || (e.key !== "ArrowLeft" && e.key !== "ArrowRight")) return;
    e.preventDefault();
    const all = lanes();
    const i = all.indexOf(card.closest(".kanban-lane"));
    move(card, all[i + (e.key === "ArrowRight" ? 1 : -1)]);
  });
  // "More" loads the column's next page in place.
  board.addEventListener("click", async (e) => {
    const more = e.target.closest?.("[data-more]");
    if (!more) return;
    e.preventDefault();
    const r = await fetch(more.href, { credentials: "same-origin" });
    if (!r.ok) return;
    const item = more.closest(".kanban-more");
    const tmp = document.createElement("ol");
    tmp.innerHTML = await r.text();
    const list = item.parentElement;
    item.remove();
    for (const node of [...tmp.children]) {
      if (node.dataset.ticket && cardOf(node.dataset.ticket)) continue;
      list.append(node);
    }
  });

  if ("EventSource" in window) {
    const source = new EventSource("/events");
    window.addEventListener("pagehide", () => source.close());
    // The shell's badge says whether the stream is up; the board marks itself for tests too.
    source.addEventListener("ready", () => { board.dataset.live = "1"; });
    source.onerror = () => { delete board.dataset.live; };
    // A burst of events on one ticket redraws its card once.
    const due = new Map();
    const later = (e) => {
      let id = null;
      try { id = JSON.parse(e.data).ticket_id; } catch (_) { return; }
      if (!id || due.has(id)) return;
      due.set(id, setTimeout(() => { due.delete(id); refreshCard(id); }, 150));
    };
    for (const kind of ["ticket.created", "ticket.updated", "message.created"]) source.addEventListener(kind, later);
    source.addEventListener("resync", () => location.reload());
  }
}
