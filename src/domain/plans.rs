//! Plans: the limits and feature switches a SaaS operator sells, and the one rule that checks them.

/// A countable thing a plan may cap. The name is the stable word used in error codes and the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Active connections (numbers); a deactivated or removed one frees its slot.
    Connections,
    /// Active people (every role) of the company.
    Agents,
    Departments,
    Chatbots,
    /// Campaigns created in the current calendar month (the company's time zone).
    CampaignsPerMonth,
    Contacts,
    /// Files stored for the company, in MB.
    StorageMb,
}

impl Limit {
    pub const ALL: [Limit; 7] = [
        Limit::Connections,
        Limit::Agents,
        Limit::Departments,
        Limit::Chatbots,
        Limit::CampaignsPerMonth,
        Limit::Contacts,
        Limit::StorageMb,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Limit::Connections => "connections",
            Limit::Agents => "agents",
            Limit::Departments => "departments",
            Limit::Chatbots => "chatbots",
            Limit::CampaignsPerMonth => "campaigns_per_month",
            Limit::Contacts => "contacts",
            Limit::StorageMb => "storage_mb",
        }
    }
}

/// A part of the product a plan may switch off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    Campaigns,
    Api,
    Chat,
    Chatbot,
    Kanban,
}

impl Feature {
    pub const ALL: [Feature; 5] = [Feature::Campaigns, Feature::Api, Feature::Chat, Feature::Chatbot, Feature::Kanban];

    pub fn name(self) -> &'static str {
        match self {
            Feature::Campaigns => "campaigns",
            Feature::Api => "api",
            Feature::Chat => "chat",
            Feature::Chatbot => "chatbot",
            Feature::Kanban => "kanban",
        }
    }
}

/// Billing periods a plan may have.
pub const PERIODS: [&str; 2] = ["monthly", "yearly"];

/// A limit that would be passed: what the plan allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitReached {
    pub limit: Limit,
    pub allowed: i64,
}

/// Whether `adding` more of `limit` fits when `used` are taken and the plan allows `allowed`
/// (`None`: no limit). Adding nothing always fits, so a company above a lowered limit keeps
/// what it has and only cannot grow.
pub fn check(limit: Limit, allowed: Option<i64>, used: i64, adding: i64) -> Result<(), LimitReached> {
    match allowed {
        Some(allowed) if adding > 0 && used.saturating_add(adding) > allowed => Err(LimitReached { limit, allowed }),
        _ => Ok(()),
    }
}

/// Bytes to whole MB as counted against the storage limit (a started MB counts).
pub fn storage_mb(bytes: i64) -> i64 {
    (bytes.max(0) + (1 << 20) - 1) >> 20
}

/// The first instant of the calendar month `now` falls in, in the company's zone.
pub fn month_start(tz: chrono_tz::Tz, now: i64) -> i64 {
    use chrono::Datelike;
    let today = super::hours::wall_clock(tz, now).map(|d| d.date()).unwrap_or_default();
    let first = today.with_day(1).unwrap_or(today);
    super::reports::range::local_midnight(tz, first)
}

/// A price typed in Brazilian or plain form ("99,90", "1.234,56", "99.9", "R$ 49") in cents.
pub fn parse_price_cents(text: &str) -> Option<i64> {
    let t: String = text.trim().trim_start_matches("R$").chars().filter(|c| !c.is_whitespace()).collect();
    // With a comma, the comma is the decimal mark and dots group thousands.
    let t = if t.contains(',') { t.replace('.', "").replace(',', ".") } else { t };
    let (units, cents) = t.split_once('.').unwrap_or((&t, ""));
    if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) || units.len() > 9 {
        return None;
    }
    if cents.len() > 2 || !cents.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let cents: i64 = if cents.is_empty() { 0 } else { format!("{cents:0<2}").parse().ok()? };
    Some(units * 100 + cents)
}

/// Cents as Brazilian money: "R$ 1.234,56".
pub fn format_brl(cents: i64) -> String {
    let units = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("R$ {grouped},{:02}", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_slot_fits_and_the_next_does_not() {
        assert_eq!(check(Limit::Connections, Some(5), 4, 1), Ok(()));
        assert_eq!(
            check(Limit::Connections, Some(5), 5, 1),
            Err(LimitReached { limit: Limit::Connections, allowed: 5 })
        );
        assert!(check(Limit::Contacts, Some(10), 8, 3).is_err(), "a batch that passes the limit is refused whole");
        assert_eq!(check(Limit::Contacts, None, i64::MAX, 1), Ok(()), "no limit");
        assert_eq!(check(Limit::Agents, Some(2), 7, 0), Ok(()), "keeping what one has above a lowered limit");
        assert!(check(Limit::Agents, Some(0), 0, 1).is_err());
    }

    #[test]
    fn storage_counts_started_megabytes() {
        assert_eq!(storage_mb(0), 0);
        assert_eq!(storage_mb(1), 1);
        assert_eq!(storage_mb(1 << 20), 1);
        assert_eq!(storage_mb((1 << 20) + 1), 2);
    }

    #[test]
    fn prices_read_in_brazilian_and_plain_forms() {
        assert_eq!(parse_price_cents("99,90"), Some(9990));
        assert_eq!(parse_price_cents("R$ 1.234,56"), Some(123456));
        assert_eq!(parse_price_cents("99.9"), Some(9990));
        assert_eq!(parse_price_cents("49"), Some(4900));
        assert_eq!(parse_price_cents("0"), Some(0));
        for bad in ["", "-5", "1,234", "abc", "1.2.3", "9,999", "1e5"] {
            assert_eq!(parse_price_cents(bad), None, "{bad:?}");
        }
        assert_eq!(format_brl(123456), "R$ 1.234,56");
        assert_eq!(format_brl(9990), "R$ 99,90");
        assert_eq!(format_brl(5), "R$ 0,05");
    }

    #[test]
    fn a_month_starts_at_local_midnight_of_the_first() {
        let tz = chrono_tz::America::Sao_Paulo;
        // 2026-03-15 12:00 UTC → 2026-03-01 00:00 in São Paulo (UTC−3) = 03:00 UTC.
        assert_eq!(month_start(tz, 1_773_576_000_000), 1_772_334_000_000);
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = Limit::ALL.iter().map(|l| l.name()).collect();
        names.extend(Feature::ALL.iter().map(|f| f.name()));
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
