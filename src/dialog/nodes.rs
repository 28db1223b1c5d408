//! Compiling one dialog's raw nodes into checked [`Node`]s (part of `load`).

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use toml::Spanned;

use super::diagnostic::{Code, did_you_mean};
use super::facts::{FactMeta, check_fact_meta, verified_date};
use super::format::{RawAsk, RawDialog, RawNode};
use super::load::{LoadOptions, MAX_BUTTONS, NodeIndex, Sink, check_text};
use super::model::{Action, Ask, AskKind, Choice, Dialog, FastMap, Node, StaleFact, Target};
use super::text;

/// Zalo's limit for a button title.
pub const MAX_LABEL_CHARS: usize = 100;
/// Longer button titles are cut on small screens.
pub const LONG_LABEL_CHARS: usize = 40;
/// Default number of tries for an ask before its fallback.
pub const DEFAULT_TRIES: u32 = 3;

pub(crate) struct NodeCompiler<'s, 'a> {
    pub(crate) sink: &'s mut Sink<'a>,
    pub(crate) index: &'s NodeIndex,
    /// Fact names and saved-answer names: what `{placeholders}` may use.
    pub(crate) known_names: &'s BTreeSet<String>,
    pub(crate) options: &'s LoadOptions,
    pub(crate) stale_facts: &'s mut Vec<StaleFact>,
}

impl NodeCompiler<'_, '_> {
    pub(crate) fn dialog(&mut self, file: usize, id: &str, raw: &RawDialog) -> Dialog {
        self.user_text(file, &raw.title, "title");
        if raw.title.get_ref().trim().is_empty() {
            self.sink.error(
                file,
                raw.title.span(),
                Code::BadValue,
                "title không được để trống".into(),
            );
        }
        let start = match &raw.start {
            Some(start) if raw.nodes.contains_key(start.get_ref().as_str()) => {
                start.get_ref().clone()
            }
            Some(start) => {
                let suggestion =
                    text::suggest(start.get_ref(), raw.nodes.keys().map(|k| k.get_ref().as_str()));
                self.sink.error(
                    file,
                    start.span(),
                    Code::MissingStart,
                    format!(
                        "start: bước \"{}\" không tồn tại{}",
                        start.get_ref(),
                        did_you_mean(suggestion)
                    ),
                );
                String::new()
            }
            None => {
                self.sink.error(
                    file,
                    0..0,
                    Code::MissingStart,
                    "thiếu khóa bắt buộc \"start\" (bước đầu tiên)".into(),
                );
                String::new()
            }
        };
        let steps = self.sequences(file, raw);
        let mut nodes = FastMap::with_capacity_and_hasher(raw.nodes.len(), Default::default());
        for (node_id, node) in &raw.nodes {
            let compiled =
                self.node(file, id, node_id, node, steps.get(node_id.get_ref()).copied());
            nodes.insert(node_id.get_ref().clone(), compiled);
        }
        Dialog {
            id: id.to_owned(),
            title: raw.title.get_ref().clone(),
            start,
            nodes,
            urgent: raw.urgent,
        }
    }

    /// Node id → (i, n) for nodes listed in `[sequences]`.
    fn sequences(&mut self, file: usize, raw: &RawDialog) -> HashMap<String, (usize, usize)> {
        let mut steps: HashMap<String, (usize, usize)> = HashMap::new();
        for (name, members) in &raw.sequences {
            for (position, member) in members.iter().enumerate() {
                if !raw.nodes.contains_key(member.get_ref().as_str()) {
                    let suggestion = text::suggest(
                        member.get_ref(),
                        raw.nodes.keys().map(|k| k.get_ref().as_str()),
                    );
                    self.sink.error(
                        file,
                        member.span(),
                        Code::DanglingJump,
                        format!(
                            "chuỗi bước \"{}\": bước \"{}\" không tồn tại{}",
                            name.get_ref(),
                            member.get_ref(),
                            did_you_mean(suggestion)
                        ),
                    );
                } else if steps
                    .insert(member.get_ref().clone(), (position + 1, members.len()))
                    .is_some()
                {
                    self.sink.error(
                        file,
                        member.span(),
                        Code::Conflict,
                        format!(
                            "bước \"{}\" nằm trong nhiều chuỗi bước (hoặc lặp lại)",
                            member.get_ref()
                        ),
                    );
                }
            }
        }
        steps
    }

