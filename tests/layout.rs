//! The workspace's layering, checked: what each crate may depend on (`cargo tree`), and no import
//! cycle between the modules of any crate (issue 15). The rules live here, in one place:
//!
//! - `outbound-core` (and the `outbound-api` it reads) has no I/O crate in its dependency tree;
//! - `outbound-sim` depends on none of the operator's crates (an independent model of the
//!   platform), and the others use it only as a dev-dependency;
//! - within a crate, a module may use its own descendants and its ancestors' items, but two
//!   modules never use each other, directly or through others (the crates' sources and the scale
//!   bench's, `benches/scale`);
//! - `src/controller/` is grouped by job (at most 12 entries at its top level), and its `intake/`
//!   and `writes/` never use `reconcile/`.

#[path = "layout/modules.rs"]
mod modules;

use std::path::Path;
use std::process::Command;

use modules::{cycles, module_graph};

/// Crates that perform I/O (runtime, HTTP, Kubernetes client): none of them in the core.
const IO_CRATES: &[&str] = &[
    "tokio",
    "mio",
    "reqwest",
    "hyper",
    "hyper-util",
    "h2",
    "tower",
    "kube-client",
    "kube-runtime",
    "rustls",
    "axum",
];

/// The crate names in `cargo tree -p <package> -e normal` (its normal dependencies, transitively).
fn normal_dependencies(package: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "--locked",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_core_and_the_api_do_no_io() {
    for package in ["outbound-core", "outbound-api"] {
        let dependencies = normal_dependencies(package);
        assert!(
            dependencies.iter().any(|name| name == "serde"),
            "cargo tree output parsed: {dependencies:?}"
        );
        let io: Vec<&String> = dependencies
            .iter()
            .filter(|name| IO_CRATES.contains(&name.as_str()))
            .collect();
        assert!(
            io.is_empty(),
            "{package} must not depend on I/O crates, but its tree has {io:?}"
        );
    }
}

#[test]
fn the_simulator_is_independent_and_only_a_dev_dependency() {
    let ours = [
        "outbound-api",
        "outbound-core",
        "outbound-platform",
        "outbound-operator",
    ];
    let sim = normal_dependencies("outbound-sim");
    let coupled: Vec<&String> = sim.iter().filter(|name| ours.contains(&name.as_str())).collect();
    assert!(coupled.is_empty(), "outbound-sim must not depend on {coupled:?}");
    for package in ours {
        let dependencies = normal_dependencies(package);
        assert!(
            !dependencies.iter().any(|name| name == "outbound-sim"),
            "{package} depends on outbound-sim outside its dev-dependencies"
        );
    }
}

#[test]
fn no_import_cycle_between_modules_of_a_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Each entry is one crate's source root. The scale bench (`harness = false`) is a crate of its
    // own with `main.rs` as its root, and twenty-odd modules: as apt to grow a cycle as the rest.
    let crates = [
        "src",
        "crates/api/src",
        "crates/core/src",
        "crates/platform/src",
        "crates/sim/src",
        "benches/scale",
    ];
    let mut found = Vec::new();
    for source in crates {
        let graph = module_graph(&root.join(source));
        assert!(
            graph.len() > 3,
            "{source}: modules found: {:?}",
            graph.keys().collect::<Vec<_>>()
        );
        for cycle in cycles(&graph) {
            let edges: Vec<String> = cycle
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|to| cycle.contains(to))
                        .map(move |to| format!("{from} uses {to}"))
                })
                .collect();
            found.push(format!("{source}: {{{}}}: {}", cycle.join(", "), edges.join("; ")));
        }
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

/// The controller's folders by job (`src/controller/`): the intake of work and the Kubernetes
/// writes serve the reconcile and never reach into it, and the top level stays small enough to
/// read at a glance.
#[test]
fn the_controller_is_grouped_by_job_and_intake_and_writes_do_not_use_reconcile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let controller = root.join("src/controller");
    let entries: Vec<String> = std::fs::read_dir(&controller)
        .expect("src/controller readable")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        entries.len() <= 12,
        "src/controller has {} entries at its top level (at most 12): {entries:?}",
        entries.len()
    );
    let graph = module_graph(&root.join("src"));
    for folder in ["intake", "reconcile", "accounts", "writes", "metrics"] {
        let module = format!("controller::{folder}");
        assert!(
            graph.contains_key(&module),
            "{module} exists: {:?}",
            graph.keys().collect::<Vec<_>>()
        );
    }
    let mut upward = Vec::new();
    for (module, uses) in &graph {
        if !(module.starts_with("controller::intake") || module.starts_with("controller::writes")) {
            continue;
        }
        for used in uses.iter().filter(|used| used.starts_with("controller::reconcile")) {
            upward.push(format!("{module} uses {used}"));
        }
    }
    assert!(
        upward.is_empty(),
        "intake/ and writes/ must not use reconcile/:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_cycle_finder_sees_a_cycle_through_three_modules() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n");
    write("a.rs", "use crate::b::B;\n");
    write("b.rs", "use crate::{c::{self, C}, d::D};\n");
    write(
        "c.rs",
        "pub fn f() { super::a::g() }\n#[cfg(test)]\nmod tests {\n    use crate::d::D;\n}\n",
    );
    write(
        "d.rs",
        "use std::fmt;\n#[cfg(test)]\nmod tests {\n    use crate::a::A;\n}\n",
    );
    let graph = module_graph(dir.path());
    assert_eq!(
        cycles(&graph),
        vec![vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]
    );
}
