//! Free-text understanding: rank the nodes whose examples, keywords or button labels look
//! most like what the citizen typed, then decide: answer, ask back, or admit a miss.
//!
//! Every example (and keyword, and the label of a button leading to a node) is one document
//! of syllables and syllable pairs, after folding and the lexicon (`lexicon.rs`). Documents
//! are ranked with BM25 (k1 = 1.2, b = 0.75, the usual IDF) over an inverted index of term
//! ids built here: posting lists of (document, term weight), walked once per message. (The
//! `bm25` crate did this before; it cost more than it gave, see BENCHMARKS.md.) A node scores
//! as its best document.
//! BM25 ranks but has no scale, so the decision uses a second, bounded measure per document:
//! the IDF-weighted share of the document found in the message ([`Candidate::confidence`]).
//! Typos: an unknown word of five letters or more is replaced by a known word one edit away,
//! and an unknown word that is two known syllables glued together ("matkhau") is split.
//! Pure: built once per dialog set, then read-only.

use std::fmt;
use std::sync::Arc;

use super::lexicon::Lexicon;
use super::model::{FastMap, Target};
use super::text;

/// Confidence at which the best node is answered directly (if clearly ahead).
pub(crate) const ACCEPT: f32 = 0.6;
/// Lowest confidence offered in an ask-back.
pub(crate) const ASK: f32 = 0.3;
/// Confidence at which a danger node (urgent dialog) wins over everything else.
pub(crate) const DANGER: f32 = 0.42;
/// Lowest confidence at which a danger node answers a scam in progress ([`Signals`]); below
/// it, the urgent dialog's start does.
const DANGER_LOW: f32 = 0.15;
/// An ordinary node this confident (the message is one of its examples) and a danger node
/// below `ACCEPT`: no warning.
const EVERYDAY: f32 = 0.95;
/// A node at least this confident, and at most [`SPECIFIC_GAP`] below a topic keyword of its
/// own dialog, is preferred to the topic's start.
const SPECIFIC: f32 = 0.45;
const SPECIFIC_GAP: f32 = 0.45;
/// The runner-up counts as close when its BM25 score is at least this share of the best.
const CLOSE: f32 = 0.8;
/// At most this many candidates in an ask-back.
const MAX_ASK: usize = 3;
/// Confidence is the F-measure of the share of the document found in the message and the
/// share of the message explained by the document, weighted towards the first (β < 1): a
/// chatty message around a whole example is fine, but a one-word example ("vâng") inside a
/// long message ("giá vàng hôm nay…") is no match.
const BETA: f32 = 0.6;

fn f_beta(doc_share: f32, query_share: f32) -> f32 {
    let b2 = BETA * BETA;
    let denominator = b2 * doc_share + query_share;
    if denominator <= 0.0 { 0.0 } else { (1.0 + b2) * doc_share * query_share / denominator }
}
/// A phrase of one word counts only when it is at least this share of the message.
const ONE_WORD_MIN_SHARE: f32 = 0.5;
/// BM25 term saturation and length normalization (the usual values).
const K1: f32 = 1.2;
const B: f32 = 0.75;
/// Only this many best documents get the (costlier) confidence computed.
const TOP_DOCS: usize = 24;
/// Score multipliers for the current node's own choices and for its dialog.
const BOOST_CHOICE: f32 = 1.5;
const BOOST_DIALOG: f32 = 1.2;
/// Confidence bonus for the same.
const BONUS_CHOICE: f32 = 0.15;
const BONUS_DIALOG: f32 = 0.05;

/// Where a document comes from; labels are weaker evidence than what admins wrote for matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Example,
    Keyword,
    /// A dialog-level keyword: it names the topic, not an answer inside it.
    Topic,
    Label,
}

impl Source {
    fn weight(self) -> f32 {
        match self {
            Source::Example | Source::Keyword => 1.0,
            Source::Topic => 0.8,
            Source::Label => 0.85,
        }
    }

    /// Labels are written for buttons, not for matching: a partial hit says little.
    fn confidence_weight(self) -> f32 {
        match self {
            Source::Example | Source::Keyword => 1.0,
            Source::Topic => 0.85,
            Source::Label => 0.7,
        }
    }
}

/// One phrase to index: the node it leads to, the text as written, where it comes from.
#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    pub(crate) target: Target,
    pub(crate) text: String,
    pub(crate) source: Source,
    /// The normalized words of `text`, when the loader has them already (empty: not yet).
    pub(crate) words: Vec<String>,
}

/// The index over all phrases of a dialog set (cheap to clone).
#[derive(Clone, Default)]
pub(crate) struct Intents {
    index: Option<Arc<Index>>,
}

impl fmt::Debug for Intents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (nodes, docs) = self.index.as_ref().map_or((0, 0), |i| (i.nodes.len(), i.docs.len()));
        write!(f, "Intents {{ nodes: {nodes}, docs: {docs} }}")
    }
}

struct Index {
    nodes: Vec<Target>,
    urgent: Vec<bool>,
    docs: Vec<Doc>,
    /// Term (syllable, or `a_b` for a pair) → id.
    vocabulary: FastMap<String, u32>,
    /// Term id → IDF.
    idf: Vec<f32>,
    /// Term id → (document, BM25 weight of the term in it, before IDF): the inverted index.
    postings: Vec<Vec<(u32, f32)>>,
    /// Normalized whole phrase → documents, for exact matches of short messages.
    exact: FastMap<String, Vec<u32>>,
    /// Known single syllables by length in chars, with their document frequency, for typo
    /// repair (a typo changes the length by at most one).
    words_by_len: Vec<Vec<(String, u32)>>,
}