    fn node(
        &mut self,
        file: usize,
        dialog: &str,
        id: &Spanned<String>,
        raw: &RawNode,
        step: Option<(usize, usize)>,
    ) -> Node {
        let name = id.get_ref();
        let span = id.span();
        let what = format!("bước \"{name}\"");
        if !text::is_id(name) {
            self.sink.error(
                file,
                span.clone(),
                Code::BadId,
                format!("{what}: tên bước chỉ dùng chữ thường không dấu a-z, số 0-9 và \"_\""),
            );
        }
        match &raw.say {
            Some(say) => self.user_text(file, say, &what),
            None if raw.image.is_none() => self.sink.error(
                file,
                span.clone(),
                Code::BadValue,
                format!("{what}: thiếu nội dung say (lời nhắn gửi người dùng)"),
            ),
            None => {}
        }
        if let Some(image) = &raw.image
            && !image.get_ref().starts_with("https://")
        {
            self.sink.error(
                file,
                image.span(),
                Code::BadValue,
                format!("{what}: image phải là địa chỉ https://"),
            );
        }
        let buttons = raw.choices.len() + raw.links.len() + raw.calls.len();
        if buttons > MAX_BUTTONS {
            self.sink.error(
                file,
                span.clone(),
                Code::TooManyButtons,
                format!("{what}: có {buttons} nút (choices + links + calls), Zalo chỉ hiện tối đa {MAX_BUTTONS}"),
            );
        }
        let choices = self.choices(file, dialog, &what, raw);
        let links = raw
            .links
            .iter()
            .map(|link| {
                self.label(file, &link.label, &what);
                self.user_text(file, &link.url, &what);
                let url = link.url.get_ref();
                if url.starts_with("http://") {
                    self.sink.warning(
                        file,
                        link.url.span(),
                        Code::BadValue,
                        format!("{what}: nên dùng https:// (Zalo có thể không mở trang http://)"),
                    );
                } else if !url.starts_with('{') && !url.starts_with("https://") {
                    self.sink.error(
                        file,
                        link.url.span(),
                        Code::BadValue,
                        format!("{what}: url phải bắt đầu bằng https://"),
                    );
                }
                (link.label.get_ref().clone(), url.clone())
            })
            .collect();
        let calls = raw
            .calls
            .iter()
            .map(|call| {
                self.label(file, &call.label, &what);
                self.user_text(file, &call.phone, &what);
                let phone = call.phone.get_ref();
                let looks_like_phone =
                    phone.chars().all(|c| c.is_ascii_digit() || " +.-".contains(c))
                        && phone.chars().any(|c| c.is_ascii_digit());
                if !phone.starts_with('{') && !looks_like_phone {
                    self.sink.error(
                        file,
                        call.phone.span(),
                        Code::BadValue,
                        format!("{what}: phone phải là số điện thoại"),
                    );
                }
                (call.label.get_ref().clone(), phone.clone())
            })
            .collect();
        let action = raw.action.as_ref().and_then(|action| {
            let parsed = Action::parse(action.get_ref());
            if parsed.is_none() {
                let known: Vec<&str> = Action::NAMES.iter().map(|(n, _)| *n).collect();
                self.sink.error(
                    file,
                    action.span(),
                    Code::BadValue,
                    format!(
                        "{what}: action \"{}\" không có; chỉ dùng: {}",
                        action.get_ref(),
                        known.join(", ")
                    ),
                );
            }
            parsed
        });
        let goto = raw.goto.as_ref().and_then(|goto| self.jump(file, dialog, &what, "goto", goto));
        let ask = raw.ask.as_ref().and_then(|ask| self.ask(file, dialog, &what, ask));
        self.conflicts(file, &span, &what, raw);
        let meta = FactMeta {
            source: &raw.source,
            verified: &raw.verified,
            review_days: &raw.review_days,
        };
        if let Some(stale) = check_fact_meta(
            self.sink,
            file,
            &span,
            &meta,
            self.options,
            &format!("{dialog}:{name}"),
        ) {
            self.stale_facts.push(stale);
        }
        Node {
            say: raw.say.as_ref().map(|s| s.get_ref().trim_end().to_owned()).unwrap_or_default(),
            image: raw.image.as_ref().map(|i| i.get_ref().clone()),
            choices,
            links,
            calls,
            goto,
            end: raw.end,
            ask,
            step,
            verified: verified_date(&raw.verified),
            auto_back: false,
            examples: raw.examples.iter().map(|e| e.get_ref().trim().to_owned()).collect(),
            keywords: raw.keywords.iter().map(|k| k.get_ref().trim().to_owned()).collect(),
            action,
        }
    }

