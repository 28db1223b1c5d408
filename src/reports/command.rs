//! Recognises the reports commands in a chat message.
//!
//! Commands are matched on folded words, so `/dangky`, `/dang ky` and `/Đăng ký` are one
//! command. Commands never hijack conversation: a message is a command when it starts with
//! `/`, or when it is exactly a command word followed by arguments that fit it
//! (`đăng ký AB12CD` with an invite-code-shaped word; `bc 12 5 3`). Such slash-less forms are
//! *explicit* only for `đăng ký CODE`; the bare `báo cáo`, `bc`, `xem`, `mẫu` are ours only for
//! registered members. Destructive commands (`/roi`, `/huy`) need the slash and then a
//! confirmation (`/roi xacnhan`, sent by a button); "rồi", "hủy", "mới" are everyday words.

use super::model::Role;
use super::text::fold;
use crate::calendar::UnixSecs;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/dangky CODE`
    Join { code: Option<String> },
    /// `/baocao`, `/bc` with no values (starts the guided form) or with a one-line report.
    /// `args` is the raw text after the command word(s).
    Report { args: String },
    /// `/mau`: the one-line template.
    Template,
    /// `/xem`, `/xem T12`: `args` names a period (empty: the current one).
    View { args: String },
    /// `/huy`: withdraw the last submission (after `/huy xacnhan`).
    Withdraw { confirmed: bool },
    /// `/moi`, `/moi tổ viên` (member) or `/moi tổ trưởng` (leader): create an invite
    /// (leaders only).
    Invite { role: Role },
    /// `/roi`: leave the team (after `/roi xacnhan`).
    Leave { confirmed: bool },
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

/// The argument a confirmation button sends after `/roi` or `/huy`.
pub const CONFIRM_ARG: &str = "xacnhan";
/// Length of invite codes (see `reports_runtime::chat::new_invite_code`).
/// Length of a member or leader invite code.
pub const INVITE_CODE_LEN: usize = 8;
/// Length of a unit-admin invite code (a stronger role, a longer code).
pub const ADMIN_INVITE_CODE_LEN: usize = 12;

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
        ("huy", _) if slash => (1, CommandName::Withdraw),
        ("moi", _) if slash => (1, CommandName::Invite),
        ("roi", Some("to")) if slash => (2, CommandName::Leave),
        ("roi", _) if slash => (1, CommandName::Leave),
        ("huongdan" | "help" | "trogiup", _) if slash => (1, CommandName::Help),
        ("huong", Some("dan")) if slash => (2, CommandName::Help),
        ("quantri", _) if slash => (1, CommandName::ConsoleLink),
        ("quan", Some("tri")) if slash => (2, CommandName::ConsoleLink),
        ("tonghop", _) if slash => (1, CommandName::Summary),
        ("tong", Some("hop")) if slash => (2, CommandName::Summary),
        ("xuat", _) if slash => (1, CommandName::ExportLink),
        _ if !slash => return report_request(&words),
        _ => return None,
    };
    let rest_words = &raw_words[command_words.min(raw_words.len())..];
    let rest_folded = words[command_words.min(words.len())..].join(" ");
    let args = rest_words.join(" ");
    let command = match command {
        CommandName::Join => {
            // "đăng ký VNeID" is a citizen's question; only a code-shaped word is a code.
            if !slash && !matches!(rest_words, [code] if is_invite_code(code)) {
                return None;
            }
            Command::Join { code: rest_words.first().map(|c| c.to_uppercase()) }
        }
        CommandName::Report => {
            // Slash-less "báo cáo …" is ours only when what follows looks like a report
            // or names the period ("báo cáo tháng này"); "báo cáo lừa đảo" is a citizen
            // asking about scams.
            if !slash && !rest_words.is_empty() && !looks_like_report_args(rest_words) {
                return report_request(&words);
            }
            Command::Report { args }
        }
        CommandName::Template => Command::Template,
        CommandName::View => Command::View { args: args.clone() },
        CommandName::Withdraw => Command::Withdraw { confirmed: rest_folded == CONFIRM_ARG },
        CommandName::Invite => {
            let leader = matches!(
                rest_folded.as_str(),
                "totruong" | "to truong" | "truong" | "leader" | "truong to"
            );
            Command::Invite { role: if leader { Role::Leader } else { Role::Member } }
        }
        CommandName::Leave => Command::Leave { confirmed: rest_folded == CONFIRM_ARG },
        CommandName::Help => Command::Help,
        CommandName::ConsoleLink => Command::ConsoleLink,
        CommandName::Summary => {
            Command::Summary { period: rest_words.first().map(|w| (*w).to_owned()) }
        }
        CommandName::ExportLink => Command::ExportLink,
    };
    // A bare slash-less word followed by anything ("xem giúp tôi…", "mẫu đơn") is not ours.
    if !slash
        && !rest_words.is_empty()
        && matches!(command, Command::Template | Command::View { .. })
    {
        return report_request(&words);
    }
    let explicit = slash || matches!(command, Command::Join { .. });
    Some(Recognised { command, explicit })
}

/// Shaped like an invite code: 8 (or 12) letters or digits, at least one digit (codes are
/// generated with one), so a word such as "KHAISINH" is not a code.
fn is_invite_code(word: &str) -> bool {
    matches!(word.chars().count(), INVITE_CODE_LEN | ADMIN_INVITE_CODE_LEN)
        && word.chars().all(|c| c.is_ascii_alphanumeric())
        && word.chars().any(|c| c.is_ascii_digit())
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

/// A member asking for the report form in words, as volunteers write it: "gửi báo cáo",
/// "em nộp báo cáo tháng này ạ", "làm báo cáo tháng 10" (or to see it: "xem báo cáo tháng
/// 10"). The words around "báo cáo" may only be a pronoun, a verb of sending and a
/// courtesy word; what follows may only name the period. So "báo cáo lừa đảo", "gửi báo
/// cáo cho công an" stay with the dialogs. Not explicit: only a registered member's
/// message is taken (see `recognise`).
fn report_request(words: &[String]) -> Option<Recognised> {
    const BEFORE: &[&str] = &[
        "toi", "em", "minh", "tui", "to", "xin", "muon", "can", "se", "gui", "nop", "lam", "viet",
        "dien", "cho", "de", "bat", "dau",
    ];
    const AFTER: &[&str] = &["a", "ah", "ak", "nhe", "nha", "voi", "di", "nao", "ha"];
    let start = words.iter().position(|w| !BEFORE.contains(&w.as_str()))?;
    let mut end = words.len();
    while end > start && AFTER.contains(&words[end - 1].as_str()) {
        end -= 1;
    }
    let core: Vec<&str> = words[start..end].iter().map(String::as_str).collect();
    // "xem báo cáo (tháng này)" is `/xem`, "mẫu báo cáo" `/mau`; for unit admins
    // "tổng hợp (báo cáo)" is `/tonghop`, "xuất báo cáo" `/xuat`.
    let named = match core.as_slice() {
        _ if start > 0 => None,
        ["mau", "bao", "cao"] | ["mau", "baocao"] => Some(Command::Template),
        ["tong", "hop"] | ["tonghop"] | ["tong", "hop", "bao", "cao"] => {
            Some(Command::Summary { period: None })
        }
        // "tổng hợp tháng 10" is `/tonghop T10`.
        ["tong", "hop", "thang", month] | ["tonghop", "thang", month] => {
            month_token(month).map(|period| Command::Summary { period: Some(period) })
        }
        ["xuat", "bao", "cao"] | ["xuat", "baocao"] => Some(Command::ExportLink),
        _ => None,
    };
    if let Some(command) = named {
        return Some(Recognised { command, explicit: false });
    }
    let (view, period) = match core.as_slice() {
        ["bao", "cao", rest @ ..] | ["baocao", rest @ ..] => (false, rest),
        ["xem", "bao", "cao", rest @ ..] | ["xem", "baocao", rest @ ..] if start == 0 => {
            (true, rest)
        }
        _ => return None,
    };
    let args = match period {
        [] | ["thang" | "ky" | "tuan", "nay"] | ["ket", "qua"] | ["dinh", "ky"] => String::new(),
        ["ket", "qua", "thang" | "tuan", "nay"] => String::new(),
        ["thang", month] | ["ket", "qua", "thang", month] => month_token(month)?,
        _ => return None,
    };
    let command = if view { Command::View { args } } else { Command::Report { args } };
    Some(Recognised { command, explicit: false })
}

/// "10" or "10/2026" after "tháng" as a period token ("T10", "T10/2026").
fn month_token(month: &str) -> Option<String> {
    let number = month.split('/').next().unwrap_or("");
    matches!(number.parse::<u32>(), Ok(1..=12)).then(|| format!("T{month}"))
}

fn looks_like_report_args(words: &[&str]) -> bool {
    words.first().is_some_and(|w| {
        let w = fold(w);
        w.starts_with(|c: char| c.is_ascii_digit())
            || w.contains('=')
            || super::period::parse_period_token(&w, super::period::PeriodKind::Month, UnixSecs(0))
                .is_some()
            || super::period::parse_period_token(&w, super::period::PeriodKind::Week, UnixSecs(0))
                .is_some()
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
            ("/dangky AB12CDEF", Some((join("AB12CDEF"), true))),
            ("dang ky ab12cdef", Some((join("AB12CDEF"), true))),
            ("Đăng ký  ab12cdef ", Some((join("AB12CDEF"), true))),
            ("dang ky ab12cdefgh34", Some((join("AB12CDEFGH34"), true))),
            ("dang ky ab12cd", None),
            ("đăng ký", None),
            ("đăng ký VNeID", None),
            ("dang ky tam tru", None),
            ("đăng ký abcdefgh", None),
            ("dang ky khaisinh", None),
            ("/đăng ký VNeID", Some((join("VNEID"), true))),
            ("/dangky", Some((Command::Join { code: None }, true))),
            ("/baocao", Some((report(""), true))),
            ("bao cao", Some((report(""), false))),
            ("Báo cáo", Some((report(""), false))),
            ("bc", Some((report(""), false))),
            ("/bc 12 5 3", Some((report("12 5 3"), true))),
            ("bc hd=12  vneid=5", Some((report("hd=12 vneid=5"), false))),
            ("bc T10 1 2", Some((report("T10 1 2"), false))),
            ("báo cáo lừa đảo", None),
            ("gui bao cao", Some((report(""), false))),
            ("Em gửi báo cáo tháng này ạ", Some((report(""), false))),
            ("nộp báo cáo", Some((report(""), false))),
            ("toi muon lam bao cao", Some((report(""), false))),
            ("báo cáo kết quả tháng này", Some((report(""), false))),
            ("bao cao thang 10", Some((report("T10"), false))),
            ("gửi báo cáo tháng 10/2026", Some((report("T10/2026"), false))),
            ("bao cao thang 13", None),
            ("gửi báo cáo lừa đảo", None),
            ("gửi báo cáo cho công an", None),
            ("tôi muốn báo cáo một vụ lừa đảo", None),
            ("làm sao báo cáo tin nhắn rác", None),
            ("toi muon", None),
            ("xem báo cáo", Some((Command::View { args: String::new() }, false))),
            ("xem bao cao thang 10", Some((Command::View { args: "T10".into() }, false))),
            ("xem báo cáo lừa đảo", None),
            ("toi xem bao cao", None),
            ("mẫu báo cáo", Some((Command::Template, false))),
            ("mẫu báo cáo lừa đảo", None),
            ("tổng hợp", Some((Command::Summary { period: None }, false))),
            ("Tổng hợp báo cáo", Some((Command::Summary { period: None }, false))),
            ("xuất báo cáo", Some((Command::ExportLink, false))),
            ("tổng hợp các chiêu lừa đảo", None),
            ("tổng hợp tháng 10", Some((Command::Summary { period: Some("T10".into()) }, false))),
            ("tong hop thang 13", None),
            ("/báo cáo lừa đảo", Some((report("lừa đảo"), true))),
            ("/mau", Some((Command::Template, true))),
            ("mẫu", Some((Command::Template, false))),
            ("/xem", Some((Command::View { args: String::new() }, true))),
            ("/xem T12", Some((Command::View { args: "T12".into() }, true))),
            ("xem giúp tôi với", None),
            ("mẫu đơn", None),
            ("/huy", Some((Command::Withdraw { confirmed: false }, true))),
            ("/huy xacnhan", Some((Command::Withdraw { confirmed: true }, true))),
            ("Hủy", None),
            ("thôi", None),
            ("/moi", Some((Command::Invite { role: Role::Member }, true))),
            ("/moi totruong", Some((Command::Invite { role: Role::Leader }, true))),
            ("/mời tổ trưởng", Some((Command::Invite { role: Role::Leader }, true))),
            ("/mời tổ viên", Some((Command::Invite { role: Role::Member }, true))),
            ("/moi thành viên", Some((Command::Invite { role: Role::Member }, true))),
            ("mới", None),
            ("/roi", Some((Command::Leave { confirmed: false }, true))),
            ("/rời tổ", Some((Command::Leave { confirmed: false }, true))),
            ("/roi xacnhan", Some((Command::Leave { confirmed: true }, true))),
            ("rồi", None),
            ("rời tổ", None),
            ("/huongdan", Some((Command::Help, true))),
            ("/hướng dẫn", Some((Command::Help, true))),
            ("huong dan", None),
            ("/quantri", Some((Command::ConsoleLink, true))),
            ("/quản trị", Some((Command::ConsoleLink, true))),
            ("quantri", None),
            ("/tonghop", Some((Command::Summary { period: None }, true))),
            ("/tổng hợp T11", Some((Command::Summary { period: Some("T11".into()) }, true))),
            ("tong hop", Some((Command::Summary { period: None }, false))),
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
