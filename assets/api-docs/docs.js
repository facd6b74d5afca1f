// The API docs page: fetches /api/v1/openapi.json and renders each operation by tag with its
// parameters, request body, responses and schemas. Everything is built with DOM calls and
// textContent, so nothing in the spec can inject markup. The page's own words are in pt-BR, or
// English when the browser prefers it; the specification itself is written in English.
"use strict";

(function () {
  const SPEC_URL = "/api/v1/openapi.json";
  const METHODS = ["get", "post", "put", "patch", "delete"];
  const EN = /^en\b/i.test(navigator.language || "");
  const T = (pt, en) => (EN ? en : pt);
  // What a status means when the spec gives no description of its own.
  const MEANING = EN ? {
    "200": "OK", "201": "Created", "202": "Accepted (queued)", "204": "Done, no body",
    "400": "Bad query, path or JSON", "401": "Missing or invalid token (`missing_token`, `invalid_token`)",
    "403": "The token lacks the scope (`insufficient_scope`)", "404": "Not found — also anything of another company",
    "409": "Conflict", "413": "Body too large (`payload_too_large`)",
    "415": "Send `Content-Type: application/json` (`unsupported_media_type`)", "422": "Invalid input",
    "429": "Rate limited (`rate_limited`); wait `Retry-After` seconds",
  } : {
    "200": "OK", "201": "Criado", "202": "Aceito (na fila)", "204": "Feito, sem corpo",
    "400": "Consulta, caminho ou JSON inválido", "401": "Token ausente ou inválido (`missing_token`, `invalid_token`)",
    "403": "O token não tem a permissão (`insufficient_scope`)", "404": "Não encontrado — também tudo de outra empresa",
    "409": "Conflito", "413": "Corpo grande demais (`payload_too_large`)",
    "415": "Envie `Content-Type: application/json` (`unsupported_media_type`)", "422": "Dados inválidos",
    "429": "Limite de requisições (`rate_limited`); espere `Retry-After` segundos",
  };
  if (EN) {
    document.documentElement.lang = "en";
    document.title = "Atende REST API";
    document.getElementById("back").textContent = "← Back to Atende";
    document.getElementById("auth-link").textContent = "Authentication";
    const loading = document.querySelector("#content .loading");
    if (loading) loading.textContent = "Loading the specification…";
  }
  let spec = null;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children || []) {
      if (c == null) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }

  /** Text with `code` spans, as the spec's descriptions use them. */
  function prose(text) {
    const p = el("p");
    String(text || "").split(/(`[^`]*`)/).forEach((part) => {
      if (part.startsWith("`") && part.endsWith("`") && part.length > 1) p.appendChild(el("code", { text: part.slice(1, -1) }));
      else if (part) p.appendChild(document.createTextNode(part));
    });
    return p;
  }

  function resolve(schema) {
    if (schema && schema.$ref) {
      const name = schema.$ref.split("/").pop();
      return (spec.components && spec.components.schemas && spec.components.schemas[name]) || {};
    }
    return schema || {};
  }

  function typeName(schema) {
    if (!schema) return "any";
    if (schema.$ref) return schema.$ref.split("/").pop();
    if (schema.allOf) return schema.allOf.map(typeName).join(" & ");
    if (schema.oneOf) return schema.oneOf.map(typeName).join(" | ");
    let t = schema.type;
    if (Array.isArray(t)) t = t.filter((x) => x !== "null").join(" | ") + (schema.type.includes("null") ? " | null" : "");
    if (t === "array" || (Array.isArray(schema.type) && schema.type.includes("array"))) return typeName(schema.items) + "[]";
    if (schema.format) return (t || "any") + " (" + schema.format + ")";
    return t || "object";
  }

  /** An example value built from a schema, to show the shape of a body. */
  function example(schema, depth) {
    depth = depth || 0;
    if (depth > 6) return null;
    const s = resolve(schema);
    if (s.example !== undefined) return s.example;
    if (s.allOf) return Object.assign({}, ...s.allOf.map((x) => example(x, depth + 1)));
    let t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
    if (!t && s.properties) t = "object";
    switch (t) {
      case "object": {
        const out = {};
        for (const [k, v] of Object.entries(s.properties || {})) out[k] = example(v, depth + 1);
        return out;
      }
      case "array": return [example(s.items, depth + 1)];
      case "integer": return 0;
      case "number": return 0.0;
      case "boolean": return false;
      case "string": return s.format === "date-time" ? "2026-11-23T14:05:09.120Z" : "string";
      default: return null;
    }
  }

  function schemaTable(schema) {
    const s = resolve(schema);
    const props = Object.assign({}, ...(s.allOf || []).map((x) => resolve(x).properties || {}), s.properties || {});
    const required = new Set([].concat(s.required || [], ...(s.allOf || []).map((x) => resolve(x).required || [])));
    const names = Object.keys(props);
    if (!names.length) return el("p", { text: typeName(schema) });
    const rows = names.map((n) => el("tr", {}, [
      el("td", {}, [el("code", { text: n }), required.has(n) ? el("span", { class: "req", text: T(" obrigatório", " required") }) : null]),
      el("td", {}, [el("code", { text: typeName(props[n]) })]),
      el("td", {}, [prose(props[n].description || "")]),
    ]));
    return el("table", {}, [el("tr", {}, [el("th", { text: T("Campo", "Field") }), el("th", { text: T("Tipo", "Type") }), el("th", { text: T("Descrição", "Description") })]), ...rows]);
  }

  function jsonBlock(schema) {
    return el("pre", { text: JSON.stringify(example(schema), null, 2) });
  }

  /** The first sentence of an operation's summary, for its one-line heading. */
  function shortSummary(text) {
    const first = String(text).split(/(?<=[.:;])\s/)[0].replace(/[.:;]$/, "");
    const node = prose(first);
    node.className = "sum";
    return node;
  }

  function operation(path, method, op) {
    const body = el("div", { class: "body" });
    const text = [op.summary, op.description].filter(Boolean);
    if (text.length === 2 && text[1].startsWith(text[0])) text.shift();
    text.forEach((t) => body.appendChild(prose(t)));
    const secured = op.security ? op.security.some((r) => Object.keys(r).length) : true;
    body.appendChild(el("p", {}, [el("span", { class: "scope", text: secured ? "Authorization: Bearer token" : T("sem autenticação", "no authentication") })]));

    const params = op.parameters || [];
    if (params.length) {
      body.appendChild(el("h4", { text: T("Parâmetros", "Parameters") }));
      body.appendChild(el("table", {}, [
        el("tr", {}, [el("th", { text: T("Nome", "Name") }), el("th", { text: T("Onde", "In") }), el("th", { text: T("Tipo", "Type") }), el("th", { text: T("Descrição", "Description") })]),
        ...params.map((p) => el("tr", {}, [
          el("td", {}, [el("code", { text: p.name }), p.required ? el("span", { class: "req", text: T(" obrigatório", " required") }) : null]),
          el("td", { text: p.in }),
          el("td", {}, [el("code", { text: typeName(p.schema) })]),
          el("td", {}, [prose(p.description || "")]),
        ])),
      ]));
    }

    const rb = op.requestBody && op.requestBody.content;
    if (rb) {
      body.appendChild(el("h4", { text: T("Corpo da requisição", "Request body") }));
      for (const [type, media] of Object.entries(rb)) {
        body.appendChild(el("p", {}, [el("code", { text: type }), op.requestBody.description ? " — " + op.requestBody.description : ""]));
        if (media.schema) {
          body.appendChild(schemaTable(media.schema));
          body.appendChild(jsonBlock(media.schema));
        }
      }
    }

    body.appendChild(el("h4", { text: T("Respostas", "Responses") }));
    const rows = Object.entries(op.responses || {}).map(([status, r]) => {
      const media = r.content && Object.values(r.content)[0];
      const schema = media && media.schema;
      const cls = "status s" + status[0];
      return el("tr", {}, [
        el("td", {}, [el("span", { class: cls, text: status })]),
        el("td", {}, [prose(r.description || MEANING[status] || "")]),
        el("td", {}, [schema ? el("code", { text: typeName(schema) }) : null]),
      ]);
    });
    body.appendChild(el("table", {}, [el("tr", {}, [el("th", { text: "Status" }), el("th", { text: T("Significado", "Meaning") }), el("th", { text: T("Corpo", "Body") })]), ...rows]));
    const ok = Object.entries(op.responses || {}).find(([s]) => s.startsWith("2"));
    const okSchema = ok && ok[1].content && ok[1].content["application/json"] && ok[1].content["application/json"].schema;
    if (okSchema) {
      body.appendChild(el("h4", { text: T("Resposta ", "Response ") + ok[0] }));
      body.appendChild(schemaTable(okSchema));
      body.appendChild(jsonBlock(okSchema));
    }

    const id = (method + path).replace(/[^a-zA-Z0-9]+/g, "-");
    return el("details", { class: "op", id }, [
      el("summary", {}, [
        el("span", { class: "method m-" + method, text: method }),
        el("span", { class: "path", text: path }),
        shortSummary(op.summary || op.description || ""),
      ]),
      body,
    ]);
  }

  function render() {
    document.getElementById("title").textContent = spec.info.title + (spec.info.version ? " v" + spec.info.version : "");
    document.getElementById("summary").replaceWith(prose(spec.info.description || ""));
    const byTag = new Map((spec.tags || []).map((t) => [t.name, { info: t, ops: [] }]));
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const tag = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(tag)) byTag.set(tag, { info: { name: tag }, ops: [] });
        byTag.get(tag).ops.push([path, method, op]);
      }
    }
    const content = document.getElementById("content");
    const toc = document.getElementById("toc");
    content.textContent = "";
    const auth = el("section", { class: "tag", id: "auth" }, [
      el("h2", { text: T("Autenticação", "Authentication") }),
      prose(T(
        "Envie `Authorization: Bearer <token>` (crie tokens em Integrações → API). Permissões: `read` para GETs, `write` para criar e alterar, `send` para enviar mensagens. Erros vêm como `{\"error\": {\"code\": …, \"message\": …}}`.",
        "Send `Authorization: Bearer <token>` (create tokens under Integrations → API). Scopes: `read` for GETs, `write` to create and change, `send` to send messages. Errors are `{\"error\": {\"code\": …, \"message\": …}}`.",
      )),
    ]);
    content.appendChild(auth);
    for (const [name, group] of byTag) {
      if (!group.ops.length) continue;
      toc.appendChild(el("a", { href: "#tag-" + name, text: name.replace(/_/g, " ") }));
      content.appendChild(el("section", { class: "tag", id: "tag-" + name }, [
        el("h2", { text: name.replace(/_/g, " ") }),
        group.info.description ? prose(group.info.description) : null,
        ...group.ops.map(([p, m, o]) => operation(p, m, o)),
      ]));
    }
    if (location.hash) {
      const target = document.getElementById(location.hash.slice(1));
      if (target) { if (target.tagName === "DETAILS") target.open = true; target.scrollIntoView(); }
    }
  }

  fetch(SPEC_URL, { headers: { Accept: "application/json" } })
    .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then((json) => { spec = json; render(); })
    .catch((e) => {
      const content = document.getElementById("content");
      content.textContent = "";
      content.appendChild(el("p", { class: "error", text: T("Não foi possível carregar ", "Could not load ") + SPEC_URL + ": " + e.message }));
    });
})();
