//! Domain records of the reports feature: units, teams, members, invites, reports.
//!
//! These are plain data. They derive serde because the store keeps them as JSON; new
//! fields must get `#[serde(default)]` so older records still read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::period::Period;
use super::value::Value;
use crate::calendar::UnixSecs;

/// Level in the post-2025 two-tier structure (no district): province → commune → village.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    Province,
    Commune,
    Village,
}

/// Official kind of an administrative unit (domain.md §B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Tinh,
    ThanhPho,
    Xa,
    Phuong,
    DacKhu,
    Thon,
    ToDanPho,
}

impl UnitKind {
    pub fn level(self) -> UnitLevel {
        match self {
            UnitKind::Tinh | UnitKind::ThanhPho => UnitLevel::Province,
            UnitKind::Xa | UnitKind::Phuong | UnitKind::DacKhu => UnitLevel::Commune,
            UnitKind::Thon | UnitKind::ToDanPho => UnitLevel::Village,
        }
    }

    /// Vietnamese label shown to users.
    pub fn label(self) -> &'static str {
        match self {
            UnitKind::Tinh => "Tỉnh",
            UnitKind::ThanhPho => "Thành phố",
            UnitKind::Xa => "Xã",
            UnitKind::Phuong => "Phường",
            UnitKind::DacKhu => "Đặc khu",
            UnitKind::Thon => "Thôn",
            UnitKind::ToDanPho => "Tổ dân phố",
        }
    }

    /// Parses the CSV spelling: snake_case code or the Vietnamese label, any diacritics.
    pub fn parse(text: &str) -> Option<UnitKind> {
        let key = super::text::fold(text).replace([' ', '-'], "_");
        Some(match key.as_str() {
            "tinh" => UnitKind::Tinh,
            "thanh_pho" | "tp" => UnitKind::ThanhPho,
            "xa" => UnitKind::Xa,
            "phuong" => UnitKind::Phuong,
            "dac_khu" => UnitKind::DacKhu,
            // Villages go by many local names (bản, ấp, khóm, buôn…); the name carries them.
            "thon" | "ban" | "ap" | "khom" | "buon" | "plei" | "lang" => UnitKind::Thon,
            "to_dan_pho" | "tdp" | "khu_pho" => UnitKind::ToDanPho,
            _ => return None,
        })
    }
}

/// An administrative unit, identified by its official code (mã ĐVHC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    /// Code of the parent unit; `None` only for provinces.
    pub parent: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// First day the unit exists in this shape, `YYYY-MM-DD` (units merged on 1/7/2025).
    #[serde(default)]
    pub valid_from: Option<String>,
    #[serde(default)]
    pub valid_to: Option<String>,
    #[serde(default)]
    pub replaced_by: Option<String>,
}

impl Unit {
    pub fn level(&self) -> UnitLevel {
        self.kind.level()
    }

    /// "Xã Phú Vinh", "Tổ dân phố Dạ Lê"; a name that already carries its own kind
    /// word ("Bản A Roàng", "Ấp 3", "Thôn Đông") is shown as it is.
    pub fn display_name(&self) -> String {
        // Compared with diacritics: "Làng Mới" names its kind, "Lang Xá Cồn" does not.
        const OWN_KIND_WORDS: &[&str] = &[
            "tỉnh",
            "thành phố",
            "xã",
            "phường",
            "đặc khu",
            "thôn",
            "tổ dân phố",
            "bản",
            "ấp",
            "khóm",
            "buôn",
            "plei",
            "làng",
            "khu phố",
        ];
        let lower = super::text::nfc(self.name.trim()).to_lowercase();
        let has_kind = OWN_KIND_WORDS
            .iter()
            .any(|w| lower.strip_prefix(w).is_some_and(|rest| rest.starts_with(' ')));
        if has_kind { self.name.clone() } else { format!("{} {}", self.kind.label(), self.name) }
    }
}

/// A Tổ CNSCĐ; belongs to a village (or, in some provinces, directly to a commune).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub id: u64,
    pub unit: String,
    pub name: String,
    /// Unix seconds; the team is expected to report from the period containing this on,
    /// unless `expected_from` says otherwise.
    pub created_at: UnixSecs,
    /// Unix seconds: an explicit start of reporting duty (an imported team that existed
    /// before it was entered here, or one that starts later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_from: Option<UnixSecs>,
}

