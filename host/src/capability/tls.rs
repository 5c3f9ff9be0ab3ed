//! `wasgi:wsgi/tls`: TLS client connections run by the host (rustls, ring)
//! for the guest, under the Python bridge's `_ssl` and so the standard
//! library's `ssl`, `http.client`'s HTTPS and `urllib.request`.
//!
//! The host runs only the protocol: the guest reads and writes the bytes
//! over its own `wasi:sockets` connection (or memory buffers), so the
//! sockets' outbound policy (`tcp://HOST:PORT`) is the only one, and a
//! connection that starts in plain text can be upgraded. Certificates are
//! checked against Mozilla's roots (`webpki-roots`) and whatever the guest
//! adds (`load_verify_locations`, certifi's bundle); a guest that asks for
//! `CERT_NONE` gets what it asked for, as with OpenSSL. An instance holds at
//! most [`MAX_CLIENTS`] connections, each buffering at most
//! [`BUFFER_LIMIT`] bytes to send.

use std::io::{Read, Write};
use std::sync::{Arc, LazyLock, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientConnection, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use rustls::{Error as TlsError, SignatureScheme};
use wasmtime::component::{HasSelf, Linker, Resource};

use super::Capability;
use super::python_runtime::tls as bindings;
use crate::component::RequestCtx;
use bindings::{Certificate, ClientConfig as Config, Error, Session};

mod certificate;
mod errors;

/// Most TLS connections one instance holds at once.
pub const MAX_CLIENTS: usize = 64;

/// Most plaintext a connection holds before it is sent.
pub const BUFFER_LIMIT: usize = 64 << 10;

/// One connection's protocol state, in the instance's resource table.
pub struct TlsClient {
    conn: ClientConnection,
    verifier: Arc<Verifier>,
}

/// The host's TLS clients.
pub(crate) struct Tls;

impl Capability for Tls {
    fn name(&self) -> &'static str {
        "TLS clients"
    }

    fn provides(&self) -> &'static [&'static str] {
        &["wasgi:wsgi/tls"]
    }

    fn add_to_linker(&self, linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
        bindings::add_to_linker::<_, HasSelf<_>>(linker, |ctx| ctx)
    }
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: LazyLock<Arc<CryptoProvider>> =
        LazyLock::new(|| Arc::new(rustls::crypto::ring::default_provider()));
    PROVIDER.clone()
}

/// Mozilla's roots, parsed once.
fn default_roots() -> &'static RootCertStore {
    static ROOTS: LazyLock<RootCertStore> = LazyLock::new(|| RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    });
    &ROOTS
}

/// What a server's certificate is checked against.
#[derive(Debug)]
enum Check {
    /// Nothing (`CERT_NONE`).
    Nothing,
    /// These roots.
    Roots(Arc<WebPkiServerVerifier>),
    /// No roots at all: every chain is refused, as OpenSSL refuses it.
    NoRoots,
}

/// The server-certificate check a connection asked for, keeping the
/// OpenSSL-style reason of a refusal for the guest's error.
#[derive(Debug)]
struct Verifier {
    check: Check,
    verify_name: bool,
    /// The certificates the guest trusts itself (DER): one of them
    /// presented as the server's own is accepted as OpenSSL accepts it
    /// (a self-signed certificate given as `cafile`), which webpki does
    /// not (`CaUsedAsEndEntity`).
    trusted: Vec<Vec<u8>>,
    refused: Mutex<Option<(i32, String)>>,
}

impl Verifier {
    /// The error refusing the server's certificate for `e`, keeping
    /// OpenSSL's reason for the guest's error.
    fn refuse(
        &self,
        e: CertificateError,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
    ) -> TlsError {
        let refusal = errors::refusal(&e, end_entity, intermediates, server_name);
        *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(refusal);
        TlsError::InvalidCertificate(e)
    }

