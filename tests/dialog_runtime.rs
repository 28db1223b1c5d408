//! Registry hot reload, rollback, version pinning, and the admin dialog routes.

use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cnscd_bot::dialog::Input;
use cnscd_bot::dialog_runtime::{
    NO_DIALOGS_REPLY, Registry, RegistryOptions, ReloadOutcome, RollbackError,
};
use http_body_util::BodyExt;
use tower::ServiceExt;

const MENU_V1: &str = "title = \"Menu\"\nmain = true\nstart = \"chao\"\n[nodes.chao]\nsay = \"Xin chào bản 1\"\nchoices = [ { label = \"Tiếp\", goto = \"tiep\" } ]\n[nodes.tiep]\nsay = \"Bước tiếp bản 1\"\nchoices = [ { label = \"Cuối\", goto = \"cuoi\" } ]\n[nodes.cuoi]\nsay = \"Bước cuối bản 1\"\nend = true\n";
const MENU_V2: &str = "title = \"Menu\"\nmain = true\nstart = \"chao\"\n[nodes.chao]\nsay = \"Xin chào bản 2\"\nchoices = [ { label = \"Khác\", goto = \"khac\" } ]\n[nodes.khac]\nsay = \"Bước khác bản 2\"\nend = true\n";
const BROKEN: &str = "title = \"Menu\"\nmain = true\nstart = \"chao\"\n[nodes.chao]\nsay = \"x\"\ngoto = \"khong_co\"\n";

fn write(dir: &Path, contents: &str) {
    std::fs::write(dir.join("menu.toml"), contents).expect("write dialog");
}

fn text(step: &cnscd_bot::dialog::Step) -> String {
    step.replies.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n")
}

#[test]
fn reload_swaps_only_valid_sets_and_rollback_restores_the_previous() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), MENU_V1);
    let registry = Registry::load(dir.path(), pinned());
    let v1 = registry.status().version.expect("v1 loaded");
    assert_eq!(registry.reload(), ReloadOutcome::Unchanged { version: v1.clone() });

    write(dir.path(), BROKEN);
    let ReloadOutcome::Rejected { errors } = registry.reload() else {
        panic!("broken set must be rejected")
    };
    assert_eq!(errors[0].code, "dangling_jump");
    let status = registry.status();
    assert_eq!(status.version.as_deref(), Some(v1.as_str()), "running version stays live");
    assert!(!status.last_reload.expect("attempt recorded").accepted);

    write(dir.path(), MENU_V2);
    let ReloadOutcome::Loaded { version: v2, .. } = registry.reload() else {
        panic!("v2 must load")
    };
    assert_ne!(v1, v2);
    assert!(
        text(&registry.step(None, &Input::Follow, cnscd_bot::calendar::UnixSecs(100)))
            .contains("bản 2")
    );

    assert_eq!(registry.rollback(), Ok(v1.clone()));
    assert!(
        text(&registry.step(None, &Input::Follow, cnscd_bot::calendar::UnixSecs(100)))
            .contains("bản 1")
    );
    assert_eq!(registry.status().previous_version.as_deref(), Some(v2.as_str()));
}

#[test]
fn sessions_stay_on_their_pinned_version_and_fall_back_when_their_node_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), MENU_V1);
    let registry = Registry::load(dir.path(), pinned());
    let at_menu = registry
        .step(None, &Input::Follow, cnscd_bot::calendar::UnixSecs(100))
        .session
        .expect("session");
    let in_progress = registry
        .step(Some(at_menu.clone()), &Input::Text("1".into()), cnscd_bot::calendar::UnixSecs(110))
        .session
        .expect("session");

    write(dir.path(), MENU_V2);
    assert!(matches!(registry.reload(), ReloadOutcome::Loaded { .. }));
    // Pinned: in the middle of version 1, "1" still means "Cuối" of version 1.
    let pinned = registry.step(
        Some(in_progress.clone()),
        &Input::Text("1".into()),
        cnscd_bot::calendar::UnixSecs(200),
    );
    assert!(text(&pinned).contains("Bước cuối bản 1"), "{}", text(&pinned));
    // At the main menu nothing is in progress: the session moves to the current version.
    let moved = registry.step(
        Some(at_menu.clone()),
        &Input::Text("1".into()),
        cnscd_bot::calendar::UnixSecs(200),
    );
    assert!(text(&moved).contains("Bước khác bản 2"), "{}", text(&moved));

    // A session naming a node that no version has: main menu with a notice, never an error.
    let mut lost = pinned.session.expect("session");
    lost.version = "gone".into();
    let step = registry.step(
        Some(lost.clone()),
        &Input::Text("1".into()),
        cnscd_bot::calendar::UnixSecs(300),
    );
    assert!(text(&step).contains("vừa được cập nhật"), "{}", text(&step));
    assert!(text(&step).contains("bản 2"));
}

