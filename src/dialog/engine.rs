//! The step function: (dialog set, session, input, now) → (new session, replies).
//!
//! Order of interpretation of a text (first that applies wins):
//! 1. a button payload (`#c:…`, `#g:…`, `#u:menu`);
//! 2. a universal word (menu, quay lại, làm lại, thoát, trợ giúp);
//! 3. a number answering a pending ask-back;
//! 4. the current node's `choices` (by number or "mục 2", label with or without diacritics,
//!    one typo per long word, a part of a label, a yes/no word for "Có"/"Không" buttons);
//! 5. a danger intent (a node of an `urgent` dialog) matched with the lower danger threshold;
//! 6. an answer to the current node's `ask`;
//! 7. free-text understanding (`intents.rs`): a clear winner is shown, two or three close ones
//!    are offered back ("Có phải bạn muốn hỏi: …"); the current node's choices and dialog
//!    are boosted so follow-ups inside a topic work;
//! 8. a sentence containing a choice's whole label;
//! 9. otherwise a short "not understood" reply (with the current choices, or the main menu).
//!
//! Pure and total: no I/O, never panics, never returns zero replies for a text.

use super::answer;
use super::intents::{Context, Danger, Decision, Query};
use super::model::{AskKind, Choice, DialogSet, Node, Target};
use super::payload::{Payload, PayloadError};
use super::render::{self, NOT_UNDERSTOOD};
use super::session::{Input, Position, Session, Step, Understood};
use super::text;
use crate::calendar::UnixSecs;
use crate::reply::Reply;

/// Zalo lets an OA reply for 7 days after the user's last message; sessions idle longer restart.
pub const DEFAULT_IDLE_TIMEOUT_SECS: i64 = 7 * 24 * 3600;
/// Longer texts are cut before matching (Zalo messages are at most 2000 characters anyway).
const MAX_INPUT_CHARS: usize = 2000;
/// How many earlier nodes "quay lại" can go back through.
pub const MAX_HISTORY: usize = 30;
/// At most this many messages per step (a `goto` chain is cut here).
pub(crate) const MAX_MESSAGES_PER_STEP: usize = 3;

/// Engine settings that come from the service configuration.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    pub idle_timeout_secs: i64,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions { idle_timeout_secs: DEFAULT_IDLE_TIMEOUT_SECS }
    }
}

pub(crate) const NOTICE_UPDATED: &str =
    "Nội dung hướng dẫn vừa được cập nhật, mình đưa bạn về menu chính.";
const NOTICE_OLD_BUTTON: &str = "Nút này thuộc tin nhắn cũ và không còn dùng được.";
const GOODBYE: &str =
    "Cảm ơn bạn đã trò chuyện. Khi cần hỗ trợ, bạn nhắn \"menu\" để bắt đầu lại nhé.";
const FIRST_STEP: &str = "Bạn đang ở bước đầu tiên.";

/// Advances one conversation by one input, with default options.
pub fn step(set: &DialogSet, session: Option<Session>, input: &Input, now: UnixSecs) -> Step {
    step_with(set, session, input, now, &EngineOptions::default())
}

/// Advances one conversation by one input.
pub fn step_with(
    set: &DialogSet,
    session: Option<Session>,
    input: &Input,
    now: UnixSecs,
    options: &EngineOptions,
) -> Step {
    step_traced(set, session, input, now, options).0
}

