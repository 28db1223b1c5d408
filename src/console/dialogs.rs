//! Kịch bản (province-level administrators only): the live dialog version, load errors
//! and warnings at file:line, stale facts, reload and rollback; editing one dialog file
//! in the browser ("Kiểm tra" runs the same validation and transcript tests as
//! `cnscd-bot check`; "Lưu" writes atomically only when there is no error, keeps the
//! previous file under `.history/`, records the change and reloads); and a test chat
//! that talks to the bot through the real pipeline as a test user.

use crate::calendar::UnixSecs;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::{ConsoleConfig, Province, blocking, check_csrf, fail, html, internal, render};
use crate::dialog::{self, Diagnostic, EngineOptions, LoadOptions, SourceFile, transcript};
use crate::dialog_runtime::{ReloadOutcome, read_dialog_dir, read_transcripts};
use crate::state::AppState;
use crate::store::console::{ChangeLogEntry, ConsoleSession};
use crate::store::{OutboxFilter, Store};

/// Outbox user ids of the console's test chat start with this; the sender never
/// passes their messages to Zalo (see `zalo::sender`).
pub use crate::zalo::LOCAL_TEST_USER_PREFIX as TEST_USER_PREFIX;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/kich-ban", get(page))
        .route("/admin/kich-ban/tai-lai", post(reload))
        .route("/admin/kich-ban/quay-lai", post(rollback))
        .route("/admin/kich-ban/sua", get(editor).post(edit))
        .route("/admin/kich-ban/thu", post(try_chat))
        .route("/admin/kich-ban/khoi-phuc", post(restore))
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

/// The most frequent messages the bot did not understand, shown on this page.
const UNMATCHED_ON_PAGE: usize = 10;

async fn page(State(state): State<AppState>, Province(session): Province) -> Response {
    overview_page(&state, &session, None, None).await
}

