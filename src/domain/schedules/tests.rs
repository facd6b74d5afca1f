//! Recurrence arithmetic tested: DST in São Paulo (until 2019) and New York, month ends, and
//! random rules against a brute-force list of their occurrences.
use super::*;
use chrono::Timelike;
use chrono_tz::America::{New_York as NY, Sao_Paulo as SP};

fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap()
}
fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    local(y, mo, d, h, mi).and_utc().timestamp_millis()
}
fn rule(start: NaiveDateTime, recurrence: Recurrence) -> Rule {
    Rule { start, recurrence, until: None, count: None }
}

#[test]
fn a_one_off_fires_once_at_its_local_time() {
    let r = rule(local(2026, 12, 24, 9, 30), Recurrence::Once);
    let at = first(&r, SP).unwrap();
    assert_eq!(at, utc(2026, 12, 24, 12, 30));
    assert_eq!(next_after(&r, SP, at - 1, 0), Some(at));
    assert_eq!(next_after(&r, SP, at, 1), None);
    assert_eq!(next_after(&r, SP, at, 0), None);
}

#[test]
fn daily_keeps_the_wall_clock_across_new_york_dst() {
    let r = rule(local(2026, 3, 6, 9, 0), Recurrence::Daily);
    let a = first(&r, NY).unwrap();
    assert_eq!(a, utc(2026, 3, 6, 14, 0)); // EST
    let b = next_after(&r, NY, a, 1).unwrap();
    let c = next_after(&r, NY, b, 2).unwrap();
    let d = next_after(&r, NY, c, 3).unwrap();
    assert_eq!(b, utc(2026, 3, 7, 14, 0));
    assert_eq!(c, utc(2026, 3, 8, 13, 0)); // EDT from 8 March
    assert_eq!(d - c, 24 * 3_600_000);
    // Autumn: back to EST on 1 November.
    let r = rule(local(2026, 10, 31, 9, 0), Recurrence::Daily);
    let a = first(&r, NY).unwrap();
    assert_eq!(next_after(&r, NY, a, 1).unwrap() - a, 25 * 3_600_000);
}

#[test]
fn a_missing_local_time_goes_to_the_end_of_the_gap_and_a_repeated_one_to_the_first() {
    // New York, 8 March 2026: 02:00 → 03:00.
    let r = rule(local(2026, 3, 7, 2, 30), Recurrence::Daily);
    let a = first(&r, NY).unwrap();
    let b = next_after(&r, NY, a, 1).unwrap();
    assert_eq!(b, utc(2026, 3, 8, 7, 0)); // 03:00 EDT
    let c = next_after(&r, NY, b, 2).unwrap();
    assert_eq!(local_of(NY, c).unwrap(), local(2026, 3, 9, 2, 30));
    // 1 November 2026, 01:30 happens twice: the first (EDT).
    let r = rule(local(2026, 11, 1, 1, 30), Recurrence::Once);
    assert_eq!(first(&r, NY), Some(utc(2026, 11, 1, 5, 30)));
    // São Paulo, 4 November 2018: midnight did not exist (00:00 → 01:00).
    let r = rule(local(2018, 11, 3, 0, 30), Recurrence::Daily);
    let a = first(&r, SP).unwrap();
    assert_eq!(a, utc(2018, 11, 3, 3, 30));
    let b = next_after(&r, SP, a, 1).unwrap();
    assert_eq!(local_of(SP, b).unwrap(), local(2018, 11, 4, 1, 0));
    let c = next_after(&r, SP, b, 2).unwrap();
    assert_eq!(local_of(SP, c).unwrap(), local(2018, 11, 5, 0, 30));
    assert_eq!(c, utc(2018, 11, 5, 2, 30)); // -02:00 in summer
}

#[test]
fn monthly_on_the_31st_clamps_to_the_month_end() {
    let r = rule(local(2027, 1, 31, 10, 0), Recurrence::Monthly { day: 31 });
    let mut at = first(&r, SP).unwrap();
    let mut days = vec![local_of(SP, at).unwrap().date().day()];
    for done in 1..13 {
        at = next_after(&r, SP, at, done).unwrap();
        let l = local_of(SP, at).unwrap();
        assert_eq!((l.hour(), l.minute()), (10, 0));
        days.push(l.date().day());
    }
    assert_eq!(days, vec![31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31]);
    // A leap year gives 29 February; the 30th clamps in February only.
    let r = rule(local(2028, 1, 30, 8, 0), Recurrence::Monthly { day: 30 });
    let a = first(&r, SP).unwrap();
    let b = next_after(&r, SP, a, 1).unwrap();
    assert_eq!(local_of(SP, b).unwrap().date(), NaiveDate::from_ymd_opt(2028, 2, 29).unwrap());
    let c = next_after(&r, SP, b, 2).unwrap();
    assert_eq!(local_of(SP, c).unwrap().date(), NaiveDate::from_ymd_opt(2028, 3, 30).unwrap());
}

#[test]
fn weekly_on_chosen_days_and_the_end_by_date_or_count() {
    // Monday and Friday; start on a Wednesday: the first is Friday.
    let weekdays = parse_weekdays(&["seg".into(), "fri".into()]).unwrap();
    assert_eq!(weekday_keys(weekdays), vec!["mon", "fri"]);
    let mut r = rule(local(2026, 12, 2, 9, 0), Recurrence::Weekly { weekdays });
    let a = first(&r, SP).unwrap();
    assert_eq!(local_of(SP, a).unwrap(), local(2026, 12, 4, 9, 0));
    let b = next_after(&r, SP, a, 1).unwrap();
    assert_eq!(local_of(SP, b).unwrap(), local(2026, 12, 7, 9, 0));
    r.count = Some(2);
    assert_eq!(next_after(&r, SP, b, 2), None);
    r.count = None;
    r.until = Some(NaiveDate::from_ymd_opt(2026, 12, 10).unwrap());
    assert_eq!(next_after(&r, SP, b, 2), None);
    r.until = Some(NaiveDate::from_ymd_opt(2026, 12, 11).unwrap());
    let c = next_after(&r, SP, b, 2).unwrap();
    assert_eq!(local_of(SP, c).unwrap(), local(2026, 12, 11, 9, 0));
    assert_eq!(next_after(&r, SP, c, 3), None);
}

