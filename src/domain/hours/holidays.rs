//! Brazil's holidays and a company's own closures: the dates on which business hours do not apply.

use chrono::{Datelike, Days, NaiveDate, TimeDelta};

use super::Interval;

/// The whole day, 00:00–24:00.
pub const ALL_DAY: Interval = Interval { start: 0, end: 1440 };

/// The longest span `closures_between` lists (about 100 years): a larger `days` would only build
/// millions of closures nobody reads.
pub const MAX_LISTED_DAYS: u32 = 36_600;

/// Dates many companies close on that are not national holidays; each company picks its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionalHoliday {
    CarnivalMonday,
    CarnivalTuesday,
    AshWednesdayMorning,
    CorpusChristi,
    ChristmasEveAfternoon,
    NewYearsEveAfternoon,
}

impl OptionalHoliday {
    /// In the order of the year, the order the page lists them in.
    pub const ALL: [OptionalHoliday; 6] = [
        OptionalHoliday::CarnivalMonday,
        OptionalHoliday::CarnivalTuesday,
        OptionalHoliday::AshWednesdayMorning,
        OptionalHoliday::CorpusChristi,
        OptionalHoliday::ChristmasEveAfternoon,
        OptionalHoliday::NewYearsEveAfternoon,
    ];

    /// The code stored and posted by forms (the same as its serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            OptionalHoliday::CarnivalMonday => "carnival_monday",
            OptionalHoliday::CarnivalTuesday => "carnival_tuesday",
            OptionalHoliday::AshWednesdayMorning => "ash_wednesday_morning",
            OptionalHoliday::CorpusChristi => "corpus_christi",
            OptionalHoliday::ChristmasEveAfternoon => "christmas_eve_afternoon",
            OptionalHoliday::NewYearsEveAfternoon => "new_years_eve_afternoon",
        }
    }

    /// The holiday of a code from `as_str` (case and surrounding spaces ignored).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|h| h.as_str().eq_ignore_ascii_case(s))
    }

    /// The name shown on the page and in the list of closures.
    pub fn name_pt(self) -> &'static str {
        match self {
            OptionalHoliday::CarnivalMonday => "Segunda-feira de Carnaval",
            OptionalHoliday::CarnivalTuesday => "Terça-feira de Carnaval",
            OptionalHoliday::AshWednesdayMorning => "Quarta-feira de Cinzas (até 14h)",
            OptionalHoliday::CorpusChristi => "Corpus Christi",
            OptionalHoliday::ChristmasEveAfternoon => "Véspera de Natal (a partir das 12h)",
            OptionalHoliday::NewYearsEveAfternoon => "Véspera de Ano-Novo (a partir das 12h)",
        }
    }
}

/// A company's own date (state/municipal holiday, closure): all day when `closed` is None, else
/// closed only in that range.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CustomDate {
    pub date: NaiveDate,
    pub closed: Option<Interval>,
    pub name: String,
}

/// Which holidays and closures apply to a company. `Calendar::default()` has none at all;
/// `Calendar::brazil()` is the usual start (the national holidays).
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Calendar {
    /// Brazil's national holidays apply.
    pub national: bool,
    #[serde(default)]
    pub optional: Vec<OptionalHoliday>,
    #[serde(default)]
    pub custom: Vec<CustomDate>,
}

impl Calendar {
    /// The national holidays only.
    pub fn brazil() -> Calendar {
        Calendar { national: true, optional: Vec::new(), custom: Vec::new() }
    }
}

/// One closure of a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closure {
    pub date: NaiveDate,
    /// 0..1440 for all day.
    pub range: Interval,
    pub name: String,
}

