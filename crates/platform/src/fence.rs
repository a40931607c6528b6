//! The leader fence: whether this process may still write to the platform. With leader election
//! it is open only until the instant its Lease could be taken over by another replica, minus a
//! margin, as measured by the local clock from the last successful renewal; every platform write
//! checks it right before its request is sent, so a replica cut off from the API server stops
//! writing when its renew deadline passes, without waiting for anything else to notice.
//! Without leader election it always allows.

use std::fmt;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;

/// Shared by the leader elector (which opens and extends it) and every platform client (which
/// asks it before each write). Cloning shares it.
#[derive(Clone)]
pub struct Fence {
    /// `None`: no leader election, writes always allowed. Else the instant until which writes
    /// are allowed (`None` inside: closed).
    until: Option<Arc<watch::Sender<Option<Instant>>>>,
    /// A further condition of one task's writes (see [`Fence::while_also`]).
    also: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
}

impl Fence {
    /// A fence that always allows (no leader election).
    pub fn unfenced() -> Self {
        Fence {
            until: None,
            also: None,
        }
    }

    /// A fence that allows nothing until `hold_until` is called.
    pub fn closed() -> Self {
        Fence {
            until: Some(Arc::new(watch::channel(None).0)),
            also: None,
        }
    }

    /// After a successful acquisition or renewal: writes are allowed until `until`.
    pub fn hold_until(&self, until: Instant) {
        if let Some(sender) = &self.until {
            sender.send_replace(Some(until));
        }
    }

    /// The Lease is someone else's (or is being released): no more writes.
    pub fn close(&self) {
        if let Some(sender) = &self.until {
            sender.send_replace(None);
        }
    }

    /// This fence, and `also` too: for the writes of one task, whether it is still this
    /// process's (not moved to another shard). Asked right before each HTTP attempt, retries
    /// inside the client included.
    pub fn while_also(&self, also: impl Fn() -> bool + Send + Sync + 'static) -> Fence {
        Fence {
            until: self.until.clone(),
            also: Some(Arc::new(also)),
        }
    }

    /// Whether a platform write may be sent now.
    pub fn allows_write(&self) -> bool {
        let leader = match &self.until {
            None => true,
            Some(sender) => sender.borrow().is_some_and(|until| Instant::now() < until),
        };
        leader && self.also.as_ref().is_none_or(|also| also())
    }

    /// Resolves once writes are no longer allowed: the deadline passed without renewal, or the
    /// fence was closed. Never resolves for an unfenced process.
    pub async fn expired(&self) {
        let Some(sender) = &self.until else {
            return std::future::pending().await;
        };
        let mut changes = sender.subscribe();
        loop {
            let Some(until) = *changes.borrow_and_update() else {
                return;
            };
            if Instant::now() >= until {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                // The sender lives as long as `self`: an error cannot happen while we wait.
                _ = changes.changed() => {}
            }
        }
    }
}

impl fmt::Debug for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.until {
            None => f.write_str("Fence(unfenced)"),
            Some(_) => write!(f, "Fence(allows_write: {})", self.allows_write()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn allows_until_the_deadline_then_expires() {
        let fence = Fence::closed();
        assert!(!fence.allows_write(), "closed before the first acquisition");
        fence.hold_until(Instant::now() + 400 * MS);
        assert!(fence.allows_write());
        let expired = {
            let fence = fence.clone();
            tokio::spawn(async move { fence.expired().await })
        };
        tokio::time::sleep(200 * MS).await;
        let renewed_until = Instant::now() + 400 * MS; // a renewal at t = 200 ms
        fence.hold_until(renewed_until);
        tokio::time::sleep_until(renewed_until - 100 * MS).await;
        assert!(fence.allows_write(), "renewed: open past the first deadline");
        assert!(!expired.is_finished());
        tokio::time::sleep_until(renewed_until).await;
        assert!(
            !fence.allows_write(),
            "no renewal within the deadline: closed by the clock alone"
        );
        tokio::time::timeout(200 * MS, expired).await.unwrap().unwrap();
    }

    /// "Until the instant": at the deadline itself no write is sent any more (paused time, so
    /// the clock stands exactly on it).
    #[tokio::test(start_paused = true)]
    async fn at_the_deadline_itself_writes_stop() {
        let fence = Fence::closed();
        let until = Instant::now() + 400 * MS;
        fence.hold_until(until);
        tokio::time::sleep_until(until - MS).await;
        assert!(fence.allows_write(), "a millisecond before the deadline");
        tokio::time::sleep_until(until).await;
        assert_eq!(Instant::now(), until);
        assert!(!fence.allows_write(), "at the deadline");
    }

    /// Its Debug output (in the client's, and so in logs) says whether it allows writes.
    #[test]
    fn debug_says_whether_writes_are_allowed() {
        assert_eq!(format!("{:?}", Fence::unfenced()), "Fence(unfenced)");
        assert_eq!(format!("{:?}", Fence::closed()), "Fence(allows_write: false)");
    }

    #[tokio::test]
    async fn closing_stops_writes_at_once_and_unfenced_always_allows() {
        let fence = Fence::closed();
        fence.hold_until(Instant::now() + Duration::from_secs(10));
        fence.close();
        assert!(!fence.allows_write());
        tokio::time::timeout(100 * MS, fence.expired())
            .await
            .expect("a closed fence has expired");
        let open = Fence::unfenced();
        assert!(open.allows_write());
        let owned = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let task_fence = {
            let owned = owned.clone();
            open.while_also(move || owned.load(std::sync::atomic::Ordering::SeqCst))
        };
        assert!(task_fence.allows_write());
        owned.store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(!task_fence.allows_write(), "the task's own condition closes it");
        assert!(open.allows_write(), "the process's fence is not affected");
        assert!(tokio::time::timeout(100 * MS, open.expired()).await.is_err());
    }
}
