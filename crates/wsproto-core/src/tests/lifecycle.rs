//! The lifecycle rules adapters ask the engine about: the shutdown close, lingering after the
//! end, and the latest ping round-trip time — each in both roles.

use core::time::Duration;

use super::pair::{Pair, other};
use crate::{
    CloseCode, ConnectionLost, Event, LINGER, ProtocolError, Role, SHUTDOWN_REASON, State,
};

const ROLES: [Role; 2] = [Role::Client, Role::Server];

#[test]
fn begin_shutdown_closes_with_1001_once() {
    for side in ROLES {
        let mut pair = Pair::new();
        let now = pair.now;
        assert!(pair.side(side).begin_shutdown(now));
        assert_eq!(pair.side(side).state(), State::Closing);
        assert!(!pair.side(side).begin_shutdown(now), "already closing");
        let sent = pair.side(side).close_sent().cloned().expect("a close");
        assert_eq!(
            (sent.code(), sent.reason()),
            (CloseCode::GOING_AWAY, SHUTDOWN_REASON)
        );
        pair.drive();
        let peer = other(side);
        assert!(matches!(
            &pair.seen(peer).take()[..],
            [Event::Close(frame)] if frame.code() == CloseCode::GOING_AWAY
        ));
        assert_eq!(pair.side(side).state(), State::Closed);
        assert!(!pair.side(side).begin_shutdown(now), "closed");
    }
}

#[test]
fn linger_follows_a_close_that_was_sent_and_not_a_vanished_peer() {
    for side in ROLES {
        // A clean closing handshake: linger so the last Close is not lost to a reset.
        let mut pair = Pair::new();
        let now = pair.now;
        pair.side(side).close(CloseCode::NORMAL, "", now).unwrap();
        pair.drive();
        assert_eq!(pair.side(side).linger(), Some(LINGER));
        assert_eq!(pair.side(other(side)).linger(), Some(LINGER));

        // A violation sends a Close (1002): linger so the peer can read it.
        let mut pair = Pair::new();
        pair.side(side).handle_input(&[0x83, 0x00], now); // reserved opcode
        assert_eq!(
            pair.side(side).poll_event(),
            Err(ProtocolError::ReservedOpcode(3).into())
        );
        assert_eq!(pair.side(side).linger(), Some(LINGER));

        // The peer vanished: no Close was sent and no one is left to wait for.
        let mut pair = Pair::new();
        pair.side(side).handle_eof(now);
        assert_eq!(
            pair.side(side).poll_event(),
            Err(ConnectionLost::UnexpectedEof.into())
        );
        assert_eq!(pair.side(side).linger(), None);
    }
}

#[test]
fn last_rtt_is_the_latest_answered_ping() {
    for sender in ROLES {
        let mut pair = Pair::new();
        assert_eq!(pair.side(sender).last_rtt(), None);
        for wait in [42, 7] {
            let now = pair.now;
            pair.side(sender).ping(b"p", now).unwrap();
            pair.transfer(sender);
            pair.poll(other(sender));
            pair.sleep(Duration::from_millis(wait));
            pair.drive();
            assert_eq!(
                pair.side(sender).last_rtt(),
                Some(Duration::from_millis(wait))
            );
        }
        // An unsolicited pong leaves it alone.
        pair.side(other(sender)).pong(b"x").unwrap();
        pair.drive();
        assert_eq!(pair.seen(sender).take().len(), 3, "two pongs and this one");
        assert_eq!(pair.side(sender).last_rtt(), Some(Duration::from_millis(7)));
    }
}

#[test]
fn reading_pauses_only_for_replies_queued_beyond_a_full_buffer() {
    for side in ROLES {
        let limits = crate::Limits::default().write_high_water(1024);
        let mut pair = Pair::with(crate::Config::default(), limits);
        let now = pair.now;
        let peer = other(side);
        // The application's own data fills the buffer: that alone never pauses reading.
        pair.side(side).send_binary(&[7; 4096]).unwrap();
        assert!(pair.side(side).is_write_buffer_full());
        assert!(!pair.side(side).should_pause_reading());

        // The peer floods pings and never reads our pongs: once the replies queued beyond
        // the full buffer pass the allowance, reading pauses.
        let mut pings = 0;
        while !pair.side(side).should_pause_reading() {
            pair.side(peer).ping(&[1; 125], now).unwrap();
            let bytes = pair.side(peer).transmit().to_vec();
            let n = bytes.len();
            pair.side(peer).advance_transmit(n);
            pair.side(side).handle_input(&bytes, now);
            while let Ok(Some(_)) = pair.side(side).poll_event() {}
            pings += 1;
            assert!(pings < 10_000, "never paused");
        }
        assert!(pair.side(side).buffered_amount() <= 4096 + 14 + crate::REPLY_ALLOWANCE + 140);

        // Once the queue drains below the mark, reading resumes.
        let queued = pair.side(side).buffered_amount();
        pair.side(side).advance_transmit(queued);
        assert!(!pair.side(side).should_pause_reading());
    }
}