    fn choices(&mut self, file: usize, dialog: &str, what: &str, raw: &RawNode) -> Vec<Choice> {
        let mut choices: Vec<Choice> = Vec::new();
        for choice in &raw.choices {
            self.label(file, &choice.label, what);
            let label = choice.label.get_ref();
            let folded = text::fold(label);
            if folded.is_empty() {
                self.sink.error(
                    file,
                    choice.label.span(),
                    Code::BadValue,
                    format!("{what}: nhãn lựa chọn trống"),
                );
            } else if let Some(same) = choices.iter().find(|c| c.folded == folded) {
                self.sink.warning(
                    file,
                    choice.label.span(),
                    Code::AmbiguousChoices,
                    format!(
                        "{what}: \"{label}\" và \"{}\" giống nhau khi gõ không dấu; người dùng gõ chữ sẽ được hỏi lại",
                        same.label
                    ),
                );
            }
            let Some(target) = self.jump(file, dialog, what, "lựa chọn", &choice.goto) else {
                continue;
            };
            choices.push(Choice {
                label: label.clone(),
                target,
                exact: text::fold_case(label),
                folded,
            });
        }
        choices
    }

    fn ask(&mut self, file: usize, dialog: &str, what: &str, raw: &RawAsk) -> Option<Ask> {
        let kind = match raw.kind.get_ref().as_str() {
            "number" => AskKind::Number {
                min: raw.min.as_ref().map(|m| *m.get_ref()),
                max: raw.max.as_ref().map(|m| *m.get_ref()),
            },
            "text" => AskKind::Text,
            "yesno" => AskKind::YesNo,
            "phone" => AskKind::Phone,
            "date" => AskKind::Date,
            other => {
                let kinds = ["number", "text", "yesno", "phone", "date"];
                let suggestion = text::suggest(other, kinds);
                self.sink.error(
                    file,
                    raw.kind.span(),
                    Code::BadValue,
                    format!(
                        "{what}: ask.kind \"{other}\" không hợp lệ, dùng number, text, yesno, phone hoặc date{}",
                        did_you_mean(suggestion)
                    ),
                );
                return None;
            }
        };
        if let Some(save) = &raw.save
            && !text::is_id(save.get_ref())
        {
            self.sink.error(
                file,
                save.span(),
                Code::BadId,
                format!("{what}: ask.save chỉ dùng a-z, 0-9 và \"_\""),
            );
        }
        if let Some(retry) = &raw.retry {
            self.user_text(file, retry, what);
        }
        let is_yesno = kind == AskKind::YesNo;
        for branch in [&raw.yes, &raw.no].into_iter().flatten().filter(|_| !is_yesno) {
            self.sink.error(
                file,
                branch.span(),
                Code::BadValue,
                format!("{what}: ask.yes/ask.no chỉ dùng với kind = \"yesno\""),
            );
        }
        let is_number = matches!(kind, AskKind::Number { .. });
        for bound in [&raw.min, &raw.max].into_iter().flatten().filter(|_| !is_number) {
            self.sink.error(
                file,
                bound.span(),
                Code::BadValue,
                format!("{what}: ask.min/ask.max chỉ dùng với kind = \"number\""),
            );
        }
        if let (Some(min), Some(max)) = (&raw.min, &raw.max)
            && min.get_ref() > max.get_ref()
        {
            self.sink.error(
                file,
                min.span(),
                Code::BadValue,
                format!("{what}: ask.min lớn hơn ask.max"),
            );
        }
        let tries = match &raw.tries {
            Some(tries) => match u32::try_from(*tries.get_ref()) {
                Ok(n @ 1..=10) => n,
                _ => {
                    self.sink.error(
                        file,
                        tries.span(),
                        Code::BadValue,
                        format!("{what}: ask.tries phải từ 1 đến 10"),
                    );
                    DEFAULT_TRIES
                }
            },
            None => DEFAULT_TRIES,
        };
        let mut resolve = |key: &str, jump: &Option<Spanned<String>>| {
            jump.as_ref().and_then(|jump| self.jump(file, dialog, what, key, jump))
        };
        let ask = Ask {
            kind,
            save: raw.save.as_ref().map(|s| s.get_ref().clone()),
            next: resolve("ask.next", &raw.next),
            yes: resolve("ask.yes", &raw.yes),
            no: resolve("ask.no", &raw.no),
            retry: raw.retry.as_ref().map(|r| r.get_ref().clone()),
            tries,
            fallback: resolve("ask.fallback", &raw.fallback),
        };
        let has_way_on = raw.next.is_some() || (is_yesno && raw.yes.is_some() && raw.no.is_some());
        if !has_way_on {
            let needed =
                if is_yesno { "ask.next (hoặc cả ask.yes và ask.no)" } else { "ask.next" };
            self.sink.error(
                file,
                raw.kind.span(),
                Code::NoWayForward,
                format!("{what}: câu hỏi thiếu {needed} (bước sau khi trả lời)"),
            );
        }
        Some(ask)
    }