struct Doc {
    node: u32,
    topic: bool,
    weight: f32,
    confidence_weight: f32,
    /// Term ids, sorted, each once.
    terms: Vec<u32>,
    /// Sum of the IDFs of `terms` (the denominator of the confidence).
    mass: f32,
}

/// A node the message may be about.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate<'i> {
    /// Borrowed from the index: ranking clones no target.
    pub(crate) target: &'i Target,
    /// BM25 of its best document, times source weight and context boost (for ranking).
    pub(crate) score: f32,
    /// 0..=1: the IDF-weighted share of its best-covered document found in the message,
    /// damped when much of the message is not explained (plus the context bonus).
    pub(crate) confidence: f32,
    pub(crate) urgent: bool,
    /// Its best evidence is a dialog-level keyword (it names the topic, not an answer).
    pub(crate) topic: bool,
}

/// A scam in progress: the danger node to open, or (none fits well) the urgent dialog.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Danger {
    Node(Target),
    Dialog(String),
}

/// What a message says about a scam, from its normalized words (folded, lexicon applied).
/// Word lists, not a model: each flag is a handful of syllables or syllable pairs that mean
/// the same whatever the topic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Signals {
    /// Money asked for or gone, a code, a link or app, a face scan, a lock or cut-off.
    pub(crate) threat: bool,
    /// Someone is calling, texting, sending or claiming to be someone.
    pub(crate) contact: bool,
    /// It is happening now, or just happened ("vừa", "đang", "có người", "lỡ", "bị lừa").
    pub(crate) now: bool,
    /// A question about scams in general ("có bao giờ", "nhận biết", "có thật không").
    pub(crate) general: bool,
    /// A should-I / is-it question ("có nên", "có phải").
    pub(crate) asking: bool,
    /// An everyday mistake ("chuyển nhầm", "chuyển sai") with nobody pressing for money.
    pub(crate) mistake: bool,
    /// Two words or fewer: a topic named ("bị lừa", "mất tiền"), not a story told.
    pub(crate) topic: bool,
}

