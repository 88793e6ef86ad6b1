//! The pieces of `youki-ffm-native` the fuzz targets exercise, compiled from the same source files.
#![allow(dead_code)]

#[path = "../../src/status.rs"]
pub mod status;
#[path = "../../src/proto.rs"]
pub mod proto;
#[path = "../../src/util.rs"]
pub mod util;
