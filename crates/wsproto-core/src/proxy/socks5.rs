//! The SOCKS5 `CONNECT` (RFC 1928) with no authentication or username/password (RFC 1929) as
//! a sans-IO machine: greeting, method choice, optional authentication, request, reply.
//!
//! Invariants: one step at a time, never pipelined (some proxies drop what arrives early);
//! the machine buffers at most one reply (262 bytes), and a proxy that speaks out of turn
//! (bytes beyond the step's answer) is an error, not buffered; every reply code is reported.

use alloc::vec::Vec;

use super::error::{ProxyError, SocksReply};
use super::{Credentials, Outbox, Target};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0;
const USER_PASS: u8 = 2;
const NO_ACCEPTABLE: u8 = 0xff;
const CMD_CONNECT: u8 = 1;
const ATYP_IPV4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_IPV6: u8 = 4;
/// The longest answer: a reply with a 255-byte domain name.
const MAX_ANSWER: usize = 4 + 1 + 255 + 2;

/// The SOCKS5 side of a [`Tunnel`](super::Tunnel): method choice, optional
/// authentication, the `CONNECT` and its reply.
#[derive(Debug)]
pub(crate) struct Socks5 {
    input: Vec<u8>,
    request: Vec<u8>,
    auth: Option<Vec<u8>>,
    offered_auth: bool,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Method,
    Auth,
    Reply,
}

impl Socks5 {
    /// Queues the greeting in `out` for a `CONNECT` to `target:port`, offering
    /// username/password too when `credentials` are given. Fails for a domain name, user
    /// name or password over 255 bytes, which SOCKS5 cannot carry.
    pub(crate) fn new(
        target: Target<'_>,
        port: u16,
        credentials: Option<&Credentials>,
        out: &mut Outbox,
    ) -> Result<Self, ProxyError> {
        let mut request = Vec::with_capacity(262);
        request.extend_from_slice(&[VERSION, CMD_CONNECT, 0]);
        match target {
            Target::Ip(core::net::IpAddr::V4(ip)) => {
                request.push(ATYP_IPV4);
                request.extend_from_slice(&ip.octets());
            }
            Target::Ip(core::net::IpAddr::V6(ip)) => {
                request.push(ATYP_IPV6);
                request.extend_from_slice(&ip.octets());
            }
            Target::Name(name) => {
                let len = short_len(name.as_bytes(), "the target's host name")?;
                request.extend_from_slice(&[ATYP_DOMAIN, len]);
                request.extend_from_slice(name.as_bytes());
            }
        }
        request.extend_from_slice(&port.to_be_bytes());
        let auth = match credentials {
            None => None,
            Some(credentials) => {
                let user = credentials.user().as_bytes();
                let password = credentials.password().as_bytes();
                let mut auth = Vec::with_capacity(3 + user.len() + password.len());
                auth.extend_from_slice(&[1, short_len(user, "the proxy user name")?]);
                auth.extend_from_slice(user);
                auth.push(short_len(password, "the proxy password")?);
                auth.extend_from_slice(password);
                Some(auth)
            }
        };
        out.queue(if auth.is_some() {
            alloc::vec![VERSION, 2, NO_AUTH, USER_PASS]
        } else {
            alloc::vec![VERSION, 1, NO_AUTH]
        });
        Ok(Self {
            input: Vec::new(),
            request,
            offered_auth: auth.is_some(),
            auth,
            stage: Stage::Method,
        })
    }

