//! A calendar date without time zone, enough for "verified on" metadata and date answers.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// A valid Gregorian date, or `None`.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// `YYYY-MM-DD`.
    pub fn parse_iso(s: &str) -> Option<Date> {
        let mut parts = s.trim().splitn(3, '-');
        let year = parts.next()?.parse().ok()?;
        let month = parts.next()?.parse().ok()?;
        let day = parts.next()?.parse().ok()?;
        Date::new(year, month, day)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        crate::calendar::days_from_civil(self.year, self.month, self.day)
    }

    /// The date of a unix timestamp (UTC).
    pub fn from_unix_secs(secs: i64) -> Date {
        let (year, month, day) = crate::calendar::civil_from_days(secs.div_euclid(86_400));
        Date { year, month, day }
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Date {
    /// Vietnamese order: `dd/mm/yyyy`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}/{:02}/{:04}", self.day, self.month, self.year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2026, 4, 31).is_none());
        assert!(Date::new(2026, 13, 1).is_none());
        assert_eq!(Date::parse_iso("2026-11-01"), Date::new(2026, 11, 1));
        assert_eq!(Date::parse_iso("2026-11"), None);
    }

    #[test]
    fn epoch_days_round_trip() {
        let cases =
            [(1970, 1, 1, 0), (2000, 3, 1, 11_017), (2026, 11, 24, 20_781), (1969, 12, 31, -1)];
        for (year, month, day, days) in cases {
            let date = Date::new(year, month, day).expect("valid test date");
            assert_eq!(date.days_since_epoch(), days, "{date}");
            assert_eq!(Date::from_unix_secs(days * 86_400 + 3_600), date);
        }
    }
}
