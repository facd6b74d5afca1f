//! Business hours' rules tested: intervals, DST, holidays, and random instants against the rules.
use super::*;
use chrono_tz::America::{New_York as NY, Sao_Paulo as SP};

fn at(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    tz.with_ymd_and_hms(y, mo, d, h, mi, 0).earliest().unwrap().timestamp_millis()
}
fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    at(Tz::UTC, y, mo, d, h, mi)
}
fn iv(start: u16, end: u16) -> Interval {
    Interval::new(start, end).unwrap()
}
/// Mon–Fri 08:00–12:00 and 13:30–18:00.
fn office() -> WeekSchedule {
    let mut s = WeekSchedule::default();
    for day in &mut s.days[..5] {
        *day = vec![iv(480, 720), iv(810, 1080)];
    }
    s
}
fn only(weekday: usize, day: Vec<Interval>) -> WeekSchedule {
    let mut s = WeekSchedule::default();
    s.days[weekday] = day;
    s
}

#[test]
fn intervals_parse_in_the_ways_people_write_them_and_print_with_an_en_dash() {
    for text in ["08:00-12:00", "8:00 - 12:00", "08h00-12h00", "8h-12h", "8h às 12h", "08:00–12:00", "8—12"] {
        assert_eq!(Interval::parse(text), Some(iv(480, 720)), "{text}");
    }
    assert_eq!(Interval::parse("13:30–24:00"), Some(iv(810, 1440)));
    assert_eq!(iv(810, 1440).to_string(), "13:30–24:00");
    assert_eq!(iv(0, 5).to_string(), "00:00–00:05");
    for bad in ["", "08:00", "24:00-24:00", "12:00-08:00", "08:60-09:00", "8:5-9:00", "8:-9", "x-y", "-08:00-9"] {
        assert_eq!(Interval::parse(bad), None, "{bad}");
    }
    assert_eq!(Interval::new(0, 1440), Some(ALL_DAY));
    assert_eq!(Interval::new(5, 5), None);
    assert_eq!(Interval::new(0, 1441), None);
    assert_eq!(serde_json::to_string(&iv(480, 720)).unwrap(), r#"{"start":480,"end":720}"#);
    assert!(serde_json::from_str::<Interval>(r#"{"start":720,"end":480}"#).is_err());
}

#[test]
fn days_parse_sorted_refuse_overlaps_and_round_trip() {
    assert_eq!(WeekSchedule::parse_day(" 13:30-18:00, 08:00-12:00 "), Ok(vec![iv(480, 720), iv(810, 1080)]));
    assert_eq!(WeekSchedule::parse_day("  "), Ok(vec![]));
    assert_eq!(WeekSchedule::parse_day("08:00-12:00; 12:00-14:00,"), Ok(vec![iv(480, 720), iv(720, 840)]));
    let err = WeekSchedule::parse_day("08:00-12:00, 25:00-26:00").unwrap_err();
    assert!(err.contains("25:00-26:00"), "{err}");
    assert!(WeekSchedule::parse_day("12:00-08:00").unwrap_err().contains("12:00-08:00"));
    let err = WeekSchedule::parse_day("08:00-12:00, 11:00-13:00").unwrap_err();
    assert!(err.contains("08:00–12:00") && err.contains("overlap"), "{err}");
    assert!(WeekSchedule::parse_day("08:00-18:00, 09:00-10:00").is_err());
    let s = office();
    assert_eq!(s.format_day(0), "08:00–12:00, 13:30–18:00");
    assert_eq!(s.format_day(6), "");
    assert_eq!(s.format_day(99), "");
    for i in 0..7 {
        assert_eq!(WeekSchedule::parse_day(&s.format_day(i)).unwrap(), s.days[i]);
    }
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<WeekSchedule>(&json).unwrap(), s);
    assert!(WeekSchedule::default().is_empty() && !s.is_empty());
    assert_eq!(WeekSchedule::weekdays_8_to_18().format_day(4), "08:00–18:00");
    assert_eq!(WeekSchedule::weekdays_8_to_18().format_day(5), "");
}

#[test]
fn open_at_the_boundaries_lunch_weekends_and_closures() {
    let (s, cal) = (office(), Calendar::brazil());
    assert_eq!(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap().weekday(), chrono::Weekday::Mon);
    let open = |h, m| is_open(&s, None, &cal, SP, at(SP, 2026, 3, 2, h, m));
    assert!(!open(7, 59) && open(8, 0) && open(11, 59) && !open(12, 0) && !open(13, 29) && open(13, 30));
    assert!(open(17, 59) && !open(18, 0) && !open(0, 0) && !open(23, 59));
    assert!(!is_open(&s, None, &cal, SP, at(SP, 2026, 3, 2, 8, 0) - 1));
    assert!(
        !is_open(&s, None, &cal, SP, at(SP, 2026, 3, 7, 10, 0))
            && !is_open(&s, None, &cal, SP, at(SP, 2026, 3, 8, 10, 0))
    );
    // São Paulo has kept -03:00 all year since 2019.
    assert_eq!(at(SP, 2026, 1, 5, 8, 0), utc(2026, 1, 5, 11, 0));
    assert_eq!(at(SP, 2026, 7, 6, 8, 0), utc(2026, 7, 6, 11, 0));
    // Good Friday 2027 is 26 March; the Thursday before is a working day.
    assert!(!is_open(&s, None, &cal, SP, at(SP, 2027, 3, 26, 10, 0)));
    assert!(is_open(&s, None, &cal, SP, at(SP, 2027, 3, 25, 10, 0)));
    assert!(is_open(&s, None, &Calendar::default(), SP, at(SP, 2027, 3, 26, 10, 0)));
    let ash = Calendar { optional: vec![OptionalHoliday::AshWednesdayMorning], ..Calendar::brazil() };
    let open = |h, m| is_open(&s, None, &ash, SP, at(SP, 2027, 2, 10, h, m));
    assert!(!open(10, 0) && !open(13, 59) && open(14, 0) && open(17, 0));
    let carnival = Calendar { optional: OptionalHoliday::ALL.to_vec(), ..Calendar::brazil() };
    assert!(
        !is_open(&s, None, &carnival, SP, at(SP, 2027, 2, 8, 10, 0))
            && !is_open(&s, None, &carnival, SP, at(SP, 2027, 2, 9, 10, 0))
    );
    assert!(
        !is_open(&s, None, &carnival, SP, at(SP, 2027, 5, 27, 10, 0))
            && is_open(&s, None, &cal, SP, at(SP, 2027, 5, 27, 10, 0))
    );
    let date = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
    let custom =
        Calendar { custom: vec![CustomDate { date, closed: Some(iv(900, 960)), name: "Reunião".into() }], ..cal };
    let open = |h, m| is_open(&s, None, &custom, SP, at(SP, 2026, 3, 3, h, m));
    assert!(open(14, 59) && !open(15, 0) && !open(15, 59) && open(16, 0));
}

#[test]
fn next_opening_skips_nights_weekends_holidays_and_closures() {
    let (s, cal) = (office(), Calendar::brazil());
    let next = |c: &Calendar, from| next_opening(&s, None, c, SP, from);
    assert_eq!(next(&cal, at(SP, 2026, 3, 6, 18, 30)), Some(at(SP, 2026, 3, 9, 8, 0)));
    assert_eq!(next(&cal, at(SP, 2026, 3, 9, 12, 10)), Some(at(SP, 2026, 3, 9, 13, 30)));
    let already = at(SP, 2026, 3, 9, 9, 17) + 123;
    assert_eq!(next(&cal, already), Some(already));
    // Thursday 25 March 2027 evening: Good Friday, the weekend, then Monday 29.
    assert_eq!(next(&cal, at(SP, 2027, 3, 25, 19, 0)), Some(at(SP, 2027, 3, 29, 8, 0)));
    assert_eq!(next(&cal, at(SP, 2027, 4, 1, 19, 0)), Some(at(SP, 2027, 4, 2, 8, 0)));
    let date = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
    let custom = Calendar { custom: vec![CustomDate { date, closed: None, name: "Mudança".into() }], ..cal.clone() };
    assert_eq!(next(&custom, at(SP, 2026, 3, 6, 18, 30)), Some(at(SP, 2026, 3, 10, 8, 0)));
    assert_eq!(next_opening(&WeekSchedule::default(), None, &cal, SP, at(SP, 2026, 3, 6, 18, 30)), None);
    let backwards = only(0, vec![Interval { start: 600, end: 500 }]);
    assert_eq!(next_opening(&backwards, None, &cal, SP, 0), None);
    // Always open but closed for 500 days from 9 March 2026 (to 21 July 2027).
    let always = WeekSchedule::always_open();
    let closed = Calendar {
        custom: (0..500)
            .map(|n| CustomDate { date: date + chrono::Days::new(n), closed: None, name: String::new() })
            .collect(),
        ..cal
    };
    assert_eq!(next_opening(&always, None, &closed, SP, at(SP, 2026, 3, 9, 0, 0)), None);
    assert_eq!(next_opening(&always, None, &closed, SP, at(SP, 2027, 7, 1, 0, 0)), Some(at(SP, 2027, 7, 22, 0, 0)));
}

#[test]
fn a_department_with_its_own_week_follows_it_and_the_company_s_holidays() {
    let (company, cal) = (office(), Calendar::brazil());
    // Suporte: Monday to Saturday 07:00–22:00.
    let mut suporte = WeekSchedule::default();
    for day in &mut suporte.days[..6] {
        *day = vec![iv(420, 1320)];
    }
    let own = Some(&suporte);
    // Monday 2 March 2026, 20:00: the company closed, Suporte open.
    let evening = at(SP, 2026, 3, 2, 20, 0);
    assert!(!is_open(&company, None, &cal, SP, evening) && is_open(&company, own, &cal, SP, evening));
    // Lunch: the company closed, Suporte open; Saturday too.
    assert!(!is_open(&company, None, &cal, SP, at(SP, 2026, 3, 2, 12, 30)));
    assert!(is_open(&company, own, &cal, SP, at(SP, 2026, 3, 2, 12, 30)));
    assert!(is_open(&company, own, &cal, SP, at(SP, 2026, 3, 7, 10, 0)));
    // The company's holidays close every department: Good Friday 2027.
    assert!(!is_open(&company, own, &cal, SP, at(SP, 2027, 3, 26, 10, 0)));
    assert_eq!(next_opening(&company, own, &cal, SP, at(SP, 2027, 3, 25, 23, 0)), Some(at(SP, 2027, 3, 27, 7, 0)));
    // A department open less than the company: closed while the company is open.
    let mornings = only(0, vec![iv(480, 600)]);
    let ten_thirty = at(SP, 2026, 3, 2, 10, 30);
    assert!(is_open(&company, None, &cal, SP, ten_thirty) && !is_open(&company, Some(&mornings), &cal, SP, ten_thirty));
    assert_eq!(next_opening(&company, Some(&mornings), &cal, SP, ten_thirty), Some(at(SP, 2026, 3, 9, 8, 0)));
    // An empty week of its own: the department follows the company.
    let empty = WeekSchedule::default();
    assert_eq!(schedule_for(&company, Some(&empty)), &company);
    assert_eq!(schedule_for(&company, None), &company);
    assert_eq!(schedule_for(&company, own), &suporte);
    assert!(is_open(&company, Some(&empty), &cal, SP, ten_thirty));
    // A department's own week applies where the company set none.
    assert!(is_open(&WeekSchedule::default(), own, &cal, SP, evening));
}

#[test]
fn a_day_ending_at_24_00_meets_the_next_starting_at_00_00() {
    let mut s = only(4, vec![iv(1320, 1440)]);
    s.days[5] = vec![iv(0, 360)];
    let cal = Calendar::default();
    assert!(
        is_open(&s, None, &cal, SP, at(SP, 2026, 3, 7, 0, 0) - 1)
            && is_open(&s, None, &cal, SP, at(SP, 2026, 3, 7, 0, 0))
    );
    assert_eq!(next_opening(&s, None, &cal, SP, at(SP, 2026, 3, 6, 21, 0)), Some(at(SP, 2026, 3, 6, 22, 0)));
    assert_eq!(next_opening(&s, None, &cal, SP, at(SP, 2026, 3, 7, 0, 0)), Some(at(SP, 2026, 3, 7, 0, 0)));
    assert_eq!(next_opening(&s, None, &cal, SP, at(SP, 2026, 3, 7, 6, 0)), Some(at(SP, 2026, 3, 13, 22, 0)));
}

#[test]
fn new_york_clocks_going_forward_and_back() {
    let cal = Calendar::default();
    // 8 March 2026: 02:00 EST jumps to 03:00 EDT (07:00 UTC). 02:30 does not exist.
    let s = only(6, vec![iv(150, 240)]);
    assert_eq!(next_opening(&s, None, &cal, NY, utc(2026, 3, 8, 5, 0)), Some(utc(2026, 3, 8, 7, 0)));
    assert!(
        !is_open(&s, None, &cal, NY, utc(2026, 3, 8, 7, 0) - 1) && is_open(&s, None, &cal, NY, utc(2026, 3, 8, 7, 0))
    );
    assert!(!is_open(&s, None, &cal, NY, utc(2026, 3, 8, 8, 0)));
    let s = only(6, vec![iv(60, 150)]);
    assert!(is_open(&s, None, &cal, NY, utc(2026, 3, 8, 6, 59)) && !is_open(&s, None, &cal, NY, utc(2026, 3, 8, 7, 0)));
    let inside_gap = only(6, vec![iv(130, 170)]);
    assert_eq!(next_opening(&inside_gap, None, &cal, NY, utc(2026, 3, 8, 5, 0)), Some(utc(2026, 3, 15, 6, 10)));
    // Office hours keep their wall-clock times: 08:00 is 13:00 UTC on Friday, 12:00 on Monday.
    let s = office();
    assert!(
        is_open(&s, None, &cal, NY, utc(2026, 3, 6, 13, 0)) && !is_open(&s, None, &cal, NY, utc(2026, 3, 6, 12, 59))
    );
    assert_eq!(next_opening(&s, None, &cal, NY, utc(2026, 3, 6, 23, 30)), Some(utc(2026, 3, 9, 12, 0)));
    // 1 November 2026: 02:00 EDT goes back to 01:00 EST (06:00 UTC); 01:00–02:00 happens twice.
    let s = only(6, vec![iv(90, 180)]);
    assert!(
        !is_open(&s, None, &cal, NY, utc(2026, 11, 1, 5, 29)) && is_open(&s, None, &cal, NY, utc(2026, 11, 1, 5, 30))
    );
    assert!(
        is_open(&s, None, &cal, NY, utc(2026, 11, 1, 6, 15)) && is_open(&s, None, &cal, NY, utc(2026, 11, 1, 7, 59))
    );
    assert!(!is_open(&s, None, &cal, NY, utc(2026, 11, 1, 8, 0)));
    let s = only(6, vec![iv(60, 90)]);
    assert!(
        is_open(&s, None, &cal, NY, utc(2026, 11, 1, 5, 0)) && !is_open(&s, None, &cal, NY, utc(2026, 11, 1, 6, 15))
    );
    assert_eq!(next_opening(&s, None, &cal, NY, utc(2026, 11, 1, 5, 45)), Some(utc(2026, 11, 8, 6, 0)));
}

#[test]
fn sao_paulo_summer_time_at_midnight_before_2019() {
    let cal = Calendar::default();
    // 4 November 2018: 00:00 -03 jumped to 01:00 -02 (03:00 UTC).
    let mut s = only(5, vec![iv(1320, 1440)]);
    s.days[6] = vec![iv(0, 120)];
    assert_eq!(next_opening(&s, None, &cal, SP, utc(2018, 11, 4, 0, 0)), Some(utc(2018, 11, 4, 1, 0)));
    assert!(
        is_open(&s, None, &cal, SP, utc(2018, 11, 4, 2, 59)) && is_open(&s, None, &cal, SP, utc(2018, 11, 4, 3, 0))
    );
    assert!(
        is_open(&s, None, &cal, SP, utc(2018, 11, 4, 3, 59)) && !is_open(&s, None, &cal, SP, utc(2018, 11, 4, 4, 0))
    );
    // 17 February 2019: 00:00 -02 went back to 23:00 -03 on the 16th (02:00 UTC).
    let s = only(5, vec![iv(1380, 1440)]);
    assert!(
        !is_open(&s, None, &cal, SP, utc(2019, 2, 17, 0, 59)) && is_open(&s, None, &cal, SP, utc(2019, 2, 17, 1, 0))
    );
    assert!(
        is_open(&s, None, &cal, SP, utc(2019, 2, 17, 2, 30)) && !is_open(&s, None, &cal, SP, utc(2019, 2, 17, 3, 0))
    );
}

#[test]
fn time_zones_parse_and_extreme_instants_are_closed() {
    assert_eq!(parse_tz(" America/Sao_Paulo "), Some(SP));
    assert_eq!(parse_tz("Mars/Olympus"), None);
    assert_eq!(parse_tz(""), None);
    let (s, cal) = (WeekSchedule::always_open(), Calendar::brazil());
    for t in [i64::MIN, i64::MIN + 1, i64::MAX - 1, i64::MAX] {
        assert!(!is_open(&s, None, &cal, SP, t));
        assert_eq!(next_opening(&s, None, &cal, SP, t), None);
    }
}

/// xorshift64*: deterministic, so a failure repeats.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn minute(&mut self) -> u16 {
        // Quarter hours mostly, so intervals touch and nest often.
        let m = if self.below(3) == 0 { self.below(1441) } else { self.below(97) * 15 };
        m as u16
    }
}

