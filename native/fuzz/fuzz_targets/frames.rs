//! The SEQPACKET framing decoder (`recv_msg`): the input is cut into datagrams (each piece's first byte is its
//! length) and sent over a real socketpair; the decoder returns a message, EOF or an error, never panics, and never
//! returns more than MAX_MESSAGE bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nix::sys::socket::{send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use std::os::fd::{AsFd, AsRawFd};
use youki_ffm_fuzz::proto::{recv_msg, MAX_MESSAGE};

fuzz_target!(|data: &[u8]| {
    let (a, b) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).unwrap();
    let mut rest = data;
    let mut sent = 0;
    while let Some((&len, tail)) = rest.split_first() {
        let n = (len as usize).min(tail.len());
        let (piece, more) = tail.split_at(n);
        if send(a.as_raw_fd(), piece, MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL).is_err() {
            break;
        }
        sent += 1;
        rest = more;
        if sent > 64 {
            break;
        }
    }
    drop(a);
    loop {
        match recv_msg(b.as_fd()) {
            Ok(Some((payload, fds))) => {
                assert!(payload.len() <= MAX_MESSAGE);
                assert!(fds.is_empty());
            }
            Ok(None) | Err(_) => break,
        }
    }
});
