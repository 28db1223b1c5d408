//! Chat commands for unit admins (members who joined with an admin invite), recognised
//! only with the slash: `/quantri` (one-time sign-in link to the web console),
//! `/tonghop [T11]` (X of Y teams reported, the missing ones by name) and `/xuat` (a
//! one-time download link of the unit's reports).

use crate::calendar::UnixSecs;
use std::collections::HashSet;

use crate::reply::Reply;
use crate::reports::aggregate::Hierarchy;
use crate::reports::chat::AdminRequest;
use crate::reports::command::Command;
use crate::reports::period::{default_period, parse_period_token};
use crate::store::console::DownloadLink;

use super::Reporting;
use super::query::ReportFilter;

/// How long a `/xuat` link works.
const DOWNLOAD_VALID_SECS: i64 = 3600;

impl Reporting {
    /// The reply to a unit admin's command (`reports::chat` has checked the role).
    pub(super) fn admin_command(
        &self,
        request: &AdminRequest,
        now: UnixSecs,
    ) -> anyhow::Result<Reply> {
        let AdminRequest { unit, who, command } = request;
        let unit = unit.clone();
        let base = self.settings.public_url.trim_end_matches('/');
        match command {
            Command::ConsoleLink => {
                let who = who.clone().unwrap_or_else(|| format!("Cán bộ đơn vị {unit}"));
                let token = crate::csprng::hex_token();
                self.store.issue_sign_in_link(&token, &unit, &who, now)?;
                Ok(Reply::text(format!(
                    "Đường dẫn vào trang quản trị (dùng một lần, hết hạn sau 10 phút):\n{base}/admin/vao/{token}\nKhông chuyển đường dẫn này cho người khác."
                )))
            }
            Command::Summary { period } => self.summary(&unit, period.as_deref(), now),
            Command::ExportLink => {
                let defs = self.defs();
                let report = self.report_type(&defs, None)?;
                let period = default_period(report, now);
                let token = crate::csprng::hex_token();
                let link = DownloadLink {
                    unit: unit.clone(),
                    period: period.key(),
                    expires_at: now.plus_secs(DOWNLOAD_VALID_SECS),
                };
                self.store.put_download_link(&token, &link)?;
                self.store.flush_blocking()?;
                Ok(Reply::text(format!(
                    "Tải báo cáo {} của đơn vị (tệp Excel, dùng một lần, hết hạn sau 1 giờ):\n{base}/admin/tai/{token}",
                    period.label()
                )))
            }
            _ => Ok(Reply::text("Lệnh không đúng.")),
        }
    }

    /// "12/15 tổ đã báo cáo T11/2026. Chưa báo cáo: …".
    fn summary(&self, unit: &str, period: Option<&str>, now: UnixSecs) -> anyhow::Result<Reply> {
        let defs = self.defs();
        let report = self.report_type(&defs, None)?;
        let period = match period {
            None => default_period(report, now),
            Some(text) => match parse_period_token(text, report.period, now) {
                Some(Ok(p)) => p,
                _ => {
                    return Ok(Reply::text(format!(
                        "Kỳ \"{text}\" không đúng. Gõ ví dụ: /tonghop T11"
                    )));
                }
            },
        };
        let key = period.key();
        let units = self.units()?;
        let hierarchy = Hierarchy::new(&units);
        let reported: HashSet<u64> = self
            .reports(&ReportFilter {
                unit: Some(unit.to_owned()),
                period: Some(key),
                ..ReportFilter::default()
            })?
            .iter()
            .map(|v| v.team)
            .collect();
        let (expected, newer): (Vec<_>, Vec<_>) = self
            .teams()?
            .into_iter()
            .filter(|t| hierarchy.is_within(&t.unit, unit))
            .partition(|t| t.expected_from() < period.end() || reported.contains(&t.id));
        let mut missing: Vec<&str> = expected
            .iter()
            .filter(|t| !reported.contains(&t.id))
            .map(|t| t.name.as_str())
            .collect();
        missing.sort_unstable();
        let done = expected.len() - missing.len();
        let mut text = format!(
            "{}: {done}/{} tổ đã báo cáo {}.",
            hierarchy.get(unit).map(|u| u.display_name()).unwrap_or_else(|| unit.to_owned()),
            expected.len(),
            period.label()
        );
        // Otherwise "0/0 tổ" reads as if the unit's teams were missing.
        if !newer.is_empty() {
            text.push_str(&format!(
                " ({} tổ lập sau {} chưa phải báo cáo kỳ này.)",
                newer.len(),
                period.label()
            ));
        }
        if !missing.is_empty() {
            text.push_str("\nChưa báo cáo:");
            for name in missing.iter().take(30) {
                text.push_str(&format!("\n- {name}"));
            }
            if missing.len() > 30 {
                text.push_str(&format!(
                    "\n… và {} tổ khác (xem trên trang quản trị).",
                    missing.len() - 30
                ));
            }
        }
        Ok(Reply::text(text))
    }
}