/// Easter Sunday of `year` (Gregorian computus of Meeus/Jones/Butcher). Years chrono cannot
/// represent (beyond ±262 000) saturate to `NaiveDate::MIN`/`MAX` rather than panic.
pub fn easter(year: i32) -> NaiveDate {
    // Euclidean division keeps the formula total for negative (proleptic) years.
    let y = i64::from(year);
    let (a, b, c) = (y.rem_euclid(19), y.div_euclid(100), y.rem_euclid(100));
    let (d, e) = (b.div_euclid(4), b.rem_euclid(4));
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    let (month, day) = (u32::try_from(n / 31).unwrap_or(3), u32::try_from(n % 31 + 1).unwrap_or(1));
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(if year < 0 { NaiveDate::MIN } else { NaiveDate::MAX })
}

/// `date` moved by `days`, or `date` itself at the ends of chrono's calendar.
fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    TimeDelta::try_days(days).and_then(|d| date.checked_add_signed(d)).unwrap_or(date)
}

/// Brazil's national holidays of `year`, sorted. The Dia Nacional de Zumbi e da Consciência
/// Negra counts from 2024 on (Lei 14.759/2023 made it national), so past years stay right.
pub fn national_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    const FIXED: [(u32, u32, &str); 9] = [
        (1, 1, "Confraternização Universal"),
        (4, 21, "Tiradentes"),
        (5, 1, "Dia do Trabalho"),
        (9, 7, "Independência do Brasil"),
        (10, 12, "Nossa Senhora Aparecida"),
        (11, 2, "Finados"),
        (11, 15, "Proclamação da República"),
        (11, 20, "Dia Nacional de Zumbi e da Consciência Negra"),
        (12, 25, "Natal"),
    ];
    let mut list: Vec<(NaiveDate, &'static str)> = FIXED
        .iter()
        .filter(|&&(m, d, _)| year >= 2024 || (m, d) != (11, 20))
        .filter_map(|&(m, d, name)| NaiveDate::from_ymd_opt(year, m, d).map(|date| (date, name)))
        .collect();
    let good_friday = shift(easter(year), -2);
    if good_friday.year() == year {
        list.push((good_friday, "Sexta-feira Santa"));
    }
    list.sort();
    list
}

/// The date of an optional holiday in `year` and the part of it that is closed.
pub fn optional_closure(h: OptionalHoliday, year: i32) -> (NaiveDate, Interval) {
    let dec =
        |day| NaiveDate::from_ymd_opt(year, 12, day).unwrap_or(if year < 0 { NaiveDate::MIN } else { NaiveDate::MAX });
    match h {
        OptionalHoliday::CarnivalMonday => (shift(easter(year), -48), ALL_DAY),
        OptionalHoliday::CarnivalTuesday => (shift(easter(year), -47), ALL_DAY),
        // Offices open at 14:00 on Ash Wednesday (the federal ponto facultativo's custom).
        OptionalHoliday::AshWednesdayMorning => (shift(easter(year), -46), Interval { start: 0, end: 840 }),
        OptionalHoliday::CorpusChristi => (shift(easter(year), 60), ALL_DAY),
        OptionalHoliday::ChristmasEveAfternoon => (dec(24), Interval { start: 720, end: 1440 }),
        OptionalHoliday::NewYearsEveAfternoon => (dec(31), Interval { start: 720, end: 1440 }),
    }
}

/// A range cut to the day, or None when it closes nothing (fields are public, so a hand-built
/// interval may be backwards or run past midnight).
fn day_range(range: Interval) -> Option<Interval> {
    let end = range.end.min(1440);
    (range.start < end).then_some(Interval { start: range.start, end })
}

