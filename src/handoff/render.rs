//! Everything the hand-off says, in Vietnamese (NFC). Members see the question and the
//! village, never the citizen's Zalo id or phone.

use super::model::Level;
use super::payload::Payload;
use crate::reply::Reply;

/// "2 giờ", "45 phút", "1 giờ 30 phút".
pub fn duration(secs: i64) -> String {
    let minutes = (secs.max(0) + 59) / 60;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} phút"),
        (h, 0) => format!("{h} giờ"),
        (h, m) => format!("{h} giờ {m} phút"),
    }
}

// ----- citizen side ------------------------------------------------------------

pub fn ask_place() -> Reply {
    Reply::text(
        "Để nối bạn với Tổ ở gần bạn nhất, bạn cho mình biết bạn ở thôn, tổ dân phố nào (hoặc xã, phường nào)? Ví dụ: \"thôn Phú An, xã Phú Vinh\". Gõ có dấu hay không dấu đều được.\nGõ \"menu\" để quay về trợ lý.",
    )
}

pub fn place_not_found(typed: &str) -> Reply {
    let shown: String = typed.chars().take(60).collect();
    Reply::text(format!(
        "Mình chưa tìm thấy nơi nào tên «{shown}» trong danh sách thôn, tổ dân phố đã có Tổ. Bạn gõ lại tên thôn, tổ dân phố hoặc xã, phường nhé (ví dụ: \"Phú An\"). Gõ \"menu\" để quay về trợ lý."
    ))
}

/// The citizen answered "where do you live" with their request: it is kept, the place
/// asked again.
pub fn place_after_question(question: &str) -> Reply {
    let shown = clip(question, 120);
    Reply::text(format!(
        "Mình đã ghi lại việc bạn cần: «{shown}».\nBạn ở thôn, tổ dân phố nào (hoặc xã, phường nào)? Ví dụ: \"Phú An\". Gõ \"menu\" để quay về trợ lý."
    ))
}

/// Several places matched: one button per place.
pub fn choose_place(options: &[(String, String)]) -> Reply {
    let mut text = String::from("Có vài nơi trùng tên. Bạn ở nơi nào?");
    for (i, (_, label)) in options.iter().enumerate() {
        text.push_str(&format!("\n{}. {label}", i + 1));
    }
    text.push_str("\nBạn bấm nút hoặc gõ số.");
    let mut reply = Reply::text(text);
    for (code, label) in options.iter().take(crate::reply::MAX_BUTTONS) {
        let title: String = label.chars().take(40).collect();
        reply = reply.with_query(title, Payload::Place(code.to_string()).to_string());
    }
    reply
}

pub fn ask_question(place: &str) -> Reply {
    Reply::text(format!(
        "Nơi ở của bạn: {place}.\nBạn cần giúp việc gì? Bạn nhắn ngắn gọn trong một tin (không cần gửi mật khẩu, mã OTP hay số tài khoản)."
    ))
    .with_query("Đổi nơi ở", Payload::ChangePlace.to_string())
    .with_query("Về menu", "menu")
}

/// Told right after the request was made: what happens next and by when.
pub fn request_created(id: u64, team_place: &str, eta: &str, nobody: bool) -> Reply {
    let next = if nobody {
        "Hiện chưa có thành viên Tổ nào nhận tin qua Zalo ở nơi bạn ở. Mình đã chuyển yêu cầu tới cán bộ phụ trách của xã, phường; khi có người nhận, họ sẽ trả lời bạn ngay tại đây.".to_owned()
    } else {
        format!("Một thành viên Tổ CNSCĐ {team_place} sẽ trả lời bạn ngay tại đây, {eta}.")
    };
    Reply::text(format!(
        "Đã ghi nhận yêu cầu #{id}.\n{next}\nBạn có thể nhắn thêm thông tin vào đây. Gõ \"hủy yêu cầu\" để hủy, \"menu\" để quay về trợ lý."
    ))
    .with_query("Hủy yêu cầu", Payload::Cancel(id).to_string())
    .with_query("Về menu", "menu")
}

