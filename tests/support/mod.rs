//! Shared helpers for the app's integration and end-to-end tests.
#![allow(dead_code)]

pub mod reliability;
pub mod webdriver;

use vmo_engine::{Engine, Paths};
use vmo_testkit::Fleet;
use webdriver::Session;

/// A fleet of `n` sshd, and a data directory whose inventory holds them (imported from the
/// fleet's ssh config) with the given `(VM, tag)` pairs.
pub fn fleet_in_inventory(n: usize, tags: &[(&str, &str)]) -> (Fleet, tempfile::TempDir) {
    let fleet = Fleet::start(n);
    let data = tempfile::tempdir().unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = Engine::open(Paths::new(data.path())).await.unwrap();
        let inventory = engine.inventory();
        inventory
            .import_apply(fleet.ssh_config(), None)
            .await
            .unwrap();
        for (name, tag) in tags {
            let vm = inventory.find_by_name(name).await.unwrap();
            let mut draft = vm.draft();
            draft.tags = vec![tag.to_string()];
            inventory.update(vm.id, draft).await.unwrap();
        }
    });
    (fleet, data)
}

/// Chooses `value` in a `<select>` the way a user's choice would (a change event), once
/// the select is there and offers that value (options may arrive after the select).
pub fn choose(s: &Session, css: &str, value: &str) {
    s.wait_script(&format!(
        "const e = document.querySelector({css:?}); \
         return !!e && [...e.options].some(o => o.value === {value:?});"
    ));
    s.execute(&format!(
        "const e = document.querySelector({css:?}); e.value = {value:?}; \
         e.dispatchEvent(new Event('change', {{ bubbles: true }})); return true;"
    ));
}