    /// A node must have exactly one kind of way forward (choices may go with links/calls/end).
    fn conflicts(&mut self, file: usize, span: &Range<usize>, what: &str, raw: &RawNode) {
        let has_choices = !raw.choices.is_empty();
        let has_ask = raw.ask.is_some();
        let has_goto = raw.goto.is_some();
        let problem = if has_ask && has_choices {
            Some("vừa có ask vừa có choices; hãy tách thành hai bước")
        } else if has_goto && (has_ask || has_choices) {
            Some("goto (tự chuyển tiếp) không dùng cùng ask hoặc choices")
        } else if raw.end && (has_ask || has_goto) {
            Some("end = true không dùng cùng ask hoặc goto")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.sink.error(file, span.clone(), Code::Conflict, format!("{what}: {problem}"));
        }
        if !(has_choices || has_ask || has_goto || raw.end) {
            self.sink.error(
                file,
                span.clone(),
                Code::NoWayForward,
                format!("{what}: không có đường đi tiếp; thêm choices, ask, goto hoặc end = true"),
            );
        }
    }

    fn jump(
        &mut self,
        file: usize,
        dialog: &str,
        what: &str,
        key: &str,
        jump: &Spanned<String>,
    ) -> Option<Target> {
        match self.index.resolve(dialog, jump.get_ref()) {
            Ok(target) => Some(target),
            Err(_) if self.index.targets_unparsed(jump.get_ref()) => None,
            Err(problem) => {
                self.sink.error(
                    file,
                    jump.span(),
                    Code::DanglingJump,
                    format!("{what}: {key} tới {problem}"),
                );
                None
            }
        }
    }

    /// A button title: like any text, and short enough for a phone screen (Zalo cuts at 100).
    fn label(&mut self, file: usize, value: &Spanned<String>, what: &str) {
        self.user_text(file, value, what);
        let chars = value.get_ref().chars().count();
        if chars > MAX_LABEL_CHARS {
            self.sink.error(
                file,
                value.span(),
                Code::TextTooLong,
                format!(
                    "{what}: nhãn nút dài {chars} ký tự, Zalo chỉ cho tối đa {MAX_LABEL_CHARS}"
                ),
            );
        } else if chars > LONG_LABEL_CHARS {
            self.sink.warning(
                file,
                value.span(),
                Code::TextLong,
                format!("{what}: nhãn nút dài {chars} ký tự, trên điện thoại nên giữ dưới {LONG_LABEL_CHARS}"),
            );
        }
    }

    /// NFC/length checks plus placeholders that name no fact and no saved answer.
    fn user_text(&mut self, file: usize, value: &Spanned<String>, what: &str) {
        check_text(self.sink, file, value, what);
        for name in text::placeholders(value.get_ref()) {
            if !self.known_names.contains(name) {
                let suggestion = text::suggest(name, self.known_names.iter().map(String::as_str));
                self.sink.error(
                    file,
                    value.span(),
                    Code::UnknownPlaceholder,
                    format!(
                        "{what}: {{{name}}} không phải dữ kiện trong _facts.toml hay câu trả lời đã lưu (ask.save){}",
                        did_you_mean(suggestion)
                    ),
                );
            }
        }
    }
}
