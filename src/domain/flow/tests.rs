use super::*;

fn menu_flow() -> Flow {
    department_menu(
        "Olá! Como podemos ajudar?",
        &[(1, "Vendas".into()), (2, "Suporte".into()), (3, "Financeiro".into())],
    )
}

pub(super) fn ctx(text: &str) -> Context {
    Context { text: text.into(), open_now: true, channel: "whatsapp_cloud".into(), contact: BTreeMap::new() }
}

fn flow(json: &str) -> Flow {
    let f: Flow = serde_json::from_str(json).unwrap();
    assert_eq!(validate(&f, &|d| d <= 3, &|f| f <= 3), Ok(()), "{json}");
    f
}

fn texts(step: &Step) -> Vec<String> {
    step.says
        .iter()
        .map(|s| match s {
            Say::Text(t) => t.clone(),
            Say::Choices { prompt, .. } => prompt.clone(),
        })
        .collect()
}

#[test]
fn a_menu_waits_and_a_choice_hands_off_to_its_department() {
    let f = menu_flow();
    let s = start(&f, &ctx("oi"));
    assert_eq!(
        s.says,
        vec![Say::Choices {
            prompt: "Olá! Como podemos ajudar?".into(),
            options: vec!["Vendas".into(), "Suporte".into(), "Financeiro".into()]
        }]
    );
    let waiting = s.waiting.unwrap();
    assert_eq!(answer(&f, &waiting, &ctx("2")).effect, Some(Effect::Handoff { department: Some(2) }));
    assert_eq!(answer(&f, &waiting, &ctx("suporte")).effect, Some(Effect::Handoff { department: Some(2) }));
    // One re-prompt, then people.
    let again = answer(&f, &waiting, &ctx("quero saber o preço"));
    assert_eq!(again.says.len(), 2);
    assert!(matches!(&again.says[0], Say::Text(t) if t.contains("Não entendi")));
    let retried = again.waiting.unwrap();
    assert_eq!(retried.retries, 1);
    assert_eq!(answer(&f, &retried, &ctx("hã?")).effect, Some(Effect::Handoff { department: None }));
}

#[test]
fn messages_chain_and_close_says_goodbye() {
    let mut f = menu_flow();
    f.nodes.insert("oi".into(), Node::Message { text: "Bem-vindo!".into(), next: Some("menu".into()) });
    f.nodes.insert("tchau".into(), Node::Close { text: Some("Até logo".into()) });
    f.start = "oi".into();
    let s = start(&f, &ctx(""));
    assert_eq!(s.says[0], Say::Text("Bem-vindo!".into()));
    assert!(s.waiting.is_some());
    f.start = "tchau".into();
    assert_eq!(
        start(&f, &ctx("")),
        Step { says: vec![Say::Text("Até logo".into())], effect: Some(Effect::Close), ..Step::default() }
    );
}

const CPF_FLOW: &str = r#"{"start":"q","nodes":{
    "q":{"type":"question","text":"Qual é o seu CPF ou CNPJ?","kind":"cpf_cnpj","save_as":"contact.cpf","next":"ok"},
    "ok":{"type":"close","text":"Obrigado! Documento {{contact.cpf}} registrado."}}}"#;

#[test]
fn a_question_re_asks_an_invalid_answer_then_saves_the_valid_one() {
    let f = flow(CPF_FLOW);
    let s = start(&f, &ctx("oi"));
    assert_eq!(texts(&s), ["Qual é o seu CPF ou CNPJ?"]);
    let at = s.waiting.unwrap();
    let bad = answer(&f, &at, &ctx("123.456.789-00"));
    assert_eq!(texts(&bad), ["Não entendi. Informe um CPF ou CNPJ válido."]);
    let again = bad.waiting.unwrap();
    assert_eq!((again.node.as_str(), again.retries), ("q", 1));
    let good = answer(&f, &again, &ctx("529.982.247-25"));
    assert_eq!(good.changes, [Change::ContactField { key: "cpf".into(), value: "52998224725".into() }]);
    assert_eq!(texts(&good), ["Obrigado! Documento 52998224725 registrado."]);
    assert_eq!(good.effect, Some(Effect::Close));
    // A second invalid answer, with no fallback: people.
    let twice = answer(&f, &again, &ctx("não sei"));
    assert_eq!(twice.effect, Some(Effect::Handoff { department: None }));
    assert!(twice.says.is_empty());
}

