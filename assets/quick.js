// Atende — the composer's "/" list of quick replies. Typing "/" at the start of the message (or
// pressing the Respostas rápidas button) opens a list filtered by what follows the slash, with
// a preview of each reply already filled for this ticket (the server fills contact, protocol and
// agent: /inbox/{id}/quick-replies). Arrows move, Enter or a click puts the text in the box to
// edit before sending, Escape closes. Texts are inserted as text, never as HTML.

const composer = document.querySelector("form.composer");
const list = composer && composer.querySelector("#quick-list");
if (composer && list) {
  const text = composer.querySelector("textarea");
  const button = composer.querySelector(".quick-button");
  let replies = null; // fetched once per page, on first use
  let shown = [];
  let active = -1;

  async function load() {
    if (replies) return replies;
    try {
      const r = await fetch(list.dataset.src, { credentials: "same-origin", headers: { "x-fragment": "1" } });
      replies = r.ok ? await r.json() : [];
    } catch (_) {
      replies = null; // offline: try again next time
      return [];
    }
    return replies;
  }

  // What the person typed after the slash, when the box holds only "/word".
  function query() {
    const m = /^\/(\S*)$/.exec(text.value);
    return m ? m[1].toLowerCase() : null;
  }

  function close() {
    list.hidden = true;
    shown = [];
    active = -1;
    text.setAttribute("aria-expanded", "false");
    text.removeAttribute("aria-activedescendant");
  }

  function mark(i) {
    active = i;
    list.querySelectorAll("[role=option]").forEach((li, n) => li.setAttribute("aria-selected", String(n === i)));
    const li = list.querySelector(`#quick-${i}`);
    if (li) { text.setAttribute("aria-activedescendant", li.id); li.scrollIntoView({ block: "nearest" }); }
  }

  async function open() {
    const q = query();
    if (q === null) { close(); return; }
    const all = await load();
    if (query() !== q) return; // typed on meanwhile: the newer input event redraws
    shown = all.filter((r) => r.shortcut.includes(q) || r.text.toLowerCase().includes(q)).slice(0, 20);
    list.replaceChildren();
    if (!shown.length) {
      const li = document.createElement("li");
      li.className = "quick-empty muted";
      li.textContent = list.dataset.empty;
      list.append(li);
    }
    shown.forEach((r, i) => {
      const li = document.createElement("li");
      li.id = `quick-${i}`;
      li.setAttribute("role", "option");
      const name = document.createElement("strong");
      name.textContent = `/${r.shortcut}`;
      const preview = document.createElement("span");
      preview.className = "quick-preview";
      preview.textContent = r.text;
      li.append(name, preview);
      li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(i); });
      list.append(li);
    });
    list.hidden = false;
    text.setAttribute("aria-expanded", "true");
    mark(shown.length ? 0 : -1);
  }

  function choose(i) {
    const r = shown[i];
    if (!r) return;
    text.value = r.text;
    close();
    text.focus();
    text.setSelectionRange(text.value.length, text.value.length);
  }

  text.addEventListener("input", open);
  text.addEventListener("blur", () => setTimeout(close, 150));
  // The composer's Enter-sends handler (app.js) stands back while an option is active
  // (aria-activedescendant), so Enter here picks instead of sending.
  text.addEventListener("keydown", (e) => {
    if (list.hidden) return;
    if (e.key === "ArrowDown" && shown.length) { e.preventDefault(); mark((active + 1) % shown.length); }
    else if (e.key === "ArrowUp" && shown.length) { e.preventDefault(); mark((active - 1 + shown.length) % shown.length); }
    else if (e.key === "Escape") { e.preventDefault(); e.stopImmediatePropagation(); close(); }
    else if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey && active >= 0) {
      e.preventDefault();
      e.stopImmediatePropagation();
      choose(active);
    }
  });
  if (button) {
    button.addEventListener("click", () => {
      if (!text.value.startsWith("/")) text.value = "/";
      text.focus();
      open();
    });
  }
}
