//! Chat rules (pure): one text message from a user, against a snapshot of what the store
//! holds about them, → the replies and the writes that must land together.
//!
//! The pattern of `reminders`: the I/O edge (`crate::reports_runtime::chat`) asks `needs` what
//! the snapshot must hold for this text, loads a `World`, calls `decide`, and commits
//! `Effects::writes` with the replay record in one transaction. Membership, roles, invite
//! validity, the form's lifetime, period windows, versions and the withdraw window are
//! decided here; nothing here reads the store, the clock or the random source (`now` and
//! `World::new_code` are given).

use super::aggregate::Hierarchy;
use super::command::{Command, Recognised, recognise};
use super::definition::{Definitions, ReportType};
use super::form::{self, FormState, Outcome};
use super::model::{Invite, Member, ReportVersion, Role, Team, Unit};
use super::oneline::{ArgsError, Values, parse_report_args};
use super::period::{
    Period, check_open, default_period, format_local_datetime, is_on_time, parse_period_token,
};
use super::render;
use crate::calendar::UnixSecs;
use crate::reply::Reply;

/// One write of a chat command, applied atomically with the replay record
/// (`store::reports::commit_report_writes`).
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    PutMember(Member),
    RemoveMember(String),
    PutInvite(Invite),
    /// Marks the invite used by `user`; fails with `Conflict` if someone else used it.
    ConsumeInvite {
        code: String,
        user: String,
        at: UnixSecs,
    },
    /// A new version; fails with `Conflict` if that version number already exists
    /// (another member of the team submitted at the same moment).
    AddReport(ReportVersion),
    /// Overwrites an existing version (withdrawal).
    UpdateReport(ReportVersion),
    PutForm(String, FormState),
    ClearForm(String),
}

/// A unit admin's command that needs the edge (a sign-in link, a download link, a
/// roll-up over every team of the unit): who asked, for which unit. Its reply comes
/// after `Effects::replies`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminRequest {
    pub unit: String,
    pub who: Option<String>,
    pub command: Command,
}

/// What a message decided.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Effects {
    pub replies: Vec<Reply>,
    pub writes: Vec<Write>,
    /// An invite code was tried and was wrong (the edge counts it against the guesser).
    pub wrong_code: bool,
    pub admin: Option<AdminRequest>,
}

impl Effects {
    fn reply(reply: Reply) -> Effects {
        Effects { replies: vec![reply], ..Effects::default() }
    }

    fn replies(replies: Vec<Reply>) -> Effects {
        Effects { replies, ..Effects::default() }
    }
}

/// What the snapshot must hold for a message, so the edge reads only that.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Needs {
    /// The team's report versions (a report, a view, a withdrawal, or a form in progress).
    pub versions: bool,
    /// The invite named by a join command, its team, the unit tree and the guess verdict.
    pub invite_code: Option<String>,
}

/// What `decide` needs for `text`; `has_form`: the user has a stored form.
pub fn needs(text: &str, has_form: bool) -> Needs {
    let command = recognise(text).map(|r| r.command);
    let invite_code = match &command {
        Some(Command::Join { code: Some(code) }) => Some(code.clone()),
        _ => None,
    };
    let versions = has_form
        || matches!(
            command,
            Some(Command::Report { .. } | Command::View { .. } | Command::Withdraw { .. })
        );
    Needs { versions, invite_code }
}

/// The invite a join command names, as stored.
#[derive(Debug, Clone)]
pub struct InviteSnapshot {
    pub invite: Invite,
    /// The team it invites to, if it names one and the team exists.
    pub team: Option<Team>,
}

/// What the store holds about the user (and, where `needs` asked, more), at `now`.
pub struct World<'a> {
    pub user: &'a str,
    pub defs: &'a Definitions,
    /// `reports.withdraw_minutes`: how long a submission can be withdrawn.
    pub withdraw_minutes: i64,
    /// `reports.invite_days`: how long a new invite is valid.
    pub invite_days: i64,
    pub member: Option<Member>,
    /// The stored form, stale or not (`decide` applies the idle lifetime).
    pub form: Option<FormState>,
    /// The member's team, if they have one and it exists.
    pub team: Option<Team>,
    /// All versions of the member's team, ordered by type, period, version (`Needs::versions`).
    pub versions: Vec<ReportVersion>,
    /// The invite a join command names, if it exists (`Needs::invite_code`).
    pub invite: Option<InviteSnapshot>,
    /// Every unit, for unit paths in join replies (`Needs::invite_code`).
    pub units: Vec<Unit>,
    /// Whether the guess limiter lets this user try an invite code now.
    pub may_try_code: bool,
    /// A fresh random invite code for `role` (drawn by the edge).
    pub new_code: &'a dyn Fn(Role) -> String,
}

