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
set -euo pipefail
DEST=${1:-/tmp/mmref}
MMCV_SDIST=https://files.pythonhosted.org/packages/88/ef/862b968b07ae49c21e4d71984e5e9da887d24ab117e40980405b8e228d1d/mmcv-1.7.2.tar.gz
MMCV_SHA256=2116a1609f9d3f59824074774366fd8b9410437bc95a24d535669b35d55352be

mkdir -p "$DEST/download" "$DEST/src"
curl -sSfL -o "$DEST/download/mmcv-1.7.2.tar.gz" "$MMCV_SDIST"
echo "$MMCV_SHA256  $DEST/download/mmcv-1.7.2.tar.gz" | sha256sum -c --quiet
tar xzf "$DEST/download/mmcv-1.7.2.tar.gz" -C "$DEST/download"
rm -rf "$DEST/src/mmcv" && cp -r "$DEST/download/mmcv-1.7.2/mmcv" "$DEST/src/"
python -m pip download -q --no-deps -d "$DEST/download" mmcls==0.25.0
python -m zipfile -e "$DEST/download/mmcls-0.25.0-py2.py3-none-any.whl" "$DEST/src"
# What `import mmcv, mmcls` needs beyond torch and numpy (numpy stays the venv's: --no-deps).
python -m pip install -q --no-deps --target "$DEST/deps" addict yapf platformdirs packaging pyyaml \
    opencv-python-headless matplotlib pyparsing cycler kiwisolver fonttools python-dateutil six contourpy
PYTHONPATH="$DEST/src:$DEST/deps" python -W ignore -c "import mmcv, mmcls; print('mmcv', mmcv.__version__, 'mmcls', mmcls.__version__)"
