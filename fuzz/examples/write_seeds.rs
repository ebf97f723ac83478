//! Writes the named seeds of every target into `corpus/<target>/`: run from `fuzz/` with
//! `cargo run --example write_seeds` after changing `wsproto_testkit::seeds`.

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, _) in wsproto_testkit::targets::ALL {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        for (name, bytes) in wsproto_testkit::seeds(target) {
            std::fs::write(dir.join(name), bytes)?;
        }
    }
    Ok(())
}