impl Team {
    /// From when the team is expected to report: it is expected for every period that
    /// ends after this instant (and, whatever this says, for any period it reported for).
    pub fn expected_from(&self) -> UnixSecs {
        self.expected_from.unwrap_or(self.created_at)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Leader,
    /// Commune or province official: receives digests for the unit in `Member::unit`.
    Admin,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Member => "thành viên",
            Role::Leader => "tổ trưởng",
            Role::Admin => "cán bộ quản lý",
        }
    }
}

/// A Zalo user who joined through an invite. Only what reporting needs: no phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// OA-scoped Zalo user id.
    pub user_id: String,
    /// The team (members and leaders); `None` for admins.
    pub team: Option<u64>,
    /// The unit an admin oversees; `None` for members and leaders.
    #[serde(default)]
    pub unit: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub display_name: Option<String>,
    pub joined_at: UnixSecs,
}

/// A one-time join code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub code: String,
    pub team: Option<u64>,
    #[serde(default)]
    pub unit: Option<String>,
    pub role: Role,
    pub created_at: UnixSecs,
    pub expires_at: UnixSecs,
    /// "admin-api" or the Zalo user id of the leader who made it.
    pub created_by: String,
    #[serde(default)]
    pub used_by: Option<String>,
    #[serde(default)]
    pub used_at: Option<UnixSecs>,
}

/// One stored version of a team's report for one period. Versions are never deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportVersion {
    pub team: u64,
    /// Report type key from the definition file (e.g. "thang").
    pub report: String,
    /// Stored and shown as its key, e.g. "2026-10" or "2026-W45".
    #[serde(with = "super::period::as_key")]
    pub period: Period,
    /// 1 for the first submission, +1 for each resubmission.
    pub version: u32,
    /// Id of the definition file the values were entered against.
    pub definition: String,
    pub values: BTreeMap<String, Value>,
    pub submitted_by: String,
    pub submitted_at: UnixSecs,
    /// Whether it arrived before the deadline.
    pub on_time: bool,
    /// Webhook dedupe key of the message that created it.
    pub source_event: String,
    /// Set by `/huy`: the version no longer counts; the previous one (if any) is current.
    #[serde(default)]
    pub withdrawn_at: Option<UnixSecs>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_do_not_repeat_the_kind() {
        let unit = |name: &str, kind| Unit {
            code: "1".into(),
            name: name.into(),
            kind,
            parent: None,
            aliases: vec![],
            valid_from: None,
            valid_to: None,
            replaced_by: None,
        };
        let cases = [
            ("Phú Vinh", UnitKind::Xa, "Xã Phú Vinh"),
            ("Thôn Phú An", UnitKind::Thon, "Thôn Phú An"),
            ("Bản A Roàng", UnitKind::Thon, "Bản A Roàng"),
            ("Ấp 3", UnitKind::Thon, "Ấp 3"),
            ("Dạ Lê", UnitKind::ToDanPho, "Tổ dân phố Dạ Lê"),
            ("Xuân Phú", UnitKind::Phuong, "Phường Xuân Phú"),
            ("Huế", UnitKind::ThanhPho, "Thành phố Huế"),
            ("Lang Xá Cồn", UnitKind::ToDanPho, "Tổ dân phố Lang Xá Cồn"),
            ("Làng Mới", UnitKind::Thon, "Làng Mới"),
        ];
        for (name, kind, want) in cases {
            assert_eq!(unit(name, kind).display_name(), want);
        }
    }

    #[test]
    fn stored_report_versions_read_and_write_the_same_json() {
        // As written before `period` was typed: the key string, byte for byte.
        let stored = [
            r#"{"team":3,"report":"thang","period":"2026-10","version":2,"definition":"v1","values":{"CHUNG_01":12},"submitted_by":"u1","submitted_at":1793000000,"on_time":true,"source_event":"m:1","withdrawn_at":null}"#,
            r#"{"team":3,"report":"tuan","period":"2026-W05","version":1,"definition":"v1","values":{},"submitted_by":"u1","submitted_at":1793000000,"on_time":false,"source_event":"m:2","withdrawn_at":1793000100}"#,
        ];
        for json in stored {
            let v: ReportVersion = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&v).unwrap(), json);
        }
        let v: ReportVersion = serde_json::from_str(stored[1]).unwrap();
        assert_eq!(
            v.period,
            Period { kind: super::super::period::PeriodKind::Week, year: 2026, number: 5 }
        );
        let bad = stored[0].replace("2026-10", "2026-13");
        assert!(serde_json::from_str::<ReportVersion>(&bad).is_err());
    }
}
