//! The admin-editable lexicon (`dialogs/_lexicon.toml`): Zalo shorthand and common misspellings.
//!
//! Applied after [`text::fold`], to the citizen's message and to every example and keyword
//! alike, so "ko dc", "không được" and "hok duoc" all become `khong duoc`. A word may also be
//! ignored (particles such as "ạ", "nhé") or depend on its neighbours ("mk" means "mật khẩu"
//! next to "quên", otherwise "mình"). Pure: the loader passes the file contents.

use std::collections::HashMap;

use toml::Spanned;

use super::diagnostic::Code;
use super::format::RawLexicon;
use super::load::Sink;
use super::model::FastMap;
use super::text;

/// How far (in words, either side) a context rule looks for its neighbours.
const CONTEXT_WINDOW: usize = 3;

#[derive(Debug, Clone, Default)]
pub(crate) struct Lexicon {
    /// Folded word → folded words it stands for (empty = drop).
    words: FastMap<String, Vec<String>>,
    /// Folded word → its context rule.
    context: FastMap<String, ContextRule>,
    /// Key as written (lower case, NFC) → folded key, for words typed with tone marks: "cá"
    /// is not the shorthand "ca", "nhà" is not the particle "nha", but "ạ", "nhé", "đc" are
    /// what the file says.
    written: FastMap<String, String>,
}

/// True if `word` carries no mark other than `đ`: typed that way it may be shorthand.
fn unmarked(word: &str) -> bool {
    word.chars().all(|c| c.is_ascii() || c == 'đ')
}

#[derive(Debug, Clone)]
struct ContextRule {
    near: Vec<String>,
    means: Vec<String>,
    otherwise: Vec<String>,
}

impl Lexicon {
    /// The folded, expanded words of `text` that matter for matching. A word typed with tone
    /// marks matches only an entry written with the same marks ("cá nhân" keeps "ca").
    pub(crate) fn normalize(&self, text: &str) -> Vec<String> {
        if text.is_ascii() {
            // Typed without marks (most messages): every word may be any entry, and case
            // folding is all the folding there is.
            let folded = text::fold(text);
            let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
            return self.expand(&words, &vec![None; words.len()]);
        }
        let mut folded: Vec<String> = Vec::new();
        // Borrowed from the lexicon: no copy of an entry per word.
        let mut keys: Vec<Option<&str>> = Vec::new();
        for written in text::fold_case(text).split(' ').filter(|w| !w.is_empty()) {
            let key = if unmarked(written) { None } else { Some(written) };
            for word in text::fold(written).split(' ').filter(|w| !w.is_empty()) {
                keys.push(key.map(|k| self.written.get(k).map_or("", String::as_str)));
                folded.push(word.to_owned());
            }
        }
        let words: Vec<&str> = folded.iter().map(String::as_str).collect();
        self.expand(&words, &keys)
    }

    /// `keys[i]`: `None` when word `i` may be any entry, else the only entry it may be
    /// (empty: none).
    fn expand(&self, words: &[&str], keys: &[Option<&str>]) -> Vec<String> {
        let mut out = Vec::with_capacity(words.len() + 2);
        for (i, word) in words.iter().enumerate() {
            if keys[i].is_some_and(|k| k != *word) {
                out.push((*word).to_owned());
            } else if let Some(rule) = self.context.get(*word) {
                let from = i.saturating_sub(CONTEXT_WINDOW);
                let to = (i + CONTEXT_WINDOW + 1).min(words.len());
                let near = (from..to).filter(|j| *j != i).any(|j| {
                    let neighbour = words[j];
                    rule.near.iter().any(|n| n == neighbour)
                        || self
                            .words
                            .get(neighbour)
                            .is_some_and(|m| m.iter().any(|w| rule.near.contains(w)))
                });
                let meaning = if near { &rule.means } else { &rule.otherwise };
                out.extend(meaning.iter().cloned());
            } else if let Some(meaning) = self.words.get(*word) {
                out.extend(meaning.iter().cloned());
            } else {
                out.push((*word).to_owned());
            }
        }
        out
    }
}

/// Compiles `_lexicon.toml`, reporting problems with their file:line.
pub(crate) fn compile(sink: &mut Sink<'_>, file: usize, raw: &RawLexicon) -> Lexicon {
    let mut lexicon = Lexicon::default();
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut written: FastMap<String, String> = FastMap::default();
    let mut key = |sink: &mut Sink<'_>, word: &Spanned<String>| -> Option<String> {
        let folded = checked(sink, file, word, "từ")?;
        if folded.contains(' ') {
            sink.error(
                file,
                word.span(),
                Code::BadValue,
                format!("\"{}\": chỉ viết một từ (không có dấu cách) ở bên trái", word.get_ref()),
            );
            return None;
        }
        if seen.insert(folded.clone(), ()).is_some() {
            sink.error(
                file,
                word.span(),
                Code::DuplicateKeyword,
                format!("từ \"{}\" đã có ở trên (so sánh không dấu)", word.get_ref()),
            );
            return None;
        }
        written.insert(text::fold_case(word.get_ref()), folded.clone());
        Some(folded)
    };
    for (word, meaning) in &raw.words {
        let Some(folded) = key(sink, word) else { continue };
        let Some(meaning) = checked(sink, file, meaning, "nghĩa") else { continue };
        lexicon.words.insert(folded, meaning.split(' ').map(str::to_owned).collect());
    }
    for word in &raw.ignore {
        if let Some(folded) = key(sink, word) {
            lexicon.words.insert(folded, Vec::new());
        }
    }
    for rule in &raw.context {
        let Some(word) = key(sink, &rule.word) else { continue };
        let Some(means) = checked(sink, file, &rule.means, "nghĩa") else { continue };
        let otherwise = match &rule.otherwise {
            Some(otherwise) => match checked(sink, file, otherwise, "nghĩa") {
                Some(o) => o.split(' ').map(str::to_owned).collect(),
                None => continue,
            },
            None => Vec::new(),
        };
        let near: Vec<String> =
            rule.near.iter().filter_map(|n| checked(sink, file, n, "từ gần")).collect();
        if near.is_empty() {
            sink.error(
                file,
                rule.word.span(),
                Code::BadValue,
                format!("quy tắc cho \"{}\": cần ít nhất một từ trong near", rule.word.get_ref()),
            );
            continue;
        }
        let means = means.split(' ').map(str::to_owned).collect();
        lexicon.context.insert(word, ContextRule { near, means, otherwise });
    }
    lexicon.written = written;
    lexicon
}

