//! What brings a task to a reconcile, and when: the watches of tasks, accounts and Secrets, the
//! triggers each watch event is filtered through, and the queue that hands the waiting work to
//! the workers by priority. Nothing here reconciles: it decides only which task runs next.

pub mod health;
pub mod queue;
pub mod triggers;
pub mod waiting;
pub mod watches;
