//! `Handoff::handle_chat` and `Handoff::start`: one text from one user → replies (or
//! `None`: not for the hand-off), writes and messages for other users, committed
//! together with the user's replay record.

use crate::calendar::UnixSecs;
use crate::dialog::Payload;
use crate::handoff::command::{self, Command};
use crate::handoff::contrib;
use crate::handoff::hours;
use crate::handoff::model::{
    Citizen, Level, Line, Party, PendingRelay, Rating, Request, Stage, Status,
};
use crate::handoff::payload::{Payload as HandoffPayload, PayloadError};
use crate::handoff::place::{self, PlaceIndex, PlaceMatch};
use crate::handoff::render;
use crate::handoff::route::Directory;
use crate::reply::Reply;
use crate::reports::model::{Member, Role};
use crate::reports::reminders::member_label;
use crate::store::handoff::{HandoffWrite, Outgoing};
use crate::store::reports::{CommitError, LastEvent};
use crate::zalo::message;

use super::Handoff;

/// Asks the dialog engine whether a text is about a scam in progress; the warning's
/// replies if so. The hand-off cannot see the dialogs (layering), so the conversation
/// worker passes this in.
pub type Warn<'a> = &'a dyn Fn(&str) -> Option<Vec<Reply>>;

/// What one event decided.
#[derive(Default)]
struct Effect {
    replies: Vec<Reply>,
    writes: Vec<HandoffWrite>,
    outgoing: Vec<Outgoing>,
}

impl Effect {
    fn reply(reply: Reply) -> Effect {
        Effect { replies: vec![reply], ..Effect::default() }
    }

    fn send(&mut self, user: &str, reply: &Reply) {
        if user.is_empty() {
            return; // a purged citizen
        }
        self.outgoing
            .push(Outgoing { user_id: user.to_owned(), messages: message::to_messages(reply) });
    }
}

/// A question stage left this long is dropped (the citizen moved on).
const STAGE_IDLE_SECS: i64 = 24 * 3600;
/// Longest display name kept.
const MAX_NAME_CHARS: usize = 60;
/// Longest text kept from one citizen message.
const MAX_TEXT_CHARS: usize = 2000;

impl Handoff {
    /// Handles a text message. `event_key` is the webhook dedupe key of the message;
    /// `warn` is the dialogs' danger detection (see `citizen_text`).
    pub fn handle_chat(
        &self,
        user: &str,
        text: &str,
        now: UnixSecs,
        event_key: &str,
        warn: Warn<'_>,
    ) -> anyhow::Result<Option<Vec<Reply>>> {
        // `/ten` is a member's name, shown to leaders and in exports even with the
        // hand-off off; everything else here is the hand-off's.
        // Without a slash (`ten Nguyễn Thị Lan`) only a member's counts, as in `decide`.
        // So is a nameless member's name alone (`bare_name`).
        let is_name = || -> anyhow::Result<bool> {
            Ok(match command::recognise(text.trim()) {
                Some(r) if matches!(r.command, Command::Name(_)) => {
                    r.explicit || self.store.report_member(user)?.is_some()
                }
                Some(_) => false,
                None => match self.store.report_member(user)? {
                    Some(member) => self.bare_name(&member, text)?.is_some(),
                    None => false,
                },
            })
        };
        if !self.enabled() && !is_name()? {
            return Ok(None);
        }
        if let Some(last) = self.store.handoff_last_event(user)?
            && last.event_key == event_key
        {
            return Ok(Some(last.replies));
        }
        self.commit_with_retry(user, event_key, now, |this| this.decide(user, text, now, warn))
    }

    /// A dialog node with `action = "handoff"` was shown: begins the hand-off. `shown`
    /// are the dialog's replies up to that node; the result is the whole answer.
    pub fn start(
        &self,
        user: &str,
        topic: Option<String>,
        shown: Vec<Reply>,
        now: UnixSecs,
        event_key: &str,
    ) -> anyhow::Result<Vec<Reply>> {
        // No team has members yet (units not imported, nobody joined): the node's own
        // message (how to reach the team) is the answer; asking for a village would
        // lead nowhere.
        if !self.directory()?.has_members() {
            return Ok(shown);
        }
        let result = self.commit_with_retry(user, event_key, now, |this| {
            let mut effect = this.begin(user, topic.clone(), now)?;
            let mut replies = shown.clone();
            replies.append(&mut effect.replies);
            effect.replies = replies;
            Ok(Some(effect))
        })?;
        Ok(result.unwrap_or(shown))
    }

    fn commit_with_retry(
        &self,
        user: &str,
        event_key: &str,
        now: UnixSecs,
        decide: impl Fn(&Handoff) -> anyhow::Result<Option<Effect>>,
    ) -> anyhow::Result<Option<Vec<Reply>>> {
        for _ in 0..4 {
            let Some(effect) = decide(self)? else { return Ok(None) };
            let last =
                LastEvent { event_key: event_key.to_owned(), replies: effect.replies.clone() };
            match self.store.commit_handoff(
                Some(user),
                Some(&last),
                &effect.writes,
                &effect.outgoing,
                now.to_ms(),
            ) {
                Ok(()) => return Ok(Some(effect.replies)),
                Err(CommitError::Conflict(why)) => {
                    tracing::debug!(why, "hand-off conflict; retrying")
                }
                Err(CommitError::Store(e)) => return Err(e.into()),
            }
        }
        anyhow::bail!("hand-off write kept conflicting")
    }