/// The message.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub text: &'a str,
    /// The webhook dedupe key of the message (a report's `source_event`).
    pub event_key: &'a str,
}

/// Replies and writes for `input`, or `None` when the message is not for reports.
pub fn decide(world: &World, input: Input, now: UnixSecs) -> Option<Effects> {
    let user = world.user;
    // A form left idle past its lifetime no longer captures messages: the text is
    // handled as if there were no form (and the stale form is cleared if we answer).
    let stale = world.form.as_ref().is_some_and(|f| now.since(f.updated_at) > form::FORM_IDLE_SECS);
    let form = world.form.clone().filter(|_| !stale);
    let recognised = recognise(input.text);
    if let Some(state) = form {
        // Without a slash, a one-line report ("bc 12 5 3"), `xem` or `mẫu` is no answer
        // to any question either: the member has moved on (phone keyboards hide "/").
        let is_other_command = recognised.as_ref().is_some_and(|r| match &r.command {
            Command::Withdraw { .. } => false,
            _ if r.explicit => true,
            Command::Report { args } => !args.is_empty(),
            Command::View { .. } | Command::Template => true,
            _ => false,
        });
        if !is_other_command {
            return Some(advance_form(world, state, input, now));
        }
        // A new command abandons the unfinished form.
        let Recognised { command, .. } = recognised?;
        let mut effects = command_effects(world, command, input, now);
        effects.replies.insert(0, render::form_abandoned());
        // First, so a new form started by the command survives.
        effects.writes.insert(0, Write::ClearForm(user.to_owned()));
        return Some(effects);
    }
    let r = recognised?;
    if !r.explicit && world.member.is_none() {
        return None;
    }
    let mut effects = command_effects(world, r.command, input, now);
    if stale {
        effects.writes.insert(0, Write::ClearForm(user.to_owned()));
    }
    Some(effects)
}

fn command_effects(world: &World, command: Command, input: Input, now: UnixSecs) -> Effects {
    let member = world.member.as_ref();
    match command {
        Command::Help => Effects::reply(render::help(world.defs)),
        Command::Join { code: None } => Effects::reply(render::join_needs_code()),
        Command::Join { code: Some(code) } => join(world, &code, now),
        _ if member.is_none() => Effects::reply(render::not_a_member()),
        Command::Template => {
            Effects::replies(world.defs.reports.iter().map(render::template).collect())
        }
        Command::Leave { confirmed: false } => {
            Effects::reply(render::confirm_leave(&team_name(world)))
        }
        Command::Leave { confirmed: true } => Effects {
            replies: vec![render::left(&team_name(world))],
            writes: vec![
                Write::RemoveMember(world.user.to_owned()),
                Write::ClearForm(world.user.to_owned()),
            ],
            ..Effects::default()
        },
        Command::Invite { role } => invite(world, role, now),
        Command::ConsoleLink | Command::Summary { .. } | Command::ExportLink => {
            admin_command(member, command)
        }
        _ => {
            let Some((member, team)) = member_team(world) else {
                return Effects::reply(Reply::text(
                    "Cán bộ quản lý không thuộc tổ nào nên không gửi hay xem báo cáo tổ qua chat; vui lòng dùng trang quản trị.",
                ));
            };
            match command {
                Command::Report { args } => report(world, member, team, &args, input, now),
                Command::View { args } => view(world, team, &args, now),
                Command::Withdraw { confirmed: false } => {
                    Effects::reply(render::confirm_withdraw())
                }
                Command::Withdraw { confirmed: true } => withdraw(world, member, now),
                _ => Effects::reply(render::help(world.defs)),
            }
        }
    }
}

