//! Where `plan -f` reads: files, directories (recursively: a GitOps repository keeps its manifests
//! in subdirectories, and a gate that never looked at them would pass what it never saw), and `-`
//! for standard input (`kustomize build overlays/prod | outbound-operator plan -f -`).

use std::io::Read as _;
use std::path::{Path, PathBuf};

/// One input's text and the name errors give it (its path, or `-`).
pub struct Source {
    pub name: String,
    pub text: String,
}

/// The manifest file extensions read from a directory. A file named on the command line is read
/// whatever its name, as `kubectl apply -f` does.
const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Reads every path. An unreadable path is an error (in `errors`), the others are still read;
/// files of a directory without a manifest extension are listed in `skipped`.
pub fn read(paths: &[PathBuf], errors: &mut Vec<String>, skipped: &mut Vec<PathBuf>) -> Vec<Source> {
    let mut sources = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            match std::io::stdin().read_to_string(&mut text) {
                Ok(_) => sources.push(Source { name: "-".into(), text }),
                Err(error) => errors.push(format!("reading standard input (-f -): {error}")),
            }
            continue;
        }
        let mut files = Vec::new();
        if path.is_dir() {
            walk(path, &mut files, errors, skipped);
        } else {
            files.push(path.clone());
        }
        for file in files {
            match std::fs::read_to_string(&file) {
                Ok(text) => sources.push(Source {
                    name: file.display().to_string(),
                    text,
                }),
                Err(error) => errors.push(format!("reading {}: {error}", file.display())),
            }
        }
    }
    sources
}

/// The manifest files under `dir`, sorted, subdirectories included (symbolic links to
/// directories are not followed, so a link loop cannot hang the gate; they are listed as skipped).
fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<String>, skipped: &mut Vec<PathBuf>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            errors.push(format!("reading directory {}: {error}", dir.display()));
            return;
        }
    };
    let mut entries: Vec<_> = entries
        .filter_map(|entry| match entry {
            Ok(entry) => Some(entry),
            Err(error) => {
                errors.push(format!("reading directory {}: {error}", dir.display()));
                None
            }
        })
        .collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let is_real_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_real_dir {
            walk(&path, files, errors, skipped);
        } else if !path.is_dir() && has_manifest_extension(&path) {
            files.push(path);
        } else {
            skipped.push(path);
        }
    }
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_read_recursively_and_other_files_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("team-a/deep")).unwrap();
        std::fs::write(dir.path().join("a.yaml"), "a").unwrap();
        std::fs::write(dir.path().join("team-a/deep/b.yml"), "b").unwrap();
        std::fs::write(dir.path().join("team-a/c.json"), "c").unwrap();
        std::fs::write(dir.path().join("team-a/README.md"), "no").unwrap();
        let (mut errors, mut skipped) = (Vec::new(), Vec::new());
        let sources = read(&[dir.path().to_path_buf()], &mut errors, &mut skipped);
        let texts: Vec<&str> = sources.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["a", "c", "b"]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(skipped, [dir.path().join("team-a/README.md")]);
    }

    #[test]
    fn a_missing_path_is_an_error_and_the_others_are_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "a").unwrap();
        let (mut errors, mut skipped) = (Vec::new(), Vec::new());
        let sources = read(
            &[dir.path().join("missing.yaml"), dir.path().join("a.yaml")],
            &mut errors,
            &mut skipped,
        );
        assert_eq!(sources.len(), 1);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("missing.yaml"), "{errors:?}");
    }
}
