"""The one exception type the library raises for problems a user can fix.

The CLI catches it and prints its message as a single line on stderr, so every message must name
the file or setting at fault and say what is wrong with it.
"""


class MnistganWarning(UserWarning):
    """Something the user should know that does not stop the command (a damaged cache file
    trained again, say). Library code warns with it; the CLI prints each as one line."""


class MnistganError(Exception):
    """A problem with the user's input, files or environment, described in one line."""


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM, raised where the command stands: cleanup (`finally`, staged writes)
    runs on the way out. A BaseException, so no `except Exception` swallows it, and not a
    KeyboardInterrupt, which Typer would turn into a silent exit."""
