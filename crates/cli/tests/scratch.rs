#[test]
#[ignore]
fn hold_fleet() {
    let fleet = vmo_testkit::Fleet::start(2);
    std::fs::write(
        "/tmp/scratch-fleet",
        format!(
            "{}\n{}\n",
            fleet.ssh_config().display(),
            fleet.known_hosts().display()
        ),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(900));
}
