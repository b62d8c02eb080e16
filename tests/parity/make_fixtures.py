#!/usr/bin/python3
"""Regenerates every golden fixture under tests/data/parity from PyTorch 1.13.

Run with Debian's PyTorch (apt-get install python3-torch python3-torchvision):
    /usr/bin/python3 tests/parity/make_fixtures.py [family ...]
The test suite only reads the committed fixtures; it never needs PyTorch.
Each family lives in fixtures_<family>.py and exposes generate().
"""

import importlib
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def families():
    return sorted(f[len("fixtures_"):-3] for f in os.listdir(HERE)
                  if f.startswith("fixtures_") and f.endswith(".py"))


def main(argv):
    if not torch.__version__.startswith("1.13"):
        sys.exit("make_fixtures.py: needs PyTorch 1.13 (found %s)" % torch.__version__)
    torch.backends.quantized.engine = "qnnpack"
    wanted = argv or families()
    unknown = sorted(set(wanted) - set(families()))
    if unknown:
        sys.exit("make_fixtures.py: unknown families %s (have %s)" % (unknown, families()))
    for family in wanted:
        module = importlib.import_module("fixtures_" + family)
        count = module.generate()
        print("%-14s %4d cases" % (family, count))


if __name__ == "__main__":
    main(sys.argv[1:])
