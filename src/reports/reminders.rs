//! Reminder planning (pure): who gets which reminder at `now`.
//!
//! Modelled on DHIS2's scheduled data-set notifications (pending before, overdue after
//! the deadline, only for units that have not reported, plus a collective summary) and
//! standup bots' "who hasn't reported". Each planned message carries a `once_key`; the
//! edge enqueues with `enqueue_once`, so a reminder is never sent twice even across
//! restarts. Only the latest due stage is planned, so a service that was down does not
//! catch up with a burst of stale reminders.
//!
//! Zalo rules (docs/zalo.md §5, §7): messages only to users who interacted within
//! the window (7 days), never 22:00–06:00 (error -234). Users outside the window are
//! not messaged; leaders and admins see them listed as unreachable.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::aggregate::Hierarchy;
use super::definition::{Definitions, ReportType};
use super::model::{Member, Role, Team, UnitLevel};
use super::period::{
    Period, deadline, format_local_date, format_local_datetime, local_hour, lock_time,
};
use super::render::title_lower;
use crate::calendar::UnixSecs;
use crate::reply::Reply;

const DAY: i64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderConfig {
    /// Days before the deadline to remind, e.g. [3, 1].
    pub before_days: Vec<u32>,
    /// Days after the deadline to remind (until the lock), e.g. [1, 5].
    pub after_days: Vec<u32>,
    /// Local hours [start, end) when reminders go out; clamped to 06–22.
    pub hour_start: u32,
    pub hour_end: u32,
    /// Zalo's CS window in days.
    pub window_days: i64,
}

impl Default for ReminderConfig {
    fn default() -> ReminderConfig {
        ReminderConfig {
            before_days: vec![3, 1],
            after_days: vec![1, 5],
            hour_start: 8,
            hour_end: 20,
            window_days: 7,
        }
    }
}

/// One message to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub once_key: String,
    pub user_id: String,
    pub reply: Reply,
}

/// What the planner needs to know about the world at `now`.
pub struct World<'a> {
    pub defs: &'a Definitions,
    pub hierarchy: &'a Hierarchy<'a>,
    pub teams: &'a [Team],
    pub members: &'a [Member],
    /// (team, report key, period key) of current reports.
    pub reported: &'a HashSet<(u64, String, String)>,
    /// Last inbound event per user, unix seconds.
    pub last_interaction: &'a HashMap<String, UnixSecs>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Before(u32),
    After(u32),
}

impl Stage {
    fn key(self) -> String {
        match self {
            Stage::Before(d) => format!("truoc{d}"),
            Stage::After(d) => format!("sau{d}"),
        }
    }
}

pub fn plan(world: &World<'_>, config: &ReminderConfig, now: UnixSecs) -> Vec<Planned> {
    let hour = local_hour(now);
    let start = config.hour_start.max(6);
    let end = config.hour_end.min(22);
    if hour < start || hour >= end {
        return Vec::new();
    }
    let mut out = Vec::new();
    for report in &world.defs.reports {
        for period in candidate_periods(report, now) {
            if let Some(stage) = due_stage(report, period, config, now) {
                plan_period(world, config, report, period, stage, now, &mut out);
            }
        }
    }
    out
}

/// The periods that may still have reminders due at `now`: the current one and the two
/// before it (a deadline plus lock longer than two periods is not supported).
pub fn candidate_periods(report: &ReportType, now: UnixSecs) -> [Period; 3] {
    let current = Period::containing(report.period, now);
    [current, current.prev(), current.prev().prev()]
}

/// The latest stage whose time has come, if the period is still open.
fn due_stage(
    report: &ReportType,
    period: Period,
    config: &ReminderConfig,
    now: UnixSecs,
) -> Option<Stage> {
    let due = deadline(report, period);
    let lock = lock_time(report, period);
    let mut best: Option<(UnixSecs, Stage)> = None;
    for &d in &config.before_days {
        let at = due.plus_secs(-i64::from(d) * DAY);
        if at <= now && now < due && at >= period.start() && best.is_none_or(|(t, _)| at > t) {
            best = Some((at, Stage::Before(d)));
        }
    }
    for &d in &config.after_days {
        let at = due.plus_secs(i64::from(d) * DAY);
        if at <= now && now < lock && best.is_none_or(|(t, _)| at > t) {
            best = Some((at, Stage::After(d)));
        }
    }
    best.map(|(_, s)| s)
}

fn reachable(world: &World<'_>, config: &ReminderConfig, user: &str, now: UnixSecs) -> bool {
    within_window(world.last_interaction.get(user).copied(), config.window_days, now)
}

