//! Vietnamese texts the reports feature sends. All user-facing wording lives here.

use super::definition::{Definitions, Indicator, IndicatorKind, ReportType};
use super::model::{ReportVersion, Role};
use super::oneline::{FieldError, Values, positional};
use super::period::{Period, PeriodError, format_local_date, format_local_datetime};
use crate::calendar::UnixSecs;
use crate::reply::{Button, Reply};

pub fn help(defs: &Definitions) -> Reply {
    let mut text = String::from(
        "📋 Báo cáo của Tổ Công nghệ số cộng đồng\n\
         • /baocao — báo cáo theo từng câu hỏi\n\
         • /bc 12 5 3 … — báo cáo nhanh trên một dòng (xem /mau)\n\
         • /bc T10 … — báo cáo cho kỳ khác (tháng 10)\n\
         • /mau — xem mẫu báo cáo một dòng\n\
         • /xem — xem báo cáo hiện tại của tổ\n\
         • /huy — rút lại báo cáo vừa gửi\n\
         • /moi — (tổ trưởng) tạo mã mời thành viên; /moi totruong — mã mời tổ trưởng\n\
         • /roi — rời tổ\n\
         • /dangky MÃ — tham gia tổ bằng mã mời",
    );
    if defs.reports.len() > 1 {
        text.push_str("\nLoại báo cáo: ");
        let kinds: Vec<String> =
            defs.reports.iter().map(|r| format!("{} ({})", r.name, r.key)).collect();
        text.push_str(&kinds.join(", "));
        text.push_str(". Ví dụ: /bc tuan …");
    }
    Reply::text(text)
}

pub fn not_a_member() -> Reply {
    Reply::text(
        "Bạn chưa là thành viên của Tổ Công nghệ số cộng đồng nào nên chưa gửi báo cáo được.\n\
         Để tham gia, xin tổ trưởng hoặc cán bộ xã một mã mời rồi gửi: /dangky MÃ (ví dụ: /dangky K7M2Q9XA).",
    )
}

pub fn join_needs_code() -> Reply {
    Reply::text(
        "Vui lòng gửi kèm mã mời, ví dụ: /dangky K7M2Q9XA. Mã mời do tổ trưởng hoặc cán bộ xã cấp.",
    )
}

pub fn invite_paused() -> Reply {
    Reply::text(
        "Bạn đã nhập sai mã mời quá nhiều lần. Vui lòng thử lại sau 1 giờ hoặc xin tổ trưởng, cán bộ xã kiểm tra lại mã.",
    )
}

pub fn invite_invalid(code: &str) -> Reply {
    let code = super::text::preview(code);
    Reply::text(format!(
        "Mã mời «{code}» không đúng, đã dùng hoặc đã hết hạn. Vui lòng xin tổ trưởng hoặc cán bộ xã mã mới."
    ))
}

/// Asks a member for the name leaders (and citizens they help) see them by. Also used by
/// the hand-off.
/// A member with no name may answer with the full name alone (`handoff::command::
/// bare_full_name`); `/ten` works always.
pub const ASK_NAME: &str = "Bạn muốn người dân và tổ trưởng thấy bạn với tên nào? Gõ họ và tên của bạn, ví dụ: Nguyễn Văn A (hoặc /ten Nguyễn Văn A).";

/// The join confirmation; `ask_name` when the member has no display name yet (asked
/// once, here, right after joining).
pub fn joined(
    role: Role,
    team_name: &str,
    unit_path: &str,
    moved_from: Option<&str>,
    ask_name: bool,
) -> Reply {
    let mut text =
        format!("✅ Bạn đã tham gia «{team_name}» ({unit_path}) với vai trò {}.", role.label());
    if let Some(old) = moved_from {
        text.push_str(&format!("\nBạn đã chuyển khỏi «{old}»."));
    }
    text.push_str("\nGõ /baocao để báo cáo, /huongdan để xem các lệnh.");
    if ask_name {
        text.push_str("\n\n");
        text.push_str(ASK_NAME);
    }
    Reply::text(text)
}

pub fn joined_admin(unit_path: &str) -> Reply {
    Reply::text(format!(
        "✅ Bạn đã được ghi nhận là cán bộ quản lý của {unit_path}. Bạn sẽ nhận bản tổng hợp tình hình báo cáo theo kỳ."
    ))
}

pub fn left(team_name: &str) -> Reply {
    Reply::text(format!("Bạn đã rời «{team_name}». Các báo cáo đã gửi vẫn được giữ lại."))
}

/// "Leave the team?" with a confirming button (the slash command alone does nothing yet).
pub fn confirm_leave(team_name: &str) -> Reply {
    with_confirm_button(
        format!("Bạn chắc chắn muốn rời «{team_name}»? Bấm \"Rời tổ\" để xác nhận."),
        "Rời tổ",
        "/roi",
    )
}