/// [`step_with`] plus the nodes shown during the step (for transcript coverage).
pub(crate) fn step_traced(
    set: &DialogSet,
    session: Option<Session>,
    input: &Input,
    now: UnixSecs,
    options: &EngineOptions,
) -> (Step, Vec<Target>) {
    let mut turn = Turn::new(set);
    let live = session.filter(|s| now.since(s.last_active) <= options.idle_timeout_secs);
    match live {
        Some(mut s) if set.node(&s.dialog, &s.node).is_some() => {
            if s.version != set.version {
                // Moved to another version: forget positions that no longer exist.
                s.version = set.version.clone();
                s.history.retain(|p| set.node(&p.dialog, &p.node).is_some());
                s.pending.retain(|p| set.node(&p.dialog, &p.node).is_some());
            }
            turn.session = Some(s);
        }
        Some(_) => turn.notice = Some(NOTICE_UPDATED.to_owned()),
        None => {}
    }
    match input {
        Input::Follow => turn.greet(),
        Input::Text(typed) => turn.text(typed),
    }
    if turn.replies.is_empty() {
        // Defensive: every branch replies, but an empty answer must never reach the user.
        turn.greet();
    }
    let Turn { session, replies, visited, action, understood, .. } = turn;
    let session = session.map(|mut s| {
        s.last_active = now;
        s
    });
    (Step { session, replies, action, understood }, visited)
}

/// The scam warning `typed` gets, as a step from no session: the urgent node the danger
/// detection (step 5 above, same matcher and thresholds) opens for it, or `None` when the
/// text is not about a scam in progress. For callers that take the text away from the
/// dialogs (a citizen talking to a team member) but must still warn first.
pub fn warning(set: &DialogSet, typed: &str, now: UnixSecs) -> Option<Step> {
    let typed = match typed.char_indices().nth(MAX_INPUT_CHARS) {
        Some((cut, _)) => &typed[..cut],
        None => typed,
    };
    let typed = typed.trim();
    if Payload::is_ours(typed) {
        return None;
    }
    let folded = text::fold(typed);
    if universal(&folded, typed).is_some() {
        return None;
    }
    let query = set.intents.query(&set.lexicon, &folded);
    let mut turn = Turn::new(set);
    if !turn.danger(&query) || turn.replies.is_empty() {
        return None;
    }
    let Turn { session, replies, action, understood, .. } = turn;
    let session = session.map(|mut s| {
        s.last_active = now;
        s
    });
    Some(Step { session, replies, action, understood })
}

/// The working state of one step.
struct Turn<'s> {
    set: &'s DialogSet,
    session: Option<Session>,
    replies: Vec<Reply>,
    visited: Vec<Target>,
    /// A short sentence put before the next message (e.g. "content was updated").
    notice: Option<String>,
    /// The first node action met in this step, with the index of its message.
    action: Option<(super::model::Action, usize)>,
    understood: Understood,
}

/// The words that mean the same in every dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Universal {
    Menu,
    Back,
    Restart,
    Exit,
    Help,
}

/// Universal words, folded (no diacritics, lower case); keywords may not take them.
pub(crate) const UNIVERSAL_WORDS: &[(&str, Universal)] = &[
    ("menu", Universal::Menu),
    ("menu chinh", Universal::Menu),
    ("trang chu", Universal::Menu),
    ("ve menu", Universal::Menu),
    ("ve menu chinh", Universal::Menu),
    ("ve trang chu", Universal::Menu),
    ("quay lai", Universal::Back),
    ("tro lai", Universal::Back),
    ("back", Universal::Back),
    ("lam lai", Universal::Restart),
    ("bat dau lai", Universal::Restart),
    ("thoat", Universal::Exit),
    ("ket thuc", Universal::Exit),
    ("exit", Universal::Exit),
    ("stop", Universal::Exit),
    ("tro giup", Universal::Help),
    ("giup", Universal::Help),
    ("giup do", Universal::Help),
    ("help", Universal::Help),
    ("huong dan", Universal::Help),
];

fn universal(folded: &str, raw: &str) -> Option<Universal> {
    let word =
        UNIVERSAL_WORDS.iter().find(|(word, _)| *word == folded).map(|(_, meaning)| *meaning);
    word.or_else(|| (raw.trim() == "?").then_some(Universal::Help))
}

/// How a typed text matched the current node's choices.
enum ChoiceMatch {
    One(usize),
    Several(Vec<usize>),
    None,
}