async fn overview_page(
    state: &AppState,
    session: &ConsoleSession,
    message: Option<(&str, String)>,
    chat: Option<String>,
) -> Response {
    let registry = state.dialogs.clone();
    let store = state.store.clone();
    let for_unmatched = state.clone();
    let listed = blocking(move || {
        let files = list_files(registry.dir())?;
        let log = store.change_log(10).map_err(std::io::Error::other)?;
        let tests = transcript_results(registry.dir())?;
        let unmatched = super::unmatched::recent(&for_unmatched, UNMATCHED_ON_PAGE)
            .map_err(std::io::Error::other)?;
        Ok::<_, std::io::Error>((files, log, tests, unmatched))
    })
    .await;
    let (files, log, tests, unmatched) = match listed {
        Ok(found) => found,
        Err(response) => return response,
    };
    let status = state.dialogs.status();
    let csrf = html::csrf_field(session);
    let mut out = String::new();
    if let Some((kind, text)) = message {
        out.push_str(&html::notice(kind, &text));
    }
    let _ = write!(
        out,
        "<section><h2>Phiên bản đang chạy</h2><dl class=\"facts\">\
         <dt>Phiên bản</dt><dd><code>{}</code></dd><dt>Nạp lúc</dt><dd>{}</dd>\
         <dt>Số kịch bản</dt><dd>{} ({} bước)</dd><dt>Bản trước (để quay lại)</dt><dd>{}</dd></dl>\
         <div class=\"actions\"><form method=\"post\" action=\"/admin/kich-ban/tai-lai\">{csrf}<button type=\"submit\">Nạp lại từ tệp</button></form>\
         <form method=\"post\" action=\"/admin/kich-ban/quay-lai\">{csrf}<button type=\"submit\" class=\"secondary\">Quay lại bản trước</button></form></div></section>",
        html::esc(status.version.as_deref().unwrap_or("chưa nạp được")),
        status.loaded_at.map(html::datetime).unwrap_or_default(),
        status.dialogs.len(),
        status.nodes,
        html::esc(status.previous_version.as_deref().unwrap_or("không có")),
    );
    if let Some(last) = status.last_reload.as_ref().filter(|a| !a.accepted) {
        let _ = write!(
            out,
            "<section><h2>Lần nạp gần nhất bị từ chối ({})</h2><p>Bản đang chạy vẫn giữ nguyên. Các lỗi:</p><ul class=\"problems\">",
            html::datetime(last.at)
        );
        for e in &last.errors {
            let _ = write!(
                out,
                "<li><code>{}:{}</code> {}</li>",
                html::esc(file_name(&e.file)),
                e.line,
                html::esc(&e.message)
            );
        }
        out.push_str("</ul></section>");
    }
    if !status.warnings.is_empty() {
        let _ = write!(
            out,
            "<section><details><summary>{} cảnh báo của bản đang chạy</summary><ul class=\"problems warn\">",
            status.warnings.len()
        );
        for w in &status.warnings {
            let _ = write!(
                out,
                "<li><code>{}:{}</code> {}</li>",
                html::esc(file_name(&w.file)),
                w.line,
                html::esc(&w.message)
            );
        }
        out.push_str("</ul></details></section>");
    }
    let _ =
        write!(out, "<section><h2>Dữ kiện cần kiểm tra lại ({})</h2>", status.stale_facts.len());
    if status.stale_facts.is_empty() {
        out.push_str("<p>Không có dữ kiện nào quá hạn kiểm tra.</p>");
    } else {
        out.push_str("<details><summary>Xem danh sách</summary><ul>");
        for f in &status.stale_facts {
            let _ = write!(
                out,
                "<li>{} — <code>{}</code>, kiểm tra lần cuối {} (mỗi {} ngày)</li>",
                html::esc(&f.what),
                html::esc(file_name(&f.file)),
                html::esc(&f.verified),
                f.review_days
            );
        }
        out.push_str("</ul></details>");
    }
    out.push_str("</section>");
    match tests {
        None => out.push_str("<section><h2>Thử mẫu</h2><p>Chưa có kịch bản thử (tests/*.txt) hoặc bộ kịch bản trên đĩa đang lỗi.</p></section>"),
        Some((scenarios, failed, problems)) => {
            let _ = write!(
                out,
                "<section><h2>Thử mẫu</h2><p>{scenarios} lượt trò chuyện mẫu trên các tệp hiện có: {} đạt, {failed} không đạt.</p>",
                scenarios - failed
            );
            if !problems.is_empty() {
                out.push_str("<ul class=\"problems\">");
                for d in &problems {
                    let _ = write!(out, "<li><code>{}:{}</code> {}</li>", html::esc(file_name(&d.file)), d.line, html::esc(&d.message));
                }
                out.push_str("</ul>");
            }
            out.push_str("</section>");
        }
    }
    out.push_str("<section><h2>Sửa tệp kịch bản</h2><ul class=\"files\">");
    for name in &files {
        let _ = write!(
            out,
            "<li><a href=\"/admin/kich-ban/sua?tep={}\">{}</a></li>",
            html::url(name),
            html::esc(name)
        );
    }
    out.push_str("</ul></section>");
    let _ = write!(
        out,
        "<section><h2>Thử trò chuyện</h2>\
         <form method=\"post\" action=\"/admin/kich-ban/thu\" class=\"card inline\">{csrf}\
         <label for=\"loi-nhan\">Tin nhắn thử</label><input id=\"loi-nhan\" name=\"noi_dung\" required maxlength=\"500\" placeholder=\"xin chào\">\
         <button type=\"submit\">Gửi</button></form>\
         <p class=\"hint\">Tin nhắn đi qua đúng đường của tin nhắn thật (nhận, xử lý, hàng đợi gửi) dưới tên một người dùng thử; câu trả lời không gửi ra Zalo.</p>{}</section>",
        chat.unwrap_or_default()
    );
    if !log.is_empty() {
        out.push_str("<section><h2>Lịch sử sửa</h2><ul class=\"log\">");
        let mut offered = std::collections::HashSet::new();
        for entry in &log {
            let _ = write!(
                out,
                "<li>{} — {} sửa <code>{}</code> ({})",
                html::datetime(entry.at),
                html::esc(&entry.who),
                html::esc(&entry.file),
                html::esc(&entry.summary)
            );
            // The newest change of each file can be undone on disk.
            if offered.insert(entry.file.clone()) {
                let _ = write!(
                    out,
                    " <form method=\"post\" action=\"/admin/kich-ban/khoi-phuc\" class=\"inline\">{csrf}\
                     <input type=\"hidden\" name=\"tep\" value=\"{}\">\
                     <button type=\"submit\" class=\"secondary\">Khôi phục tệp trước lần sửa này</button></form>",
                    html::esc(&entry.file)
                );
            }
            out.push_str("</li>");
        }
        out.push_str("</ul></section>");
    }
    out.push_str("<section><h2>Tin nhắn bot chưa hiểu</h2>");
    if unmatched.is_empty() {
        out.push_str("<p>Chưa có tin nhắn nào bot chưa hiểu.</p>");
    } else {
        let _ = write!(
            out,
            "<p class=\"hint\">{} câu gặp nhiều nhất; thêm chúng vào <code>examples</code> của mục phù hợp.</p>",
            unmatched.len()
        );
        out.push_str(&super::unmatched::table(&unmatched));
    }
    out.push_str("<p><a href=\"/admin/cau-chua-hieu\">Xem tất cả câu chưa hiểu</a></p></section>");
    render(html::page("Kịch bản", "/admin/kich-ban", session, &out))
}

