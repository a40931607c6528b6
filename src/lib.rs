//! outbound-operator: keeps AI outbound-calling campaigns (tasks on the calling platform) in the
//! state declared in Kubernetes objects.
//!
//! The imperative shell of the workspace: `controller` (grouped by job: `intake` of work,
//! `reconcile`, per-`accounts` state, Kubernetes `writes`, `metrics`, leader election and shards),
//! `cli` (`plan`) and `plugin` (the `kubectl outbound` plugin). What it decides comes from
//! `outbound_core` (pure), the platform calls from `outbound_platform`, the API types from
//! `outbound_api`; `outbound_sim` is a dev-dependency only.

pub mod cli;
pub mod controller;
pub mod malloc_tuning;
pub mod plugin;
pub mod telemetry;