impl<'s> Turn<'s> {
    /// A turn that has said nothing yet, outside any session.
    fn new(set: &'s DialogSet) -> Turn<'s> {
        Turn {
            set,
            session: None,
            replies: Vec::new(),
            visited: Vec::new(),
            notice: None,
            action: None,
            understood: Understood::Yes,
        }
    }

    fn text(&mut self, typed: &str) {
        // Matching work grows with the text; nobody answers a menu with a novel.
        let typed = match typed.char_indices().nth(MAX_INPUT_CHARS) {
            Some((cut, _)) => &typed[..cut],
            None => typed,
        };
        let typed = typed.trim();
        match typed.parse::<Payload>() {
            Ok(payload) => return self.payload(Some(payload)),
            Err(PayloadError::Malformed) => return self.payload(None),
            Err(PayloadError::NotOurs) => {}
        }
        let folded = text::fold(typed);
        if let Some(word) = universal(&folded, typed) {
            return self.universal(word);
        }
        if self.session.is_none() {
            let query = self.set.intents.query(&self.set.lexicon, typed);
            if self.danger(&query) || self.understand(&query, None) {
                return;
            }
            return self.not_understood_fresh(&query);
        }
        if self.pending_choice(&folded) {
            return;
        }
        let Some(node) = self.current_node() else { return self.greet() };
        if self.choose(node, match_choice(node, typed, &folded)) {
            return;
        }
        let query = self.set.intents.query(&self.set.lexicon, typed);
        if self.danger(&query) {
            return;
        }
        if let Some(ask) = &node.ask {
            let keyword_first = ask.kind == AskKind::Text;
            if keyword_first && self.trigger(&folded, true) {
                return;
            }
            if let Some(answer) = answer::validate(ask.kind, typed) {
                return self.accept_answer(node, answer);
            }
            if !keyword_first && self.understand_strictly(&query, node) {
                return;
            }
            return self.reject_answer(node);
        }
        if self.understand(&query, Some(node)) {
            return;
        }
        // Last resort: a sentence that contains a choice's label.
        if self.choose(node, match_choice_in_sentence(node, &folded)) {
            return;
        }
        self.not_understood(node, &folded);
    }

    /// Opens the danger node the text is about, if any: it wins over everything else.
    fn danger(&mut self, query: &Query) -> bool {
        let target = match self.set.intents.danger(query) {
            Some(Danger::Node(target)) => target,
            Some(Danger::Dialog(dialog)) => match self.set.start_of(&dialog) {
                Some(target) => target,
                None => return false,
            },
            None => return false,
        };
        self.go(target, true);
        true
    }

    /// Free-text understanding from `node` (or from nowhere): answer, ask back, or false.
    fn understand(&mut self, query: &Query, node: Option<&Node>) -> bool {
        let decision = match (node, self.current_target()) {
            (Some(node), Some(here)) => {
                let context = Context {
                    dialog: &here.dialog,
                    choices: node.choices.iter().map(|c| &c.target).collect(),
                };
                self.set.intents.decide(query, Some(&context))
            }
            _ => self.set.intents.decide(query, None),
        };
        self.act_on(decision)
    }

    /// While an answer is expected, only a clear winner interrupts the question.
    fn understand_strictly(&mut self, query: &Query, node: &Node) -> bool {
        let here = self.current_target();
        let context = here.as_ref().map(|here| Context {
            dialog: &here.dialog,
            choices: node.choices.iter().map(|c| &c.target).collect(),
        });
        match self.set.intents.decide(query, context.as_ref()) {
            Decision::Answer(target) => self.act_on(Decision::Answer(target)),
            _ => false,
        }
    }

    fn act_on(&mut self, decision: Decision) -> bool {
        match decision {
            Decision::Answer(target) => {
                self.go(target, true);
                true
            }
            Decision::AskBack(targets) => {
                let candidates = targets
                    .into_iter()
                    .map(|t| {
                        let label = self.set.label_of(&t);
                        (render::fill(self.set, self.session.as_ref(), &label), t)
                    })
                    .collect::<Vec<_>>();
                if self.session.is_none() {
                    self.greet_silently();
                }
                let reply = render::did_you_mean(&candidates);
                self.remember_pending(&candidates);
                self.understood = Understood::AskedBack;
                self.send(reply);
                true
            }
            Decision::Miss => false,
        }
    }

    /// A first message that matched nothing: say so briefly, then the main menu.
    fn not_understood_fresh(&mut self, query: &Query) {
        if query.is_empty() || self.notice.is_some() || choice_number(query.joined()).is_some() {
            // Only particles, emoji or a number, or the content changed under the user:
            // the menu is the answer.
            return self.greet();
        }
        self.understood = Understood::No;
        self.notice = Some(render::NOT_UNDERSTOOD_FRESH.to_owned());
        self.greet();
    }

    /// Acts on a choice match; false when nothing matched.
    fn choose(&mut self, node: &Node, matched: ChoiceMatch) -> bool {
        match matched {
            ChoiceMatch::One(index) => {
                if let Some(choice) = node.choices.get(index) {
                    self.go(choice.target.clone(), true);
                }
                true
            }
            ChoiceMatch::Several(indices) => {
                let targets = indices
                    .iter()
                    .filter_map(|i| node.choices.get(*i))
                    .map(|c| {
                        (render::fill(self.set, self.session.as_ref(), &c.label), c.target.clone())
                    })
                    .collect();
                self.ask_back(targets);
                true
            }
            ChoiceMatch::None => false,
        }
    }

    fn current_node(&self) -> Option<&'s Node> {
        let session = self.session.as_ref()?;
        self.set.node(&session.dialog, &session.node)
    }

