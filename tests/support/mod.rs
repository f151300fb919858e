//! Shared helpers for the app's integration and end-to-end tests.
#![allow(dead_code)]

pub mod webdriver;
