//! TLS at the edge: rustls, with ALPN offering HTTP/2 and HTTP/1.1.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS settings for a certificate chain and its private key, both PEM
/// files: TLS 1.2 and 1.3 (rustls's safe defaults, ring), ALPN `h2` then
/// `http/1.1`. Errors name the files as the command line's flags.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    tls_config_named(cert, key, ["--tls-cert", "--tls-key"])
}

/// [`tls_config`], errors naming the files as `names` say (a manifest's
/// `tls_cert` and `tls_key`).
pub fn tls_config_named(
    cert: &Path,
    key: &Path,
    [cert_name, key_name]: [&str; 2],
) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| format!("{cert_name} {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{cert_name} {}: no certificate in it",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("{key_name} {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("{cert_name} and {key_name} do not go together: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