    fn current_target(&self) -> Option<Target> {
        self.session.as_ref().map(|s| Target { dialog: s.dialog.clone(), node: s.node.clone() })
    }

    /// A tapped button; `None`: one of ours that no longer parses (an old button).
    fn payload(&mut self, payload: Option<Payload>) {
        let target = match payload {
            Some(Payload::Choice { at, number }) => self
                .set
                .node(&at.dialog, &at.node)
                .and_then(|node| node.choices.get(number.checked_sub(1)?))
                .map(|choice| choice.target.clone()),
            Some(Payload::Go(at)) => self.set.node(&at.dialog, &at.node).map(|_| at),
            Some(Payload::Menu) => Some(self.set.main_start()),
            None => None,
        };
        match target {
            Some(target) => self.go(target, true),
            None => {
                self.notice = Some(NOTICE_OLD_BUTTON.to_owned());
                self.show_current_or_menu();
            }
        }
    }

    fn universal(&mut self, word: Universal) {
        match word {
            Universal::Menu => self.go(self.set.main_start(), true),
            Universal::Back => self.back(),
            Universal::Restart => {
                let start = self.session.as_ref().and_then(|s| self.set.start_of(&s.dialog));
                self.go(start.unwrap_or_else(|| self.set.main_start()), true);
            }
            Universal::Exit => {
                self.session = None;
                self.replies.push(Reply::text(GOODBYE));
            }
            Universal::Help => self.help(),
        }
    }

    fn back(&mut self) {
        let previous = self.session.as_mut().and_then(|s| s.history.pop());
        match previous {
            Some(position) => self.go(position.target(), false),
            None => {
                self.notice = Some(FIRST_STEP.to_owned());
                self.show_current_or_menu();
            }
        }
    }

    fn help(&mut self) {
        let node = self.current_node();
        let help = render::help(self.set, node);
        self.send(Reply::text(help));
    }

    /// The main menu, as a fresh conversation (follow, first contact, lost session).
    fn greet(&mut self) {
        let answers = self.session.take().map(|s| s.answers).unwrap_or_default();
        // Empty position: nothing to remember in the history when showing the menu.
        let mut fresh = Session::new(&self.set.version, "", "", UnixSecs(0));
        fresh.answers = answers;
        self.session = Some(fresh);
        self.go(self.set.main_start(), false);
    }

    fn show_current_or_menu(&mut self) {
        match self.current_target() {
            Some(target) => self.go(target, false),
            None => self.greet(),
        }
    }

