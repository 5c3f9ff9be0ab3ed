#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasgi_fuzz::targets::environ(data));
