//! Writes the named seeds of every target into `corpus/<target>/`: run from `fuzz/` with
//! `cargo run --example write_seeds` after changing `wsproto_fuzz::seeds`.

const TARGETS: [&str; 7] = [
    "frame_decode",
    "server_handshake",
    "client_handshake",
    "server_connection",
    "client_connection",
    "round_trip",
    "deflate",
];

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for target in TARGETS {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        for (name, bytes) in wsproto_fuzz::seeds(target) {
            std::fs::write(dir.join(name), bytes)?;
        }
    }
    Ok(())
}