    /// Starts the dialog whose keyword occurs in the text; several → ask back.
    /// `whole_input`: only when the whole text is the keyword (while a text answer is expected).
    fn trigger(&mut self, folded: &str, whole_input: bool) -> bool {
        let dialogs = self.set.triggers.matching(folded, whole_input);
        let targets: Vec<(String, Target)> = dialogs
            .iter()
            .filter_map(|d| Some((self.set.dialogs.get(*d)?.title.clone(), self.set.start_of(d)?)))
            .collect();
        match targets.as_slice() {
            [] => false,
            [(_, target)] => {
                let target = target.clone();
                self.go(target, true);
                true
            }
            _ => {
                self.ask_back(targets);
                true
            }
        }
    }

    fn greet_silently(&mut self) {
        let main = self.set.main_start();
        self.session = Some(Session::new(&self.set.version, &main.dialog, &main.node, UnixSecs(0)));
    }

    fn pending_choice(&mut self, folded: &str) -> bool {
        let Some(session) = self.session.as_mut() else { return false };
        let pending = std::mem::take(&mut session.pending);
        let chosen = choice_number(folded).and_then(|n| pending.get(n.checked_sub(1)?));
        match chosen {
            Some(position) => {
                let target = position.target();
                self.go(target, true);
                true
            }
            None => false,
        }
    }

    /// "Bạn muốn chọn mục nào?" with one button per candidate; a number answers it too.
    fn ask_back(&mut self, candidates: Vec<(String, Target)>) {
        if self.session.is_none() {
            self.greet_silently();
        }
        let reply = render::ask_back(&candidates);
        self.remember_pending(&candidates);
        self.understood = Understood::AskedBack;
        self.send(reply);
    }

    fn remember_pending(&mut self, candidates: &[(String, Target)]) {
        if let Some(session) = self.session.as_mut() {
            session.pending = candidates.iter().map(|(_, target)| Position::from(target)).collect();
        }
    }

    fn accept_answer(&mut self, node: &Node, answer: answer::Answer) {
        let Some(ask) = &node.ask else { return };
        if let (Some(name), Some(session)) = (&ask.save, self.session.as_mut()) {
            session.answers.insert(name.clone(), answer.value);
        }
        let branch = match answer.yes {
            Some(true) => ask.yes.as_ref(),
            Some(false) => ask.no.as_ref(),
            None => None,
        };
        match branch.or(ask.next.as_ref()) {
            Some(target) => self.go(target.clone(), true),
            None => self.go(self.set.main_start(), true),
        }
    }

    fn reject_answer(&mut self, node: &Node) {
        let Some(ask) = &node.ask else { return };
        let retries = match self.session.as_mut() {
            Some(session) => {
                session.retries += 1;
                session.retries
            }
            None => 1,
        };
        if retries >= ask.tries {
            let fallback = ask.fallback.clone().unwrap_or_else(|| self.set.main_start());
            self.go(fallback, true);
            return;
        }
        let retry = match &ask.retry {
            Some(retry) => render::fill(self.set, self.session.as_ref(), retry),
            None => render::default_retry(ask.kind).to_owned(),
        };
        let mut reply = Reply::text(retry);
        render::add_answer_buttons(&mut reply, ask.kind);
        self.send(reply);
    }

    fn not_understood(&mut self, node: &Node, folded: &str) {
        self.understood = Understood::No;
        let current = self.current_target();
        let typed_number = folded.bytes().all(|b| b.is_ascii_digit()).then_some(folded);
        let reply = match current {
            Some(target) => render::not_understood(
                self.set,
                self.session.as_ref(),
                &target,
                node,
                typed_number.filter(|n| !n.is_empty()),
            ),
            None => Reply::text(NOT_UNDERSTOOD),
        };
        self.send(reply);
    }