/// `/quantri`, `/tonghop`, `/xuat`: for unit admins only; the edge does the rest.
fn admin_command(member: Option<&Member>, command: Command) -> Effects {
    let Some((unit, who)) = member
        .filter(|m| m.role == Role::Admin)
        .and_then(|m| Some((m.unit.clone()?, m.display_name.clone())))
    else {
        return Effects::reply(Reply::text(
            "Lệnh này dành cho cán bộ quản lý xã, phường. Nếu bạn là cán bộ quản lý, hãy đăng ký bằng mã mời cán bộ (/dangky MÃ).",
        ));
    };
    Effects { admin: Some(AdminRequest { unit, who, command }), ..Effects::default() }
}

/// The member and their team, if they are in one.
fn member_team<'w>(world: &'w World) -> Option<(&'w Member, &'w Team)> {
    let member = world.member.as_ref()?;
    member.team?;
    Some((member, world.team.as_ref()?))
}

fn team_name(world: &World) -> String {
    match world.member.as_ref().and_then(|m| m.team) {
        Some(_) => world.team.as_ref().map_or_else(|| "tổ".to_owned(), |t| t.name.clone()),
        None => "vai trò quản lý".to_owned(),
    }
}

fn join(world: &World, code: &str, now: UnixSecs) -> Effects {
    if !world.may_try_code {
        return Effects::reply(render::invite_paused());
    }
    let user = world.user;
    let current = world.member.as_ref();
    let invalid = || Effects { wrong_code: true, ..Effects::reply(render::invite_invalid(code)) };
    let Some(InviteSnapshot { invite, team }) = &world.invite else { return invalid() };
    if invite.expires_at <= now || invite.used_by.as_deref().is_some_and(|u| u != user) {
        return invalid();
    }
    let consume = Write::ConsumeInvite { code: code.to_owned(), user: user.to_owned(), at: now };
    let member = |team: Option<u64>, unit: Option<String>| Member {
        user_id: user.to_owned(),
        team,
        unit,
        role: invite.role,
        display_name: current.and_then(|m| m.display_name.clone()),
        joined_at: now,
    };
    if invite.role == Role::Admin {
        let Some(unit) = invite.unit.clone() else { return invalid() };
        let path = unit_path(&world.units, &unit);
        return Effects {
            replies: vec![render::joined_admin(&path)],
            writes: vec![consume, Write::PutMember(member(None, Some(unit)))],
            ..Effects::default()
        };
    }
    let Some(team) = team.as_ref().filter(|t| invite.team == Some(t.id)) else {
        return invalid();
    };
    let moved_from = match current.and_then(|m| m.team) {
        Some(old) if old != team.id => world.team.as_ref().map(|t| t.name.as_str()),
        _ => None,
    };
    let ask_name = current.and_then(|m| m.display_name.as_ref()).is_none();
    let path = unit_path(&world.units, &team.unit);
    Effects {
        replies: vec![render::joined(invite.role, &team.name, &path, moved_from, ask_name)],
        writes: vec![consume, Write::PutMember(member(Some(team.id), None))],
        ..Effects::default()
    }
}

/// "Thành phố Huế › Phường Thanh Thủy › Tổ dân phố Lang Xá Cồn"; the code itself when
/// the unit is unknown.
pub fn unit_path(units: &[Unit], code: &str) -> String {
    let hierarchy = Hierarchy::new(units);
    let names: Vec<String> = hierarchy.path(code).iter().map(|u| u.display_name()).collect();
    if names.is_empty() { code.to_owned() } else { render::unit_path(&names) }
}

/// A fresh, unused invite with `code`, valid for `invite_days`.
pub fn new_invite(
    code: String,
    team: Option<u64>,
    unit: Option<String>,
    role: Role,
    created_by: &str,
    now: UnixSecs,
    invite_days: i64,
) -> Invite {
    Invite {
        code,
        team,
        unit,
        role,
        created_at: now,
        expires_at: now.plus_secs(invite_days * 86_400),
        created_by: created_by.to_owned(),
        used_by: None,
        used_at: None,
    }
}

