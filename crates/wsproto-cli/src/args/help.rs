//! The help texts: `wsproto --help`, `wsproto help CMD` and `wsproto CMD --help`. They are
//! the command line's documentation (the README repeats them), so every flag the parsers
//! accept is listed here; unit tests keep the two in step.

pub(crate) const MAIN_HELP: &str = "\
wsproto - WebSocket server, client and conformance testee

Usage: wsproto <COMMAND> [OPTIONS]

Commands:
  serve            Run a WebSocket server (echo or broadcast) with a test page on /
  connect          Send stdin (lines or raw bytes) to a WebSocket server, print what comes back
  tunnel           Carry TCP connections (or stdin/stdout) over WebSocket connections to a URL
  autobahn-client  Run the Autobahn|Testsuite client cases against its fuzzing server
  help [COMMAND]   Show this help, or a command's (the same as wsproto COMMAND --help)

Options:
  -h, --help       Show help (also after a command: wsproto serve --help)
  -V, --version    Show the version
";

pub(crate) const SERVE_HELP: &str = "\
Run a WebSocket server. stdout starts with exactly two lines:
  listening on ws://HOST:PORT/        (wss:// with TLS)
  test page: http://HOST:PORT/        (https:// with TLS)
The test page is a small browser client for this server: connect/disconnect, text or
binary messages, an echo round trip, counters, and a self-test.
Ctrl-C or SIGTERM closes every connection with 1001 and exits.

Usage: wsproto serve [OPTIONS]

Options:
  --bind ADDR             Address to listen on [default: 127.0.0.1:9001] (port 0 picks one)
  --runtime RUNTIME       tokio, async-std, smol or blocking [default: tokio]
  --mode MODE             echo (reply to the sender) or broadcast (send to everyone) [default: echo]
  --max-message BYTES     Largest incoming message [default: 67108864]
  --deflate               Accept permessage-deflate (RFC 7692) from clients that offer it
  -s, --subprotocol P     Accept subprotocol P (repeatable): the first of the client's offers
                          that is listed is selected
  -H, --header 'N: V'     Add a header to every 101 Switching Protocols response (repeatable)
  --forward HOST:PORT     Carry each connection's bytes to a new TCP connection to HOST:PORT
                          instead of echoing (the far end of wsproto tunnel); binary
                          messages both ways, Close <-> FIN after the data
  -v, --verbose           Log to stderr each connection (peer, subprotocol, extensions), each
                          close (who closed, code, reason) and each refused handshake (peer,
                          reason; plain HTTP requests too)
  -vv                     Also the library's own events, one stderr line each (target
                          wsproto): handshakes, Close frames sent and received, protocol
                          errors, lost connections, back-pressure engaged and released
  --tls-cert FILE         Serve wss:// (and the test page over https) with the PEM
                          certificate chain in FILE, leaf first; needs --tls-key
  --tls-key FILE          The PEM private key of --tls-cert's certificate
  --tls-self-signed       Serve wss:// with a certificate made at startup for localhost,
                          127.0.0.1, ::1 and the --bind host (unless 0.0.0.0 or ::); no
                          client trusts it: use connect --insecure, or Chromium's
                          --ignore-certificate-errors-spki-list=SPKI
  -h, --help              Show this help

With TLS, stderr says which certificate is served, with its SHA-256 fingerprint and the
base64 SHA-256 of its public key (SPKI) that Chromium's flag above takes:
  certificate sha256 fingerprint: AB:CD:...
  spki sha256 (base64): ...
A certificate or key file that cannot be read, holds no PEM certificate or key, or a key
that does not belong to the certificate, is a usage error (exit status 2) naming the file.
";

pub(crate) const TUNNEL_HELP: &str = "\
Carry bytes over WebSocket connections to URL (websocat-style): each TCP connection
accepted on --listen becomes one WebSocket connection carrying its bytes both ways as
binary messages; with --stdio, stdin and stdout do (an SSH ProxyCommand). A FIN on one side
becomes a Close after the data on the other, and the other way round; an error on one side
ends the other. The far side is typically `wsproto serve --forward HOST:PORT`.
With --listen, stdout starts with exactly one line:
  listening on tcp://HOST:PORT/

Usage: wsproto tunnel (--listen ADDR | --stdio) URL [OPTIONS]

Options:
  --listen ADDR           Accept TCP connections on ADDR (port 0 picks one)
  --stdio                 Carry stdin/stdout over one connection
  --runtime RUNTIME       tokio, async-std or smol [default: tokio]
  -s, --subprotocol P     Offer a subprotocol (repeatable, most preferred first)
  -H, --header 'N: V'     Add a request header (repeatable)
  --connect-timeout SECS  Give up when connecting and the handshake take longer [default: 10]
  --ping-interval SECS    Keepalive: ping after this long without input from the server
  --ca FILE               wss://: trust the certificate authorities in this PEM file
  --ca-native             wss://: trust the operating system's certificate store
  --insecure              wss://: accept any certificate (testing only)
  --proxy URL             Connect through this HTTP (CONNECT) or SOCKS5 proxy
  --no-proxy              Connect directly, whatever the environment says
  -h, --help              Show this help

Without --proxy or --no-proxy, the environment's proxy is used as by connect.
";

pub(crate) const CONNECT_HELP: &str = "\
Connect to a WebSocket server: every stdin line is sent as a text message, every message
received is printed on its own line, pings are answered. End of stdin closes with 1000 and
waits for the server's answer. Nothing read from stdin is dropped: input that cannot be
sent stops the command with an error saying where, after closing the connection cleanly.
stdin is read only as fast as the server takes it.

