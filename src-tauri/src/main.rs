// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(err) = vm_orchestrator::run() {
        eprintln!("vm-orchestrator: {err:#}");
        std::process::exit(1);
    }
}