impl Signals {
    pub(crate) fn of(words: &[String]) -> Signals {
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let has = |x: &str| w.contains(&x);
        let pair = |a: &str, b: &str| w.windows(2).any(|p| p[0] == a && p[1] == b);
        let any = |xs: &[&str]| xs.iter().any(|x| has(x));
        let any_pair = |xs: &[(&str, &str)]| xs.iter().any(|(a, b)| pair(a, b));
        let amount = w.iter().enumerate().any(|(i, x)| {
            let digits = x.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let unit = &x[digits.len()..];
            let next = w.get(i + 1).copied().unwrap_or_default();
            !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (matches!(unit, "k" | "tr" | "trieu") || matches!(next, "trieu" | "k" | "nghin"))
        });
        // "bị lừa" as something that happened, not "sợ bị lừa", "không bị lừa", "tiền bị lừa".
        let scammed = w.windows(2).enumerate().any(|(i, p)| {
            p == ["bi", "lua"]
                && !matches!(
                    i.checked_sub(1).map(|j| w[j]),
                    Some("so" | "khong" | "tien" | "de" | "tranh" | "neu")
                )
        });
        let lost = scammed
            || any_pair(&[
                ("mat", "tien"),
                ("mat", "het"),
                ("bi", "tru"),
                ("tru", "tien"),
                ("ke", "gian"),
            ]);
        // "có người chuyển tiền vào tài khoản mình": money coming in is no demand.
        let incoming = any_pair(&[("nguoi", "chuyen"), ("ai", "chuyen"), ("la", "chuyen")]);
        let money = (has("chuyen") && !incoming && (any(&["tien", "khoan", "het"]) || amount))
            || any(&["nap", "coc"])
            || any_pair(&[
                ("doi", "tien"),
                ("doi", "tra"),
                ("rut", "tien"),
                ("rut", "het"),
                ("vay", "tien"),
                ("hoi", "vay"),
                ("muon", "tien"),
                ("dong", "tien"),
                ("nop", "tien"),
                ("dong", "phi"),
                ("nop", "phi"),
                ("chuyen", "phi"),
                ("tra", "phi"),
                ("phi", "ship"),
                ("phi", "van"),
            ]);
        let info = pair("cung", "cap") && any(&["khoan", "khau", "otp", "cuoc", "anh", "tin"]);
        let code = has("otp") || (has("ma") && any(&["doc", "xin", "dua"]));
        let link = any(&["link", "click", "apk"]);
        let face =
            any_pair(&[("quet", "mat"), ("quay", "mat"), ("khuon", "mat"), ("goi", "video")])
                || has("camera");
        let lock = any_pair(&[
            ("bi", "khoa"),
            ("se", "khoa"),
            ("tam", "khoa"),
            ("khoa", "tai"),
            ("cat", "dien"),
            ("cat", "nuoc"),
        ]);
        // Someone calling or a stranger speaking ("có người", "họ nói"); with a message or a
        // chat, someone is contacting the citizen.
        let caller = any(&["goi", "xung", "alo"])
            || any_pair(&[
                ("co", "nguoi"),
                ("nguoi", "la"),
                ("so", "la"),
                ("ai", "do"),
                ("nguoi", "ta"),
                ("ho", "bao"),
                ("ho", "noi"),
                ("gia", "danh"),
                ("mao", "danh"),
            ]);
        let contact = caller
            || has("gui")
            || (has("nhan") && any(&["zalo", "facebook"]))
            || any_pair(&[
                ("nhan", "tin"),
                ("tin", "nhan"),
                ("nhan", "zalo"),
                ("nhan", "facebook"),
                ("ho", "bat"),
                ("ho", "doi"),
                ("no", "bao"),
            ]);
        let install = any(&["cai", "tai"]) && pair("ung", "dung");
        let pressed = any(&["bat", "bao", "doi", "ep", "doa"]);
        // The opening line of a scam script, told by a caller or a stranger: a prize, a
        // refund, a debt, an accident of a relative, a parcel held, a money-laundering case
        // is a scam even before money is named. A shop's or carrier's own text about a
        // refund or a bill is not, so a message ("tin nhắn") alone does not count here.
        let prize = any_pair(&[("trung", "thuong"), ("trung", "giai")]);
        let hook = prize
            || any_pair(&[
                ("rua", "tien"),
                ("hoan", "tien"),
                ("no", "tien"),
                ("no", "cuoc"),
                ("tai", "nan"),
                ("buu", "pham"),
            ]);
        let threat = money
            || info
            || code
            || link
            || face
            || lost
            || (install && (contact || pressed))
            || (lock && contact)
            || (amount && contact)
            || (hook && caller)
            || (prize && pair("thong", "bao"));
        // "đang nhập" and "đăng ký" fold to "dang" too.
        let doing = w.windows(2).any(|p| p[0] == "dang" && !matches!(p[1], "nhap" | "ky"))
            || w.last() == Some(&"dang");
        let now = doing
            || lost
            || any(&["vua", "xung"])
            || (has("lo") && !pair("neu", "lo"))
            || (has("cuu") && !pair("cap", "cuu"))
            || any_pair(&[
                ("co", "nguoi"),
                ("ai", "do"),
                ("nguoi", "la"),
                ("nguoi", "ta"),
                ("so", "la"),
                ("da", "chuyen"),
                ("da", "doc"),
                ("da", "bam"),
                ("da", "cai"),
                ("da", "nap"),
            ]);
        // "ngân hàng có gọi đòi OTP không": asking whether they do it, not telling it happened.
        let do_they = w.last() == Some(&"khong")
            && w.windows(2).any(|p| {
                p[0] == "co"
                    && matches!(p[1], "goi" | "nhan" | "gui" | "xin" | "doi" | "bat" | "yeu")
            });
        let general = do_they
            || w.windows(3).any(|t| t == ["co", "bao", "gio"])
            || any_pair(&[
                ("nhan", "biet"),
                ("phan", "biet"),
                ("dau", "hieu"),
                ("that", "co"),
                ("co", "that"),
                ("de", "phong"),
                ("neu", "lo"),
            ]);
        let asking = any_pair(&[("co", "nen"), ("co", "phai")]);
        let mistake =
            any(&["nham", "sai"]) && !any(&["doi", "bat", "ep", "doa", "xung", "lua", "gian"]);
        let topic = w.len() <= 2;
        Signals { threat, contact, now, general, asking, mistake, topic }
    }

    /// Worth a warning at all (before looking at how well a danger example fits).
    fn alarming(self) -> bool {
        // A general question counts only when it is happening now; a should-I question
        // when someone is contacting them too.
        let general_ok = self.now || !self.general;
        let asking_ok = self.now || self.contact || !self.asking;
        self.threat && general_ok && asking_ok && !self.mistake
    }

    /// A scam in progress: a threat with someone contacting, or happening now.
    fn in_progress(self) -> bool {
        self.alarming() && (self.contact || self.now) && !self.topic
    }
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    Answer(Target),
    AskBack(Vec<Target>),
    Miss,
}

/// Where the conversation is, for boosting nearby nodes.
pub(crate) struct Context<'a> {
    pub(crate) dialog: &'a str,
    pub(crate) choices: Vec<&'a Target>,
}

/// A normalized message, already scored against every document (one index walk).
pub(crate) struct Query {
    words: Vec<String>,
    /// `words`, space-separated (the key of exact matches).
    joined: String,
    /// Term id of each word (`None`: unknown).
    word_ids: Vec<Option<u32>>,
    /// Term ids of the words and pairs, sorted, each once.
    term_ids: Vec<u32>,
    /// (document, BM25 score times the document's source weight) for every document sharing
    /// a term: `[ordinary, urgent]`, split once here because `rank` runs up to three times
    /// per message, each time on one side only.
    hits: [Vec<(u32, f32)>; 2],
}

impl Query {
    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The normalized words, space-separated.
    pub(crate) fn joined(&self) -> &str {
        &self.joined
    }
}