    fn citizen(&self, user: &str, now: UnixSecs) -> anyhow::Result<Citizen> {
        let mut c = self.store.handoff_citizen(user)?.unwrap_or_default();
        let asking = matches!(
            c.stage,
            Stage::AskPlace
                | Stage::AskPlaceAgain
                | Stage::ChoosePlace { .. }
                | Stage::AskQuestion
                | Stage::Rate { .. }
                | Stage::Comment { .. }
        );
        if asking && now.since(c.updated_at) > STAGE_IDLE_SECS {
            c.stage = Stage::Idle;
        }
        Ok(c)
    }

    fn put_citizen(user: &str, mut c: Citizen, stage: Stage, now: UnixSecs) -> HandoffWrite {
        // A request typed before the place lives only while the place is being asked.
        if !matches!(stage, Stage::AskPlace | Stage::AskPlaceAgain | Stage::ChoosePlace { .. }) {
            c.question = None;
        }
        c.stage = stage;
        c.updated_at = now;
        HandoffWrite::PutCitizen(user.to_owned(), c)
    }

    fn begin(&self, user: &str, topic: Option<String>, now: UnixSecs) -> anyhow::Result<Effect> {
        let mut c = self.citizen(user, now)?;
        if let Stage::Active { id } = c.stage
            && self.store.handoff_request(id)?.is_some_and(|r| r.status.is_live())
        {
            return Ok(Effect::reply(render::already_open(id)));
        }
        // A live request the citizen stepped away from ("menu") is resumed, not doubled.
        if let Some(r) = self.live_request_of(user)? {
            return Ok(Effect {
                replies: vec![render::already_open(r.id)],
                writes: vec![Self::put_citizen(user, c, Stage::Active { id: r.id }, now)],
                ..Effect::default()
            });
        }
        c.topic = topic;
        let dir = self.directory()?;
        match c.place.clone().filter(|p| dir.commune_of(p).is_some()) {
            Some(place) => Ok(Effect {
                replies: vec![render::ask_question(&dir.place_label(&place))],
                writes: vec![Self::put_citizen(user, c, Stage::AskQuestion, now)],
                ..Effect::default()
            }),
            None => Ok(Effect {
                replies: vec![render::ask_place()],
                writes: vec![Self::put_citizen(user, c, Stage::AskPlace, now)],
                ..Effect::default()
            }),
        }
    }

    fn live_request_of(&self, user: &str) -> anyhow::Result<Option<Request>> {
        Ok(self.store.handoff_live_requests()?.into_iter().find(|r| r.citizen == user))
    }

    fn decide(
        &self,
        user: &str,
        text: &str,
        now: UnixSecs,
        warn: Warn<'_>,
    ) -> anyhow::Result<Option<Effect>> {
        let text = text.trim();
        match text.parse::<HandoffPayload>() {
            Ok(payload) => return self.payload(user, payload, now),
            // An old or altered `#h:` button: nobody answers it.
            Err(PayloadError::Malformed) => return Ok(None),
            Err(PayloadError::NotOurs) => {}
        }
        let member = self.store.report_member(user)?;
        if let Some(r) = command::recognise(text)
            && (r.explicit || member.is_some())
        {
            let Some(member) = member else {
                return Ok(Some(Effect::reply(render::members_only())));
            };
            return self.command(&member, r.command, now).map(Some);
        }
        let c = self.citizen(user, now)?;
        if c.stage != Stage::Idle {
            return self.citizen_text(user, c, text, now, warn);
        }
        if let Some(member) = member {
            return self.member_plain(&member, text, now);
        }
        Ok(None)
    }

    // ----- citizen ---------------------------------------------------------------

    /// A citizen's text during the hand-off. What comes before the person helping them:
    /// - "menu" (and the other ways out) leaves the hand-off; the dialogs answer it;
    /// - "hủy yêu cầu" cancels the request;
    /// - a tap on a dialog button (`#c:`, `#g:`, `#u:`) goes to the dialogs, the hand-off
    ///   stays where it was (so the buttons of a scam warning work);
    /// - a text the dialogs' danger detection would answer with a ⚠️ warning gets that
    ///   warning first, and is still handled as usual: relayed to the claimer (marked, so
    ///   they know the citizen was warned and can follow up), added to the request, taken
    ///   as the question. Relaying it is deliberate: the member is the person helping
    ///   that citizen right now, and a scam in progress is exactly what they must know.
    fn citizen_text(
        &self,
        user: &str,
        c: Citizen,
        text: &str,
        now: UnixSecs,
        warn: Warn<'_>,
    ) -> anyhow::Result<Option<Effect>> {
        let folded = crate::vntext::unmark(text);
        let folded = folded.trim_matches(|ch: char| !ch.is_alphanumeric());
        let leave = matches!(folded, "menu" | "thoat" | "quay lai" | "ve menu")
            || text.parse::<Payload>() == Ok(Payload::Menu);
        let dialog_button = Payload::is_ours(text);
        if dialog_button && !leave && c.stage != Stage::Idle {
            return Ok(None);
        }
        let cancel = matches!(folded, "huy yeu cau" | "huy" | "huy bo" | "huy yc");
        let warning = match c.stage {
            Stage::Idle | Stage::Rate { .. } => None,
            _ if leave || cancel => None,
            _ => warn(text),
        };
        let Some(warning) = warning else {
            return self.citizen_text_as_usual(user, c, text, folded, leave, cancel, now, false);
        };
        let mut effect = match c.stage {
            // Not a place: warn, then ask again where they live.
            Stage::AskPlace | Stage::AskPlaceAgain | Stage::ChoosePlace { .. } => {
                Some(Effect::reply(render::ask_place()))
            }
            _ => self.citizen_text_as_usual(user, c, text, folded, leave, cancel, now, true)?,
        };
        if let Some(effect) = &mut effect {
            let mut replies = warning;
            replies.append(&mut effect.replies);
            effect.replies = replies;
        }
        Ok(effect)
    }