#[test]
fn a_question_saves_a_ticket_variable_used_by_later_texts_and_conditions() {
    let f = flow(
        r#"{"start":"q","nodes":{
        "q":{"type":"question","text":"Seu e-mail?","kind":"email","save_as":"email_cliente","next":"c","invalid":"E-mail inválido, {{nome}}.","retries":2,"fallback":"h"},
        "c":{"type":"condition","test":"var_equals","var":"email_cliente","value":"ANA@EXEMPLO.COM","then":"vip","else":"h"},
        "vip":{"type":"message","text":"Olá {{email_cliente}}, {{nome}}!","next":"h"},
        "h":{"type":"handoff","department":2}}}"#,
    );
    let at = start(&f, &ctx("")).waiting.unwrap();
    let bad = answer(&f, &at, &ctx("ana@"));
    assert_eq!(texts(&bad), ["E-mail inválido, {{nome}}."], "unknown placeholders stay for the caller");
    let good = answer(&f, &bad.waiting.unwrap(), &ctx(" Ana@Exemplo.com "));
    assert_eq!(texts(&good), ["Olá ana@exemplo.com, {{nome}}!"]);
    assert!(good.changes.is_empty());
    assert_eq!(good.effect, Some(Effect::Handoff { department: Some(2) }));
    // Three invalid answers with retries 2: the fallback.
    let mut state = at;
    for _ in 0..2 {
        state = answer(&f, &state, &ctx("x")).waiting.unwrap();
    }
    assert_eq!(answer(&f, &state, &ctx("x")).effect, Some(Effect::Handoff { department: Some(2) }));
}

#[test]
fn conditions_branch_on_keywords_hours_channel_and_variables() {
    let f = flow(
        r#"{"start":"k","nodes":{
        "k":{"type":"condition","test":"keyword","words":"preço, orçamento","then":"vendas","else":"o"},
        "o":{"type":"condition","test":"open","then":"ch","else":"fechado"},
        "ch":{"type":"condition","test":"channel","channel":"whatsapp_qr","then":"qr","else":"s"},
        "s":{"type":"condition","test":"var_set","var":"contact.cpf","then":"tem","else":"sem"},
        "vendas":{"type":"handoff","department":1},
        "fechado":{"type":"close","text":"Fechado"},
        "qr":{"type":"close","text":"QR"},
        "tem":{"type":"close","text":"Tem CPF"},
        "sem":{"type":"close","text":"Sem CPF"}}}"#,
    );
    assert_eq!(start(&f, &ctx("Qual o PREÇO?")).effect, Some(Effect::Handoff { department: Some(1) }));
    assert_eq!(texts(&start(&f, &Context { open_now: false, ..ctx("oi") })), ["Fechado"]);
    assert_eq!(texts(&start(&f, &Context { channel: "whatsapp_qr".into(), ..ctx("oi") })), ["QR"]);
    assert_eq!(texts(&start(&f, &ctx("oi"))), ["Sem CPF"]);
    let mut with_cpf = ctx("oi");
    with_cpf.contact.insert("cpf".into(), "52998224725".into());
    assert_eq!(texts(&start(&f, &with_cpf)), ["Tem CPF"]);
    assert_eq!(f.nodes["k"].links(), [("sim".to_string(), "vendas"), ("não".to_string(), "o")]);
}

#[test]
fn variables_compare_ignoring_case_and_accents() {
    let f = flow(
        r#"{"start":"q","nodes":{
        "q":{"type":"question","text":"Cidade?","save_as":"cidade","next":"c"},
        "c":{"type":"condition","test":"var_equals","var":"cidade","value":"São Paulo","then":"sp","else":"outra"},
        "sp":{"type":"close","text":"SP"},"outra":{"type":"close","text":"Outra"}}}"#,
    );
    let at = start(&f, &ctx("")).waiting.unwrap();
    assert_eq!(texts(&answer(&f, &at, &ctx("  sao   PAULO "))), ["SP"]);
    assert_eq!(texts(&answer(&f, &at, &ctx("Campinas"))), ["Outra"]);
    assert!(answer(&f, &at, &ctx("   ")).waiting.is_some(), "an empty text is re-asked");
}

