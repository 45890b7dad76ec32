//! What the store asks of the operating system that differs between Unix and
//! Windows: private files and directories, the world-writable directory check,
//! and the identity of a file. Every `std::os::unix` / `std::os::windows` use
//! of the store is here, behind `cfg` (tests/portability.rs fails on one
//! anywhere else that is not behind a `cfg(unix)` or Apple `cfg`).
//!
//! Privacy, per platform:
//!
//! - Unix (Linux, Android, Apple): the store's directory is created 0700 and
//!   its file 0600 (SQLite's `-wal`/`-shm` copy the file's mode); a parent
//!   directory anyone may write to is refused unless allowed.
//! - Windows: privacy comes from the location. Files and directories are
//!   created with the ACL inherited from their parent, and the per-user
//!   locations an app is given (`%LOCALAPPDATA%`, Unity's
//!   `Application.persistentDataPath`, Unreal's `FPaths::ProjectSavedDir()`)
//!   grant access to the user, SYSTEM and Administrators only. Nothing here
//!   can tell a shared directory from a private one through the standard
//!   library, so the world-writable check does not apply: put the store in a
//!   per-user directory.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents: 0700 on Unix, inherited ACL elsewhere.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    imp::private_dir(&mut builder);
    builder.create(dir)
}

/// Options that create a file readable and writable by its owner only (0600
/// on Unix; inherited ACL elsewhere). The caller adds read/write/create flags.
pub(crate) fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    imp::private_file(&mut options);
    options
}

/// `Some(mode)` when anyone may create files in `dir` (Unix mode bit 0o002),
/// with the directory's permission bits for the message; `None` otherwise and
/// wherever the check does not apply (Windows, see the module comment).
pub(crate) fn world_writable(dir: &Path) -> Option<u32> {
    imp::world_writable(dir)
}

/// An identity of the file at `path` that changes when it is deleted and
/// another is created at its place: (device, inode) on Unix. `None` when
/// nothing is there.
///
/// On Windows it is (0, creation time) of the file: SQLite opens the store
/// without `FILE_SHARE_DELETE`, so an open store cannot be deleted or replaced
/// by a rename there, and what remains to notice is its directory being moved
/// away (no file at the path).
pub(crate) fn file_identity(path: &Path) -> Option<(u64, u64)> {
    let meta = fs::metadata(path).ok()?;
    Some(imp::identity(&meta))
}

/// Opens (creating it 0600 when missing) the lock file at `path`, for writing.
pub(crate) fn open_lock_file(path: &Path) -> io::Result<File> {
    private_file_options().create(true).truncate(false).write(true).open(path)
}

#[cfg(unix)]
mod imp {
    use std::fs::{DirBuilder, Metadata, OpenOptions};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    pub(super) fn private_dir(builder: &mut DirBuilder) {
        builder.mode(0o700);
    }

    pub(super) fn private_file(options: &mut OpenOptions) {
        options.mode(0o600);
    }

    pub(super) fn world_writable(dir: &Path) -> Option<u32> {
        let mode = std::fs::metadata(dir).map(|m| m.permissions().mode()).unwrap_or(0);
        (mode & 0o002 != 0).then_some(mode & 0o7777)
    }

    pub(super) fn identity(meta: &Metadata) -> (u64, u64) {
        (meta.dev(), meta.ino())
    }
}

#[cfg(not(unix))]
mod imp {
    use std::fs::{DirBuilder, Metadata, OpenOptions};
    use std::path::Path;
    use std::time::UNIX_EPOCH;

    // The ACL is inherited from the parent directory (see the module comment).
    pub(super) fn private_dir(_builder: &mut DirBuilder) {}

    pub(super) fn private_file(_options: &mut OpenOptions) {}

    pub(super) fn world_writable(_dir: &Path) -> Option<u32> {
        None
    }

    pub(super) fn identity(meta: &Metadata) -> (u64, u64) {
        let created = meta
            .created()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        (0, created)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("attracker-platform-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn private_directories_and_files_are_the_owners_only() {
        let dir = scratch("private");
        let nested = dir.join("a/b");
        create_private_dir(&nested).unwrap();
        assert_eq!(fs::metadata(&nested).unwrap().permissions().mode() & 0o777, 0o700);
        let file = nested.join("f");
        private_file_options().write(true).create_new(true).open(&file).unwrap();
        assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(world_writable(&nested), None);
        fs::set_permissions(&nested, fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(world_writable(&nested), Some(0o1777));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_replaced_at_its_path_has_another_identity() {
        let dir = scratch("identity");
        create_private_dir(&dir).unwrap();
        let path = dir.join("f");
        assert_eq!(file_identity(&path), None);
        let keep = open_lock_file(&path).unwrap(); // held open: the inode is not reused
        let first = file_identity(&path).unwrap();
        assert_eq!(file_identity(&path), Some(first));
        fs::remove_file(&path).unwrap();
        fs::write(&path, b"x").unwrap();
        assert_ne!(file_identity(&path), Some(first));
        drop(keep);
        let _ = fs::remove_dir_all(&dir);
    }
}
