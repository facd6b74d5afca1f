// The phone page: buttons and forms post to /sim/{instance}/…; every 2 s the state is
// fetched from /sim/state and written into the page with textContent (never as HTML).
"use strict";

function post(name, action, body) {
  return fetch("/sim/" + encodeURIComponent(name) + "/" + action, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
  }).then(function (r) { return r.json(); });
}

function show(section, result) {
  var out = section.querySelector(".result");
  if (out) { out.textContent = result.ok ? "ok" : ("erro: " + result.error); }
  refresh();
}

function wire(section) {
  var name = section.dataset.name;
  section.querySelector(".scan").addEventListener("click", function () {
    var code = section.querySelector(".qr-code").textContent;
    post(name, "scan", { code: code }).then(function (r) { show(section, r); });
  });
  section.querySelector(".drop").addEventListener("click", function () {
    post(name, "drop", { failing_connects: 0 }).then(function (r) { show(section, r); });
  });
  section.querySelector(".unlink").addEventListener("click", function () {
    post(name, "unlink").then(function (r) { show(section, r); });
  });
  section.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = {};
      new FormData(form).forEach(function (v, k) { body[k] = v; });
      post(name, form.dataset.action, body).then(function (r) {
        if (r.ok) { form.querySelector("[name=text]").value = ""; }
        show(section, r);
      });
    });
  });
}

function fill(list, items) {
  list.textContent = "";
  items.forEach(function (text) {
    var li = document.createElement("li");
    li.textContent = text;
    list.appendChild(li);
  });
}

function refresh() {
  fetch("/sim/state").then(function (r) { return r.json(); }).then(function (st) {
    var shown = Array.prototype.map.call(document.querySelectorAll("section.instance"), function (s) { return s.dataset.name; });
    var names = st.instances.map(function (i) { return i.name; });
    var typing = document.activeElement && document.activeElement.tagName === "INPUT";
    if (shown.join("\n") !== names.join("\n")) {
      if (!typing) { location.reload(); }
      return;
    }
    st.instances.forEach(function (inst, i) {
      var section = document.querySelectorAll("section.instance")[i];
      section.querySelector(".state").textContent = inst.state;
      section.querySelector(".qr").hidden = !inst.qr_code;
      section.querySelector(".qr-code").textContent = inst.qr_code || "";
      section.querySelector(".pairing-code").textContent = inst.pairing_code || "—";
      fill(section.querySelector(".sent"), inst.sent.map(function (m) {
        return "para " + m.number + ": " + (m.text || "[" + m.kind + "]") + " (" + m.status + ")";
      }));
      fill(section.querySelector(".log"), inst.log.map(function (l) {
        return "[" + l.from + "] " + l.peer + " " + l.push_name + ": " + l.text;
      }));
    });
  }).catch(function () {});
}

document.querySelectorAll("section.instance").forEach(wire);
setInterval(refresh, 2000);
