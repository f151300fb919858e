//! Widgets and helpers every feature module uses.

pub mod lag_probe;
pub mod modal;
pub mod time;
pub mod toast;
pub mod virtual_rows;

use std::rc::Rc;

/// Lets the runtime under the virtual DOM run (timers, the socket, a render) between two
/// slices of work. A plain yield is not enough: the virtual DOM would find the woken task
/// at once and go on without returning to the runtime.
pub async fn breathe() {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
}

/// A value computed once and shared by the views that read it; two are equal only if they
/// are the same computation (comparing 10,000 rows to find out is what sharing avoids).
pub struct Shared<T>(pub Rc<T>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Self(Rc::new(value))
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
