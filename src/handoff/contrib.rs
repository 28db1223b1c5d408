//! Contribution, measured from what members did (never typed in): per member and per
//! team, per month — requests claimed and closed, median time from the request to the
//! first answer, ratings, visits proposed, reports submitted (and on time), invites used.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::model::{Party, Request};
use crate::calendar::{UTC_OFFSET_SECS, UnixSecs, civil_from_days};
use crate::reports::model::{Invite, ReportVersion};
use crate::reports::period::{Period, PeriodKind};

/// A calendar month in Vietnam time, as `year * 12 + (month - 1)`.
pub type Month = i32;

pub fn month_of(unix: UnixSecs) -> Month {
    let (y, m, _) = civil_from_days((unix.get() + UTC_OFFSET_SECS).div_euclid(86_400));
    y * 12 + m as i32 - 1
}

/// "2026-12".
pub fn month_key(month: Month) -> String {
    format!("{:04}-{:02}", month.div_euclid(12), month.rem_euclid(12) + 1)
}

/// "2026-12" (or any monthly period spelling the reports accept, e.g. "T12/2026").
pub fn parse_month(key: &str) -> Option<Month> {
    let p = Period::from_key(key.trim())?;
    (p.kind == PeriodKind::Month).then_some(p.year * 12 + p.number as i32 - 1)
}

/// The figures of one member or team in one month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub requests_claimed: u32,
    pub requests_closed: u32,
    /// Requests answered at least once (the median is over these).
    pub requests_answered: u32,
    /// Median seconds from the request to the first answer.
    pub median_first_reply_secs: Option<i64>,
    pub rated_satisfied: u32,
    pub rated_unsatisfied: u32,
    pub visits_proposed: u32,
    pub reports_submitted: u32,
    pub reports_on_time: u32,
    pub invites_used: u32,
}

/// Figures being summed, with the reply times kept for the median.
#[derive(Debug, Clone, Default)]
pub struct Acc {
    pub figures: Figures,
    pub reply_secs: Vec<i64>,
}

impl Acc {
    pub fn merge(&mut self, other: &Acc) {
        let (a, b) = (&mut self.figures, &other.figures);
        a.requests_claimed += b.requests_claimed;
        a.requests_closed += b.requests_closed;
        a.rated_satisfied += b.rated_satisfied;
        a.rated_unsatisfied += b.rated_unsatisfied;
        a.visits_proposed += b.visits_proposed;
        a.reports_submitted += b.reports_submitted;
        a.reports_on_time += b.reports_on_time;
        a.invites_used += b.invites_used;
        self.reply_secs.extend_from_slice(&other.reply_secs);
    }

    /// The figures with the answered count and the median filled in.
    pub fn finish(&self) -> Figures {
        let mut f = self.figures.clone();
        let mut times = self.reply_secs.clone();
        times.sort_unstable();
        f.requests_answered = times.len() as u32;
        f.median_first_reply_secs = match times.len() {
            0 => None,
            n if n % 2 == 1 => Some(times[n / 2]),
            n => Some((times[n / 2 - 1] + times[n / 2]) / 2),
        };
        f
    }
}

/// Per (month, member) and per (month, team).
#[derive(Debug, Default)]
pub struct Contributions {
    pub members: BTreeMap<(Month, String), Acc>,
    pub teams: BTreeMap<(Month, u64), Acc>,
}

impl Contributions {
    fn add(&mut self, month: Month, user: &str, team: Option<u64>, f: impl Fn(&mut Acc)) {
        f(self.members.entry((month, user.to_owned())).or_default());
        if let Some(team) = team {
            f(self.teams.entry((month, team)).or_default());
        }
    }
}