#[test]
fn a_set_node_changes_the_ticket_and_a_later_plain_handoff_goes_to_its_department() {
    let f = flow(
        r#"{"start":"s","nodes":{
        "s":{"type":"set","department":3,"tag":"VIP","priority":"high","next":"m"},
        "m":{"type":"menu","text":"Quer falar com alguém?","options":[{"label":"Sim","next":"h"}]},
        "h":{"type":"handoff"}}}"#,
    );
    let s = start(&f, &ctx(""));
    assert_eq!(s.changes, [Change::Department(3), Change::Tag("VIP".into()), Change::Priority(Priority::High)]);
    let at = s.waiting.unwrap();
    assert_eq!(at.department, Some(3));
    // The state goes through JSON (the ticket's bot_state) between messages.
    let at: BotState = serde_json::from_str(&serde_json::to_string(&at).unwrap()).unwrap();
    let done = answer(&f, &at, &ctx("1"));
    assert!(done.changes.is_empty());
    assert_eq!(done.effect, Some(Effect::Handoff { department: Some(3) }));
}

const ORDER_FLOW: &str = r#"{"start":"q","nodes":{
    "q":{"type":"question","text":"Número do pedido?","kind":"number","save_as":"pedido","next":"api"},
    "api":{"type":"http","url":"https://loja.example/pedidos/{{pedido}}?quem={{nome}}","save":{"status":"/status","itens":"/itens/0/qtd"},"next":"diz","error":"falhou"},
    "diz":{"type":"close","text":"Seu pedido está: {{status}} ({{itens}})"},
    "falhou":{"type":"handoff","text":"Não consegui consultar agora."}}}"#;

#[test]
fn an_http_node_pauses_with_a_request_and_resumes_with_its_answer() {
    let f = flow(ORDER_FLOW);
    let at = start(&f, &ctx("")).waiting.unwrap();
    let mut c = ctx("12 3");
    c.contact.insert("nome".into(), "Zé & Cia".into());
    assert!(answer(&f, &at, &c).request.is_none(), "not a number: asked again");
    let c = Context { text: "123".into(), ..c };
    let s = answer(&f, &at, &c);
    let call = s.request.clone().unwrap();
    assert_eq!(
        call,
        HttpCall {
            method: Method::Get,
            url: "https://loja.example/pedidos/123?quem=Z%C3%A9%20%26%20Cia".into(),
            body: None
        }
    );
    let paused = s.waiting.unwrap();
    assert_eq!(paused.node, "api");
    assert!(s.effect.is_none() && s.says.is_empty());
    let ok = HttpOutcome::Response { status: 200, body: r#"{"status":"enviado","itens":[{"qtd":2}]}"#.into() };
    let done = resume(&f, &paused, &c, ok);
    assert_eq!(texts(&done), ["Seu pedido está: enviado (2)"]);
    assert_eq!(done.effect, Some(Effect::Close));
    for failed in [
        HttpOutcome::Response { status: 404, body: "{}".into() },
        HttpOutcome::Response { status: 200, body: "<html>".into() },
        HttpOutcome::Failed { reason: "timed out".into() },
    ] {
        let s = resume(&f, &paused, &c, failed);
        assert_eq!(texts(&s), ["Não consegui consultar agora."]);
        assert_eq!(s.effect, Some(Effect::Handoff { department: None }));
    }
    // A state left at the request (the call never finished) makes it again.
    assert_eq!(answer(&f, &paused, &Context { text: "oi".into(), ..c.clone() }).request, Some(call));
    // resume on a state that is not at a request: people.
    assert!(resume(&f, &at, &c, HttpOutcome::Failed { reason: String::new() }).effect.is_some());
}

#[test]
fn an_http_post_body_escapes_its_values_as_json() {
    let f = flow(
        r#"{"start":"q","nodes":{
        "q":{"type":"question","text":"Conte","save_as":"texto","next":"api"},
        "api":{"type":"http","method":"POST","url":"http://api.example/x","body":"{\"texto\":\"{{texto}}\",\"n\":1}","next":"fim"},
        "fim":{"type":"close"}}}"#,
    );
    let at = start(&f, &ctx("")).waiting.unwrap();
    let s = answer(&f, &at, &ctx("diz \"oi\"\nagora"));
    let body = s.request.unwrap().body.unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["texto"], "diz \"oi\"\nagora");
    let paused = s.waiting.unwrap();
    let done = resume(&f, &paused, &ctx(""), HttpOutcome::Response { status: 204, body: String::new() });
    assert_eq!(done.effect, Some(Effect::Close), "no save: any 2xx goes on");
}

