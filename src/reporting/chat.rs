//! `Reporting::handle_chat`: one text message from one user → replies, or `None` when
//! the message is not for the reports feature.
//!
//! Each command computes its replies and a list of `ReportWrite`s; `commit` applies them
//! together with the user's replay record in one transaction. Replaying the same event
//! returns the recorded replies and writes nothing.

use crate::reply::Reply;
use crate::reports::command::{ADMIN_INVITE_CODE_LEN, Command, INVITE_CODE_LEN, recognise};
use crate::reports::definition::ReportType;
use crate::reports::form::{self, Outcome};
use crate::reports::model::{Invite, Member, ReportVersion, Role, Team};
use crate::reports::oneline::{ArgsError, Values, parse_report_args};
use crate::reports::period::{Period, check_open, default_period, is_on_time};
use crate::reports::render;
use crate::store::reports::{CommitError, LastEvent, ReportWrite};

use super::Reporting;

/// What a command decided: replies and the writes that must land with them.
#[derive(Default)]
struct Effect {
    replies: Vec<Reply>,
    writes: Vec<ReportWrite>,
}

impl Effect {
    fn reply(reply: Reply) -> Effect {
        Effect { replies: vec![reply], ..Effect::default() }
    }
}

/// Invite code alphabet: no 0/O, 1/I/L, so codes survive being read aloud or retyped.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

impl Reporting {
    /// Handles a text message. `event_key` is the webhook dedupe key of the message.
    pub fn handle_chat(
        &self,
        user_id: &str,
        text: &str,
        now_unix_secs: i64,
        event_key: &str,
    ) -> anyhow::Result<Option<Vec<Reply>>> {
        if let Some(last) = self.store.report_last_event(user_id)?
            && last.event_key == event_key
        {
            return Ok(Some(last.replies));
        }
        // A concurrent write (two members submitting the same report at once, an invite
        // used by someone else in between) is retried against the fresh state.
        for _ in 0..3 {
            let Some(effect) = self.decide(user_id, text, now_unix_secs, event_key)? else {
                return Ok(None);
            };
            let last =
                LastEvent { event_key: event_key.to_owned(), replies: effect.replies.clone() };
            match self.store.commit_report_writes(user_id, &last, &effect.writes) {
                Ok(()) => return Ok(Some(effect.replies)),
                Err(CommitError::Conflict(why)) => {
                    tracing::debug!(why, "report write conflict; retrying");
                }
                Err(CommitError::Store(e)) => return Err(e.into()),
            }
        }
        anyhow::bail!("report write kept conflicting")
    }

    fn decide(
        &self,
        user: &str,
        text: &str,
        now: i64,
        event_key: &str,
    ) -> anyhow::Result<Option<Effect>> {
        let member = self.store.report_member(user)?;
        // A form left idle past its lifetime no longer captures messages: the text is
        // handled as if there were no form (and the stale form is cleared if we answer).
        let stored_form = self.store.report_form(user)?;
        let stale = stored_form.as_ref().is_some_and(|f| now - f.updated_at > form::FORM_IDLE_SECS);
        let form = stored_form.filter(|_| !stale);
        let recognised = recognise(text);
        if let Some(state) = form {
            let is_other_command = recognised
                .as_ref()
                .is_some_and(|r| r.explicit && !matches!(r.command, Command::Withdraw { .. }));
            if !is_other_command {
                return self
                    .advance_form(user, member.as_ref(), state, text, now, event_key)
                    .map(Some);
            }
            // A new command abandons the unfinished form.
            let Some(r) = recognised else { return Ok(None) };
            let mut effect = self.command(user, member.as_ref(), r.command, now, event_key)?;
            effect.replies.insert(0, render::form_abandoned());
            // First, so a new form started by the command survives.
            effect.writes.insert(0, ReportWrite::ClearForm(user.to_owned()));
            return Ok(Some(effect));
        }
        let Some(r) = recognised else { return Ok(None) };
        if !r.explicit && member.is_none() {
            return Ok(None);
        }
        let mut effect = self.command(user, member.as_ref(), r.command, now, event_key)?;
        if stale {
            effect.writes.insert(0, ReportWrite::ClearForm(user.to_owned()));
        }
        Ok(Some(effect))
    }

