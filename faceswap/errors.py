"""The one exception type for mistakes a user can fix."""


class FaceswapError(Exception):
    """A problem caused by the user's input, with a message that names the
    file and the fix. The CLI prints it as one line and exits non-zero."""
