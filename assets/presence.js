// "Ausente" after the company's idle minutes: input in any tab counts (the time of the last one
// is shared through localStorage); a tab that set Ausente by itself sets Online again at the
// next input. A person who chose Ausente by hand stays so until they choose otherwise.
const statusForm = document.querySelector("form.status-form");
if (statusForm) {
  const LAST = "atende.lastInput", AUTO = "atende.autoAway";
  const isAway = () => statusForm.querySelector("input[name=status]").value === "online";
  const post = (status) => {
    const body = new URLSearchParams({ csrf: statusForm.querySelector("input[name=csrf]").value, status, back: "/" });
    return fetch("/account/status", { method: "POST", body, credentials: "same-origin", redirect: "manual" })
      .then(() => {
        // Redraw the user menu as the server now has it (this page's own copy is stale).
        statusForm.querySelector("input[name=status]").value = status === "away" ? "online" : "away";
        for (const dot of document.querySelectorAll(".user-menu .presence")) {
          dot.classList.toggle("away", status === "away");
          dot.classList.toggle("online", status !== "away");
        }
      })
      .catch(() => {});
  };
  let minutes = 0;
  fetch("/account/idle", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : { minutes: 0 }))
    .then((v) => { minutes = Number(v.minutes) || 0; })
    .catch(() => {});
  let noted = 0;
  const active = () => {
    const now = Date.now();
    if (now - noted > 5000) { noted = now; localStorage.setItem(LAST, String(now)); }
    // Another tab may have set it: the flag, not this page's copy of the menu, decides.
    if (localStorage.getItem(AUTO) === "1") { localStorage.removeItem(AUTO); post("online"); }
  };
  // A choice by hand is never undone by the idle watch.
  statusForm.addEventListener("submit", () => localStorage.removeItem(AUTO));
  for (const kind of ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"]) {
    window.addEventListener(kind, active, { passive: true });
  }
  if (!localStorage.getItem(LAST)) localStorage.setItem(LAST, String(Date.now()));
  setInterval(() => {
    if (!minutes || isAway()) return;
    const last = Number(localStorage.getItem(LAST)) || Date.now();
    if (Date.now() - last >= minutes * 60_000) { localStorage.setItem(AUTO, "1"); post("away"); }
  }, 10_000);
}