/// The folded value, or `None` after reporting it (not NFC, or empty once folded).
fn checked(
    sink: &mut Sink<'_>,
    file: usize,
    value: &Spanned<String>,
    what: &str,
) -> Option<String> {
    if !text::is_nfc(value.get_ref()) {
        sink.error(
            file,
            value.span(),
            Code::NotNfc,
            format!("{what} \"{}\": chữ không ở dạng Unicode NFC; hãy gõ lại bằng bộ gõ Unicode dựng sẵn", value.get_ref()),
        );
        return None;
    }
    let folded = text::fold(value.get_ref());
    if folded.is_empty() {
        sink.error(file, value.span(), Code::BadValue, format!("{what} trống"));
        return None;
    }
    Some(folded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::load::SourceFile;
    use crate::dialog::strict::parse_strict;

    const LEXICON: &str = r#"
ignore = []
context = []
[words]
ko = "không"
"đc" = "được"
ck = "chuyển khoản"
tk = "tài khoản"
ntn = "như thế nào"
ignore_me = "x"
"#;

    fn lexicon(contents: &str) -> (Lexicon, Vec<String>) {
        let files =
            [SourceFile { path: "dialogs/_lexicon.toml".into(), contents: contents.into() }];
        let mut sink = Sink::new(&files);
        let lexicon = match parse_strict::<RawLexicon>(&mut sink, 0, contents) {
            Some(raw) => compile(&mut sink, 0, &raw),
            None => Lexicon::default(),
        };
        (lexicon, sink.diagnostics.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn normalize_table() {
        let contents = r#"
ignore = ["ạ", "nhé", "ơi"]
[words]
ko = "không"
"đc" = "được"
ck = "chuyển khoản"
ca = "công an"
[[context]]
word = "mk"
near = ["quên", "đổi", "nhập"]
means = "mật khẩu"
otherwise = "mình"
"#;
        let (lexicon, diagnostics) = lexicon(contents);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let cases = [
            ("Ko đc ạ", "khong duoc"),
            ("ck ko dc nhé", "chuyen khoan khong duoc"),
            ("quên mk rồi", "quen mat khau roi"),
            ("mk muốn hỏi", "minh muon hoi"),
            ("đổi  MK", "doi mat khau"),
            ("bot ơi", "bot"),
            // Typed with tone marks, a word is shorthand only if the file writes it so.
            ("ck cá nhân", "chuyen khoan ca nhan"),
            ("CK nhé", "chuyen khoan"),
            ("đc", "duoc"),
            ("ca goi", "cong an goi"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(lexicon.normalize(input).join(" "), expected, "{input:?}");
        }
    }

    #[test]
    fn problems_are_reported_with_their_line() {
        let (_, diagnostics) = lexicon(
            LEXICON
                .replace("ignore_me = \"x\"\n", "KO = \"khác\"\n\"a b\" = \"c\"\nx = \"\"\n")
                .as_str(),
        );
        assert_eq!(diagnostics.len(), 3, "{diagnostics:?}");
        assert!(diagnostics[0].starts_with("dialogs/_lexicon.toml:"), "{diagnostics:?}");
        let (_, diagnostics) = lexicon("[words]\nko = \"kho\u{302}ng\"\n");
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        let (_, diagnostics) = lexicon("[word]\nko = \"không\"\n");
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::dialog::load::SourceFile;
    use crate::dialog::strict::parse_strict;

    /// A small lexicon for the matcher's tests.
    pub(crate) fn sample() -> Lexicon {
        let contents = "ignore = [\"ạ\", \"ơi\", \"nhé\", \"mình\", \"em\"]\n[words]\nko = \"không\"\nk = \"không\"\ndc = \"được\"\nck = \"chuyển khoản\"\ntk = \"tài khoản\"\nntn = \"như thế nào\"\n[[context]]\nword = \"mk\"\nnear = [\"quên\", \"đổi\", \"nhập\"]\nmeans = \"mật khẩu\"\notherwise = \"mình\"\n";
        let files = [SourceFile { path: "_lexicon.toml".into(), contents: contents.into() }];
        let mut sink = Sink::new(&files);
        let raw = parse_strict::<RawLexicon>(&mut sink, 0, contents).expect("sample lexicon");
        let lexicon = compile(&mut sink, 0, &raw);
        assert!(sink.diagnostics.is_empty(), "{:?}", sink.diagnostics);
        lexicon
    }
}
