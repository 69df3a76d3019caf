"""The logger of a run (mmcls: get_root_logger; mmcv: utils/logging.py get_logger): the
console and the work dir's `<timestamp>.log`, both in mmcv's line format. train.py's main
calls `setup_logger` on every run. Not mmcv's: the log file is never opened through a link
planted at its name, and a full disk stops the run with the file's name (logging would print
a traceback and go on without the log).
"""
import contextlib
import logging
import sys

from checkpoint import open_no_follow


def setup_logger(logger, log_file, level, rank=0):
    """Console + the work dir's <timestamp>.log on rank 0; other ranks print only errors."""
    logger.setLevel(level if rank == 0 else 'ERROR')
    for handler in logger.handlers:    # an earlier run in this process (a notebook, tests)
        with contextlib.suppress(OSError):     # its log may be on a full disk
            handler.close()
    logger.handlers.clear()
    logger.propagate = False
    fmt = logging.Formatter('%(asctime)s - %(name)s - %(levelname)s - %(message)s')
    handlers = [logging.StreamHandler(sys.stdout)]
    if rank == 0:
        handlers.append(NoFollowFileHandler(log_file))
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)


class NoFollowFileHandler(logging.FileHandler):
    def _open(self):                   # a link planted at the log's name is not followed
        return open_no_follow(self.baseFilename)

    def handleError(self, record):     # a full disk: stop, naming the file (logging would
        error = sys.exc_info()[1]      # print a traceback and go on without the log)
        if not isinstance(error, OSError):
            return super().handleError(record)
        raise OSError(error.errno, f'{self.baseFilename} cannot be written: {error.strerror}')
