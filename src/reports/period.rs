//! Reporting periods in Vietnam time (Asia/Ho_Chi_Minh = UTC+7, no daylight saving).
//!
//! A period is a calendar month or an ISO week. All instants are unix seconds passed in
//! by the caller (this module never reads the clock). Rules per report type, counted in
//! days from the end of the period: on time until `deadline_days`, the previous period
//! is the default until `grace_days`, locked from `lock_days`.

use serde::{Deserialize, Serialize};

use super::definition::ReportType;
use super::text::fold;
use crate::calendar::UnixSecs;

pub use crate::calendar::{UTC_OFFSET_SECS, civil_from_days, days_from_civil};
const DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Week,
    Month,
}

/// A month (`number` 1–12) or an ISO week (`number` 1–53, `year` = ISO week-year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Period {
    pub kind: PeriodKind,
    pub year: i32,
    pub number: u32,
}

/// Serde as the period's key ("2026-10", "2026-W45"), the form stored reports and the
/// API have always used: `#[serde(with = "period::as_key")]`.
pub mod as_key {
    use serde::{Deserializer, Serializer, de::Error};

    use super::Period;

    pub fn serialize<S: Serializer>(period: &Period, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&period.key())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Period, D::Error> {
        // Read from the input as it is, not through a `String`: every stored version has
        // a period, and an export reads 100,000 of them.
        struct KeyVisitor;
        impl serde::de::Visitor<'_> for KeyVisitor {
            type Value = Period;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a period key like 2026-10 or 2026-W45")
            }
            fn visit_str<E: Error>(self, key: &str) -> Result<Period, E> {
                Period::from_key(key).ok_or_else(|| E::custom(format!("not a period key: {key}")))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Why a period cannot be used. `Display` is Vietnamese, for the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("kỳ «{0}» không hợp lệ (ví dụ đúng: T10, 10/2026, 2026-10, W45)")]
    Invalid(String),
    #[error("báo cáo này theo {expected}, không dùng được kỳ «{given}»")]
    WrongKind { expected: &'static str, given: String },
    #[error("{0} chưa bắt đầu, chưa báo cáo được")]
    Future(String),
    #[error(
        "{period} đã khóa sổ từ {locked_at}, không nhận báo cáo nữa. Vui lòng liên hệ cán bộ xã nếu cần bổ sung"
    )]
    Locked { period: String, locked_at: String },
}

impl PeriodKind {
    pub fn label(self) -> &'static str {
        match self {
            PeriodKind::Week => "tuần",
            PeriodKind::Month => "tháng",
        }
    }
}

impl Period {
    /// The period of `kind` that contains the instant `unix`.
    pub fn containing(kind: PeriodKind, unix: UnixSecs) -> Period {
        let day = local_day(unix);
        match kind {
            PeriodKind::Month => {
                let (year, month, _) = civil_from_days(day);
                Period { kind, year, number: month }
            }
            PeriodKind::Week => {
                let (year, week) = iso_week(day);
                Period { kind, year, number: week }
            }
        }
    }

    /// First local day (days since 1970-01-01).
    pub fn start_day(self) -> i64 {
        match self.kind {
            PeriodKind::Month => days_from_civil(self.year, self.number, 1),
            PeriodKind::Week => iso_week_start(self.year) + 7 * (i64::from(self.number) - 1),
        }
    }

    /// First local day after the period.
    pub fn end_day(self) -> i64 {
        self.next().start_day()
    }

    /// Unix seconds of local midnight starting the period.
    pub fn start(self) -> UnixSecs {
        UnixSecs(self.start_day() * DAY - UTC_OFFSET_SECS)
    }

    /// Unix seconds of local midnight ending the period (exclusive).
    pub fn end(self) -> UnixSecs {
        UnixSecs(self.end_day() * DAY - UTC_OFFSET_SECS)
    }

    pub fn next(self) -> Period {
        match self.kind {
            PeriodKind::Month if self.number >= 12 => {
                Period { year: self.year + 1, number: 1, ..self }
            }
            PeriodKind::Month => Period { number: self.number + 1, ..self },
            PeriodKind::Week if self.number >= weeks_in_year(self.year) => {
                Period { year: self.year + 1, number: 1, ..self }
            }
            PeriodKind::Week => Period { number: self.number + 1, ..self },
        }
    }