    /// Feeds the proxy's answers: `Ok(true)` once the reply grants the tunnel, `Ok(false)`
    /// while more is needed (a step may have queued the next message in `out`).
    pub(crate) fn handle_input(
        &mut self,
        bytes: &[u8],
        out: &mut Outbox,
    ) -> Result<bool, ProxyError> {
        if !out.pending().is_empty() && !bytes.is_empty() {
            // An answer to a message we have not finished sending.
            return Err(ProxyError::UnexpectedData);
        }
        if self.input.len() + bytes.len() > MAX_ANSWER {
            return Err(ProxyError::UnexpectedData);
        }
        self.input.extend_from_slice(bytes);
        let Some(needed) = self.answer_len()? else {
            return Ok(false);
        };
        if self.input.len() < needed {
            return Ok(false);
        }
        if self.input.len() > needed {
            return Err(ProxyError::UnexpectedData);
        }
        let answer = core::mem::take(&mut self.input);
        let (first, second) = (
            answer.first().copied().unwrap_or_default(),
            answer.get(1).copied().unwrap_or_default(),
        );
        match self.stage {
            Stage::Method => {
                if first != VERSION {
                    return Err(ProxyError::SocksMalformed("not a socks5 proxy"));
                }
                match (second, self.auth.take()) {
                    (NO_AUTH, _) => self.send_request(out),
                    (USER_PASS, Some(auth)) => {
                        out.queue(auth);
                        self.stage = Stage::Auth;
                    }
                    (NO_ACCEPTABLE, _) => {
                        return Err(ProxyError::SocksNoAcceptableMethod {
                            credentials_offered: self.offered_auth,
                        });
                    }
                    _ => {
                        return Err(ProxyError::SocksMalformed(
                            "the proxy chose a method that was not offered",
                        ));
                    }
                }
                Ok(false)
            }
            Stage::Auth => {
                // RFC 1929 says version 1; a few proxies answer 5. The status is what counts.
                if second != 0 {
                    return Err(ProxyError::SocksAuthFailed);
                }
                self.send_request(out);
                Ok(false)
            }
            Stage::Reply if second != 0 => {
                Err(ProxyError::SocksRefused(SocksReply::from_code(second)))
            }
            Stage::Reply => Ok(true),
        }
    }

    /// How long the current stage's answer is, once enough of it arrived to tell.
    fn answer_len(&self) -> Result<Option<usize>, ProxyError> {
        if self.stage != Stage::Reply {
            return Ok(Some(2));
        }
        Ok(match (self.input.first(), self.input.get(3)) {
            (Some(&version), _) if version != VERSION => {
                return Err(ProxyError::SocksMalformed("reply is not socks version 5"));
            }
            (_, None) => None,
            (_, Some(&ATYP_IPV4)) => Some(4 + 4 + 2),
            (_, Some(&ATYP_IPV6)) => Some(4 + 16 + 2),
            (_, Some(&ATYP_DOMAIN)) => self.input.get(4).map(|len| 4 + 1 + usize::from(*len) + 2),
            (_, Some(_)) => {
                // An error reply may carry no valid address: report its code first.
                return match self.input.get(1) {
                    Some(&code) if code != 0 => {
                        Err(ProxyError::SocksRefused(SocksReply::from_code(code)))
                    }
                    _ => Err(ProxyError::SocksMalformed("unknown address type in reply")),
                };
            }
        })
    }

    fn send_request(&mut self, out: &mut Outbox) {
        out.queue(core::mem::take(&mut self.request));
        self.stage = Stage::Reply;
    }
}

/// The length byte of a SOCKS field, or an error naming `what` for more than 255 bytes.
fn short_len(field: &[u8], what: &'static str) -> Result<u8, ProxyError> {
    u8::try_from(field.len()).map_err(|_| ProxyError::TooLong(what))
}

#[cfg(test)]
mod tests {
    use super::super::{ProxyUrl, Tunnel};
    use super::*;
    use crate::Limits;
    use alloc::string::String;

    fn tunnel(target: Target<'_>, port: u16, login: Option<&str>) -> Tunnel {
        let url = match login {
            Some(login) => alloc::format!("socks5h://{login}@p"),
            None => String::from("socks5h://p"),
        };
        let proxy = ProxyUrl::parse(&url).unwrap();
        Tunnel::new(&proxy, target, port, &Limits::default()).unwrap()
    }

    fn sent(tunnel: &mut Tunnel) -> Vec<u8> {
        let bytes = tunnel.transmit().to_vec();
        tunnel.advance_transmit(bytes.len());
        bytes
    }

    /// A tunnel to `h:1` past the method choice, its request written.
    fn at_reply() -> Tunnel {
        let mut socks = tunnel(Target::Name("h"), 1, None);
        sent(&mut socks);
        socks.handle_input(&[5, 0]).unwrap();
        sent(&mut socks);
        socks
    }

    #[test]
    fn no_auth_connect_by_name_and_by_address() {
        let mut socks = tunnel(Target::Name("a.b"), 80, None);
        assert_eq!(sent(&mut socks), [5, 1, 0]);
        assert_eq!(socks.handle_input(&[5, 0]), Ok(false));
        assert_eq!(sent(&mut socks), [5, 1, 0, 3, 3, b'a', b'.', b'b', 0, 80]);
        // Reply with a domain-typed bound address, byte by byte.
        let reply = [5, 0, 0, 3, 2, b'h', b'i', 0, 1];
        for byte in &reply[..reply.len() - 1] {
            assert_eq!(socks.handle_input(&[*byte]), Ok(false));
        }
        assert_eq!(socks.handle_input(&reply[reply.len() - 1..]), Ok(true));

        let mut v6 = tunnel(Target::Ip("::1".parse().unwrap()), 443, None);
        sent(&mut v6);
        v6.handle_input(&[5, 0]).unwrap();
        let request = sent(&mut v6);
        assert_eq!(request[..4], [5, 1, 0, 4]);
        assert_eq!(request.len(), 4 + 16 + 2);
        let mut reply = alloc::vec![5, 0, 0, 4];
        reply.extend_from_slice(&[0; 18]);
        assert_eq!(v6.handle_input(&reply), Ok(true));
    }

