//! Writing a command's outputs whole: every file goes into a temporary folder next to the
//! destination, which is then renamed into place, so a reader sees either the old outputs or all
//! of the new ones, never half of them. Shared by `run`, `sweep` and `compare`.

use std::fs;
use std::path::Path;

/// Writes `files` (`(relative path, bytes)`; a path may name a subfolder, e.g. `a/summary.md`)
/// into a temporary folder, then replaces `dir` with it.
pub fn write_whole(dir: &Path, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let result = (|| {
        fs::create_dir_all(&tmp)?;
        for (file, bytes) in files {
            let path = tmp.join(file);
            if let Some(folder) = path.parent() {
                fs::create_dir_all(folder)?;
            }
            fs::write(path, bytes)?;
        }
        if dir.exists() {
            fs::remove_dir_all(dir)?;
        }
        fs::rename(&tmp, dir)
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}
