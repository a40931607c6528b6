//! The imperative shell: watches OutboundTasks (and the accounts and Secrets they use), reads the
//! remote task, asks the planner what to do, executes it crash-safely and reports.

pub mod http;
pub mod metrics;
