//! A small file system for disk-full tests: a tmpfs of a given size mounted on a folder,
//! unmounted when dropped. Mounting needs root (CI runs as root).

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it: "8m") on `dir`, created if
    /// needed.
    pub fn mount(dir: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).expect("vmo-testkit: cannot create the mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("vmo-testkit: cannot run mount");
        assert!(
            mounted.success(),
            "vmo-testkit: mounting a tmpfs needs root"
        );
        SmallDisk {
            dir: dir.to_path_buf(),
        }
    }

    /// Bytes still free.
    pub fn free(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.dir)
            .output()
            .expect("vmo-testkit: cannot run df");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .expect("vmo-testkit: df printed no free space")
    }

    /// Fills the disk until `leave` bytes are free, with a file of its own (returned, to
    /// free the space again by removing it).
    pub fn fill(&self, leave: u64) -> PathBuf {
        let filler = self.dir.join("filler");
        let size = self.free().saturating_sub(leave);
        std::fs::write(&filler, vec![0u8; size as usize]).expect("vmo-testkit: cannot fill");
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
