//! `kubectl-outbound`: the kubectl plugin (`kubectl outbound ...` when on PATH). Everything is in
//! `outbound_operator::plugin`.

fn main() -> std::process::ExitCode {
    outbound_operator::plugin::main()
}