const ZONES: [Tz; 9] = [
    Tz::UTC,
    SP,
    NY,
    chrono_tz::Europe::London,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Asia::Kolkata,
    chrono_tz::America::Havana,
    chrono_tz::Pacific::Chatham,
    chrono_tz::America::Noronha,
];
const FROM_2015: i64 = 1_420_070_400_000;
const SPAN_14_YEARS: u64 = 14 * 365 * DAY_MS as u64;

fn random_case(rng: &mut Rng) -> (WeekSchedule, Calendar, Tz, i64) {
    let mut s = WeekSchedule::default();
    let sparse = rng.below(4) == 0;
    for day in &mut s.days {
        for _ in 0..rng.below(if sparse { 2 } else { 4 }) {
            // Raw fields, sometimes backwards or past 24:00, unsorted and overlapping.
            let (a, b) = (rng.minute(), rng.minute());
            let raw = rng.below(20) == 0;
            let (start, end) = if raw { (a, b + rng.below(3) as u16) } else { (a.min(b), a.max(b)) };
            day.push(Interval { start, end });
        }
    }
    let t = FROM_2015 + rng.below(SPAN_14_YEARS) as i64;
    let t = if rng.below(2) == 0 { t - t.rem_euclid(60_000) } else { t };
    let base = DateTime::from_timestamp_millis(t).unwrap().date_naive();
    let custom = (0..rng.below(6))
        .map(|_| CustomDate {
            date: base + chrono::Days::new(rng.below(20)) - chrono::Days::new(2),
            closed: if rng.below(3) == 0 { None } else { Some(Interval { start: rng.minute(), end: rng.minute() }) },
            name: "x".into(),
        })
        .collect();
    let optional = OptionalHoliday::ALL.into_iter().filter(|_| rng.below(2) == 0).collect();
    let cal = Calendar { national: rng.below(4) != 0, optional, custom };
    (s, cal, ZONES[rng.below(ZONES.len() as u64) as usize], t)
}

