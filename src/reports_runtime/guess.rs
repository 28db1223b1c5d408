//! Rate limit on wrong invite codes, per user and overall.
//!
//! Invite codes grant membership, leadership or admin rights, so guessing them must be
//! slow: a user gets `PER_USER` wrong codes per hour; all users together get `OVERALL`
//! per hour, after which every `/dangky` is refused until the hour has passed and an
//! alert is logged at error level (once per window) for the operators. With 8-character
//! codes over 31 symbols (31^8 ≈ 8.5·10^11) and the overall limit, 1,000 live invites
//! give a guesser about a 1-in-1,000 chance per year; admin invites (12 characters,
//! 31^12 ≈ 7.9·10^17) are out of reach. The counters live in memory: a restart resets
//! them, which a guesser cannot trigger.

use crate::calendar::UnixSecs;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

pub const PER_USER: usize = 5;
pub const OVERALL: usize = 100;
pub const WINDOW_SECS: i64 = 3_600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// This user guessed wrong too often.
    UserLimited,
    /// Everybody together did: joining is paused for the window.
    Paused,
}

#[derive(Default)]
pub struct GuessLimiter {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    per_user: HashMap<String, VecDeque<UnixSecs>>,
    overall: VecDeque<UnixSecs>,
    alerted_at: Option<UnixSecs>,
}

fn expire(times: &mut VecDeque<UnixSecs>, now: UnixSecs) {
    while times.front().is_some_and(|&t| now.saturating_since(t) >= WINDOW_SECS) {
        times.pop_front();
    }
}

impl GuessLimiter {
    /// Whether `user` may try a code now (unix seconds).
    pub fn check(&self, user: &str, now: UnixSecs) -> Verdict {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        expire(&mut state.overall, now);
        if state.overall.len() >= OVERALL {
            return Verdict::Paused;
        }
        match state.per_user.get_mut(user) {
            Some(times) => {
                expire(times, now);
                if times.len() >= PER_USER { Verdict::UserLimited } else { Verdict::Allowed }
            }
            None => Verdict::Allowed,
        }
    }

    /// Records a wrong code; alerts once per window when the overall limit trips.
    pub fn wrong(&self, user: &str, now: UnixSecs) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.overall.push_back(now);
        let times = state.per_user.entry(user.to_owned()).or_default();
        expire(times, now);
        times.push_back(now);
        state
            .per_user
            .retain(|_, t| t.back().is_some_and(|&last| now.saturating_since(last) < WINDOW_SECS));
        expire(&mut state.overall, now);
        if state.overall.len() >= OVERALL
            && state.alerted_at.is_none_or(|at| now.saturating_since(at) >= WINDOW_SECS)
        {
            state.alerted_at = Some(now);
            tracing::error!(
                alert = "invite_guessing",
                wrong_codes = state.overall.len(),
                window_secs = WINDOW_SECS,
                "ALERT: many wrong invite codes; joining is paused for an hour (possible code guessing)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_user_then_overall_and_recovers_after_the_window() {
        let g = GuessLimiter::default();
        for _ in 0..PER_USER {
            assert_eq!(g.check("a", UnixSecs(0)), Verdict::Allowed);
            g.wrong("a", UnixSecs(0));
        }
        assert_eq!(g.check("a", UnixSecs(10)), Verdict::UserLimited);
        assert_eq!(g.check("b", UnixSecs(10)), Verdict::Allowed);
        assert_eq!(g.check("a", UnixSecs(WINDOW_SECS)), Verdict::Allowed);
        for i in 0..OVERALL {
            g.wrong(&format!("u{i}"), UnixSecs(WINDOW_SECS + 1));
        }
        assert_eq!(g.check("fresh", UnixSecs(WINDOW_SECS + 2)), Verdict::Paused);
        assert_eq!(g.check("fresh", UnixSecs(2 * WINDOW_SECS + 1)), Verdict::Allowed);
    }
}