#[test]
fn answers_are_checked_by_kind() {
    use AnswerKind::*;
    for (kind, reply, saved) in [
        (Text, "  olá ", Some("olá")),
        (Text, "", None),
        (Number, "42", Some("42")),
        (Number, "-3,5", Some("-3,5")),
        (Number, "1.234,56", Some("1.234,56")),
        (Number, "12a", None),
        (Number, "1.23.4", None),
        (Email, "Ana@Exemplo.com", Some("ana@exemplo.com")),
        (Email, "ana@exemplo", None),
        (Phone, "(11) 98765-4321", Some("+5511987654321")),
        (Phone, "11 3456-7890", Some("+551134567890")),
        (Phone, "+351 912 345 678", Some("+351912345678")),
        (Phone, "98765-4321", None),
        (Phone, "abc", None),
        (CpfCnpj, "529.982.247-25", Some("52998224725")),
        (CpfCnpj, "52998224725", Some("52998224725")),
        (CpfCnpj, "529.982.247-24", None),
        (CpfCnpj, "111.111.111-11", None),
        (CpfCnpj, "11.222.333/0001-81", Some("11222333000181")),
        (CpfCnpj, "11.222.333/0001-80", None),
        (CpfCnpj, "CPF 52998224725", None),
        (Date, "07/09/1822", Some("07/09/1822")),
        (Date, "7/9/2024", Some("07/09/2024")),
        (Date, "29/02/2024", Some("29/02/2024")),
        (Date, "29/02/2023", None),
        (Date, "31/04/2024", None),
        (Date, "2024-01-01", None),
        (Date, "01/13/2024", None),
    ] {
        assert_eq!(check_answer(kind, reply).as_deref(), saved, "{kind:?} {reply:?}");
    }
    assert!(is_cpf("39053344705") && !is_cpf("3905334470") && !is_cpf("00000000000"));
    assert!(is_cnpj("45723174000110") && !is_cnpj("45723174000111") && !is_cnpj("11111111111111"));
}

#[test]
fn validation_names_the_node_of_each_problem() {
    let mut f = menu_flow();
    assert_eq!(validate(&f, &|d| d <= 3, &|f| f <= 3), Ok(()));
    f.nodes.insert("a".into(), Node::Message { text: "x".into(), next: Some("b".into()) });
    f.nodes.insert("b".into(), Node::Message { text: "y".into(), next: Some("a".into()) });
    f.nodes.insert(
        "c".into(),
        Node::Menu { text: "?".into(), options: vec![], invalid: None, retries: 1, fallback: Some("z".into()) },
    );
    f.nodes.insert("d".into(), Node::Handoff { department: Some(9), text: None });
    let errors = validate(&f, &|d| d <= 3, &|f| f <= 3).unwrap_err();
    let nodes: Vec<&str> = errors.iter().map(|e| e.node.as_str()).collect();
    assert!(nodes.contains(&"a") && nodes.contains(&"b") && nodes.contains(&"c") && nodes.contains(&"d"), "{errors:?}");
    assert!(errors.iter().any(|e| e.message.contains("loop")));
    f.start = "nowhere".into();
    assert!(validate(&f, &|_| true, &|_| true).unwrap_err().iter().any(|e| e.node == "nowhere"));
}