/// The rule said plainly: the wall-clock time in the weekday's intervals, in no closure.
fn literal_open(s: &WeekSchedule, cal: &Calendar, tz: Tz, t: i64) -> bool {
    let local = local_of(tz, t).unwrap();
    let m = (local.time().hour() * 60 + local.time().minute()) as u16;
    let within = |i: &Interval| i.start <= m && m < i.end;
    s.days[local.weekday().num_days_from_monday() as usize].iter().any(within)
        && !closures_on(cal, local.date()).iter().any(|c| within(&c.range))
}

use chrono::Timelike;

#[test]
fn random_instants_follow_the_rule_and_next_opening_is_the_first_open_instant() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..4000 {
        let (s, cal, tz, t) = random_case(&mut rng);
        let open = is_open(&s, None, &cal, tz, t);
        // Where the local time happens once, the spans agree with the plain rule.
        let local = local_of(tz, t).unwrap();
        if tz.from_local_datetime(&local).single().is_some() {
            assert_eq!(open, literal_open(&s, &cal, tz, t), "case {case}: {tz} {local} {s:?} {cal:?}");
        }
        let next = next_opening(&s, None, &cal, tz, t);
        if open {
            assert_eq!(next, Some(t), "case {case}");
        }
        let end = match next {
            Some(r) => {
                assert!(r >= t && r <= t + SEARCH_DAYS * DAY_MS && is_open(&s, None, &cal, tz, r), "case {case}");
                assert!(r == t || !is_open(&s, None, &cal, tz, r - 1), "case {case}");
                r
            }
            None => t + SEARCH_DAYS * DAY_MS,
        };
        for _ in 0..20 {
            let u = t + rng.below((end - t).max(1) as u64) as i64;
            assert!(u >= end || !is_open(&s, None, &cal, tz, u), "case {case}: open at {u} before {next:?}");
        }
    }
}

