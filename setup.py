"""Builds the compiled part of the Python reader (qemutrace._qemutrace) with
the project's CMake build, for the interpreter running pip. Metadata is in
pyproject.toml."""

import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        # QEMUTRACE_PIP_CMAKE_DIR keeps the CMake build between installs
        # (tests/python/pip_install.sh); by default it is setuptools' temp.
        build = os.environ.get("QEMUTRACE_PIP_CMAKE_DIR") or os.path.join(os.path.abspath(self.build_temp), "cmake")
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        subprocess.run(["cmake", "-S", ROOT, "-B", build, *generator, "-DCMAKE_BUILD_TYPE=Release",
                        "-DQEMUTRACE_PLUGIN=OFF", "-DQEMUTRACE_BENCH=OFF", "-DQEMUTRACE_PYTHON_TESTS=OFF",
                        "-DPython_EXECUTABLE=" + sys.executable], check=True)
        subprocess.run(["cmake", "--build", build, "--target", "_qemutrace", "-j", str(os.cpu_count() or 1)],
                       check=True)
        (built,) = glob.glob(os.path.join(build, "python", "qemutrace", "_qemutrace*.so"))
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built, target)


setup(ext_modules=[Extension("qemutrace._qemutrace", sources=[])], cmdclass={"build_ext": CMakeBuild})
