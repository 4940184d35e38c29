//! The release archives as users get them: `scripts/package` builds the static release binary and the archives,
//! signed with a throwaway key made here; they hold only real files and match their checksums; Helm 4 installs
//! them from the files with signature verification, Helm 3 from a local HTTP server that answers
//! `Content-Type: application/gzip`; and the example chart renders through each installed plugin.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::helm::{run_ok, HelmHome, RELEASE};
use crate::support::tools::{on_path, repo_root};

/// The counts of `examples/wikipedia-stats.yaml`'s one input, so that rendering needs no broker.
const PARTITIONS: &str = "--partitions=kafka.wikipedia-edits=4";

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A GnuPG home with a fresh signing key without passphrase; returns the key's name.
fn throwaway_key(gnupg: &Path) -> &'static str {
    const NAME: &str = "helm-samza package test <package-test@example.invalid>";
    std::fs::create_dir_all(gnupg).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    run_ok(
        Command::new(on_path("gpg"))
            .env("GNUPGHOME", gnupg)
            .args(["--batch", "--passphrase", "", "--quick-gen-key", NAME])
            .args(["rsa2048", "sign", "never"]),
    );
    NAME
}

/// Serves the files of `dir` over HTTP on loopback, `.tgz` as `application/gzip` (what Helm 3 requires), until
/// the test ends. Returns the base URL.
fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            // Headers until the blank line.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let mut stream = &stream;
            match std::fs::read(dir.join(path))
                .ok()
                .filter(|_| !path.contains(".."))
            {
                Some(body) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(&body);
                }
                None => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                }
            }
        }
    });
    url
}

/// The example chart rendered through an installed plugin has a job model.
fn assert_renders_the_example(home: &HelmHome, post_renderer: &[&str]) {
    let out = run_ok(
        home.cmd(["template", RELEASE])
            .arg(repo_root().join("charts/samza-job"))
            .arg("-f")
            .arg(repo_root().join("examples/wikipedia-stats.yaml"))
            .args(post_renderer)
            .args([
                "--post-renderer-args",
                "--offline",
                "--post-renderer-args",
                PARTITIONS,
            ]),
    );
    let text = stdout(&out);
    assert!(
        text.contains("job-model.json") && text.contains("samza.apache.org/job-model-checksum"),
        "Helm {}: no job model in the render:\n{text}",
        home.version()
    );
}