fn problems(json: &str) -> Vec<String> {
    let f: Flow = serde_json::from_str(json).unwrap();
    validate(&f, &|d| d <= 3, &|f| f <= 3)
        .unwrap_err()
        .into_iter()
        .map(|e| format!("{}: {}", e.node, e.message))
        .collect()
}

#[test]
fn validation_checks_the_new_nodes() {
    let p = problems(
        r#"{"start":"q","nodes":{
        "q":{"type":"question","text":"?","save_as":"Contact.CPF","next":"c"},
        "q2":{"type":"question","text":"?","save_as":"contact.nome","next":"nada"},
        "c":{"type":"condition","test":"channel","channel":"telegram","then":"s","else":""},
        "k":{"type":"condition","test":"keyword","words":" , ","then":"s","else":"s"},
        "v":{"type":"condition","test":"var_set","var":"a b","then":"s","else":"s"},
        "s":{"type":"set","department":7,"next":"h"},
        "s2":{"type":"set","next":"h"},
        "s3":{"type":"set","tag":"  ","next":"h"},
        "h":{"type":"http","method":"GET","url":"ftp://x/{{a}}","body":"{}","save":{"x":"status","Y":"/y"},"next":"q","error":"fora"},
        "h2":{"type":"http","method":"POST","url":"https://{{host}}/x","body":"{nope","next":"q"}}}"#,
    );
    let has = |node: &str, part: &str| p.iter().any(|e| e.starts_with(&format!("{node}: ")) && e.contains(part));
    for (node, part) in [
        ("q", "not a variable name"),
        ("q2", "not a variable name"),
        ("q2", "\"nada\", which does not exist"),
        ("c", "both branches"),
        ("c", "not a channel"),
        ("k", "at least one word"),
        ("v", "not a variable name"),
        ("s", "department 7 does not exist"),
        ("s2", "sets a department, a tag, a priority, an urgency or a complexity"),
        ("s3", "the tag"),
        ("h", "http:// or https://"),
        ("h", "sends no body"),
        ("h", "not a JSON pointer"),
        ("h", "\"Y\" is not a variable name"),
        ("h", "\"fora\", which does not exist"),
        ("h2", "host"),
        ("h2", "not a JSON template"),
    ] {
        assert!(has(node, part), "{node}: {part} not in {p:#?}");
    }
    // An HTTP node without "next" is not even JSON for a flow.
    assert!(serde_json::from_str::<Flow>(r#"{"start":"h","nodes":{"h":{"type":"http","url":"https://a.example/"}}}"#)
        .is_err());
    let long = format!(
        r#"{{"start":"h","nodes":{{"h":{{"type":"http","url":"https://a.example/{}","next":"f"}},"f":{{"type":"close"}}}}}}"#,
        "x".repeat(2048)
    );
    assert!(problems(&long).iter().any(|e| e.contains("2048")));
    let bad_priority = r#"{"start":"s","nodes":{"s":{"type":"set","priority":"máxima","next":"s"}}}"#;
    assert!(serde_json::from_str::<Flow>(bad_priority).is_err());
    let bad_kind = r#"{"start":"q","nodes":{"q":{"type":"question","text":"?","kind":"rg","save_as":"x"}}}"#;
    assert!(serde_json::from_str::<Flow>(bad_kind).is_err());
    assert!(safe_var("pedido_2") && safe_var("contact.cpf") && !safe_var("contact.2x") && !safe_var(""));
    assert!(!safe_var(&"a".repeat(41)) && !safe_var("contact.") && !safe_var("pedido.id"));
}

