"""Run one command and print its wall time and peak RSS as JSON: `python -m chipqa.evaluation.bench.measure_child
CMD ...`.

The bench process holds ~1.5 GB of models, and a child forked from it starts with all of that counted in its
ru_maxrss (Linux keeps the pre-exec high-water mark), so commands are started from this small interpreter.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL).returncode
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"code": code, "seconds": seconds, "peak_kb": peak_kb}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
