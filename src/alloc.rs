//! The process's memory allocator: jemalloc, set up for a small resident size.
//!
//! Why not glibc's malloc: a turn allocates and frees on five threads (HTTP, journal,
//! conversation worker, sender, sled), and glibc serialises them on its arena locks.
//! Its per-thread arenas remove the contention but kept 117 MB resident after 100,000
//! sessions, so it ran with two arenas, and the lock waits and futex wake-ups showed in
//! every thread's profile. jemalloc's per-thread caches avoid the locks (18 % less CPU
//! per turn in the turn benchmark), and its decay returns freed pages to the system on
//! a background thread. Figures in BENCHMARKS.md.
//!
//! `_RJEM_MALLOC_CONF` in the environment still overrides the settings below.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads its options from this symbol at start-up:
/// - one arena: with per-thread caches in front of it, more arenas only added memory;
/// - a background thread purges dirty pages a second after they were freed, so an idle
///   service shrinks without a call of ours;
/// - per-thread caches only for objects up to 512 bytes: with the default 32 KiB and two
///   arenas the 25 threads' caches kept 85–90 MB resident after 100,000 sessions, with
///   1 KiB 74–81 MB, with this setting 70–71 MB (glibc with two arenas: 68–73 MB).
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] =
    b"narenas:1,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,tcache_max:512\0";

/// Hands every free page back to the system now, without waiting for the decay: after
/// a burst (a reminder to every member, 100,000 citizens at once) has drained.
pub fn release_free_memory() {
    // `MALLCTL_ARENAS_ALL`: the purge applies to every arena.
    const PURGE_ALL: &std::ffi::CStr = c"arena.4096.purge";
    // SAFETY: "arena.<i>.purge" takes and returns nothing (null pointers, zero length)
    // and touches only the allocator's own free pages; it may run on any thread.
    let code = unsafe {
        tikv_jemalloc_sys::mallctl(
            PURGE_ALL.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if code != 0 {
        tracing::debug!(code, "jemalloc purge refused");
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// Resident bytes of this process (second field of /proc/self/statm, in pages).
    fn resident_bytes() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    #[test]
    fn a_purge_hands_freed_pages_back_without_waiting_for_the_decay() {
        const SIZE: usize = 96 << 20;
        let mut big: Vec<u8> = Vec::with_capacity(SIZE);
        big.resize(SIZE, 1);
        let with = resident_bytes();
        drop(std::hint::black_box(big));
        super::release_free_memory();
        let after = resident_bytes();
        // Other tests allocate meanwhile, so only most of it is asked for.
        assert!(
            with.saturating_sub(after) > SIZE / 2,
            "resident {with} before the purge, {after} after"
        );
    }
}
