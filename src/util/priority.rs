//! Helper threads that must not take the cores from the thread drawing the screen: a search
//! through 5,000 journals on a 2-core node otherwise delays the keys typed meanwhile.

/// Lower the calling thread's scheduling priority to nice 10, or leave it where it is lower
/// still (on Linux the nice value is a thread's own). Best effort: where it fails, the thread
/// runs at the priority it had.
pub fn lower_this_thread() {
    // SAFETY: PRIO_PROCESS with id 0 names the calling thread; no memory is touched.
    unsafe {
        let now = libc::getpriority(libc::PRIO_PROCESS, 0);
        if now < 10 {
            let _ = libc::setpriority(libc::PRIO_PROCESS, 0, 10);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_thread_lowered_is_the_calling_one() {
        let nice = || unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let before = nice();
        let lowered = std::thread::spawn(move || {
            super::lower_this_thread();
            nice()
        })
        .join()
        .unwrap();
        assert_eq!(lowered, 10.max(before));
        assert_eq!(nice(), before, "the test's own thread keeps its priority");
    }
}
