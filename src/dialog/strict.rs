//! Strict TOML parsing that reports every syntax error and every unknown key, with spans.

use std::ops::Range;

use serde::de::DeserializeOwned;

use super::diagnostic::{Code, did_you_mean};
use super::load::Sink;
use super::text;

/// Parses a TOML file into `T`, reporting every syntax error and every unknown key (not just
/// the first): unknown keys are removed one by one and the file is deserialized again, so the
/// list of allowed keys stays the one `serde` derives from `format.rs`.
pub(crate) fn parse_strict<T: DeserializeOwned>(
    sink: &mut Sink<'_>,
    file: usize,
    contents: &str,
) -> Option<T> {
    let (mut table, errors) = toml::de::DeTable::parse_recoverable(contents);
    if !errors.is_empty() {
        for error in errors {
            let span = error.span().unwrap_or(0..0);
            sink.error(
                file,
                span,
                Code::Syntax,
                format!(
                    "sai cú pháp TOML: {} (kiểm tra dấu ngoặc kép \", ngoặc vuông [ ] và dấu phẩy quanh chỗ này)",
                    error.message().trim()
                ),
            );
        }
        return None;
    }
    let mut unknown_keys = 0;
    loop {
        let error = match T::deserialize(toml::de::Deserializer::from(table.clone())) {
            // Unknown keys are already reported; the rest of the file is still checked.
            Ok(value) => return Some(value),
            Err(error) => error,
        };
        let message = error.message().trim().to_owned();
        let span = error.span().unwrap_or(0..0);
        if let Some((key, expected)) = unknown_field(&message)
            && unknown_keys < 200
            && remove_key_at(table.get_mut(), &span)
        {
            unknown_keys += 1;
            let suggestion = text::suggest(&key, expected.iter().map(String::as_str));
            sink.error(
                file,
                span,
                Code::UnknownKey,
                format!("khóa \"{key}\" không được dùng ở đây{}", did_you_mean(suggestion)),
            );
            continue;
        }
        sink.error(file, span, Code::BadValue, translate_serde_error(&message));
        return None;
    }
}

/// `unknown field `sayy`, expected one of `say`, `image`` → ("sayy", ["say", "image"]).
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, expected) = rest.split_once('`')?;
    let expected = expected.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    Some((key.to_owned(), expected))
}

/// Removes the key whose span is `span` anywhere in the table tree.
fn remove_key_at(table: &mut toml::de::DeTable<'_>, span: &Range<usize>) -> bool {
    let found = table.keys().find(|key| key.span() == *span).map(|key| key.get_ref().clone());
    if let Some(key) = found {
        table.remove(key.as_ref());
        return true;
    }
    table.iter_mut().any(|(_, value)| remove_key_in_value(value.get_mut(), span))
}

fn remove_key_in_value(value: &mut toml::de::DeValue<'_>, span: &Range<usize>) -> bool {
    match value {
        toml::de::DeValue::Table(table) => remove_key_at(table, span),
        toml::de::DeValue::Array(array) => {
            array.iter_mut().any(|item| remove_key_in_value(item.get_mut(), span))
        }
        _ => false,
    }
}

/// serde's English messages, in the admins' language where we know the shape.
fn translate_serde_error(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return format!("thiếu khóa bắt buộc \"{field}\"");
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        return format!("sai kiểu giá trị ({rest})");
    }
    format!("giá trị không hợp lệ: {message}")
}
