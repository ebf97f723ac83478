//! [`run_case`]: plays one case on a raw peer and compares what came back with its expectation.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Plays `case` on `peer` and checks everything the implementation sends back.
///
/// # Errors
///
/// Every way the implementation's answer differs from the case's expectation or from
/// RFC 6455, as one text.
pub fn run_case(mut peer: RawPeer, case: &Case) -> Result<(), String> {
    for step in &case.steps {
        peer.perform(step);
    }
    let written = Instant::now();
    let mut problems = Vec::new();
    let expected = &case.expect.replies;
    match &case.expect.end {
        End::Normal => {
            let got = peer.read_replies(expected.len(), written + READ_LIMIT);
            compare_replies(expected, &got.replies, &mut problems);
            if got.close.is_some() || got.ending.is_some() {
                problems.push(format!("ended early: {}", describe_end(&got)));
            } else {
                // The connection must still work: close it cleanly from our side.
                let close = Frame::close(1000, "");
                let bytes = peer.encode(&close);
                peer.send_raw(&bytes);
                let after = peer.read_frames_until_close(Instant::now() + READ_LIMIT);
                if !after.replies.is_empty() {
                    problems.push(format!("unexpected extra replies {:?}", after.replies));
                }
                match &after.close {
                    Some(close) if close.code == Some(1000) => {}
                    _ => problems.push(format!(
                        "our Close 1000 was not echoed with 1000: {}",
                        describe_end(&after)
                    )),
                }
                check_tcp_closed(&after, &mut problems);
            }
        }
        End::Close { code, within, .. } => {
            let got = peer.read_frames_until_close(written + *within);
            compare_replies(expected, &got.replies, &mut problems);
            match &got.close {
                None => problems.push(format!(
                    "expected Close {}, got none within {within:?}: {}",
                    show_code(*code),
                    describe_end(&got)
                )),
                Some(close) => {
                    if close.code != *code {
                        problems.push(format!(
                            "expected Close {}, got Close {} {:?}",
                            show_code(*code),
                            show_code(close.code),
                            String::from_utf8_lossy(&close.reason)
                        ));
                    }
                    let took = close.at.saturating_duration_since(written);
                    if took > *within {
                        problems.push(format!("Close came after {took:?}, limit {within:?}"));
                    }
                    check_tcp_closed(&got, &mut problems);
                }
            }
        }
        End::Answered { code, answer } => {
            let mut got = peer.read_until(None, written + READ_LIMIT);
            compare_replies(expected, &got.replies, &mut problems);
            match &got.close {
                None => problems.push(format!(
                    "expected the implementation to close with {code}: {}",
                    describe_end(&got)
                )),
                Some(close) => {
                    if close.code != Some(*code) {
                        problems.push(format!(
                            "expected Close {code}, got Close {}",
                            show_code(close.code)
                        ));
                    }
                    let mut bytes = Vec::new();
                    for frame in answer {
                        bytes.extend_from_slice(&peer.encode(frame));
                    }
                    peer.send_raw(&bytes);
                    peer.finish(&mut got);
                    check_tcp_closed(&got, &mut problems);
                }
            }
        }
        End::Drop => {
            let got = peer.read_frames_until_close(written + READ_LIMIT);
            compare_replies(expected, &got.replies, &mut problems);
            if let Some(close) = &got.close {
                problems.push(format!(
                    "expected TCP to drop without a Close, got Close {}",
                    show_code(close.code)
                ));
            }
            check_tcp_closed(&got, &mut problems);
        }
    }
    for violation in peer.violations() {
        problems.push(format!(
            "RFC 6455 violation by the implementation: {violation}"
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    if let Some(error) = peer.write_error() {
        problems.push(format!("(our writes failed: {error})"));
    }
    Err(problems.join("; "))
}

pub(crate) fn show_code(code: Option<u16>) -> String {
    code.map_or_else(|| "without code".to_owned(), |c| c.to_string())
}

pub(crate) fn describe_end(t: &Transcript) -> String {
    let mut out = Vec::new();
    if let Some(close) = &t.close {
        out.push(format!(
            "Close {} {:?}",
            show_code(close.code),
            String::from_utf8_lossy(&close.reason)
        ));
    }
    if !t.after_close.is_empty() {
        out.push(format!("then frames {:?}", t.after_close));
    }
    if let Some(ending) = &t.ending {
        out.push(format!("{ending:?}"));
    }
    if out.is_empty() {
        "still open".to_owned()
    } else {
        out.join(", ")
    }
}

pub(crate) fn check_tcp_closed(t: &Transcript, problems: &mut Vec<String>) {
    if !t.after_close.is_empty() {
        problems.push(format!("frames after its Close: {:?}", t.after_close));
    }
    match &t.ending {
        Some(ending) if ending.is_tcp_closed() => {}
        Some(Ending::TimedOut) if t.close.is_some() => problems.push(format!(
            "TCP still open {CLOSE_LIMIT:?} after the closing handshake: {}",
            describe_end(t)
        )),
        _ => problems.push(format!("TCP not closed: {}", describe_end(t))),
    }
}

pub(crate) fn compare_replies(expected: &[Reply], got: &[Reply], problems: &mut Vec<String>) {
    if expected == got {
        return;
    }
    let first = expected
        .iter()
        .zip(got)
        .position(|(e, g)| e != g)
        .unwrap_or(expected.len().min(got.len()));
    let cut = |list: &[Reply]| -> String {
        const SHOWN: usize = 4;
        let shown = &list[first..list.len().min(first + SHOWN)];
        let more = list.len().saturating_sub(first + SHOWN);
        if more > 0 {
            format!("{shown:?} and {more} more")
        } else {
            format!("{shown:?}")
        }
    };
    problems.push(format!(
        "replies differ at #{first} (expected {}, got {}): expected {}, got {}",
        expected.len(),
        got.len(),
        cut(expected),
        cut(got)
    ));
}