#[test]
fn loops_that_never_wait_are_refused_whatever_the_nodes() {
    // condition → set → http → (ok) condition: never waits.
    let p = problems(
        r#"{"start":"c","nodes":{
        "c":{"type":"condition","test":"open","then":"s","else":"fim"},
        "s":{"type":"set","priority":"low","next":"h"},
        "h":{"type":"http","url":"https://a.example/","next":"c","error":"fim"},
        "fim":{"type":"close"}}}"#,
    );
    for node in ["c", "s", "h"] {
        assert!(p.iter().any(|e| e.starts_with(node) && e.contains("loop")), "{node}: {p:?}");
    }
    // The same loop through a question waits each time: fine.
    flow(
        r#"{"start":"c","nodes":{
        "c":{"type":"condition","test":"open","then":"q","else":"fim"},
        "q":{"type":"question","text":"De novo?","save_as":"x","next":"c"},
        "fim":{"type":"close"}}}"#,
    );
}

/// A small deterministic generator: random flows, states and replies.
#[test]
fn urgent_words_match_whole_words_whatever_the_accents() {
    let words = super::super::contacts::parse_keywords("reclamação, procon, cancelar assinatura").unwrap();
    assert!(mentions_any("Quero fazer uma RECLAMACAO!", &words));
    assert!(mentions_any("vou no Procon.", &words));
    assert!(mentions_any("quero cancelar  assinatura hoje", &words));
    assert!(!mentions_any("reclamações? não", &words), "a longer word is not the word");
    assert!(!mentions_any("quero cancelar o pedido", &words));
    assert!(!mentions_any("", &words));
}

#[test]
fn flows_read_back_from_json() {
    let f = menu_flow();
    let text = serde_json::to_string(&f).unwrap();
    assert!(text.contains("\"type\":\"menu\""), "{text}");
    assert_eq!(serde_json::from_str::<Flow>(&text).unwrap(), f);
    let written = r#"{"start":"a","nodes":{"a":{"type":"menu","text":"Oi","options":[{"label":"Falar com alguém","next":"h"}]},"h":{"type":"handoff"}}}"#;
    let f: Flow = serde_json::from_str(written).unwrap();
    assert_eq!(validate(&f, &|_| false, &|_| false), Ok(()));
    // An old state (node and retries only) still reads.
    let old: BotState = serde_json::from_str(r#"{"node":"a","retries":1}"#).unwrap();
    assert_eq!(old, BotState { node: "a".into(), retries: 1, ..BotState::default() });
    assert_eq!(serde_json::to_string(&old).unwrap(), r#"{"node":"a","retries":1}"#);
}

#[test]
fn the_new_nodes_read_back_from_json() {
    for json in [CPF_FLOW, ORDER_FLOW] {
        let f = flow(json);
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Flow>(&text).unwrap(), f, "{text}");
    }
    let f = flow(
        r#"{"start":"c","nodes":{
        "c":{"type":"condition","test":"var_equals","var":"plano","value":"Ouro","then":"s","else":"o"},
        "o":{"type":"condition","test":"open","then":"s","else":"s"},
        "s":{"type":"set","tag":"VIP","priority":"urgent","department":1,"next":"p"},
        "p":{"type":"http","method":"post","url":"https://a.example/","body":"{\"a\":\"{{plano}}\"}","next":"f"},
        "f":{"type":"close","text":"Tchau"}}}"#,
    );
    let text = serde_json::to_string(&f).unwrap();
    assert!(text.contains(r#""type":"condition","test":"var_equals""#) && text.contains(r#""else":"o""#), "{text}");
    assert!(text.contains(r#""method":"POST""#) && text.contains(r#""priority":"urgent""#), "{text}");
    assert_eq!(serde_json::from_str::<Flow>(&text).unwrap(), f);
    let kinds: Vec<&str> = f.nodes.values().map(Node::kind).collect();
    assert_eq!(kinds, ["condition", "close", "condition", "http", "set"]);
    assert_eq!(f.nodes["p"].links(), [("ok".to_string(), "f")]);
}

#[test]
fn a_wait_pauses_until_the_wake_up_and_ignores_messages_meanwhile() {
    let f = flow(
        r#"{"start":"w","nodes":{
        "w":{"type":"wait","minutes":30,"next":"m"},
        "m":{"type":"message","text":"Ainda por aí, {{nome}}?","next":"h"},
        "h":{"type":"handoff"}}}"#,
    );
    assert_eq!(validate(&f, &|_| true, &|_| true), Ok(()));
    let step = start(&f, &ctx("oi"));
    assert!(step.says.is_empty());
    assert_eq!(step.wake_in_ms, Some(30 * 60_000));
    let state = step.waiting.clone().unwrap();
    assert_eq!(state.node, "w");
    // A message meanwhile: still waiting, nothing said, no second wake-up.
    let meanwhile = answer(&f, &state, &ctx("alô?"));
    assert_eq!(meanwhile.waiting.as_ref(), Some(&state));
    assert!(meanwhile.says.is_empty() && meanwhile.wake_in_ms.is_none());
    let woken = wake(&f, &state, &ctx(""));
    assert_eq!(woken.says, [Say::Text("Ainda por aí, {{nome}}?".into())]);
    assert_eq!(woken.effect, Some(Effect::Handoff { department: None }));
    // Woken at a node that is no wait (the flow changed): people.
    let elsewhere = BotState { node: "m".into(), ..BotState::default() };
    assert_eq!(wake(&f, &elsewhere, &ctx("")).effect, Some(Effect::Handoff { department: None }));
}

#[test]
fn a_goto_hands_the_variables_to_the_other_flow() {
    let f = flow(
        r#"{"start":"q","nodes":{
        "q":{"type":"question","text":"Seu pedido?","kind":"number","save_as":"pedido","next":"s"},
        "s":{"type":"set","department":2,"next":"g"},
        "g":{"type":"goto","flow":3}}}"#,
    );
    let waiting = start(&f, &ctx("")).waiting.unwrap();
    let step = answer(&f, &waiting, &ctx("123"));
    let Some(Effect::Goto { flow: 3, state }) = step.effect.clone() else { panic!("{step:?}") };
    assert_eq!(state.vars.get("pedido").map(String::as_str), Some("123"));
    assert_eq!(state.department, Some(2));
    let other = flow(
        r#"{"start":"m","nodes":{"m":{"type":"message","text":"Pedido {{pedido}}","next":"h"},"h":{"type":"handoff"}}}"#,
    );
    let there = enter(&other, &ctx(""), &state);
    assert_eq!(there.says, [Say::Text("Pedido 123".into())]);
    assert_eq!(there.effect, Some(Effect::Handoff { department: Some(2) }), "the department a set chose stays");
}

