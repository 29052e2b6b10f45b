"""Runnable entry points: ``python -m experiments.NAME``.

Ctrl-C while a command imports what it needs (a second or two) ends it with one line and
exit status 130, as Ctrl-C during its work does (``simstudy.cli.args.run_cli``, which
puts Python's own KeyboardInterrupt back once the imports are done). Nothing has been
written yet, so the process ends at once; a shell that ignores SIGINT keeps it ignored.
"""

import os
import signal
import sys

if sys.argv[:1] == ["-m"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, lambda *_: sys.stderr.write("interrupted\n") and os._exit(130))