/// `/moi`: leaders invite to their own team.
fn invite(world: &World, role: Role, now: UnixSecs) -> Effects {
    let Some((member, team)) = member_team(world).filter(|(m, _)| m.role == Role::Leader) else {
        return Effects::reply(render::leaders_only());
    };
    let code = (world.new_code)(role);
    let invite =
        new_invite(code, Some(team.id), None, role, &member.user_id, now, world.invite_days);
    Effects {
        replies: vec![render::invite_created(&invite.code, role, &team.name, invite.expires_at)],
        writes: vec![Write::PutInvite(invite)],
        ..Effects::default()
    }
}

/// The team's versions of one report and period, oldest first.
fn history<'w>(world: &'w World, report: &str, period: Period) -> Vec<&'w ReportVersion> {
    world.versions.iter().filter(|v| v.report == report && v.period == period).collect()
}

fn report(
    world: &World,
    member: &Member,
    team: &Team,
    args: &str,
    input: Input,
    now: UnixSecs,
) -> Effects {
    let defs = world.defs;
    let parsed = match parse_report_args(defs, args, now) {
        Ok(parsed) => parsed,
        Err(ArgsError::Period(e)) => return Effects::reply(render::period_error(&e)),
        Err(ArgsError::Fields { report, errors }) => {
            return Effects::replies(render::field_errors(report, &errors));
        }
    };
    let report = parsed.report;
    let period = parsed.period.unwrap_or_else(|| default_period(report, now));
    if let Err(e) = check_open(report, period, now) {
        return Effects::reply(render::period_error(&e));
    }
    let Some(values) = parsed.values else {
        let t = form::start(report, &defs.version, period, now);
        let writes =
            t.state.map(|s| Write::PutForm(member.user_id.clone(), s)).into_iter().collect();
        let mut replies = t.replies;
        // Said up front: a report for this period exists and sending replaces it.
        if let Some(current) =
            history(world, &report.key, period).into_iter().rfind(|v| v.withdrawn_at.is_none())
        {
            replies.insert(
                0,
                Reply::text(format!(
                    "ℹ️ Tổ đã có báo cáo {} (bản {}, gửi lúc {}). Gửi lần này sẽ thay bản đó; bản cũ vẫn được lưu lại.",
                    period.label(),
                    current.version,
                    format_local_datetime(current.submitted_at)
                )),
            );
        }
        return Effects { replies, writes, ..Effects::default() };
    };
    submit(world, member, team, report, period, values, input, now)
}

#[allow(clippy::too_many_arguments)]
fn submit(
    world: &World,
    member: &Member,
    team: &Team,
    report: &ReportType,
    period: Period,
    values: Values,
    input: Input,
    now: UnixSecs,
) -> Effects {
    // The period may have locked while a form was open.
    if let Err(e) = check_open(report, period, now) {
        return Effects::reply(render::period_error(&e));
    }
    let history = history(world, &report.key, period);
    if let Some(same) = history.iter().find(|v| v.source_event == input.event_key) {
        return Effects::reply(render::duplicate_submission(period, same.version));
    }
    let replaced = history.iter().any(|v| v.withdrawn_at.is_none());
    let version = ReportVersion {
        team: team.id,
        report: report.key.clone(),
        period,
        version: history.last().map_or(1, |v| v.version + 1),
        definition: world.defs.version.clone(),
        values,
        submitted_by: member.user_id.clone(),
        submitted_at: now,
        on_time: is_on_time(report, period, now),
        source_event: input.event_key.to_owned(),
        withdrawn_at: None,
    };
    let reply = render::submitted(report, period, &version, replaced, world.withdraw_minutes);
    Effects { replies: vec![reply], writes: vec![Write::AddReport(version)], ..Effects::default() }
}

fn advance_form(world: &World, state: FormState, input: Input, now: UnixSecs) -> Effects {
    let user = world.user;
    let clear = || Write::ClearForm(user.to_owned());
    let Some(report) = world.defs.get(Some(&state.report)) else {
        // The report type was removed from the file while the form was open.
        return Effects {
            replies: vec![render::form_expired()],
            writes: vec![clear()],
            ..Effects::default()
        };
    };
    let t = form::advance(report, state, input.text, now);
    match t.outcome {
        Outcome::Continue => {
            let writes = t.state.map(|s| Write::PutForm(user.to_owned(), s)).into_iter().collect();
            Effects { replies: t.replies, writes, ..Effects::default() }
        }
        Outcome::Ended => {
            Effects { replies: t.replies, writes: vec![clear()], ..Effects::default() }
        }
        Outcome::Submit { period, values } => {
            let Some((member, team)) = member_team(world) else {
                return Effects {
                    replies: vec![render::not_a_member()],
                    writes: vec![clear()],
                    ..Effects::default()
                };
            };
            let mut effects = submit(world, member, team, report, period, values, input, now);
            effects.writes.push(clear());
            effects
        }
    }
}

