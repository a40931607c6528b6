//! outbound-operator: keeps AI outbound-calling campaigns (tasks on the calling platform) in the
//! state declared in Kubernetes objects.
//!
//! Functional core, imperative shell: `mapping`, `diff`, `planner` and `queue` are pure; `remote` (the
//! platform client) and `controller` perform I/O; `sim` is the platform simulator.

pub mod api;
pub mod cli;
pub mod controller;
pub mod diff;
pub mod mapping;
pub mod planner;
pub mod queue;
pub mod remote;
pub mod sim;
pub mod telemetry;
