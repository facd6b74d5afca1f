//! Hand-computed fixtures for the metric definitions, and the roll-up property test.

use chrono::{NaiveDate, TimeZone};
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::range::{summarize, Sums};
use super::*;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

/// São Paulo local time as Unix ms (UTC−3, no summer time since 2019).
fn sp(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    chrono_tz::America::Sao_Paulo.with_ymd_and_hms(y, m, d, h, min, 0).single().map(|t| t.timestamp_millis()).unwrap()
}

fn t(at: i64, item: Item) -> Timed {
    Timed { at, item }
}

fn wall_clock() -> BusinessClock {
    BusinessClock::default()
}

/// Mon–Fri 08:00–18:00 with Brazil's national holidays.
fn office() -> BusinessClock {
    BusinessClock {
        company: Some(WeekSchedule::weekdays_8_to_18()),
        departments: BTreeMap::new(),
        calendar: Calendar::brazil(),
        tz: Some(chrono_tz::America::Sao_Paulo),
    }
}

fn sums(c: &Cells) -> Sums {
    let mut s = Sums::new();
    for (k, v) in c {
        let e = s.entry((k.metric, k.bucket)).or_default();
        e.0 += v.n;
        e.1 += v.total;
    }
    s
}

/// Sum of durations (ms) and count of one metric, optionally for one agent.
fn total(c: &Cells, metric: Metric, agent: Option<i64>) -> (i64, i64) {
    c.iter()
        .filter(|(k, _)| k.metric == metric && agent.is_none_or(|a| a == k.agent))
        .fold((0, 0), |(n, t), (_, v)| (n + v.n, t + v.total))
}

#[test]
fn a_reopened_ticket_counts_its_second_episode_from_the_reopening() {
    let day = sp(2026, 12, 1, 9, 0);
    let five_days = 5 * 24 * HOUR;
    let tl = vec![
        t(day, Item::Created { department: Some(1) }),
        t(day + 2 * MIN, Item::Assigned { agent: 7 }),
        t(day + 10 * MIN, Item::HumanReply { agent: 7 }),
        t(day + 30 * MIN, Item::Closed { by_bot: false }),
        t(day + five_days, Item::Reopened),
        t(day + five_days + 4 * MIN, Item::Assigned { agent: 8 }),
        t(day + five_days + 10 * MIN, Item::HumanReply { agent: 8 }),
        t(day + five_days + HOUR, Item::Closed { by_bot: false }),
    ];
    let c = cells(&tl, &wall_clock());
    // First response of the second episode is 10 minutes, not 5 days (Chatwoot PR #12058).
    assert_eq!(total(&c, Metric::FirstResponse, Some(8)), (1, 10 * MIN));
    assert_eq!(total(&c, Metric::FirstResponse, None), (2, 20 * MIN));
    assert_eq!(total(&c, Metric::Resolution, Some(8)), (1, HOUR));
    assert_eq!(total(&c, Metric::Wait, None), (2, 6 * MIN));
    let s = summarize(&sums(&c));
    assert_eq!((s.new_tickets, s.reopened, s.closed, s.resolved_by_people), (1, 1, 2, 2));
    assert_eq!(s.reopen_rate, Some(0.5));
    assert_eq!(s.resolution.wall.avg_s, Some((30 * 60 + 60 * 60) / 2));
}

#[test]
fn bot_time_is_not_agent_time_and_first_response_counts_from_the_hand_off() {
    let at = sp(2026, 12, 1, 10, 0);
    let tl = vec![
        t(at, Item::Created { department: None }),
        t(at, Item::BotStarted),
        t(at + MIN, Item::BotMessage),
        t(at + 2 * MIN, Item::Inbound),
        t(at + 20 * MIN, Item::Handoff { department: Some(3) }),
        t(at + 25 * MIN, Item::Assigned { agent: 5 }),
        t(at + 27 * MIN, Item::HumanReply { agent: 5 }),
        t(at + 50 * MIN, Item::Closed { by_bot: false }),
        t(at + 55 * MIN, Item::Rated { rating: 4 }),
    ];
    let c = cells(&tl, &wall_clock());
    assert_eq!(total(&c, Metric::Wait, Some(5)), (1, 5 * MIN));
    assert_eq!(total(&c, Metric::FirstResponse, Some(5)), (1, 7 * MIN));
    // Resolution from the hand-off (30 min), not from creation (50 min).
    assert_eq!(total(&c, Metric::Resolution, Some(5)), (1, 30 * MIN));
    // The wait and reply are counted in the department the bot handed off to.
    assert!(c.keys().filter(|k| k.metric == Metric::Wait).all(|k| k.department == 3));
    let s = summarize(&sums(&c));
    assert_eq!((s.messages_in, s.messages_out_bot, s.messages_out_people), (1, 1, 1));
    assert_eq!(s.ratings, [0, 0, 0, 1, 0]);
    assert_eq!(s.rating_response_rate, Some(1.0));
    assert_eq!(total(&c, Metric::Rating, Some(5)), (1, 0));
}