#[test]
fn a_department_s_answers_are_its_own_week_s_and_next_opening_is_open_for_it() {
    let mut rng = Rng(0x5eed_0fde_9a47);
    for case in 0..1500 {
        let (company, cal, tz, t) = random_case(&mut rng);
        let (department, _, _, _) = random_case(&mut rng);
        let own = (rng.below(4) != 0).then_some(&department);
        let ruling = match own {
            Some(d) if !d.is_empty() => d,
            _ => &company,
        };
        let open = is_open(&company, own, &cal, tz, t);
        assert_eq!(open, is_open(ruling, None, &cal, tz, t), "case {case}");
        let next = next_opening(&company, own, &cal, tz, t);
        assert_eq!(next, next_opening(ruling, None, &cal, tz, t), "case {case}");
        if let Some(r) = next {
            assert!(r >= t && is_open(&company, own, &cal, tz, r), "case {case}: next opening {r} is open");
        }
        // Never open inside one of the company's closures, whatever the department's week.
        for c in &cal.custom {
            let Some(range) = c.closed.map_or(Some(ALL_DAY), clipped) else { continue };
            let m = range.start + rng.below(u64::from(range.end - range.start)) as u16;
            let local = c.date.and_hms_opt(u32::from(m / 60), u32::from(m % 60), 0).unwrap();
            if let Some(u) = tz.from_local_datetime(&local).single() {
                assert!(!is_open(&company, own, &cal, tz, u.timestamp_millis()), "case {case}: {tz} {local}");
            }
        }
    }
}

