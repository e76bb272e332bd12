"""Exit codes of the ``plenary`` command, shared by the CLI and the commands it dispatches to.

0: done; 1: the thing checked is not OK (tampering found, a receipt that does not match, an export that
failed); 2: bad usage or configuration (a user's mistake, said in one line).
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
