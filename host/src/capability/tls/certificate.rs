//! A certificate's fields as CPython's `_ssl` decodes them for
//! `getpeercert()`: OpenSSL's long attribute names, its time format, its
//! way of writing a serial number and an IPv6 address.

use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::{X509Name, parse_x509_certificate};

use super::bindings::Certificate;

/// The fields of the DER certificate `der`.
pub(super) fn decode(der: &[u8]) -> Result<Certificate, String> {
    let (_, cert) =
        parse_x509_certificate(der).map_err(|e| format!("cannot decode the certificate: {e}"))?;
    let mut decoded = Certificate {
        subject: names(cert.subject()),
        issuer: names(cert.issuer()),
        version: cert.version().0 + 1,
        serial_number: serial(cert.tbs_certificate.raw_serial()),
        not_before: time(cert.validity().not_before.timestamp()),
        not_after: time(cert.validity().not_after.timestamp()),
        subject_alt_name: Vec::new(),
        ocsp: Vec::new(),
        ca_issuers: Vec::new(),
        crl_distribution_points: Vec::new(),
    };
    for extension in cert.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                decoded.subject_alt_name = san.general_names.iter().map(general_name).collect();
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for access in &aia.accessdescs {
                    let GeneralName::URI(uri) = access.access_location else {
                        continue;
                    };
                    match access.access_method.to_id_string().as_str() {
                        "1.3.6.1.5.5.7.48.1" => decoded.ocsp.push(uri.to_string()),
                        "1.3.6.1.5.5.7.48.2" => decoded.ca_issuers.push(uri.to_string()),
                        _ => {}
                    }
                }
            }
            ParsedExtension::CRLDistributionPoints(points) => {
                for point in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &point.distribution_point
                    {
                        for name in names {
                            if let GeneralName::URI(uri) = name {
                                decoded.crl_distribution_points.push(uri.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(decoded)
}

/// When the DER certificate `der` starts and stops being valid (Unix
/// seconds).
pub(super) fn validity(der: &[u8]) -> Option<(i64, i64)> {
    let (_, cert) = parse_x509_certificate(der).ok()?;
    let validity = cert.validity();
    Some((
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    ))
}

/// A name's relative distinguished names, each a list of (attribute,
/// value).
fn names(name: &X509Name<'_>) -> Vec<Vec<(String, String)>> {
    name.iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let value = match attr.as_str() {
                        Ok(s) => s.to_string(),
                        Err(_) => String::from_utf8_lossy(attr.as_slice()).into_owned(),
                    };
                    (long_name(&attr.attr_type().to_id_string()), value)
                })
                .collect()
        })
        .collect()
}

/// OpenSSL's long name of an attribute type, or its dotted OID.
fn long_name(oid: &str) -> String {
    let name = match oid {
        "2.5.4.3" => "commonName",
        "2.5.4.4" => "surname",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "countryName",
        "2.5.4.7" => "localityName",
        "2.5.4.8" => "stateOrProvinceName",
        "2.5.4.9" => "streetAddress",
        "2.5.4.10" => "organizationName",
        "2.5.4.11" => "organizationalUnitName",
        "2.5.4.12" => "title",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.42" => "givenName",
        "2.5.4.43" => "initials",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.1" => "userId",
        "0.9.2342.19200300.100.1.25" => "domainComponent",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionCountryName",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionStateOrProvinceName",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionLocalityName",
        other => other,
    };
    name.to_string()
}

/// A subject alternative name as `_ssl` gives it.
fn general_name(name: &GeneralName<'_>) -> (String, String) {
    let (kind, value) = match name {
        GeneralName::DNSName(s) => ("DNS", s.to_string()),
        GeneralName::RFC822Name(s) => ("email", s.to_string()),
        GeneralName::URI(s) => ("URI", s.to_string()),
        GeneralName::IPAddress(bytes) => ("IP Address", ip_address(bytes)),
        GeneralName::RegisteredID(oid) => ("Registered ID", oid.to_id_string()),
        GeneralName::DirectoryName(name) => ("DirName", name.to_string()),
        _ => ("othername", "<unsupported>".to_string()),
    };
    (kind.to_string(), value)
}

/// An IP address as OpenSSL prints it (IPv6: eight upper-case groups,
/// none left out).
fn ip_address(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => format!("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]),
        16 => {
            let groups: Vec<String> = bytes
                .chunks(2)
                .map(|g| format!("{:X}", u16::from_be_bytes([g[0], g[1]])))
                .collect();
            groups.join(":")
        }
        _ => "<invalid>".to_string(),
    }
}

/// A serial number as OpenSSL writes it: upper-case hex, two digits a byte.
fn serial(raw: &[u8]) -> String {
    let digits = match raw.iter().position(|&b| b != 0) {
        Some(first) => &raw[first..],
        None => &raw[raw.len().saturating_sub(1)..],
    };
    let hex: String = digits.iter().map(|b| format!("{b:02X}")).collect();
    if hex.is_empty() { "00".into() } else { hex }
}

/// A time as OpenSSL prints it: `Mar  5 12:00:00 2026 GMT`.
fn time(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|t| t.format("%b %e %H:%M:%S %Y GMT").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_written_as_openssl_writes_them() {
        assert_eq!(time(1_772_712_000), "Mar  5 12:00:00 2026 GMT");
        assert_eq!(serial(&[0, 0x12, 0xab]), "12AB");
        assert_eq!(serial(&[0]), "00");
        assert_eq!(ip_address(&[127, 0, 0, 1]), "127.0.0.1");
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[1] = 0x01;
        v6[15] = 1;
        assert_eq!(ip_address(&v6), "2001:0:0:0:0:0:0:1");
        assert_eq!(long_name("2.5.4.3"), "commonName");
        assert_eq!(long_name("1.2.3"), "1.2.3");
    }
}