    #[test]
    fn username_and_password() {
        let mut socks = tunnel(Target::Name("h"), 1, Some("user:pw"));
        assert_eq!(sent(&mut socks), [5, 2, 0, 2]);
        assert_eq!(socks.handle_input(&[5, 2]), Ok(false));
        assert_eq!(
            sent(&mut socks),
            [1, 4, b'u', b's', b'e', b'r', 2, b'p', b'w']
        );
        assert_eq!(socks.handle_input(&[1, 0]), Ok(false));
        assert_eq!(sent(&mut socks)[..4], [5, 1, 0, 3]);
        assert_eq!(
            socks.handle_input(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
            Ok(true)
        );

        let mut refused = tunnel(Target::Name("h"), 1, Some("user:pw"));
        sent(&mut refused);
        refused.handle_input(&[5, 2]).unwrap();
        sent(&mut refused);
        assert_eq!(
            refused.handle_input(&[1, 1]),
            Err(ProxyError::SocksAuthFailed)
        );
        assert_eq!(refused.handle_eof(), ProxyError::SocksAuthFailed);
    }

    #[test]
    fn every_reply_code_is_reported() {
        for code in 1..=255u8 {
            let mut socks = at_reply();
            let error = socks.handle_input(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
            assert_eq!(
                error,
                Err(ProxyError::SocksRefused(SocksReply::from_code(code)))
            );
            assert_eq!(SocksReply::from_code(code).code(), code);
        }
        // An error reply with a bogus address type still says its code.
        assert_eq!(
            at_reply().handle_input(&[5, 4, 0, 9]),
            Err(ProxyError::SocksRefused(SocksReply::HostUnreachable))
        );
    }

    #[test]
    fn misbehaving_proxies() {
        let mut no_method = tunnel(Target::Name("h"), 1, None);
        sent(&mut no_method);
        let error = no_method.handle_input(&[5, 0xff]).unwrap_err();
        assert_eq!(
            error,
            ProxyError::SocksNoAcceptableMethod {
                credentials_offered: false
            }
        );
        assert!(error.needs_credentials());
        let mut unoffered = tunnel(Target::Name("h"), 1, None);
        sent(&mut unoffered);
        assert!(matches!(
            unoffered.handle_input(&[5, 2]),
            Err(ProxyError::SocksMalformed(_))
        ));
        let mut http = tunnel(Target::Name("h"), 1, None);
        sent(&mut http);
        assert!(matches!(
            http.handle_input(b"HTTP/1.1 400 Bad Request\r\n"),
            Err(ProxyError::UnexpectedData)
        ));
        let mut not_socks = tunnel(Target::Name("h"), 1, None);
        sent(&mut not_socks);
        assert!(matches!(
            not_socks.handle_input(b"HT"),
            Err(ProxyError::SocksMalformed(_))
        ));
        assert_eq!(
            at_reply().handle_input(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0, b'x']),
            Err(ProxyError::UnexpectedData)
        );
        let mut early = tunnel(Target::Name("h"), 1, None);
        assert_eq!(early.handle_input(&[5, 0]), Err(ProxyError::UnexpectedData));
        let mut closed = tunnel(Target::Name("h"), 1, None);
        sent(&mut closed);
        assert_eq!(closed.handle_input(&[5]), Ok(false));
        assert_eq!(closed.handle_eof(), ProxyError::Closed);
    }

    #[test]
    fn fields_over_255_bytes_are_refused() {
        let long: String = core::iter::repeat_n('a', 256).collect();
        let proxy = ProxyUrl::parse("socks5h://p").unwrap();
        assert!(matches!(
            Tunnel::new(&proxy, Target::Name(&long), 1, &Limits::default()),
            Err(ProxyError::TooLong(_))
        ));
        let with_login = ProxyUrl::parse(&alloc::format!("socks5://u:{long}@p")).unwrap();
        assert!(matches!(
            Tunnel::new(&with_login, Target::Name("h"), 1, &Limits::default()),
            Err(ProxyError::TooLong(_))
        ));
    }
}