    #[allow(clippy::too_many_arguments)]
    fn citizen_text_as_usual(
        &self,
        user: &str,
        c: Citizen,
        text: &str,
        folded: &str,
        leave: bool,
        cancel: bool,
        now: UnixSecs,
        warned: bool,
    ) -> anyhow::Result<Option<Effect>> {
        match c.stage.clone() {
            Stage::Idle => Ok(None),
            Stage::AskPlace | Stage::AskPlaceAgain | Stage::ChoosePlace { .. } if leave => {
                self.to_idle(user, c, now)
            }
            Stage::AskQuestion if leave => self.to_idle(user, c, now),
            Stage::ChoosePlace { options } => {
                match folded.parse::<usize>().ok().and_then(|n| options.get(n.wrapping_sub(1))) {
                    Some(code) => self.set_place(user, c, code, now).map(Some),
                    None => self.typed_place(user, c, text, now),
                }
            }
            Stage::AskPlace | Stage::AskPlaceAgain => self.typed_place(user, c, text, now),
            Stage::AskQuestion => self.create_request(user, c, text, now).map(Some),
            Stage::Active { id } => {
                let Some(mut r) = self.store.handoff_request(id)?.filter(|r| r.status.is_live())
                else {
                    return self.to_idle(user, c, now);
                };
                if leave {
                    return self.to_idle(user, c, now);
                }
                if cancel {
                    return self.cancel(user, c, r, now).map(Some);
                }
                let mut effect = Effect::default();
                r.lines.push(Line {
                    from: Party::Citizen,
                    text: text.chars().take(MAX_TEXT_CHARS).collect(),
                    at: now,
                    visit: false,
                });
                r.last_citizen_at = now;
                match (&r.status, &r.claimed_by) {
                    (Status::Claimed, Some(claimer)) => {
                        effect.send(&claimer.clone(), &render::from_citizen(id, text, warned));
                    }
                    _ => effect.replies.push(render::added(id)),
                }
                r.rev += 1;
                effect.writes.push(HandoffWrite::PutRequest(Box::new(r)));
                Ok(Some(effect))
            }
            Stage::Rate { id } => {
                let Some(satisfied) = crate::handoff::rating::rating_of(text) else {
                    return self.to_idle(user, c, now);
                };
                // "tốt lắm, cảm ơn cháu": the answer is its own comment.
                let comment = crate::handoff::rating::is_a_comment(text)
                    .then(|| text.chars().take(MAX_TEXT_CHARS).collect());
                self.rate(user, c, id, satisfied, comment, now)
            }
            Stage::Comment { id } => {
                let mut effect = Effect::reply(render::thanks());
                if !leave
                    && !matches!(folded, "bo qua" | "khong" | "ko")
                    && let Some(mut r) = self.store.handoff_request(id)?
                    && r.citizen == user
                    && let Some(rating) = &mut r.rating
                {
                    rating.comment = Some(text.chars().take(MAX_TEXT_CHARS).collect());
                    r.rev += 1;
                    effect.writes.push(HandoffWrite::PutRequest(Box::new(r)));
                }
                effect.writes.push(Self::put_citizen(user, c, Stage::Idle, now));
                Ok(Some(effect))
            }
        }
    }

    /// Leaves the hand-off conversation; the text goes on to the dialogs.
    fn to_idle(&self, user: &str, c: Citizen, now: UnixSecs) -> anyhow::Result<Option<Effect>> {
        let write = Self::put_citizen(user, c, Stage::Idle, now);
        self.store.commit_handoff(None, None, &[write], &[], now.to_ms()).map_err(anyhow_commit)?;
        Ok(None)
    }