/// "thường trong vòng 2 giờ" or "từ 7 giờ sáng mai".
pub fn eta(in_office: bool, escalate_after_secs: i64, hour_start: u32) -> String {
    if in_office {
        format!("thường trong vòng {}", duration(escalate_after_secs))
    } else {
        format!("từ {hour_start} giờ sáng (ngoài giờ làm việc, Tổ sẽ trả lời khi bắt đầu ngày mới)")
    }
}

pub fn already_open(id: u64) -> Reply {
    Reply::text(format!(
        "Bạn đang có yêu cầu #{id} chờ Tổ trả lời. Bạn cứ nhắn thêm vào đây; gõ \"hủy yêu cầu\" để hủy, \"menu\" để quay về trợ lý."
    ))
    .with_query("Hủy yêu cầu", Payload::Cancel(id).to_string())
}

pub fn added(id: u64) -> Reply {
    Reply::text(format!("Đã thêm vào yêu cầu #{id}. Tổ sẽ thấy khi nhận yêu cầu."))
}

pub fn cancelled(id: u64) -> Reply {
    Reply::text(format!("Đã hủy yêu cầu #{id}. Khi cần, bạn gõ \"gặp tổ\" để gửi yêu cầu mới."))
        .with_query("Về menu", "menu")
}

pub fn back_to_bot(id: u64) -> String {
    format!(
        "Yêu cầu #{id} vẫn mở: khi Tổ trả lời, tin nhắn sẽ đến đây. Bấm \"Nhắn Tổ\" dưới tin của Tổ để nhắn tiếp."
    )
}

pub fn claimed_for_citizen(id: u64, team_place: &str, name: Option<&str>) -> Reply {
    let who = match name {
        Some(n) => format!("Thành viên {n} của Tổ CNSCĐ {team_place}"),
        None => format!("Một thành viên Tổ CNSCĐ {team_place}"),
    };
    Reply::text(format!("{who} đã nhận yêu cầu #{id} và sẽ trả lời bạn ngay tại đây."))
}

/// A member's answer as the citizen sees it.
pub fn relayed_to_citizen(
    id: u64,
    team_place: &str,
    name: Option<&str>,
    text: &str,
    visit: bool,
) -> Reply {
    let from = match name {
        Some(n) => format!("Tổ CNSCĐ {team_place} — {n}"),
        None => format!("Tổ CNSCĐ {team_place}"),
    };
    let body = if visit { format!("📅 Đề nghị gặp: {text}") } else { text.to_owned() };
    Reply::text(format!("{from}: {body}")).with_query("Nhắn Tổ", Payload::Continue(id).to_string())
}

pub fn rate(id: u64) -> Reply {
    Reply::text(format!("Tổ đã đánh dấu yêu cầu #{id} là xong. Bạn thấy sự hỗ trợ thế nào?"))
        .with_query("Hài lòng", Payload::Rate { id, satisfied: true }.to_string())
        .with_query("Chưa hài lòng", Payload::Rate { id, satisfied: false }.to_string())
}

pub fn ask_comment() -> Reply {
    Reply::text("Cảm ơn bạn! Bạn muốn góp ý thêm cho Tổ không? Gõ góp ý của bạn, hoặc bấm Bỏ qua.")
        .with_query("Bỏ qua", Payload::Skip.to_string())
}

pub fn thanks() -> Reply {
    Reply::text("Cảm ơn bạn đã đánh giá. Khi cần, bạn gõ \"gặp tổ\" để nhờ Tổ giúp tiếp.")
        .with_query("Về menu", "menu")
}

pub fn returned_for_citizen(id: u64) -> Reply {
    Reply::text(format!(
        "Yêu cầu #{id} được chuyển lại cho cả Tổ; một thành viên khác sẽ trả lời bạn tại đây."
    ))
}

