//! Member commands of the hand-off. Recognised only with a slash (`/nhan 12`) or as the
//! exact command word with fitting arguments (`nhan 12`, `tl 12 nội dung`, `ten Nguyễn
//! Thị Lan`, `tinh hinh` alone), never as everyday words: "tôi", "hẹn 3 giờ", "tra cứu",
//! "tên tôi là Lan" stay with the dialogs. (A phone keyboard hides "/" behind a second
//! layout, so volunteers often leave it out.)

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/nhan N`: claim request N.
    Claim(u64),
    /// `/tl N text`: answer the citizen.
    Answer(u64, String),
    /// `/hen N time, place`: propose a home visit or meeting.
    Visit(u64, String),
    /// `/xong N`: close.
    Close(u64),
    /// `/tra N`: hand it back to the team.
    Return(u64),
    /// `/ten Nguyễn Văn A`: the name the member is shown by (empty: ask).
    Name(String),
    /// `/toi`: my figures.
    Me,
    /// `/tinhhinh`: the leader's overview.
    Overview,
    /// `/yeucau`: my open requests.
    List,
    /// A command word with missing or wrong arguments: the usage line to show.
    Usage(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    pub command: Command,
    /// Typed with a slash (otherwise only members' exact forms reach here).
    pub explicit: bool,
}

pub const USAGE_CLAIM: &str = "/nhan <số yêu cầu>, ví dụ: /nhan 12";
pub const USAGE_ANSWER: &str = "/tl <số yêu cầu> <nội dung>, ví dụ: /tl 12 Bác mở ứng dụng VNeID…";
pub const USAGE_VISIT: &str = "/hen <số yêu cầu> <thời gian, địa điểm>, ví dụ: /hen 12 8 giờ sáng thứ Bảy tại nhà văn hóa thôn";
pub const USAGE_CLOSE: &str = "/xong <số yêu cầu>, ví dụ: /xong 12";
pub const USAGE_RETURN: &str = "/tra <số yêu cầu>, ví dụ: /tra 12";

pub fn recognise(text: &str) -> Option<Recognised> {
    let trimmed = text.trim();
    let slash = trimmed.starts_with('/');
    let body = trimmed.trim_start_matches('/').trim_start();
    let mut parts = body.splitn(2, char::is_whitespace);
    let word = crate::vntext::unmark(parts.next()?);
    let rest = parts.next().unwrap_or("").trim();
    // "/tinh hinh", "/yeu cau" in two words.
    // "ai chưa báo cáo", "tình hình tổ": a leader asking for the overview in words.
    let unmarked_rest = crate::vntext::unmark(rest);
    let (word, rest) = match (word.as_str(), unmarked_rest.trim_end_matches(['?', '.', '!'])) {
        ("tinh", "hinh" | "hinh to" | "hinh bao cao") => ("tinhhinh".to_owned(), ""),
        ("tinhhinh", "to") => ("tinhhinh".to_owned(), ""),
        ("ai", "chua bao cao" | "chua gui bao cao" | "chua nop bao cao" | "chua lam bao cao") => {
            ("tinhhinh".to_owned(), "")
        }
        ("yeu", "cau") => ("yeucau".to_owned(), ""),
        _ => (word, rest),
    };
    let (number, after) = split_number(skip_request_words(rest));
    let command = match word.as_str() {
        "nhan" => number_only(number, after, Command::Claim, USAGE_CLAIM)?,
        "xong" => number_only(number, after, Command::Close, USAGE_CLOSE)?,
        "tra" => number_only(number, after, Command::Return, USAGE_RETURN)?,
        "tl" | "traloi" => match number {
            Some(n) if !after.is_empty() => Command::Answer(n, after.to_owned()),
            _ if slash || number.is_some() => Command::Usage(USAGE_ANSWER),
            _ => return None,
        },
        "hen" if slash => match number {
            Some(n) if !after.is_empty() => Command::Visit(n, after.to_owned()),
            _ => Command::Usage(USAGE_VISIT),
        },
        "ten" if slash || looks_like_a_name(rest) => Command::Name(rest.to_owned()),
        "toi" if slash => Command::Me,
        "tinhhinh" if slash || rest.is_empty() => Command::Overview,
        "yeucau" if slash || rest.is_empty() => Command::List,
        _ => return None,
    };
    // Without a slash only the exact forms count: "nhan 12", "tl 12 …".
    if !slash && matches!(command, Command::Usage(_)) {
        return None;
    }
    Some(Recognised { command, explicit: slash })
}

/// "Nguyễn Thị Lan", "lan": one to six words of letters, not a sentence about a name
/// ("tôi là Lan", "đăng nhập", "của con"). Compared without marks, so the list leaves out
/// words that are also surnames (Đặng, Đỗ, Hồ, Cù).
fn looks_like_a_name(rest: &str) -> bool {
    const NOT_A_NAME: &[&str] = &[
        "toi", "minh", "em", "anh", "chi", "ban", "cua", "la", "gi", "nguoi", "khai", "tren",
        "file", "mien", "day", "nay", "con", "me", "bo", "ong", "ba", "co", "khong", "duoc", "bi",
        "sai", "doi", "thay", "moi", "goi", "nhu", "ai", "nick", "zalo",
    ];
    const NOT_A_NAME_PAIR: &[&str] = &["dang nhap", "tai khoan"];
    let words: Vec<String> = rest.split_whitespace().map(crate::vntext::unmark).collect();
    let Some(first) = words.first() else { return false };
    let pair = words[..words.len().min(2)].join(" ");
    words.len() <= 6
        && words.iter().all(|w| w.chars().all(char::is_alphabetic))
        && !NOT_A_NAME.contains(&first.as_str())
        && !NOT_A_NAME_PAIR.contains(&pair.as_str())
}

/// The name alone, as a member who has none yet answers the join message's question:
/// "Nguyễn Thị Hoa", "tran van binh", "tên tôi là Lê Văn Nam". Taken only when it reads as
/// a person's full name: two to five words of letters, and either every word capitalised
/// after a common surname, or, in lower case, a surname that is no everyday word followed
/// by a usual middle name ("văn", "thị"…). So "hồ sơ khai sinh", "làm thủ tục khai sinh",
/// "Lê hội" or "mai tôi đi" are not names. The caller asks only for members without a
/// name (`handoff_runtime`).
pub fn bare_full_name(text: &str) -> Option<&str> {
    // Surnames, for a name typed with capitals ("Lâm Văn Tú", "Mai Thị Lan").
    const SURNAMES: &[&str] = &[
        "nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang", "bui", "do",
        "ho", "ngo", "duong", "ly", "dinh", "truong", "lam", "mai", "trinh", "cao", "luong", "luu",
        "ha", "ta", "quach", "doan", "vuong", "kieu", "thai", "tang", "chu", "chau", "la", "lai",
        "giang", "hua", "tong", "nghiem", "dao", "diep", "han", "kim", "ma", "mac", "ninh",
        "phung", "thach", "to", "trieu", "tu", "vi", "cu", "khuat", "ung", "nong", "lo", "be",
        "quan", "luc", "sung", "giap", "au", "dam", "khuc",
    ];
    // Surnames that are no everyday word when typed without marks or capitals ("lam",
    // "mai", "do", "dang" are "làm", "mai", "đó", "đang"): only these start a lower-case
    // name, and then only with a usual middle name after them.
    const PLAIN_SURNAMES: &[&str] = &[
        "nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "bui", "ngo",
        "duong", "ly", "trinh", "luong", "luu", "quach", "doan", "vuong", "kieu", "nghiem",
        "phung", "thach", "trieu", "khuat", "nong", "giap", "sung", "khuc",
    ];
    const MIDDLE: &[&str] = &[
        "van", "thi", "duc", "huu", "ngoc", "minh", "quang", "xuan", "thanh", "kim", "hong", "thu",
        "cong", "dinh", "trong", "quoc", "gia", "anh", "tuan", "hai", "thuy", "my", "bao", "khac",
        "manh", "viet", "nhu", "phuong", "hoai", "tan", "trung", "nhat", "dieu", "mai", "cam",
        "dang", "hoang", "tuong", "vinh",
    ];
    const PREFIXES: &[&str] = &[
        "ten toi la",
        "ten em la",
        "ten minh la",
        "ten chau la",
        "toi ten la",
        "em ten la",
        "minh ten la",
        "toi ten",
        "em ten",
        "minh ten",
        "ten la",
        "ten cua toi la",
    ];
    let text = text.trim().trim_end_matches(['.', '!']).trim_end();
    let folded = crate::vntext::unmark(text);
    let mut name = text;
    for prefix in PREFIXES {
        if let Some(rest) = folded.strip_prefix(prefix)
            && rest.starts_with(' ')
        {
            // The prefix's words are plain letters: skip as many words of the original.
            let skip = prefix.split(' ').count();
            name = word_start(text, skip).map_or("", |at| text[at..].trim());
            break;
        }
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    let unmarked: Vec<String> = words.iter().map(|w| crate::vntext::unmark(w)).collect();
    let capitalised = words.iter().all(|w| w.starts_with(char::is_uppercase));
    let fits = (2..=5).contains(&words.len())
        && words.iter().all(|w| w.chars().all(char::is_alphabetic))
        && if capitalised {
            SURNAMES.contains(&unmarked[0].as_str())
        } else {
            PLAIN_SURNAMES.contains(&unmarked[0].as_str()) && MIDDLE.contains(&unmarked[1].as_str())
        };
    fits.then_some(name)
}

/// Byte offset where word `n` (0-based) of `text` starts.
fn word_start(text: &str, n: usize) -> Option<usize> {
    let mut count = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_word = false;
        } else if !in_word {
            if count == n {
                return Some(i);
            }
            count += 1;
            in_word = true;
        }
    }
    None
}

fn number_only(
    number: Option<u64>,
    after: &str,
    make: fn(u64) -> Command,
    usage: &'static str,
) -> Option<Command> {
    Some(match number {
        Some(n) if after.is_empty() => make(n),
        _ => Command::Usage(usage),
    })
}

/// "yêu cầu số 12 …" → "12 …": volunteers name the request as the notice does.
fn skip_request_words(rest: &str) -> &str {
    let mut rest = rest.trim_start();
    loop {
        let (word, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if !matches!(crate::vntext::unmark(word).as_str(), "yeu" | "cau" | "yc" | "so") {
            return rest;
        }
        rest = after.trim_start();
    }
}

/// "12 nội dung" → (12, "nội dung"); "#12" is accepted too.
fn split_number(rest: &str) -> (Option<u64>, &str) {
    let rest = rest.trim_start_matches('#');
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    if end == 0 {
        return (None, rest);
    }
    let after = &rest[end..];
    if !after.is_empty() && !after.starts_with(char::is_whitespace) && !after.starts_with(':') {
        return (None, rest);
    }
    (rest[..end].parse().ok(), after.trim_start_matches(':').trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_alone_is_a_full_name_and_nothing_else() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Nguyễn Thị Hoa", Some("Nguyễn Thị Hoa")),
            ("tran van binh", Some("tran van binh")),
            ("Lê Nam", Some("Lê Nam")),
            ("Đặng Hữu Phúc.", Some("Đặng Hữu Phúc")),
            ("tên tôi là Lê Văn Nam", Some("Lê Văn Nam")),
            ("Tên em là Phạm Thu Trang", Some("Phạm Thu Trang")),
            ("em tên Võ Thị Sáu", Some("Võ Thị Sáu")),
            ("Nông Văn Dền", Some("Nông Văn Dền")),
            ("Lò Thị Xuân", Some("Lò Thị Xuân")),
            ("lo thi xuan", None),
            ("làm thủ tục khai sinh", None),
            ("lam the can cuoc", None),
            ("đang thu tiền điện", None),
            ("đóng tiền điện", None),
            ("mai văn phòng có mở không", None),
            ("Lâm Văn Tú", Some("Lâm Văn Tú")),
            ("hồ sơ khai sinh", None),
            ("ho so khai sinh", None),
            ("Lê hội làng", None),
            ("mai toi di", None),
            ("do la gi", None),
            ("Nguyễn", None),
            ("Nguyễn Văn A ơi cho hỏi cách cài VNeID", None),
            ("gui bao cao", None),
            ("Nguyễn Thị 5", None),
            ("tên tôi là", None),
            ("ten toi la gi", None),
        ];
        for (text, want) in cases {
            assert_eq!(bare_full_name(text), *want, "text {text:?}");
        }
    }

    #[test]
    fn recognition_table() {
        let cmd = |c| Some(Recognised { command: c, explicit: true });
        let plain = |c| Some(Recognised { command: c, explicit: false });
        let cases: Vec<(&str, Option<Recognised>)> = vec![
            ("/nhan 12", cmd(Command::Claim(12))),
            ("/nhận #12", cmd(Command::Claim(12))),
            ("nhan 12", plain(Command::Claim(12))),
            ("Nhận 12", plain(Command::Claim(12))),
            ("nhan 12 roi nhe", None),
            ("nhận được rồi", None),
            ("/nhan", cmd(Command::Usage(USAGE_CLAIM))),
            ("/tl 12 Bác mở ứng dụng", cmd(Command::Answer(12, "Bác mở ứng dụng".into()))),
            ("tl 12: Dạ vâng", plain(Command::Answer(12, "Dạ vâng".into()))),
            ("tl em ơi", None),
            ("/tl 12", cmd(Command::Usage(USAGE_ANSWER))),
            ("/hen 12 8 giờ thứ Bảy", cmd(Command::Visit(12, "8 giờ thứ Bảy".into()))),
            ("hẹn 3 giờ chiều", None),
            ("hen 3 gio chieu", None),
            ("/xong 12", cmd(Command::Close(12))),
            ("xong 12", plain(Command::Close(12))),
            ("xong roi", None),
            ("/tra 12", cmd(Command::Return(12))),
            ("tra cuu", None),
            ("tra 12", plain(Command::Return(12))),
            ("/ten Nguyễn Văn A", cmd(Command::Name("Nguyễn Văn A".into()))),
            ("ten toi la Lan", None),
            ("ten Nguyen Thi Lan", plain(Command::Name("Nguyen Thi Lan".into()))),
            ("Tên Nguyễn Thị Lan", plain(Command::Name("Nguyễn Thị Lan".into()))),
            ("ten lan", plain(Command::Name("lan".into()))),
            ("ten dang nhap la gi", None),
            ("tên của con ghi sai", None),
            ("ten", None),
            ("ten 123", None),
            ("ten Đặng Văn Hùng", plain(Command::Name("Đặng Văn Hùng".into()))),
            ("ten do thi mai", plain(Command::Name("do thi mai".into()))),
            ("/toi", cmd(Command::Me)),
            ("tôi", None),
            ("/tinhhinh", cmd(Command::Overview)),
            ("/tình hình", cmd(Command::Overview)),
            ("tinh hinh the nao", None),
            ("tình hình", plain(Command::Overview)),
            ("tinhhinh", plain(Command::Overview)),
            ("ai chưa báo cáo?", plain(Command::Overview)),
            ("nhận yêu cầu 12", plain(Command::Claim(12))),
            ("xong yêu cầu số 12", plain(Command::Close(12))),
            ("/nhan yc 12", cmd(Command::Claim(12))),
            ("tl yêu cầu 12 Bác mở VNeID", plain(Command::Answer(12, "Bác mở VNeID".into()))),
            ("nhận yêu cầu", None),
            ("Ai chưa nộp báo cáo", plain(Command::Overview)),
            ("tình hình tổ", plain(Command::Overview)),
            ("ai chưa báo cáo lừa đảo", None),
            ("tình hình lừa đảo", None),
            ("/yeucau", cmd(Command::List)),
            ("yêu cầu", plain(Command::List)),
            ("yeu cau ho tro", None),
            ("/nhan 12abc", cmd(Command::Usage(USAGE_CLAIM))),
        ];
        for (text, want) in cases {
            assert_eq!(recognise(text), want, "{text}");
        }
    }
}
