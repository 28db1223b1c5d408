//! Bad input gets an answer, never a panic: seeded random inputs (a bounded number of
//! cases, so CI stays fast) through the webhook event parser, the signature check and
//! the one-line report parser. Not a substitute for coverage-guided fuzzing (`cargo
//! fuzz`, not set up yet), but it runs on every `cargo test`.

use cnscd_bot::reports::definition::Definitions;
use cnscd_bot::reports::oneline::parse_report_args;
use cnscd_bot::zalo::envelope::Envelope;
use cnscd_bot::zalo::event::{Event, signing_fields};
use serde_json::{Value, json};

const CASES: usize = 3_000;
const POOL: &[&str] = &[
    "=",
    "==",
    " ",
    "\t",
    "\n",
    "\r",
    "0",
    "1",
    "-1",
    "1.5",
    "1,2",
    "9999999999999999999999",
    "lh",
    "vn",
    "T10",
    "T13",
    "10/2026",
    "2026-10",
    "W45",
    "W99",
    "có",
    "không",
    "đ",
    "Đăng",
    "ký",
    "\u{301}",
    "＝",
    "＋",
    "@",
    "«",
    "»",
    "\u{0}",
    "🙂",
    "a",
    "xx=",
    "=5",
    "/baocao",
    "k7m2q9",
    "ab=cd=ef",
    "",
];

fn random_text(rng: &mut fastrand::Rng) -> String {
    (0..rng.usize(0..12))
        .map(|_| POOL[rng.usize(..POOL.len())])
        .collect::<Vec<_>>()
        .join(if rng.bool() { " " } else { "" })
}

fn random_json(rng: &mut fastrand::Rng, depth: u32) -> Value {
    match rng.u8(0..7) {
        0 => Value::Null,
        1 => json!(rng.bool()),
        2 => json!(rng.i64(..)),
        3 => json!(random_text(rng)),
        4 if depth < 3 => {
            Value::Array((0..rng.usize(0..4)).map(|_| random_json(rng, depth + 1)).collect())
        }
        _ if depth < 3 => {
            let keys = [
                "event_name",
                "sender",
                "id",
                "message",
                "text",
                "msg_id",
                "user_id",
                "follower",
                "timestamp",
                "app_id",
                "attachments",
                "payload",
                "recipient",
            ];
            let mut map = serde_json::Map::new();
            for _ in 0..rng.usize(0..6) {
                map.insert(keys[rng.usize(..keys.len())].into(), random_json(rng, depth + 1));
            }
            if rng.bool() {
                let names =
                    ["user_send_text", "follow", "unfollow", "user_withdraw", "user_send_image"];
                map.insert("event_name".into(), json!(names[rng.usize(..names.len())]));
            }
            Value::Object(map)
        }
        _ => json!(random_text(rng)),
    }
}

/// And the webhook's one-pass reader (`envelope.rs`) reads every body as the `Value`
/// reader does.
#[test]
fn webhook_event_parser_never_panics() {
    let mut rng = fastrand::Rng::with_seed(8);
    for _ in 0..CASES {
        let body = random_json(&mut rng, 0);
        let _ = signing_fields(&body);
        let _ = Event::parse(&body);
        let bytes = serde_json::to_vec(&body).unwrap();
        assert_eq!(Envelope::read(&bytes).unwrap(), Envelope::from_value(&body), "{body}");
    }
}

#[test]
fn one_line_report_parser_never_panics() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/reports.toml");
    let defs = Definitions::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut rng = fastrand::Rng::with_seed(8);
    let now = cnscd_bot::calendar::UnixSecs(1_795_000_000); // Nov 2026, unix seconds
    for _ in 0..CASES {
        let _ = parse_report_args(&defs, &random_text(&mut rng), now);
    }
    // A 60 KB line is answered too.
    let _ = parse_report_args(&defs, &"9 ".repeat(30_000), now);
}