#[test]
fn recurrences_and_dates_parse_from_their_stored_forms() {
    assert_eq!(Recurrence::from_parts("weekly", 0, 0), None);
    assert_eq!(Recurrence::from_parts("monthly", 0, 32), None);
    assert_eq!(Recurrence::from_parts("monthly", 0, 31), Some(Recurrence::Monthly { day: 31 }));
    assert_eq!(Recurrence::from_parts("yearly", 1, 1), None);
    assert_eq!(parse_local("2026-12-24T09:30"), Some(local(2026, 12, 24, 9, 30)));
    assert_eq!(parse_local(" 2026-12-24 09:30:00 "), Some(local(2026, 12, 24, 9, 30)));
    assert_eq!(parse_local("24/12/2026"), None);
    assert_eq!(format_local(local(2026, 1, 2, 3, 4)), "2026-01-02T03:04");
    assert_eq!(parse_weekdays(&["Sáb".into(), "7".into()]), Some(0b110_0000));
    assert_eq!(parse_weekdays(&["xyz".into()]), None);
}

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

const ZONES: [Tz; 4] = [SP, NY, chrono_tz::Europe::London, chrono_tz::Australia::Lord_Howe];

fn random_rule(rng: &mut Rng) -> (Rule, Tz) {
    // 2015–2030, around DST changes of every zone listed.
    let start_date = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap() + Duration::days(rng.below(16 * 365) as i64);
    // Often near midnight and the small hours, where São Paulo's and New York's gaps were.
    let hour = if rng.below(2) == 0 { rng.below(4) as u32 } else { rng.below(24) as u32 };
    let start = start_date.and_hms_opt(hour, [0, 15, 30, 59][rng.below(4) as usize], 0).unwrap();
    let recurrence = match rng.below(4) {
        0 => Recurrence::Once,
        1 => Recurrence::Daily,
        2 => Recurrence::Weekly { weekdays: (rng.below(127) + 1) as u8 },
        _ => Recurrence::Monthly { day: [28, 29, 30, 31, 1, 15][rng.below(6) as usize] },
    };
    let until = (rng.below(3) == 0).then(|| start_date + Duration::days(rng.below(200) as i64));
    let count = (rng.below(3) == 0).then(|| rng.below(20) as u32 + 1);
    (Rule { start, recurrence, until, count }, ZONES[rng.below(ZONES.len() as u64) as usize])
}

/// Every occurrence of a rule over ~14 months, by walking each date from the start.
fn brute_force(rule: &Rule, tz: Tz) -> Vec<i64> {
    let mut out = Vec::new();
    let mut date = rule.start.date();
    for _ in 0..430 {
        if rule.until.is_some_and(|u| date > u) || rule.count.is_some_and(|c| out.len() as u32 >= c) {
            break;
        }
        if matches(rule.recurrence, rule.start.date(), date) {
            out.push(resolve_local(tz, date.and_time(rule.start.time())).unwrap());
        }
        date = date.succ_opt().unwrap();
    }
    out
}

#[test]
fn random_rules_give_the_first_later_occurrence_and_keep_their_wall_clock() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for case in 0..3000 {
        let (rule, tz) = random_rule(&mut rng);
        let all = brute_force(&rule, tz);
        assert!(all.windows(2).all(|w| w[0] < w[1]), "case {case}: {rule:?} not increasing");
        assert_eq!(first(&rule, tz), all.first().copied(), "case {case}: {rule:?} in {tz}");
        // Walking the chain from the first reproduces the list.
        let mut at = all.first().copied();
        for (done, expected) in all.iter().enumerate() {
            assert_eq!(at, Some(*expected), "case {case}: occurrence {done} of {rule:?} in {tz}");
            let l = local_of(tz, *expected).unwrap();
            let wanted = l.date().and_time(rule.start.time());
            // The wall clock is the rule's, or the end of a gap that swallowed it.
            assert!(l == wanted || (resolve_local(tz, wanted) == Some(*expected) && l > wanted), "case {case}");
            match rule.recurrence {
                Recurrence::Weekly { weekdays } => {
                    assert!(weekdays & (1 << l.date().weekday().num_days_from_monday()) != 0)
                }
                Recurrence::Monthly { day } => assert_eq!(
                    l.date().day(),
                    u32::from(day).min(days_in_month(l.date().year(), l.date().month())),
                    "case {case}"
                ),
                _ => {}
            }
            at = next_after(&rule, tz, *expected, done as u32 + 1);
            if done + 1 == all.len() && at.is_some() {
                // The brute force stopped at its horizon; the rule goes on.
                assert!(at > Some(*expected));
            }
        }
        // From a random instant: the first occurrence after it.
        if let (Some(&lo), Some(&hi)) = (all.first(), all.last()) {
            let t = lo - 86_400_000 + rng.below((hi - lo + 86_400_000) as u64) as i64;
            let done = all.iter().filter(|&&x| x <= t).count();
            let expected = all.iter().copied().find(|&x| x > t);
            if expected.is_some() {
                assert_eq!(next_after(&rule, tz, t, done as u32), expected, "case {case}: after {t} {rule:?} {tz}");
            }
        }
    }
}
