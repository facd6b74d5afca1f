// The chatbot's editor: node forms over the flow's JSON (the textarea stays the source of truth,
// so import/export is copy and paste), the server-drawn map refreshed as you type, and the test
// chat. Written for Atende; no libraries.

const TYPES = {
  message: "Mensagem",
  menu: "Menu de opções",
  question: "Pergunta",
  condition: "Condição",
  set: "Definir setor, etiqueta ou prioridade",
  http: "Consultar um sistema (HTTP)",
  handoff: "Transferir para atendente",
  close: "Encerrar atendimento",
  wait: "Aguardar (minutos)",
  goto: "Ir para outro chatbot",
};
const KINDS = { text: "Texto", number: "Número", email: "E-mail", phone: "Telefone", cpf_cnpj: "CPF ou CNPJ", date: "Data (dd/mm/aaaa)" };
const TESTS = { keyword: "A mensagem menciona as palavras", open: "Estamos no horário de atendimento", channel: "A conexão é do tipo", var_equals: "Uma variável é igual a", var_set: "Uma variável foi preenchida" };
const PRIORITIES = { "": "—", low: "Baixa", normal: "Normal", high: "Alta", urgent: "Urgente" };
const URGENCIES = { "": "—", low: "Baixa", medium: "Média", high: "Alta", critical: "Crítica" };
const COMPLEXITIES = { "": "—", simple: "Simples", moderate: "Moderada", complex: "Complexa" };
const CHANNELS = { whatsapp_cloud: "WhatsApp Cloud API", whatsapp_qr: "WhatsApp (QR Code)" };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

