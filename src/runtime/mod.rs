//! Threads and host callbacks: the callback thread, exactly-once completions, the
//! logger and drop reporting. Storage and delivery hand their results here; this is
//! the only place host code is called from a tracker thread.

pub mod callbacks;
pub mod oneshot;
pub mod report;

pub use callbacks::{CallbackQueue, Completer, Completion, Outcome};
pub use oneshot::Oneshot;
pub use report::{Reporter, StatsSnapshot};
