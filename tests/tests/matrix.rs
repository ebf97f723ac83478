//! Every client adapter against every server adapter (16 pairs), one test body each:
//! text, binary, a 16 MiB message, a caller-fragmented message, a ping with its round-trip
//! time, a client-initiated close and a server-initiated close.

use wsproto_core::{Bytes, CloseCode, Event, Message, MessageKind};
use wsproto_tests::{CLOSE_ME, ClientKind, SERVER_CLOSE_CODE, ServerKind};

fn exchange(client: ClientKind, url: &str) {
    let pair = format!("{client:?} client");
    let mut ws = client
        .connect(url)
        .unwrap_or_else(|e| panic!("{pair}: connect: {e}"));

    ws.send(Message::text("hello")).unwrap();
    assert_eq!(
        ws.recv().unwrap().unwrap(),
        Message::text("hello"),
        "{pair}"
    );
    ws.send(Message::binary(vec![1, 2, 3])).unwrap();
    assert_eq!(
        ws.recv().unwrap().unwrap(),
        Message::binary(vec![1, 2, 3]),
        "{pair}"
    );

    let big: Bytes = (0..16u32 << 20)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    ws.send(Message::Binary(big.clone())).unwrap();
    let back = ws.recv().unwrap().unwrap();
    assert!(back.payload() == &big, "{pair}: 16 MiB message differs");

    ws.send_fragment(MessageKind::Text, "frag".as_bytes(), false)
        .unwrap();
    ws.send_fragment(MessageKind::Text, "men".as_bytes(), false)
        .unwrap();
    ws.send_fragment(MessageKind::Text, "ted ✓".as_bytes(), true)
        .unwrap();
    assert_eq!(
        ws.recv().unwrap().unwrap(),
        Message::text("fragmented ✓"),
        "{pair}"
    );

    ws.ping(b"rtt?").unwrap();
    match ws.next_event().unwrap().unwrap() {
        Event::Pong { payload, rtt } => {
            assert_eq!(&payload[..], b"rtt?", "{pair}");
            assert!(rtt.is_some(), "{pair}: pong without round-trip time");
        }
        other => panic!("{pair}: unexpected {other:?}"),
    }

    ws.close(CloseCode::NORMAL, "client done").unwrap();
    assert_eq!(
        ws.close_received().map(|f| f.code()),
        Some(CloseCode::NORMAL),
        "{pair}"
    );

    // A second connection, closed by the server.
    let mut ws = client.connect(url).unwrap();
    ws.send(Message::text(CLOSE_ME)).unwrap();
    assert!(
        ws.recv().is_none(),
        "{pair}: stream ends after the server's close"
    );
    let frame = ws.close_received().expect("server close");
    assert_eq!(
        (frame.code().as_u16(), frame.reason()),
        (SERVER_CLOSE_CODE, "bye"),
        "{pair}"
    );
}

fn run_pair(client: ClientKind, server: ServerKind) {
    let url = server.start_echo();
    let handle = std::thread::spawn(move || exchange(client, &url));
    let deadline = std::time::Instant::now() + wsproto_tests::PAIR_LIMIT;
    while !handle.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "{client:?} -> {server:?} took too long"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

macro_rules! pairs {
    ($($name:ident: $client:ident -> $server:ident,)*) => {
        $(
            #[test]
            fn $name() {
                run_pair(ClientKind::$client, ServerKind::$server);
            }
        )*
    };
}

pairs! {
    tokio_to_tokio: Tokio -> Tokio,
    tokio_to_smol: Tokio -> Smol,
    tokio_to_async_std: Tokio -> AsyncStd,
    tokio_to_blocking: Tokio -> Blocking,
    smol_to_tokio: Smol -> Tokio,
    smol_to_smol: Smol -> Smol,
    smol_to_async_std: Smol -> AsyncStd,
    smol_to_blocking: Smol -> Blocking,
    async_std_to_tokio: AsyncStd -> Tokio,
    async_std_to_smol: AsyncStd -> Smol,
    async_std_to_async_std: AsyncStd -> AsyncStd,
    async_std_to_blocking: AsyncStd -> Blocking,
    blocking_to_tokio: Blocking -> Tokio,
    blocking_to_smol: Blocking -> Smol,
    blocking_to_async_std: Blocking -> AsyncStd,
    blocking_to_blocking: Blocking -> Blocking,
}