fn view(world: &World, team: &Team, args: &str, now: UnixSecs) -> Effects {
    let mut replies = Vec::new();
    let defs = world.defs;
    let versions = &world.versions;
    let args = args.trim();
    if !args.is_empty() {
        // `/xem T12`: the named period of each report type of that kind, and only it.
        for report in &defs.reports {
            match parse_period_token(args, report.period, now) {
                Some(Ok(period)) => {
                    let found = versions.iter().rfind(|v| {
                        v.report == report.key && v.withdrawn_at.is_none() && v.period == period
                    });
                    replies.push(match found {
                        Some(v) => render::view(report, period, v, &team.name),
                        None => render::nothing_to_view(period),
                    });
                }
                Some(Err(_)) if defs.reports.len() > 1 => {} // another type's kind
                Some(Err(e)) => replies.push(render::period_error(&e)),
                None => {}
            }
        }
        if replies.is_empty() {
            replies.push(Reply::text(format!(
                "Không hiểu kỳ «{args}». Ví dụ: /xem T12, /xem 12/2026, /xem W45."
            )));
        }
        return Effects::replies(replies);
    }
    for report in &defs.reports {
        let period = default_period(report, now);
        // The default period's report, else the team's latest report of this type.
        let current = versions
            .iter()
            .rfind(|v| v.report == report.key && v.withdrawn_at.is_none() && v.period == period)
            .or_else(|| {
                versions
                    .iter()
                    .filter(|v| v.report == report.key && v.withdrawn_at.is_none())
                    .max_by_key(|v| (v.period, v.version))
            });
        match current {
            Some(v) => replies.push(render::view(report, v.period, v, &team.name)),
            None => replies.push(render::nothing_to_view(period)),
        }
    }
    Effects::replies(replies)
}