fn idf(n_docs: usize, df: u32) -> f32 {
    let n = n_docs as f32;
    let df = df as f32;
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

impl Intents {
    /// Builds the index. `urgent` tells which dialogs hold danger intents.
    pub(crate) fn build(
        phrases: &[Phrase],
        lexicon: &Lexicon,
        urgent: &dyn Fn(&str) -> bool,
    ) -> Intents {
        let mut nodes: Vec<Target> = Vec::new();
        let mut node_ids: FastMap<&Target, u32> = FastMap::default();
        let mut docs: Vec<Doc> = Vec::new();
        let mut exact: FastMap<String, Vec<u32>> = FastMap::default();
        let mut vocabulary: FastMap<String, u32> = FastMap::default();
        // Each document's term ids in order, duplicates kept (BM25 counts them).
        let mut texts: Vec<Vec<u32>> = Vec::new();
        for phrase in phrases {
            let normalized;
            let words = if phrase.words.is_empty() {
                normalized = lexicon.normalize(&phrase.text);
                &normalized
            } else {
                &phrase.words
            };
            if words.is_empty() {
                continue;
            }
            let node = *node_ids.entry(&phrase.target).or_insert_with(|| {
                nodes.push(phrase.target.clone());
                (nodes.len() - 1) as u32
            });
            let id = docs.len() as u32;
            exact.entry(words.join(" ")).or_default().push(id);
            // Unigrams then bigrams (`a_b`), duplicates kept (BM25 counts them). Looked up by
            // reference: a term is copied only the first time it is seen.
            let mut text: Vec<u32> = Vec::with_capacity(2 * words.len());
            let mut id_of = |term: &str| match vocabulary.get(term) {
                Some(id) => *id,
                None => {
                    let id = vocabulary.len() as u32;
                    vocabulary.insert(term.to_owned(), id);
                    id
                }
            };
            for word in words {
                text.push(id_of(word));
            }
            let mut pair = String::new();
            for p in words.windows(2) {
                pair.clear();
                pair.push_str(&p[0]);
                pair.push('_');
                pair.push_str(&p[1]);
                text.push(id_of(&pair));
            }
            let mut terms = text.clone();
            terms.sort_unstable();
            terms.dedup();
            texts.push(text);
            docs.push(Doc {
                node,
                topic: phrase.source == Source::Topic,
                weight: phrase.source.weight(),
                confidence_weight: phrase.source.confidence_weight(),
                terms,
                mass: 0.0,
            });
        }
        if docs.is_empty() {
            return Intents::default();
        }
        let n_docs = docs.len();
        let mut df = vec![0u32; vocabulary.len()];
        for doc in &docs {
            for term in &doc.terms {
                df[*term as usize] += 1;
            }
        }
        let idf: Vec<f32> = df.iter().map(|df| idf(n_docs, *df)).collect();
        let avgdl = texts.iter().map(Vec::len).sum::<usize>() as f32 / n_docs as f32;
        let mut postings: Vec<Vec<(u32, f32)>> =
            df.iter().map(|df| Vec::with_capacity(*df as usize)).collect();
        for (id, (doc, text)) in docs.iter_mut().zip(&texts).enumerate() {
            doc.mass = doc.terms.iter().map(|t| idf[*t as usize]).sum();
            let norm = K1 * (1.0 - B + B * text.len() as f32 / avgdl);
            for term in &doc.terms {
                let tf = text.iter().filter(|t| *t == term).count() as f32;
                postings[*term as usize].push((id as u32, tf * (K1 + 1.0) / (tf + norm)));
            }
        }
        let mut words_by_len: Vec<Vec<(String, u32)>> = Vec::new();
        for (term, id) in &vocabulary {
            if term.contains('_') {
                continue;
            }
            let len = term.chars().count();
            if words_by_len.len() <= len {
                words_by_len.resize_with(len + 1, Vec::new);
            }
            words_by_len[len].push((term.clone(), df[*id as usize]));
        }
        for bucket in &mut words_by_len {
            bucket.sort();
        }
        let urgent = nodes.iter().map(|t| urgent(&t.dialog)).collect();
        Intents {
            index: Some(Arc::new(Index {
                nodes,
                urgent,
                docs,
                vocabulary,
                idf,
                postings,
                exact,
                words_by_len,
            })),
        }
    }

    /// Folded, lexicon-expanded and typo-repaired words of a message (as typed), scored.
    pub(crate) fn query(&self, lexicon: &Lexicon, typed: &str) -> Query {
        let words = lexicon.normalize(typed);
        let Some(index) = &self.index else {
            let joined = words.join(" ");
            let (word_ids, term_ids, hits) = (Vec::new(), Vec::new(), [Vec::new(), Vec::new()]);
            return Query { words, joined, word_ids, term_ids, hits };
        };
        let words = index.repair(words);
        let word_ids: Vec<Option<u32>> =
            words.iter().map(|w| index.vocabulary.get(w).copied()).collect();
        // Query terms count with their repeats, as BM25 sums over the query's terms.
        let mut pair = String::new();
        let pairs = words.windows(2).map(|p| {
            pair.clear();
            pair.push_str(&p[0]);
            pair.push('_');
            pair.push_str(&p[1]);
            index.vocabulary.get(&pair).copied()
        });
        let all: Vec<u32> = word_ids.iter().copied().chain(pairs).flatten().collect();
        let hits = SCORES.with_borrow_mut(|scores| index.score(&all, scores));
        let mut term_ids = all;
        term_ids.sort_unstable();
        term_ids.dedup();
        let joined = words.join(" ");
        Query { words, joined, word_ids, term_ids, hits }
    }

    /// Candidates, best first, each node once; `only_urgent` restricts to danger nodes,
    /// otherwise danger nodes are left out.
    pub(crate) fn rank(
        &self,
        query: &Query,
        only_urgent: bool,
        context: Option<&Context<'_>>,
    ) -> Vec<Candidate<'_>> {
        let Some(index) = &self.index else { return Vec::new() };
        if query.is_empty() {
            return Vec::new();
        }
        let exact: &[u32] = index.exact.get(&query.joined).map(Vec::as_slice).unwrap_or_default();
        let hits = query.hits[usize::from(only_urgent)].iter();
        let scored = top_docs(
            hits.map(|&(id, score)| (id, if exact.contains(&id) { score * 2.0 } else { score })),
        );
        let n_docs = index.docs.len();
        // Unknown words count half a rare word: chatter should not sink a clear match.
        let unknown = 0.5 * idf(n_docs, 1);
        let weight_of = |id: Option<u32>| id.map_or(unknown, |id| index.idf[id as usize]);
        let query_mass: f32 =
            query.word_ids.iter().map(|id| weight_of(*id)).sum::<f32>().max(f32::MIN_POSITIVE);
        // Best per node, in first-seen order (at most `TOP_DOCS`, so a linear search); the
        // target is cloned once per node, not once per document.
        let mut by_node: Vec<(u32, Candidate)> = Vec::with_capacity(scored.len());
        for (id, score) in scored {
            let doc = &index.docs[id as usize];
            let target = &index.nodes[doc.node as usize];
            let confidence = if exact.contains(&id) {
                doc.confidence_weight.max(ACCEPT)
            } else {
                let found = sorted_common(&doc.terms, &query.term_ids)
                    .map(|t| index.idf[t as usize])
                    .sum::<f32>();
                let found_words: f32 = query
                    .word_ids
                    .iter()
                    .flatten()
                    .filter(|id| doc.terms.binary_search(id).is_ok())
                    .map(|id| index.idf[*id as usize])
                    .sum();
                let doc_share = found / doc.mass.max(f32::MIN_POSITIVE);
                let query_share = (found_words / query_mass).min(1.0);
                if doc.terms.len() == 1 && query_share < ONE_WORD_MIN_SHARE {
                    // A one-word phrase ("thôi nhé" → "thoi") inside a longer message
                    // ("thời tiết Huế…" folds to "thoi tiet hue") says nothing about it.
                    continue;
                }
                f_beta(doc_share, query_share) * doc.confidence_weight
            };
            let (boost, bonus) = match context {
                Some(c) if c.choices.contains(&target) => (BOOST_CHOICE, BONUS_CHOICE),
                Some(c) if c.dialog == target.dialog => (BOOST_DIALOG, BONUS_DIALOG),
                _ => (1.0, 0.0),
            };
            let score = score * boost;
            let confidence = (confidence + bonus).min(1.0);
            match by_node.iter_mut().find(|(node, _)| *node == doc.node) {
                Some((_, best)) => {
                    if confidence > best.confidence {
                        best.topic = doc.topic;
                    }
                    best.score = best.score.max(score);
                    best.confidence = best.confidence.max(confidence);
                }
                None => by_node.push((
                    doc.node,
                    Candidate {
                        target,
                        score,
                        confidence,
                        urgent: index.urgent[doc.node as usize],
                        topic: doc.topic,
                    },
                )),
            }
        }
        let mut candidates: Vec<Candidate> = by_node.into_iter().map(|(_, c)| c).collect();
        // Each node once, so no two candidates compare equal: the unstable sort (no buffer)
        // gives the same order as a stable one.
        candidates.sort_unstable_by(|a, b| {
            b.score.total_cmp(&a.score).then_with(|| a.target.cmp(b.target))
        });
        candidates
    }

    /// The best candidates (danger and ordinary), for `check --explain`.
    pub(crate) fn explain(&self, query: &Query) -> Vec<Candidate<'_>> {
        let mut all = self.rank(query, true, None);
        all.truncate(2);
        let mut ordinary = self.rank(query, false, None);
        ordinary.truncate(4);
        all.extend(ordinary);
        all
    }

    /// The danger node the message is about, if any. A warning needs a threat in the message
    /// (money or a code asked for, a link or app, a face scan, a lock, money already gone,
    /// see [`Signals`]): a topic word alone ("sinh trắc học", "OTP") is everyday business.
    /// A threat with someone contacting the citizen, or happening now, is a scam in progress
    /// even when no danger example covers it well (then the urgent dialog's start answers);
    /// a question about scams in general is not.
    pub(crate) fn danger(&self, query: &Query) -> Option<Danger> {
        let index = self.index.as_ref()?;
        // The message is one of a danger node's own phrases ("khẩn cấp").
        let exact = index.exact.get(&query.joined).into_iter().flatten();
        if let Some(doc) =
            exact.map(|id| &index.docs[*id as usize]).find(|d| index.urgent[d.node as usize])
        {
            return Some(Danger::Node(index.nodes[doc.node as usize].clone()));
        }
        let signals = Signals::of(&query.words);
        if !signals.alarming() {
            return None;
        }
        let candidates = self.rank(query, true, None);
        if signals.in_progress() {
            return Some(match candidates.iter().find(|c| c.confidence >= DANGER_LOW) {
                Some(best) => Danger::Node(best.target.clone()),
                None => {
                    let dialog = candidates.first().map(|c| c.target).or_else(|| {
                        index.nodes.iter().zip(&index.urgent).find(|(_, u)| **u).map(|(t, _)| t)
                    })?;
                    Danger::Dialog(dialog.dialog.clone())
                }
            });
        }
        // A threat nobody is pressing now ("tài khoản có bị khóa không"): only a danger
        // example that fits well warns, and not when an ordinary answer fits completely.
        let best = candidates
            .iter()
            .filter(|c| c.confidence >= DANGER)
            .max_by(|a, b| a.confidence.total_cmp(&b.confidence))?;
        let ordinary = self.rank(query, false, None);
        let ordinary_confidence = ordinary.iter().map(|c| c.confidence).fold(0.0, f32::max);
        if ordinary_confidence >= EVERYDAY && best.confidence < ACCEPT {
            return None;
        }
        Some(Danger::Node(best.target.clone()))
    }

    /// Answer, ask back or miss, for ordinary (not danger) nodes.
    pub(crate) fn decide(&self, query: &Query, context: Option<&Context<'_>>) -> Decision {
        decide(&self.rank(query, false, context))
    }
}