#[test]
fn a_broken_folder_still_answers_with_an_apology() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), BROKEN);
    let registry = Registry::load(dir.path(), pinned());
    assert!(registry.status().version.is_none());
    let step =
        registry.step(None, &Input::Text("xin chào".into()), cnscd_bot::calendar::UnixSecs(1));
    assert_eq!(step.replies.len(), 1);
    assert_eq!(step.replies[0].text, NO_DIALOGS_REPLY);
    assert_eq!(registry.rollback(), Err(RollbackError::NoPrevious));

    let missing = Registry::load(&dir.path().join("khong_co"), pinned());
    assert_eq!(missing.status().last_reload.expect("attempt").errors[0].code, "io");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_reloads_after_a_file_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), MENU_V1);
    let registry = Registry::load(dir.path(), pinned());
    let v1 = registry.status().version;
    let _guard = registry.spawn_watcher().expect("watcher");
    write(dir.path(), MENU_V2);
    let changed = version_changes(&registry, v1).await;
    assert!(changed, "the watcher should reload within 5 s");
}

/// Polls for up to 5 s until the registry's version differs from `old`.
async fn version_changes(registry: &Registry, old: Option<String>) -> bool {
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if registry.status().version != old {
            return true;
        }
    }
    false
}

async fn call(app: axum::Router, method: &str, uri: &str) -> (StatusCode, serde_json::Value) {
    let request = Request::builder().method(method).uri(uri).body(Body::empty()).expect("request");
    let response = app.oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).expect("json body"))
}

#[tokio::test]
async fn admin_routes_report_reload_and_roll_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), MENU_V1);
    let registry = Registry::load(dir.path(), pinned());
    let app = || cnscd_bot::admin::dialogs::router().with_state(registry.clone());

    let (status, body) = call(app(), "GET", "/admin/api/dialogs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["dialogs"][0]["id"], "menu");
    assert_eq!(body["nodes"], 3);

    write(dir.path(), BROKEN);
    let (status, body) = call(app(), "POST", "/admin/api/dialogs/reload").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["outcome"], "rejected");
    assert!(body["errors"][0]["text"].as_str().unwrap_or_default().contains("menu.toml:6:8: lỗi:"));

    let (status, _) = call(app(), "POST", "/admin/api/dialogs/rollback").await;
    assert_eq!(status, StatusCode::CONFLICT);

    write(dir.path(), MENU_V2);
    let (status, body) = call(app(), "POST", "/admin/api/dialogs/reload").await;
    assert_eq!((status, body["outcome"].as_str()), (StatusCode::OK, Some("loaded")));
    let (status, body) = call(app(), "POST", "/admin/api/dialogs/rollback").await;
    assert_eq!(status, StatusCode::OK);
    let (_, now) = call(app(), "GET", "/admin/api/dialogs").await;
    assert_eq!(now["version"], body["version"]);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), MENU_V1);
    let registry = Registry::load(dir.path(), pinned());
    let v1 = registry.status().version;
    // Changed before the watcher starts, so only the signal can pick it up.
    write(dir.path(), MENU_V2);
    let _guard = registry.spawn_watcher().expect("watcher and SIGHUP listener");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let changed = version_changes(&registry, v1).await;
    assert!(changed, "SIGHUP should reload within 5 s");
}

/// Options on a fixed date (fact review dates are read against the clock), so these
/// tests do not depend on the day they run.
fn pinned() -> RegistryOptions {
    RegistryOptions {
        clock: cnscd_bot::clock::Clock::starting_at_vn(2026, 6, 15, 10, 0),
        ..RegistryOptions::default()
    }
}
