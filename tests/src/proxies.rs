//! Real proxies on loopback for the proxy tests: Debian's `tinyproxy` (HTTP `CONNECT`) and
//! `microsocks` (SOCKS5), each started on a free port with a configuration written here,
//! and stopped when dropped. `./scripts/test.sh` installs both and names them in
//! `WSPROTO_TINYPROXY` and `WSPROTO_MICROSOCKS`; a missing one fails the test by name.

use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::peers::{ChildGuard, env_program};
use crate::scratch::ScratchDir;

/// A user and password a proxy is started with.
pub type Login<'a> = (&'a str, &'a str);

/// A running proxy; killed when dropped.
pub struct ProxyServer {
    port: u16,
    _process: ChildGuard,
    _dir: ScratchDir,
}

impl ProxyServer {
    /// Starts `tinyproxy` allowing loopback clients, asking for `login` (BasicAuth) when
    /// given, and allowing `CONNECT` only to `connect_ports` when given (tinyproxy's
    /// `ConnectPort`: any other port is refused with 403).
    pub fn tinyproxy(login: Option<Login<'_>>, connect_ports: &[u16]) -> Result<Self, String> {
        let program = env_program(
            "WSPROTO_TINYPROXY",
            "install tinyproxy (Debian: apt-get install tinyproxy)",
        )?;
        let port = free_port()?;
        let mut config = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 100\nLogLevel Info\n\
             Allow 127.0.0.1\nDisableViaHeader Yes\n"
        );
        if let Some((user, password)) = login {
            config.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        for port in connect_ports {
            config.push_str(&format!("ConnectPort {port}\n"));
        }
        let dir = ScratchDir::new().map_err(|e| e.to_string())?;
        let path = dir
            .write("tinyproxy.conf", config)
            .map_err(|e| e.to_string())?;
        let mut command = Command::new(program);
        command.arg("-d").arg("-c").arg(path);
        Self::start("tinyproxy", command, port, dir)
    }

    /// Starts `microsocks` on loopback, asking for `login` (RFC 1929) when given.
    pub fn microsocks(login: Option<Login<'_>>) -> Result<Self, String> {
        let program = env_program(
            "WSPROTO_MICROSOCKS",
            "install microsocks (Debian: apt-get install microsocks)",
        )?;
        let port = free_port()?;
        let mut command = Command::new(program);
        command.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
        if let Some((user, password)) = login {
            command.args(["-u", user, "-P", password]);
        }
        let dir = ScratchDir::new().map_err(|e| e.to_string())?;
        Self::start("microsocks", command, port, dir)
    }

    fn start(name: &str, command: Command, port: u16, dir: ScratchDir) -> Result<Self, String> {
        let process = ChildGuard::spawn(name, command)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("{name} did not listen on port {port} within 10 s"));
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            port,
            _process: process,
            _dir: dir,
        })
    }

    /// The proxy's port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `scheme://[user:password@]127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self, scheme: &str, login: Option<Login<'_>>) -> String {
        match login {
            Some((user, password)) => {
                format!("{scheme}://{user}:{password}@127.0.0.1:{}", self.port)
            }
            None => format!("{scheme}://127.0.0.1:{}", self.port),
        }
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| e.to_string())
}
