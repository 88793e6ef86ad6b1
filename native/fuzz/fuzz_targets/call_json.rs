//! The helper's request decoder: any bytes on the control socket decode to a `Call` or a clean error, and a
//! decoded call's fields go through the same checks the helper makes, without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use youki_ffm_fuzz::proto::{Call, Request, Response};
use youki_ffm_fuzz::util::{cap_text, validate_id};

fuzz_target!(|data: &[u8]| {
    if let Ok(call) = serde_json::from_slice::<Call>(data) {
        let _ = call.req.name();
        let _ = call.req.stdio_fds();
        if let Some(id) = call.req.container_id() {
            let _ = validate_id(id);
        }
        if let Request::Update { resources, .. } = &call.req {
            let _ = serde_json::from_str::<oci_spec::runtime::LinuxResources>(resources);
        }
        let back = serde_json::to_vec(&call).expect("a decoded call re-encodes");
        assert_eq!(serde_json::from_slice::<Call>(&back).expect("round trip"), call);
    }
    if let Ok(r) = serde_json::from_slice::<Response>(data) {
        if let Some(m) = &r.msg {
            assert!(cap_text(m, 4096).len() <= 4096 + 64);
        }
    }
});