Usage: wsproto connect URL [OPTIONS]

Options:
  --runtime RUNTIME       tokio, async-std, smol or blocking [default: tokio]
  -b, --binary            Send each line's bytes (without the \\n) as a binary message
  --raw                   Send stdin as a byte stream in binary messages (up to 64 KiB each)
                          and write received payloads to stdout as they are, no newline added
  -s, --subprotocol P     Offer a subprotocol (repeatable, most preferred first)
  -H, --header 'N: V'     Add a request header (repeatable)
  --deflate               Offer permessage-deflate (RFC 7692)
  --connect-timeout SECS  Give up when connecting and the handshake take longer [default: 10]
  --ping-interval SECS    Ping the server after SECS without hearing from it (keepalive); no
                          answer within 10 s ends the connection
  --show-ping-pong        Print the server's pings and pongs on stderr, pongs with the round
                          trip time (RTT) of our ping
  -x, --execute MSG       Send MSG instead of reading stdin (repeatable: sent in order), print
                          the replies, then close with 1000 and exit
  -w, --wait SECS         With -x: close once no reply came for SECS [default: 1]
  --count N               With -x: close as soon as N replies arrived
  --ca FILE               wss://: trust the certificate authorities in this PEM file instead
                          of the bundled Mozilla roots
  --ca-native             wss://: trust the operating system's certificate store (on Linux
                          the distribution's bundle, or SSL_CERT_FILE / SSL_CERT_DIR)
  --insecure              wss://: accept any certificate (unknown issuer, another name,
                          expired): encrypted but not authenticated; for testing only
  --proxy URL             Connect through this proxy: http://[USER:PASS@]HOST[:PORT] (CONNECT),
                          socks5://... (names resolved here) or socks5h://... (by the proxy);
                          the port defaults to 1080
  --no-proxy              Connect directly, whatever the environment says
  --reconnect             Stay connected: after a lost connection, a server going away (1001,
                          1011-1014) or a failed connect, dial again with growing, jittered
                          delays (from 0.5 s); lines read while down wait (up to 1024) and are
                          sent once on the next connection; state changes go to stderr
  --reconnect-max-delay SECS
                          With --reconnect: the longest pause between attempts [default: 10]
  -h, --help              Show this help

Without --proxy or --no-proxy, the environment's proxy is used as curl uses it:
https_proxy/HTTPS_PROXY for wss://, http_proxy/HTTP_PROXY for ws://, then
all_proxy/ALL_PROXY; no_proxy/NO_PROXY lists hosts to reach directly (suffixes, IPs, CIDR,
*); loopback hosts are always reached directly. Credentials never appear in messages.

Text mode (the default) sends each line without its \\n or \\r\\n and needs UTF-8: a line
that is not stops the command with exit status 5, naming the line. SECS may be fractional.

Feedback goes to stderr, data to stdout: `connected to URL (subprotocol P, extensions E)`
once open, then who closed, with code and reason. When stdin and stdout are both a
terminal, a `> ` prompt marks what you type and `< ` what arrives; piped, stdout gets the
messages alone. Ctrl-C closes with 1000; a second Ctrl-C exits at once.

Exit status:
  0    every input was sent and the connection closed normally (1000, or 1001 from the server)
  1    any other failure (e.g. the runtime could not start)
  2    usage error: unknown option, missing value, invalid URL, header or proxy URL (flag or
       environment), unusable --ca file or empty --ca-native store
  3    could not connect, or the opening handshake failed (refused, timed out, or TLS:
       the message names the host and the certificate problem — unknown issuer, name
       mismatch, expired; or the proxy: unreachable, refused with its status or SOCKS
       reply, timed out — the message names the proxy, never its credentials)
  4    the connection ended abnormally: the server closed with another code (the summary
       says who closed, with code and reason), the connection broke or ended without a
       Close, or input that was read could not be sent before it ended
  5    invalid input: a line that is not UTF-8 in text mode, or stdin could not be read
  6    -x with --count N: fewer than N replies arrived before the --wait quiet period
  130  interrupted (Ctrl-C or SIGTERM); the connection is closed with 1000 first
When several apply, 130 wins over 5, 5 over 4, and 4 over 6.
";

pub(crate) const AUTOBAHN_HELP: &str = "\
Client testee for the Autobahn|Testsuite fuzzing server: asks /getCaseCount, runs every
case at /runCase?case=N&agent=NAME echoing each message unchanged, then calls
/updateReports?agent=NAME.

Usage: wsproto autobahn-client [OPTIONS]

Options:
  --url URL               Fuzzing server [default: ws://127.0.0.1:9001]
  --agent NAME            Agent name in the reports [default: wsproto]
  --runtime RUNTIME       tokio, async-std, smol or blocking [default: tokio]
  --deflate               Offer permessage-deflate (needed for cases 12 and 13)
  -h, --help              Show this help
";

/// The help of command `name`, for `wsproto help NAME`.
pub(crate) fn of(name: &str) -> Option<&'static str> {
    Some(match name {
        "serve" => SERVE_HELP,
        "connect" => CONNECT_HELP,
        "tunnel" => TUNNEL_HELP,
        "autobahn-client" => AUTOBAHN_HELP,
        "help" => MAIN_HELP,
        _ => return None,
    })
}
