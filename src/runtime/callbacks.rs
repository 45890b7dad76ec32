//! The callback thread and exactly-once completions.
//!
//! Host callbacks run here, one at a time, in the order they were posted, so a slow
//! callback never stalls the writer or the network: on the tracker's own callback
//! thread, or, in polled mode, on whatever host thread calls `poll` (a game loop,
//! Unity's main thread). No lock of ours is held while a callback runs: a callback
//! may call back into the API, even close the tracker.

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
    /// Jobs wait for `poll` instead of a thread.
    polled: bool,
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
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                closed: false,
                polled: false,
                thread: None,
                thread_id: None,
            }),
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

    /// A queue without a thread: jobs run when the host calls `poll`.
    pub fn polled() -> Self {
        CallbackQueue {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    closed: false,
                    polled: true,
                    thread: None,
                    thread_id: None,
                }),
                ready: Condvar::new(),
            }),
        }
    }

    /// Runs up to `max` queued jobs (0 = all) on the calling thread; returns how
    /// many ran. In thread mode there is nothing to poll: 0.
    pub fn poll(&self, max: usize) -> usize {
        let mut ran = 0;
        while max == 0 || ran < max {
            let job = {
                let mut st = self.shared.state.lock();
                if !st.polled {
                    return 0;
                }
                match st.jobs.pop_front() {
                    Some(job) => job,
                    None => break,
                }
            };
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            ran += 1;
        }
        ran
    }

    /// Queues `job` for the callback thread (or the next `poll`). After shutdown
    /// the job runs on the calling thread instead: a completion is never lost.
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

    /// Runs every queued job, then stops the thread. When called from the callback
    /// thread itself (a callback closing its tracker) it runs the queued jobs
    /// inline instead of waiting for itself; either way none runs after it.
    pub fn shutdown(&self) {
        let mut st = self.shared.state.lock();
        st.closed = true;
        if st.polled {
            // No thread: what the host has not polled runs now, on this thread.
            drop(st);
            while self.poll(0) > 0 {}
            return;
        }
        let own_thread = st.thread_id == Some(thread::current().id());
        let handle = if own_thread { None } else { st.thread.take() };
        drop(st);
        self.shared.ready.notify_all();
        if let Some(handle) = handle {
            let _ = handle.join();
        } else if own_thread {
            // A callback is closing its tracker: run what is still queued now,
            // so nothing of this tracker's reaches the host after the close.
            while let Some(job) = self.shared.state.lock().jobs.pop_front() {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
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
    fn a_polled_queue_runs_jobs_only_when_polled_and_on_the_polling_thread() {
        let q = CallbackQueue::polled();
        let (tx, rx) = mpsc::channel();
        for i in 0..5 {
            let tx = tx.clone();
            q.post(move || tx.send((i, thread::current().id())).unwrap());
        }
        assert!(rx.try_recv().is_err(), "nothing runs by itself");
        assert_eq!(q.poll(2), 2);
        assert_eq!(rx.try_recv().unwrap(), (0, thread::current().id()));
        assert_eq!(rx.try_recv().unwrap().0, 1);
        assert_eq!(q.poll(0), 3, "0 = everything queued");
        assert_eq!(q.poll(0), 0);
    }

    #[test]
    fn shutting_down_a_polled_queue_runs_what_was_not_polled() {
        let q = CallbackQueue::polled();
        let count = Arc::new(Mutex::new(0));
        for _ in 0..3 {
            let count = Arc::clone(&count);
            q.post(move || *count.lock() += 1);
        }
        q.shutdown();
        assert_eq!(*count.lock(), 3);
        let c = Arc::clone(&count);
        q.post(move || *c.lock() += 1);
        assert_eq!(*count.lock(), 4, "after shutdown a post runs at once");
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