#[test]
fn next_opening_matches_a_minute_by_minute_search() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for case in 0..60 {
        let (s, cal, tz, t) = random_case(&mut rng);
        let t = t - t.rem_euclid(60_000);
        // Every boundary falls on a whole minute here, so scanning minutes finds the exact answer.
        let found = (0..3 * 1440).map(|k| t + k * 60_000).find(|&u| is_open(&s, None, &cal, tz, u));
        let next = next_opening(&s, None, &cal, tz, t).filter(|&r| r < t + 3 * DAY_MS);
        assert_eq!(next, found, "case {case}: {tz} {s:?} {cal:?}");
    }
}

#[test]
fn never_open_inside_a_closure_and_no_panic_on_any_instant() {
    let mut rng = Rng(42);
    for case in 0..3000 {
        let (s, cal, tz, _) = random_case(&mut rng);
        for c in &cal.custom {
            let Some(range) = c.closed.map_or(Some(ALL_DAY), clipped) else { continue };
            let m = range.start + rng.below(u64::from(range.end - range.start)) as u16;
            let local = c.date.and_hms_opt(u32::from(m / 60), u32::from(m % 60), rng.below(60) as u32).unwrap();
            if let Some(u) = tz.from_local_datetime(&local).single() {
                assert!(!is_open(&s, None, &cal, tz, u.timestamp_millis()), "case {case}: {tz} {local} {c:?}");
            }
        }
        let wild = match rng.below(4) {
            0 => rng.next() as i64,
            1 => i64::MAX - rng.below(1 << 40) as i64,
            2 => i64::MIN + rng.below(1 << 40) as i64,
            // Around the ends of chrono's years.
            _ => {
                [8_210_266_876_799_999i64, -8_334_601_228_800_000][rng.below(2) as usize] + rng.below(1 << 37) as i64
                    - (1 << 36)
            }
        };
        let _ = is_open(&s, None, &cal, tz, wild);
        let _ = next_opening(&s, None, &cal, tz, wild);
    }
}

