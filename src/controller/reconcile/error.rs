//! What a reconcile returns when it cannot go on ([`Error`]: kube-runtime retries it with the
//! error policy), and how a platform error is classified for the planner ([`failure_of`]).

use outbound_core::planner::Failure;
use outbound_platform::{Endpoint, ErrorKind, RemoteError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("object has no namespace")]
    NoNamespace,
}

/// The planner's classification of a platform error.
pub fn failure_of(error: &RemoteError) -> Failure {
    match error.kind() {
        ErrorKind::Unauthorized => Failure::Unauthorized,
        // A write that finds no path for a task the detail call reads: the path, not the task.
        ErrorKind::NotFound => match error.endpoint() {
            Endpoint::Pause | Endpoint::Update | Endpoint::Resume => {
                Failure::EndpointNotFound(error.endpoint().as_str())
            }
            _ => Failure::TaskNotFound,
        },
        ErrorKind::Throttled => Failure::Throttled,
        ErrorKind::Rejected => Failure::Rejected(error.message().to_string()),
        ErrorKind::TaskStarted | ErrorKind::Transient | ErrorKind::Fenced => Failure::Transient(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_errors_map_to_their_reasons() {
        let error = |kind| RemoteError::new(kind, Endpoint::Detail, Some(200), Some(1), "msg", None);
        assert_eq!(failure_of(&error(ErrorKind::NotFound)), Failure::TaskNotFound);
        assert_eq!(failure_of(&error(ErrorKind::Unauthorized)), Failure::Unauthorized);
        assert_eq!(failure_of(&error(ErrorKind::Rejected)), Failure::Rejected("msg".into()));
        assert!(matches!(
            failure_of(&error(ErrorKind::Transient)),
            Failure::Transient(_)
        ));
        let not_found_on = |endpoint| RemoteError::new(ErrorKind::NotFound, endpoint, Some(404), Some(404), "", None);
        assert_eq!(
            failure_of(&not_found_on(Endpoint::Resume)),
            Failure::EndpointNotFound("resume")
        );
        assert_eq!(
            failure_of(&not_found_on(Endpoint::Update)),
            Failure::EndpointNotFound("update")
        );
        assert_eq!(failure_of(&not_found_on(Endpoint::Delete)), Failure::TaskNotFound);
    }
}