    /// The citizen's answer to "where do you live". `None` (the hand-off steps aside and
    /// the dialogs answer) after a second answer that names no known place.
    fn typed_place(
        &self,
        user: &str,
        c: Citizen,
        text: &str,
        now: UnixSecs,
    ) -> anyhow::Result<Option<Effect>> {
        let units = self.store.report_units()?;
        let index = PlaceIndex::new(&units);
        match index.find(text, crate::reply::MAX_BUTTONS) {
            PlaceMatch::One(code) => self.set_place(user, c, &code, now).map(Some),
            PlaceMatch::Many(codes) => {
                let dir = self.directory()?;
                let options: Vec<(String, String)> =
                    codes.iter().map(|code| (code.clone(), dir.place_label(code))).collect();
                Ok(Some(Effect {
                    replies: vec![render::choose_place(&options)],
                    writes: vec![Self::put_citizen(
                        user,
                        c,
                        Stage::ChoosePlace { options: codes },
                        now,
                    )],
                    ..Effect::default()
                }))
            }
            PlaceMatch::None if c.stage == Stage::AskPlace && place::reads_as_a_request(text) => {
                let mut c = c;
                c.question = Some(text.chars().take(MAX_TEXT_CHARS).collect());
                Ok(Some(Effect {
                    replies: vec![render::place_after_question(text)],
                    writes: vec![Self::put_citizen(user, c, Stage::AskPlaceAgain, now)],
                    ..Effect::default()
                }))
            }
            PlaceMatch::None if c.stage == Stage::AskPlaceAgain => self.to_idle(user, c, now),
            PlaceMatch::None => Ok(Some(Effect {
                replies: vec![render::place_not_found(text)],
                writes: vec![Self::put_citizen(user, c, Stage::AskPlaceAgain, now)],
                ..Effect::default()
            })),
        }
    }

    fn set_place(
        &self,
        user: &str,
        mut c: Citizen,
        code: &str,
        now: UnixSecs,
    ) -> anyhow::Result<Effect> {
        let dir = self.directory()?;
        c.place = Some(code.to_owned());
        // The request was typed before the place: make it now.
        if let Some(question) = c.question.take() {
            let mut effect = self.create_request(user, c, &question, now)?;
            let place = Reply::text(format!("Nơi ở của bạn: {}.", dir.place_label(code)));
            effect.replies.insert(0, place);
            return Ok(effect);
        }
        Ok(Effect {
            replies: vec![render::ask_question(&dir.place_label(code))],
            writes: vec![Self::put_citizen(user, c, Stage::AskQuestion, now)],
            ..Effect::default()
        })
    }

    fn create_request(
        &self,
        user: &str,
        c: Citizen,
        text: &str,
        now: UnixSecs,
    ) -> anyhow::Result<Effect> {
        let dir = self.directory()?;
        let Some(unit) = c.place.clone().filter(|p| dir.commune_of(p).is_some()) else {
            return Ok(Effect {
                replies: vec![render::ask_place()],
                writes: vec![Self::put_citizen(user, c, Stage::AskPlace, now)],
                ..Effect::default()
            });
        };
        let reachable = |u: &str| self.reachable(u, now);
        let route = dir.route(&unit, Level::Team, &reachable);
        let id = self.store.handoff_next_id()?;
        let question: String = text.chars().take(MAX_TEXT_CHARS).collect();
        let place = dir.place_label(&unit);
        let r = Request {
            commune: dir.commune_of(&unit),
            team: dir.team_of_unit(&unit),
            topic: c.topic.clone(),
            level: route.level,
            notified: route.recipients.clone(),
            ..Request::open(id, user, &unit, question.clone(), now)
        };
        let mut effect = Effect::default();
        let passed_on = route.level != Level::Team;
        for recipient in &route.recipients {
            let reply = if route.level == Level::Admin {
                render::admin_digest(id, &place, &question, 0)
            } else {
                render::new_request(id, &place, &question, passed_on)
            };
            effect.send(recipient, &reply);
        }
        let in_office = hours::is_open(now, self.config.hour_start, self.config.hour_end);
        let eta = render::eta(in_office, self.config.escalate_after_secs, self.config.hour_start);
        effect.replies.push(render::request_created(
            id,
            &dir.unit_name(&unit),
            &eta,
            route.recipients.is_empty() || route.level == Level::Admin,
        ));
        tracing::info!(
            request = id,
            user = %crate::privacy::mask_id(user),
            level = ?route.level,
            told = route.recipients.len(),
            "hand-off request created"
        );
        effect.writes.push(HandoffWrite::PutRequest(Box::new(r)));
        effect.writes.push(Self::put_citizen(user, c, Stage::Active { id }, now));
        Ok(effect)
    }

    fn cancel(
        &self,
        user: &str,
        c: Citizen,
        mut r: Request,
        now: UnixSecs,
    ) -> anyhow::Result<Effect> {
        let mut effect = Effect::reply(render::cancelled(r.id));
        let told: Vec<String> = match &r.claimed_by {
            Some(claimer) => vec![claimer.clone()],
            None => r.notified.clone(),
        };
        for u in told {
            effect.send(&u, &render::cancelled_for_member(r.id));
        }
        r.status = Status::Cancelled;
        r.closed_at = Some(now);
        r.rev += 1;
        effect.writes.push(HandoffWrite::PutRequest(Box::new(r)));
        effect.writes.push(Self::put_citizen(user, c, Stage::Idle, now));
        Ok(effect)
    }