#[test]
fn offsets_follow_the_zone_and_its_summer_time() {
    // 2026-01-15 12:00 UTC: winter in New York, no summer time in Brazil since 2019.
    let jan = 1_768_478_400_000;
    // 2026-07-15 12:00 UTC: summer in New York.
    let jul = 1_784_116_800_000;
    assert_eq!(offset_minutes(SP, jan), -180);
    assert_eq!(offset_minutes(SP, jul), -180);
    assert_eq!(offset_minutes(NY, jan), -300);
    assert_eq!(offset_minutes(NY, jul), -240);
    assert_eq!(offset_minutes(chrono_tz::Asia::Kolkata, jan), 330);
    assert_eq!(offset_minutes(SP, i64::MAX), 0, "no panic outside chrono's years");
    assert_eq!(wall_clock(SP, jan).map(|d| d.format("%H:%M").to_string()).as_deref(), Some("09:00"));
}

#[test]
fn add_open_ms_is_the_inverse_of_open_ms_between_and_lands_in_open_time() {
    let mut rng = Rng(0x51a_c10c_u64 ^ 0xdead_beef);
    let mut reached = 0;
    for _ in 0..2_000 {
        let (s, cal, tz, t) = random_case(&mut rng);
        let amount = match rng.below(3) {
            0 => rng.below(3_600_000) as i64,
            1 => rng.below(72 * 3_600_000) as i64,
            _ => 60_000 * rng.below(7 * 24 * 60) as i64,
        };
        let Some(due) = add_open_ms(&s, None, &cal, tz, t, amount) else {
            // Only when the open time is not there to be had within the search span.
            assert!(open_ms_between(&s, None, &cal, tz, t, t + 390 * DAY_MS) < amount || !s.has_hours());
            continue;
        };
        reached += 1;
        assert!(due >= t);
        assert_eq!(open_ms_between(&s, None, &cal, tz, t, due), amount, "from {t} in {tz}");
        if amount > 0 {
            // The earliest such instant, and inside (or at the end of) open time.
            assert!(open_ms_between(&s, None, &cal, tz, t, due - 1) < amount);
            assert!(is_open(&s, None, &cal, tz, due - 1), "the last counted millisecond is open");
        } else {
            assert!(is_open(&s, None, &cal, tz, due));
        }
    }
    assert!(reached > 1_000, "most cases reach their amount ({reached})");
}

