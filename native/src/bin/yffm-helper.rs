//! `yffm-helper ROOT`: the single-threaded process that runs libcontainer for a helper-mode runtime. Started by
//! libyouki_ffm with its end of a SOCK_SEQPACKET socketpair at fd 3; exits when the socket reaches EOF.

fn main() {
    std::process::exit(youki_ffm::helper::helper_main());
}