#[test]
fn a_ticket_the_bot_closed_alone_is_bot_only() {
    let at = sp(2026, 12, 1, 10, 0);
    let tl = vec![
        t(at, Item::Created { department: None }),
        t(at, Item::BotStarted),
        t(at + MIN, Item::BotMessage),
        t(at + 3 * MIN, Item::Closed { by_bot: true }),
    ];
    let s = summarize(&sums(&cells(&tl, &wall_clock())));
    assert_eq!((s.closed, s.resolved_by_bot, s.resolved_by_people), (1, 1, 0));
    assert_eq!(s.bot_share, Some(1.0));
    assert_eq!(s.resolution.wall.count, 0, "bot-only episodes have no human resolution time");
}

#[test]
fn a_transfer_keeps_the_first_wait_and_credits_the_replier() {
    let at = sp(2026, 12, 2, 14, 0);
    let tl = vec![
        t(at, Item::Created { department: Some(1) }),
        t(at + 3 * MIN, Item::Assigned { agent: 10 }),
        t(at + 6 * MIN, Item::Transferred { department: Some(2), agent: None }),
        t(at + 9 * MIN, Item::Assigned { agent: 11 }),
        t(at + 15 * MIN, Item::HumanReply { agent: 11 }),
        t(at + 40 * MIN, Item::Closed { by_bot: false }),
    ];
    let c = cells(&tl, &wall_clock());
    assert_eq!(total(&c, Metric::Wait, Some(10)), (1, 3 * MIN));
    assert_eq!(total(&c, Metric::Wait, Some(11)), (0, 0), "one wait per episode");
    assert_eq!(total(&c, Metric::FirstResponse, Some(11)), (1, 15 * MIN));
    assert_eq!(total(&c, Metric::FirstResponse, Some(10)), (0, 0));
    let closed: Vec<&Key> = c.keys().filter(|k| k.metric == Metric::Closed).collect();
    assert_eq!(closed.len(), 1);
    assert_eq!((closed[0].department, closed[0].agent), (2, 11));
}

#[test]
fn business_hours_skip_the_weekend_and_the_holiday() {
    // Thursday 19/11/2026 17:00; Friday 20/11 is Consciência Negra; answered Monday 23/11 09:30.
    let created = sp(2026, 11, 19, 17, 0);
    let replied = sp(2026, 11, 23, 9, 30);
    let tl = vec![
        t(created, Item::Created { department: None }),
        t(replied, Item::HumanReply { agent: 4 }),
        t(replied + 30 * MIN, Item::Closed { by_bot: false }),
    ];
    let c = cells(&tl, &office());
    let wall = replied - created;
    assert_eq!(wall, (3 * 24 + 16) * HOUR + 30 * MIN);
    assert_eq!(total(&c, Metric::FirstResponse, None), (1, wall));
    // Thu 17:00–18:00 (1 h) + Mon 08:00–09:30 (1 h 30).
    assert_eq!(total(&c, Metric::FirstResponseBusiness, None), (1, 2 * HOUR + 30 * MIN));
    assert_eq!(total(&c, Metric::ResolutionBusiness, None), (1, 3 * HOUR));
    // A reply without a capture ends the wait too.
    assert_eq!(total(&c, Metric::WaitBusiness, None), (1, 2 * HOUR + 30 * MIN));
}

#[test]
fn a_department_with_its_own_hours_uses_them() {
    let mut clock = office();
    let mut always = WeekSchedule::always_open();
    always.days[5].clear(); // Saturday closed, Sunday open all day.
    clock.departments.insert(9, always);
    let from = sp(2026, 11, 21, 10, 0); // Saturday
    let to = sp(2026, 11, 22, 10, 0); // Sunday
    assert_eq!(clock.open_ms(Some(9), from, to), 10 * HOUR);
    assert_eq!(clock.open_ms(None, from, to), 0);
    assert_eq!(clock.open_ms(Some(1), from, to), 0, "a department without hours follows the company");
}

#[test]
fn a_ticket_assigned_but_never_answered_is_counted_as_such() {
    let at = sp(2026, 12, 1, 11, 0);
    let tl = vec![
        t(at, Item::Created { department: Some(1) }),
        t(at + MIN, Item::Inbound),
        t(at + 4 * MIN, Item::Assigned { agent: 6 }),
        t(at + 3 * HOUR, Item::Closed { by_bot: false }),
    ];
    let c = cells(&tl, &wall_clock());
    let s = summarize(&sums(&c));
    assert_eq!((s.closed, s.closed_unanswered, s.resolved_by_people), (1, 1, 0));
    assert_eq!(s.first_response.wall.count, 0, "no reply, no first-response figure");
    assert_eq!(s.resolution.wall.count, 0, "not a resolution by people");
    let k = c.keys().find(|k| k.metric == Metric::Closed).unwrap();
    assert_eq!((k.agent, k.bucket), (6, Outcome::Unanswered as i64));
}