/// Whether a user whose last interaction was at `last` (unix seconds; `None` = never, or
/// not reachable at all) can still get a CS message at `now`: strictly less than
/// `window_days` ago (Zalo's 7-day rule, docs/zalo.md §5). Shared with the admin API's
/// member list so both say the same thing.
pub fn within_window(last: Option<UnixSecs>, window_days: i64, now: UnixSecs) -> bool {
    last.is_some_and(|t| now.since(t) < window_days * DAY)
}

fn plan_period(
    world: &World<'_>,
    config: &ReminderConfig,
    report: &ReportType,
    period: Period,
    stage: Stage,
    now: UnixSecs,
    out: &mut Vec<Planned>,
) {
    let period_key = period.key();
    let due = format_local_date(deadline(report, period).plus_secs(-1));
    let lock = format_local_date(lock_time(report, period).plus_secs(-1));
    let mut members_by_team: HashMap<u64, Vec<&Member>> = HashMap::new();
    for m in world.members {
        if let Some(team) = m.team {
            members_by_team.entry(team).or_default().push(m);
        }
    }
    let missing: Vec<&Team> = world
        .teams
        .iter()
        .filter(|t| t.expected_from() < period.end())
        .filter(|t| !world.reported.contains(&(t.id, report.key.clone(), period_key.clone())))
        .collect();
    for team in &missing {
        let members = members_by_team.get(&team.id).map(Vec::as_slice).unwrap_or(&[]);
        let unreachable: Vec<&&Member> =
            members.iter().filter(|m| !reachable(world, config, &m.user_id, now)).collect();
        for member in members {
            if !reachable(world, config, &member.user_id, now) {
                continue;
            }
            let mut text = match stage {
                Stage::Before(_) => format!(
                    "⏰ Nhắc báo cáo: «{}» chưa gửi {}. Hạn chót: hết ngày {due}.",
                    team.name,
                    title_lower(report, period)
                ),
                Stage::After(_) => format!(
                    "⚠️ Quá hạn: «{}» chưa gửi {} (hạn chót đã qua: {due}). Kỳ này khóa sổ sau ngày {lock}.",
                    team.name,
                    title_lower(report, period)
                ),
            };
            text.push_str("\nGõ /baocao để trả lời từng câu, hoặc /mau để báo cáo một dòng.");
            if member.role == Role::Leader {
                // The leader's summary of the team: who the bot could and could not reach.
                text.push_str(&format!("\n\nTổ có {} thành viên đã đăng ký", members.len()));
                if unreachable.is_empty() {
                    text.push_str("; bot đã nhắc tất cả.");
                } else {
                    text.push_str(&format!(
                        "; {} người quá {} ngày không nhắn OA nên bot không nhắc được, nhờ tổ trưởng báo trực tiếp: {}.",
                        unreachable.len(),
                        config.window_days,
                        name_list(&unreachable, 10)
                    ));
                }
            }
            let reply =
                Reply::text(text).with_query("Báo cáo ngay", format!("/baocao {period_key}"));
            out.push(Planned {
                once_key: format!(
                    "rem:{}:{period_key}:{}:{}",
                    report.key,
                    stage.key(),
                    member.user_id
                ),
                user_id: member.user_id.clone(),
                reply,
            });
        }
    }
    if matches!(stage, Stage::After(_)) {
        plan_digests(world, config, report, period, stage, &missing, &members_by_team, now, out);
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_digests(
    world: &World<'_>,
    config: &ReminderConfig,
    report: &ReportType,
    period: Period,
    stage: Stage,
    missing: &[&Team],
    members_by_team: &HashMap<u64, Vec<&Member>>,
    now: UnixSecs,
    out: &mut Vec<Planned>,
) {
    let period_key = period.key();
    let missing_ids: HashSet<u64> = missing.iter().map(|t| t.id).collect();
    for admin in world.members.iter().filter(|m| m.role == Role::Admin) {
        let Some(scope) = admin.unit.as_deref() else { continue };
        if !reachable(world, config, &admin.user_id, now) {
            continue;
        }
        // Commune name → (expected, reported, missing team names, unreachable lines).
        let mut communes: BTreeMap<String, (u32, u32, Vec<String>, Vec<String>)> = BTreeMap::new();
        for team in world.teams.iter().filter(|t| t.expected_from() < period.end()) {
            if !world.hierarchy.is_within(&team.unit, scope) {
                continue;
            }
            let commune = world
                .hierarchy
                .name_at(&team.unit, UnitLevel::Commune)
                .unwrap_or_else(|| team.unit.clone());
            let entry = communes.entry(commune).or_default();
            entry.0 += 1;
            if missing_ids.contains(&team.id) {
                entry.2.push(team.name.clone());
            } else {
                entry.1 += 1;
            }
            let members = members_by_team.get(&team.id).map(Vec::as_slice).unwrap_or(&[]);
            let unreachable: Vec<&&Member> =
                members.iter().filter(|m| !reachable(world, config, &m.user_id, now)).collect();
            if members.is_empty() {
                entry.3.push(format!("{} (chưa có thành viên đăng ký)", team.name));
            } else if !unreachable.is_empty() {
                entry.3.push(format!(
                    "{} ({}/{} người: {})",
                    team.name,
                    unreachable.len(),
                    members.len(),
                    name_list(&unreachable, 3)
                ));
            }
        }
        if communes.is_empty() {
            continue;
        }
        let mut text = format!("📊 Tổng hợp {} (sau hạn chót):", title_lower(report, period));
        for (commune, (expected, reported, missing, unreachable)) in &communes {
            text.push_str(&format!("\n\n{commune}: {reported}/{expected} tổ đã báo cáo."));
            if !missing.is_empty() {
                text.push_str(&format!("\nChưa báo cáo: {}.", shorten(missing, 10)));
            }
            if !unreachable.is_empty() {
                text.push_str(&format!(
                    "\nKhông nhắc được qua Zalo (quá {} ngày không tương tác): {}.",
                    config.window_days,
                    shorten(unreachable, 10)
                ));
            }
        }
        out.push(Planned {
            once_key: format!("dig:{}:{period_key}:{}:{}", report.key, stage.key(), admin.user_id),
            user_id: admin.user_id.clone(),
            reply: Reply::text(text),
        });
    }
}

/// How leaders and admins see a member: the name set with `/ten`, else when they
/// joined; never the Zalo id or a pseudonym. Shared with `/tinhhinh`.
/// For a leader's overview: where the team stands with each report it is asked for now
/// (the period a member's `/baocao` would open, so during the grace window the month just
/// ended). "Báo cáo tháng 11/2026: đã gửi (bản 2, Nguyễn Thị Hoa, 30/11/2026 20:15)" or
/// "… chưa gửi, hạn chót hết ngày 05/12/2026" ("đã quá hạn" once past it). `members`
/// name who sent it.
pub fn team_status_lines(
    defs: &Definitions,
    team: u64,
    versions: &[super::model::ReportVersion],
    members: &[Member],
    now: UnixSecs,
) -> Vec<String> {
    defs.reports
        .iter()
        .map(|report| {
            let period = super::period::default_period(report, now);
            let current = versions
                .iter()
                .filter(|v| {
                    v.team == team
                        && v.report == report.key
                        && v.period == period
                        && v.withdrawn_at.is_none()
                })
                .max_by_key(|v| v.version);
            let title = super::render::title(report, period);
            match current {
                Some(v) => {
                    let by = members
                        .iter()
                        .find(|m| m.user_id == v.submitted_by)
                        .map_or_else(|| "thành viên đã rời tổ".to_owned(), member_label);
                    format!(
                        "{title}: đã gửi (bản {}, {by}, {})",
                        v.version,
                        format_local_datetime(v.submitted_at)
                    )
                }
                None => {
                    let due = deadline(report, period);
                    // The deadline instant is the start of the next day: name the last one.
                    let last_day = format_local_date(due.plus_secs(-1));
                    if now < due {
                        format!("{title}: chưa gửi, hạn chót hết ngày {last_day}")
                    } else {
                        format!("{title}: chưa gửi, đã quá hạn (hết ngày {last_day})")
                    }
                }
            }
        })
        .collect()
}

pub fn member_label(m: &Member) -> String {
    label(m.display_name.as_deref(), m.joined_at)
}

/// [`member_label`] from its parts.
pub fn label(display_name: Option<&str>, joined_at: UnixSecs) -> String {
    match display_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => name.to_owned(),
        None => {
            format!("thành viên chưa đặt tên (tham gia {})", format_local_datetime(joined_at))
        }
    }
}

/// At most `max` member labels, then "và N người khác".
fn name_list(members: &[&&Member], max: usize) -> String {
    let mut text = members.iter().take(max).map(|m| member_label(m)).collect::<Vec<_>>().join(", ");
    if members.len() > max {
        text.push_str(&format!(" và {} người khác", members.len() - max));
    }
    text
}

fn shorten(items: &[String], max: usize) -> String {
    let mut text = items.iter().take(max).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > max {
        text.push_str(&format!(" và {} tổ khác", items.len() - max));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::aggregate::tests::sample_units;
    use crate::reports::oneline::tests::DEFS;
    use crate::reports::period::days_from_civil;

    fn vn(y: i32, m: u32, d: u32, h: i64) -> UnixSecs {
        UnixSecs(days_from_civil(y, m, d) * DAY + h * 3600 - crate::calendar::UTC_OFFSET_SECS)
    }

    fn member(user: &str, team: Option<u64>, role: Role, unit: Option<&str>) -> Member {
        Member {
            user_id: user.into(),
            team,
            unit: unit.map(Into::into),
            role,
            display_name: None,
            joined_at: UnixSecs(0),
        }
    }

    struct Fixture {
        defs: Definitions,
        teams: Vec<Team>,
        members: Vec<Member>,
        reported: HashSet<(u64, String, String)>,
        last: HashMap<String, UnixSecs>,
    }

    fn fixture(now: UnixSecs) -> Fixture {
        // Only the monthly report, to keep the table readable.
        let monthly = DEFS.split("[[report]]\nkey = \"tuan\"").next().unwrap();
        let mut last = HashMap::new();
        for u in ["m1", "l1", "m2", "adm"] {
            last.insert(u.to_owned(), now.plus_secs(-DAY));
        }
        last.insert("old".to_owned(), now.plus_secs(-8 * DAY));
        Fixture {
            defs: Definitions::parse(monthly).unwrap(),
            teams: vec![
                Team {
                    id: 1,
                    unit: "V1".into(),
                    name: "Tổ Đông".into(),
                    created_at: UnixSecs(0),
                    expected_from: None,
                },
                Team {
                    id: 2,
                    unit: "V2".into(),
                    name: "Tổ Tây".into(),
                    created_at: UnixSecs(0),
                    expected_from: None,
                },
            ],
            members: vec![
                member("m1", Some(1), Role::Member, None),
                member("l1", Some(1), Role::Leader, None),
                Member {
                    display_name: Some("Lê Văn Cũ".into()),
                    ..member("old", Some(1), Role::Member, None)
                },
                member("m2", Some(2), Role::Member, None),
                member("adm", None, Role::Admin, Some("C1")),
            ],
            reported: [(2, "thang".to_owned(), "2026-10".to_owned())].into_iter().collect(),
            last,
        }
    }

    #[test]
    fn a_leader_sees_the_team_report_of_the_period_it_is_asked_for() {
        let f = fixture(vn(2026, 11, 1, 0));
        let sent = |team: u64, period: &str, version: u32, by: &str, at: UnixSecs| {
            crate::reports::model::ReportVersion {
                team,
                report: "thang".into(),
                period: crate::reports::period::Period::from_key(period).unwrap(),
                version,
                definition: "d".into(),
                values: Default::default(),
                submitted_by: by.into(),
                submitted_at: at,
                on_time: true,
                source_event: format!("ev-{version}"),
                withdrawn_at: None,
            }
        };
        let withdrawn = crate::reports::model::ReportVersion {
            withdrawn_at: Some(vn(2026, 11, 2, 11)),
            ..sent(1, "2026-10", 2, "m1", vn(2026, 11, 2, 10))
        };
        let versions = vec![
            sent(1, "2026-10", 1, "old", vn(2026, 11, 2, 10)),
            withdrawn,
            sent(2, "2026-11", 1, "m2", vn(2026, 11, 20, 9)),
            sent(1, "2026-09", 1, "gone", vn(2026, 10, 3, 8)),
        ];
        let cases: &[(u64, UnixSecs, &str)] = &[
            // 00:30 on 1 November in Vietnam (still 31 October in UTC): October is asked.
            (
                2,
                vn(2026, 11, 1, 0).plus_secs(1800),
                "Báo cáo tháng 10/2026: chưa gửi, hạn chót hết ngày 05/11/2026",
            ),
            (
                2,
                vn(2026, 11, 6, 10),
                "Báo cáo tháng 10/2026: chưa gửi, đã quá hạn (hết ngày 05/11/2026)",
            ),
            // Past the 7-day grace window: the current month.
            (
                3,
                vn(2026, 11, 8, 10),
                "Báo cáo tháng 11/2026: chưa gửi, hạn chót hết ngày 05/12/2026",
            ),
            (
                2,
                vn(2026, 11, 30, 23),
                "Báo cáo tháng 11/2026: đã gửi (bản 1, thành viên chưa đặt tên (tham gia 01/01/1970 07:00), 20/11/2026 09:00)",
            ),
            // The withdrawn second version does not count; the first is current.
            (
                1,
                vn(2026, 11, 3, 10),
                "Báo cáo tháng 10/2026: đã gửi (bản 1, Lê Văn Cũ, 02/11/2026 10:00)",
            ),
            (
                1,
                vn(2026, 10, 3, 10),
                "Báo cáo tháng 9/2026: đã gửi (bản 1, thành viên đã rời tổ, 03/10/2026 08:00)",
            ),
        ];
        for (team, now, want) in cases {
            let lines = team_status_lines(&f.defs, *team, &versions, &f.members, *now);
            assert_eq!(lines, vec![want.to_string()], "team {team} at {now:?}");
        }
    }

    fn run(now: UnixSecs) -> Vec<Planned> {
        let f = fixture(now);
        let units = sample_units();
        let h = Hierarchy::new(&units);
        let world = World {
            defs: &f.defs,
            hierarchy: &h,
            teams: &f.teams,
            members: &f.members,
            reported: &f.reported,
            last_interaction: &f.last,
        };
        plan(&world, &ReminderConfig::default(), now)
    }

    #[test]
    fn schedule_table() {
        // October deadline: end of 5/11 (deadline_days = 5), lock: end of 20/11.
        let cases: &[(UnixSecs, &[&str])] = &[
            (vn(2026, 11, 1, 10), &[]), // too early
            (vn(2026, 11, 3, 10), &["rem:thang:2026-10:truoc3:m1", "rem:thang:2026-10:truoc3:l1"]),
            (vn(2026, 11, 3, 21), &[]), // evening: quiet hours
            (vn(2026, 11, 3, 7), &[]),  // morning before 8
            (vn(2026, 11, 5, 9), &["rem:thang:2026-10:truoc1:m1", "rem:thang:2026-10:truoc1:l1"]),
            (
                vn(2026, 11, 7, 9),
                &[
                    "rem:thang:2026-10:sau1:m1",
                    "rem:thang:2026-10:sau1:l1",
                    "dig:thang:2026-10:sau1:adm",
                ],
            ),
            (vn(2026, 11, 22, 9), &[]), // locked
        ];
        for (now, want) in cases {
            let keys: Vec<String> = run(*now).into_iter().map(|p| p.once_key).collect();
            assert_eq!(&keys, want, "at {}", crate::reports::period::format_local_datetime(*now));
        }
    }

    #[test]
    fn leader_and_digest_list_the_unreachable() {
        let planned = run(vn(2026, 11, 7, 9));
        let leader = planned.iter().find(|p| p.user_id == "l1").unwrap();
        assert!(leader.reply.text.contains("1 người quá 7 ngày"), "{}", leader.reply.text);
        // By the name they set with /ten, never by id.
        assert!(leader.reply.text.contains("báo trực tiếp: Lê Văn Cũ."), "{}", leader.reply.text);
        assert!(!leader.reply.text.contains("old"), "{}", leader.reply.text);
        let digest = planned.iter().find(|p| p.user_id == "adm").unwrap();
        assert!(digest.reply.text.contains("Xã NC1: 1/2 tổ đã báo cáo."), "{}", digest.reply.text);
        assert!(digest.reply.text.contains("Chưa báo cáo: Tổ Đông."));
        assert!(
            digest.reply.text.contains("Tổ Đông (1/3 người: Lê Văn Cũ)"),
            "{}",
            digest.reply.text
        );
        assert!(planned.iter().all(|p| p.user_id != "old"));
    }

    #[test]
    fn members_without_a_name_are_labelled_by_when_they_joined() {
        let named = Member {
            display_name: Some(" Nguyễn Văn A ".into()),
            ..member("u", None, Role::Member, None)
        };
        assert_eq!(member_label(&named), "Nguyễn Văn A");
        let unnamed =
            Member { joined_at: vn(2026, 11, 3, 10), ..member("u9", None, Role::Member, None) };
        assert_eq!(member_label(&unnamed), "thành viên chưa đặt tên (tham gia 03/11/2026 10:00)");
    }

    #[test]
    fn within_window_is_strictly_less_than_the_window() {
        let now = UnixSecs(10 * DAY);
        let cases = [
            (None, false),
            (Some(now), true),
            (Some(now.plus_secs(-7 * DAY + 1)), true),
            (Some(now.plus_secs(-(7 * DAY))), false),
            (Some(now.plus_secs(-(30 * DAY))), false),
        ];
        for (last, want) in cases {
            assert_eq!(within_window(last, 7, now), want, "{last:?}");
        }
    }
}