    /// Moves to `target` and shows it, following `goto` up to the message limit.
    fn go(&mut self, mut target: Target, remember: bool) {
        if self.session.is_none() {
            self.greet_silently();
        }
        let Some(session) = self.session.as_mut() else { return };
        let moves = *session.dialog != *target.dialog || *session.node != *target.node;
        if remember && !session.node.is_empty() && moves {
            let here = Position {
                dialog: session.dialog.as_str().into(),
                node: session.node.as_str().into(),
            };
            session.history.push(here);
            if session.history.len() > MAX_HISTORY {
                session.history.remove(0);
            }
        }
        session.retries = 0;
        session.pending.clear();
        // The nodes this step shows: `target`, then its `goto` chain up to the message limit.
        // Each is looked up once and kept with its node (the set does not change in a step).
        let mut chain: Vec<(Target, &'s Node)> = Vec::new();
        loop {
            let Some(node) = self.set.node(&target.dialog, &target.node) else {
                // Unreachable with a validated set; fall back rather than fail.
                self.notice = Some(NOTICE_UPDATED.to_owned());
                target = self.set.main_start();
                if self.set.node(&target.dialog, &target.node).is_none() {
                    self.send(Reply::text(NOT_UNDERSTOOD));
                    return;
                }
                chain.clear();
                continue;
            };
            let next = node.goto.clone();
            chain.push((target, node));
            match next {
                Some(next) if chain.len() < MAX_MESSAGES_PER_STEP => target = next,
                _ => break,
            }
        }
        // A fact-stating step ends with its as-of line, from the oldest `verified` date shown
        // (not on the greeting and main menu, which state no rule a citizen acts on).
        let greeting =
            chain.first().is_some_and(|(t, _)| self.set.is_main_menu(&t.dialog, &t.node));
        let as_of = chain.iter().filter_map(|(_, n)| n.verified).min().filter(|_| !greeting);
        let last = chain.len() - 1;
        for (index, (target, node)) in chain.into_iter().enumerate() {
            if let Some(session) = self.session.as_mut() {
                session.dialog.clone_from(&target.dialog);
                session.node.clone_from(&target.node);
            }
            let as_of = if index == last { as_of } else { None };
            let reply = render::node(self.set, self.session.as_ref(), &target, node, as_of);
            if let Some(action) = node.action
                && self.action.is_none()
            {
                self.action = Some((action, self.replies.len()));
            }
            self.send(reply);
            self.visited.push(target);
        }
    }

    /// Queues a message, putting any pending notice in front of its text.
    fn send(&mut self, mut reply: Reply) {
        if let Some(notice) = self.notice.take() {
            reply.text = format!("{notice}\n\n{}", reply.text);
        }
        self.replies.push(reply);
    }
}

/// Shortest typed text (folded, in characters) accepted as part of a label ("nop ho so" for
/// "Nộp hồ sơ trực tuyến"); shorter fragments such as "ve" would match too much.
const MIN_PARTIAL_CHARS: usize = 4;

/// Number, then exact (with diacritics), then without diacritics, then one typo per long word,
/// then the typed words as a part of a label.
fn match_choice(node: &Node, typed: &str, folded: &str) -> ChoiceMatch {
    if node.choices.is_empty() || folded.is_empty() {
        return ChoiceMatch::None;
    }
    if let Some(n) = choice_number(folded) {
        return match n.checked_sub(1).filter(|i| *i < node.choices.len()) {
            Some(index) => ChoiceMatch::One(index),
            None => ChoiceMatch::None,
        };
    }
    // "ko", "ừ", "dạ có" answer "Có" / "Không" buttons.
    let (yes, no) = (answer::is_yes(folded), answer::is_no(folded));
    let yes_no =
        |c: &Choice| (yes && answer::is_yes(&c.folded)) || (no && answer::is_no(&c.folded));
    if (yes || no)
        && let ChoiceMatch::One(index) = first_tier_hits(node, &[&yes_no])
    {
        return ChoiceMatch::One(index);
    }
    let exact = text::fold_case(typed);
    let partial = folded.chars().count() >= MIN_PARTIAL_CHARS;
    let tiers: [&dyn Fn(&Choice) -> bool; 4] = [
        &|c| c.exact == exact,
        &|c| c.folded == folded,
        &|c| text::phrase_matches(&c.folded, folded),
        &|c| partial && text::contains_phrase(&c.folded, folded),
    ];
    first_tier_hits(node, &tiers)
}

/// Words that may stand before a choice number: "mục 2", "số 3", "chọn 1".
const NUMBER_PREFIXES: &[&str] = &["muc", "so", "chon", "cai", "lua chon", "phan", "y", "chon muc"];

/// The number in "2", "mục 2", "chọn số 2".
fn choice_number(folded: &str) -> Option<usize> {
    if let Ok(n) = folded.parse::<usize>() {
        return Some(n);
    }
    let (before, number) = folded.rsplit_once(' ')?;
    let n = number.parse::<usize>().ok()?;
    let before = before.strip_suffix(" so").unwrap_or(before);
    NUMBER_PREFIXES.contains(&before).then_some(n)
}

/// A sentence containing a whole label ("toi muon nop ho so truc tuyen").
fn match_choice_in_sentence(node: &Node, folded: &str) -> ChoiceMatch {
    let tier = |c: &Choice| {
        c.folded.chars().count() >= MIN_PARTIAL_CHARS && text::contains_phrase(folded, &c.folded)
    };
    first_tier_hits(node, &[&tier])
}

fn first_tier_hits(node: &Node, tiers: &[&dyn Fn(&Choice) -> bool]) -> ChoiceMatch {
    for tier in tiers {
        let hits: Vec<usize> =
            node.choices.iter().enumerate().filter(|(_, c)| tier(c)).map(|(i, _)| i).collect();
        match hits.as_slice() {
            [] => continue,
            [one] => return ChoiceMatch::One(*one),
            _ => return ChoiceMatch::Several(hits),
        }
    }
    ChoiceMatch::None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::load::{LoadOptions, SourceFile, load};
    use crate::dialog::transcript;

    /// The fixture set, compiled in so the engine tests stay pure (no file reads).
    fn fixture_files() -> Vec<SourceFile> {
        let files = [
            ("menu.toml", include_str!("../../tests/fixtures/dialogs/menu.toml")),
            ("dvc.toml", include_str!("../../tests/fixtures/dialogs/dvc.toml")),
            ("khaosat.toml", include_str!("../../tests/fixtures/dialogs/khaosat.toml")),
            ("nen_tang.toml", include_str!("../../tests/fixtures/dialogs/nen_tang.toml")),
            ("cho.toml", include_str!("../../tests/fixtures/dialogs/cho.toml")),
            ("_facts.toml", include_str!("../../tests/fixtures/dialogs/_facts.toml")),
        ];
        files
            .into_iter()
            .map(|(name, contents)| SourceFile {
                path: format!("dialogs/{name}"),
                contents: contents.to_owned(),
            })
            .collect()
    }

    fn fixture_set() -> DialogSet {
        let loaded = load(&fixture_files(), &LoadOptions::default());
        let errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        loaded.set.expect("fixture set loads")
    }

    #[test]
    fn engine_transcript_table() {
        let set = fixture_set();
        let transcript = SourceFile {
            path: "tests/engine.txt".into(),
            contents: include_str!("../../tests/fixtures/dialogs/tests/engine.txt").into(),
        };
        let report = transcript::run(&set, &[transcript], &EngineOptions::default());
        let failures: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(report.scenarios >= 15);
    }

    #[test]
    fn a_failing_expectation_is_reported_with_the_reply() {
        let set = fixture_set();
        let transcript = SourceFile {
            path: "t.txt".into(),
            contents: "=== x\n> dvc\n< Không có câu này\n".into(),
        };
        let report = transcript::run(&set, &[transcript], &EngineOptions::default());
        assert_eq!(report.failed_scenarios, 1);
        let text = report.diagnostics[0].to_string();
        assert!(
            text.starts_with(
                "t.txt:3:1: lỗi: thử \"x\": sau \"> dvc\" mong có \"Không có câu này\""
            ),
            "{text}"
        );
        assert!(text.contains("| Cổng Dịch vụ công"), "{text}");
    }

    #[test]
    fn stale_node_falls_back_to_the_main_menu_with_a_notice() {
        let set = fixture_set();
        let mut stale = Session::new("old", "dvc", "buoc_da_xoa", UnixSecs(1000));
        stale.history.push(Position { dialog: "gone".into(), node: "x".into() });
        let step = step(&set, Some(stale.clone()), &Input::Text("1".into()), UnixSecs(2000));
        assert!(step.replies[0].text.starts_with(NOTICE_UPDATED), "{:?}", step.replies);
        let session = step.session.expect("session kept");
        assert_eq!((session.dialog.as_str(), session.version.as_str()), ("menu", set.version()));
    }

    #[test]
    fn a_session_on_an_old_version_continues_where_its_node_still_exists() {
        let set = fixture_set();
        let old = Session::new("old", "dvc", "gioi_thieu", UnixSecs(1000));
        let step = step(&set, Some(old.clone()), &Input::Text("1".into()), UnixSecs(2000));
        assert!(step.replies[0].text.starts_with("Bước 1/3"), "{:?}", step.replies);
    }

    /// Any text at any node gets at least one reply and no panic.
    #[test]
    fn never_silent_never_panics() {
        let set = fixture_set();
        let inputs = [
            "",
            " ",
            "#",
            "#c",
            "#c:::",
            "#c:dvc:gioi_thieu:0",
            "#c:dvc:gioi_thieu:99999999999999999999",
            "#g:dvc",
            "#u:x",
            "0",
            "-1",
            "999",
            "?",
            "🙂",
            "a\u{0300}\u{0301}\u{0302}",
            "đ",
            "{ten}",
            "quay lại",
            "thoát",
            "menu",
            "làm lại",
            "trợ giúp",
            "có",
            "không",
            "0912345678",
            "1/1/2026",
        ];
        for target in set.all_nodes() {
            let session = Session::new(set.version(), &target.dialog, &target.node, UnixSecs(0));
            for input in inputs {
                let step =
                    step(&set, Some(session.clone()), &Input::Text(input.into()), UnixSecs(10));
                assert!(!step.replies.is_empty(), "{target:?} {input:?}");
                assert!(step.replies.len() <= MAX_MESSAGES_PER_STEP, "{target:?} {input:?}");
                assert!(step.replies.iter().all(|r| !r.text.is_empty() && r.buttons.len() <= 5));
            }
        }
    }

    #[test]
    fn very_long_input_is_cut_before_matching() {
        let set = fixture_set();
        let novel = format!("{}dich vu cong", "bla ".repeat(10_000));
        let step = step(&set, None, &Input::Text(novel), UnixSecs(1));
        // The keyword sits after the cut, so this is the menu (after "not understood"), not
        // the dvc dialog.
        assert!(step.replies[0].text.contains("Xin chào!"), "{:?}", step.replies);
        assert_eq!(step.understood, Understood::No);
        let short = step_with(
            &set,
            None,
            &Input::Text("bla dich vu cong".into()),
            UnixSecs(1),
            &EngineOptions::default(),
        );
        assert!(short.replies[0].text.starts_with("Cổng Dịch vụ công"));
    }

    #[test]
    fn session_round_trips_and_reads_an_older_shape() {
        let set = fixture_set();
        let step = step(&set, None, &Input::Text("khao sat".into()), UnixSecs(5));
        let session = step.session.expect("session");
        let json = serde_json::to_string(&session).expect("serialize");
        let back: Session = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, session);
        // A minimal session as first persisted (optional fields absent) still parses.
        let minimal: Session = serde_json::from_str(
            r#"{"version":"v","dialog":"dvc","node":"buoc_1","last_active":1}"#,
        )
        .expect("minimal session");
        assert!(minimal.history.is_empty() && minimal.answers.is_empty());
    }
}
