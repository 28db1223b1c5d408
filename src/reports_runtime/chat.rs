//! `Reporting::handle_chat`: one text message from one user → replies, or `None` when
//! the message is not for the reports feature.
//!
//! The rules are the pure core's (`crate::reports::chat::decide`); this edge loads the
//! snapshot it asks for (`needs`), and commits the writes together with the user's replay
//! record in one transaction. Replaying the same event returns the recorded replies and
//! writes nothing.

use crate::calendar::UnixSecs;
use crate::reply::Reply;
use crate::reports::chat::{self, Input, InviteSnapshot, World, Write};
use crate::reports::command::{ADMIN_INVITE_CODE_LEN, INVITE_CODE_LEN};
use crate::reports::model::{Invite, Role};
use crate::store::reports::{CommitError, LastEvent};

use super::Reporting;

/// Invite code alphabet: no 0/O, 1/I/L, so codes survive being read aloud or retyped.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

impl Reporting {
    /// Handles a text message. `event_key` is the webhook dedupe key of the message.
    pub fn handle_chat(
        &self,
        user_id: &str,
        text: &str,
        now: UnixSecs,
        event_key: &str,
    ) -> anyhow::Result<Option<Vec<Reply>>> {
        if let Some(last) = self.store.report_last_event(user_id)?
            && last.event_key == event_key
        {
            return Ok(Some(last.replies));
        }
        let input = Input { text, event_key };
        // A concurrent write (two members submitting the same report at once, an invite
        // used by someone else in between) is retried against the fresh state.
        for _ in 0..3 {
            let Some(mut effects) = self.decide(user_id, input, now)? else {
                return Ok(None);
            };
            if let Some(request) = &effects.admin {
                let reply = self.admin_command(request, now)?;
                effects.replies.push(reply);
            }
            let last =
                LastEvent { event_key: event_key.to_owned(), replies: effects.replies.clone() };
            match self.store.commit_report_writes(user_id, &last, &effects.writes) {
                Ok(()) => {
                    if effects.wrong_code {
                        self.guesses.wrong(user_id, now);
                    }
                    let submitted =
                        effects.writes.iter().filter(|w| matches!(w, Write::AddReport(_))).count();
                    if submitted > 0 {
                        metrics::counter!("cnscd_reports_submitted_total")
                            .increment(submitted as u64);
                    }
                    return Ok(Some(effects.replies));
                }
                Err(CommitError::Conflict(why)) => {
                    tracing::debug!(why, "report write conflict; retrying");
                }
                Err(CommitError::Store(e)) => return Err(e.into()),
            }
        }
        anyhow::bail!("report write kept conflicting")
    }

    /// Loads the snapshot `reports::chat::needs` asks for and lets the core decide.
    fn decide(
        &self,
        user: &str,
        input: Input,
        now: UnixSecs,
    ) -> anyhow::Result<Option<chat::Effects>> {
        let member = self.store.report_member(user)?;
        let form = self.store.report_form(user)?;
        let needs = chat::needs(input.text, form.is_some());
        let team_id = member.as_ref().and_then(|m| m.team);
        let team = team_id.map(|id| self.store.report_team(id)).transpose()?.flatten();
        let versions = match team_id {
            Some(id) if needs.versions => self.store.team_report_versions(id)?,
            _ => Vec::new(),
        };
        let (invite, units, may_try_code) = match &needs.invite_code {
            Some(code) => {
                let invite = match self.store.report_invite(code)? {
                    Some(invite) => {
                        let team =
                            invite.team.map(|id| self.store.report_team(id)).transpose()?.flatten();
                        Some(InviteSnapshot { invite, team })
                    }
                    None => None,
                };
                let allowed = self.guesses.check(user, now) == super::guess::Verdict::Allowed;
                (invite, self.store.report_units()?, allowed)
            }
            None => (None, Vec::new(), true),
        };
        let defs = self.defs();
        let world = World {
            user,
            defs: &defs,
            withdraw_minutes: self.settings.withdraw_minutes,
            invite_days: self.settings.invite_days,
            member,
            form,
            team,
            versions,
            invite,
            units,
            may_try_code,
            new_code: &new_invite_code,
        };
        Ok(chat::decide(&world, input, now))
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
        now: UnixSecs,
    ) -> Invite {
        let code = new_invite_code(role);
        chat::new_invite(code, team, unit, role, created_by, now, self.settings.invite_days)
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