#[test]
fn waits_and_gotos_are_checked_at_save() {
    let f: Flow = serde_json::from_str(
        r#"{"start":"w","nodes":{
        "w":{"type":"wait","minutes":0,"next":"g"},
        "g":{"type":"goto","flow":9}}}"#,
    )
    .unwrap();
    let errors: Vec<String> = validate(&f, &|_| true, &|id| id == 1)
        .unwrap_err()
        .into_iter()
        .map(|e| format!("{}: {}", e.node, e.message))
        .collect();
    assert_eq!(errors, ["g: flow 9 does not exist", "w: a wait lasts 1 to 10080 minutes (7 days)"]);
    // A loop through a timed wait still speaks on its own forever: refused.
    let looping: Flow = serde_json::from_str(
        r#"{"start":"m","nodes":{
        "m":{"type":"message","text":"Lembrete","next":"w"},
        "w":{"type":"wait","minutes":60,"next":"m"}}}"#,
    )
    .unwrap();
    assert!(validate(&looping, &|_| true, &|_| true).unwrap_err().iter().any(|e| e.message.contains("loop")));
}

#[test]
fn a_set_node_can_do_the_pre_analysis_and_a_bad_urgency_is_refused() {
    use crate::domain::sla::{Complexity, Urgency};
    let f = flow(
        r#"{"start":"s","nodes":{
        "s":{"type":"set","urgency":"critical","complexity":"simple","next":"h"},
        "h":{"type":"handoff"}}}"#,
    );
    let s = start(&f, &ctx(""));
    assert_eq!(s.changes, [Change::Classification(Some(Urgency::Critical), Some(Complexity::Simple))]);
    let bad = r#"{"start":"s","nodes":{"s":{"type":"set","urgency":"urgentissima"},"h":{"type":"handoff"}}}"#;
    assert!(serde_json::from_str::<Flow>(bad).is_err());
}
