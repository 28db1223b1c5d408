//! The clock, read only at the edges (the pure cores take `now` as a parameter).
//!
//! Everything that depends on the date (report periods, deadlines, reminders, invite
//! expiry, fact review, token expiry) reads a [`Clock`] handed to it at start-up, never
//! `SystemTime` directly, so tests can run the whole service on a chosen date: a clock
//! [`Clock::starting_at`] an instant reads that instant at creation and then advances in
//! real time (timers, back-off and throttling keep working), and [`Clock::advance`] jumps.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::calendar::{UTC_OFFSET_SECS, UnixMs, UnixSecs, days_from_civil};

/// See [`Clock::for_service`].
pub const START_ENV: &str = "CNSCD_CLOCK_START_MS";

/// A handle on "now". Cheap to clone; clones share the same offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system clock (0 for the real clock).
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that reads `start` now and advances in real time.
    pub fn starting_at(start: UnixMs) -> Clock {
        let clock = Clock::default();
        clock.offset_ms.store(start.get() - system_ms(), Ordering::Relaxed);
        clock
    }

    /// The clock `serve` runs on: the system clock, unless `CNSCD_CLOCK_START_MS` gives
    /// the instant to start from (Unix milliseconds). That exists for tests that run the
    /// real binary as a child process, so they too are pinned to a chosen date instead
    /// of depending on the day they run; a service never sets it.
    pub fn for_service() -> Clock {
        match std::env::var(START_ENV).ok().and_then(|v| v.trim().parse::<i64>().ok()) {
            Some(start_ms) => {
                tracing::warn!(start_ms, "{START_ENV} is set: the service runs on a test clock");
                Clock::starting_at(UnixMs(start_ms))
            }
            None => Clock::system(),
        }
    }

    /// A clock starting at a Vietnam (UTC+7) wall-clock time.
    pub fn starting_at_vn(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> Clock {
        Clock::starting_at(vn_to_unix_ms(year, month, day, hour, minute))
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms.fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> UnixMs {
        UnixMs(system_ms() + self.offset_ms.load(Ordering::Relaxed))
    }

    /// Now, in whole Unix seconds (rounded down).
    pub fn now_secs(&self) -> UnixSecs {
        self.now_ms().to_secs()
    }
}

/// Unix milliseconds of a Vietnam (UTC+7) wall-clock time.
pub fn vn_to_unix_ms(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> UnixMs {
    let secs = days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        - UTC_OFFSET_SECS;
    UnixSecs(secs).to_ms()
}

fn system_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_starting_at_an_instant_reads_it_and_moves_on() {
        let start = vn_to_unix_ms(2026, 12, 1, 0, 30);
        // 2026-12-01 00:30 in Vietnam is still 30 November in UTC.
        assert_eq!(
            start.to_secs().get(),
            days_from_civil(2026, 11, 30) * 86_400 + 17 * 3600 + 30 * 60
        );
        let clock = Clock::starting_at(start);
        let read = clock.now_ms();
        assert!((start..start.plus_ms(5_000)).contains(&read), "{read:?} vs {start:?}");
        let clone = clock.clone();
        clock.advance(Duration::from_secs(86_400));
        assert!(clone.now_ms() >= start.plus_ms(86_400_000));
    }

    #[test]
    fn the_system_clock_has_no_offset() {
        let clock = Clock::system();
        assert!((clock.now_ms().get() - system_ms()).abs() < 5_000);
    }
}
