"""Writing golden fixtures for the C++ tests.

A fixture case is a directory tests/data/parity/<family>/<case>/ holding
`params.txt` and one .npy file per array. params.txt has one `key value...`
line per parameter; floats are written in C99 hex notation (float.hex) so the
C++ side reads back the exact float32 value.
"""

import os
import shutil

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "parity")


def _fmt(value):
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return float(np.float32(value)).hex()
    if isinstance(value, str):
        if not value or any(c.isspace() for c in value):
            raise ValueError("string parameters must be one non-empty word: %r" % value)
        return value
    raise TypeError("unsupported parameter type %r" % type(value))


def reset_family(family):
    """Removes a family's old cases so renamed cases leave nothing behind."""
    path = os.path.join(ROOT, family)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def save_case(family, case, arrays, params):
    """arrays: name -> np.ndarray (C order, any dtype the C++ npy reader takes;
    0-d arrays are stored with shape (1,));
    params: name -> scalar, string, or list of scalars."""
    path = os.path.join(ROOT, family, case)
    os.makedirs(path, exist_ok=True)
    for name, array in arrays.items():
        array = np.asarray(array)
        # 0-d arrays are stored with shape (1,), as the committed fixtures
        # and the C++ readers expect (numpy versions differ here).
        np.save(os.path.join(path, name + ".npy"),
                np.require(array.reshape(1) if array.ndim == 0 else array, requirements="C"))
    with open(os.path.join(path, "params.txt"), "w") as f:
        for key, value in sorted(params.items()):
            values = value if isinstance(value, (list, tuple, np.ndarray)) else [value]
            f.write(key + " " + " ".join(_fmt(v) for v in values) + "\n")