/// Every closure that falls in `year`, unsorted.
fn year_closures(calendar: &Calendar, year: i32) -> Vec<Closure> {
    let mut out = Vec::new();
    if calendar.national {
        for (date, name) in national_holidays(year) {
            out.push(Closure { date, range: ALL_DAY, name: name.to_string() });
        }
    }
    // Walking ALL (not the calendar's list) ignores duplicates and keeps the year's order.
    for h in OptionalHoliday::ALL.into_iter().filter(|h| calendar.optional.contains(h)) {
        let (date, range) = optional_closure(h, year);
        if date.year() == year {
            out.push(Closure { date, range, name: h.name_pt().to_string() });
        }
    }
    for c in calendar.custom.iter().filter(|c| c.date.year() == year) {
        if let Some(range) = day_range(c.closed.unwrap_or(ALL_DAY)) {
            out.push(Closure { date: c.date, range, name: c.name.clone() });
        }
    }
    out
}

/// Sorted by date, then by range; exact repeats dropped.
fn tidy(mut list: Vec<Closure>) -> Vec<Closure> {
    list.sort_by(|a, b| {
        (a.date, a.range.start, a.range.end, &a.name).cmp(&(b.date, b.range.start, b.range.end, &b.name))
    });
    list.dedup();
    list
}

/// Every closure of `date` under the calendar, one per source and not merged, so the page can
/// name each (a custom closure on a national holiday shows both); sorted by range start.
/// Ranges are cut to the day and empty ones left out.
pub fn closures_on(calendar: &Calendar, date: NaiveDate) -> Vec<Closure> {
    tidy(year_closures(calendar, date.year()).into_iter().filter(|c| c.date == date).collect())
}

/// Every closure from `from` (inclusive) for `days` days (at most `MAX_LISTED_DAYS`), sorted by
/// date as `closures_on` sorts each day.
pub fn closures_between(calendar: &Calendar, from: NaiveDate, days: u32) -> Vec<Closure> {
    let days = days.min(MAX_LISTED_DAYS);
    if days == 0 {
        return Vec::new();
    }
    // Exclusive end; at chrono's last day the span simply stops there.
    let end = from.checked_add_days(Days::new(u64::from(days)));
    let last = end.map_or(NaiveDate::MAX, |e| e.pred_opt().unwrap_or(e));
    let mut out = Vec::new();
    for year in from.year()..=last.year() {
        out.extend(year_closures(calendar, year).into_iter().filter(|c| c.date >= from && c.date <= last));
    }
    tidy(out)
}

/// The most dates of its own a company keeps.
pub const MAX_CUSTOM_DATES: usize = 200;