    fn rate(
        &self,
        user: &str,
        c: Citizen,
        id: u64,
        satisfied: bool,
        comment: Option<String>,
        now: UnixSecs,
    ) -> anyhow::Result<Option<Effect>> {
        let Some(mut r) = self.store.handoff_request(id)? else { return Ok(None) };
        if r.citizen != user || r.status != Status::Closed || r.rating.is_some() {
            return self.to_idle(user, c, now);
        }
        let commented = comment.is_some();
        r.rating = Some(Rating { satisfied, comment, at: now });
        r.rev += 1;
        // A comment given with the rating: thanks, no second question.
        let (reply, stage) = if commented {
            (render::thanks(), Stage::Idle)
        } else {
            (render::ask_comment(), Stage::Comment { id })
        };
        let mut effect = Effect::reply(reply);
        if let Some(claimer) = &r.claimed_by {
            effect.send(&claimer.clone(), &render::rated_for_member(id, satisfied));
        }
        effect.writes.push(HandoffWrite::PutRequest(Box::new(r)));
        effect.writes.push(Self::put_citizen(user, c, stage, now));
        Ok(Some(effect))
    }

    /// The hand-off's own buttons (`#h:…`).
    fn payload(
        &self,
        user: &str,
        payload: HandoffPayload,
        now: UnixSecs,
    ) -> anyhow::Result<Option<Effect>> {
        let c = self.citizen(user, now)?;
        match payload {
            HandoffPayload::Place(code) => self.set_place(user, c, &code, now).map(Some),
            HandoffPayload::ChangePlace => Ok(Some(Effect {
                replies: vec![render::ask_place()],
                writes: vec![Self::put_citizen(user, c, Stage::AskPlace, now)],
                ..Effect::default()
            })),
            HandoffPayload::Cancel(id) => match self.store.handoff_request(id)? {
                Some(r) if r.citizen == user && r.status.is_live() => {
                    self.cancel(user, c, r, now).map(Some)
                }
                _ => Ok(Some(Effect::reply(render::not_live(id, false)))),
            },
            HandoffPayload::Continue(id) => match self.store.handoff_request(id)? {
                Some(r) if r.citizen == user && r.status.is_live() => Ok(Some(Effect {
                    replies: vec![Reply::text(format!(
                        "Bạn nhắn tiếp cho Tổ về yêu cầu #{id} nhé. Gõ \"menu\" để quay về trợ lý."
                    ))],
                    writes: vec![Self::put_citizen(user, c, Stage::Active { id }, now)],
                    ..Effect::default()
                })),
                _ => Ok(Some(Effect::reply(render::not_live(id, true)))),
            },
            HandoffPayload::Rate { id, satisfied } => {
                match self.rate(user, c, id, satisfied, None, now)? {
                    Some(effect) => Ok(Some(effect)),
                    None => Ok(Some(Effect::reply(render::thanks()))),
                }
            }
            HandoffPayload::Skip => Ok(Some(Effect {
                replies: vec![render::thanks()],
                writes: vec![Self::put_citizen(user, c, Stage::Idle, now)],
                ..Effect::default()
            })),
            choice @ (HandoffPayload::Send | HandoffPayload::DontSend) => {
                let Some(member) = self.store.report_member(user)? else { return Ok(None) };
                let Some(pending) = self.store.handoff_pending(user)? else {
                    return Ok(Some(Effect::reply(render::plain_dropped())));
                };
                if choice == HandoffPayload::DontSend {
                    return Ok(Some(Effect {
                        replies: vec![render::plain_dropped()],
                        writes: vec![HandoffWrite::ClearPending(user.to_owned())],
                        ..Effect::default()
                    }));
                }
                let mut effect =
                    self.answer(&member, pending.id, &pending.text, false, true, now)?;
                effect.writes.push(HandoffWrite::ClearPending(user.to_owned()));
                Ok(Some(effect))
            }
        }
    }

    // ----- member --------------------------------------------------------------

    fn command(&self, member: &Member, command: Command, now: UnixSecs) -> anyhow::Result<Effect> {
        match command {
            Command::Claim(id) => self.claim(member, id, now),
            Command::Answer(id, text) => self.answer(member, id, &text, false, false, now),
            Command::Visit(id, text) => self.answer(member, id, &text, true, false, now),
            Command::Close(id) => self.close(member, id, now),
            Command::Return(id) => self.give_back(member, id, now),
            Command::Name(name) => {
                let name: String = name.trim().chars().take(MAX_NAME_CHARS).collect();
                if name.is_empty() {
                    return Ok(Effect::reply(render::ask_name()));
                }
                // "tran van binh" is shown as "Tran Van Binh"; a name typed with capitals
                // is kept as typed.
                let name = if name == name.to_lowercase() {
                    name.split_whitespace()
                        .map(crate::vntext::capitalise)
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    name
                };
                self.store.set_member_display_name(&member.user_id, &name)?;
                Ok(Effect::reply(render::name_set(&name)))
            }
            Command::Me => self.my_figures(member, now),
            Command::Overview => self.overview(member, now),
            Command::List => self.list(member),
            Command::Usage(line) => Ok(Effect::reply(render::usage(line))),
        }
    }

