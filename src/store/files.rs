//! Media files on disk, content-addressed: `{data_dir}/media/{sha[0..2]}/{sha256 hex}`. The same
//! file received twice is stored once; a file is written to a temporary name, synced, then
//! renamed, so a reader never sees half a file and a crash leaves no corrupt one behind.
//!
//! Files are named only by their hash: callers hand over a name, never a path, and the store
//! builds the path itself after checking the name is 64 lowercase hex digits. Nothing stored in a
//! row (or arriving in a payload) can point it at another file.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::domain::media::is_media_name;

/// Where a file with this SHA-256 (hex) lives; `None` when the name is not a media name.
fn media_path(data_dir: &Path, name: &str) -> Option<PathBuf> {
    is_media_name(name).then(|| data_dir.join("media").join(&name[..2]).join(name))
}

/// Stores `data` under its content address; returns its name (the SHA-256 in hex).
pub async fn put(data_dir: &Path, data: Vec<u8>) -> anyhow::Result<String> {
    let data_dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || put_blocking(&data_dir, &data)).await.context("file writer task")?
}

fn put_blocking(data_dir: &Path, data: &[u8]) -> anyhow::Result<String> {
    use std::io::Write;
    let sha = crate::crypto::sha256_bytes_hex(data);
    let path = media_path(data_dir, &sha).context("a SHA-256 in hex is a media name")?;
    if path.metadata().is_ok_and(|m| m.len() == data.len() as u64) {
        return Ok(sha);
    }
    let dir = path.parent().context("media path has a directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(".{sha}.{}.tmp", crate::crypto::random_token(6)));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(sha)
}

/// Reads the stored file named `name`; refuses any name that is not a media name.
pub async fn read(data_dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = media_path(data_dir, name).with_context(|| format!("{name:?} is not a media file name"))?;
    tokio::fs::read(&path).await.with_context(|| format!("reading {}", path.display()))
}

/// Opens the stored file named `name` for reading in pieces; refuses any other name.
pub async fn open(data_dir: &Path, name: &str) -> anyhow::Result<tokio::fs::File> {
    let path = media_path(data_dir, name).with_context(|| format!("{name:?} is not a media file name"))?;
    tokio::fs::File::open(&path).await.with_context(|| format!("opening {}", path.display()))
}

/// Deletes the stored file named `name`; `false` when there was none (or the name is not a
/// media name). Callers first make sure no row names it any more.
pub async fn remove(data_dir: &Path, name: &str) -> anyhow::Result<bool> {
    let Some(path) = media_path(data_dir, name) else { return Ok(false) };
    match tokio::fs::remove_file(&path).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("deleting {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_are_stored_once_under_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let sha = put(dir.path(), b"hello".to_vec()).await.unwrap();
        assert_eq!(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert!(dir.path().join("media/2c").join(&sha).is_file());
        assert_eq!(read(dir.path(), &sha).await.unwrap(), b"hello");
        let again = put(dir.path(), b"hello".to_vec()).await.unwrap();
        assert_eq!(again, sha);
        let leftovers = std::fs::read_dir(dir.path().join("media/2c")).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[tokio::test]
    async fn only_plain_hash_names_are_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("master.key"), b"secret").unwrap();
        for name in [
            "../master.key",
            "2c/../../master.key",
            "/etc/passwd",
            "",
            "2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
        ] {
            assert!(read(dir.path(), name).await.is_err(), "{name}");
        }
        let sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert_eq!(read(dir.path(), sha).await.ok(), None, "a hash name that was never stored is not found");
    }
}
