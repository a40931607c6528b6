//! Output: the progress lines on stderr and the Markdown tables on stdout.

use std::collections::BTreeMap;

use crate::calls::CallSummary;
use crate::phases::RunResult;
use crate::procs::opt;
use crate::results::Results;

pub fn print_run(run: &RunResult) {
    for target in &run.targets {
        eprintln!(
            "target {}: {} (target {}): {}",
            target.name,
            target.measured,
            target.target,
            if target.met { "met" } else { "NOT met" }
        );
    }
}

fn calls_cell(calls: &CallSummary) -> String {
    let get = |e: &str| calls.per_task.get(e).copied().unwrap_or(0.0);
    format!(
        "{:.2}/{:.2}/{:.2}/{:.2}",
        get("detail"),
        get("pause"),
        get("update"),
        get("resume")
    )
}

fn kube_cell(p: &BTreeMap<String, f64>) -> String {
    if p.is_empty() {
        return "0".into();
    }
    p.iter()
        .map(|(k, v)| format!("{k} {v:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Markdown tables of the results.
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    let m = &results.machine;
    out.push_str(&format!(
        "\nScale benchmark, {} ({} CPUs: {}; {:.1} GiB; kernel {}; kube-apiserver {}; commit {})\n\n",
        results.started_at, m.cpus, m.cpu_model, m.memory_gib, m.kernel, m.apiserver_version, m.git_commit
    ));
    out.push_str(
        "| tasks | conc. | initial Ready s | change Ready s | floor s (conc. / 64) | change / floor | initial / floor | \
         calls/task initial d/p/u/r | calls/task change d/p/u/r | idle reads, writes /task | RSS peak / steady MiB | \
         operator CPU s init / change / idle |\n",
    );
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|\n");
    for run in &results.runs {
        let phase = |name: &str| run.phases.iter().find(|p| p.name == name);
        let initial = phase("initial").expect("initial");
        let change = phase("change").expect("change");
        let idle = run.idle.as_ref();
        out.push_str(&format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} / {:.2} | {:.2}x | {:.2}x | {} | {} | {} | {:.1} / {:.1} | {:.2} / {:.2} / {} |\n",
            run.tasks,
            run.concurrency,
            initial.ready_s,
            change.ready_s,
            run.floor.same_parallelism_s,
            run.floor.parallel_s,
            run.change_vs_floor,
            run.initial_vs_floor,
            calls_cell(&initial.calls),
            calls_cell(&change.calls),
            idle.map_or("-".into(), |i| format!(
                "{:.3}, {:.3} ({}/{} exactly 1 read)",
                i.reads_per_task, i.writes_per_task, i.tasks_with_one_read, run.tasks
            )),
            run.operator_peak_rss_mib,
            run.operator_steady_rss_mib,
            initial.cpu.operator,
            change.cpu.operator,
            idle.map_or("-".into(), |i| format!("{:.2} ({:.1}%)", i.cpu.operator, i.operator_cpu_percent)),
        ));
    }
    out.push_str("\nApiserver requests by the operator, per task:\n\n| tasks | conc. | phase | requests/task | CPU s: operator / apiserver / etcd / bench / others |\n|---:|---:|---|---|---|\n");
    for run in &results.runs {
        let f = &run.floor;
        out.push_str(&format!(
            "| {} | {} | floor ({:.2}s) | (the bench: patch outboundtasks/status 1.00) | - / {} / {} / {:.2} / {:.2} |\n",
            run.tasks,
            run.concurrency,
            f.best_s,
            opt(f.cpu.apiserver),
            opt(f.cpu.etcd),
            f.cpu.bench,
            f.cpu.others()
        ));
        out.push_str(&format!(
            "| {} | {} | floor as merge patches ({:.2}s) | (the bench: patch outboundtasks/status 1.00) | - / {} / {} / {:.2} / {:.2} |\n",
            run.tasks,
            run.concurrency,
            f.merge_patch_s,
            opt(f.merge_patch_cpu.apiserver),
            opt(f.merge_patch_cpu.etcd),
            f.merge_patch_cpu.bench,
            f.merge_patch_cpu.others()
        ));
        for p in &run.phases {
            out.push_str(&format!(
                "| {} | {} | {} ({:.2}s) | {} | {:.2} / {} / {} / {:.2} / {:.2} |\n",
                run.tasks,
                run.concurrency,
                p.name,
                p.ready_s,
                kube_cell(&p.kube_requests_per_task),
                p.cpu.operator,
                opt(p.cpu.apiserver),
                opt(p.cpu.etcd),
                p.cpu.bench,
                p.cpu.others()
            ));
        }
        if let Some(i) = &run.idle {
            out.push_str(&format!(
                "| {} | {} | idle ({:.0}s) | {} | {:.2} / {} / {} / {:.2} / {:.2} |\n",
                run.tasks,
                run.concurrency,
                i.wall_s,
                kube_cell(&i.kube_requests_per_task),
                i.cpu.operator,
                opt(i.cpu.apiserver),
                opt(i.cpu.etcd),
                i.cpu.bench,
                i.cpu.others()
            ));
        }
    }
    if !results.budget.is_empty() {
        out.push_str("\nRate budget (simulator limit = account rate):\n\n| tasks | budget rps | burst | calls | Ready s | max calls in any 1 s | <= budget + burst | <= budget | 429 answers |\n|---:|---:|---:|---:|---:|---:|---|---|---:|\n");
        for b in &results.budget {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.1} | {} | {} | {} | {} |\n",
                b.tasks,
                b.account_rps,
                b.account_burst,
                b.calls,
                b.ready_s,
                b.max_calls_in_1s_window,
                yes(b.within_budget_plus_burst),
                yes(b.within_budget),
                b.answered_429
            ));
        }
    }
    if !results.pause_budget.is_empty() {
        out.push_str(&crate::pause_budget::render(&results.pause_budget));
    }
    if !results.head_of_line.is_empty() {
        out.push_str(&crate::head_of_line::render(&results.head_of_line));
    }
    out.push_str(&crate::chaos::render_chaos(&results.chaos));
    out.push_str(&crate::memory::render_memory(&results.memory));
    out.push_str("\nTargets:\n\n");
    for run in &results.runs {
        for t in &run.targets {
            out.push_str(&format!(
                "- N={} conc={}: {}: {} (target {}): {}\n",
                run.tasks,
                run.concurrency,
                t.name,
                t.measured,
                t.target,
                if t.met { "met" } else { "NOT met" }
            ));
        }
    }
    for b in &results.budget {
        out.push_str(&format!(
            "- budget {} rps, burst {}: max {} calls in a 1 s window: <= budget + burst ({}): {}; <= budget ({}): {}\n",
            b.account_rps,
            b.account_burst,
            b.max_calls_in_1s_window,
            b.budget_plus_burst,
            if b.within_budget_plus_burst { "met" } else { "NOT met" },
            b.account_rps,
            if b.within_budget { "met" } else { "NOT met" }
        ));
    }
    out
}

fn yes(value: bool) -> &'static str {
    if value { "yes" } else { "NO" }
}
