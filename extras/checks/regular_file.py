"""Opening a file minicls reads (a checkpoint, an ann_file, a classes file, an image), which
may be untrusted: only a regular file is read. A FIFO planted at its name would hang a plain
open() (and a read of a device or socket may never end), so the file is opened without
blocking and checked with fstat before a byte is read (mmcv's open() checks nothing).
"""
import errno
import os
import stat


class NotRegularFile(OSError):
    """A FIFO, socket or device where a file was expected."""


def open_regular(path, mode='rb', **kwargs):
    """`path` opened for reading (`mode` and `kwargs` as open()'s) if it is a regular file.
    A folder is an IsADirectoryError, a FIFO, socket or device a NotRegularFile, both
    OSErrors with a strerror, so a caller's `except OSError` names them as it names others."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        kind = os.fstat(fd).st_mode
        if stat.S_ISDIR(kind):
            raise IsADirectoryError(errno.EISDIR, 'is a directory, not a file', path)
        if not stat.S_ISREG(kind):
            raise NotRegularFile(errno.EINVAL, 'not a regular file (a FIFO, socket or device)',
                                 path)
        os.set_blocking(fd, True)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise
