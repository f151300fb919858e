//! The installed package's app (not the build tree's) opens its window: run by
//! `.ci/package-test` after `dpkg -i`, with `VMO_INSTALLED_APP` naming the installed
//! binary. Without it the test fails, saying how to run it.

mod support;

use std::path::Path;
use support::webdriver::Driver;

#[test]
#[ignore = "run by .ci/package-test against the installed package"]
fn the_installed_app_opens_its_window() {
    let app = std::env::var("VMO_INSTALLED_APP")
        .expect("VMO_INSTALLED_APP must name the installed app (.ci/package-test sets it)");
    assert!(
        !app.contains("/target/"),
        "{app} is the build tree's binary, not the installed one"
    );
    let data = tempfile::tempdir().unwrap();
    let driver = Driver::start(Path::new(&app), &[("VMO_DATA_DIR", data.path())]);
    let s = driver.session();
    s.find("#dashboard");
    s.wait_text("#getting-started", "Getting started");
    s.screenshot("package-01-installed-app");
    s.quit();
}