// Scratch for `Index::score`: one dense score per document, all zero between uses. Kept
// per thread so a query neither allocates nor clears a vector of every document.
thread_local! {
    static SCORES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A scored document: (document id, score).
type Scored = (u32, f32);

/// Orders scored documents by score, best first; ties by id, so the order is total.
#[derive(Clone, Copy)]
struct ByScore(Scored);

impl PartialEq for ByScore {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for ByScore {}
impl PartialOrd for ByScore {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByScore {
    /// "Less" is better: a higher score, or the same score and a lower id.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.1.total_cmp(&self.0.1).then(self.0.0.cmp(&other.0.0))
    }
}

/// The best `TOP_DOCS` of `scored`, best first. One pass with a heap whose top is the worst
/// kept: most documents of a common word lose one comparison against it and are never
/// stored (copying every hit to select from them was a tenth of a step).
fn top_docs(scored: impl Iterator<Item = Scored>) -> Vec<Scored> {
    let mut heap: std::collections::BinaryHeap<ByScore> =
        std::collections::BinaryHeap::with_capacity(TOP_DOCS);
    // The worst kept score: anything strictly below it loses without the full comparison.
    let mut floor = f32::NEG_INFINITY;
    for doc in scored.map(ByScore) {
        if heap.len() < TOP_DOCS {
            heap.push(doc);
        } else if doc.0.1 >= floor
            && let Some(mut worst) = heap.peek_mut()
            && doc < *worst
        {
            *worst = doc;
        } else {
            continue;
        }
        if heap.len() == TOP_DOCS {
            floor = heap.peek().map_or(floor, |worst| worst.0.1);
        }
    }
    heap.into_sorted_vec().into_iter().map(|d| d.0).collect()
}

/// The thresholds, applied to ranked candidates.
pub(crate) fn decide(candidates: &[Candidate<'_>]) -> Decision {
    // A topic keyword ("khai sinh") gives way to a node of the same dialog that answers
    // about as well: the citizen gets the answer, not the topic's menu.
    let specific = |topic: &Candidate<'_>| {
        candidates.iter().any(|c| {
            !c.topic
                && c.target.dialog == topic.target.dialog
                && c.confidence >= SPECIFIC
                && c.confidence >= topic.confidence - SPECIFIC_GAP
                // The whole message is the topic keyword: only a clear answer replaces it.
                && (topic.confidence < Source::Topic.confidence_weight() || c.confidence >= ACCEPT)
        })
    };
    let kept: Vec<&Candidate<'_>> =
        candidates.iter().filter(|c| !(c.topic && specific(c))).collect();
    let candidates = kept.as_slice();
    let Some(best) = candidates.first() else { return Decision::Miss };
    // The best by confidence may sit lower in BM25 order (a short keyword fully present).
    let confident = candidates
        .iter()
        .filter(|c| c.confidence >= ACCEPT)
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence));
    let close: Vec<&Candidate<'_>> = candidates
        .iter()
        .filter(|c| c.confidence >= ASK && c.score >= CLOSE * best.score)
        .take(MAX_ASK)
        .copied()
        .collect();
    if let Some(winner) = confident {
        let rivals = candidates.iter().filter(|c| {
            c.target != winner.target
                && c.confidence >= winner.confidence - 0.1
                && c.score >= CLOSE * winner.score
        });
        if rivals.count() == 0 {
            return Decision::Answer(winner.target.clone());
        }
    }
    match close.as_slice() {
        [] => Decision::Miss,
        [one] if one.confidence >= ACCEPT => Decision::Answer(one.target.clone()),
        _ => Decision::AskBack(close.iter().map(|c| c.target.clone()).collect()),
    }
}

