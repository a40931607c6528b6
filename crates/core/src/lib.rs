//! The functional core of outbound-operator: everything that decides, nothing that performs.
//!
//! - `wire` (with `lenient`): the platform's wire types, strict on what we send, lenient on what
//!   we read.
//! - `mapping`: the one mapping between the CRD's settings and the wire types, both ways.
//! - `diff`: field-by-field differences between the desired and the observed settings.
//! - `planner`: the plan of a task (what to change, whether to pause), its report (conditions,
//!   Events), crash recovery, and the executor's step machine (`planner::Steps`).
//! - `queue`: the priority order in which due work is served.
//!
//! No tokio, HTTP or Kubernetes client in this crate's dependency tree (checked by the operator's
//! `tests/layout.rs`): the imperative shell lives in `outbound-platform` and `outbound-operator`.

pub mod diff;
pub mod lenient;
pub mod mapping;
pub mod planner;
pub mod queue;
pub mod wire;
