//! The flow engine property-tested: random flows (dangling links, loops, every node type) and
//! random replies always end within the budget, never panic, and every state reads back.

use super::tests::ctx;
use super::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn random_flow(r: &mut Rng) -> Flow {
    let names: Vec<String> = (0..r.below(8) + 1).map(|i| format!("n{i}")).collect();
    let pick = |r: &mut Rng| format!("n{}", r.below(names.len() as u64 + 2)); // sometimes dangling
    let kinds = [
        AnswerKind::Text,
        AnswerKind::Number,
        AnswerKind::Email,
        AnswerKind::Phone,
        AnswerKind::CpfCnpj,
        AnswerKind::Date,
    ];
    let mut nodes = BTreeMap::new();
    for name in &names {
        let node = match r.below(10) {
            0 => Node::Message { text: "m {{v}} {{contact.cpf}}".into(), next: (r.below(4) > 0).then(|| pick(r)) },
            1 => Node::Menu {
                text: "q".into(),
                options: (0..r.below(4)).map(|i| MenuOption { label: format!("o{i}"), next: pick(r) }).collect(),
                invalid: None,
                retries: r.below(3) as u8,
                fallback: (r.below(2) == 0).then(|| pick(r)),
            },
            2 => Node::Handoff { department: (r.below(2) == 0).then(|| r.below(5) as i64), text: None },
            3 => Node::Question {
                text: "?".into(),
                kind: kinds[r.below(kinds.len() as u64) as usize],
                save_as: if r.below(2) == 0 { "v".into() } else { "contact.cpf".into() },
                next: (r.below(4) > 0).then(|| pick(r)),
                invalid: None,
                retries: r.below(3) as u8,
                fallback: (r.below(2) == 0).then(|| pick(r)),
            },
            4 => Node::Condition {
                test: match r.below(5) {
                    0 => Test::Keyword { words: "o1, sim".into() },
                    1 => Test::Open,
                    2 => Test::Channel { channel: "whatsapp_qr".into() },
                    3 => Test::VarEquals { var: "v".into(), value: "1".into() },
                    _ => Test::VarSet { var: "contact.cpf".into() },
                },
                then: pick(r),
                otherwise: pick(r),
            },
            5 => Node::Set {
                department: (r.below(2) == 0).then(|| r.below(5) as i64),
                tag: (r.below(2) == 0).then(|| "t".into()),
                priority: (r.below(2) == 0).then_some(Priority::Urgent),
                urgency: (r.below(3) == 0).then_some(crate::domain::sla::Urgency::High),
                complexity: None,
                next: (r.below(4) > 0).then(|| pick(r)),
            },
            6 => Node::Http {
                method: if r.below(2) == 0 { Method::Get } else { Method::Post },
                url: "https://a.example/{{v}}".into(),
                body: (r.below(2) == 0).then(|| r#"{"v":"{{v}}"}"#.into()),
                save: [("v".to_string(), "/status".to_string())].into(),
                next: pick(r),
                error: (r.below(2) == 0).then(|| pick(r)),
            },
            7 => Node::Wait { minutes: r.below(3) as u32, next: pick(r) },
            8 => Node::Goto { flow: r.below(3) as i64 },
            _ => Node::Close { text: None },
        };
        nodes.insert(name.clone(), node);
    }
    Flow { start: pick(r), nodes }
}

/// One step's invariants: it says at most the budget; it waits or is done, never both or
/// neither; a request waits at an HTTP node, any other wait at a menu or question.
fn check_step(f: &Flow, step: &Step) {
    assert!(step.says.len() <= STEP_BUDGET);
    assert!(step.waiting.is_some() != step.effect.is_some(), "{f:?} → {step:?}");
    if let Some(state) = &step.waiting {
        let node = f.nodes.get(&state.node);
        if step.request.is_some() {
            assert!(matches!(node, Some(Node::Http { .. })), "{f:?} → {step:?}");
        } else if step.wake_in_ms.is_some() {
            assert!(matches!(node, Some(Node::Wait { .. })), "{f:?} → {step:?}");
            assert!((60_000..=i64::from(MAX_WAIT_MINUTES) * 60_000).contains(&step.wake_in_ms.unwrap_or(0)));
        } else if matches!(node, Some(Node::Wait { .. })) {
            // An answer during a timed wait keeps waiting.
        } else {
            assert!(node.is_some_and(Node::waits), "{f:?} → {step:?}");
        }
    } else {
        assert!(step.request.is_none());
    }
}

#[test]
fn any_flow_and_any_reply_end_within_the_budget_without_panicking() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let replies = [
        "1",
        "2",
        "0",
        "99",
        "",
        "o1",
        "O0",
        "qualquer coisa",
        "١",
        "🙂",
        "-1",
        "2)",
        "529.982.247-25",
        "a@b.co",
        "(11) 98765-4321",
        "31/12/2024",
        "{{v}}",
        "sim",
    ];
    let outcomes = [
        HttpOutcome::Response { status: 200, body: r#"{"status":"enviado"}"#.into() },
        HttpOutcome::Response { status: 200, body: r#"{"status":{"a":[1]}}"#.into() },
        HttpOutcome::Response { status: 201, body: "não é json".into() },
        HttpOutcome::Response { status: 500, body: String::new() },
        HttpOutcome::Failed { reason: "timeout".into() },
    ];
    for _ in 0..5000 {
        let f = random_flow(&mut r);
        let mut c = ctx(replies[r.below(replies.len() as u64) as usize]);
        c.open_now = r.below(2) == 0;
        let mut step = start(&f, &c);
        check_step(&f, &step);
        let mut turns = 0;
        while let Some(state) = step.waiting.clone() {
            let c = Context { text: replies[r.below(replies.len() as u64) as usize].into(), ..c.clone() };
            step = if step.request.is_some() {
                resume(&f, &state, &c, outcomes[r.below(outcomes.len() as u64) as usize].clone())
            } else if step.wake_in_ms.is_some() && r.below(2) == 0 {
                wake(&f, &state, &c)
            } else {
                answer(&f, &state, &c)
            };
            check_step(&f, &step);
            // Every state goes through the ticket's JSON column.
            if let Some(s) = &step.waiting {
                assert_eq!(&serde_json::from_str::<BotState>(&serde_json::to_string(s).unwrap()).unwrap(), s);
            }
            turns += 1;
            if turns > 50 {
                break; // a menu may loop back to itself: it waits each time, which is fine
            }
        }
        let _ = validate(&f, &|_| true, &|_| true);
        let _ = f.nodes.values().map(Node::links).count();
    }
}
