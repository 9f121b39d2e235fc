"""Finds numpy for the running interpreter.

numpy comes from the interpreter's own site-packages, or else from Debian's
python3-numpy (/usr/lib/python3/dist-packages) when that copy was built for
this interpreter's ABI: a second CPython of the same version (pyenv, a
venv without --system-site-packages) can load it. Nothing else is added to
sys.path, and only when numpy is otherwise missing.
"""

import glob
import os
import sys
import sysconfig

DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"


def _debian_numpy_fits():
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ""
    pattern = os.path.join(DEBIAN_DIST_PACKAGES, "numpy", "core", "_multiarray_umath*")
    return any(os.path.basename(p).endswith(suffix) for p in glob.glob(pattern)) if suffix else False


def import_numpy():
    try:
        import numpy
        return numpy
    except ImportError:
        pass
    if DEBIAN_DIST_PACKAGES not in sys.path and _debian_numpy_fits():
        sys.path.append(DEBIAN_DIST_PACKAGES)
        import numpy
        return numpy
    raise ImportError(
        "qemutrace needs numpy for %s (%s): install python3-numpy (Debian) or numpy (pip)"
        % (sys.executable, sys.version.split()[0]))