#[test]
fn p90_is_the_upper_bound_of_its_bucket() {
    let mut s = Sums::new();
    // Nine waits under 30 s, one of 20 min.
    s.insert((Metric::Wait, bucket_of(10_000)), (9, 90_000));
    s.insert((Metric::Wait, bucket_of(1_200_000)), (1, 1_200_000));
    let d = summarize(&s).wait.wall;
    assert_eq!(d.count, 10);
    assert_eq!(d.avg_s, Some(129));
    assert_eq!(d.p90_max_s, Some(30));
    assert_eq!(bucket_of(1_200_000), 6);
}

#[test]
fn cells_survive_encoding() {
    let at = sp(2026, 12, 1, 9, 0);
    let tl = vec![
        t(at, Item::Created { department: Some(2) }),
        t(at + MIN, Item::HumanReply { agent: 3 }),
        t(at + 9 * MIN, Item::Closed { by_bot: false }),
        t(at + 10 * MIN, Item::Rated { rating: 5 }),
    ];
    let c = cells(&tl, &office());
    assert_eq!(decode(&encode(&c)), c);
    assert!(decode("garbage\n1,2,3,nope,0,1,1\n").is_empty());
}

#[test]
fn periods_follow_the_company_zone() {
    let tz = chrono_tz::America::Sao_Paulo;
    // 02:00 UTC on 03/12 is still 02/12 23:00 in São Paulo.
    let now = chrono::Utc.with_ymd_and_hms(2026, 12, 3, 2, 0, 0).unwrap().timestamp_millis();
    let (from, to) = range::Period::Today.bounds(tz, now);
    assert_eq!((from, to), (sp(2026, 12, 2, 0, 0), sp(2026, 12, 3, 0, 0)));
    let (from, _) = range::Period::Days7.bounds(tz, now);
    assert_eq!(from, sp(2026, 11, 26, 0, 0));
    let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(
        range::Period::parse("custom", Some("2026-11-01"), Some("2026-11-30")),
        Ok(range::Period::Custom(d("2026-11-01"), d("2026-11-30")))
    );
    assert_eq!(range::Period::parse("custom", Some("2026-11-30"), Some("2026-11-01")), Err("invalid_range"));
    assert_eq!(range::Period::parse("custom", Some("x"), None), Err("invalid_date"));
    assert_eq!(range::Period::parse("1y", None, None), Err("invalid_period"));
}

/// A random but plausible next step for a ticket.
fn random_item(rng: &mut StdRng) -> Item {
    match rng.gen_range(0..11) {
        0 => Item::Reopened,
        1 => Item::BotStarted,
        2 => Item::Handoff { department: rng.gen_bool(0.5).then(|| rng.gen_range(1..4)) },
        3 => Item::Assigned { agent: rng.gen_range(1..5) },
        4 => Item::Transferred {
            department: rng.gen_bool(0.5).then(|| rng.gen_range(1..4)),
            agent: rng.gen_bool(0.5).then(|| rng.gen_range(1..5)),
        },
        5 => Item::Closed { by_bot: rng.gen_bool(0.3) },
        6 => Item::Rated { rating: rng.gen_range(0..7) },
        7 | 8 => Item::Inbound,
        9 => Item::HumanReply { agent: rng.gen_range(1..5) },
        _ => Item::BotMessage,
    }
}

#[test]
fn roll_ups_equal_a_full_recomputation_after_random_event_sequences() {
    for seed in 0..200u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let clock = if seed % 2 == 0 { office() } else { wall_clock() };
        let tickets = rng.gen_range(1..8);
        let mut timelines: Vec<Vec<Timed>> = vec![Vec::new(); tickets];
        let mut stored: Vec<Cells> = vec![Cells::new(); tickets];
        let mut rollup = Cells::new();
        let mut now = sp(2026, 11, 13, 8, 0);
        for _ in 0..rng.gen_range(1..120) {
            let i = rng.gen_range(0..tickets);
            now += rng.gen_range(0..(6 * HOUR));
            let item = if timelines[i].is_empty() {
                Item::Created { department: rng.gen_bool(0.5).then(|| rng.gen_range(1..4)) }
            } else {
                random_item(&mut rng)
            };
            timelines[i].push(Timed { at: now, item });
            // Roll-ups are refreshed at random moments, several events at a time.
            if rng.gen_bool(0.4) {
                for (j, tl) in timelines.iter().enumerate() {
                    let new = cells(tl, &clock);
                    apply_delta(&mut rollup, &stored[j], &new);
                    stored[j] = new;
                }
            }
        }
        for (j, tl) in timelines.iter().enumerate() {
            let new = cells(tl, &clock);
            apply_delta(&mut rollup, &stored[j], &new);
            stored[j] = new;
        }
        let mut full = Cells::new();
        for tl in &timelines {
            for (k, c) in cells(tl, &clock) {
                let e = full.entry(k).or_default();
                e.n += c.n;
                e.total += c.total;
            }
        }
        assert_eq!(rollup, full, "seed {seed}");
        // Every count is a count of something real: no negative cells.
        assert!(rollup.values().all(|c| c.n > 0 && c.total >= 0), "seed {seed}");
    }
}