    pub fn prev(self) -> Period {
        match self.kind {
            PeriodKind::Month if self.number <= 1 => {
                Period { year: self.year - 1, number: 12, ..self }
            }
            PeriodKind::Month => Period { number: self.number - 1, ..self },
            PeriodKind::Week if self.number <= 1 => {
                Period { year: self.year - 1, number: weeks_in_year(self.year - 1), ..self }
            }
            PeriodKind::Week => Period { number: self.number - 1, ..self },
        }
    }

    /// Stable key used in the store and the API: "2026-10" or "2026-W45".
    pub fn key(self) -> String {
        match self.kind {
            PeriodKind::Month => format!("{}-{:02}", self.year, self.number),
            PeriodKind::Week => format!("{}-W{:02}", self.year, self.number),
        }
    }

    /// Parses a key made by `key()`.
    pub fn from_key(key: &str) -> Option<Period> {
        let (year, rest) = key.split_once('-')?;
        let year: i32 = year.parse().ok()?;
        let (kind, number) = match rest.strip_prefix('W') {
            Some(week) => (PeriodKind::Week, week.parse().ok()?),
            None => (PeriodKind::Month, rest.parse().ok()?),
        };
        let period = Period { kind, year, number };
        period.is_valid().then_some(period)
    }

    /// "tháng 10/2026" or "tuần 45/2026 (02/11–08/11)".
    pub fn label(self) -> String {
        match self.kind {
            PeriodKind::Month => format!("tháng {}/{}", self.number, self.year),
            PeriodKind::Week => {
                let (_, m1, d1) = civil_from_days(self.start_day());
                let (_, m2, d2) = civil_from_days(self.end_day() - 1);
                format!("tuần {}/{} ({d1:02}/{m1:02}–{d2:02}/{m2:02})", self.number, self.year)
            }
        }
    }

    fn is_valid(self) -> bool {
        let max = match self.kind {
            PeriodKind::Month => 12,
            PeriodKind::Week => weeks_in_year(self.year),
        };
        (1..=max).contains(&self.number) && (2000..=2100).contains(&self.year)
    }
}

/// The period a report goes to when the member names none: the previous one while its
/// grace days run (monthly reports are written in the first days of the next month),
/// else the current one.
pub fn default_period(report: &ReportType, now: UnixSecs) -> Period {
    let current = Period::containing(report.period, now);
    let previous = current.prev();
    if now < previous.end().plus_secs(i64::from(report.grace_days) * DAY) {
        previous
    } else {
        current
    }
}

/// Refuses future and locked periods.
pub fn check_open(report: &ReportType, period: Period, now: UnixSecs) -> Result<(), PeriodError> {
    if period.start() > now {
        return Err(PeriodError::Future(crate::vntext::capitalise(&period.label())));
    }
    let locked_at = lock_time(report, period);
    if now >= locked_at {
        return Err(PeriodError::Locked {
            period: crate::vntext::capitalise(&period.label()),
            locked_at: format_local_date(locked_at),
        });
    }
    Ok(())
}

/// The instant after which a report for `period` is late.
pub fn deadline(report: &ReportType, period: Period) -> UnixSecs {
    period.end().plus_secs(i64::from(report.deadline_days) * DAY)
}

/// The instant from which `period` accepts no submissions.
pub fn lock_time(report: &ReportType, period: Period) -> UnixSecs {
    period.end().plus_secs(i64::from(report.lock_days) * DAY)
}

pub fn is_on_time(report: &ReportType, period: Period, submitted_at: UnixSecs) -> bool {
    submitted_at < deadline(report, period)
}

