//! Command-line features other than the controller: `plan`.

pub mod manifests;
pub mod plan;
