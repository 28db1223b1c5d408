//! The admin API gives instants as ISO 8601 in Vietnam time (`2026-11-25T10:00:00+07:00`),
//! not epoch numbers. Handlers and stored records keep integers; one response layer
//! rewrites every JSON field named `*_at` (Unix seconds) or `*_at_ms` (milliseconds,
//! renamed to `*_at`) and `at`, at any depth.

use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::calendar::{UTC_OFFSET_SECS, civil_from_days};

/// `2026-11-25T10:00:00+07:00`.
pub fn iso8601(unix_secs: i64) -> String {
    let local = unix_secs + UTC_OFFSET_SECS;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let s = local.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+07:00", s / 3600, s % 3600 / 60, s % 60)
}

/// Rewrites the instants of a JSON value in place (see the module docs).
pub fn rewrite(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(rewrite),
        Value::Object(map) => {
            let old = std::mem::take(map);
            let mut out = Map::with_capacity(old.len());
            for (key, mut v) in old {
                if let (Some(stem), Some(ms)) = (key.strip_suffix("_at_ms"), v.as_i64()) {
                    out.insert(format!("{stem}_at"), Value::String(iso8601(ms.div_euclid(1000))));
                } else if (key.ends_with("_at") || key == "at")
                    && let Some(secs) = v.as_i64()
                {
                    out.insert(key, Value::String(iso8601(secs)));
                } else {
                    rewrite(&mut v);
                    out.insert(key, v);
                }
            }
            *map = out;
        }
        _ => {}
    }
}

/// Response layer: JSON bodies of admin routes get ISO dates.
pub async fn iso_dates(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    rewrite(&mut value);
    let out = serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn instants_become_vietnam_time_iso_8601() {
        let cases = [
            (0, "1970-01-01T07:00:00+07:00"),
            (1_795_575_600, "2026-11-25T10:00:00+07:00"),
            (1_795_575_600 + 59, "2026-11-25T10:00:59+07:00"),
            (-1, "1970-01-01T06:59:59+07:00"),
        ];
        for (secs, want) in cases {
            assert_eq!(iso8601(secs), want, "{secs}");
        }
    }

    #[test]
    fn at_fields_are_rewritten_at_any_depth() {
        let mut v = json!({
            "expires_at": 0, "created_at_ms": 1000, "at": 0, "version": 3,
            "items": [{"joined_at": 0, "withdrawn_at": null, "name": "x"}],
            "last_reload": {"at": 0}
        });
        rewrite(&mut v);
        assert_eq!(
            v,
            json!({
                "expires_at": "1970-01-01T07:00:00+07:00",
                "created_at": "1970-01-01T07:00:01+07:00",
                "at": "1970-01-01T07:00:00+07:00",
                "version": 3,
                "items": [{"joined_at": "1970-01-01T07:00:00+07:00", "withdrawn_at": null, "name": "x"}],
                "last_reload": {"at": "1970-01-01T07:00:00+07:00"}
            })
        );
    }
}