function start(root) {
  const textarea = root.querySelector("#flow-json");
  const nodesBox = root.querySelector("[data-nodes]");
  const startSelect = root.querySelector("[data-start]");
  const newType = root.querySelector("[data-new-type]");
  const graph = root.querySelector("[data-graph]");
  const problems = root.querySelector("[data-problems]");
  const csrf = root.dataset.csrf;
  let departments = [];
  try { departments = JSON.parse(root.dataset.departments || "[]"); } catch (_) { departments = []; }
  // The company's other chatbots, `[[id, name], …]`, for "go to another chatbot".
  let chatbots = [];
  try { chatbots = JSON.parse(root.dataset.chatbots || "[]"); } catch (_) { chatbots = []; }
  let flow = read();

  root.querySelector("[data-start-row]").hidden = false;
  root.querySelector("[data-add-row]").hidden = false;
  for (const [k, v] of Object.entries(TYPES)) newType.append(el("option", { value: k, text: v }));

  function read() {
    const text = textarea.value.trim();
    if (!text) return { start: "", nodes: {} };
    try {
      const f = JSON.parse(text);
      if (f && typeof f === "object" && f.nodes && typeof f.nodes === "object") return f;
    } catch (_) { /* the JSON is being edited by hand: leave the forms as they are */ }
    return null;
  }

  function write() {
    textarea.value = Object.keys(flow.nodes).length ? JSON.stringify(flow, null, 2) : "";
    refresh();
  }

  // ------------------------------------------------------------ forms per node
  function names() { return Object.keys(flow.nodes); }

  function nodeSelect(value, onChange, label, optional = true) {
    const s = el("select", { "aria-label": label });
    if (optional) s.append(el("option", { value: "", text: "— (fim)" }));
    for (const n of names()) s.append(el("option", { value: n, text: n, selected: n === value }));
    s.addEventListener("change", () => onChange(s.value || undefined));
    return s;
  }

  function field(label, input) {
    return el("label", {}, label, input);
  }

  function textInput(node, key, label, { area = false, required = false } = {}) {
    const input = area ? el("textarea", { rows: 2, "aria-label": label }) : el("input", { "aria-label": label });
    input.value = node[key] ?? "";
    input.addEventListener("input", () => {
      if (input.value === "" && !required) delete node[key];
      else node[key] = input.value;
      write();
    });
    return field(label, input);
  }

  function choice(node, key, label, options, { numeric = false } = {}) {
    const s = el("select", { "aria-label": label });
    for (const [k, v] of options) s.append(el("option", { value: k, text: v, selected: String(node[key] ?? "") === String(k) }));
    s.addEventListener("change", () => {
      if (s.value === "") delete node[key];
      else node[key] = numeric ? Number(s.value) : s.value;
      write();
    });
    return field(label, s);
  }

  function link(node, key, label, optional = true) {
    return field(label, nodeSelect(node[key], (v) => { if (v) node[key] = v; else delete node[key]; write(); }, label, optional));
  }

  const departmentOptions = () => [["", "—"], ...departments.map(([id, name]) => [id, name])];

  function form(name, node) {
    const box = el("fieldset", { class: "flow-node", "data-node": name });
    const title = el("legend", {}, el("span", { class: "flow-node-type", text: TYPES[node.type] || node.type }), " ", el("code", { text: name }));
    const rename = el("button", { type: "button", class: "link", text: "Renomear" });
    rename.addEventListener("click", () => {
      const to = (prompt("Novo nome da etapa (letras, números e hífen):", name) || "").trim();
      if (!to || to === name || flow.nodes[to] || !/^[A-Za-z0-9_-]{1,40}$/.test(to)) return;
      flow.nodes[to] = flow.nodes[name];
      delete flow.nodes[name];
      const swap = (v) => (v === name ? to : v);
      if (flow.start === name) flow.start = to;
      for (const n of Object.values(flow.nodes)) {
        for (const k of ["next", "fallback", "then", "else", "error"]) if (n[k] !== undefined) n[k] = swap(n[k]);
        for (const o of n.options || []) o.next = swap(o.next);
      }
      write();
      render();
    });
    const remove = el("button", { type: "button", class: "link danger", text: "Remover" });
    remove.addEventListener("click", () => {
      delete flow.nodes[name];
      if (flow.start === name) flow.start = names()[0] || "";
      write();
      render();
    });
    box.append(title, el("div", { class: "flow-node-actions" }, rename, remove));
    switch (node.type) {
      case "message":
        box.append(textInput(node, "text", "Texto", { area: true, required: true }), link(node, "next", "Depois vai para"));
        break;
      case "menu": {
        box.append(textInput(node, "text", "Pergunta", { area: true, required: true }));
        node.options = node.options || [];
        const list = el("ol", { class: "flow-options" });
        node.options.forEach((o, i) => {
          const label = el("input", { "aria-label": `Opção ${i + 1}`, value: o.label });
          label.addEventListener("input", () => { o.label = label.value; write(); });
          const drop = el("button", { type: "button", class: "link danger", text: "×", "aria-label": `Remover a opção ${i + 1}` });
          drop.addEventListener("click", () => { node.options.splice(i, 1); write(); render(); });
          list.append(el("li", {}, label, " → ", nodeSelect(o.next, (v) => { o.next = v || ""; write(); }, `Opção ${i + 1} vai para`, false), drop));
        });
        const add = el("button", { type: "button", class: "secondary", text: "+ Opção" });
        add.addEventListener("click", () => { node.options.push({ label: `Opção ${node.options.length + 1}`, next: names()[0] }); write(); render(); });
        box.append(el("div", { class: "flow-field" }, el("span", { text: "Opções" }), list, add));
        box.append(textInput(node, "invalid", "Se não entender, responde"), link(node, "fallback", "Se não entender de novo, vai para"));
        break;
      }
      case "question":
        box.append(
          textInput(node, "text", "Pergunta", { area: true, required: true }),
          choice(node, "kind", "Tipo de resposta", Object.entries(KINDS)),
          textInput(node, "save_as", "Guardar em (variável, ou contact.campo para o contato)", { required: true }),
          link(node, "next", "Depois vai para"),
          textInput(node, "invalid", "Se a resposta não valer, responde"),
          link(node, "fallback", "Se errar de novo, vai para"),
        );
        break;
      case "condition": {
        box.append(choice(node, "test", "Se", Object.entries(TESTS)));
        if (node.test === "keyword") box.append(textInput(node, "words", "Palavras (separadas por vírgula)", { required: true }));
        if (node.test === "channel") box.append(choice(node, "channel", "Tipo de conexão", Object.entries(CHANNELS)));
        if (node.test === "var_equals" || node.test === "var_set") box.append(textInput(node, "var", "Variável", { required: true }));
        if (node.test === "var_equals") box.append(textInput(node, "value", "Valor", { required: true }));
        box.append(link(node, "then", "Então vai para", false), link(node, "else", "Senão vai para", false));
        break;
      }
      case "set":
        box.append(
          choice(node, "department", "Setor", departmentOptions(), { numeric: true }),
          textInput(node, "tag", "Etiqueta"),
          choice(node, "priority", "Prioridade", Object.entries(PRIORITIES)),
          choice(node, "urgency", "Urgência (SLA)", Object.entries(URGENCIES)),
          choice(node, "complexity", "Complexidade (SLA)", Object.entries(COMPLEXITIES)),
          link(node, "next", "Depois vai para"),
        );
        break;
      case "http":
        box.append(
          choice(node, "method", "Método", [["GET", "GET"], ["POST", "POST"]]),
          textInput(node, "url", "Endereço (use {{variável}})", { required: true }),
          textInput(node, "body", "Corpo JSON (POST)", { area: true }),
          saveMap(node),
          link(node, "next", "Se der certo, vai para", false),
          link(node, "error", "Se falhar, vai para"),
        );
        break;
      case "handoff":
        box.append(choice(node, "department", "Setor", departmentOptions(), { numeric: true }), textInput(node, "text", "Mensagem ao transferir"));
        break;
      case "close":
        box.append(textInput(node, "text", "Despedida"));
        break;
      case "wait": {
        const minutes = el("input", { type: "number", min: 1, max: 10080, "aria-label": "Minutos" });
        minutes.value = node.minutes ?? 60;
        minutes.addEventListener("input", () => { node.minutes = Number(minutes.value) || 0; write(); });
        box.append(field("Aguardar quantos minutos (até 10080, 7 dias)", minutes), link(node, "next", "Depois vai para", false));
        box.append(el("p", { class: "muted", text: "O que o cliente escrever durante a espera não muda o fluxo." }));
        break;
      }
      case "goto":
        box.append(choice(node, "flow", "Chatbot", [["", "—"], ...chatbots], { numeric: true }));
        box.append(el("p", { class: "muted", text: "Continua no início do outro chatbot, com as variáveis já guardadas." }));
        break;
      default:
        box.append(el("p", { class: "muted", text: "Edite esta etapa no JSON." }));
    }
    return box;
  }

  // "variable ← /json/pointer", one per line.
  function saveMap(node) {
    const area = el("textarea", { rows: 2, "aria-label": "Guardar da resposta" });
    area.value = Object.entries(node.save || {}).map(([k, v]) => `${k} = ${v}`).join("\n");
    area.addEventListener("input", () => {
      const save = {};
      for (const line of area.value.split("\n")) {
        const [k, ...rest] = line.split("=");
        if (k && k.trim() && rest.length) save[k.trim()] = rest.join("=").trim();
      }
      node.save = save;
      write();
    });
    return field("Guardar da resposta (variável = /caminho/no/json)", area);
  }

  function render() {
    if (!flow) return;
    startSelect.replaceChildren(...names().map((n) => el("option", { value: n, text: n, selected: n === flow.start })));
    nodesBox.replaceChildren(...Object.entries(flow.nodes).map(([name, node]) => form(name, node)));
  }

  startSelect.addEventListener("change", () => { flow.start = startSelect.value; write(); });

  function freshName(type) {
    let i = 1;
    while (flow.nodes[`${type}-${i}`]) i++;
    return `${type}-${i}`;
  }

  const BLANK = {
    message: () => ({ type: "message", text: "Olá!" }),
    menu: () => ({ type: "menu", text: "Como podemos ajudar?", options: [] }),
    question: () => ({ type: "question", text: "Qual é o seu CPF?", kind: "cpf_cnpj", save_as: "contact.cpf" }),
    condition: () => ({ type: "condition", test: "open", then: flow.start, else: flow.start }),
    set: () => ({ type: "set", priority: "high" }),
    http: () => ({ type: "http", method: "GET", url: "https://", next: flow.start }),
    handoff: () => ({ type: "handoff" }),
    close: () => ({ type: "close", text: "Obrigado pelo contato!" }),
    wait: () => ({ type: "wait", minutes: 60, next: flow.start }),
    goto: () => ({ type: "goto", flow: chatbots[0]?.[0] ?? 0 }),
  };

  root.querySelector("[data-add]").addEventListener("click", () => {
    if (!flow) return;
    const type = newType.value;
    const name = freshName(type);
    flow.nodes[name] = BLANK[type]();
    if (!flow.start) flow.start = name;
    for (const n of Object.values(flow.nodes)) for (const k of ["then", "else", "next"]) if (n[k] === "") n[k] = name;
    write();
    render();
    nodesBox.querySelector(`[data-node="${CSS.escape(name)}"] input, [data-node="${CSS.escape(name)}"] textarea`)?.focus();
  });

  root.querySelector("[data-template]").addEventListener("click", () => {
    if (!flow || !departments.length) return;
    const nodes = { menu: { type: "menu", text: "Como podemos ajudar? Escolha uma opção:", options: [] } };
    for (const [id, name] of departments) {
      nodes[`setor-${id}`] = { type: "handoff", department: id };
      nodes.menu.options.push({ label: name, next: `setor-${id}` });
    }
    flow = { start: "menu", nodes };
    write();
    render();
  });

  textarea.addEventListener("input", () => {
    const f = read();
    if (f) { flow = f; render(); refresh(); }
  });

  // ------------------------------------------------------------ map and problems
  let timer = null;
  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const body = new URLSearchParams({ csrf, flow: textarea.value });
      try {
        const r = await fetch("/admin/chatbot/preview", { method: "POST", body, credentials: "same-origin" });
        const answer = await r.json();
        if (answer.svg !== undefined) graph.innerHTML = answer.svg;
        problems.replaceChildren(...(answer.errors || []).map((e) => el("li", {}, el("strong", { text: e.node }), `: ${e.message}`)));
        if (answer.error) problems.replaceChildren(el("li", { text: answer.error }));
        for (const box of nodesBox.querySelectorAll("[data-node]")) {
          box.classList.toggle("bad", (answer.errors || []).some((e) => e.node === box.dataset.node));
        }
      } catch (_) { /* offline: the map waits for the next change */ }
    }, 300);
  }

  // ------------------------------------------------------------ test chat
  const chat = root.querySelector("[data-chat]");
  const testForm = root.querySelector("[data-test-form]");
  let state = "";
  let started = false;

  function bubble(kind, ...children) {
    chat.append(el("div", { class: `flow-bubble ${kind}` }, ...children));
    chat.scrollTop = chat.scrollHeight;
  }

  async function turn(reply) {
    const body = new URLSearchParams({ csrf, flow: textarea.value, state, reply });
    const r = await fetch("/admin/chatbot/test", { method: "POST", body, credentials: "same-origin" });
    const answer = await r.json();
    if (answer.error) { bubble("note", answer.error); state = ""; started = false; return; }
    for (const s of answer.says) {
      if (s.text !== undefined) bubble("bot", s.text);
      else {
        const buttons = s.options.map((o, i) => {
          const b = el("button", { type: "button", class: "secondary", text: o });
          b.addEventListener("click", () => send(String(i + 1), o));
          return b;
        });
        bubble("bot", el("p", { text: s.prompt }), el("div", { class: "flow-choices" }, ...buttons));
      }
    }
    for (const n of answer.notes || []) bubble("note", n);
    state = answer.state || "";
    if (answer.outcome) { bubble("note outcome", answer.outcome); started = false; state = ""; }
  }

  async function send(reply, shown) {
    bubble("me", shown ?? reply);
    if (!started) { started = true; state = ""; }
    await turn(reply);
  }

  testForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = testForm.elements.reply;
    const reply = input.value.trim();
    if (!reply) return;
    input.value = "";
    await send(reply);
  });
  root.querySelector("[data-test-restart]").addEventListener("click", () => { chat.replaceChildren(); state = ""; started = false; });

  if (flow) render();
}

// Last: the tables above must be initialised before the editor reads them.
const root = document.querySelector("[data-flow-editor]");
if (root) start(root);
