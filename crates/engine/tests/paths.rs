//! Where the engine keeps its files. One test only: it changes the process environment,
//! so it lives in its own test binary and cannot race another test.

use vmo_engine::paths::DATA_DIR_ENV;
use vmo_engine::Paths;

#[test]
fn data_dir_comes_from_the_environment_or_the_platform_default() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("portable");

    std::env::set_var(DATA_DIR_ENV, &dir);
    let paths = Paths::from_env().unwrap();
    assert_eq!(paths.data_dir(), dir.as_path());
    assert_eq!(paths.database_file(), dir.join("inventory.sqlite3"));
    assert_eq!(paths.log_dir(), dir.join("logs"));

    // An empty variable means "not set".
    std::env::set_var(DATA_DIR_ENV, "");
    if let Some(platform) = dirs::data_dir() {
        let paths = Paths::from_env().unwrap();
        assert_eq!(paths.data_dir(), platform.join("vm-orchestrator").as_path());
    }
    std::env::remove_var(DATA_DIR_ENV);

    if let Some(home) = dirs::home_dir() {
        assert_eq!(
            Paths::default_ssh_config(),
            Some(home.join(".ssh").join("config"))
        );
    }
}
