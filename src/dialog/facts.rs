//! Shared facts (`_facts.toml`) and the fact metadata of nodes: review dates and staleness.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::date::Date;
use super::diagnostic::Code;
use super::format::RawFacts;
use super::load::{LoadOptions, Sink, check_text};
use super::model::{Fact, StaleFact};
use super::text;

/// Facts compiled from `_facts.toml` and `_local.toml`.
pub(crate) struct CompiledFacts {
    pub(crate) facts: BTreeMap<String, Fact>,
    pub(crate) stale: Vec<StaleFact>,
    /// Facts still marked `placeholder = true`, as `name (file)`.
    pub(crate) placeholders: Vec<String>,
}

/// `_facts.toml` and `_local.toml` → name → fact, plus stale facts and remaining placeholders.
/// A name defined twice is an error. With `options.strict`, a remaining placeholder is an error.
pub(crate) fn compile_facts(
    sink: &mut Sink<'_>,
    raw_facts: &[(usize, RawFacts)],
    options: &LoadOptions,
) -> CompiledFacts {
    let mut facts = BTreeMap::new();
    let mut stale = Vec::new();
    let mut placeholders = Vec::new();
    for (file, raw) in raw_facts {
        for (name, fact) in &raw.facts {
            if facts.contains_key(name.get_ref()) {
                sink.error(
                    *file,
                    name.span(),
                    Code::Conflict,
                    format!(
                        "dữ kiện \"{}\" đã được khai báo ở tệp khác (_facts.toml hoặc _local.toml); mỗi dữ kiện chỉ khai báo một lần",
                        name.get_ref()
                    ),
                );
                continue;
            }
            if fact.placeholder {
                placeholders.push(format!("{} ({})", name.get_ref(), sink.path(*file)));
                if options.strict {
                    sink.error(
                        *file,
                        name.span(),
                        Code::Placeholder,
                        format!(
                            "dữ kiện \"{}\" vẫn là giá trị mẫu (placeholder = true): điền thông tin thật của địa phương rồi xóa dòng placeholder",
                            name.get_ref()
                        ),
                    );
                }
            }
            if !text::is_id(name.get_ref()) {
                sink.error(
                    *file,
                    name.span(),
                    Code::BadId,
                    format!(
                        "tên dữ kiện \"{}\" không hợp lệ: chỉ dùng a-z, 0-9 và \"_\"",
                        name.get_ref()
                    ),
                );
            }
            check_text(sink, *file, &fact.value, &format!("dữ kiện \"{}\"", name.get_ref()));
            let meta = FactMeta {
                source: &fact.source,
                verified: &fact.verified,
                review_days: &fact.review_days,
            };
            if let Some(found) = check_fact_meta(
                sink,
                *file,
                &name.span(),
                &meta,
                options,
                &format!("dữ kiện {}", name.get_ref()),
            ) {
                stale.push(found);
            }
            facts.insert(name.get_ref().clone(), Fact { value: fact.value.get_ref().clone() });
        }
    }
    CompiledFacts { facts, stale, placeholders }
}

/// The three fact-metadata keys shared by nodes, items and facts.
pub(crate) struct FactMeta<'r> {
    pub(crate) source: &'r Option<Spanned<String>>,
    pub(crate) verified: &'r Option<Spanned<toml::Value>>,
    pub(crate) review_days: &'r Option<Spanned<i64>>,
}

/// The `verified` date as written (`"YYYY-MM-DD"` or a TOML date), if valid.
pub(crate) fn verified_date(verified: &Option<Spanned<toml::Value>>) -> Option<Date> {
    match verified.as_ref()?.get_ref() {
        toml::Value::String(s) => Date::parse_iso(s),
        toml::Value::Datetime(datetime) => datetime
            .date
            .and_then(|d| Date::new(i32::from(d.year), u32::from(d.month), u32::from(d.day))),
        _ => None,
    }
}

/// Checks fact metadata; returns the fact if it is past its review date.
pub(crate) fn check_fact_meta(
    sink: &mut Sink<'_>,
    file: usize,
    span: &Range<usize>,
    meta: &FactMeta<'_>,
    options: &LoadOptions,
    what: &str,
) -> Option<StaleFact> {
    let review_days = match meta.review_days {
        Some(days) => match u32::try_from(*days.get_ref()) {
            Ok(days) if days > 0 => days,
            _ => {
                sink.error(
                    file,
                    days.span(),
                    Code::BadValue,
                    "review_days phải là số ngày lớn hơn 0".into(),
                );
                options.review_days
            }
        },
        None => options.review_days,
    };
    let verified = meta.verified.as_ref()?;
    let Some(date) = verified_date(meta.verified) else {
        sink.error(
            file,
            verified.span(),
            Code::BadValue,
            "verified phải là ngày dạng \"YYYY-MM-DD\", ví dụ \"2026-11-01\"".into(),
        );
        return None;
    };
    if meta.source.is_none() {
        sink.warning(
            file,
            span.clone(),
            Code::BadValue,
            format!("{what}: có verified nhưng thiếu source (nguồn)"),
        );
    }
    let today = options.today?;
    let age = today.days_since_epoch() - date.days_since_epoch();
    if age <= i64::from(review_days) {
        return None;
    }
    sink.warning(
        file,
        verified.span(),
        Code::StaleFact,
        format!(
            "{what}: kiểm tra lần cuối ngày {date}, đã quá {review_days} ngày, cần kiểm tra lại"
        ),
    );
    Some(StaleFact {
        what: what.to_owned(),
        file: sink.path(file),
        verified: date,
        review_days,
        source: meta.source.as_ref().map(|s| s.get_ref().clone()),
    })
}
