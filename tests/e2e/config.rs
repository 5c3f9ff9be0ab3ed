//! Configuration values for guests (`wasi:config/store`): from
//! `--config-var`, from a manifest's `config` (an app's over `[defaults]`),
//! and from the host's environment by explicit reference only.

use crate::common::{Host, example, host_bin, test_cache_dir};

#[test]
fn config_vars_from_the_command_line_reach_the_guest() {
    let app = example("config-echo");
    let host = Host::serve(&[
        app.to_str().unwrap(),
        "--config-var",
        "greeting=Hello, config",
        "--config-var",
        "empty=",
    ]);
    assert_eq!(host.get("/greeting").text(), "Hello, config");
    assert_eq!(host.get("/empty").text(), "");
    let missing = host.get("/missing");
    assert_eq!(missing.status, 404);
    assert_eq!(host.get("/").text(), "empty\ngreeting\n");
}

#[test]
fn a_manifest_gives_each_app_its_values_and_secrets_come_from_the_environment_by_name() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("config-manifest");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("wasgi.toml");
    let app = example("config-echo");
    std::fs::write(
        &manifest,
        format!(
            "[defaults]\nconfig = {{ region = \"eu\" }}\n\n\
             [[app]]\nname = \"shop\"\ncomponent = {app:?}\nroute = \"/shop\"\n\
             config = {{ api_base = \"https://api.example\", token = {{ env = \"WASGI_TEST_SHOP_TOKEN\" }} }}\n\n\
             [[app]]\nname = \"other\"\ncomponent = {app:?}\nroute = \"/other\"\n"
        ),
    )
    .unwrap();
    let secret = "s3cret-value-that-must-not-be-logged";
    let host = Host::serve_env(
        &["--config", manifest.to_str().unwrap()],
        &[("WASGI_TEST_SHOP_TOKEN", secret)],
    );
    assert_eq!(host.get("/shop/api_base").text(), "https://api.example");
    assert_eq!(host.get("/shop/token").text(), secret);
    // An app's config replaces [defaults]'; one without takes [defaults]'.
    assert_eq!(host.get("/shop/region").status, 404);
    assert_eq!(host.get("/other/region").text(), "eu");
    assert_eq!(host.get("/other/token").status, 404);
    // Nothing else of the host's environment is there.
    assert_eq!(host.get("/other/HOME").status, 404);
    host.wait_log("\"GET /other/HOME HTTP/1.1\" 404");
    assert!(!host.log().contains(secret), "{}", host.log());

    // A reference to a variable that is not set is a load error naming it.
    let out = std::process::Command::new(host_bin())
        .args(["check", "--config", manifest.to_str().unwrap()])
        .env("WASGI_CACHE_DIR", test_cache_dir())
        .env_remove("WASGI_TEST_SHOP_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "wasgi.toml, line 8: app \"shop\": config: token: the environment variable WASGI_TEST_SHOP_TOKEN is not set"
        ),
        "{stderr}"
    );
}
