// The vault's "Revelar" (templates/inbox_vault.html): a secret is never in the page's HTML; a
// click fetches that one secret (the server audits it), shows it, and hides it again after a
// minute or on a second click. Delegated, so panels swapped in live keep working.
const HIDE_AFTER_MS = 60000;

function hide(button, out) {
  out.textContent = "";
  out.hidden = true;
  out.classList.remove("error");
  button.textContent = button.dataset.show;
}

document.addEventListener("click", async (e) => {
  const button = e.target.closest(".vault-reveal");
  if (!button) return;
  e.preventDefault();
  const out = button.parentElement.querySelector(".vault-secret");
  if (!out.hidden) { hide(button, out); return; }
  const csrf = button.closest(".vault-block").querySelector("input[name=csrf]").value;
  button.disabled = true;
  try {
    const r = await fetch(button.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-fragment": "1" },
      body: new URLSearchParams({ csrf }),
    });
    const body = await r.json().catch(() => ({}));
    if (r.ok && typeof body.secret === "string") {
      out.textContent = body.secret;
      out.hidden = false;
      button.textContent = button.dataset.hide;
      setTimeout(() => hide(button, out), HIDE_AFTER_MS);
    } else {
      out.textContent = body.error || button.dataset.failed;
      out.classList.add("error");
      out.hidden = false;
    }
  } catch (_) {
    out.textContent = button.dataset.failed;
    out.classList.add("error");
    out.hidden = false;
  } finally {
    button.disabled = false;
  }
});
