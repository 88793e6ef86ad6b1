//! The raw-config checks the C ABI makes on config.json and process.json before libcontainer sees them, and the
//! resources JSON of yffm_update: any JSON is accepted or refused with INVALID_ARGUMENT, never a panic, and what
//! is accepted has the properties libcontainer relies on.
#![no_main]
use libfuzzer_sys::fuzz_target;
use youki_ffm_fuzz::status::YFFM_ERR_INVALID_ARGUMENT;
use youki_ffm_fuzz::util::validate_spec_value;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<oci_spec::runtime::LinuxResources>(data);
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for need_process in [true, false] {
        match validate_spec_value(&v, need_process) {
            Ok(()) => {
                if let Some(args) = v.pointer("/process/args").and_then(|a| a.as_array()) {
                    assert!(!args.is_empty());
                    assert!(args.iter().all(|a| a.as_str().is_some_and(|s| !s.contains('\0'))));
                }
                if let Some(cg) = v.pointer("/linux/cgroupsPath").and_then(|c| c.as_str()) {
                    assert!(!cg.split(['/', ':']).any(|c| c == ".."));
                }
            }
            Err(e) => assert_eq!(e.code, YFFM_ERR_INVALID_ARGUMENT, "{}", e.msg),
        }
    }
    // process.json is checked as {"process": <it>}
    let _ = validate_spec_value(&serde_json::json!({ "process": v }), true);
});
