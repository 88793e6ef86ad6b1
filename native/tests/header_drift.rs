//! Regenerates include/youki_ffm.h with the pinned cbindgen and fails if it differs from the committed file.
//! To update the committed header: `YFFM_BLESS=1 cargo test --test header_drift`.

use std::path::Path;

#[test]
fn header_matches_cbindgen_output() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to generate the header");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let fresh = String::from_utf8(fresh).unwrap();
    let path = crate_dir.join("include/youki_ffm.h");
    if std::env::var_os("YFFM_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let tmp = std::env::temp_dir().join("youki_ffm.h.fresh");
        std::fs::write(&tmp, &fresh).unwrap();
        let diff = std::process::Command::new("diff")
            .args(["-u", path.to_str().unwrap(), tmp.to_str().unwrap()])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|_| "(diff not available)".into());
        panic!(
            "include/youki_ffm.h is out of date with the Rust sources.\n{diff}\n\
             Regenerate it with: cd native && YFFM_BLESS=1 cargo test --test header_drift\n\
             (then regenerate the jextract bindings too, see bindings/JEXTRACT.md)"
        );
    }
}

#[test]
fn header_is_self_contained() {
    let h =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/youki_ffm.h"))
            .unwrap();
    let includes: Vec<&str> = h
        .lines()
        .filter(|l| l.trim_start().starts_with("#include"))
        .collect();
    assert_eq!(
        includes,
        [
            "#include <stdint.h>",
            "#include <stdbool.h>",
            "#include <stddef.h>"
        ]
    );
    assert!(h.contains("typedef struct yffm_runtime yffm_runtime;"));
    for c in ["YFFM_OK 0", "YFFM_ERR_PANIC 100", "YFFM_MODE_DIRECT 1"] {
        assert!(h.contains(&format!("#define {c}")), "missing #define {c}");
    }
}
