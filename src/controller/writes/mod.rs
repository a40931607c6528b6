//! The operator's writes to the Kubernetes API server for a task: its status, its Events (and,
//! in their modules, how each is made). Nothing here decides what to write.
//!
//! At most [`MAX_IN_FLIGHT`] writes of task status, finalizers and Events are in flight at once.
//!
//! Operations in flight are bounded by `maxPaused`, not by the workers, so a change to thousands
//! of tasks can have thousands of result writes ready together (journal writes are bounded by the
//! workers, which they hold: see `rolling`). kube's client speaks
//! HTTP/1.1 to the API server: each concurrent request is a TLS connection of its own, with its
//! read and write buffers (468 connections during a change to 1,000 tasks, docs/performance.md).
//! On a busy API server more requests in flight only queue there; here they queue in order on a
//! semaphore instead, and the connections stay few. Lease renewals do not pass through it.

use tokio::sync::{Semaphore, SemaphorePermit};

pub mod events;
pub mod finalizer;
pub mod task_status;

/// Enough to keep a busy API server's CPUs fed (the bench's floor writes 64 at once).
pub const MAX_IN_FLIGHT: usize = 64;

static WRITES: Semaphore = Semaphore::const_new(MAX_IN_FLIGHT);

/// A place for one write; released when dropped (after the response).
pub async fn permit() -> SemaphorePermit<'static> {
    WRITES.acquire().await.expect("the write semaphore is never closed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_more_than_the_limit_at_once() {
        let held: Vec<_> = futures::future::join_all((0..MAX_IN_FLIGHT).map(|_| permit())).await;
        let one_more = tokio::time::timeout(std::time::Duration::from_millis(50), permit()).await;
        assert!(one_more.is_err(), "a write beyond the limit must wait");
        drop(held);
        let _freed = tokio::time::timeout(std::time::Duration::from_secs(1), permit())
            .await
            .expect("a place frees when a write ends");
    }
}