async fn reload(
    State(state): State<AppState>,
    Province(session): Province,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    let registry = state.dialogs.clone();
    let outcome = match tokio::task::spawn_blocking(move || registry.reload()).await {
        Ok(outcome) => outcome,
        Err(e) => return internal(e),
    };
    let message = match outcome {
        ReloadOutcome::Loaded { version, .. } => ("ok", format!("Đã nạp phiên bản {version}.")),
        ReloadOutcome::Unchanged { .. } => ("info", "Các tệp không đổi.".to_owned()),
        ReloadOutcome::Rejected { errors } => (
            "error",
            format!("Tệp có {} lỗi nên không nạp; bản đang chạy giữ nguyên.", errors.len()),
        ),
    };
    overview_page(&state, &session, Some(message), None).await
}

async fn rollback(
    State(state): State<AppState>,
    Province(session): Province,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    let message = match state.dialogs.rollback() {
        Ok(version) => ("ok", format!("Đã quay lại phiên bản {version}.")),
        Err(_) => ("error", "Không có bản trước để quay lại.".to_owned()),
    };
    overview_page(&state, &session, Some(message), None).await
}

/// Transcript tests run against the files on disk: (scenarios, failed, problems);
/// `None` without tests or when the files do not load.
fn transcript_results(dir: &Path) -> std::io::Result<Option<(usize, usize, Vec<Diagnostic>)>> {
    let files = read_dialog_dir(dir)?;
    let loaded = dialog::load(
        &files,
        &LoadOptions {
            today: None,
            review_days: crate::dialog::DEFAULT_REVIEW_DAYS,
            strict: false,
        },
    );
    let Some(set) = &loaded.set else { return Ok(None) };
    let tests = read_transcripts(dir)?;
    if tests.is_empty() {
        return Ok(None);
    }
    let report = transcript::run(set, &tests, &EngineOptions::default());
    Ok(Some((report.scenarios, report.failed_scenarios, report.diagnostics)))
}

/// `dialogs/main.toml` → `main.toml`: the folder is the server's business.
fn file_name(path: &str) -> &str {
    Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or(path)
}