/// Reads a period the member typed (`T10`, `t10/2026`, `2026-10`, `10/2026`, `W45`,
/// `tuan45`, `2026-W45`). `None` when the token does not look like a period at all, so
/// the caller can treat it as a value. A missing year means the latest such period
/// that is not in the future.
pub fn parse_period_token(
    token: &str,
    kind: PeriodKind,
    now: UnixSecs,
) -> Option<Result<Period, PeriodError>> {
    let folded = fold(token);
    let (given_kind, number, year) = split_period_token(&folded)?;
    let invalid = || PeriodError::Invalid(super::text::preview(token));
    if given_kind != kind {
        return Some(Err(PeriodError::WrongKind {
            expected: kind.label(),
            given: token.to_owned(),
        }));
    }
    let period = match year {
        Some(year) => Period { kind, year, number },
        None => {
            let current = Period::containing(kind, now);
            let this_year = Period { kind, year: current.year, number };
            if this_year > current {
                Period { year: current.year - 1, ..this_year }
            } else {
                this_year
            }
        }
    };
    Some(if period.is_valid() { Ok(period) } else { Err(invalid()) })
}

/// (kind, number, year) of a period-looking token, or `None`.
fn split_period_token(folded: &str) -> Option<(PeriodKind, u32, Option<i32>)> {
    let all_digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    // "2026-10", "2026-w45"
    if let Some((year, rest)) = folded.split_once('-')
        && year.len() == 4
        && all_digits(year)
    {
        let year = year.parse().ok();
        return match rest.strip_prefix('w') {
            Some(w) if all_digits(w) => Some((PeriodKind::Week, w.parse().ok()?, year)),
            _ if all_digits(rest) && rest.len() <= 2 => {
                Some((PeriodKind::Month, rest.parse().ok()?, year))
            }
            _ => None,
        };
    }
    let (kind, body) = if let Some(rest) = folded.strip_prefix("thang") {
        (PeriodKind::Month, rest)
    } else if let Some(rest) = folded.strip_prefix("tuan") {
        (PeriodKind::Week, rest)
    } else if let Some(rest) = folded.strip_prefix('t') {
        (PeriodKind::Month, rest)
    } else if let Some(rest) = folded.strip_prefix('w') {
        (PeriodKind::Week, rest)
    } else {
        // Bare "10/2026" is a month; a bare number is a value, not a period.
        let (number, year) = folded.split_once(['/', '-'])?;
        if all_digits(number) && number.len() <= 2 && all_digits(year) && year.len() == 4 {
            return Some((PeriodKind::Month, number.parse().ok()?, year.parse().ok()));
        }
        return None;
    };
    let (number, year) = match body.split_once(['/', '-']) {
        Some((n, y)) if all_digits(y) && y.len() == 4 => (n, y.parse().ok()),
        Some(_) => return None,
        None => (body, None),
    };
    if !all_digits(number) || number.len() > 2 {
        return None;
    }
    Some((kind, number.parse().ok()?, year))
}

/// Local day number (days since 1970-01-01 in Vietnam time) of an instant.
pub fn local_day(unix: UnixSecs) -> i64 {
    (unix.get() + UTC_OFFSET_SECS).div_euclid(DAY)
}

/// "03/11/2026".
pub fn format_local_date(unix: UnixSecs) -> String {
    let (y, m, d) = civil_from_days(local_day(unix));
    format!("{d:02}/{m:02}/{y}")
}

/// "03/11/2026 14:05" (Vietnam time).
pub fn format_local_datetime(unix: UnixSecs) -> String {
    let secs = (unix.get() + UTC_OFFSET_SECS).rem_euclid(DAY);
    format!("{} {:02}:{:02}", format_local_date(unix), secs / 3600, secs % 3600 / 60)
}

/// Hour of day (0–23) in Vietnam time.
pub fn local_hour(unix: UnixSecs) -> u32 {
    ((unix.get() + UTC_OFFSET_SECS).rem_euclid(DAY) / 3600) as u32
}

/// ISO weekday, Monday = 1.
fn iso_weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7) + 1
}

/// (ISO week-year, week) of a day.
fn iso_week(day: i64) -> (i32, u32) {
    let thursday = day - iso_weekday(day) + 4;
    let (year, _, _) = civil_from_days(thursday);
    let week = (thursday - days_from_civil(year, 1, 1)) / 7 + 1;
    (year, week as u32)
}