    /// Checks a trusted certificate the server presented as its own: its
    /// dates, and its name if asked.
    fn trusted_leaf(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let refused = match certificate::validity(end_entity) {
            Some((from, _)) if (now.as_secs() as i64) < from => Some(CertificateError::NotValidYet),
            Some((_, until)) if (now.as_secs() as i64) > until => Some(CertificateError::Expired),
            Some(_) => None,
            None => Some(CertificateError::BadEncoding),
        };
        let refused = refused.or_else(|| {
            let named = webpki::EndEntityCert::try_from(end_entity)
                .and_then(|c| c.verify_is_valid_for_subject_name(server_name));
            (self.verify_name && named.is_err()).then_some(CertificateError::NotValidForName)
        });
        match refused {
            None => Ok(ServerCertVerified::assertion()),
            Some(e) => Err(self.refuse(e, end_entity, &[], server_name)),
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        if !matches!(self.check, Check::Nothing)
            && self
                .trusted
                .iter()
                .any(|t| t.as_slice() == end_entity.as_ref())
        {
            return self.trusted_leaf(end_entity, server_name, now);
        }
        let verdict = match &self.check {
            Check::Nothing => return Ok(ServerCertVerified::assertion()),
            Check::NoRoots => Err(TlsError::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
            Check::Roots(webpki) => webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
        };
        match verdict {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.verify_name => Ok(ServerCertVerified::assertion()),
            Err(TlsError::InvalidCertificate(e)) => {
                Err(self.refuse(e, end_entity, intermediates, server_name))
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        let algorithms = &provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        let algorithms = &provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A connection configured as `config` asks.
fn connect(config: Config) -> Result<TlsClient, Error> {
    let bad = |what: &str, e: &dyn std::fmt::Display| Error::Config(format!("{what}: {e}"));
    let versions: Vec<_> = [&rustls::version::TLS13, &rustls::version::TLS12]
        .into_iter()
        .filter(|v| (config.min_version..=config.max_version).contains(&u16::from(v.version)))
        .collect();
    if versions.is_empty() {
        return Err(Error::Protocol((
            "NO_PROTOCOLS_AVAILABLE".into(),
            "no protocols available".into(),
        )));
    }
    let trusted = config.roots.clone();
    let check = if config.verify_chain {
        let mut roots = if config.default_roots {
            default_roots().clone()
        } else {
            RootCertStore::empty()
        };
        // As OpenSSL's store: a certificate it cannot use is left out.
        roots.add_parsable_certificates(config.roots.into_iter().map(CertificateDer::from));
        if roots.is_empty() {
            Check::NoRoots
        } else {
            let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| bad("the trusted certificates", &e))?;
            Check::Roots(verifier)
        }
    } else {
        Check::Nothing
    };
    let verifier = Arc::new(Verifier {
        check,
        verify_name: config.verify_name,
        trusted,
        refused: Mutex::default(),
    });
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions)
        .map_err(|e| bad("the protocol versions", &e))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone());
    let mut client_config = match config.client_certificate {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            let key = PrivateKeyDer::try_from(key).map_err(|e| bad("the private key", &e))?;
            let chain = chain.into_iter().map(CertificateDer::from).collect();
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad("the certificate chain", &e))?
        }
    };
    client_config.alpn_protocols = config.alpn;
    let name = config.server_name.trim_end_matches('.').to_string();
    let name = ServerName::try_from(name).map_err(|e| bad("the server name", &e))?;
    let mut conn = ClientConnection::new(Arc::new(client_config), name)
        .map_err(|e| Error::Config(e.to_string()))?;
    conn.set_buffer_limit(Some(BUFFER_LIMIT));
    Ok(TlsClient { conn, verifier })
}

impl TlsClient {
    /// The guest's error for `e`.
    fn error(&self, e: &TlsError) -> Error {
        let refused = self.verifier.refused.lock().map(|r| r.clone());
        errors::error(e, refused.ok().flatten())
    }
}

/// How many TLS connections the instance holds: this capability's part
/// of the instance.
#[derive(Default)]
struct Clients(usize);

impl bindings::Host for RequestCtx {
    async fn connect(
        &mut self,
        config: Config,
    ) -> wasmtime::Result<Result<Resource<TlsClient>, Error>> {
        if self.state.get_or_default::<Clients>().0 >= MAX_CLIENTS {
            return Ok(Err(Error::Config(format!(
                "too many TLS connections (an instance holds at most {MAX_CLIENTS})"
            ))));
        }
        match connect(config) {
            Ok(client) => {
                self.state.get_or_default::<Clients>().0 += 1;
                Ok(Ok(self.table.push(client)?))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    async fn decode_certificate(
        &mut self,
        der: Vec<u8>,
    ) -> wasmtime::Result<Result<Certificate, String>> {
        Ok(certificate::decode(&der))
    }
}

impl bindings::HostClient for RequestCtx {
    async fn receive(
        &mut self,
        client: Resource<TlsClient>,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let client = self.table.get_mut(&client)?;
        let mut taken = 0;
        while taken < data.len() {
            let mut rest = &data[taken..];
            match client.conn.read_tls(&mut rest) {
                Ok(0) => break,
                Ok(n) => taken += n,
                // Its plaintext buffer is full: the guest reads, then gives the rest.
                Err(_) => break,
            }
            if let Err(e) = client.conn.process_new_packets() {
                return Ok(Err(client.error(&e)));
            }
        }
        Ok(Ok(u32::try_from(taken).unwrap_or(u32::MAX)))
    }

    async fn transmit(&mut self, client: Resource<TlsClient>) -> wasmtime::Result<Vec<u8>> {
        let client = self.table.get_mut(&client)?;
        let mut out = Vec::new();
        while client.conn.wants_write() {
            if client.conn.write_tls(&mut out).is_err() {
                break;
            }
        }
        Ok(out)
    }

    async fn read(
        &mut self,
        client: Resource<TlsClient>,
        max: u32,
    ) -> wasmtime::Result<Option<Vec<u8>>> {
        let client = self.table.get_mut(&client)?;
        let mut buf = vec![0; (max as usize).min(1 << 20)];
        match client.conn.reader().read(&mut buf) {
            Ok(0) if !buf.is_empty() => Ok(None),
            Ok(n) => {
                buf.truncate(n);
                Ok(Some(buf))
            }
            // Nothing yet (WouldBlock), or the peer went without a close
            // (the guest sees its socket's end and says so).
            Err(_) => Ok(Some(Vec::new())),
        }
    }

    async fn write(
        &mut self,
        client: Resource<TlsClient>,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let client = self.table.get_mut(&client)?;
        match client.conn.writer().write(&data) {
            Ok(n) => Ok(Ok(u32::try_from(n).unwrap_or(u32::MAX))),
            Err(e) => Ok(Err(Error::Protocol(("BAD_WRITE".into(), e.to_string())))),
        }
    }

    async fn handshaking(&mut self, client: Resource<TlsClient>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&client)?.conn.is_handshaking())
    }

    async fn close(&mut self, client: Resource<TlsClient>) -> wasmtime::Result<()> {
        self.table.get_mut(&client)?.conn.send_close_notify();
        Ok(())
    }

    async fn session(&mut self, client: Resource<TlsClient>) -> wasmtime::Result<Option<Session>> {
        let conn = &self.table.get(&client)?.conn;
        if conn.is_handshaking() {
            return Ok(None);
        }
        let (Some(version), Some(suite)) =
            (conn.protocol_version(), conn.negotiated_cipher_suite())
        else {
            return Ok(None);
        };
        let (cipher, cipher_bits) = errors::cipher_name(suite.suite());
        Ok(Some(Session {
            version: match version {
                rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
                _ => "TLSv1.2".into(),
            },
            cipher,
            cipher_bits,
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            peer_certificates: (conn.peer_certificates().unwrap_or_default())
                .iter()
                .map(|c| c.to_vec())
                .collect(),
        }))
    }

    async fn drop(&mut self, client: Resource<TlsClient>) -> wasmtime::Result<()> {
        self.table.delete(client)?;
        let clients = self.state.get_or_default::<Clients>();
        clients.0 = clients.0.saturating_sub(1);
        Ok(())
    }
}
