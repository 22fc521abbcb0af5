"""The one exception type for mistakes a user can fix."""

import errno


class FaceswapError(Exception):
    """A problem caused by the user's input, with a message that names the
    file and the fix. The CLI prints it as one line and exits non-zero."""


def os_error_line(e: OSError, path: object = None) -> str:
    """One line for an operating-system error on a user's path: the path (the
    error's own, else `path`), the problem and what usually fixes it."""
    path = e.filename if e.filename is not None else (path or "")
    if getattr(e, "filename2", None):
        path = f"{path} -> {e.filename2}"
    problem = e.strerror or str(e) or type(e).__name__
    hint = {
        errno.EACCES: "check the permissions of that path or choose another one",
        errno.EPERM: "check the permissions of that path or choose another one",
        errno.EROFS: "the file system is read-only; choose another path",
        errno.ENOTDIR: "a part of that path is a file, not a folder; choose another path",
        errno.EISDIR: "that path is a folder; give a file path",
        errno.ENOSPC: "the disk is full; free space or choose another disk",
        errno.EEXIST: "something is already there; choose another path",
        errno.ENOENT: "check the path",
    }.get(e.errno or -1, "")
    text = f"{path}: {problem}" if path else problem
    return f"{text}; {hint}" if hint else text


def user_os_error(e: OSError, path: object) -> FaceswapError:
    """The FaceswapError to raise for an OS error met while writing `path`."""
    return FaceswapError(os_error_line(e, path))
