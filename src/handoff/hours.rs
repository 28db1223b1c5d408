//! Office hours in Vietnam time (UTC+7): when members are expected to answer, and how
//! much office time has passed between two instants (escalation clocks stop at night).

use crate::calendar::{UTC_OFFSET_SECS, UnixSecs};

const DAY: i64 = 86_400;

/// Whether `unix` falls in [start, end) hours, Vietnam time.
pub fn is_open(unix: UnixSecs, start: u32, end: u32) -> bool {
    let hour = ((unix.get() + UTC_OFFSET_SECS).rem_euclid(DAY) / 3600) as u32;
    hour >= start && hour < end
}

/// Seconds of office time in [from, to).
pub fn office_secs_between(from: UnixSecs, to: UnixSecs, start: u32, end: u32) -> i64 {
    if to <= from || end <= start {
        return 0;
    }
    let (open, close) = (i64::from(start) * 3600, i64::from(end) * 3600);
    let local_from = from.get() + UTC_OFFSET_SECS;
    let local_to = to.get() + UTC_OFFSET_SECS;
    let (first_day, last_day) = (local_from.div_euclid(DAY), local_to.div_euclid(DAY));
    let mut total = 0;
    for day in first_day..=last_day {
        let day_open = day * DAY + open;
        let day_close = day * DAY + close;
        let a = day_open.max(local_from);
        let b = day_close.min(local_to);
        if b > a {
            total += b - a;
        }
    }
    total
}

/// The next instant ≥ `unix` inside office hours.
pub fn next_open(unix: UnixSecs, start: u32, end: u32) -> UnixSecs {
    if is_open(unix, start, end) {
        return unix;
    }
    let local = unix.get() + UTC_OFFSET_SECS;
    let day = local.div_euclid(DAY);
    let today_open = day * DAY + i64::from(start) * 3600;
    let local_next = if local < today_open { today_open } else { today_open + DAY };
    UnixSecs(local_next - UTC_OFFSET_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::vn_to_unix_ms;

    fn vn(d: u32, h: u32, m: u32) -> UnixSecs {
        vn_to_unix_ms(2026, 12, d, h, m).to_secs()
    }

    #[test]
    fn office_time_table() {
        let cases = [
            // (from, to, office seconds)
            (vn(1, 8, 0), vn(1, 10, 0), 7200),
            (vn(1, 20, 0), vn(2, 8, 0), 7200),
            (vn(1, 22, 0), vn(2, 6, 0), 0),
            (vn(1, 6, 0), vn(1, 7, 30), 1800),
            (vn(1, 8, 0), vn(3, 8, 0), 2 * 14 * 3600),
            (vn(1, 10, 0), vn(1, 9, 0), 0),
        ];
        for (from, to, want) in cases {
            assert_eq!(office_secs_between(from, to, 7, 21), want, "{from:?} {to:?}");
        }
    }

    #[test]
    fn open_and_next_open() {
        assert!(is_open(vn(1, 7, 0), 7, 21));
        assert!(!is_open(vn(1, 21, 0), 7, 21));
        assert!(!is_open(vn(1, 6, 59), 7, 21));
        assert_eq!(next_open(vn(1, 22, 0), 7, 21), vn(2, 7, 0));
        assert_eq!(next_open(vn(1, 3, 0), 7, 21), vn(1, 7, 0));
        assert_eq!(next_open(vn(1, 9, 0), 7, 21), vn(1, 9, 0));
    }
}
