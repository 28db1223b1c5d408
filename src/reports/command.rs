//! Recognises the reports commands in a chat message.
//!
//! Commands are matched on folded words, so `/dangky`, `dang ky` and `Đăng ký` are one
//! command. A message is *explicit* when it starts with `/` (or is `đăng ký CODE`): such
//! messages are ours even from strangers. Slash-less words like `xem` or `hủy` are ours
//! only for registered members; for everyone else they belong to the citizen dialogs.

use super::model::Role;
use super::text::fold;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/dangky CODE`
    Join { code: Option<String> },
    /// `/baocao`, `/bc` with no values (starts the guided form) or with a one-line report.
    /// `args` is the raw text after the command word(s).
    Report { args: String },
    /// `/mau`: the one-line template.
    Template,
    /// `/xem`: the team's current report.
    /// `/xem`, `/xem T12`: `args` names a period (empty: the current one).
    View { args: String },
    /// `/huy`: withdraw the last submission.
    Withdraw,
    /// `/moi` (member) or `/moi totruong` (leader): create an invite (leaders only).
    Invite { role: Role },
    /// `/roi`: leave the team.
    Leave,
    /// `/huongdan`: what the commands are.
    Help,
    /// `/quantri` (slash only): a one-time sign-in link to the web console (unit admins).
    ConsoleLink,
    /// `/tonghop [T11]` (slash only): X of Y teams reported, the missing ones (unit admins).
    Summary { period: Option<String> },
    /// `/xuat` (slash only): a one-time download link of the unit's reports (unit admins).
    ExportLink,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    pub command: Command,
    pub explicit: bool,
}

/// The command in `text`, if any.
pub fn recognise(text: &str) -> Option<Recognised> {
    let trimmed = text.trim();
    let slash = trimmed.starts_with('/');
    let body = trimmed.trim_start_matches('/').trim_start();
    let raw_words: Vec<&str> = body.split_whitespace().collect();
    let words: Vec<String> = raw_words.iter().map(|w| fold(w)).collect();
    let first = words.first()?.as_str();
    let second = words.get(1).map(String::as_str);
    // How many words the command name takes ("dang ky" is two).
    let (command_words, command) = match (first, second) {
        ("dangky", _) => (1, CommandName::Join),
        ("dang", Some("ky")) => (2, CommandName::Join),
        ("baocao" | "bc", _) => (1, CommandName::Report),
        ("bao", Some("cao")) => (2, CommandName::Report),
        ("mau", _) => (1, CommandName::Template),
        ("xem", _) => (1, CommandName::View),
        ("huy", _) => (1, CommandName::Withdraw),
        ("moi", _) => (1, CommandName::Invite),
        ("roi", Some("to")) => (2, CommandName::Leave),
        ("roi", _) => (1, CommandName::Leave),
        ("huongdan" | "help" | "trogiup", _) if slash => (1, CommandName::Help),
        ("huong", Some("dan")) if slash => (2, CommandName::Help),
        ("quantri", _) if slash => (1, CommandName::ConsoleLink),
        ("quan", Some("tri")) if slash => (2, CommandName::ConsoleLink),
        ("tonghop", _) if slash => (1, CommandName::Summary),
        ("tong", Some("hop")) if slash => (2, CommandName::Summary),
        ("xuat", _) if slash => (1, CommandName::ExportLink),
        _ => return None,
    };
    let rest_words = &raw_words[command_words.min(raw_words.len())..];
    let args = rest_words.join(" ");
    let explicit = slash || (command == CommandName::Join && !rest_words.is_empty());
    let command = match command {
        CommandName::Join => Command::Join { code: rest_words.first().map(|c| c.to_uppercase()) },
        CommandName::Report => {
            // Slash-less "báo cáo …" is ours only when what follows looks like a report;
            // "báo cáo lừa đảo" is a citizen asking about scams.
            if !slash && !rest_words.is_empty() && !looks_like_report_args(rest_words) {
                return None;
            }
            Command::Report { args }
        }
        CommandName::Template => Command::Template,
        CommandName::View => Command::View { args: args.clone() },
        CommandName::Withdraw => Command::Withdraw,
        CommandName::Invite => {
            let leader = words[command_words.min(words.len())..]
                .iter()
                .any(|w| matches!(w.as_str(), "totruong" | "truong" | "leader" | "to"));
            Command::Invite { role: if leader { Role::Leader } else { Role::Member } }
        }
        CommandName::Leave => Command::Leave,
        CommandName::Help => Command::Help,
        CommandName::ConsoleLink => Command::ConsoleLink,
        CommandName::Summary => {
            Command::Summary { period: rest_words.first().map(|w| (*w).to_owned()) }
        }
        CommandName::ExportLink => Command::ExportLink,
    };
    // A bare slash-less word followed by chatter ("xem giúp tôi…") is not a command.
    if !slash
        && rest_words.len() > 1
        && matches!(
            command,
            Command::Template | Command::View { .. } | Command::Withdraw | Command::Leave
        )
    {
        return None;
    }
    Some(Recognised { command, explicit })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommandName {
    Join,
    Report,
    Template,
    View,
    Withdraw,
    Invite,
    Leave,
    Help,
    ConsoleLink,
    Summary,
    ExportLink,
}

fn looks_like_report_args(words: &[&str]) -> bool {
    words.first().is_some_and(|w| {
        let w = fold(w);
        w.starts_with(|c: char| c.is_ascii_digit())
            || w.contains('=')
            || super::period::parse_period_token(&w, super::period::PeriodKind::Month, 0).is_some()
            || super::period::parse_period_token(&w, super::period::PeriodKind::Week, 0).is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(text: &str) -> Option<(Command, bool)> {
        recognise(text).map(|r| (r.command, r.explicit))
    }

    #[test]
    fn recognises_commands_in_all_spellings() {
        let join = |c: &str| Command::Join { code: Some(c.to_owned()) };
        let report = |a: &str| Command::Report { args: a.to_owned() };
        let cases: &[(&str, Option<(Command, bool)>)] = &[
            ("/dangky AB12CD", Some((join("AB12CD"), true))),
            ("dang ky ab12cd", Some((join("AB12CD"), true))),
            ("Đăng ký  ab12cd ", Some((join("AB12CD"), true))),
            ("đăng ký", Some((Command::Join { code: None }, false))),
            ("/dangky", Some((Command::Join { code: None }, true))),
            ("/baocao", Some((report(""), true))),
            ("bao cao", Some((report(""), false))),
            ("Báo cáo", Some((report(""), false))),
            ("bc", Some((report(""), false))),
            ("/bc 12 5 3", Some((report("12 5 3"), true))),
            ("bc hd=12  vneid=5", Some((report("hd=12 vneid=5"), false))),
            ("bc T10 1 2", Some((report("T10 1 2"), false))),
            ("báo cáo lừa đảo", None),
            ("/báo cáo lừa đảo", Some((report("lừa đảo"), true))),
            ("/mau", Some((Command::Template, true))),
            ("mẫu", Some((Command::Template, false))),
            ("/xem", Some((Command::View { args: String::new() }, true))),
            ("/xem T12", Some((Command::View { args: "T12".into() }, true))),
            ("xem giúp tôi với", None),
            ("/huy", Some((Command::Withdraw, true))),
            ("Hủy", Some((Command::Withdraw, false))),
            ("/moi", Some((Command::Invite { role: Role::Member }, true))),
            ("/moi totruong", Some((Command::Invite { role: Role::Leader }, true))),
            ("/mời tổ trưởng", Some((Command::Invite { role: Role::Leader }, true))),
            ("/roi", Some((Command::Leave, true))),
            ("rời tổ", Some((Command::Leave, false))),
            ("/huongdan", Some((Command::Help, true))),
            ("/hướng dẫn", Some((Command::Help, true))),
            ("huong dan", None),
            ("/quantri", Some((Command::ConsoleLink, true))),
            ("/quản trị", Some((Command::ConsoleLink, true))),
            ("quantri", None),
            ("/tonghop", Some((Command::Summary { period: None }, true))),
            ("/tổng hợp T11", Some((Command::Summary { period: Some("T11".into()) }, true))),
            ("tong hop", None),
            ("/xuat", Some((Command::ExportLink, true))),
            ("xuất", None),
            ("xin chào", None),
            ("", None),
            ("/", None),
        ];
        for (text, want) in cases {
            assert_eq!(&cmd(text), want, "text {text:?}");
        }
    }
}
