//! The callback thread and exactly-once completions.
//!
//! Host callbacks run here, one at a time, in the order they were posted, so a slow
//! callback never stalls the writer or the network. No lock of ours is held while a
//! callback runs: a callback may call back into the API, even close the tracker.

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::{self, JoinHandle, ThreadId};

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};

type Job = Box<dyn FnOnce() + Send>;

/// What a completion receives: `Ok` or the error that ended the work.
pub type Completion = Box<dyn FnOnce(Result<()>) + Send>;

struct State {
    jobs: VecDeque<Job>,
    closed: bool,
    thread: Option<JoinHandle<()>>,
    thread_id: Option<ThreadId>,
}

struct Shared {
    state: Mutex<State>,
    ready: Condvar,
}

/// A handle to one tracker's callback thread. Cloning shares the thread.
#[derive(Clone)]
pub struct CallbackQueue {
    shared: Arc<Shared>,
}

impl CallbackQueue {
    /// Starts the callback thread.
    pub fn start(name: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State { jobs: VecDeque::new(), closed: false, thread: None, thread_id: None }),
            ready: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        let handle = thread::Builder::new().name(name.to_owned()).spawn(move || run(&worker))?;
        let mut st = shared.state.lock();
        st.thread_id = Some(handle.thread().id());
        st.thread = Some(handle);
        drop(st);
        Ok(CallbackQueue { shared })
    }

    /// Queues `job` for the callback thread. After shutdown the job runs on the
    /// calling thread instead: a completion is never lost.
    pub fn post(&self, job: impl FnOnce() + Send + 'static) {
        let mut st = self.shared.state.lock();
        if st.closed && st.thread.is_none() {
            drop(st);
            job();
            return;
        }
        st.jobs.push_back(Box::new(job));
        drop(st);
        self.shared.ready.notify_one();
    }

    /// True when called from inside a callback of this queue.
    pub fn on_callback_thread(&self) -> bool {
        self.shared.state.lock().thread_id == Some(thread::current().id())
    }

    /// Runs every queued job, then stops the thread. When called from the callback
    /// thread itself (a callback closing its tracker) it does not wait for itself:
    /// the thread finishes the queue after the current callback returns.
    pub fn shutdown(&self) {
        let mut st = self.shared.state.lock();
        st.closed = true;
        let own_thread = st.thread_id == Some(thread::current().id());
        let handle = if own_thread { None } else { st.thread.take() };
        drop(st);
        self.shared.ready.notify_all();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

fn run(shared: &Shared) {
    loop {
        let mut st = shared.state.lock();
        while st.jobs.is_empty() && !st.closed {
            shared.ready.wait(&mut st);
        }
        let Some(job) = st.jobs.pop_front() else {
            // Closed and drained. Later posts run inline (see `post`).
            st.thread = None;
            return;
        };
        drop(st);
        // A panicking host callback must not take the other completions with it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// A result a completion can carry, with the value reported when the work is
/// abandoned at shutdown.
pub trait Outcome: Send + 'static {
    fn cancelled() -> Self;
}

impl Outcome for Result<()> {
    fn cancelled() -> Self {
        Err(Error::cancelled())
    }
}

/// Completes one piece of host-visible work exactly once: `complete` posts the
/// result to the callback thread; dropping an uncompleted `Completer` (work
/// abandoned at shutdown) posts `T::cancelled()`.
pub struct Completer<T: Outcome = Result<()>> {
    done: Option<Box<dyn FnOnce(T) + Send>>,
    queue: CallbackQueue,
}

impl<T: Outcome> Completer<T> {
    pub fn new(queue: &CallbackQueue, done: Box<dyn FnOnce(T) + Send>) -> Self {
        Completer { done: Some(done), queue: queue.clone() }
    }

    /// Forgets the completion without calling it: for work refused synchronously,
    /// whose caller learns the outcome from the returned status instead.
    pub fn disarm(mut self) {
        self.done = None;
    }

    pub fn complete(mut self, result: T) {
        if let Some(done) = self.done.take() {
            self.queue.post(move || done(result));
        }
    }
}

impl<T: Outcome> Drop for Completer<T> {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            self.queue.post(move || done(T::cancelled()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_completer_runs_exactly_once_on_the_callback_thread() {
        let q = CallbackQueue::start("test-cb").unwrap();
        let (tx, rx) = mpsc::channel();
        let c = Completer::new(&q, Box::new(move |r| tx.send((r, thread::current().id())).unwrap()));
        c.complete(Ok(()));
        let (r, tid) = rx.recv().unwrap();
        assert!(r.is_ok());
        assert_ne!(tid, thread::current().id());
        q.shutdown();
        assert!(rx.try_recv().is_err(), "called once only");
    }

    #[test]
    fn a_dropped_completer_reports_cancelled() {
        let q = CallbackQueue::start("test-cb").unwrap();
        let (tx, rx) = mpsc::channel();
        drop(Completer::new(&q, Box::new(move |r: Result<()>| tx.send(r).unwrap())));
        q.shutdown();
        assert_eq!(rx.recv().unwrap().unwrap_err().status, crate::Status::Cancelled);
    }

    #[test]
    fn shutdown_runs_every_queued_job_first() {
        let q = CallbackQueue::start("test-cb").unwrap();
        let count = Arc::new(Mutex::new(0));
        for _ in 0..100 {
            let count = Arc::clone(&count);
            q.post(move || *count.lock() += 1);
        }
        q.shutdown();
        assert_eq!(*count.lock(), 100);
    }

    #[test]
    fn a_panicking_callback_does_not_stop_the_others() {
        let q = CallbackQueue::start("test-cb").unwrap();
        let (tx, rx) = mpsc::channel();
        q.post(|| panic!("host bug"));
        q.post(move || tx.send(1).unwrap());
        assert_eq!(rx.recv().unwrap(), 1);
        q.shutdown();
    }
}
