//! The Kubernetes API of the operator (`outbound.dev/v1alpha1`): the types users write, and the
//! CRDs generated from them. No controller logic lives here (Kubebuilder's `api/` split).

mod account;
pub mod reference;
mod status;
mod task;
mod task_settings;

pub use account::*;
pub use status::*;
pub use task::*;
pub use task_settings::*;

use kube::CustomResourceExt;
use kube::core::crd::merge_crds;

/// API group of both kinds.
pub const GROUP: &str = "outbound.dev";

/// Annotation Flux (and `flux reconcile`) set to ask for an immediate reconcile; its value is
/// echoed in `status.lastHandledReconcileAt` once handled.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

/// Both CRDs as one multi-document YAML stream, exactly what `outbound-operator crd` prints and
/// `crds/` holds.
pub fn crds_yaml() -> String {
    let mut out = String::new();
    for crd in [OutboundAccount::crd(), OutboundTask::crd()] {
        // merge_crds with a single version is the identity; it keeps us honest if a version is added.
        let crd = merge_crds(vec![crd], "v1alpha1").expect("a single served version always merges");
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd).expect("CRDs serialise to YAML"));
    }
    out
}

/// Patterns shared by the field types (kept in one place so docs, schema and tests agree).
pub mod patterns {
    pub const UUID: &str = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
    pub const DATE_TIME: &str =
        r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$";
    pub const DATE_MINUTE: &str = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]$";
    pub const TIME_OF_DAY: &str = r"^([01][0-9]|2[0-3]):[0-5][0-9]$";
    pub const TIME_OF_DAY_SECONDS: &str = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$";
    pub const DURATION: &str = r"^([0-9]+(ms|s|m|h))+$";
    pub const HTTP_URL: &str = r"^https?://[^\s/]+(/.*)?$";
}
