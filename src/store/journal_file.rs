//! The inbox journal's file: appended to in place, grown ahead of the writes in
//! zero-filled steps.
//!
//! Why: an fdatasync after an append that makes the file longer must also write the
//! inode (its size, and the blocks just allocated), a second I/O on every sync. Here the
//! file is grown `GROW_BYTES` at a time with real zeros (a hole or `fallocate` would
//! still change the block map on the first write), so most syncs write only data. In a
//! test on this project's VM disk that cut the time of one fdatasync by about a third
//! and its CPU by about 40 % (BENCHMARKS.md, ninth session).
//!
//! So the file ends in zeros that are not records. No record contains a NUL byte
//! (records are JSON lines), and the first NUL ends the records on replay; see
//! `records_end`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// How far the file grows ahead of the writes.
const GROW_BYTES: u64 = 256 << 10;

static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

pub struct JournalFile {
    file: File,
    /// Where the next record goes: the end of the records.
    end: u64,
    /// The file's length: `end` plus the zeros written ahead.
    allocated: u64,
}

impl JournalFile {
    /// Opens (creating) the file as it is; the caller replays it and then `reset`s it.
    pub fn open(path: &Path) -> std::io::Result<JournalFile> {
        // Not `append`: with O_APPEND, Linux ignores the offset of a positioned write.
        let file =
            OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)?;
        let allocated = file.metadata()?.len();
        Ok(JournalFile { file, end: allocated, allocated })
    }

    /// The size of the records written so far.
    pub fn len(&self) -> u64 {
        self.end
    }

    /// Appends `bytes` after the last record, growing the file first if needed. Not
    /// durable until `sync`.
    pub fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let end = self.end + bytes.len() as u64;
        if end > self.allocated {
            let target = end.div_ceil(GROW_BYTES) * GROW_BYTES;
            while self.allocated < target {
                let n = (target - self.allocated).min(ZEROS.len() as u64) as usize;
                self.file.write_all_at(&ZEROS[..n], self.allocated)?;
                self.allocated += n as u64;
            }
        }
        self.file.write_all_at(bytes, self.end)?;
        self.end = end;
        Ok(())
    }

    /// Makes every append so far durable (and the zeros ahead of them, so a later sync
    /// changes no size).
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Reads the whole file, zeros ahead included.
    pub fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(0))?;
        self.file.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Cuts the file at `len` (a replay found nothing usable after it) and syncs it.
    pub fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_all()?;
        self.end = len;
        self.allocated = len;
        Ok(())
    }

    /// Empties the file (after a checkpoint) and syncs it.
    pub fn reset(&mut self) -> std::io::Result<()> {
        self.truncate(0)
    }
}

/// Where the records of a journal's bytes end: at the first NUL byte (the zeros written
/// ahead, or a torn write's gap), or at the end of the bytes.
pub fn records_end(bytes: &[u8]) -> usize {
    bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_land_in_place_and_the_file_grows_ahead_in_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut file = JournalFile::open(&path).unwrap();
        file.append(b"{\"a\":1}\n").unwrap();
        file.append(b"{\"b\":2}\n").unwrap();
        file.sync().unwrap();
        assert_eq!(file.len(), 16);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, GROW_BYTES, "grown a whole step ahead");
        assert_eq!(&bytes[..16], b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(records_end(&bytes), 16);
        assert!(bytes[16..].iter().all(|&b| b == 0));
    }

    #[test]
    fn an_append_larger_than_a_step_grows_the_file_enough() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut file = JournalFile::open(&path).unwrap();
        let big = vec![b'x'; GROW_BYTES as usize + 10];
        file.append(b"{}\n").unwrap();
        file.append(&big).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, 2 * GROW_BYTES);
        assert_eq!(records_end(&bytes), 3 + big.len());
    }

    #[test]
    fn reopening_continues_after_the_records_once_reset_or_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut file = JournalFile::open(&path).unwrap();
        file.append(b"{\"a\":1}\n").unwrap();
        drop(file);
        let mut file = JournalFile::open(&path).unwrap();
        let end = records_end(&file.read_all().unwrap());
        file.truncate(end as u64).unwrap();
        file.append(b"{\"b\":2}\n").unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..records_end(&bytes)], b"{\"a\":1}\n{\"b\":2}\n");
        file.reset().unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 0);
        file.append(b"{}\n").unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..3], b"{}\n");
    }
}
