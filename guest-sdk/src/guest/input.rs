use super::__private::{WitInputStream, from_wit};

/// Where `wsgi.input`'s bytes come from: the host's `input-stream`, or a
/// `wasi:http` request body read inside the guest.
pub(crate) trait InputSource {
    /// Up to `size` bytes (all that is left when `None`); empty at the end.
    fn read(&mut self, size: Option<u64>) -> crate::Result<Vec<u8>>;
    /// One line including its `\n`, at most `size` bytes; empty at the end.
    fn readline(&mut self, size: Option<u64>) -> crate::Result<Vec<u8>>;
}

impl InputSource for WitInputStream {
    fn read(&mut self, size: Option<u64>) -> crate::Result<Vec<u8>> {
        WitInputStream::read(self, size).map_err(from_wit)
    }

    fn readline(&mut self, size: Option<u64>) -> crate::Result<Vec<u8>> {
        WitInputStream::readline(self, size).map_err(from_wit)
    }
}

/// How much [`std::io::BufRead`] asks the host for at a time.
const BUF_SIZE: u64 = 8192;

/// `wsgi.input`: the request body, bounded by `CONTENT_LENGTH` and
/// de-chunked by the host, so reading to the end is always safe.
///
/// The WSGI methods ([`read`](Input::read), [`readline`](Input::readline),
/// [`readlines`](Input::readlines), iteration over lines) sit beside
/// `std::io::Read` and `std::io::BufRead`, so `read_to_end`, `read_exact`
/// and `lines()` work too. Both views share one buffer.
pub struct Input {
    stream: Box<dyn InputSource>,
    buf: Vec<u8>,
    pos: usize,
}

impl Input {
    pub(crate) fn new(stream: impl InputSource + 'static) -> Self {
        Input {
            stream: Box::new(stream),
            buf: Vec::new(),
            pos: 0,
        }
    }

    fn take_buffered(&mut self, max: usize) -> Vec<u8> {
        let end = self.pos + max.min(self.buf.len() - self.pos);
        let out = self.buf[self.pos..end].to_vec();
        self.pos = end;
        out
    }

    /// `read(size)`: `size` bytes, fewer only at the end of the body; the
    /// whole rest when `size` is `None`. Empty at the end.
    pub fn read(&mut self, size: Option<usize>) -> crate::Result<Vec<u8>> {
        let mut out = self.take_buffered(size.unwrap_or(usize::MAX));
        let want = size.map(|n| (n - out.len()) as u64);
        if want != Some(0) {
            out.extend(self.stream.read(want)?);
        }
        Ok(out)
    }

    /// `readline(size)`: one line including its `\n` (at most `size` bytes);
    /// empty at the end.
    pub fn readline(&mut self, size: Option<usize>) -> crate::Result<Vec<u8>> {
        let limit = size.unwrap_or(usize::MAX);
        let pending = &self.buf[self.pos..];
        if let Some(i) = pending.iter().position(|&b| b == b'\n') {
            return Ok(self.take_buffered((i + 1).min(limit)));
        }
        let mut out = self.take_buffered(limit);
        if out.len() < limit {
            let rest = size.map(|n| (n - out.len()) as u64);
            out.extend(self.stream.readline(rest)?);
        }
        Ok(out)
    }

    /// `readlines(hint)`: the remaining lines, stopping once they total
    /// `hint` bytes or more.
    pub fn readlines(&mut self, hint: Option<usize>) -> crate::Result<Vec<Vec<u8>>> {
        let mut lines = Vec::new();
        let mut total = 0usize;
        loop {
            let line = self.readline(None)?;
            if line.is_empty() {
                break;
            }
            total += line.len();
            lines.push(line);
            if hint.is_some_and(|h| h > 0 && total >= h) {
                break;
            }
        }
        Ok(lines)
    }
}

impl std::io::Read for Input {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = std::io::BufRead::fill_buf(self)?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl std::io::BufRead for Input {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos >= self.buf.len() {
            self.buf = self
                .stream
                .read(Some(BUF_SIZE))
                .map_err(std::io::Error::other)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.buf.len());
    }
}

/// Iterating `wsgi.input` yields its lines (`for line in environ['wsgi.input']`).
impl Iterator for Input {
    type Item = crate::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.readline(None) {
            Ok(line) if line.is_empty() => None,
            other => Some(other),
        }
    }
}