/// Reads a company's own dates, one per line: `dd/mm/aaaa name` closes all day,
/// `dd/mm/aaaa 12:00-18:00 name` only in that range (blank lines skipped). The error names the
/// line that is wrong.
pub fn parse_custom_dates(text: &str) -> Result<Vec<CustomDate>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty()) {
        let (date, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let date = NaiveDate::parse_from_str(date, "%d/%m/%Y")
            .map_err(|_| format!("line {n}: start with a date as dd/mm/aaaa"))?;
        let rest = rest.trim();
        // A first word that reads as hours is the closed range; the rest is the name.
        let (first, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let (range, name) = match super::Interval::parse(first) {
            Some(range) => (Some(range), after.trim()),
            None if first.starts_with(|c: char| c.is_ascii_digit()) => {
                return Err(format!("line {n}: write the closed hours as 12:00-18:00"));
            }
            None => (None, rest),
        };
        if name.chars().count() > 80 {
            return Err(format!("line {n}: a name has at most 80 characters"));
        }
        let closed = range.filter(|r| *r != ALL_DAY);
        out.push(CustomDate { date, closed, name: if name.is_empty() { "Fechado".into() } else { name.into() } });
    }
    if out.len() > MAX_CUSTOM_DATES {
        return Err(format!("at most {MAX_CUSTOM_DATES} dates"));
    }
    out.sort_by_key(|d| (d.date, d.closed.map(|r| r.start)));
    Ok(out)
}

/// The lines [`parse_custom_dates`] reads back.
pub fn format_custom_dates(dates: &[CustomDate]) -> String {
    dates
        .iter()
        .map(|d| match d.closed {
            Some(r) => format!(
                "{} {:02}:{:02}-{:02}:{:02} {}",
                d.date.format("%d/%m/%Y"),
                r.start / 60,
                r.start % 60,
                r.end / 60,
                r.end % 60,
                d.name
            ),
            None => format!("{} {}", d.date.format("%d/%m/%Y"), d.name),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_of_known_years() {
        assert_eq!(easter(2024), d(2024, 3, 31));
        assert_eq!(easter(2025), d(2025, 4, 20));
        assert_eq!(easter(2026), d(2026, 4, 5));
        assert_eq!(easter(2027), d(2027, 3, 28));
        assert_eq!(easter(2038), d(2038, 4, 25));
        assert_eq!(easter(2019), d(2019, 4, 21));
        assert_eq!(easter(2000), d(2000, 4, 23));
        assert_eq!(easter(1818), d(1818, 3, 22)); // the earliest possible date
        assert_eq!(easter(1943), d(1943, 4, 25)); // the latest possible date
        for y in [i32::MIN, -1, 0, 262_143, i32::MAX] {
            let _ = easter(y); // total, whatever it returns
        }
    }

    #[test]
    fn national_holidays_of_2026_and_before_zumbi_became_national() {
        let list = national_holidays(2026);
        let dates: Vec<NaiveDate> = list.iter().map(|(date, _)| *date).collect();
        assert_eq!(
            dates,
            vec![
                d(2026, 1, 1),
                d(2026, 4, 3),
                d(2026, 4, 21),
                d(2026, 5, 1),
                d(2026, 9, 7),
                d(2026, 10, 12),
                d(2026, 11, 2),
                d(2026, 11, 15),
                d(2026, 11, 20),
                d(2026, 12, 25)
            ]
        );
        assert_eq!(list[1].1, "Sexta-feira Santa");
        assert_eq!(list[8].1, "Dia Nacional de Zumbi e da Consciência Negra");
        assert!(national_holidays(2027).contains(&(d(2027, 3, 26), "Sexta-feira Santa")));
        assert_eq!(national_holidays(2023).len(), 9);
        assert!(!national_holidays(2023).iter().any(|(date, _)| *date == d(2023, 11, 20)));
        assert!(national_holidays(i32::MAX).is_empty());
    }

    #[test]
    fn optional_holidays_of_2027() {
        use OptionalHoliday::*;
        assert_eq!(optional_closure(CarnivalMonday, 2027), (d(2027, 2, 8), ALL_DAY));
        assert_eq!(optional_closure(CarnivalTuesday, 2027), (d(2027, 2, 9), ALL_DAY));
        assert_eq!(optional_closure(AshWednesdayMorning, 2027), (d(2027, 2, 10), Interval { start: 0, end: 840 }));
        assert_eq!(optional_closure(CorpusChristi, 2027), (d(2027, 5, 27), ALL_DAY));
        assert_eq!(
            optional_closure(ChristmasEveAfternoon, 2027),
            (d(2027, 12, 24), Interval { start: 720, end: 1440 })
        );
        assert_eq!(optional_closure(NewYearsEveAfternoon, 2027).0, d(2027, 12, 31));
        for h in OptionalHoliday::ALL {
            assert_eq!(OptionalHoliday::parse(h.as_str()), Some(h));
            assert_eq!(serde_json::to_string(&h).unwrap(), format!("\"{}\"", h.as_str()));
            let _ = optional_closure(h, i32::MIN);
        }
        assert_eq!(OptionalHoliday::parse(" Corpus_Christi "), Some(CorpusChristi));
        assert_eq!(OptionalHoliday::parse("carnival"), None);
    }

    #[test]
    fn closures_of_a_day_list_each_source() {
        let calendar = Calendar {
            national: true,
            optional: vec![OptionalHoliday::AshWednesdayMorning, OptionalHoliday::AshWednesdayMorning],
            custom: vec![
                CustomDate {
                    date: d(2027, 2, 10),
                    closed: Some(Interval { start: 1080, end: 1440 }),
                    name: "Inventário".into(),
                },
                CustomDate { date: d(2027, 11, 20), closed: None, name: "Feriado da cidade".into() },
                CustomDate {
                    date: d(2027, 3, 1),
                    closed: Some(Interval { start: 900, end: 100 }),
                    name: "Errado".into(),
                },
            ],
        };
        let ash = closures_on(&calendar, d(2027, 2, 10));
        assert_eq!(ash.len(), 2);
        assert_eq!(
            (ash[0].range, ash[0].name.as_str()),
            (Interval { start: 0, end: 840 }, "Quarta-feira de Cinzas (até 14h)")
        );
        assert_eq!((ash[1].range, ash[1].name.as_str()), (Interval { start: 1080, end: 1440 }, "Inventário"));
        assert_eq!(closures_on(&calendar, d(2027, 11, 20)).len(), 2);
        assert!(closures_on(&calendar, d(2027, 3, 1)).is_empty());
        assert!(closures_on(&Calendar::default(), d(2027, 12, 25)).is_empty());
        assert_eq!(closures_on(&Calendar::brazil(), d(2027, 12, 25))[0].range, ALL_DAY);
    }

    #[test]
    fn closures_of_the_next_twelve_months_are_sorted_and_cross_the_year() {
        let calendar = Calendar { optional: OptionalHoliday::ALL.to_vec(), ..Calendar::brazil() };
        let list = closures_between(&calendar, d(2026, 12, 1), 366);
        assert!(list.windows(2).all(|w| (w[0].date, w[0].range.start) <= (w[1].date, w[1].range.start)));
        assert_eq!(list.first().map(|c| c.date), Some(d(2026, 12, 24)));
        assert_eq!(list.len(), 3 + 9 + 4); // December 2026, then 2027 up to 1 December
        assert!(list.iter().all(|c| c.date >= d(2026, 12, 1) && c.date < d(2027, 12, 2)));
        assert_eq!(closures_between(&calendar, d(2026, 12, 25), 1).len(), 1);
        assert!(closures_between(&calendar, d(2026, 12, 25), 0).is_empty());
        assert!(closures_between(&calendar, NaiveDate::MAX, u32::MAX).len() <= 1);
        assert!(closures_between(&calendar, d(2026, 1, 1), u32::MAX).len() < 1700);
    }

    #[test]
    fn a_company_s_own_dates_read_from_lines_and_back() {
        let text = "25/01/2027 Aniversário de São Paulo\n\n 24/12/2027 12:00-18:00 Véspera \n09/07/2027";
        let dates = parse_custom_dates(text).unwrap();
        assert_eq!(dates.len(), 3);
        assert_eq!(dates[0].name, "Aniversário de São Paulo");
        assert_eq!(dates[0].closed, None);
        assert_eq!(dates[1].date, NaiveDate::from_ymd_opt(2027, 7, 9).unwrap());
        assert_eq!(dates[1].name, "Fechado");
        assert_eq!(dates[2].closed, Some(Interval { start: 720, end: 1080 }));
        assert_eq!(parse_custom_dates(&format_custom_dates(&dates)).unwrap(), dates);
        let cal = Calendar { national: false, optional: Vec::new(), custom: dates };
        let on = closures_on(&cal, NaiveDate::from_ymd_opt(2027, 12, 24).unwrap());
        assert_eq!(on.len(), 1);
        assert_eq!(on[0].range, Interval { start: 720, end: 1080 });
        assert!(parse_custom_dates("31/02/2027 Nunca").unwrap_err().contains("line 1"));
        assert!(parse_custom_dates("ok\n01/01/2027 x").unwrap_err().contains("line 1"));
        assert!(parse_custom_dates("01/01/2027 x\n02/01/2027 25:00-26:00 y").unwrap_err().contains("line 2"));
    }
}