/// Monday of ISO week 1 of `year`.
fn iso_week_start(year: i32) -> i64 {
    let jan4 = days_from_civil(year, 1, 4);
    jan4 - iso_weekday(jan4) + 1
}

fn weeks_in_year(year: i32) -> u32 {
    iso_week(days_from_civil(year, 12, 28)).1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds of a Vietnam local time.
    pub(crate) fn vn(y: i32, m: u32, d: u32, h: i64) -> UnixSecs {
        UnixSecs(days_from_civil(y, m, d) * DAY + h * 3600 - UTC_OFFSET_SECS)
    }

    fn month(year: i32, number: u32) -> Period {
        Period { kind: PeriodKind::Month, year, number }
    }

    fn week(year: i32, number: u32) -> Period {
        Period { kind: PeriodKind::Week, year, number }
    }

    fn report(kind: PeriodKind) -> ReportType {
        ReportType {
            key: "t".into(),
            name: "n".into(),
            period: kind,
            deadline_days: 5,
            grace_days: 7,
            lock_days: 20,
            indicators: vec![],
        }
    }

    #[test]
    fn calendar_round_trips() {
        for day in -1000..30_000 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 11, 24), 20_781);
    }

    #[test]
    fn vietnam_midnight_decides_the_period() {
        // 31/10/2026 23:30 local is 16:30 UTC: still October.
        assert_eq!(Period::containing(PeriodKind::Month, vn(2026, 10, 31, 23)), month(2026, 10));
        assert_eq!(Period::containing(PeriodKind::Month, vn(2026, 11, 1, 0)), month(2026, 11));
        assert_eq!(month(2026, 11).start(), vn(2026, 11, 1, 0));
        assert_eq!(month(2026, 12).next(), month(2027, 1));
        assert_eq!(month(2027, 1).prev(), month(2026, 12));
    }

    #[test]
    fn iso_weeks() {
        // 2026-11-02 is a Monday in ISO week 45.
        assert_eq!(Period::containing(PeriodKind::Week, vn(2026, 11, 2, 8)), week(2026, 45));
        assert_eq!(week(2026, 45).start(), vn(2026, 11, 2, 0));
        // 2026 has 53 ISO weeks; 1/1/2027 (Friday) belongs to 2026-W53.
        assert_eq!(weeks_in_year(2026), 53);
        assert_eq!(Period::containing(PeriodKind::Week, vn(2027, 1, 1, 9)), week(2026, 53));
        assert_eq!(week(2026, 53).next(), week(2027, 1));
        assert_eq!(week(2027, 1).prev(), week(2026, 53));
        assert_eq!(week(2026, 45).label(), "tuần 45/2026 (02/11–08/11)");
    }

    #[test]
    fn keys_round_trip() {
        for p in [month(2026, 1), month(2026, 12), week(2026, 1), week(2026, 53)] {
            assert_eq!(Period::from_key(&p.key()), Some(p));
        }
        for bad in ["2026-13", "2026-W54", "x", "2026-", "1999-01", "2025-W53"] {
            assert_eq!(Period::from_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn typed_periods() {
        let now = vn(2026, 11, 24, 10);
        let m = PeriodKind::Month;
        let cases: &[(&str, Option<Result<Period, PeriodError>>)] = &[
            ("T10", Some(Ok(month(2026, 10)))),
            ("t10/2026", Some(Ok(month(2026, 10)))),
            ("thang10", Some(Ok(month(2026, 10)))),
            ("tháng11", Some(Ok(month(2026, 11)))),
            ("2026-10", Some(Ok(month(2026, 10)))),
            ("10/2026", Some(Ok(month(2026, 10)))),
            ("T12", Some(Ok(month(2025, 12)))), // no year: latest December not in the future
            ("T13", Some(Err(PeriodError::Invalid("T13".into())))),
            ("W45", Some(Err(PeriodError::WrongKind { expected: "tháng", given: "W45".into() }))),
            ("12", None),
            ("1.200", None),
            ("hd=3", None),
            ("tx", None),
            ("10/20", None),
        ];
        for (token, want) in cases {
            assert_eq!(&parse_period_token(token, m, now), want, "token {token:?}");
        }
        assert_eq!(parse_period_token("w45", PeriodKind::Week, now), Some(Ok(week(2026, 45))));
        assert_eq!(parse_period_token("2026-W45", PeriodKind::Week, now), Some(Ok(week(2026, 45))));
        assert_eq!(parse_period_token("tuan 4", PeriodKind::Week, now), None);
    }

    #[test]
    fn month_ends_leap_days_and_year_spanning_weeks() {
        let r = report(PeriodKind::Month);
        let w = report(PeriodKind::Week);
        let minute = 60;
        let cases: &[(&str, UnixSecs, Period, Period)] = &[
            // (what, now, period containing now, period a report goes to by default)
            (
                "last day of a month, 23:59",
                vn(2026, 11, 30, 23).plus_secs(59 * minute),
                month(2026, 11),
                month(2026, 11),
            ),
            // 00:30 on the 1st in Vietnam is still the previous day in UTC.
            (
                "first day 00:30 (UTC: day before)",
                vn(2026, 12, 1, 0).plus_secs(30 * minute),
                month(2026, 12),
                month(2026, 11),
            ),
            ("grace window, last hour", vn(2026, 12, 7, 23), month(2026, 12), month(2026, 11)),
            ("grace window over", vn(2026, 12, 8, 0), month(2026, 12), month(2026, 12)),
            ("leap day", vn(2028, 2, 29, 12), month(2028, 2), month(2028, 2)),
            (
                "the day after a leap day",
                vn(2028, 3, 1, 0).plus_secs(30 * minute),
                month(2028, 3),
                month(2028, 2),
            ),
            ("new year's eve", vn(2026, 12, 31, 23), month(2026, 12), month(2026, 12)),
        ];
        for (what, now, containing, default) in cases {
            assert_eq!(Period::containing(PeriodKind::Month, *now), *containing, "{what}");
            assert_eq!(default_period(&r, *now), *default, "{what}");
        }
        assert_eq!(month(2028, 2).end().since(month(2028, 2).start()), 29 * 86_400);
        // ISO week 2026-W53 runs Monday 28/12/2026 to Sunday 3/1/2027.
        for day in [(2026, 12, 28), (2026, 12, 31), (2027, 1, 1), (2027, 1, 3)] {
            let now = vn(day.0, day.1, day.2, 0).plus_secs(30 * minute);
            assert_eq!(Period::containing(PeriodKind::Week, now), week(2026, 53), "{day:?}");
        }
        assert_eq!(Period::containing(PeriodKind::Week, vn(2027, 1, 4, 0)), week(2027, 1));
        // With a 7-day grace, the first days of 2027-W01 still report for 2026-W53.
        assert_eq!(default_period(&w, vn(2027, 1, 5, 9)), week(2026, 53));
    }

    #[test]
    fn default_lock_and_timeliness() {
        let r = report(PeriodKind::Month);
        // Grace: the first 7 days of November default to October.
        assert_eq!(default_period(&r, vn(2026, 11, 7, 23)), month(2026, 10));
        assert_eq!(default_period(&r, vn(2026, 11, 8, 0)), month(2026, 11));
        assert!(is_on_time(&r, month(2026, 10), vn(2026, 11, 5, 23)));
        assert!(!is_on_time(&r, month(2026, 10), vn(2026, 11, 6, 0)));
        assert_eq!(check_open(&r, month(2026, 10), vn(2026, 11, 20, 23)), Ok(()));
        assert_eq!(
            check_open(&r, month(2026, 10), vn(2026, 11, 21, 0)),
            Err(PeriodError::Locked {
                period: "Tháng 10/2026".into(),
                locked_at: "21/11/2026".into()
            })
        );
        assert_eq!(
            check_open(&r, month(2026, 12), vn(2026, 11, 21, 0)),
            Err(PeriodError::Future("Tháng 12/2026".into()))
        );
        assert_eq!(format_local_datetime(vn(2026, 11, 3, 14).plus_secs(300)), "03/11/2026 14:05");
        assert_eq!(local_hour(vn(2026, 11, 3, 21)), 21);
    }
}
