//! Running a table of cases against a server or a client ([`SuiteReport`]), and payload makers.

#[allow(clippy::wildcard_imports)]
use super::*;

/// What running a list of cases found.
#[derive(Clone, Debug, Default)]
pub struct SuiteReport {
    /// How many cases there were.
    pub cases: usize,
    /// One line per failed case: its name, how long it took, what went wrong.
    pub failures: Vec<String>,
    /// Cases skipped after [`MAX_FAILURES`] failures or [`SUITE_BUDGET`].
    pub not_run: usize,
    /// How long the cases took together.
    pub took: Duration,
}

impl SuiteReport {
    /// Prints a summary line and panics with every failure if there was one.
    ///
    /// # Panics
    ///
    /// When a case failed or was not run.
    pub fn assert_passed(&self, who: &str) {
        let passed = self.cases - self.failures.len() - self.not_run;
        eprintln!(
            "{who}: {passed} of {} cases passed in {:.2?}",
            self.cases, self.took
        );
        let skipped = if self.not_run > 0 {
            format!(
                "\n({} more cases not run: stopped after {} failures or {SUITE_BUDGET:?}; \
                 set CONFORMANCE_KEEP_GOING=1 to run them all)",
                self.not_run,
                self.failures.len()
            )
        } else {
            String::new()
        };
        assert!(
            self.failures.is_empty() && self.not_run == 0,
            "{who}: {} of {} cases failed:\n{}{skipped}",
            self.failures.len(),
            self.cases,
            self.failures.join("\n")
        );
    }
}

/// Runs `cases` against a fresh echo server of `kind` (one server for all of them).
///
/// Stops early once [`MAX_FAILURES`] cases failed or the cases took [`SUITE_BUDGET`], unless
/// `CONFORMANCE_KEEP_GOING` is set in the environment; with `CONFORMANCE_TRACE` set, prints
/// each case's duration.
#[must_use]
pub fn run_server_suite(kind: ServerKind, cases: &[Case]) -> SuiteReport {
    let url = kind.start_echo();
    run_all(cases, |case| {
        let peer = RawPeer::connect(&url).map_err(|e| format!("handshake: {e}"))?;
        run_case(peer, case)
    })
}

/// Runs `cases` against clients of `kind` (running [`client_echo`]), each facing a raw
/// server that plays the case; stops early like [`run_server_suite`].
///
/// # Panics
///
/// When no loopback port can be bound.
#[must_use]
pub fn run_client_suite(kind: ClientKind, cases: &[Case]) -> SuiteReport {
    let listener = RawListener::bind().expect("bind a loopback port");
    run_all(cases, |case| {
        let (done, log) = mpsc::channel();
        let url = listener.url().to_owned();
        thread::spawn(move || {
            let _ = done.send(client_echo(kind, &url));
        });
        let peer = listener.accept()?;
        let result = run_case(peer, case); // drops the raw server's socket
        match log.recv_timeout(READ_LIMIT) {
            Ok(log) => {
                if let Some(error) = log.connect_error {
                    return Err(format!("client handshake failed: {error}"));
                }
                let must_fail = match case.expect.end {
                    End::Close { failed, .. } => failed,
                    End::Drop => true,
                    End::Normal | End::Answered { .. } => false,
                };
                match (must_fail, log.error) {
                    (true, None) => Err(format!(
                        "the client reported no error; {}",
                        result.err().unwrap_or_default()
                    )),
                    (false, Some(error)) => Err(format!(
                        "the client reported {error:?} for a clean close; {}",
                        result.err().unwrap_or_default()
                    )),
                    _ => result,
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                "client still running 10 s after the raw server closed; {}",
                result.err().unwrap_or_default()
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!(
                "client thread panicked; {}",
                result.err().unwrap_or_default()
            )),
        }
    })
}

pub(crate) fn run_all(
    cases: &[Case],
    mut run: impl FnMut(&Case) -> Result<(), String>,
) -> SuiteReport {
    let start = Instant::now();
    let trace = std::env::var_os("CONFORMANCE_TRACE").is_some();
    let keep_going = std::env::var_os("CONFORMANCE_KEEP_GOING").is_some();
    let mut report = SuiteReport {
        cases: cases.len(),
        ..SuiteReport::default()
    };
    for (i, case) in cases.iter().enumerate() {
        let exhausted = start.elapsed() > SUITE_BUDGET || report.failures.len() >= MAX_FAILURES;
        if exhausted && !keep_going {
            report.not_run = cases.len() - i;
            break;
        }
        let began = Instant::now();
        let result = run(case);
        if trace {
            eprintln!("{:>10.2?} {}", began.elapsed(), case.name);
        }
        if let Err(error) = result {
            report
                .failures
                .push(format!("[{}] ({:.2?}) {error}", case.name, began.elapsed()));
        }
    }
    report.took = start.elapsed();
    report
}

/// A valid UTF-8 text of exactly `len` bytes mixing 1- to 4-byte characters.
#[must_use]
pub fn text_of(len: usize) -> String {
    const CYCLE: [char; 8] = ['a', 'κ', '€', '𝄞', ' ', 'ß', '한', 'Z'];
    let mut out = String::with_capacity(len);
    for c in CYCLE.iter().cycle() {
        if out.len() + c.len_utf8() > len {
            break;
        }
        out.push(*c);
    }
    while out.len() < len {
        out.push('x');
    }
    out
}

/// `len` bytes of a non-repeating-looking binary pattern covering every byte value.
#[must_use]
pub fn bytes_of(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) % 251) as u8 ^ (i >> 8) as u8)
        .collect()
}
