//! A one-value rendezvous between a waiting caller and a worker thread.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

pub struct Oneshot<T> {
    value: Mutex<Option<T>>,
    ready: Condvar,
}

impl<T> Oneshot<T> {
    pub fn new() -> Arc<Self> {
        Arc::new(Oneshot { value: Mutex::new(None), ready: Condvar::new() })
    }

    pub fn send(&self, value: T) {
        *self.value.lock() = Some(value);
        self.ready.notify_all();
    }

    pub fn wait(&self) -> T {
        let mut v = self.value.lock();
        loop {
            if let Some(value) = v.take() {
                return value;
            }
            self.ready.wait(&mut v);
        }
    }

    /// `None` when `deadline` passes first.
    pub fn wait_until(&self, deadline: Instant) -> Option<T> {
        let mut v = self.value.lock();
        loop {
            if let Some(value) = v.take() {
                return Some(value);
            }
            if self.ready.wait_until(&mut v, deadline).timed_out() {
                return v.take();
            }
        }
    }
}
