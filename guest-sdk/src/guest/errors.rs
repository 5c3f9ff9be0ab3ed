use std::rc::Rc;

use super::__private::WitErrorStream;

/// Where `wsgi.errors` writes: the host's `error-stream`, or the guest's
/// stderr when it serves `wasi:http`.
pub(crate) trait ErrorSink {
    fn write(&self, s: &str);
    fn writelines(&self, lines: &[String]) {
        for line in lines {
            self.write(line);
        }
    }
    fn flush(&self);
}

impl ErrorSink for WitErrorStream {
    fn write(&self, s: &str) {
        WitErrorStream::write(self, s);
    }

    fn writelines(&self, lines: &[String]) {
        WitErrorStream::writelines(self, lines);
    }

    fn flush(&self) {
        WitErrorStream::flush(self);
    }
}

/// `wsgi.errors`: a text stream into the server's error log.
///
/// Cloning gives another handle to the same stream, so a body can keep one.
#[derive(Clone)]
pub struct Errors(Rc<dyn ErrorSink>);

impl Errors {
    pub(crate) fn new(stream: impl ErrorSink + 'static) -> Self {
        Errors(Rc::new(stream))
    }

    /// `write(s)`: writes text; no newline is added.
    pub fn write(&self, s: &str) {
        self.0.write(s);
    }

    /// `writelines(lines)`: writes each string in turn.
    pub fn writelines<I, S>(&self, lines: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let lines: Vec<String> = lines.into_iter().map(Into::into).collect();
        self.0.writelines(&lines);
    }

    /// `flush()`.
    pub fn flush(&self) {
        self.0.flush();
    }
}

/// Bytes written through `std::io::Write` are decoded as UTF-8 (invalid
/// sequences replaced), since `wsgi.errors` is a text stream.
impl std::io::Write for Errors {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush();
        Ok(())
    }
}

impl std::fmt::Write for Errors {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write(s);
        Ok(())
    }
}