pub fn citizen_escalated(id: u64, level: Level) -> Reply {
    Reply::text(match level {
        Level::Commune | Level::Team => format!(
            "Tổ ở thôn của bạn chưa nhận được yêu cầu #{id}, nên mình đã chuyển tới các Tổ CNSCĐ khác trong xã, phường. Bạn sẽ được trả lời ngay tại đây."
        ),
        Level::Admin => format!(
            "Yêu cầu #{id} chưa có ai nhận, mình đã báo cán bộ phụ trách của xã, phường. Bạn sẽ được trả lời ngay tại đây."
        ),
    })
}

// ----- team side ---------------------------------------------------------------

/// 🙋 Yêu cầu #N — Thôn …: «question», with a Nhận button.
pub fn new_request(id: u64, place: &str, question: &str, passed_on: bool) -> Reply {
    let note = if passed_on {
        "\n(Tổ của thôn chưa nhận, nên chuyển tới Tổ của bạn.)"
    } else {
        ""
    };
    Reply::text(format!(
        "🙋 Yêu cầu #{id} — {place}: «{}»{note}\nBấm Nhận hoặc gõ /nhan {id} để nhận.",
        clip(question, 600)
    ))
    .with_query("Nhận", format!("/nhan {id}"))
}

pub fn claimed_by_you(id: u64, question: &str, lines: &[String], first_time: bool) -> Reply {
    let mut text = format!("Bạn đã nhận yêu cầu #{id}: «{}»", clip(question, 600));
    for line in lines {
        text.push_str(&format!("\n+ «{}»", clip(line, 300)));
    }
    text.push_str(&format!(
        "\nTrả lời: /tl {id} <nội dung> · Hẹn gặp: /hen {id} <thời gian, địa điểm> · Xong: /xong {id} · Trả lại Tổ: /tra {id}"
    ));
    if first_time {
        text.push_str("\nNgười dân thấy tin của bạn dưới tên Tổ (và tên bạn đặt bằng /ten), không thấy Zalo cá nhân của bạn.");
    }
    Reply::text(text)
}

pub fn claimed_by_other(id: u64, name: &str) -> Reply {
    Reply::text(format!("Yêu cầu #{id} đã được {name} nhận."))
}

pub fn not_yours(id: u64) -> Reply {
    Reply::text(format!(
        "Bạn không giữ yêu cầu #{id}. Gõ /nhan {id} nếu yêu cầu còn chờ người nhận."
    ))
}

pub fn unknown_request(id: u64) -> Reply {
    Reply::text(format!("Không có yêu cầu #{id} trong phạm vi Tổ của bạn."))
}

pub fn not_live(id: u64, closed: bool) -> Reply {
    Reply::text(if closed {
        format!("Yêu cầu #{id} đã xong.")
    } else {
        format!("Yêu cầu #{id} đã được người dân hủy.")
    })
}

pub fn sent(id: u64) -> Reply {
    Reply::text(format!("✓ Đã chuyển tới người dân (#{id})."))
}

pub fn window_closed(id: u64) -> Reply {
    Reply::text(format!(
        "Người dân của #{id} đã im lặng quá 7 ngày: Zalo không cho OA nhắn nữa. Bạn có thể /xong {id}."
    ))
}

/// A citizen's message relayed to the claimer; `warned`: the bot also sent the citizen
/// a scam warning for it.
pub fn from_citizen(id: u64, text: &str, warned: bool) -> Reply {
    let note = if warned {
        "\n⚠️ Tin này có dấu hiệu lừa đảo đang xảy ra; trợ lý đã gửi cảnh báo cho người dân. Bạn nên liên lạc ngay."
    } else {
        ""
    };
    Reply::text(format!(
        "💬 #{id} — người dân: «{}»{note}\nTrả lời: /tl {id} <nội dung>",
        clip(text, 1500)
    ))
}

pub fn closed_for_member(id: u64) -> Reply {
    Reply::text(format!("Đã đóng yêu cầu #{id}. Cảm ơn bạn! Người dân được mời đánh giá."))
}

pub fn returned_for_member(id: u64) -> Reply {
    Reply::text(format!("Đã trả yêu cầu #{id} lại cho Tổ."))
}

pub fn cancelled_for_member(id: u64) -> Reply {
    Reply::text(format!("Người dân đã hủy yêu cầu #{id}."))
}

