#!/usr/bin/env bash
# Puts mmcv 1.7.2 (pure Python, no compiled ops) and mmcls 0.25.0 in a folder of their own,
# for benchmarks/mmcv_reference.py only. They are not dependencies of minicls and never go
# into its venv: the benchmark finds them through PYTHONPATH.
#
#   bash benchmarks/mmcv_reference_setup.sh [/tmp/mmref]     # then, with the project's venv active:
#   PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python benchmarks/mmcv_reference.py
#
# mmcv 1.7.2's setup.py imports pkg_resources, which current setuptools no longer has, so
# the source tree from its sdist is used as it is (its Python code needs no build).
# The dependencies are the versions this was checked with (2026-11, Python 3.11, numpy 2.4).
set -euo pipefail
DEST=${1:-/tmp/mmref}
PYTHON=${PYTHON:-python}          # the project venv's python: the compiled deps must match it
if [ -z "${VIRTUAL_ENV:-}" ] && [ "$PYTHON" = python ]; then
    echo "activate the project's venv first (or set PYTHON=/path/to/its/python)" >&2; exit 2
fi
MMCV_SDIST=https://files.pythonhosted.org/packages/88/ef/862b968b07ae49c21e4d71984e5e9da887d24ab117e40980405b8e228d1d/mmcv-1.7.2.tar.gz
MMCV_SHA256=2116a1609f9d3f59824074774366fd8b9410437bc95a24d535669b35d55352be
MMCLS_SHA256=37127121dc0505bd7cac6736c8c220e56bbcdaa91994d6296463bf0ede0ab1b4

mkdir -p "$DEST/download" "$DEST/src"
curl -sSfL -o "$DEST/download/mmcv-1.7.2.tar.gz" "$MMCV_SDIST"
"$PYTHON" -m pip download -q --no-deps -d "$DEST/download" mmcls==0.25.0
sha256sum -c --quiet <<SUMS
$MMCV_SHA256  $DEST/download/mmcv-1.7.2.tar.gz
$MMCLS_SHA256  $DEST/download/mmcls-0.25.0-py2.py3-none-any.whl
SUMS
tar xzf "$DEST/download/mmcv-1.7.2.tar.gz" -C "$DEST/download"
rm -rf "$DEST/src/mmcv" "$DEST/src/mmcls" && cp -r "$DEST/download/mmcv-1.7.2/mmcv" "$DEST/src/"
"$PYTHON" -m zipfile -e "$DEST/download/mmcls-0.25.0-py2.py3-none-any.whl" "$DEST/src"
# What `import mmcv, mmcls` needs beyond torch and numpy (numpy stays the venv's: --no-deps).
"$PYTHON" -m pip install -q --no-deps --target "$DEST/deps" addict==2.4.0 yapf==0.43.0 platformdirs==4.14.8 \
    packaging==26.4 pyyaml==6.0.4 opencv-python-headless==5.0.0.93 matplotlib==3.11.2 pyparsing==3.3.3 \
    cycler==0.12.1 kiwisolver==1.5.1 fonttools==4.68.0 python-dateutil==4.0.0 six==1.17.0 contourpy==1.3.3
# The opencv that `pip install mmcv==1.7.2` brings today (its imnormalize multiplies by 1/std;
# docs/interop.md): first on PYTHONPATH ($DEST/deps51:$DEST/src:$DEST/deps) to compare with it.
"$PYTHON" -m pip install -q --no-deps --target "$DEST/deps51" opencv-python-headless==5.1.0.95
PYTHONPATH="$DEST/src:$DEST/deps" "$PYTHON" -W ignore -c "import mmcv, mmcls; print('mmcv', mmcv.__version__, 'mmcls', mmcls.__version__)"
