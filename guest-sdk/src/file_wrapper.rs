//! `wsgiref.util.FileWrapper`: a file-like object as a response iterable.

use std::io::Read;

/// The default block size, as wsgiref's.
pub const DEFAULT_BLKSIZE: usize = 8192;

/// Turns a reader into an iterator of blocks of at most `blksize` bytes.
///
/// Each step reads up to `blksize` bytes (fewer only at the end of the
/// data); iteration stops at the first empty read. As in wsgiref there is
/// no "exhausted" latch: asking again reads again, and yields data if the
/// file has grown. [`close`](FileWrapper::close) drops the reader, which
/// closes a file.
///
/// As a response body, hand it to `Body::from` (the guest streams it), or
/// better, for a file opened with `wasgi::fs::File::open`, to
/// `environ.wrap_file(file, blksize)`, which lets the host send the file
/// itself.
pub struct FileWrapper<R> {
    filelike: Option<R>,
    blksize: usize,
}

impl<R: Read> FileWrapper<R> {
    /// `FileWrapper(filelike, blksize)`.
    pub fn new(filelike: R, blksize: usize) -> Self {
        FileWrapper {
            filelike: Some(filelike),
            blksize: blksize.max(1),
        }
    }

    /// `FileWrapper(filelike)` with the default block size of 8192.
    pub fn with_default_blksize(filelike: R) -> Self {
        FileWrapper::new(filelike, DEFAULT_BLKSIZE)
    }

    /// The block size.
    pub fn blksize(&self) -> usize {
        self.blksize
    }

    /// The wrapped reader, until the wrapper is closed.
    pub fn filelike(&mut self) -> Option<&mut R> {
        self.filelike.as_mut()
    }

    /// Gives the reader back (`None` once closed).
    pub fn into_inner(self) -> Option<R> {
        self.filelike
    }

    /// `close()`: drops (closes) the reader. Later reads yield nothing.
    pub fn close(&mut self) {
        self.filelike = None;
    }
}

impl<R: Read> Iterator for FileWrapper<R> {
    type Item = std::io::Result<Vec<u8>>;

    /// `filelike.read(blksize)`: a block, or `None` at an empty read.
    fn next(&mut self) -> Option<Self::Item> {
        let reader = self.filelike.as_mut()?;
        let mut block = Vec::with_capacity(self.blksize);
        match reader
            .by_ref()
            .take(self.blksize as u64)
            .read_to_end(&mut block)
        {
            Ok(0) => None,
            Ok(_) => Some(Ok(block)),
            Err(e) => Some(Err(e)),
        }
    }
}