/// "Withdraw your last report?" with a confirming button.
pub fn confirm_withdraw() -> Reply {
    with_confirm_button(
        "Bạn muốn rút lại báo cáo vừa gửi? Bấm \"Rút lại\" để xác nhận.".to_owned(),
        "Rút lại",
        "/huy",
    )
}

/// A question with a button that sends `<command> xacnhan`, and one that goes back to the menu.
fn with_confirm_button(text: String, yes: &str, command: &str) -> Reply {
    let mut reply = Reply::text(text);
    reply.buttons.push(Button::Query {
        title: yes.to_owned(),
        payload: format!("{command} {}", super::command::CONFIRM_ARG),
    });
    reply
        .buttons
        .push(Button::Query {
            title: "Không, giữ nguyên".to_owned(), payload: "menu".to_owned()
        });
    reply
}

pub fn leaders_only() -> Reply {
    Reply::text("Chỉ tổ trưởng mới tạo được mã mời. Vui lòng liên hệ tổ trưởng hoặc cán bộ xã.")
}

pub fn invite_created(code: &str, role: Role, team_name: &str, expires_at: UnixSecs) -> Reply {
    Reply::text(format!(
        "Mã mời {} vào «{team_name}»: {code}\nNgười được mời gửi: /dangky {code}\nMã dùng được một lần, hết hạn ngày {}.",
        role.label(),
        format_local_date(expires_at)
    ))
}

/// The one-line template for `report`.
pub fn template(report: &ReportType) -> Reply {
    let order: Vec<&Indicator> = positional(report).collect();
    let keys: Vec<&str> = order.iter().map(|i| i.key()).collect();
    // The example stops after the required values, as a quick report would.
    let example: Vec<&str> =
        order.iter().filter(|i| i.required).map(|i| i.example.as_str()).collect();
    let mut text =
        format!("Mẫu {} (gõ đúng thứ tự):\n/bc {}\n", report.name.to_lowercase(), keys.join(" "));
    for (n, indicator) in order.iter().enumerate() {
        let mark =
            if indicator.required { "" } else { " (không bắt buộc, gõ - để bỏ qua)" };
        text.push_str(&format!("{}. {} = {}{mark}\n", n + 1, indicator.key(), indicator.short));
    }
    let texts: Vec<&Indicator> =
        report.indicators.iter().filter(|i| i.kind == IndicatorKind::Text).collect();
    if !texts.is_empty() {
        let list: Vec<String> =
            texts.iter().map(|i| format!("{}=… ({})", i.key(), i.short)).collect();
        text.push_str(&format!("Ghi chữ thì thêm ở cuối: {}\n", list.join(", ")));
    }
    text.push_str(&format!("Ví dụ: /bc {}\n", example.join(" ")));
    if let Some(first) = order.first() {
        text.push_str(&format!("Hoặc theo mã: /bc {}={} …\n", first.key(), first.example));
    }
    text.push_str("Kỳ khác: /bc T10 … Số có thể ghi 1.200 hoặc 1,200.");
    Reply::text(text)
}

/// One short error (the first problem, naming the position and the field), without the
/// template: "❌ Chưa lưu: Số thứ 11 (…): «x» không phải là Có/Không".
pub fn field_errors(_report: &ReportType, errors: &[FieldError]) -> Vec<Reply> {
    let Some(first) = errors.first() else {
        return vec![Reply::text("❌ Chưa lưu báo cáo.")];
    };
    let mut text = match &first.field {
        Some(field) => format!("❌ Chưa lưu báo cáo: {field}: {}.", first.problem),
        None => format!("❌ Chưa lưu báo cáo: {}.", first.problem),
    };
    if errors.len() > 1 {
        text.push_str(&format!(" (Còn {} lỗi khác.)", errors.len() - 1));
    }
    text.push_str("\nSửa rồi gửi lại cả dòng (/mau xem mẫu), hoặc gõ /baocao để trả lời từng câu.");
    vec![Reply::text(text)]
}

pub fn period_error(error: &PeriodError) -> Reply {
    Reply::text(format!("❌ Chưa lưu báo cáo: {error}."))
}

/// The values with Vietnamese labels, numbered in definition order. `all` also lists
/// unanswered ones (the form's confirmation, where "Sửa" refers to the numbers).
pub fn echo_lines(report: &ReportType, values: &Values, all: bool) -> String {
    let mut text = String::new();
    for (n, indicator) in report.indicators.iter().enumerate() {
        if !all && !values.contains_key(&indicator.code) {
            continue;
        }
        let value = values.get(&indicator.code).map_or_else(|| "—".to_owned(), |v| v.display());
        let unit = match (&indicator.unit, values.get(&indicator.code)) {
            (Some(unit), Some(_)) if indicator.kind == IndicatorKind::Int => format!(" {unit}"),
            _ => String::new(),
        };
        text.push_str(&format!("{}. {}: {value}{unit}\n", n + 1, indicator.label));
    }
    text
}

