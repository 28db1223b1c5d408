//! Reading a dialogs directory into `SourceFile`s for the pure loader.

use std::io;
use std::path::Path;

use crate::dialog::SourceFile;

/// The `*.toml` files directly in `dir`, sorted by name, with paths printed as `dir/name`.
pub fn read_dialog_dir(dir: &Path) -> io::Result<Vec<SourceFile>> {
    read_files(dir, "toml")
}

/// The transcript tests in `dir/tests/*.txt`, sorted by name (none if the folder is missing).
pub fn read_transcripts(dir: &Path) -> io::Result<Vec<SourceFile>> {
    let tests = dir.join("tests");
    if !tests.is_dir() {
        return Ok(Vec::new());
    }
    read_files(&tests, "txt")
}

fn read_files(dir: &Path, extension: &str) -> io::Result<Vec<SourceFile>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path.file_name().and_then(|n| n.to_str()).is_none_or(|n| n.starts_with('.'));
        if !hidden && path.is_file() && path.extension().is_some_and(|e| e == extension) {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let contents = std::fs::read_to_string(&path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            Ok(SourceFile { path: path.display().to_string(), contents })
        })
        .collect()
}
