//! Media files on disk, content-addressed: `{data_dir}/media/{sha[0..2]}/{sha256 hex}`. The same
//! file received twice is stored once; a file is written to a temporary name, synced, then
//! renamed, so a reader never sees half a file and a crash leaves no corrupt one behind.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Where a file with this SHA-256 (hex) lives.
pub fn media_path(data_dir: &Path, sha256_hex: &str) -> PathBuf {
    let prefix = sha256_hex.get(..2).unwrap_or("00");
    data_dir.join("media").join(prefix).join(sha256_hex)
}

/// Stores `data` under its content address; returns (sha256 hex, path).
pub async fn put(data_dir: &Path, data: Vec<u8>) -> anyhow::Result<(String, PathBuf)> {
    let data_dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || put_blocking(&data_dir, &data)).await.context("file writer task")?
}

fn put_blocking(data_dir: &Path, data: &[u8]) -> anyhow::Result<(String, PathBuf)> {
    use std::io::Write;
    let sha = crate::crypto::sha256_bytes_hex(data);
    let path = media_path(data_dir, &sha);
    if path.metadata().is_ok_and(|m| m.len() == data.len() as u64) {
        return Ok((sha, path));
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
    Ok((sha, path))
}

/// Reads a stored file.
pub async fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    tokio::fs::read(path).await.with_context(|| format!("reading {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_are_stored_once_under_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let (sha, path) = put(dir.path(), b"hello".to_vec()).await.unwrap();
        assert_eq!(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(path, dir.path().join("media/2c").join(&sha));
        assert_eq!(read(&path).await.unwrap(), b"hello");
        let (again, same) = put(dir.path(), b"hello".to_vec()).await.unwrap();
        assert_eq!((again, same), (sha, path));
        let leftovers = std::fs::read_dir(dir.path().join("media/2c")).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
