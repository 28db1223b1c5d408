//! The send rate limit: a token bucket that refills at `rate` per second and holds at
//! most a tenth of a second's worth (at least one token).
//!
//! Why not `tokio::time::interval`: the runtime's timer counts whole milliseconds, so an
//! interval shorter than that (a lifted limit, or a rate above 1,000/s) still waited up
//! to a millisecond whenever the loop came back faster than the period, and each due
//! message waited for it in turn. The bucket only sleeps when it is empty. Zalo's own
//! limits are per minute, so a burst of a tenth of a second is well inside them (two
//! messages at the default 20/s).
//!
//! Pure: the caller passes the instant, so tests need no clock.

use std::time::{Duration, Instant};

pub struct Throttle {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Throttle {
    /// A full bucket at `now`. `rate` is sends per second (positive; the settings check it).
    pub fn new(rate: f64, now: Instant) -> Throttle {
        let rate = if rate.is_finite() && rate > 0.0 { rate } else { 1.0 };
        let burst = (rate / 10.0).max(1.0);
        Throttle { rate, burst, tokens: burst, last: now }
    }

    /// Takes one token at `now`, or says how long to wait before asking again.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of `asks` evenly spaced requests over `over` get a token.
    fn granted(rate: f64, asks: u32, over: Duration) -> u32 {
        let start = Instant::now();
        let mut throttle = Throttle::new(rate, start);
        (0..asks).filter(|i| throttle.take(start + over * *i / asks).is_ok()).count() as u32
    }

    #[test]
    fn grants_the_rate_plus_a_tenth_of_a_second_of_burst() {
        let second = Duration::from_secs(1);
        // (rate, asks in one second, granted)
        let cases = [
            (20.0, 1_000, 20 + 2 - 1),   // 2 at once, then one every 50 ms
            (1.0, 100, 1),               // burst of at least one
            (100_000.0, 50_000, 50_000), // a lifted limit never refuses
            (0.5, 100, 1),               // one now, the next after 2 s
        ];
        for (rate, asks, want) in cases {
            let got = granted(rate, asks, second);
            assert!(got.abs_diff(want) <= 1, "rate {rate}: {got} granted, want about {want}");
        }
    }

    #[test]
    fn an_empty_bucket_says_how_long_to_wait() {
        let start = Instant::now();
        let mut throttle = Throttle::new(20.0, start);
        assert!(throttle.take(start).is_ok());
        assert!(throttle.take(start).is_ok());
        let wait = throttle.take(start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(50));
        assert!(throttle.take(start + wait).is_ok(), "a token after the wait");
        assert!(throttle.take(start + wait).is_err(), "and only one");
    }

    #[test]
    fn an_idle_spell_refills_only_up_to_the_burst() {
        let start = Instant::now();
        let mut throttle = Throttle::new(20.0, start);
        let later = start + Duration::from_secs(3600);
        let granted = (0..10).filter(|_| throttle.take(later).is_ok()).count();
        assert_eq!(granted, 2);
    }

    #[test]
    fn an_instant_before_the_last_one_is_not_a_refill() {
        let start = Instant::now() + Duration::from_secs(10);
        let mut throttle = Throttle::new(1.0, start);
        assert!(throttle.take(start).is_ok());
        assert!(throttle.take(start - Duration::from_secs(5)).is_err());
        assert!(throttle.take(start).is_err(), "no refill from going back and forth");
    }
}
