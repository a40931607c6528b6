//! The documentation's own checks (no cluster needed): every relative link in the README, the
//! changelog, under `docs/` and in the chart's README points at a file or directory that exists, every page under
//! `docs/` is reachable from the index, and the README stays a page a user reads (at most 250
//! lines; the rest belongs under `docs/`). Files move (the API reference did, the controller's
//! sources do), and a link that silently breaks sends the reader nowhere.

use std::fs;
use std::path::{Path, PathBuf};

/// The README is for users: what it is, the two commands, a quick start, install, links.
const README_MAX_LINES: usize = 250;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.md` file under `dir`, recursively, sorted.
fn markdown_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The Markdown files whose links are checked: README.md, CHANGELOG.md, docs/**/*.md and
/// charts/*/README.md.
fn checked_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    files.extend(markdown_under(&root.join("docs")));
    if let Ok(charts) = fs::read_dir(root.join("charts")) {
        let mut readmes: Vec<PathBuf> = charts
            .map(|entry| entry.expect("directory entry").path().join("README.md"))
            .filter(|readme| readme.is_file())
            .collect();
        readmes.sort();
        files.extend(readmes);
    }
    files
}

/// `line` without its inline code spans, so that `` `a](b)` `` in code is not taken for a link.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code {
            out.push(c);
        }
    }
    out
}

/// The targets of the inline links (`[text](target)`, `![alt](target "title")`) and of the
/// reference definitions (`[label]: target`) in `text`, with their line numbers. Fenced code
/// blocks are skipped.
fn link_targets(text: &str) -> Vec<(usize, String)> {
    let mut targets = Vec::new();
    let mut in_fence = false;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        if raw.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let line = without_code_spans(raw);
        if let Some(rest) = line.trim_start().strip_prefix('[')
            && let Some((_, definition)) = rest.split_once("]:")
            && let Some(target) = definition.split_whitespace().next()
        {
            targets.push((number, target.trim_matches(['<', '>']).to_string()));
        }
        let mut rest = line.as_str();
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            // The target ends at the closing parenthesis, or at a space before a title.
            let end = after.find([')', ' ']).unwrap_or(after.len());
            targets.push((number, after[..end].trim_matches(['<', '>']).to_string()));
            rest = &after[end..];
        }
    }
    targets
}

/// The file or directory a relative link points at, or `None` for links this test does not
/// check (other sites, mail, anchors within the same page).
fn local_target(file: &Path, target: &str) -> Option<PathBuf> {
    let external = ["http://", "https://", "mailto:"];
    if target.is_empty() || target.starts_with('#') || external.iter().any(|scheme| target.starts_with(scheme)) {
        return None;
    }
    let path = target.split('#').next().unwrap_or_default();
    // A leading slash is the repository's root, as GitHub reads it.
    Some(match path.strip_prefix('/') {
        Some(from_root) => repo_root().join(from_root),
        None => file.parent().expect("a file has a directory").join(path),
    })
}

/// Every broken relative link in `files`, as `file:line: target`.
fn broken_links(files: &[PathBuf]) -> Vec<String> {
    let root = repo_root();
    let mut broken = Vec::new();
    for file in files {
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (line, target) in link_targets(&text) {
            if let Some(path) = local_target(file, &target)
                && !path.exists()
            {
                let shown = file.strip_prefix(&root).unwrap_or(file).display();
                broken.push(format!("{shown}:{line}: {target}"));
            }
        }
    }
    broken
}

#[test]
fn relative_links_point_at_files_that_exist() {
    let files = checked_files();
    assert!(files.len() > 10, "README.md and docs/ were found: {files:?}");
    let broken = broken_links(&files);
    assert!(
        broken.is_empty(),
        "links to files or directories that do not exist (paths are relative to the Markdown file):\n{}",
        broken.join("\n")
    );
}

#[test]
fn every_page_under_docs_is_linked_from_the_index() {
    let root = repo_root();
    let index = root.join("docs/README.md");
    let text = fs::read_to_string(&index).unwrap_or_else(|e| panic!("{}: {e}", index.display()));
    let linked: Vec<PathBuf> = link_targets(&text)
        .into_iter()
        .filter_map(|(_, target)| local_target(&index, &target))
        .filter_map(|path| path.canonicalize().ok())
        .collect();
    let missing: Vec<String> = markdown_under(&root.join("docs"))
        .into_iter()
        .filter(|page| *page != index)
        .filter(|page| !linked.contains(&page.canonicalize().expect("page exists")))
        .map(|page| page.strip_prefix(&root).unwrap_or(&page).display().to_string())
        .collect();
    assert!(missing.is_empty(), "docs/README.md links no page for: {missing:?}");
}

#[test]
fn readme_is_at_most_250_lines() {
    let readme = repo_root().join("README.md");
    let lines = fs::read_to_string(&readme).expect("README.md").lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, more than {README_MAX_LINES}: move reference, how-to and \
         explanation material under docs/ and link it"
    );
}

#[test]
fn the_link_scanner_finds_what_it_must() {
    let text = "see [a](docs/a.md#x) and ![img](img.png \"title\"), not `[code](nowhere)`\n\
                ```\n[fenced](nowhere)\n```\n\
                [ref]: <other.md>\n\
                [web](https://example.com) [anchor](#here)\n";
    let targets: Vec<String> = link_targets(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        targets,
        ["docs/a.md#x", "img.png", "other.md", "https://example.com", "#here"]
    );
    let file = repo_root().join("docs/README.md");
    assert_eq!(local_target(&file, "https://example.com"), None);
    assert_eq!(local_target(&file, "#here"), None);
    assert_eq!(local_target(&file, "a.md#x"), Some(repo_root().join("docs/a.md")));
    assert_eq!(local_target(&file, "/Makefile"), Some(repo_root().join("Makefile")));
}

/// Ready's reasons that are not failures (crates/core/src/planner/report.rs and create_report.rs).
const READY_REASONS: [&str; 5] = ["InSync", "Updating", "Drifted", "Suspended", "Creating"];

#[test]
fn the_troubleshooting_table_lists_every_reason_the_reason_column_can_show() {
    let page = fs::read_to_string(repo_root().join("docs/how-to/troubleshooting.md")).expect("troubleshooting page");
    let rows: Vec<&str> = page.lines().filter(|l| l.starts_with("| ")).collect();
    let mut reasons: Vec<&str> = READY_REASONS.to_vec();
    for failure in outbound_core::planner::Failure::one_of_each() {
        // The REASON column shows the failure's event reason; Synced carries its Synced reason.
        reasons.push(failure.event().reason);
        reasons.push(failure.synced_reason());
    }
    let missing: Vec<&str> = reasons
        .into_iter()
        .filter(|r| !rows.iter().any(|row| row.contains(&format!("`{r}`"))))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/how-to/troubleshooting.md has no row for {missing:?}"
    );
}