pub fn rated_for_member(id: u64, satisfied: bool) -> Reply {
    Reply::text(format!(
        "Người dân đánh giá yêu cầu #{id}: {}.",
        if satisfied { "Hài lòng 👍" } else { "Chưa hài lòng" }
    ))
}

pub fn confirm_plain(id: u64, text: &str) -> Reply {
    Reply::text(format!(
        "Gửi tin này tới người dân của yêu cầu #{id}?\n«{}»\n(Từ nay, khi bạn chỉ giữ một yêu cầu, tin thường được chuyển luôn.)",
        clip(text, 500)
    ))
    .with_query("Gửi", Payload::Send.to_string())
    .with_query("Không gửi", Payload::DontSend.to_string())
}

pub fn plain_dropped() -> Reply {
    Reply::text("Đã bỏ, không gửi tin đó.")
}

pub fn window_closing(id: u64) -> Reply {
    Reply::text(format!(
        "⏳ Yêu cầu #{id}: người dân nhắn lần cuối đã gần 7 ngày. Ngày mai Zalo không cho OA nhắn người này nữa; nếu cần, bạn trả lời hoặc /xong {id} trong hôm nay."
    ))
}

pub fn leader_reminder(id: u64, place: &str, waited: i64, unreachable: &[String]) -> Reply {
    let mut text = format!(
        "⏰ Yêu cầu #{id} — {place} chưa ai nhận sau {} trong giờ làm việc. Đã chuyển thêm tới các Tổ trong xã. Gõ /nhan {id} để nhận.",
        duration(waited)
    );
    if !unreachable.is_empty() {
        text.push_str(&format!("\nChưa liên lạc được qua Zalo: {}.", unreachable.join(", ")));
    }
    Reply::text(text).with_query("Nhận", format!("/nhan {id}"))
}

pub fn admin_digest(id: u64, place: &str, question: &str, waited: i64) -> Reply {
    Reply::text(format!(
        "📋 Yêu cầu #{id} — {place} chưa có thành viên Tổ nào nhận sau {}: «{}». Anh/chị có thể nhận (/nhan {id}) hoặc nhắc các Tổ.",
        duration(waited),
        clip(question, 400)
    ))
    .with_query("Nhận", format!("/nhan {id}"))
}

pub fn name_set(name: &str) -> Reply {
    Reply::text(format!(
        "Đã lưu tên hiển thị: {name}. Người dân và tổ trưởng thấy bạn với tên này."
    ))
}

pub fn ask_name() -> Reply {
    Reply::text(crate::reports::render::ASK_NAME)
}

pub fn members_only() -> Reply {
    Reply::text("Lệnh này dành cho thành viên Tổ CNSCĐ đã đăng ký (/dangky <mã mời>).")
}

pub fn leaders_only() -> Reply {
    Reply::text("Lệnh /tinhhinh dành cho tổ trưởng.")
}

/// A commune official asking "ai chưa báo cáo": their view is the commune's, `/tonghop`.
pub fn admin_overview() -> Reply {
    Reply::text(
        "Cán bộ quản lý xem các tổ đã, chưa báo cáo bằng lệnh /tonghop (kỳ khác: /tonghop T10).",
    )
    .with_query("Xem tổng hợp", "/tonghop")
}

pub fn usage(line: &str) -> Reply {
    Reply::text(format!("Cách dùng: {line}"))
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (secs, want) in
            [(7200, "2 giờ"), (2700, "45 phút"), (5400, "1 giờ 30 phút"), (1, "1 phút")]
        {
            assert_eq!(duration(secs), want);
        }
    }

    #[test]
    fn new_request_has_a_claim_button_and_no_ids() {
        let r = new_request(12, "Thôn Phú An, Xã Phú Vinh", "Cài VNeID", false);
        assert!(r.text.starts_with("🙋 Yêu cầu #12 — Thôn Phú An, Xã Phú Vinh: «Cài VNeID»"));
        assert_eq!(r.buttons.len(), 1);
        assert_eq!(r.buttons[0].title(), "Nhận");
    }
}
