//! The background writer every JSON log line goes through.
//!
//! A request appends its line to a shared buffer and goes on; a background thread
//! writes the buffer to stdout. Unlike a channel with one message per line, whose
//! receiving thread is woken for each line (a futex wake on the request's thread, then
//! the receiver's spinning and parking: about five system calls per line), the writer
//! here is woken only when the buffer goes from empty to not empty, and then waits
//! [`BATCH_DELAY`] so that the lines of the requests served meanwhile share one `write`.
//! When stdout does not keep up and the buffer is full, lines are dropped and counted
//! rather than making a request wait. Dropping the [`LogWriterGuard`] writes what is
//! left.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long the writer lets lines gather after being woken. Lines reach stdout at most
/// this much later (plus the write itself); at shutdown they are written at once.
const BATCH_DELAY: Duration = Duration::from_millis(2);

/// Cloned into every place that logs; all clones append to one buffer.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

/// Stops the background thread after it has written every buffered line.
pub struct LogWriterGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Bytes the buffer may hold before lines are dropped.
    limit: usize,
    dropped: AtomicU64,
}

struct State {
    buffer: Vec<u8>,
    /// The writer waits on `wake` and has not been notified yet.
    asleep: bool,
    closed: bool,
}

impl Shared {
    /// The state, also after a panic on another thread (a log buffer stays usable).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl LogWriter {
    /// Starts the background thread (`thread_name`) writing to `out`, with room for
    /// `limit` bytes of lines not yet written.
    pub fn spawn<W: Write + Send + 'static>(
        out: W,
        limit: usize,
        thread_name: &str,
    ) -> std::io::Result<(LogWriter, LogWriterGuard)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                buffer: Vec::with_capacity(64 * 1024),
                asleep: false,
                closed: false,
            }),
            wake: Condvar::new(),
            limit,
            dropped: AtomicU64::new(0),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(thread_name.to_owned())
                .spawn(move || run(&shared, out))?
        };
        Ok((
            LogWriter {
                shared: shared.clone(),
            },
            LogWriterGuard {
                shared,
                thread: Some(thread),
            },
        ))
    }

    /// Appends one or more whole lines; one call's bytes are never split nor
    /// interleaved with another's.
    pub fn append(&self, lines: &[u8]) {
        let mut state = self.shared.lock();
        if state.buffer.len() + lines.len() > self.shared.limit {
            drop(state);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        state.buffer.extend_from_slice(lines);
        let wake = std::mem::replace(&mut state.asleep, false);
        drop(state);
        if wake {
            self.shared.wake.notify_one();
        }
    }

    /// Lines dropped because the buffer was full.
    pub fn dropped_lines(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

/// The background thread: waits for lines, lets more gather, writes them all at once.
fn run<W: Write>(shared: &Shared, mut out: W) {
    let mut batch = Vec::with_capacity(64 * 1024);
    loop {
        let mut state = shared.lock();
        while state.buffer.is_empty() && !state.closed {
            state.asleep = true;
            state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.asleep = false;
        if state.buffer.is_empty() && state.closed {
            return;
        }
        if !state.closed {
            drop(state);
            std::thread::sleep(BATCH_DELAY);
            state = shared.lock();
        }
        std::mem::swap(&mut state.buffer, &mut batch);
        drop(state);
        // A log line that cannot be written has nowhere else to go.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
    }
}

/// How long dropping the guard waits for the last lines to be written: a stdout that
/// nobody reads (a full pipe) must not keep the process from exiting.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

impl Drop for LogWriterGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        let Some(thread) = self.thread.take() else {
            return;
        };
        let deadline = std::time::Instant::now() + FLUSH_TIMEOUT;
        while !thread.is_finished() {
            if std::time::Instant::now() >= deadline {
                return; // left running; the process ends without it
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = thread.join();
    }
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what the writer wrote, and how many writes it took.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut sink = self.0.lock().unwrap();
            sink.0.extend_from_slice(buf);
            sink.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_whole_and_in_order_by_the_time_the_guard_drops() {
        let sink = Sink::default();
        let (writer, guard) = LogWriter::spawn(sink.clone(), 1 << 20, "test-log").unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        writer.append(format!("{t}:{i}\n").as_bytes());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(guard);
        let (bytes, writes) = sink.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2000);
        for t in 0..4 {
            let mine: Vec<usize> = lines
                .iter()
                .filter_map(|l| l.strip_prefix(&format!("{t}:")))
                .map(|i| i.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..500).collect::<Vec<_>>(), "thread {t}'s lines");
        }
        assert!(writes < 2000, "lines were batched: {writes} writes");
        assert_eq!(writer.dropped_lines(), 0);
    }

    #[test]
    fn dropping_the_guard_gives_up_on_a_stdout_that_never_takes_the_lines() {
        struct Stuck;
        impl Write for Stuck {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                std::thread::sleep(Duration::from_secs(30));
                Ok(0)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (writer, guard) = LogWriter::spawn(Stuck, 1 << 20, "test-log").unwrap();
        writer.append(b"line\n");
        std::thread::sleep(Duration::from_millis(20));
        let started = std::time::Instant::now();
        drop(guard);
        let took = started.elapsed();
        assert!(
            took >= FLUSH_TIMEOUT && took < FLUSH_TIMEOUT + Duration::from_secs(2),
            "{took:?}"
        );
    }

    #[test]
    fn a_full_buffer_drops_and_counts_lines_instead_of_waiting() {
        // A sink that blocks until released: nothing drains the buffer meanwhile.
        let gate = Arc::new(Mutex::new(()));
        struct Blocked(Arc<Mutex<()>>, Sink);
        impl Write for Blocked {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let _open = self.0.lock().unwrap();
                self.1.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let closed = gate.lock().unwrap();
        let (writer, guard) =
            LogWriter::spawn(Blocked(gate.clone(), sink.clone()), 100, "test-log").unwrap();
        writer.append(&[b'a'; 60]);
        // Let the writer take the first line and block on the gate.
        std::thread::sleep(Duration::from_millis(50));
        writer.append(&[b'b'; 60]);
        writer.append(&[b'c'; 60]); // 120 bytes > 100: dropped
        assert_eq!(writer.dropped_lines(), 1);
        drop(closed);
        drop(guard);
        let written = sink.0.lock().unwrap().0.clone();
        assert_eq!(written.len(), 120);
        assert!(written.starts_with(&[b'a'; 60]) && written.ends_with(&[b'b'; 60]));
    }
}