/// The dialog files that can be edited: `*.toml` directly in the folder.
fn list_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = read_dialog_dir(dir)?
        .iter()
        .filter_map(|f| Path::new(&f.path).file_name()?.to_str().map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

/// A file name the editor accepts: a plain `*.toml` name, no path.
fn valid_name(name: &str) -> bool {
    name.ends_with(".toml")
        && name.len() <= 80
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[derive(Deserialize)]
struct FileQuery {
    tep: String,
}

async fn editor(
    State(state): State<AppState>,
    Province(session): Province,
    Query(q): Query<FileQuery>,
) -> Response {
    if !valid_name(&q.tep) {
        return fail(StatusCode::BAD_REQUEST, "Tên tệp không đúng.");
    }
    let path = state.dialogs.dir().join(&q.tep);
    let text = match tokio::fs::read_to_string(&path).await {
        Ok(text) => text,
        Err(_) => return fail(StatusCode::NOT_FOUND, "Không tìm thấy tệp kịch bản này."),
    };
    render(editor_page(&session, &q.tep, &text, None, &[]))
}

#[derive(Deserialize)]
struct EditForm {
    csrf: Option<String>,
    tep: String,
    noi_dung: String,
    /// `kiem-tra` or `luu`.
    hanh_dong: String,
}

/// The result of checking a candidate file: every problem of the set with it in place.
struct Checked {
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    transcripts: Option<(usize, usize)>,
}

fn check(
    dir: &Path,
    name: &str,
    contents: &str,
    options: &LoadOptions,
) -> std::io::Result<Checked> {
    let mut files = read_dialog_dir(dir)?;
    let printed = dir.join(name).display().to_string();
    match files.iter_mut().find(|f| f.path == printed) {
        Some(file) => file.contents = contents.to_owned(),
        None => files.push(SourceFile { path: printed, contents: contents.to_owned() }),
    }
    let loaded = dialog::load(&files, options);
    let mut errors: Vec<Diagnostic> = loaded.errors().cloned().collect();
    let warnings: Vec<Diagnostic> = loaded.warnings().cloned().collect();
    let mut transcripts = None;
    if let Some(set) = &loaded.set {
        let tests = read_transcripts(dir)?;
        if !tests.is_empty() {
            let report = transcript::run(set, &tests, &EngineOptions::default());
            transcripts = Some((report.scenarios, report.failed_scenarios));
            errors.extend(report.diagnostics);
        }
    }
    Ok(Checked { errors, warnings, transcripts })
}

async fn edit(
    State(state): State<AppState>,
    Extension(config): Extension<Arc<ConsoleConfig>>,
    Province(session): Province,
    Form(form): Form<EditForm>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    if !valid_name(&form.tep) {
        return fail(StatusCode::BAD_REQUEST, "Tên tệp không đúng.");
    }
    // Browsers send CRLF from a textarea; the files use LF.
    let text = form.noi_dung.replace("\r\n", "\n");
    let dir = state.dialogs.dir().to_owned();
    let options = LoadOptions {
        today: Some(crate::dialog_runtime::today(&state.clock)),
        review_days: config.review_days,
        strict: false,
    };
    let (name, candidate) = (form.tep.clone(), text.clone());
    let checked = match blocking(move || check(&dir, &name, &candidate, &options)).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let save = form.hanh_dong == "luu";
    let mut notices = Vec::new();
    if !checked.errors.is_empty() {
        notices.push((
            "error",
            format!(
                "Có {} lỗi. {}",
                checked.errors.len(),
                if save {
                    "Chưa lưu: sửa các lỗi được đánh dấu rồi thử lại."
                } else {
                    "Sửa các dòng được đánh dấu."
                }
            ),
        ));
    } else if save {
        let dir = state.dialogs.dir().to_owned();
        let (name, contents, store, who, now) = (
            form.tep.clone(),
            text.clone(),
            state.store.clone(),
            session.who.clone(),
            state.clock.now_secs(),
        );
        let registry = state.dialogs.clone();
        let saved = blocking(move || {
            let summary = save_file(&dir, &name, &contents, now)?;
            store
                .append_change_log(&ChangeLogEntry { at: now, who, file: name, summary })
                .map_err(std::io::Error::other)?;
            Ok::<_, std::io::Error>(registry.reload())
        })
        .await;
        match saved {
            Ok(ReloadOutcome::Rejected { errors }) => notices.push((
                "error",
                format!("Đã lưu tệp nhưng bộ kịch bản không nạp được ({} lỗi).", errors.len()),
            )),
            Ok(_) => notices.push((
                "ok",
                "Đã lưu và nạp kịch bản mới. Bản cũ được giữ để quay lại.".to_owned(),
            )),
            Err(response) => return response,
        }
    } else {
        notices.push(("ok", "Không có lỗi. Bấm \"Lưu\" để áp dụng.".to_owned()));
    }
    if let Some((scenarios, failed)) = checked.transcripts {
        notices.push((
            if failed > 0 { "error" } else { "info" },
            format!(
                "Thử {scenarios} lượt trò chuyện mẫu: {} đạt, {failed} không đạt.",
                scenarios - failed
            ),
        ));
    }
    if !checked.warnings.is_empty() {
        notices
            .push(("info", format!("{} cảnh báo (không chặn việc lưu).", checked.warnings.len())));
    }
    let mut problems = checked.errors;
    problems.extend(checked.warnings);
    let status = if !save || problems.iter().all(|d| !d.is_error()) {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(editor_page(&session, &form.tep, &text, Some(&notices), &problems));
    *response.status_mut() = status;
    response
}

#[derive(Deserialize)]
struct RestoreForm {
    csrf: Option<String>,
    tep: String,
}

/// Puts back the newest copy of a file from `.history/` (itself saved first, so a
/// restore can be undone), if the set still loads with it; records it and reloads.
async fn restore(
    State(state): State<AppState>,
    Extension(config): Extension<Arc<ConsoleConfig>>,
    Province(session): Province,
    Form(form): Form<RestoreForm>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    if !valid_name(&form.tep) {
        return fail(StatusCode::BAD_REQUEST, "Tên tệp không đúng.");
    }
    let dir = state.dialogs.dir().to_owned();
    let options = LoadOptions {
        today: Some(crate::dialog_runtime::today(&state.clock)),
        review_days: config.review_days,
        strict: false,
    };
    let (store, who, now, registry) =
        (state.store.clone(), session.who.clone(), state.clock.now_secs(), state.dialogs.clone());
    let name = form.tep.clone();
    let outcome = blocking(move || {
        let Some(previous) = newest_backup(&dir, &name)? else {
            return Ok::<_, std::io::Error>((
                "error",
                "Không có bản trước của tệp này.".to_owned(),
            ));
        };
        let contents = std::fs::read_to_string(&previous)?;
        let checked = check(&dir, &name, &contents, &options)?;
        if !checked.errors.is_empty() {
            return Ok((
                "error",
                format!(
                    "Bản trước của {name} không còn hợp lệ ({} lỗi); chưa khôi phục.",
                    checked.errors.len()
                ),
            ));
        }
        // Taken out of the history first: the current file goes in as the newest copy.
        std::fs::remove_file(&previous)?;
        let summary = save_file(&dir, &name, &contents, now)?;
        store
            .append_change_log(&ChangeLogEntry {
                at: now,
                who,
                file: name.clone(),
                summary: format!("khôi phục bản trước, {summary}"),
            })
            .map_err(std::io::Error::other)?;
        registry.reload();
        Ok(("ok", format!("Đã khôi phục {name} về bản trước và nạp lại.")))
    })
    .await;
    match outcome {
        Ok((kind, text)) => overview_page(&state, &session, Some((kind, text)), None).await,
        Err(response) => response,
    }
}

/// The newest `.history/{name}.{time}` copy, if any.
fn newest_backup(dir: &Path, name: &str) -> std::io::Result<Option<PathBuf>> {
    let history = dir.join(".history");
    if !history.is_dir() {
        return Ok(None);
    }
    let prefix = format!("{name}.");
    let mut best: Option<(i64, PathBuf)> = None;
    for entry in std::fs::read_dir(&history)? {
        let path = entry?.path();
        let stamp = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|t| t.parse::<i64>().ok());
        if let Some(stamp) = stamp
            && best.as_ref().is_none_or(|(b, _)| stamp > *b)
        {
            best = Some((stamp, path));
        }
    }
    Ok(best.map(|(_, path)| path))
}

/// Writes `dir/name` atomically (temporary file, fsync, rename, fsync the folder) after
/// copying the current file to `dir/.history/name.<time>`. Returns a change summary.
fn save_file(dir: &Path, name: &str, contents: &str, now: UnixSecs) -> std::io::Result<String> {
    let path = dir.join(name);
    let before = std::fs::read_to_string(&path).ok();
    if let Some(before) = &before {
        let history = dir.join(".history");
        std::fs::create_dir_all(&history)?;
        // Two saves within a second must not overwrite each other's copy: the stamp
        // only orders them.
        let mut stamp = now.get();
        while history.join(format!("{name}.{stamp}")).exists() {
            stamp += 1;
        }
        std::fs::write(history.join(format!("{name}.{stamp}")), before)?;
    }
    let tmp: PathBuf = dir.join(format!(".{name}.tmp"));
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    let lines = |t: &str| t.lines().count();
    Ok(match before {
        Some(before) => format!("{} → {} dòng", lines(&before), lines(contents)),
        None => format!("tệp mới, {} dòng", lines(contents)),
    })
}

fn editor_page(
    session: &ConsoleSession,
    name: &str,
    text: &str,
    notices: Option<&[(&str, String)]>,
    problems: &[Diagnostic],
) -> String {
    let mut out = String::new();
    for (kind, message) in notices.unwrap_or_default() {
        out.push_str(&html::notice(kind, message));
    }
    // Problems in this file, marked at their lines; problems elsewhere listed.
    let here =
        |d: &Diagnostic| Path::new(&d.file).file_name().and_then(|n| n.to_str()) == Some(name);
    // Errors first, each linking to its line; warnings of other files (stale facts,
    // mostly) are only counted above.
    let listed: Vec<&Diagnostic> = problems.iter().filter(|d| d.is_error()).collect();
    if !listed.is_empty() {
        out.push_str("<h2>Lỗi</h2><ul class=\"problems\">");
        for d in listed {
            let place = file_name(&d.file);
            if here(d) {
                let _ = write!(
                    out,
                    "<li><a href=\"#dong-{}\"><code>{}:{}</code></a> {}</li>",
                    d.line,
                    html::esc(place),
                    d.line,
                    html::esc(&d.message)
                );
            } else {
                let _ = write!(
                    out,
                    "<li><code>{}:{}</code> {}</li>",
                    html::esc(place),
                    d.line,
                    html::esc(&d.message)
                );
            }
        }
        out.push_str("</ul>");
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"/admin/kich-ban/sua\" class=\"editor\">{}\
         <input type=\"hidden\" name=\"tep\" value=\"{}\">\
         <label for=\"noi-dung\">Nội dung tệp <code>{}</code></label>\
         <textarea id=\"noi-dung\" name=\"noi_dung\" rows=\"24\" spellcheck=\"false\">{}</textarea>\
         <div class=\"actions\"><button type=\"submit\" name=\"hanh_dong\" value=\"kiem-tra\">Kiểm tra</button>\
         <button type=\"submit\" name=\"hanh_dong\" value=\"luu\">Lưu</button>\
         <a href=\"/admin/kich-ban\">Quay lại</a></div></form>",
        html::csrf_field(session),
        html::esc(name),
        html::esc(name),
        html::esc(text),
    );
    out.push_str("<h2>Tệp theo dòng</h2><ol class=\"listing\">");
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let marks: Vec<&Diagnostic> = problems.iter().filter(|d| here(d) && d.line == n).collect();
        let class = match (marks.iter().any(|d| d.is_error()), marks.is_empty()) {
            (true, _) => " class=\"bad\"",
            (false, false) => " class=\"warn\"",
            _ => "",
        };
        let _ = write!(out, "<li id=\"dong-{n}\"{class}><code>{}</code>", html::esc(line));
        for d in marks {
            let kind = if d.is_error() { "Lỗi" } else { "Cảnh báo" };
            let _ = write!(
                out,
                "<span class=\"problem\">{kind} dòng {n}, cột {}: {}</span>",
                d.column,
                html::esc(&d.message)
            );
        }
        out.push_str("</li>");
    }
    out.push_str("</ol>");
    html::page(&format!("Sửa {name}"), "/admin/kich-ban", session, &out)
}

#[derive(Deserialize)]
struct ChatForm {
    csrf: Option<String>,
    noi_dung: String,
}

async fn try_chat(
    State(state): State<AppState>,
    Province(session): Province,
    Form(form): Form<ChatForm>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    let text = form.noi_dung.trim().to_owned();
    if text.is_empty() {
        return overview_page(&state, &session, Some(("error", "Nhập một tin nhắn.".into())), None)
            .await;
    }
    let user = format!("{TEST_USER_PREFIX}{}", &session.id[..12]);
    let before = last_outbox_id(&state.store, &user);
    let event = crate::zalo::event::Event {
        name: "user_send_text".into(),
        kind: crate::zalo::event::EventKind::UserText,
        user_id: Some(user.clone()),
        msg_id: Some(format!("console-{}", super::random_token())),
        text: Some(text.clone()),
    };
    let entry = crate::store::InboxEntry {
        dedupe_key: event.msg_id.clone().unwrap_or_default(),
        user_id: user.clone(),
        event: crate::store::RawJson::new(&event),
        received_at_ms: state.clock.now_ms().get(),
        failure: None,
    };
    if let Err(e) = state.webhook.ingest.accept(entry).await {
        return internal(e);
    }
    // Wait for the worker's replies (they land in the outbox as one durable step).
    let mut replies = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        replies = replies_since(&state.store, &user, before);
        if !replies.is_empty() {
            break;
        }
    }
    let mut chat = format!("<div class=\"chat\"><p class=\"me\">{}</p>", html::esc(&text));
    if replies.is_empty() {
        chat.push_str("<p class=\"bot\">(Chưa có trả lời sau 5 giây.)</p>");
    }
    for reply in &replies {
        let _ = write!(chat, "<p class=\"bot\">{}</p>", html::esc(reply));
    }
    chat.push_str("</div>");
    overview_page(&state, &session, None, Some(chat)).await
}