/// "Báo cáo tháng 10/2026": the report name and the period without saying "tháng" twice.
pub fn title(report: &ReportType, period: Period) -> String {
    let kind = period.kind.label();
    let name = report.name.trim();
    match name.strip_suffix(kind) {
        Some(stem) if stem.ends_with(' ') => format!("{stem}{}", period.label()),
        _ => format!("{name} {}", period.label()),
    }
}

/// `title` for use inside a sentence ("Đã lưu báo cáo tháng 10/2026").
pub fn title_lower(report: &ReportType, period: Period) -> String {
    let title = title(report, period);
    let mut chars = title.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

pub fn confirm(report: &ReportType, period: Period, values: &Values) -> Reply {
    let text = format!(
        "Kiểm tra {}:\n{}Bấm «Gửi» để gửi, «Sửa» để sửa một câu, «Hủy» để bỏ.",
        title_lower(report, period),
        echo_lines(report, values, true)
    );
    Reply::text(text).with_query("Gửi", "gửi").with_query("Sửa", "sửa").with_query("Hủy", "hủy")
}

pub fn submitted(
    report: &ReportType,
    period: Period,
    stored: &ReportVersion,
    replaced: bool,
    withdraw_minutes: i64,
) -> Reply {
    let mut text =
        format!("✅ Đã lưu {} (lần gửi thứ {}).", title_lower(report, period), stored.version);
    if replaced {
        text.push_str(" Báo cáo này thay thế bản gửi trước của tổ.");
    }
    if !stored.on_time {
        text.push_str(" Báo cáo được ghi nhận là nộp muộn.");
    }
    text.push_str(&format!("\n{}", echo_lines(report, &stored.values, false)));
    text.push_str(&format!("Gõ /xem để xem lại, /huy trong {withdraw_minutes} phút để rút lại."));
    Reply::text(text)
}

pub fn duplicate_submission(period: Period, version: u32) -> Reply {
    Reply::text(format!(
        "Báo cáo {} này đã được lưu trước đó (lần gửi thứ {version}); không lưu thêm bản mới.",
        period.label()
    ))
}

pub fn view(
    report: &ReportType,
    period: Period,
    current: &ReportVersion,
    team_name: &str,
) -> Reply {
    Reply::text(format!(
        "📄 {} của «{team_name}» (lần gửi thứ {}, {}, lúc {}):\n{}",
        title(report, period),
        current.version,
        if current.on_time { "đúng hạn" } else { "nộp muộn" },
        format_local_datetime(current.submitted_at),
        echo_lines(report, &current.values, false)
    ))
}

pub fn nothing_to_view(period: Period) -> Reply {
    Reply::text(format!("Tổ chưa có báo cáo {}. Gõ /baocao để báo cáo.", period.label()))
}

pub fn withdrawn(period: Period, restored: Option<u32>) -> Reply {
    let tail = match restored {
        Some(v) => format!(" Bản gửi trước (lần thứ {v}) được dùng lại."),
        None => " Tổ hiện chưa có báo cáo cho kỳ này.".to_owned(),
    };
    Reply::text(format!("↩️ Đã rút lại báo cáo {} bạn vừa gửi.{tail}", period.label()))
}

pub fn nothing_to_withdraw(withdraw_minutes: i64) -> Reply {
    Reply::text(format!(
        "Không có báo cáo nào bạn gửi trong {withdraw_minutes} phút qua để rút lại. Muốn sửa, hãy gửi lại báo cáo: bản mới sẽ thay bản cũ."
    ))
}

pub fn form_cancelled() -> Reply {
    Reply::text("Đã hủy, chưa có gì được lưu. Gõ /baocao khi muốn báo cáo lại.")
}

pub fn form_abandoned() -> Reply {
    Reply::text("(Biểu mẫu báo cáo đang dở đã được bỏ, chưa có gì được lưu.)")
}

pub fn form_expired() -> Reply {
    Reply::text("Biểu mẫu báo cáo trước đã quá hạn nên được bỏ, chưa có gì được lưu.")
}

pub fn form_gave_up() -> Reply {
    Reply::text(
        "Đã dừng biểu mẫu sau 3 lần nhập chưa hợp lệ; chưa có gì được lưu. Gõ /baocao để làm lại, hoặc /mau để xem cách báo cáo một dòng.",
    )
}

/// "Xã Tân Lập › Thôn Đông" style unit path, given names from the top down.
pub fn unit_path(names: &[String]) -> String {
    names.join(" › ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::oneline::tests::defs;

    #[test]
    fn titles_do_not_repeat_the_period_word() {
        let d = defs();
        let month = Period::from_key("2026-10").unwrap();
        let week = Period::from_key("2026-W45").unwrap();
        assert_eq!(title(d.get(None).unwrap(), month), "Báo cáo tháng 10/2026");
        assert_eq!(title(d.get(Some("tuan")).unwrap(), week), "Báo cáo tuần 45/2026 (02/11–08/11)");
        assert_eq!(title_lower(d.get(None).unwrap(), month), "báo cáo tháng 10/2026");
    }
}