    /// The request if `member` may act on it (told about it, or of the routed team).
    fn visible(&self, member: &Member, id: u64) -> anyhow::Result<Option<Request>> {
        Ok(self.store.handoff_request(id)?.filter(|r| {
            !r.purged
                && (r.visible_to(&member.user_id)
                    || (member.team.is_some() && member.team == r.team))
        }))
    }

    fn team_place(&self, dir: &Directory, r: &Request) -> String {
        match r.claimer_team.or(r.team).and_then(|t| dir.team(t)) {
            Some(team) => dir.unit_name(&team.unit),
            None => dir.unit_name(&r.unit),
        }
    }

    fn shown_name(&self, dir: &Directory, user: &str) -> Option<String> {
        if !self.config.show_member_name {
            return None;
        }
        dir.person(user).and_then(|p| p.name.clone())
    }

    fn claim(&self, member: &Member, id: u64, now: UnixSecs) -> anyhow::Result<Effect> {
        let Some(mut r) = self.visible(member, id)? else {
            return Ok(Effect::reply(render::unknown_request(id)));
        };
        let dir = self.directory()?;
        match (r.status, r.claimed_by.clone()) {
            (Status::Closed, _) => return Ok(Effect::reply(render::not_live(id, true))),
            (Status::Cancelled, _) => return Ok(Effect::reply(render::not_live(id, false))),
            (Status::Claimed, Some(other)) if other != member.user_id => {
                return Ok(Effect::reply(render::claimed_by_other(id, &dir.display_name(&other))));
            }
            _ => {}
        }
        let citizen_lines: Vec<String> =
            r.lines.iter().filter(|l| l.from == Party::Citizen).map(|l| l.text.clone()).collect();
        let first_time = member.display_name.is_none();
        let mut effect =
            Effect::reply(render::claimed_by_you(id, &r.question, &citizen_lines, first_time));
        if first_time {
            effect.replies.push(render::ask_name());
        }
        if r.status == Status::Claimed {
            return Ok(effect); // claimed again by the same member: just the reminder
        }
        r.status = Status::Claimed;
        r.claimed_by = Some(member.user_id.clone());
        r.claimer_team = member.team.or(r.team);
        r.claimed_at = Some(now);
        r.rev += 1;
        let name = dir.display_name(&member.user_id);
        for other in r.notified.iter().filter(|u| **u != member.user_id) {
            effect.send(other, &render::claimed_by_other(id, &name));
        }
        let place = self.team_place(&dir, &r);
        let shown = self.shown_name(&dir, &member.user_id);
        effect.send(&r.citizen.clone(), &render::claimed_for_citizen(id, &place, shown.as_deref()));
        effect.writes.push(HandoffWrite::PutRequest(Box::new(r)));
        Ok(effect)
    }

    fn answer(
        &self,
        member: &Member,
        id: u64,
        text: &str,
        visit: bool,
        confirm_plain: bool,
        now: UnixSecs,
    ) -> anyhow::Result<Effect> {
        let Some(mut r) = self.visible(member, id)? else {
            return Ok(Effect::reply(render::unknown_request(id)));
        };
        if !r.status.is_live() {
            return Ok(Effect::reply(render::not_live(id, r.status == Status::Closed)));
        }
        if r.claimed_by.as_deref() != Some(member.user_id.as_str()) {
            return Ok(Effect::reply(render::not_yours(id)));
        }
        if now.since(r.last_citizen_at) > self.config.window_days * 86_400 {
            return Ok(Effect::reply(render::window_closed(id)));
        }
        let dir = self.directory()?;
        let text: String = text.chars().take(MAX_TEXT_CHARS).collect();
        let mut effect = Effect::reply(render::sent(id));
        let place = self.team_place(&dir, &r);
        let shown = self.shown_name(&dir, &member.user_id);
        effect.send(
            &r.citizen.clone(),
            &render::relayed_to_citizen(id, &place, shown.as_deref(), &text, visit),
        );
        r.lines.push(Line { from: Party::Member(member.user_id.clone()), text, at: now, visit });
        r.first_reply_at.get_or_insert(now);
        if visit {
            r.visits += 1;
        }
        if confirm_plain {
            r.plain_ok = true;
        }
        r.rev += 1;
        effect.writes.push(HandoffWrite::PutRequest(Box::new(r)));
        Ok(effect)
    }

    fn close(&self, member: &Member, id: u64, now: UnixSecs) -> anyhow::Result<Effect> {
        let Some(mut r) = self.visible(member, id)? else {
            return Ok(Effect::reply(render::unknown_request(id)));
        };
        if !r.status.is_live() {
            return Ok(Effect::reply(render::not_live(id, r.status == Status::Closed)));
        }
        let holder = r.claimed_by.clone();
        let is_leader =
            member.role == Role::Leader && member.team.is_some() && member.team == r.claimer_team;
        match &holder {
            Some(h) if *h == member.user_id || is_leader || member.role == Role::Admin => {}
            Some(_) => return Ok(Effect::reply(render::not_yours(id))),
            None => {
                return Ok(Effect::reply(Reply::text(format!(
                    "Yêu cầu #{id} chưa ai nhận. Gõ /nhan {id} để nhận trước khi đóng."
                ))));
            }
        }
        r.status = Status::Closed;
        r.closed_at = Some(now);
        r.closed_by = holder;
        r.rev += 1;
        let mut effect = Effect::reply(render::closed_for_member(id));
        let citizen = r.citizen.clone();
        if !citizen.is_empty() {
            effect.send(&citizen, &render::rate(id));
            let c = self.store.handoff_citizen(&citizen)?.unwrap_or_default();
            effect.writes.push(Self::put_citizen(&citizen, c, Stage::Rate { id }, now));
        }
        effect.writes.push(HandoffWrite::PutRequest(Box::new(r)));
        Ok(effect)
    }

