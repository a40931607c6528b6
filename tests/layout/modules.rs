//! The module graph of one crate, read from its sources: a module per file (its path from the file's
//! path), and an edge to every module of the same crate it names through `crate::`, `super::` or
//! `self::`, in `use` trees and in code. Test code is left out (inline `#[cfg(test)] mod x {..}`
//! and files declared `#[cfg(test)] mod x;`): tests may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path ("controller::reconcile", "" for the crate root) to the modules it uses.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

struct Source {
    module: Vec<String>,
    code: String,
}

pub fn module_graph(src: &Path) -> Graph {
    let mut sources = Vec::new();
    collect(src, src, &mut sources);
    let test_modules: BTreeSet<Vec<String>> = sources.iter().flat_map(declared_test_modules).collect();
    sources.retain(|source| !test_modules.iter().any(|test| source.module.starts_with(test)));
    let known: BTreeSet<Vec<String>> = sources.iter().map(|source| source.module.clone()).collect();
    let mut graph = Graph::new();
    for source in &sources {
        let uses = graph.entry(source.module.join("::")).or_default();
        for path in named_paths(&source.code) {
            if let Some(target) = resolve(&source.module, &path, &known) {
                // A module may use its ancestors' items (the `super::*` of every child module);
                // only edges to other branches can close a cycle that matters.
                if !source.module.starts_with(&target) {
                    uses.insert(target.join("::"));
                }
            }
        }
    }
    graph
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<Source>) {
    for entry in std::fs::read_dir(dir).expect("source dir readable") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(root).expect("under root").with_extension("");
            let mut module: Vec<String> = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).expect("source readable");
            out.push(Source {
                module,
                code: without_tests_and_comments(&text),
            });
        }
    }
}

/// The code of a file without comments and without its inline test module (kept at the end of a
/// file by this project's style: everything from `#[cfg(test)]` + `mod x {` on is cut).
fn without_tests_and_comments(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut code = String::new();
    for (index, line) in lines.iter().enumerate() {
        let next = lines.get(index + 1).map(|next| next.trim()).unwrap_or("");
        if line.trim() == "#[cfg(test)]" && next.starts_with("mod ") && next.ends_with('{') {
            break;
        }
        code.push_str(line.split("//").next().unwrap_or(""));
        code.push('\n');
    }
    code
}

/// Modules a file declares as test-only: `#[cfg(test)]` then `mod x;`.
fn declared_test_modules(source: &Source) -> Vec<Vec<String>> {
    let lines: Vec<&str> = source.code.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|pair| pair[0] == "#[cfg(test)]" && pair[1].ends_with(';'))
        .filter_map(|pair| pair[1].rsplit("mod ").next().filter(|_| pair[1].contains("mod ")))
        .map(|name| {
            let mut module = source.module.clone();
            module.push(name.trim_end_matches(';').trim().to_owned());
            module
        })
        .collect()
}

/// Every path starting with `crate`, `super` or `self`, as segments, from `use` trees (expanded)
/// and from the code around them.
fn named_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = String::new();
    let mut remaining = code;
    while let Some(start) = find_use(remaining) {
        rest.push_str(&remaining[..start]);
        let after = &remaining[start + 4..];
        let end = after.find(';').unwrap_or(after.len());
        expand_use_tree(&after[..end], &mut Vec::new(), &mut paths);
        remaining = &after[(end + 1).min(after.len())..];
    }
    rest.push_str(remaining);
    let bytes = rest.as_bytes();
    for anchor in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(found) = rest[from..].find(anchor) {
            let start = from + found;
            from = start + anchor.len();
            let boundary = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
            if !boundary || (start >= 2 && &rest[start - 2..start] == "::") {
                continue;
            }
            let tail: String = rest[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            paths.push(
                tail.split("::")
                    .filter(|part| !part.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
    }
    paths
        .into_iter()
        .filter(|path| matches!(path[0].as_str(), "crate" | "super" | "self"))
        .collect()
}

/// Where the next `use ` keyword starts (at a word boundary).
fn find_use(code: &str) -> Option<usize> {
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(found) = code[from..].find("use ") {
        let start = from + found;
        if start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            return Some(start);
        }
        from = start + 4;
    }
    None
}

/// `a::{b, c::{self, D}}` under `prefix` into `a::b`, `a::c`, `a::c::D`.
fn expand_use_tree(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect();
        let close = tree.rfind('}').unwrap_or(tree.len());
        let depth = prefix.len();
        prefix.extend(head);
        for item in split_top_level(&tree[open + 1..close]) {
            expand_use_tree(item, prefix, out);
        }
        prefix.truncate(depth);
        return;
    }
    let path = tree.split(" as ").next().unwrap_or(tree);
    let mut full = prefix.clone();
    full.extend(
        path.split("::")
            .map(str::trim)
            .filter(|part| !part.is_empty() && *part != "*")
            .map(str::to_owned),
    );
    if full.last().is_some_and(|last| last == "self") && full.len() > 1 {
        full.pop();
    }
    if !full.is_empty() {
        out.push(full);
    }
}

/// The comma-separated items of a use group, keeping nested groups whole.
fn split_top_level(group: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (index, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&group[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items.into_iter().filter(|item| !item.trim().is_empty()).collect()
}

/// The module a path names: its longest prefix that is a module of the crate.
fn resolve(module: &[String], path: &[String], known: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let mut base: Vec<String> = match path[0].as_str() {
        "crate" => Vec::new(),
        _ => module.to_vec(),
    };
    let mut segments = &path[1..];
    if path[0] == "super" {
        base.pop();
        while segments.first().is_some_and(|segment| segment == "super") {
            base.pop();
            segments = &segments[1..];
        }
    }
    let mut target = base.clone();
    let mut best = known.contains(&target).then(|| target.clone());
    for segment in segments {
        target.push(segment.clone());
        if known.contains(&target) {
            best = Some(target.clone());
        }
    }
    best
}

/// The strongly connected components of more than one module (each sorted), found with Tarjan's
/// algorithm.
pub fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(walk: &mut Walk<'a>, node: &'a str) {
        let next = walk.index.len();
        walk.index.insert(node, next);
        walk.low.insert(node, next);
        walk.stack.push(node);
        walk.on_stack.insert(node);
        let graph = walk.graph;
        for target in graph.get(node).into_iter().flatten() {
            let target = target.as_str();
            if !walk.index.contains_key(target) {
                visit(walk, target);
                let low = walk.low[node].min(walk.low[target]);
                walk.low.insert(node, low);
            } else if walk.on_stack.contains(target) {
                let low = walk.low[node].min(walk.index[target]);
                walk.low.insert(node, low);
            }
        }
        if walk.low[node] == walk.index[node] {
            let mut component = Vec::new();
            while let Some(top) = walk.stack.pop() {
                walk.on_stack.remove(top);
                component.push(top.to_owned());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                walk.found.push(component);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            visit(&mut walk, node);
        }
    }
    walk.found.sort();
    walk.found
}
