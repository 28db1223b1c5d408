//! Citizen → local team hand-off, pure core (issue 12).
//!
//! A citizen who needs a person becomes request **#N**; the request is routed to the
//! reachable members of their village's team (then the commune's teams, then the commune
//! admin), claimed by one member, answered through the OA, closed and rated. Every step
//! is kept, so each member's contribution is counted from what they did.
//!
//! Owns: the records (`model`), office hours (`hours`), finding the citizen's village
//! from what they typed (`place`), routing (`route`), the escalation plan (`escalate`),
//! contribution roll-ups (`contrib`), member command recognition (`command`), a rating in
//! the citizen's words (`rating`) and the
//! Vietnamese texts (`render`). No I/O: time is a parameter (unix seconds); the I/O edge
//! is `crate::handoff_runtime`.

pub mod command;
pub mod contrib;
pub mod escalate;
pub mod hours;
pub mod model;
pub mod payload;
pub mod place;
pub mod rating;
pub mod render;
pub mod route;

/// The hand-off rules that come from settings.
#[derive(Debug, Clone, PartialEq)]
pub struct HandoffConfig {
    /// Office hours in Vietnam time, [start, end).
    pub hour_start: u32,
    pub hour_end: u32,
    /// Office time an open request may wait unclaimed before the team leader is reminded
    /// and the commune's teams are told; twice this brings in the commune admin.
    pub escalate_after_secs: i64,
    /// Days after the citizen's last message when the claimer is warned that Zalo's
    /// reply window closes the next day.
    pub window_warn_days: i64,
    /// Zalo's customer-service window in days.
    pub window_days: i64,
    /// Days a closed request's texts are kept.
    pub retention_days: i64,
    /// Show the member's display name to the citizen with relayed answers.
    pub show_member_name: bool,
}

impl Default for HandoffConfig {
    fn default() -> HandoffConfig {
        HandoffConfig {
            hour_start: 7,
            hour_end: 21,
            escalate_after_secs: 2 * 3600,
            window_warn_days: 6,
            window_days: 7,
            retention_days: 180,
            show_member_name: true,
        }
    }
}