/// The values in both sorted lists.
fn sorted_common<'a>(a: &'a [u32], b: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                    return Some(a[i - 1]);
                }
            }
        }
        None
    })
}

impl Index {
    /// BM25 of every document sharing a term of `terms` (repeats count), times its source
    /// weight, split into `[ordinary, urgent]`. `scores` is all zero on entry and on return.
    fn score(&self, terms: &[u32], scores: &mut Vec<f32>) -> [Vec<Scored>; 2] {
        if scores.len() < self.docs.len() {
            scores.resize(self.docs.len(), 0.0);
        }
        let postings: usize = terms.iter().map(|t| self.postings[*t as usize].len()).sum();
        let mut touched: Vec<u32> = Vec::with_capacity(postings.min(self.docs.len()));
        for term in terms {
            let idf = self.idf[*term as usize];
            for (doc, weight) in &self.postings[*term as usize] {
                let score = &mut scores[*doc as usize];
                if *score == 0.0 {
                    touched.push(*doc);
                }
                *score += idf * weight;
            }
        }
        let mut hits: [Vec<Scored>; 2] = [Vec::with_capacity(touched.len()), Vec::new()];
        for doc in touched {
            let meta = &self.docs[doc as usize];
            let urgent = self.urgent[meta.node as usize];
            let score = std::mem::take(&mut scores[doc as usize]);
            hits[usize::from(urgent)].push((doc, score * meta.weight));
        }
        hits
    }