#[test]
fn release_archives_install_in_helm3_and_helm4_and_render_the_example() {
    let work = tempfile::tempdir().unwrap();
    let gnupg = work.path().join("gnupg");
    let key = throwaway_key(&gnupg);
    let package = run_ok(
        Command::new("bash")
            .arg(repo_root().join("scripts/package"))
            .env("GNUPGHOME", &gnupg)
            .env("HELM_SAMZA_SIGNING_KEY", key),
    );
    let said = stdout(&package);
    assert!(said.contains("needs glibc"), "{said}");
    assert!(!said.contains("UNSIGNED"), "{said}");

    let dist = repo_root().join("dist/linux-amd64");
    let version = env!("CARGO_PKG_VERSION");
    let cli = dist.join(format!("samza-{version}.tgz"));
    let postrender = dist.join(format!("samza-postrender-{version}.tgz"));
    let helm3 = dist.join(format!("helm3/samza-{version}.tgz"));
    for archive in [&cli, &postrender, &helm3] {
        let size = std::fs::metadata(archive).unwrap().len();
        assert!(
            (1 << 20..100 << 20).contains(&size),
            "{}: {size} bytes",
            archive.display()
        );
        let listing = stdout(&run_ok(Command::new("tar").arg("-tvzf").arg(archive)));
        assert!(
            listing
                .lines()
                .all(|line| line.starts_with('-') || line.starts_with('d')),
            "{} holds something other than files and folders:\n{listing}",
            archive.display()
        );
        for needed in [
            "plugin.yaml",
            "bin/helm-samza",
            "LICENSE",
            "share/man/man1/helm-samza.1",
            "share/completions/helm-samza.bash",
        ] {
            assert!(
                listing.contains(needed),
                "{} lacks {needed}:\n{listing}",
                archive.display()
            );
        }
        assert!(
            !listing.contains(".git") && !listing.contains("target/"),
            "{listing}"
        );
    }
    for signed in [&cli, &postrender] {
        let prov = PathBuf::from(format!("{}.prov", signed.display()));
        assert!(std::fs::read_to_string(&prov)
            .unwrap()
            .contains("BEGIN PGP SIGNATURE"));
    }
    run_ok(
        Command::new("sha256sum")
            .args(["--check", "--quiet", "SHA256SUMS"])
            .current_dir(&dist),
    );

    // The binary needs glibc and nothing else, and says what it is.
    let binary = repo_root().join("target/release/helm-samza");
    let libraries = stdout(&run_ok(Command::new("ldd").arg(&binary)));
    for line in libraries.lines() {
        let library = line.split_whitespace().next().unwrap_or_default();
        assert!(
            [
                "linux-vdso",
                "libc.so",
                "libm.so",
                "libdl.so",
                "libpthread.so",
                "librt.so",
                "/lib64/ld-linux",
                "ld-linux",
                // Rust's std links it for unwinding; glibc itself loads it.
                "libgcc_s.so",
            ]
            .iter()
            .any(|glibc| library.starts_with(glibc)),
            "the release binary needs {library}:\n{libraries}"
        );
    }
    let shown = stdout(&run_ok(Command::new(&binary).arg("--version")));
    assert!(
        shown.starts_with(&format!("helm-samza {version} (commit "))
            && shown.contains("librdkafka 2."),
        "{shown}"
    );

    // Helm 4: from the files, verified against the public key.
    let keyring = work.path().join("pubring.gpg");
    let exported = run_ok(
        Command::new(on_path("gpg"))
            .env("GNUPGHOME", &gnupg)
            .args(["--batch", "--export", key]),
    );
    std::fs::write(&keyring, &exported.stdout).unwrap();
    let home4 = HelmHome::bare(4);
    for archive in [&cli, &postrender] {
        run_ok(
            home4
                .cmd(["plugin", "install"])
                .arg(archive)
                .arg("--keyring")
                .arg(&keyring),
        );
    }
    assert!(stdout(&run_ok(&mut home4.cmd(["samza", "--version"]))).contains("librdkafka"));
    assert_renders_the_example(&home4, &["--post-renderer", "samza-postrender"]);
    // A signature from another key is refused.
    let stranger = tempfile::tempdir().unwrap();
    let other = throwaway_key(stranger.path());
    let other_ring = work.path().join("other.gpg");
    let exported = run_ok(
        Command::new(on_path("gpg"))
            .env("GNUPGHOME", stranger.path())
            .args(["--batch", "--export", other]),
    );
    std::fs::write(&other_ring, &exported.stdout).unwrap();
    let refused = HelmHome::bare(4)
        .cmd(["plugin", "install"])
        .arg(&cli)
        .arg("--keyring")
        .arg(&other_ring)
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "Helm 4 installed a plugin signed by an unknown key"
    );

    // Helm 3: from a URL whose server says application/gzip.
    let url = serve(dist.join("helm3"));
    let home3 = HelmHome::bare(3);
    run_ok(&mut home3.cmd(["plugin", "install", &format!("{url}/samza-{version}.tgz")]));
    let installed = std::fs::read_dir(home3.plugins_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|dir| dir.join("bin/helm-samza").is_file())
        .expect("Helm 3 installed the plugin with its binary");
    assert!(stdout(&run_ok(&mut home3.cmd(["samza", "--version"]))).contains("librdkafka"));
    let binary3 = installed.join("bin/helm-samza").display().to_string();
    assert_renders_the_example(
        &home3,
        &[
            "--post-renderer",
            &binary3,
            "--post-renderer-args",
            "post-render",
        ],
    );
}