    fn command(
        &self,
        user: &str,
        member: Option<&Member>,
        command: Command,
        now: i64,
        event_key: &str,
    ) -> anyhow::Result<Effect> {
        match command {
            Command::Help => Ok(Effect::reply(render::help(&self.defs()))),
            Command::Join { code: None } => Ok(Effect::reply(render::join_needs_code())),
            Command::Join { code: Some(code) } => self.join(user, member, &code, now),
            _ if member.is_none() => Ok(Effect::reply(render::not_a_member())),
            Command::Template => {
                let replies = self.defs().reports.iter().map(render::template).collect();
                Ok(Effect { replies, ..Effect::default() })
            }
            Command::Leave { confirmed: false } => {
                let team_name = self.team_name(member)?;
                Ok(Effect::reply(render::confirm_leave(&team_name)))
            }
            Command::Leave { confirmed: true } => self.leave(user, member),
            Command::Invite { role } => self.invite(user, member, role, now),
            Command::ConsoleLink | Command::Summary { .. } | Command::ExportLink => {
                Ok(Effect::reply(self.admin_command(member, &command, now)?))
            }
            _ => {
                let Some((member, team)) = self.member_team(member)? else {
                    return Ok(Effect::reply(Reply::text(
                        "Cán bộ quản lý không thuộc tổ nào nên không gửi hay xem báo cáo tổ qua chat; vui lòng dùng trang quản trị.",
                    )));
                };
                match command {
                    Command::Report { args } => self.report(&member, &team, &args, now, event_key),
                    Command::View { args } => self.view(&team, &args, now),
                    Command::Withdraw { confirmed: false } => {
                        Ok(Effect::reply(render::confirm_withdraw()))
                    }
                    Command::Withdraw { confirmed: true } => self.withdraw(&member, now),
                    _ => Ok(Effect::reply(render::help(&self.defs()))),
                }
            }
        }
    }

    /// The member and their team, if they are in one.
    fn member_team(&self, member: Option<&Member>) -> anyhow::Result<Option<(Member, Team)>> {
        let Some(member) = member else { return Ok(None) };
        let Some(team_id) = member.team else { return Ok(None) };
        Ok(self.store.report_team(team_id)?.map(|t| (member.clone(), t)))
    }

    fn join(
        &self,
        user: &str,
        current: Option<&Member>,
        code: &str,
        now: i64,
    ) -> anyhow::Result<Effect> {
        match self.guesses.check(user, now) {
            super::guess::Verdict::Allowed => {}
            _ => return Ok(Effect::reply(render::invite_paused())),
        }
        let invalid = || {
            self.guesses.wrong(user, now);
            Ok(Effect::reply(render::invite_invalid(code)))
        };
        let Some(invite) = self.store.report_invite(code)? else { return invalid() };
        if invite.expires_at <= now || invite.used_by.as_deref().is_some_and(|u| u != user) {
            return invalid();
        }
        let consume =
            ReportWrite::ConsumeInvite { code: code.to_owned(), user: user.to_owned(), at: now };
        if invite.role == Role::Admin {
            let Some(unit) = invite.unit.clone() else { return invalid() };
            let path = self.unit_path(&unit)?;
            let member = Member {
                user_id: user.to_owned(),
                team: None,
                unit: Some(unit),
                role: Role::Admin,
                display_name: current.and_then(|m| m.display_name.clone()),
                joined_at: now,
            };
            return Ok(Effect {
                replies: vec![render::joined_admin(&path)],
                writes: vec![consume, ReportWrite::PutMember(member)],
            });
        }
        let Some(team) = invite.team.map(|id| self.store.report_team(id)).transpose()?.flatten()
        else {
            return invalid();
        };
        let moved_from = match current.and_then(|m| m.team) {
            Some(old) if old != team.id => self.store.report_team(old)?.map(|t| t.name),
            _ => None,
        };
        let ask_name = current.and_then(|m| m.display_name.as_ref()).is_none();
        let member = Member {
            user_id: user.to_owned(),
            team: Some(team.id),
            unit: None,
            role: invite.role,
            display_name: current.and_then(|m| m.display_name.clone()),
            joined_at: now,
        };
        let path = self.unit_path(&team.unit)?;
        Ok(Effect {
            replies: vec![render::joined(
                invite.role,
                &team.name,
                &path,
                moved_from.as_deref(),
                ask_name,
            )],
            writes: vec![consume, ReportWrite::PutMember(member)],
        })
    }