#[test]
fn friday_16_30_plus_an_hour_is_monday_09_30_and_a_holiday_is_skipped() {
    // 09:00–17:00 on weekdays in São Paulo.
    let mut week = WeekSchedule::default();
    for day in &mut week.days[..5] {
        day.push(iv(9 * 60, 17 * 60));
    }
    let cal = Calendar::brazil();
    let hour = 3_600_000;
    // Friday 2026-12-04 16:30 → Monday 2026-12-07 09:30.
    let friday = at(SP, 2026, 12, 4, 16, 30);
    assert_eq!(add_open_ms(&week, None, &cal, SP, friday, hour), Some(at(SP, 2026, 12, 7, 9, 30)));
    // Friday 2026-11-13 16:30 + 1 h: Monday 16th is open, Friday 20th (Consciência Negra) is not.
    let before_holiday = at(SP, 2026, 11, 19, 16, 30); // Thursday
    assert_eq!(add_open_ms(&week, None, &cal, SP, before_holiday, hour), Some(at(SP, 2026, 11, 23, 9, 30)));
    // Used up exactly at closing: it ends at 17:00, not at the next opening.
    assert_eq!(add_open_ms(&week, None, &cal, SP, friday, hour / 2), Some(at(SP, 2026, 12, 4, 17, 0)));
}
