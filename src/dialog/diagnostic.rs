//! Problems found while loading dialog files, printed like a compiler for admins.
//!
//! `dialogs/dvc.toml:42:7: lỗi: bước "buoc_3": bước tiếp theo "buoc_4x" không tồn tại (có phải
//! ý bạn là "buoc_4"?)`. The severity word and the message are Vietnamese because the readers
//! are commune and provincial staff; `code` is a stable English identifier for tools and tests.

use std::fmt;

/// How bad a problem is: errors reject the whole set, warnings are advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    /// The word printed before the message.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "lỗi",
            Severity::Warning => "cảnh báo",
        }
    }
}

/// What kind of problem it is; stable identifiers (`snake_case` in [`Code::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    Syntax,
    UnknownKey,
    BadValue,
    BadId,
    NoDialogs,
    MainMenu,
    MissingStart,
    DanglingJump,
    Unreachable,
    NoWayForward,
    Conflict,
    TooManyButtons,
    TextTooLong,
    TextLong,
    NotNfc,
    DuplicateKeyword,
    DuplicateExample,
    UnknownPlaceholder,
    StaleFact,
    GotoChain,
    AmbiguousChoices,
    NoWayBack,
    StepTooLong,
    Placeholder,
    Transcript,
    Io,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "syntax",
            Code::UnknownKey => "unknown_key",
            Code::BadValue => "bad_value",
            Code::BadId => "bad_id",
            Code::NoDialogs => "no_dialogs",
            Code::MainMenu => "main_menu",
            Code::MissingStart => "missing_start",
            Code::DanglingJump => "dangling_jump",
            Code::Unreachable => "unreachable",
            Code::NoWayForward => "no_way_forward",
            Code::Conflict => "conflict",
            Code::TooManyButtons => "too_many_buttons",
            Code::TextTooLong => "text_too_long",
            Code::TextLong => "text_long",
            Code::NotNfc => "not_nfc",
            Code::DuplicateKeyword => "duplicate_keyword",
            Code::DuplicateExample => "duplicate_example",
            Code::UnknownPlaceholder => "unknown_placeholder",
            Code::StaleFact => "stale_fact",
            Code::GotoChain => "goto_chain",
            Code::AmbiguousChoices => "ambiguous_choices",
            Code::NoWayBack => "no_way_back",
            Code::StepTooLong => "step_too_long",
            Code::Placeholder => "placeholder",
            Code::Transcript => "transcript",
            Code::Io => "io",
        }
    }
}

/// One problem at one place in one file (line and column are 1-based; column counts characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file,
            self.line,
            self.column,
            self.severity.label(),
            self.message
        )
    }
}

/// Turns byte offsets of one file into 1-based line:column.
pub(crate) struct LineIndex<'a> {
    contents: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(contents: &'a str) -> LineIndex<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(contents.match_indices('\n').map(|(at, _)| at + 1));
        LineIndex { contents, line_starts }
    }

    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.contents.len());
        let line = self.line_starts.partition_point(|start| *start <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column =
            self.contents.get(start..offset).map_or(1, |before| before.chars().count() + 1);
        (line, column)
    }
}

/// "(có phải ý bạn là "x"?)" or nothing.
pub(crate) fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map(|s| format!(" (có phải ý bạn là \"{s}\"?)")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let index = LineIndex::new("ab\nđc\n\nx");
        let cases = [(0, (1, 1)), (1, (1, 2)), (3, (2, 1)), (5, (2, 2)), (7, (3, 1)), (8, (4, 1))];
        for (offset, expected) in cases {
            assert_eq!(index.position(offset), expected, "offset {offset}");
        }
    }

    #[test]
    fn prints_like_a_compiler() {
        let diagnostic = Diagnostic {
            severity: Severity::Error,
            code: Code::DanglingJump,
            file: "dialogs/dvc.toml".into(),
            line: 42,
            column: 7,
            message: "bước \"buoc_3\": bước tiếp theo \"buoc_4x\" không tồn tại".into(),
        };
        assert_eq!(
            diagnostic.to_string(),
            "dialogs/dvc.toml:42:7: lỗi: bước \"buoc_3\": bước tiếp theo \"buoc_4x\" không tồn tại"
        );
    }
}
