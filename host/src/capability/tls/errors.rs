//! rustls's errors in OpenSSL's words, which Python code and its users
//! know (`[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed:
//! self-signed certificate`), and OpenSSL's names for the cipher suites.

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{AlertDescription, CertificateError, CipherSuite, Error as TlsError};

use super::bindings::Error;

/// OpenSSL's verify code and message for a refused certificate.
pub(super) fn refusal(
    e: &CertificateError,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
) -> (i32, String) {
    // webpki refuses a CA certificate presented as the server's own (what
    // `openssl req -x509` makes) before it looks for its issuer; OpenSSL
    // words it as a certificate it does not trust.
    let ca_as_leaf = matches!(e, CertificateError::Other(other)
        if matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity)));
    let (code, message) = match e {
        _ if ca_as_leaf => match self_signed(end_entity) {
            true => (18, "self-signed certificate"),
            false => (20, "unable to get local issuer certificate"),
        },
        CertificateError::UnknownIssuer => {
            let last = intermediates.last().unwrap_or(end_entity);
            match (self_signed(last), intermediates.is_empty()) {
                (true, true) => (18, "self-signed certificate"),
                (true, false) => (19, "self-signed certificate in certificate chain"),
                _ => (20, "unable to get local issuer certificate"),
            }
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            (10, "certificate has expired")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            (9, "certificate is not yet valid")
        }
        CertificateError::Revoked => (23, "certificate revoked"),
        CertificateError::BadSignature => (7, "certificate signature failure"),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            (26, "unsupported certificate purpose")
        }
        CertificateError::UnhandledCriticalExtension => (34, "unhandled critical extension"),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            // CPython's own wording for these two.
            return match server_name {
                ServerName::IpAddress(ip) => (
                    64,
                    format!(
                        "IP address mismatch, certificate is not valid for '{}'.",
                        std::net::IpAddr::from(*ip)
                    ),
                ),
                name => (
                    62,
                    format!(
                        "Hostname mismatch, certificate is not valid for '{}'.",
                        name.to_str()
                    ),
                ),
            };
        }
        other => {
            return (
                1,
                format!("unspecified certificate verification error ({other})"),
            );
        }
    };
    (code, message.to_string())
}

/// Whether the DER certificate `der` names itself as its issuer.
fn self_signed(der: &CertificateDer<'_>) -> bool {
    x509_parser::parse_x509_certificate(der)
        .is_ok_and(|(_, c)| c.subject().as_raw() == c.issuer().as_raw())
}

/// The guest's error for `e`; `refused` is the verifier's reason, when
/// it refused the certificate.
pub(super) fn error(e: &TlsError, refused: Option<(i32, String)>) -> Error {
    let protocol = |reason: &str, message: &str| Error::Protocol((reason.into(), message.into()));
    match e {
        TlsError::InvalidCertificate(c) => Error::Certificate(refused.unwrap_or_else(|| {
            (
                1,
                format!("unspecified certificate verification error ({c})"),
            )
        })),
        TlsError::AlertReceived(alert) => {
            let (reason, message) = alert_words(*alert);
            Error::Protocol((reason, message))
        }
        TlsError::InvalidMessage(_) | TlsError::InappropriateMessage { .. } => {
            // What a server that does not speak TLS there answers.
            protocol("WRONG_VERSION_NUMBER", "wrong version number")
        }
        TlsError::PeerIncompatible(p) => {
            protocol("HANDSHAKE_FAILURE", &format!("handshake failure ({p:?})"))
        }
        TlsError::NoCertificatesPresented => protocol(
            "PEER_DID_NOT_RETURN_A_CERTIFICATE",
            "peer did not return a certificate",
        ),
        TlsError::DecryptError => protocol(
            "DECRYPTION_FAILED_OR_BAD_RECORD_MAC",
            "decryption failed or bad record mac",
        ),
        other => protocol("UNEXPECTED_MESSAGE", &other.to_string()),
    }
}

/// OpenSSL's reason and message for an alert from the peer
/// (`TLSV1_ALERT_PROTOCOL_VERSION`, `tlsv1 alert protocol version`).
fn alert_words(alert: AlertDescription) -> (String, String) {
    let name = match alert {
        AlertDescription::HandshakeFailure => {
            return (
                "SSLV3_ALERT_HANDSHAKE_FAILURE".into(),
                "sslv3 alert handshake failure".into(),
            );
        }
        AlertDescription::BadCertificate => {
            return (
                "SSLV3_ALERT_BAD_CERTIFICATE".into(),
                "sslv3 alert bad certificate".into(),
            );
        }
        AlertDescription::CertificateRequired => {
            return (
                "TLSV13_ALERT_CERTIFICATE_REQUIRED".into(),
                "tlsv13 alert certificate required".into(),
            );
        }
        AlertDescription::ProtocolVersion => "protocol version",
        AlertDescription::UnknownCA => "unknown ca",
        AlertDescription::AccessDenied => "access denied",
        AlertDescription::InternalError => "internal error",
        AlertDescription::DecodeError => "decode error",
        AlertDescription::DecryptError => "decrypt error",
        AlertDescription::UnrecognisedName => "unrecognized name",
        AlertDescription::NoApplicationProtocol => "no application protocol",
        AlertDescription::InsufficientSecurity => "insufficient security",
        AlertDescription::IllegalParameter => "illegal parameter",
        other => {
            return (
                format!("TLSV1_ALERT_{}", snake(&format!("{other:?}"))),
                format!("tlsv1 alert {other:?}"),
            );
        }
    };
    (
        format!("TLSV1_ALERT_{}", name.to_uppercase().replace(' ', "_")),
        format!("tlsv1 alert {name}"),
    )
}

/// `UnknownPskIdentity` as `UNKNOWN_PSK_IDENTITY`.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// OpenSSL's name of a suite and its secret bits.
pub(super) fn cipher_name(suite: CipherSuite) -> (String, u32) {
    let (name, bits) = match suite {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => ("TLS_AES_128_GCM_SHA256", 128),
        CipherSuite::TLS13_AES_256_GCM_SHA384 => ("TLS_AES_256_GCM_SHA384", 256),
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => ("TLS_CHACHA20_POLY1305_SHA256", 256),
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => {
            ("ECDHE-ECDSA-AES128-GCM-SHA256", 128)
        }
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => {
            ("ECDHE-ECDSA-AES256-GCM-SHA384", 256)
        }
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => {
            ("ECDHE-ECDSA-CHACHA20-POLY1305", 256)
        }
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => ("ECDHE-RSA-AES128-GCM-SHA256", 128),
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => ("ECDHE-RSA-AES256-GCM-SHA384", 256),
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => {
            ("ECDHE-RSA-CHACHA20-POLY1305", 256)
        }
        other => return (format!("{other:?}"), 128),
    };
    (name.into(), bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_read_as_openssl_writes_them() {
        assert_eq!(
            alert_words(AlertDescription::ProtocolVersion),
            (
                "TLSV1_ALERT_PROTOCOL_VERSION".into(),
                "tlsv1 alert protocol version".into()
            )
        );
        assert_eq!(
            alert_words(AlertDescription::UnknownCA).0,
            "TLSV1_ALERT_UNKNOWN_CA"
        );
        assert_eq!(snake("UnknownPskIdentity"), "UNKNOWN_PSK_IDENTITY");
    }
}