    fn give_back(&self, member: &Member, id: u64, now: UnixSecs) -> anyhow::Result<Effect> {
        let Some(r) = self.visible(member, id)? else {
            return Ok(Effect::reply(render::unknown_request(id)));
        };
        if r.claimed_by.as_deref() != Some(member.user_id.as_str()) || r.status != Status::Claimed {
            return Ok(Effect::reply(render::not_yours(id)));
        }
        let dir = self.directory()?;
        let mut effect = Effect::reply(render::returned_for_member(id));
        let (r, to_tell) = reopen(r, &dir, &|u| self.reachable(u, now), now);
        let place = dir.place_label(&r.unit);
        for u in to_tell.iter().filter(|u| **u != member.user_id) {
            effect.send(u, &render::new_request(id, &place, &r.question, false));
        }
        effect.send(&r.citizen.clone(), &render::returned_for_citizen(id));
        effect.writes.push(HandoffWrite::PutRequest(Box::new(r)));
        Ok(effect)
    }

    /// A member's plain message: relayed when they hold exactly one live request (after
    /// a first confirmation), unless it is a report command or a report form is open.
    fn member_plain(
        &self,
        member: &Member,
        text: &str,
        now: UnixSecs,
    ) -> anyhow::Result<Option<Effect>> {
        if crate::reports::command::recognise(text).is_some()
            || self.store.report_form(&member.user_id)?.is_some()
        {
            return Ok(None);
        }
        // No report form is open (checked above): the name alone is the member's name.
        if let Some(name) =
            member.display_name.is_none().then(|| command::bare_full_name(text)).flatten()
        {
            return self.command(member, Command::Name(name.to_owned()), now).map(Some);
        }
        let held: Vec<Request> = self
            .store
            .handoff_live_requests()?
            .into_iter()
            .filter(|r| r.claimed_by.as_deref() == Some(member.user_id.as_str()))
            .collect();
        let [r] = held.as_slice() else { return Ok(None) };
        if r.plain_ok {
            return self.answer(member, r.id, text, false, false, now).map(Some);
        }
        Ok(Some(Effect {
            replies: vec![render::confirm_plain(r.id, text)],
            writes: vec![HandoffWrite::PutPending(
                member.user_id.clone(),
                PendingRelay { id: r.id, text: text.chars().take(MAX_TEXT_CHARS).collect() },
            )],
            ..Effect::default()
        }))
    }

