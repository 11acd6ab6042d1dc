//! The rules every file linfit reads or writes follows, in one place: a file to read must be a
//! regular file (a pipe with no writer would block the reader forever, a device would never
//! end), and a file is written beside its target under a fresh name that collides with nothing,
//! then renamed over it, never over a read-only one.

use std::fs::File;
use std::io::{Error as IoError, ErrorKind};
use std::path::Path;

use crate::{Error, Result};

/// `path`'s metadata when it is a regular file (symbolic links followed), else the error that
/// says what it is instead. Asks the file system only: a FIFO is not opened.
pub(crate) fn regular_metadata(path: &Path) -> Result<std::fs::Metadata> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if metadata.is_file() {
        return Ok(metadata);
    }
    let what = if metadata.is_dir() {
        "is a directory, not a file"
    } else {
        "is not a regular file (a pipe, socket or device): linfit reads regular files only, \
         which it can read more than once and check for changes"
    };
    Err(Error::io(path, IoError::new(ErrorKind::InvalidInput, what)))
}

/// Opens `path` for reading after [`regular_metadata`] accepted it, and checks the opened file
/// again (the path may have been replaced in between).
pub(crate) fn open_regular(path: &Path) -> Result<File> {
    regular_metadata(path)?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let opened = file.metadata().map_err(|e| Error::io(path, e))?;
    if !opened.is_file() {
        return Err(Error::io(
            path,
            IoError::new(ErrorKind::InvalidInput, "is not a regular file"),
        ));
    }
    Ok(file)
}

/// Writes `path` through `write`, which gets a new file beside it, named so that it cannot be
/// any existing file (the input being converted among them), then renames that file over
/// `path`. A read-only `path` is refused, not replaced; on any error the new file is removed
/// and `path` is as it was.
pub(crate) fn write_replacing<T>(
    path: &Path,
    write: impl FnOnce(&mut File, &Path) -> Result<T>,
) -> Result<T> {
    refuse_read_only(path)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".part");
    #[cfg(unix)]
    {
        // What `File::create` gives (0666 less the umask), not a temporary file's private 0600.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temp = builder.tempfile_in(dir).map_err(|e| Error::io(path, e))?;
    let temp_path = temp.path().to_path_buf();
    let value = write(temp.as_file_mut(), &temp_path)?;
    temp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    // The target may have become read-only while we wrote.
    refuse_read_only(path)?;
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(value)
}

/// An error when `path` exists and is read-only: saving over it would silently replace a file
/// its owner protected.
fn refuse_read_only(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.permissions().readonly() => Err(Error::io(
            path,
            IoError::new(
                ErrorKind::PermissionDenied,
                "is read-only: linfit does not replace it (make it writable, or save elsewhere)",
            ),
        )),
        _ => Ok(()),
    }
}
