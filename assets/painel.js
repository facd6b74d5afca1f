// Painel: the "now" block redraws itself on live events (its own fragment, fetched again, at
// most once a second), and the transcript's print button prints. Hand-written, no library.
const block = document.querySelector("[data-live-painel]");
if (block && "EventSource" in window) {
  const source = new EventSource("/events");
  window.addEventListener("pagehide", () => source.close());
  const badge = block.querySelector("[data-painel-live]");
  let pending = false;
  let again = false;
  const redraw = async () => {
    if (pending) { again = true; return; }
    pending = true;
    try {
      const r = await fetch("/painel/now", { credentials: "same-origin" });
      if (!r.ok) return;
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      const fresh = doc.querySelector("[data-painel-now]");
      const old = block.querySelector("[data-painel-now]");
      if (fresh && old) old.replaceWith(fresh);
    } finally {
      setTimeout(() => { pending = false; if (again) { again = false; redraw(); } }, 1000);
    }
  };
  source.addEventListener("ready", () => { if (badge) badge.hidden = false; redraw(); });
  source.onerror = () => { if (badge) badge.hidden = true; };
  for (const kind of ["ticket.created", "ticket.updated", "message.created", "report.alert"]) source.addEventListener(kind, redraw);
  // The waits grow while nothing happens: redraw each minute too.
  setInterval(redraw, 60000);
}
for (const b of document.querySelectorAll("[data-print]")) b.addEventListener("click", () => window.print());