fn withdraw(world: &World, member: &Member, now: UnixSecs) -> Effects {
    let nothing = || Effects::reply(render::nothing_to_withdraw(world.withdraw_minutes));
    let window = world.withdraw_minutes * 60;
    let versions = &world.versions;
    let latest = versions
        .iter()
        .filter(|v| v.submitted_by == member.user_id && v.withdrawn_at.is_none())
        .filter(|v| now.since(v.submitted_at) <= window)
        .max_by_key(|v| v.submitted_at);
    let Some(latest) = latest else { return nothing() };
    let restored = versions
        .iter()
        .filter(|v| v.report == latest.report && v.period == latest.period)
        .filter(|v| v.version < latest.version && v.withdrawn_at.is_none())
        .map(|v| v.version)
        .max();
    let mut withdrawn = latest.clone();
    withdrawn.withdrawn_at = Some(now);
    Effects {
        replies: vec![render::withdrawn(latest.period, restored)],
        writes: vec![Write::UpdateReport(withdrawn)],
        ..Effects::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::aggregate::tests::sample_units;
    use crate::reports::oneline::tests::DEFS;
    use crate::reports::period::days_from_civil;
    use crate::reports::value::Value;

    const DAY: i64 = 86_400;
    /// 2026-11-03 10:00 in Vietnam: October is in its grace days, its deadline is the 5th.
    const NOW: UnixSecs = UnixSecs(20_760 * DAY + 3 * 3600);

    fn member(user: &str, team: Option<u64>, role: Role) -> Member {
        Member {
            user_id: user.into(),
            team,
            unit: (role == Role::Admin).then(|| "C1".into()),
            role,
            display_name: None,
            joined_at: UnixSecs(0),
        }
    }

    fn team() -> Team {
        Team {
            name: "Tổ Đông".into(),
            ..crate::reports::aggregate::tests::team(1, "V1", UnixSecs(0))
        }
    }

    fn invite(role: Role, expires_at: UnixSecs) -> InviteSnapshot {
        let (team_id, unit) =
            if role == Role::Admin { (None, Some("C1".into())) } else { (Some(1), None) };
        InviteSnapshot {
            invite: Invite {
                expires_at,
                ..new_invite("AB3DEF7K".into(), team_id, unit, role, "l1", NOW.plus_secs(-DAY), 14)
            },
            team: team_id.map(|_| team()),
        }
    }

    fn version(n: u32, by: &str, at: UnixSecs, event: &str) -> ReportVersion {
        ReportVersion {
            team: 1,
            report: "thang".into(),
            period: Period::from_key("2026-10").unwrap(),
            version: n,
            definition: "v1".into(),
            values: [("CHUNG_01".to_owned(), Value::Int(12))].into_iter().collect(),
            submitted_by: by.into(),
            submitted_at: at,
            on_time: true,
            source_event: event.into(),
            withdrawn_at: None,
        }
    }

    /// What the store holds in a case.
    #[derive(Clone, Default)]
    struct Given {
        member: Option<Member>,
        versions: Vec<ReportVersion>,
        invite: Option<InviteSnapshot>,
        paused: bool,
        /// A form started this many seconds before `NOW`.
        form_age: Option<i64>,
    }

    fn run(given: &Given, text: &str) -> Option<Effects> {
        // Only the monthly report, to keep the table readable.
        let defs =
            Definitions::parse(DEFS.split("[[report]]\nkey = \"tuan\"").next().unwrap()).unwrap();
        let form = given.form_age.map(|age| {
            let period = Period::containing(defs.reports[0].period, NOW).prev();
            let t = form::start(&defs.reports[0], &defs.version, period, NOW.plus_secs(-age));
            t.state.unwrap()
        });
        let has_team = given.member.as_ref().and_then(|m| m.team).is_some();
        let world = World {
            user: "u1",
            defs: &defs,
            withdraw_minutes: 60,
            invite_days: 14,
            member: given.member.clone(),
            form,
            team: has_team.then(team),
            versions: given.versions.clone(),
            invite: given.invite.clone(),
            units: sample_units(),
            may_try_code: !given.paused,
            new_code: &|role| {
                if role == Role::Admin { "ADMIN2345678".into() } else { "NEW2CODE".into() }
            },
        };
        decide(&world, Input { text, event_key: "ev-9" }, NOW)
    }

    fn kinds(writes: &[Write]) -> Vec<&'static str> {
        writes
            .iter()
            .map(|w| match w {
                Write::PutMember(_) => "PutMember",
                Write::RemoveMember(_) => "RemoveMember",
                Write::PutInvite(_) => "PutInvite",
                Write::ConsumeInvite { .. } => "ConsumeInvite",
                Write::AddReport(_) => "AddReport",
                Write::UpdateReport(_) => "UpdateReport",
                Write::PutForm(..) => "PutForm",
                Write::ClearForm(_) => "ClearForm",
            })
            .collect()
    }

    /// (case, given, text, first reply contains, writes); `None` reply: not for reports.
    type Case = (&'static str, Given, &'static str, Option<&'static str>, Vec<&'static str>);

    #[test]
    fn decisions() {
        assert_eq!(days_from_civil(2026, 11, 3), 20_760);
        let stranger = Given::default();
        let m = Given { member: Some(member("u1", Some(1), Role::Member)), ..Given::default() };
        let leader =
            Given { member: Some(member("u1", Some(1), Role::Leader)), ..Given::default() };
        let admin = Given { member: Some(member("u1", None, Role::Admin)), ..Given::default() };
        let with = |g: &Given, f: &dyn Fn(&mut Given)| {
            let mut g = g.clone();
            f(&mut g);
            g
        };
        // (case, given, text, first reply contains, writes); `None` reply: not for reports.
        let cases: Vec<Case> = vec![
            (
                "plain words of a stranger go to the dialogs",
                stranger.clone(),
                "xin chào",
                None,
                vec![],
            ),
            ("a stranger's bare command word too", stranger.clone(), "xem", None, vec![]),
            (
                "a stranger's slash command is told to join",
                stranger.clone(),
                "/bc 1 2",
                Some("chưa là thành viên"),
                vec![],
            ),
            (
                "join without a code asks for one",
                stranger.clone(),
                "/dangky",
                Some("gửi kèm mã mời"),
                vec![],
            ),
            (
                "join with a valid code",
                with(&stranger, &|g| g.invite = Some(invite(Role::Member, NOW.plus_secs(DAY)))),
                "/dangky AB3DEF7K",
                Some("Bạn đã tham gia «Tổ Đông» (Tỉnh"),
                vec!["ConsumeInvite", "PutMember"],
            ),
            (
                "join with an expired code",
                with(&stranger, &|g| g.invite = Some(invite(Role::Member, NOW))),
                "/dangky AB3DEF7K",
                Some("không đúng, đã dùng hoặc đã hết hạn"),
                vec![],
            ),
            (
                "join with an unknown code",
                stranger.clone(),
                "/dangky AB3DEF7K",
                Some("không đúng"),
                vec![],
            ),
            (
                "join while guessing is paused",
                with(&stranger, &|g| {
                    g.invite = Some(invite(Role::Member, NOW.plus_secs(DAY)));
                    g.paused = true;
                }),
                "/dangky AB3DEF7K",
                Some("sai mã mời quá nhiều lần"),
                vec![],
            ),
            (
                "join as a unit admin",
                with(&stranger, &|g| g.invite = Some(invite(Role::Admin, NOW.plus_secs(DAY)))),
                "/dangky AB3DEF7K",
                Some("cán bộ quản lý của"),
                vec!["ConsumeInvite", "PutMember"],
            ),
            (
                "report in the grace window goes to last month",
                m.clone(),
                "/bc 12 5",
                Some("(lần gửi thứ 1)"),
                vec!["AddReport"],
            ),
            (
                "amend: a second submission replaces the first",
                with(&m, &|g| g.versions = vec![version(1, "u1", NOW.plus_secs(-3600), "ev-1")]),
                "/bc T10 15 5",
                Some("(lần gửi thứ 2). Báo cáo này thay thế"),
                vec!["AddReport"],
            ),
            (
                "the same event twice stores one version",
                with(&m, &|g| g.versions = vec![version(1, "u1", NOW.plus_secs(-3600), "ev-9")]),
                "/bc T10 15 5",
                Some("đã được lưu trước đó"),
                vec![],
            ),
            (
                "a bad field is explained, nothing stored",
                m.clone(),
                "/bc 12 abc",
                Some("abc"),
                vec![],
            ),
            ("a locked period is refused", m.clone(), "/bc T8 1 2", Some("đã khóa sổ"), vec![]),
            (
                "a future period is refused",
                m.clone(),
                "/bc 2026-12 1 2",
                Some("chưa bắt đầu"),
                vec![],
            ),
            (
                "report without values starts the form",
                m.clone(),
                "/baocao",
                Some(""),
                vec!["PutForm"],
            ),
            (
                "the form warns that a report exists",
                with(&m, &|g| g.versions = vec![version(1, "l1", NOW.plus_secs(-3600), "ev-1")]),
                "/baocao",
                Some("Tổ đã có báo cáo tháng 10/2026 (bản 1"),
                vec!["PutForm"],
            ),
            (
                "an open form takes the answer",
                with(&m, &|g| g.form_age = Some(60)),
                "12",
                Some(""),
                vec!["PutForm"],
            ),
            (
                "a stale form no longer captures words",
                with(&m, &|g| g.form_age = Some(2 * DAY)),
                "xin chào",
                None,
                vec![],
            ),
            (
                "a stale form is cleared when a command answers",
                with(&m, &|g| g.form_age = Some(2 * DAY)),
                "/huongdan",
                Some("/dangky"),
                vec!["ClearForm"],
            ),
            (
                "a new command abandons an open form",
                with(&m, &|g| g.form_age = Some(60)),
                "/mau",
                Some("Biểu mẫu báo cáo đang dở đã được bỏ"),
                vec!["ClearForm"],
            ),
            (
                "a one-line report without the slash abandons an open form too",
                with(&m, &|g| g.form_age = Some(60)),
                "bc 12 5 3",
                Some("Biểu mẫu báo cáo đang dở đã được bỏ"),
                vec!["ClearForm"],
            ),
            (
                "so does \"xem báo cáo\"",
                with(&m, &|g| g.form_age = Some(60)),
                "xem báo cáo",
                Some("Biểu mẫu báo cáo đang dở đã được bỏ"),
                vec!["ClearForm"],
            ),
            (
                "\"báo cáo\" alone in an open form is an answer, not a restart",
                with(&m, &|g| g.form_age = Some(60)),
                "báo cáo",
                Some("không phải là số"),
                vec!["PutForm"],
            ),
            ("withdraw asks first", m.clone(), "/huy", Some("Bấm \"Rút lại\""), vec![]),
            (
                "withdraw within the window restores the previous version",
                with(&m, &|g| {
                    g.versions = vec![
                        version(1, "l1", NOW.plus_secs(-DAY), "ev-1"),
                        version(2, "u1", NOW.plus_secs(-600), "ev-2"),
                    ]
                }),
                "/huy xacnhan",
                Some("Bản gửi trước (lần thứ 1) được dùng lại"),
                vec!["UpdateReport"],
            ),
            (
                "withdraw after the window does nothing",
                with(&m, &|g| {
                    g.versions = vec![version(1, "u1", NOW.plus_secs(-(2 * 3600)), "ev-1")]
                }),
                "/huy xacnhan",
                Some("Không có báo cáo nào bạn gửi trong 60 phút"),
                vec![],
            ),
            (
                "view with nothing reported",
                m.clone(),
                "/xem",
                Some("Tổ chưa có báo cáo tháng 10/2026"),
                vec![],
            ),
            (
                "view the current report",
                with(&m, &|g| g.versions = vec![version(1, "u1", NOW.plus_secs(-600), "ev-1")]),
                "/xem",
                Some("của «Tổ Đông» (lần gửi thứ 1"),
                vec![],
            ),
            ("only leaders invite", m.clone(), "/moi", Some("Chỉ tổ trưởng"), vec![]),
            ("a leader invites", leader.clone(), "/moi", Some("NEW2CODE"), vec!["PutInvite"]),
            ("leave asks first", m.clone(), "/roi", Some("«Tổ Đông»"), vec![]),
            (
                "leave",
                m.clone(),
                "/roi xacnhan",
                Some("Bạn đã rời «Tổ Đông»"),
                vec!["RemoveMember", "ClearForm"],
            ),
            (
                "admin commands are for admins",
                m.clone(),
                "/quantri",
                Some("dành cho cán bộ quản lý"),
                vec![],
            ),
            (
                "an admin has no team to report for",
                admin.clone(),
                "/bc 12 5",
                Some("không thuộc tổ nào"),
                vec![],
            ),
        ];
        for (case, given, text, want, writes) in cases {
            let got = run(&given, text);
            match want {
                None => assert_eq!(got, None, "{case}"),
                Some(want) => {
                    let got = got.unwrap_or_else(|| panic!("{case}: not for reports"));
                    let first = got.replies.first().map_or("", |r| r.text.as_str());
                    assert!(first.contains(want), "{case}: {first}");
                    assert_eq!(kinds(&got.writes), writes, "{case}");
                }
            }
        }
    }

    #[test]
    fn wrong_codes_are_counted_and_admin_commands_go_to_the_edge() {
        let stranger = Given::default();
        assert!(run(&stranger, "/dangky AB3DEF7K").unwrap().wrong_code);
        let joined =
            Given { invite: Some(invite(Role::Member, NOW.plus_secs(DAY))), ..Given::default() };
        assert!(!run(&joined, "/dangky AB3DEF7K").unwrap().wrong_code);
        let admin = Given { member: Some(member("u1", None, Role::Admin)), ..Given::default() };
        let effects = run(&admin, "/tonghop T10").unwrap();
        assert!(effects.replies.is_empty());
        assert_eq!(
            effects.admin,
            Some(AdminRequest {
                unit: "C1".into(),
                who: None,
                command: Command::Summary { period: Some("T10".into()) }
            })
        );
    }

    #[test]
    fn needs_names_only_what_the_text_uses() {
        assert_eq!(needs("xin chào", false), Needs::default());
        assert_eq!(needs("xin chào", true), Needs { versions: true, invite_code: None });
        assert_eq!(needs("/bc 1 2", false), Needs { versions: true, invite_code: None });
        assert_eq!(
            needs("/dangky AB3DEF7K", false),
            Needs { versions: false, invite_code: Some("AB3DEF7K".into()) }
        );
    }
}
