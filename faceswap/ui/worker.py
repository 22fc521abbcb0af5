"""Runs one library call in its own process for the page's job runner.

    python -m faceswap.ui.worker '{"task": "train", "kwargs": {...}}'

The call is one of the functions the command line uses (TASKS). Progress
bars go to stderr as usual, where the runner reads them; the result goes to
stdout as one `RESULT <json>` line. A FaceswapError becomes the CLI's one-line
message; Ctrl-C or SIGTERM stop the call the way they stop the CLI (train
saves a checkpoint first).
"""

from __future__ import annotations

import json
import signal
import sys
import traceback

TASKS = {
    "extract": ("faceswap.extract", "extract"),
    "train": ("faceswap.train", "train"),
    "convert": ("faceswap.convert", "convert"),
    "evaluate": ("faceswap.evaluate", "evaluate"),
    "demo": ("faceswap.demo", "demo"),
}
RESULT_PREFIX = "RESULT "
ERROR_PREFIX = "faceswap: error: "


def _describe(task: str, result) -> dict:
    """What the page shows of a call's result: plain JSON."""
    if task == "evaluate":
        return {"text": result.table(), "figures": result.to_dict()}
    if task == "train":
        return {"text": result.describe(), "interrupted": bool(result.interrupted)}
    if task == "demo":
        return {"text": f"done in {result.seconds:.0f} s", "swapped": str(result.swapped),
                "picture": str(result.picture)}
    return {"text": str(result)}


def main(argv: list[str]) -> int:
    from faceswap.errors import FaceswapError

    # A server started under nohup or with `&` hands its children SIGINT ignored; Stop
    # sends SIGTERM. Both become the KeyboardInterrupt that makes train save and return.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    spec = json.loads(argv[0])
    task = spec["task"]
    module, name = TASKS[task]
    try:
        import importlib

        fn = getattr(importlib.import_module(module), name)
        result = fn(**spec.get("kwargs", {}))
        print(RESULT_PREFIX + json.dumps(_describe(task, result)), flush=True)
        return 0
    except FaceswapError as e:
        print(ERROR_PREFIX + str(e).replace("\n", " "), file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print(ERROR_PREFIX + "stopped", file=sys.stderr, flush=True)
        return 130
    except Exception as e:  # noqa: BLE001 - the server log gets the traceback, the page one line
        traceback.print_exc()
        print(ERROR_PREFIX + f"{type(e).__name__}: {e}".replace("\n", " "), file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