    /// The join message asks a new member for the name they are shown by; many answer
    /// with the name alone. Taken only while they have none, no report form is open and
    /// the text reads as a full name (`command::bare_full_name`).
    fn bare_name<'t>(&self, member: &Member, text: &'t str) -> anyhow::Result<Option<&'t str>> {
        if member.display_name.is_some() {
            return Ok(None);
        }
        let Some(name) = command::bare_full_name(text) else { return Ok(None) };
        if self.store.report_form(&member.user_id)?.is_some() {
            return Ok(None);
        }
        Ok(Some(name))
    }

    fn list(&self, member: &Member) -> anyhow::Result<Effect> {
        let dir = self.directory()?;
        let mut lines = Vec::new();
        for r in self.store.handoff_live_requests()? {
            let mine = r.claimed_by.as_deref() == Some(member.user_id.as_str());
            let waiting = r.status == Status::Open
                && (r.visible_to(&member.user_id)
                    || (member.team.is_some() && member.team == r.team));
            if mine || waiting {
                let state = if mine { "bạn đang giữ" } else { "chờ người nhận" };
                lines.push(format!(
                    "#{} — {} ({state}): «{}»",
                    r.id,
                    dir.place_label(&r.unit),
                    clip(&r.question, 80)
                ));
            }
        }
        if lines.is_empty() {
            return Ok(Effect::reply(Reply::text(
                "Không có yêu cầu nào đang chờ hay bạn đang giữ.",
            )));
        }
        Ok(Effect::reply(Reply::text(format!("Yêu cầu của bạn và Tổ:\n{}", lines.join("\n")))))
    }

    fn my_figures(&self, member: &Member, now: UnixSecs) -> anyhow::Result<Effect> {
        let month = contrib::month_of(now);
        let c = self.contributions(&[month])?;
        let f =
            c.members.get(&(month, member.user_id.clone())).map(|a| a.finish()).unwrap_or_default();
        Ok(Effect::reply(Reply::text(format!(
            "Đóng góp của bạn tháng {} (tự động tính từ hoạt động):\n{}",
            month_label(month),
            figures_text(&f)
        ))))
    }

    fn overview(&self, member: &Member, now: UnixSecs) -> anyhow::Result<Effect> {
        if member.role == Role::Admin {
            return Ok(Effect::reply(render::admin_overview()));
        }
        let Some(team_id) = member.team.filter(|_| member.role == Role::Leader) else {
            return Ok(Effect::reply(render::leaders_only()));
        };
        let dir = self.directory()?;
        let month = contrib::month_of(now);
        let c = self.contributions(&[month])?;
        let mut text = format!("Tình hình Tổ tháng {}:", month_label(month));
        let mut reported = Vec::new();
        let mut not_reported = Vec::new();
        let mut unreachable = Vec::new();
        // Members by the name they set (`/ten`), as the reminders name them; reachable
        // means the same as for the reminders (followed, inside Zalo's window).
        let members = self.store.report_members()?;
        for m in members.iter().filter(|m| m.team == Some(team_id)) {
            let name = member_label(m);
            let f =
                c.members.get(&(month, m.user_id.clone())).map(|a| a.finish()).unwrap_or_default();
            if f.reports_submitted > 0 {
                reported.push(name.clone());
            } else {
                not_reported.push(name.clone());
            }
            // The leader asking has just written: reachable, whatever the store says yet.
            if m.user_id != member.user_id && !self.reachable(&m.user_id, now) {
                unreachable.push(name);
            }
        }
        let join = |v: &[String]| if v.is_empty() { "không có".to_owned() } else { v.join(", ") };
        match &self.report_defs {
            // The team's report for the period it is asked for (in the first days of a
            // month, the month just ended), not who sent something this calendar month.
            Some(defs) => {
                let versions = self.store.report_versions()?;
                for line in crate::reports::reminders::team_status_lines(
                    &defs(),
                    team_id,
                    &versions,
                    &members,
                    now,
                ) {
                    text.push_str(&format!("\n- {line}"));
                }
            }
            None => {
                text.push_str(&format!("\n- Đã gửi báo cáo: {}", join(&reported)));
                text.push_str(&format!("\n- Chưa gửi báo cáo: {}", join(&not_reported)));
            }
        }
        text.push_str(&format!("\n- Chưa liên lạc được qua Zalo: {}", join(&unreachable)));
        let team = c.teams.get(&(month, team_id)).map(|a| a.finish()).unwrap_or_default();
        text.push_str(&format!("\nCả Tổ (tự động tính):\n{}", figures_text(&team)));
        let open: Vec<String> = self
            .store
            .handoff_live_requests()?
            .into_iter()
            .filter(|r| r.team == Some(team_id) || r.claimer_team == Some(team_id))
            .map(|r| match &r.claimed_by {
                Some(u) => format!("#{} — {} giữ", r.id, dir.leader_label(u)),
                None => format!("#{} — chờ người nhận", r.id),
            })
            .collect();
        text.push_str(&format!("\nYêu cầu đang mở: {}", join(&open)));
        Ok(Effect::reply(Reply::text(text)))
    }

    /// Contributions for `months` from the store.
    pub fn contributions(
        &self,
        months: &[contrib::Month],
    ) -> anyhow::Result<contrib::Contributions> {
        let requests = self.store.handoff_requests()?;
        let reports = self.store.report_versions()?;
        let invites = self.store.report_invites()?;
        Ok(contrib::compute(&requests, &reports, &invites, months))
    }
}

/// Puts a claimed request back to open, routed again; returns it and who to tell.
pub(crate) fn reopen(
    mut r: Request,
    dir: &Directory,
    reachable: &dyn Fn(&str) -> bool,
    now: UnixSecs,
) -> (Request, Vec<String>) {
    let route = dir.route(&r.unit, Level::Team, reachable);
    r.status = Status::Open;
    r.claimed_by = None;
    r.claimer_team = None;
    r.claimed_at = None;
    r.waiting_since = now;
    r.level = route.level;
    for u in &route.recipients {
        if !r.notified.contains(u) {
            r.notified.push(u.clone());
        }
    }
    r.rev += 1;
    (r, route.recipients)
}

fn anyhow_commit(e: CommitError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

fn month_label(month: contrib::Month) -> String {
    format!("{}/{}", month.rem_euclid(12) + 1, month.div_euclid(12))
}

fn clip(text: &str, max: usize) -> String {
    let mut s: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        s.push('…');
    }
    s
}

/// The figures as lines a member reads.
pub(crate) fn figures_text(f: &contrib::Figures) -> String {
    let median = f.median_first_reply_secs.map_or_else(|| "—".to_owned(), render::duration);
    format!(
        "- Yêu cầu đã nhận: {}, đã xong: {}\n- Thời gian trả lời đầu tiên (trung vị): {median}\n- Đánh giá: {} hài lòng, {} chưa hài lòng\n- Hẹn gặp đã đề nghị: {}\n- Báo cáo đã gửi: {} (đúng hạn: {})\n- Mã mời đã được dùng: {}",
        f.requests_claimed,
        f.requests_closed,
        f.rated_satisfied,
        f.rated_unsatisfied,
        f.visits_proposed,
        f.reports_submitted,
        f.reports_on_time,
        f.invites_used
    )
}
