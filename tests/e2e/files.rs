//! `--dir` preopens, `wsgi.file_wrapper` bodies sent by the host, and the
//! `static-files` and `router` examples.

use std::path::PathBuf;

use crate::common::{Host, example};

/// A site directory with a secret file beside it (outside the site).
struct Site {
    root: PathBuf,
    site: PathBuf,
}

impl Site {
    fn new(name: &str) -> Site {
        let root = std::env::temp_dir().join(format!("wasgi-site-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let site = root.join("site");
        std::fs::create_dir_all(site.join("sub")).unwrap();
        std::fs::create_dir_all(site.join("empty")).unwrap();
        std::fs::write(root.join("secret.txt"), "TOP SECRET").unwrap();
        std::fs::write(site.join("index.html"), "<h1>home</h1>\n").unwrap();
        std::fs::write(site.join("sub/index.html"), "<p>sub</p>\n").unwrap();
        std::fs::write(site.join("sub/page.txt"), "a page\n").unwrap();
        std::fs::write(site.join("style.css"), "body {}\n").unwrap();
        std::fs::write(site.join("caf\u{e9}.txt"), "accent\n").unwrap();
        std::fs::write(site.join("big.bin"), big_content()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::symlink;
            symlink("/etc/passwd", site.join("passwd-link")).unwrap();
            symlink(root.join("secret.txt"), site.join("secret-link")).unwrap();
            symlink("../secret.txt", site.join("relative-secret-link")).unwrap();
            symlink("index.html", site.join("home-link.html")).unwrap();
        }
        Site { root, site }
    }

    fn serve(&self, extra: &[&str]) -> Host {
        let dir = self.site.to_str().unwrap();
        let mut args = vec![
            example("static-files").to_str().unwrap().to_string(),
            "--dir".into(),
            dir.into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Host::serve(&args)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn big_content() -> Vec<u8> {
    (0..3_000_000u32).map(|i| (i % 251) as u8).collect()
}

#[test]
fn static_files_serves_the_directory() {
    let site = Site::new("serve");
    let host = site.serve(&[]);
    let r = host.get("/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("text/html"));
    assert_eq!(r.header("Content-Length"), Some("14"));
    assert_eq!(r.text(), "<h1>home</h1>\n");
    assert_eq!(host.get("/index.html").text(), "<h1>home</h1>\n");
    let r = host.get("/sub");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("/sub/"));
    assert_eq!(host.get("/sub/").text(), "<p>sub</p>\n");
    let r = host.get("/sub/page.txt");
    assert_eq!(r.header("Content-Type"), Some("text/plain"));
    assert_eq!(r.text(), "a page\n");
    assert_eq!(
        host.get("/style.css").header("Content-Type"),
        Some("text/css")
    );
    assert_eq!(host.get("/caf%C3%A9.txt").text(), "accent\n");
    assert_eq!(host.get("/home-link.html").text(), "<h1>home</h1>\n");
    for missing in ["/missing", "/sub/missing.txt", "/caf%E9.txt"] {
        let r = host.get(missing);
        assert_eq!(r.status, 404, "{missing}");
        assert_eq!(r.text(), "not found\n");
    }
    // A directory without index.html is not listed unless asked for.
    assert_eq!(host.get("/empty/").status, 403);
}

#[test]
fn static_files_answers_like_a_real_static_server() {
    let site = Site::new("http");
    std::fs::write(site.site.join("clip.avif"), "a").unwrap();
    std::fs::write(site.site.join("mod.mjs"), "export {}").unwrap();
    std::fs::write(site.site.join("app.wasm"), "\0asm").unwrap();
    std::fs::write(site.site.join("pic.webp"), "w").unwrap();
    std::fs::write(site.site.join("empty/<odd> & name.txt"), "x").unwrap();
    std::fs::create_dir_all(site.site.join("empty/inner")).unwrap();
    let host = site.serve(&["--env", "LISTING=1"]);
    for (path, ty) in [
        ("/clip.avif", "image/avif"),
        ("/mod.mjs", "text/javascript"),
        ("/app.wasm", "application/wasm"),
        ("/pic.webp", "image/webp"),
    ] {
        assert_eq!(host.get(path).header("Content-Type"), Some(ty), "{path}");
    }

    // Validators, and 304 for a copy that is still current.
    let r = host.get("/big.bin");
    let etag = r.header("ETag").unwrap().to_string();
    let modified = r.header("Last-Modified").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    let cond = |header: &str| {
        host.request(&format!(
            "GET /big.bin HTTP/1.1\r\nHost: x\r\n{header}\r\nConnection: close\r\n\r\n"
        ))
    };
    for header in [
        format!("If-None-Match: \"nope\", {etag}"),
        format!("If-None-Match: W/{etag}"),
        "If-None-Match: *".to_string(),
        format!("If-Modified-Since: {modified}"),
    ] {
        let r = cond(&header);
        assert_eq!(r.status, 304, "{header}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("ETag"), Some(etag.as_str()));
        assert_eq!(r.header("Content-Type"), None);
    }
    assert_eq!(cond("If-None-Match: \"other\"").status, 200);
    // If-None-Match decides when both are sent.
    assert_eq!(
        cond(&format!(
            "If-None-Match: \"other\"\r\nIf-Modified-Since: {modified}"
        ))
        .status,
        200
    );
    assert_eq!(
        cond("If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT").status,
        200
    );

    // Byte ranges, from the host's sendfile path.
    let content = big_content();
    for (range, start, end) in [
        ("bytes=0-9", 0usize, 9usize),
        ("bytes=2999990-", 2_999_990, 2_999_999),
        ("bytes=-5", 2_999_995, 2_999_999),
        ("bytes=100-99999999", 100, 2_999_999),
    ] {
        let r = cond(&format!("Range: {range}"));
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(
            r.header("Content-Range"),
            Some(format!("bytes {start}-{end}/3000000").as_str())
        );
        assert_eq!(
            r.header("Content-Length"),
            Some((end - start + 1).to_string().as_str())
        );
        assert!(r.body == content[start..=end], "{range}: the bytes differ");
    }
    for range in ["bytes=3000000-", "bytes=-0"] {
        let r = cond(&format!("Range: {range}"));
        assert_eq!(r.status, 416, "{range}");
        assert_eq!(r.header("Content-Range"), Some("bytes */3000000"));
    }
    // Several ranges, another unit, a stale If-Range: the whole file.
    for header in [
        "Range: bytes=0-1,5-6".to_string(),
        "Range: items=0-1".to_string(),
        "Range: bytes=0-1\r\nIf-Range: \"stale\"".to_string(),
    ] {
        let r = cond(&header);
        assert_eq!(r.status, 200, "{header}");
        assert_eq!(r.body.len(), 3_000_000);
    }
    assert_eq!(
        cond(&format!("Range: bytes=0-1\r\nIf-Range: {etag}")).status,
        206
    );
    assert_eq!(
        cond(&format!("Range: bytes=0-1\r\nIf-Range: {modified}")).status,
        206
    );
    host.wait_log("\"GET /big.bin HTTP/1.1\" 206 10\n");

    // curl resumes a download.
    let out = site.root.join("big.part");
    std::fs::write(&out, &content[..1_234_567]).unwrap();
    let curl = std::process::Command::new("curl")
        .args(["-sS", "-C", "-", "-o"])
        .arg(&out)
        .arg(format!("http://{}/big.bin", host.addr))
        .output()
        .unwrap();
    assert!(curl.status.success(), "{curl:?}");
    assert!(
        std::fs::read(&out).unwrap() == content,
        "the resumed file differs"
    );
    host.wait_log("\"GET /big.bin HTTP/1.1\" 206 1765433\n");

    // Only GET and HEAD.
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let r = host.request(&format!(
            "{method} /big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("Allow"), Some("GET, HEAD"));
    }
    // The trailing-slash redirect keeps the query string.
    let r = host.get("/sub?page=2&q=a%20b");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("/sub/?page=2&q=a%20b"));
    // The listing (LISTING=1): escaped names, quoted links, sorted.
    let r = host.get("/empty/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    let page = r.text();
    assert!(
        page.contains("<title>Directory listing for /empty/</title>"),
        "{page}"
    );
    assert!(
        page.contains("<li><a href=\"%3Codd%3E%20%26%20name.txt\">&lt;odd&gt; &amp; name.txt</a></li>\n<li><a href=\"inner/\">inner/</a></li>"),
        "{page}"
    );
    // A directory with an index.html is still served by it.
    assert_eq!(host.get("/sub/").text(), "<p>sub</p>\n");
}

#[test]
fn traversal_never_leaves_the_directory() {
    let site = Site::new("traversal");
    let host = site.serve(&[]);
    for (target, status) in [
        // `..` segments (and NUL or backslash) are refused by the app...
        ("/../secret.txt", 403),
        ("/../../etc/passwd", 403),
        ("/%2e%2e/secret.txt", 403),
        ("/%2E%2E/%2E%2E/etc/passwd", 403),
        ("/..%2fsecret.txt", 403),
        ("/sub/../../secret.txt", 403),
        ("/sub/%2e%2e/%2e%2e/secret.txt", 403),
        ("/sub/..%2F..%2Fsecret.txt", 403),
        ("/%00", 403),
        ("/..\\secret.txt", 403),
        // ...absolute paths are looked up inside the directory...
        ("//etc/passwd", 404),
        ("/etc/passwd", 404),
        // ...symlinks out of it are refused by WASI...
        ("/passwd-link", 403),
        ("/secret-link", 403),
        ("/relative-secret-link", 403),
    ] {
        let r = host.request(&format!(
            "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!(r.status, status, "{target}: {}", r.head);
        let body = r.text();
        assert!(!body.contains("TOP SECRET"), "{target} leaked the secret");
        assert!(!body.contains("root:"), "{target} leaked /etc/passwd");
    }
}

#[test]
fn big_files_are_sent_whole_by_every_path() {
    let site = Site::new("big");
    let expected = big_content();
    for flags in [&[][..], &["--no-sendfile"][..], &["--no-file-wrapper"][..]] {
        let host = site.serve(flags);
        let r = host.get("/big.bin");
        assert_eq!(r.status, 200, "{flags:?}");
        assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
        assert_eq!(r.header("Content-Length"), Some("3000000"), "{flags:?}");
        assert!(r.complete, "{flags:?}");
        assert!(r.body == expected, "{flags:?}: the body differs");
        let head = host.request("HEAD /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert_eq!(head.header("Content-Length"), Some("3000000"));
        assert!(head.body.is_empty());
        host.wait_log("\"GET /big.bin HTTP/1.1\" 200 3000000");
        // HEAD logs no body bytes: none went out, whichever way it was made.
        host.wait_log("\"HEAD /big.bin HTTP/1.1\" 200 0\n");
    }
}

#[test]
fn a_file_wrapper_over_a_preopened_file_is_sent_by_the_host() {
    let site = Site::new("wrapper");
    let spec = format!("{}::/site", site.site.display());
    let conformance = example("conformance");
    let expected = big_content();
    let host = Host::serve(&[conformance.to_str().unwrap(), "--dir", &spec]);
    // Sent by the host: it knows the length.
    let r = host.get("/file-wrapper?path=/site/big.bin");
    assert_eq!(r.header("Content-Length"), Some("3000000"));
    assert!(r.body == expected);
    // From the wrapper's position on.
    let r = host.get("/file-wrapper?path=/site/big.bin&skip=2999990");
    assert_eq!(r.header("Content-Length"), Some("10"));
    assert_eq!(r.body, &expected[2_999_990..]);
    // A reader that is not a preopened file streams through the guest.
    let r = host.get("/file-wrapper-memory?size=2500");
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.body, vec![b'm'; 2500]);
    // The wrapper's close() runs once the host has sent the file.
    let r = host.get("/file-wrapper-close?path=/site/sub/page.txt");
    assert_eq!(r.text(), "a page\n");
    assert_eq!(r.header("Content-Length"), Some("7"));
    host.wait_log("file close() called");
    drop(host);
    // With --no-sendfile the host reads the file in the wrapper's blocks,
    // like any iterable: no length.
    let host = Host::serve(&[
        conformance.to_str().unwrap(),
        "--dir",
        &spec,
        "--no-sendfile",
    ]);
    let r = host.get("/file-wrapper?path=/site/big.bin");
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert!(r.body == expected);
    drop(host);
    // Without wsgi.file_wrapper the guest streams the file itself.
    let host = Host::serve(&[
        conformance.to_str().unwrap(),
        "--dir",
        &spec,
        "--no-file-wrapper",
    ]);
    let r = host.get("/file-wrapper?path=/site/big.bin");
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert!(r.body == expected);
}

#[test]
fn static_files_needs_a_directory() {
    let host = Host::serve(&[example("static-files").to_str().unwrap()]);
    let r = host.get("/");
    assert_eq!(r.status, 500);
    assert!(r.text().contains("--dir"), "{}", r.text());
}

#[test]
fn preopens_are_read_only_unless_asked_and_nothing_else_is_visible() {
    let site = Site::new("perms");
    let data = site.root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("in.txt"), "inside").unwrap();
    let conformance = example("conformance");
    let ro_spec = format!("{}::/data", data.display());
    let host = Host::serve(&[conformance.to_str().unwrap(), "--dir", &ro_spec]);
    assert_eq!(host.get("/fs-read?path=/data/in.txt").text(), "inside");
    let written = host.get("/fs-write?path=/data/new.txt").text();
    assert!(written.starts_with("error:"), "{written}");
    assert!(!data.join("new.txt").exists());
    for outside in [
        "/etc/passwd",
        "/data/../secret.txt",
        &format!("{}", site.root.join("secret.txt").display()),
    ] {
        let read = host.get(&format!("/fs-read?path={outside}")).text();
        assert!(read.starts_with("error:"), "{outside}: {read}");
    }
    drop(host);

    let host = Host::serve(&[conformance.to_str().unwrap(), "--dir-rw", &ro_spec]);
    assert_eq!(host.get("/fs-write?path=/data/new.txt").text(), "ok");
    assert_eq!(
        std::fs::read_to_string(data.join("new.txt")).unwrap(),
        "written"
    );
}

#[test]
fn bad_dirs_and_workers_are_refused() {
    let file = crate::common::fresh_dir("files-not-a-dir").join("file.txt");
    std::fs::write(&file, "x").unwrap();
    let file = file.display().to_string();
    for (args, message) in [
        (
            vec!["--dir", "/nonexistent/site"],
            "error: --dir /nonexistent/site: no such directory".to_string(),
        ),
        (
            vec!["--dir-rw", &file],
            format!("error: --dir-rw {file}: not a directory"),
        ),
        (
            vec!["--dir", "/tmp::"],
            "error: --dir \"/tmp::\": expected HOST_PATH or HOST_PATH::GUEST_PATH, with neither path empty".to_string(),
        ),
        (
            vec!["--workers", "0"],
            "error: --workers 0: at least one worker thread is needed".to_string(),
        ),
    ] {
        let out = std::process::Command::new(crate::common::host_bin())
            .arg("serve")
            .args(&args)
            .args(["--port", "0"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim(), message, "{args:?}");
    }
}

#[test]
fn router_moves_script_name_and_path_info_two_levels_deep() {
    let host = Host::serve(&[example("router").to_str().unwrap()]);
    let r = host.get("/api/v1/items/42?x=1");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "SCRIPT_NAME=/api/v1\nPATH_INFO=/items/42\nrequest_uri=http://test/api/v1/items/42?x=1\n"
    );
    assert_eq!(
        host.get("/whoami/x/y/").text(),
        "SCRIPT_NAME=/whoami\nPATH_INFO=/x/y/\nrequest_uri=http://test/whoami/x/y/\n"
    );
    assert_eq!(
        host.get("/api/v2").text(),
        "SCRIPT_NAME=/api/v2\nPATH_INFO=\nrequest_uri=http://test/api/v2\n"
    );
    assert_eq!(host.get("/api").text(), "api: v1 v2\n");
    assert_eq!(host.get("/").text(), "root: hello whoami api\n");
    let r = host.get("/api/v3/x");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "api: no route \"v3\"\n");
}