fn last_outbox_id(store: &Store, user: &str) -> u64 {
    store
        .outbox_list(OutboxFilter::default(), 200)
        .unwrap_or_default()
        .iter()
        .find(|e| e.user_id == user)
        .map_or(0, |e| e.id)
}

/// Texts (with buttons as lines) queued for `user` after outbox id `after`, oldest first.
fn replies_since(store: &Store, user: &str, after: u64) -> Vec<String> {
    let mut entries: Vec<_> = store
        .outbox_list(OutboxFilter::default(), 200)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.user_id == user && e.id > after)
        .collect();
    entries.sort_by_key(|e| e.id);
    entries.iter().map(|e| crate::zalo::message::plain_text(&e.message.value())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_toml_names_are_editable() {
        for ok in ["main.toml", "_facts.toml", "bao-ve.toml"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["../x.toml", "a/b.toml", ".hidden.toml", "main.txt", "main.toml/"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn saving_keeps_the_previous_file_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "one\n").unwrap();
        let summary = save_file(dir.path(), "a.toml", "one\ntwo\n", UnixSecs(42)).unwrap();
        assert_eq!(summary, "1 → 2 dòng");
        assert_eq!(std::fs::read_to_string(dir.path().join("a.toml")).unwrap(), "one\ntwo\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".history/a.toml.42")).unwrap(),
            "one\n"
        );
        assert!(!dir.path().join(".a.toml.tmp").exists());
    }
}
