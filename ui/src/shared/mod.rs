//! Widgets and helpers every feature module uses.

pub mod lag_probe;
pub mod modal;
pub mod time;
pub mod toast;
pub mod virtual_rows;

use std::rc::Rc;

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
