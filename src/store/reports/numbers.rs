//! A stored report reduced to what the roll-ups read (see `current` for how it is kept).

use crate::reports::model::ReportVersion;
use crate::reports::value::Value;

/// A current report reduced to what the roll-ups read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportNumbers {
    pub team: u64,
    /// Shared by every report of the period.
    pub period: std::sync::Arc<str>,
    pub on_time: bool,
    /// Aligned with the `codes` asked for.
    pub numbers: Vec<i64>,
}

impl ReportNumbers {
    /// The numbers computed from a full version, as the roll-up records must give them.
    pub(super) fn from_version(v: &ReportVersion, codes: &[&str]) -> ReportNumbers {
        let numbers = codes
            .iter()
            .map(|c| match v.values.get(*c) {
                Some(Value::Int(n)) => *n,
                Some(Value::Bool(true)) => 1,
                _ => 0,
            })
            .collect();
        ReportNumbers { team: v.team, period: v.period.key().into(), on_time: v.on_time, numbers }
    }
}