    fn team_name(&self, member: Option<&Member>) -> anyhow::Result<String> {
        Ok(match member.and_then(|m| m.team) {
            Some(id) => self.store.report_team(id)?.map_or_else(|| "tổ".to_owned(), |t| t.name),
            None => "vai trò quản lý".to_owned(),
        })
    }

    fn leave(&self, user: &str, member: Option<&Member>) -> anyhow::Result<Effect> {
        let team_name = self.team_name(member)?;
        Ok(Effect {
            replies: vec![render::left(&team_name)],
            writes: vec![
                ReportWrite::RemoveMember(user.to_owned()),
                ReportWrite::ClearForm(user.to_owned()),
            ],
        })
    }

    fn invite(
        &self,
        user: &str,
        member: Option<&Member>,
        role: Role,
        now: i64,
    ) -> anyhow::Result<Effect> {
        let (Some(member), Some(team_id)) = (member, member.and_then(|m| m.team)) else {
            return Ok(Effect::reply(render::leaders_only()));
        };
        if member.role != Role::Leader {
            return Ok(Effect::reply(render::leaders_only()));
        }
        let Some(team) = self.store.report_team(team_id)? else {
            return Ok(Effect::reply(render::leaders_only()));
        };
        let invite = self.new_invite(Some(team.id), None, role, user, now);
        Ok(Effect {
            replies: vec![render::invite_created(
                &invite.code,
                role,
                &team.name,
                invite.expires_at,
            )],
            writes: vec![ReportWrite::PutInvite(invite)],
        })
    }

