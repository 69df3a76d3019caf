"""The logger of a run (mmcls: get_root_logger; mmcv: utils/logging.py get_logger): the
console and the work dir's `<timestamp>.log`, both in mmcv's line format. train.py's main
calls `setup_logger` on every run. Not mmcv's: the log file is never opened through a link
planted at its name, and a full disk stops the run with the file's name (logging would print
a traceback and go on without the log); training does not care where stdout goes (closed,
or a pipe whose reader left: the console's lines end there, the .log keeps them all); what a
message quotes from a file is escaped (`escape`: train.py's cli prints its errors through it).
"""
import contextlib
import errno
import logging
import os
import sys


def setup_console():
    """stdout and stderr as a run needs them (train.py's cli, first): a path that is not UTF-8
    prints (backslashreplace); a closed one (`>&-`) becomes /dev/null, which also takes its
    file descriptor, so that no file opened later is written as stdout."""
    for name in ('stdout', 'stderr'):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, 'w'))
        getattr(sys, name).reconfigure(errors='backslashreplace')


def setup_logger(logger, log_file, level, rank=0):
    """Console + the work dir's <timestamp>.log on rank 0; other ranks print only errors."""
    logger.setLevel(level if rank == 0 else 'ERROR')
    for handler in logger.handlers:    # an earlier run in this process (a notebook, tests)
        with contextlib.suppress(OSError):     # its log may be on a full disk
            handler.close()
    logger.handlers.clear()
    logger.propagate = False
    fmt = EscapingFormatter('%(asctime)s - %(name)s - %(levelname)s - %(message)s')
    handlers = [ConsoleHandler(sys.stdout)]
    if rank == 0:
        handlers.append(NoFollowFileHandler(log_file))
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)


def open_no_follow(path):
    """`path` opened for appending text; a link planted at its name is not followed
    (O_NOFOLLOW). Both logs are written through it: the .log (NoFollowFileHandler) and the
    .log.json (hooks.py: TextLoggerHook)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
    return os.fdopen(os.open(path, flags, 0o666), 'a', encoding='utf-8', errors='backslashreplace')


def escape(text, keep=''):
    """`text` with its non-printable characters (but those in `keep`) as repr writes them: a
    message that quotes a file cannot clear the terminal (ESC[2J) or forge a line (newline)."""
    if text.isprintable():
        return text
    return ''.join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


class EscapingFormatter(logging.Formatter):
    """mmcv's line format, with what a message quotes escaped (a newline stays: env info and
    the hook table are lines on purpose; where a message quotes a file, it quotes with repr)."""

    def formatMessage(self, record):
        return escape(super().formatMessage(record), keep='\n\t')


class NoFollowFileHandler(logging.FileHandler):
    def _open(self):                   # a link planted at the log's name is not followed
        return open_no_follow(self.baseFilename)

    def handleError(self, record):     # a full disk: stop, naming the file (logging would
        error = sys.exc_info()[1]      # print a traceback and go on without the log)
        if not isinstance(error, OSError):
            return super().handleError(record)
        raise OSError(error.errno, f'{self.baseFilename} cannot be written: {error.strerror}')


class ConsoleHandler(logging.StreamHandler):
    """The console. A reader that left (`| head -1`: EPIPE) or a closed descriptor (EBADF)
    ends its lines, not the run: the descriptor is pointed at /dev/null, so this and every
    later write (print, the flush at exit) succeeds without a word."""

    def handleError(self, record):
        error = sys.exc_info()[1]
        if not (isinstance(error, OSError) and error.errno in (errno.EPIPE, errno.EBADF)):
            return super().handleError(record)
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self.stream.fileno())
            os.close(null)