    /// Replaces unknown words by a known word one typo away, or splits two glued syllables.
    fn repair(&self, words: Vec<String>) -> Vec<String> {
        let mut out = Vec::with_capacity(words.len());
        for word in words {
            if self.vocabulary.contains_key(&word) || word.bytes().all(|b| b.is_ascii_digit()) {
                out.push(word);
                continue;
            }
            let len = word.chars().count();
            if len >= text::TYPO_MIN_WORD_CHARS
                && let Some((known, _)) = (len - 1..=len + 1)
                    .filter_map(|l| self.words_by_len.get(l))
                    .flatten()
                    .filter(|(w, _)| text::word_matches(w, &word))
                    .max_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
            {
                out.push(known.clone());
                continue;
            }
            let split = (2..word.len().saturating_sub(1))
                .filter(|i| word.is_char_boundary(*i))
                .map(|i| word.split_at(i))
                .find(|(a, b)| {
                    self.vocabulary.contains_key(*a) && self.vocabulary.contains_key(*b)
                });
            match split {
                Some((a, b)) => {
                    out.push(a.to_owned());
                    out.push(b.to_owned());
                }
                None => out.push(word),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(dialog: &str, node: &str) -> Target {
        Target { dialog: dialog.to_owned(), node: node.to_owned() }
    }

    fn intents() -> Intents {
        let phrases = [
            ("dvc", "mat_khau", "quên mật khẩu VNeID", Source::Example),
            ("dvc", "mat_khau", "lấy lại mật khẩu", Source::Example),
            ("dvc", "tao_tk", "tạo tài khoản VNeID", Source::Example),
            ("dvc", "tao_tk", "đăng ký VNeID", Source::Example),
            ("dvc", "bat_dau", "dịch vụ công", Source::Keyword),
            ("dvc", "bat_dau", "vneid", Source::Keyword),
            ("tt", "loi_ck", "chuyển khoản bị lỗi", Source::Example),
            ("tt", "nham", "chuyển khoản nhầm người", Source::Example),
            ("tc", "cam_on", "cảm ơn", Source::Example),
            ("tc", "ok", "ok", Source::Example),
            ("tc", "alo", "alo có ai không", Source::Example),
            ("tc", "tam_biet", "thôi", Source::Example),
            ("tt", "tien_dien", "trả tiền điện", Source::Example),
            ("kc", "dien", "điện lực gọi đòi trả tiền điện ngay kẻo cắt", Source::Example),
            ("kc", "cong_an", "công an gọi bắt chuyển tiền điều tra", Source::Example),
        ];
        let phrases: Vec<Phrase> = phrases
            .iter()
            .map(|(d, n, t, s)| Phrase {
                target: target(d, n),
                text: (*t).to_owned(),
                source: *s,
                words: Vec::new(),
            })
            .collect();
        let lexicon = crate::dialog::lexicon::tests_support::sample();
        Intents::build(&phrases, &lexicon, &|d| d == "kc")
    }

    #[test]
    fn decision_table() {
        let intents = intents();
        let lexicon = crate::dialog::lexicon::tests_support::sample();
        let answer = |d, n| Decision::Answer(target(d, n));
        let cases = [
            ("quen mk vneid", answer("dvc", "mat_khau")),
            ("Quên mật khẩu", answer("dvc", "mat_khau")),
            ("dang ky vneid the nao", answer("dvc", "tao_tk")),
            ("vneid", answer("dvc", "bat_dau")),
            ("ck bi loi", answer("tt", "loi_ck")),
            ("cam on", answer("tc", "cam_on")),
            ("ok", answer("tc", "ok")),
            ("alo co ai ko", answer("tc", "alo")),
            ("taikhoan vnied", answer("dvc", "tao_tk")),
            ("thoi tiet hom nay", Decision::Miss),
            ("thôi", answer("tc", "tam_biet")),
            // A one-word phrase inside a longer message says nothing.
            ("thoi tiet hue ngay mai", Decision::Miss),
            ("", Decision::Miss),
        ];
        for (message, expected) in cases {
            let query = intents.query(&lexicon, &text::fold(message));
            assert_eq!(intents.decide(&query, None), expected, "{message:?}");
        }
        let query = intents.query(&lexicon, "chuyen khoan");
        let ranked = intents.rank(&query, false, None);
        assert!(
            matches!(intents.decide(&query, None), Decision::AskBack(ref c) if c.len() == 2),
            "{ranked:?}"
        );
    }

    #[test]
    fn danger_is_found_and_kept_apart() {
        let intents = intents();
        let lexicon = crate::dialog::lexicon::tests_support::sample();
        let query = intents.query(&lexicon, "co nguoi xung cong an goi bat chuyen tien");
        assert_eq!(intents.danger(&query), Some(Danger::Node(target("kc", "cong_an"))));
        assert!(!matches!(intents.decide(&query, None), Decision::Answer(t) if t.dialog == "kc"));
        let query = intents.query(&lexicon, "quen mat khau");
        assert_eq!(intents.danger(&query), None);
        // Everyday business that is one of an ordinary node's examples is no danger…
        let query = intents.query(&lexicon, "tra tien dien");
        assert_eq!(intents.danger(&query), None);
        // …but the threat around it is.
        let query = intents.query(&lexicon, "dien luc goi doi tra tien dien ngay keo cat");
        assert_eq!(intents.danger(&query), Some(Danger::Node(target("kc", "dien"))));
    }

    #[test]
    fn danger_needs_a_threat_not_a_topic_word() {
        let intents = intents();
        let lexicon = crate::dialog::lexicon::tests_support::sample();
        let node = |n| Some(Danger::Node(target("kc", n)));
        let start = Some(Danger::Dialog("kc".to_owned()));
        let cases = [
            // A threat and someone pressing now: the closest danger node, or the start.
            ("cong an goi bat chuyen tien de dieu tra gap", node("cong_an")),
            ("vua co so la nhan tin xin ma otp", start.clone()),
            ("ho gui link bao bam vao de nhan qua", start.clone()),
            ("tk bi tru het tien sau khi lam theo nguoi ta", start.clone()),
            // One of a danger node's own phrases.
            ("công an gọi bắt chuyển tiền điều tra", node("cong_an")),
            // Topic words, general questions, everyday mistakes: no warning.
            ("cong an co bao gio goi dien bat chuyen tien khong", None),
            ("lam sao nhan biet tin nhan gia ngan hang", None),
            ("co nen dua otp cho nhan vien ngan hang khong", None),
            ("lo chuyen tien sai tai khoan", None),
            ("tu nhien co nguoi chuyen tien vao tai khoan", None),
            ("cap nhat sinh trac hoc ngan hang o dau", None),
            ("lua dao", None),
            ("neu lo bam vao link la thi lam gi", None),
        ];
        for (message, expected) in cases {
            let query = intents.query(&lexicon, message);
            assert_eq!(intents.danger(&query), expected, "{message:?}");
        }
    }

    #[test]
    fn signals_table() {
        let lexicon = crate::dialog::lexicon::tests_support::sample();
        // (message, threat, contact, now, general, asking, mistake)
        let cases = [
            ("co nguoi goi xung cong an bat chuyen tien", true, true, true, false, false, false),
            ("ngan hang nhan tin tk se khoa kem link", true, true, false, false, false, false),
            ("toi bi lua mat 30 trieu", true, false, true, false, false, false),
            ("so bi lua khi mua hang", false, false, false, false, false, false),
            ("dang nhap vneid khong duoc", false, false, false, false, false, false),
            ("dang bi ep nap 5tr de rut tien", true, false, true, false, false, false),
            ("dien luc that co nhan tin doi tien khong", true, true, false, true, false, false),
            ("co phai lua dao khong", false, false, false, false, true, false),
            ("ck nham cho nguoi ta 500k", true, true, true, false, false, true),
            ("giay trieu tap qua zalo", false, false, false, false, false, false),
            ("ho bao cai ung dung de hoan tien", true, true, false, false, false, false),
            ("nen cai ung dung nao cua tinh", false, false, false, false, false, false),
            ("doi cung cap so tai khoan", true, false, false, false, false, false),
            ("ngan hang co goi dien doi otp khong", true, true, false, true, false, false),
            ("zalo anh trai nhan muon 10 trieu", true, true, false, false, false, false),
            ("co nguoi goi bao toi trung thuong", true, true, true, false, false, false),
            ("cong an goi bao toi lien quan rua tien", true, true, false, false, false, false),
            ("lam sao nhan biet tin nhan trung thuong gia", false, true, false, true, false, false),
            ("shopee nhan tin hoan tien vao vi roi", false, true, false, false, false, false),
            ("nha mang gui tin nhan bao no cuoc", false, true, false, false, false, false),
            ("tin nhan tu so la bao trung giai thuong lon", true, true, true, false, false, false),
            ("trung thuong la gi", false, false, false, false, false, false),
            ("toi duoc thong bao trung thuong xe may", true, false, false, false, false, false),
            ("nguoi ta goi bao con bi tai nan can tien gap", true, true, true, false, false, false),
            ("co so la goi noi toi no tien the tin dung", true, true, true, false, false, false),
            ("ho noi toi co buu pham bi giu phai dong phi", true, true, false, false, false, false),
            ("hoan tien don hang mat bao lau", false, false, false, false, false, false),
        ];
        for (message, threat, contact, now, general, asking, mistake) in cases {
            let words = lexicon.normalize(message);
            let s = Signals::of(&words);
            assert_eq!(
                (s.threat, s.contact, s.now, s.general, s.asking, s.mistake),
                (threat, contact, now, general, asking, mistake),
                "{message:?}: {s:?}"
            );
        }
    }

    #[test]
    fn context_boosts_the_current_dialog() {
        let intents = intents();
        let lexicon = crate::dialog::lexicon::tests_support::sample();
        let query = intents.query(&lexicon, "ck nham");
        let nham = target("tt", "nham");
        let context = Context { dialog: "tt", choices: vec![&nham] };
        let ranked = intents.rank(&query, false, Some(&context));
        assert_eq!(
            intents.decide(&query, Some(&context)),
            Decision::Answer(nham.clone()),
            "{ranked:?}"
        );
    }
}