/// Computes contributions for `months` from the stored records. `reports` may hold every
/// version: withdrawn ones do not count, and a team's report for a period counts once
/// (for the member who submitted its current version).
pub fn compute(
    requests: &[Request],
    reports: &[ReportVersion],
    invites: &[Invite],
    months: &[Month],
) -> Contributions {
    let wanted: HashSet<Month> = months.iter().copied().collect();
    let want = |unix: UnixSecs| {
        let m = month_of(unix);
        wanted.contains(&m).then_some(m)
    };
    let mut out = Contributions::default();
    for r in requests {
        let Some(claimer) = r.claimed_by.as_deref() else { continue };
        let team = r.claimer_team;
        if let Some(m) = r.claimed_at.and_then(want) {
            out.add(m, claimer, team, |a| a.figures.requests_claimed += 1);
            if let Some(first) = r.first_reply_at {
                let secs = first.saturating_since(r.created_at);
                out.add(m, claimer, team, |a| a.reply_secs.push(secs));
            }
        }
        if let (Some(m), Some(closer)) = (r.closed_at.and_then(want), r.closed_by.as_deref())
            && r.status == super::model::Status::Closed
        {
            out.add(m, closer, team, |a| a.figures.requests_closed += 1);
        }
        if let Some(rating) = &r.rating
            && let Some(m) = want(rating.at)
        {
            out.add(m, claimer, team, |a| {
                if rating.satisfied {
                    a.figures.rated_satisfied += 1
                } else {
                    a.figures.rated_unsatisfied += 1
                }
            });
        }
        for line in r.lines.iter().filter(|l| l.visit) {
            if let (Party::Member(user), Some(m)) = (&line.from, want(line.at)) {
                out.add(m, user, team, |a| a.figures.visits_proposed += 1);
            }
        }
    }
    // The current version of each (team, report, period): the last not withdrawn.
    let mut current: BTreeMap<(u64, &str, Period), &ReportVersion> = BTreeMap::new();
    for v in reports.iter().filter(|v| v.withdrawn_at.is_none()) {
        let key = (v.team, v.report.as_str(), v.period);
        match current.get(&key) {
            Some(old) if old.version > v.version => {}
            _ => {
                current.insert(key, v);
            }
        }
    }
    for v in current.values() {
        let month = match v.period {
            p if p.kind == PeriodKind::Month => p.year * 12 + p.number as i32 - 1,
            _ => month_of(v.submitted_at),
        };
        if !wanted.contains(&month) {
            continue;
        }
        out.add(month, &v.submitted_by, Some(v.team), |a| {
            a.figures.reports_submitted += 1;
            if v.on_time {
                a.figures.reports_on_time += 1;
            }
        });
    }
    for i in invites {
        if let (Some(at), Some(_)) = (i.used_at, &i.used_by)
            && let Some(m) = want(at)
            && i.created_by != "admin-api"
        {
            out.add(m, &i.created_by, i.team, |a| a.figures.invites_used += 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::vn_to_unix_ms;
    use crate::handoff::model::{Level, Line, Rating, Status};
    use crate::reports::model::Role;

    fn vn(m: u32, d: u32, h: u32) -> UnixSecs {
        vn_to_unix_ms(2026, m, d, h, 0).to_secs()
    }

    fn req(id: u64, claimer: &str, created: UnixSecs, reply_after: i64, closed: bool) -> Request {
        Request {
            id,
            citizen: "c".into(),
            unit: "v".into(),
            commune: None,
            team: Some(1),
            topic: None,
            question: "q".into(),
            status: if closed { Status::Closed } else { Status::Claimed },
            created_at: created,
            level: Level::Team,
            waiting_since: created,
            notified: vec![],
            claimed_by: Some(claimer.into()),
            claimer_team: Some(1),
            claimed_at: Some(created.plus_secs(60)),
            first_reply_at: Some(created.plus_secs(reply_after)),
            closed_at: closed.then_some(created.plus_secs(7200)),
            closed_by: closed.then(|| claimer.to_owned()),
            last_citizen_at: created,
            visits: 0,
            rating: closed.then_some(Rating {
                satisfied: true,
                comment: None,
                at: created.plus_secs(7300),
            }),
            lines: vec![Line {
                from: Party::Member(claimer.into()),
                text: "hen".into(),
                at: created.plus_secs(100),
                visit: true,
            }],
            plain_ok: false,
            purged: false,
            rev: 0,
        }
    }

    #[test]
    fn months_round_trip() {
        let m = month_of(vn(12, 31, 23));
        assert_eq!(month_key(m), "2026-12");
        assert_eq!(month_key(month_of(vn(1, 1, 0))), "2026-01");
        assert_eq!(parse_month("2026-12"), Some(m));
        assert_eq!(parse_month("W45"), None);
    }

    #[test]
    fn figures_per_member_and_team() {
        let dec = month_of(vn(12, 5, 9));
        let requests = vec![
            req(1, "a", vn(12, 5, 9), 600, true),
            req(2, "a", vn(12, 6, 9), 1800, false),
            req(3, "b", vn(12, 7, 9), 300, true),
            req(4, "a", vn(11, 7, 9), 300, true), // another month
        ];
        let invites = vec![Invite {
            code: "X".into(),
            team: Some(1),
            unit: None,
            role: Role::Member,
            created_at: vn(12, 1, 8),
            expires_at: vn(12, 20, 8),
            created_by: "a".into(),
            used_by: Some("b".into()),
            used_at: Some(vn(12, 2, 8)),
        }];
        let c = compute(&requests, &[], &invites, &[dec]);
        let a = c.members[&(dec, "a".to_owned())].finish();
        assert_eq!(a.requests_claimed, 2);
        assert_eq!(a.requests_closed, 1);
        assert_eq!(a.median_first_reply_secs, Some(1200));
        assert_eq!(a.rated_satisfied, 1);
        assert_eq!(a.visits_proposed, 2);
        assert_eq!(a.invites_used, 1);
        let team = c.teams[&(dec, 1)].finish();
        assert_eq!(team.requests_claimed, 3);
        assert_eq!(team.median_first_reply_secs, Some(600));
        assert_eq!(team.requests_closed, 2);
    }
}
