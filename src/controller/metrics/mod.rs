//! What the operator exports: the controller's own metrics, the fleet seen in its caches, its
//! requests to the Kubernetes API server, and the HTTP server for `/metrics`, `/healthz` and
//! `/readyz`. Remote-call metrics live with the platform client (`outbound_platform::metrics`)
//! and are registered into the same registry.

pub mod controller;
pub mod fleet;
pub mod kube_client;
pub mod server;