    fn report(
        &self,
        member: &Member,
        team: &Team,
        args: &str,
        now: i64,
        event_key: &str,
    ) -> anyhow::Result<Effect> {
        let defs = self.defs();
        let parsed = match parse_report_args(&defs, args, now) {
            Ok(parsed) => parsed,
            Err(ArgsError::Period(e)) => return Ok(Effect::reply(render::period_error(&e))),
            Err(ArgsError::Fields { report, errors }) => {
                return Ok(Effect {
                    replies: render::field_errors(report, &errors),
                    ..Effect::default()
                });
            }
        };
        let report = parsed.report;
        let period = parsed.period.unwrap_or_else(|| default_period(report, now));
        if let Err(e) = check_open(report, period, now) {
            return Ok(Effect::reply(render::period_error(&e)));
        }
        match parsed.values {
            None => {
                let t = form::start(report, &defs.version, period, now);
                let writes = t
                    .state
                    .map(|s| ReportWrite::PutForm(member.user_id.clone(), s))
                    .into_iter()
                    .collect();
                let mut replies = t.replies;
                // Said up front: a report for this period exists and sending replaces it.
                let history = self.store.report_history(team.id, &report.key, &period.key())?;
                if let Some(current) = history.iter().rfind(|v| v.withdrawn_at.is_none()) {
                    replies.insert(
                        0,
                        Reply::text(format!(
                            "ℹ️ Tổ đã có báo cáo {} (bản {}, gửi lúc {}). Gửi lần này sẽ thay bản đó; bản cũ vẫn được lưu lại.",
                            period.label(),
                            current.version,
                            crate::reports::period::format_local_datetime(current.submitted_at)
                        )),
                    );
                }
                Ok(Effect { replies, writes })
            }
            Some(values) => self.submit(member, team, report, period, values, now, event_key),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn submit(
        &self,
        member: &Member,
        team: &Team,
        report: &ReportType,
        period: Period,
        values: Values,
        now: i64,
        event_key: &str,
    ) -> anyhow::Result<Effect> {
        // The period may have locked while a form was open.
        if let Err(e) = check_open(report, period, now) {
            return Ok(Effect::reply(render::period_error(&e)));
        }
        let history = self.store.report_history(team.id, &report.key, &period.key())?;
        if let Some(same) = history.iter().find(|v| v.source_event == event_key) {
            return Ok(Effect::reply(render::duplicate_submission(period, same.version)));
        }
        let replaced = history.iter().any(|v| v.withdrawn_at.is_none());
        let version = ReportVersion {
            team: team.id,
            report: report.key.clone(),
            period: period.key(),
            version: history.last().map_or(1, |v| v.version + 1),
            definition: self.defs().version.clone(),
            values,
            submitted_by: member.user_id.clone(),
            submitted_at: now,
            on_time: is_on_time(report, period, now),
            source_event: event_key.to_owned(),
            withdrawn_at: None,
        };
        let reply =
            render::submitted(report, period, &version, replaced, self.settings.withdraw_minutes);
        metrics::counter!("cnscd_reports_submitted_total").increment(1);
        Ok(Effect { replies: vec![reply], writes: vec![ReportWrite::AddReport(version)] })
    }

    fn advance_form(
        &self,
        user: &str,
        member: Option<&Member>,
        state: form::FormState,
        text: &str,
        now: i64,
        event_key: &str,
    ) -> anyhow::Result<Effect> {
        let defs = self.defs();
        let Some(report) = defs.get(Some(&state.report)) else {
            // The report type was removed from the file while the form was open.
            return Ok(Effect {
                replies: vec![render::form_expired()],
                writes: vec![ReportWrite::ClearForm(user.to_owned())],
            });
        };
        let t = form::advance(report, state, text, now);
        match t.outcome {
            Outcome::Continue => {
                let writes =
                    t.state.map(|s| ReportWrite::PutForm(user.to_owned(), s)).into_iter().collect();
                Ok(Effect { replies: t.replies, writes })
            }
            Outcome::Ended => Ok(Effect {
                replies: t.replies,
                writes: vec![ReportWrite::ClearForm(user.to_owned())],
            }),
            Outcome::Submit { period, values } => {
                let Some((member, team)) = self.member_team(member)? else {
                    return Ok(Effect {
                        replies: vec![render::not_a_member()],
                        writes: vec![ReportWrite::ClearForm(user.to_owned())],
                    });
                };
                let mut effect =
                    self.submit(&member, &team, report, period, values, now, event_key)?;
                effect.writes.push(ReportWrite::ClearForm(user.to_owned()));
                Ok(effect)
            }
        }
    }

    fn view(&self, team: &Team, args: &str, now: i64) -> anyhow::Result<Effect> {
        let mut replies = Vec::new();
        let defs = self.defs();
        let versions = self.store.team_report_versions(team.id)?;
        let args = args.trim();
        if !args.is_empty() {
            // `/xem T12`: the named period of each report type of that kind, and only it.
            for report in &defs.reports {
                match crate::reports::period::parse_period_token(args, report.period, now) {
                    Some(Ok(period)) => {
                        let key = period.key();
                        let found = versions.iter().rfind(|v| {
                            v.report == report.key && v.withdrawn_at.is_none() && v.period == key
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
            return Ok(Effect { replies, ..Effect::default() });
        }
        for report in &defs.reports {
            let period = default_period(report, now);
            let period_key = period.key();
            // The default period's report, else the team's latest report of this type.
            let current = versions
                .iter()
                .rfind(|v| {
                    v.report == report.key && v.withdrawn_at.is_none() && v.period == period_key
                })
                .or_else(|| {
                    versions
                        .iter()
                        .filter(|v| v.report == report.key && v.withdrawn_at.is_none())
                        .max_by_key(|v| (v.period.clone(), v.version))
                });
            match current.and_then(|v| Period::from_key(&v.period).map(|p| (v, p))) {
                Some((v, p)) => replies.push(render::view(report, p, v, &team.name)),
                None => replies.push(render::nothing_to_view(period)),
            }
        }
        Ok(Effect { replies, ..Effect::default() })
    }

    fn withdraw(&self, member: &Member, now: i64) -> anyhow::Result<Effect> {
        let window = self.settings.withdraw_minutes * 60;
        let Some(team) = member.team else {
            return Ok(Effect::reply(render::nothing_to_withdraw(self.settings.withdraw_minutes)));
        };
        let versions = self.store.team_report_versions(team)?;
        let latest = versions
            .iter()
            .filter(|v| v.submitted_by == member.user_id && v.withdrawn_at.is_none())
            .filter(|v| now - v.submitted_at <= window)
            .max_by_key(|v| v.submitted_at);
        let Some(latest) = latest else {
            return Ok(Effect::reply(render::nothing_to_withdraw(self.settings.withdraw_minutes)));
        };
        let restored = versions
            .iter()
            .filter(|v| v.report == latest.report && v.period == latest.period)
            .filter(|v| v.version < latest.version && v.withdrawn_at.is_none())
            .map(|v| v.version)
            .max();
        let mut withdrawn = latest.clone();
        withdrawn.withdrawn_at = Some(now);
        let period = Period::from_key(&latest.period)
            .ok_or_else(|| anyhow::anyhow!("stored report has a bad period key"))?;
        Ok(Effect {
            replies: vec![render::withdrawn(period, restored)],
            writes: vec![ReportWrite::UpdateReport(withdrawn)],
        })
    }

    /// "Thành phố Huế › Phường Thanh Thủy › Tổ dân phố Lang Xá Cồn".
    pub(crate) fn unit_path(&self, code: &str) -> anyhow::Result<String> {
        let units = self.store.report_units()?;
        let hierarchy = crate::reports::aggregate::Hierarchy::new(&units);
        let names: Vec<String> = hierarchy.path(code).iter().map(|u| u.display_name()).collect();
        Ok(if names.is_empty() { code.to_owned() } else { render::unit_path(&names) })
    }
}

impl Reporting {
    /// A fresh, unused invite with a random code, valid for `reports.invite_days`.
    pub(crate) fn new_invite(
        &self,
        team: Option<u64>,
        unit: Option<String>,
        role: Role,
        created_by: &str,
        now: i64,
    ) -> Invite {
        Invite {
            code: new_invite_code(role),
            team,
            unit,
            role,
            created_at: now,
            expires_at: now + self.settings.invite_days * 86_400,
            created_by: created_by.to_owned(),
            used_by: None,
            used_at: None,
        }
    }
}

/// From the OS CSPRNG: 8 characters (31^8 ≈ 8.5·10^11), 12 for admin-role invites
/// (31^12 ≈ 7.9·10^17); wrong guesses are rate-limited (`guess.rs`). Drawn again until it
/// holds a digit (about 1 in 11 draws does not), so that a code typed without the slash
/// ("dang ky ab3def7k") is told apart from words; that keeps 91% of the code space.
fn new_invite_code(role: Role) -> String {
    let len = if role == Role::Admin { ADMIN_INVITE_CODE_LEN } else { INVITE_CODE_LEN };
    loop {
        let code = crate::csprng::code(CODE_ALPHABET, len);
        if code.bytes().any(|b| b.is_ascii_digit()) {
            return code;
        }
    }
}
