#!/usr/bin/env python3
"""Build the offline HTML template of `dvc plots show` / `dvc plots diff` from the npm packages.

DVC's default page loads Vega, Vega-Lite and Vega-Embed from a CDN and is blank offline. This
script inlines the minified builds of the pinned versions (with their licences) into
``pipeline/report/vendor/dvc_plots.html``, which ``.dvc/config`` names as ``plots.html_template``.
The template has DVC's ``{plot_divs}`` placeholder and deliberately no ``{scripts}`` one (that is
where DVC would put its CDN tags).

    python scripts/vendor-vega.py                 # npm pack the pinned versions, then build
    python scripts/vendor-vega.py --tarballs DIR  # use vega-<v>.tgz ... already in DIR
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "pipeline" / "report" / "vendor" / "dvc_plots.html"
PACKAGES = (  # npm package, version, minified build inside the tarball (load order)
    ("vega", "5.33.1", "package/build/vega.min.js"),
    ("vega-lite", "5.23.0", "package/build/vega-lite.min.js"),
    ("vega-embed", "6.29.0", "package/build/vega-embed.min.js"),
)
# vega's npm tarball ships no LICENSE file; its package.json says BSD-3-Clause, same text as the
# two others (University of Washington Interactive Data Lab). Bundled third-party code:
BUNDLED = (
    "vega.min.js bundles the d3-* modules (ISC licence, Copyright Mike Bostock) and "
    "the vega-* modules (BSD-3-Clause). vega-embed.min.js bundles vega-themes, vega-tooltip, "
    "vega-schema-url-parser, vega-interpreter (BSD-3-Clause), fast-json-patch (MIT, Copyright "
    "Joachim Wester), json-stringify-pretty-compact (MIT, Copyright Simon Lydell), semver (ISC, "
    "Copyright Isaac Z. Schlueter and Contributors) and tslib (0BSD, Copyright Microsoft Corp.)."
)
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{{refresh_tag}}
<title>netoutcomes: DVC plots</title>
<!--
{notice}
-->
<style>
  body {{ font-family: system-ui, sans-serif; margin: 16px; }}
  body > div {{ display: inline-block; vertical-align: top; margin: 0 16px 24px 0; }}
  table {{ border-spacing: 15px; }}
</style>
{scripts}
</head>
<body>
{{plot_divs}}
</body>
</html>
"""


def _pack(dest: Path) -> None:
    specs = [f"{name}@{version}" for name, version, _ in PACKAGES]
    subprocess.run(["npm", "pack", "--silent", *specs], cwd=dest, check=True)


def _member(tarball: Path, member: str) -> str:
    with tarfile.open(tarball) as tar:
        fh = tar.extractfile(member)
        if fh is None:
            raise SystemExit(f"{tarball.name}: no {member}")
        return fh.read().decode("utf-8")


def _licence(tarball: Path) -> str:
    """The tarball's LICENSE text ("" when it ships none, as vega's does)."""
    try:
        return _member(tarball, "package/LICENSE")
    except KeyError:
        return ""


def build(tarballs: Path) -> str:
    """The template text: each minified build inlined with its version and licence."""
    scripts, notices, bsd = [], [], ""
    for name, version, member in PACKAGES:
        tarball = tarballs / f"{name}-{version}.tgz"
        if not tarball.is_file():
            raise SystemExit(f"missing {tarball} (run without --tarballs to npm pack it)")
        code = _member(tarball, member)
        for bad in ("</script", *PLACEHOLDERS):
            if bad in code:
                raise SystemExit(f"{name}: the build contains {bad!r}; it cannot be inlined")
        bsd = _licence(tarball) or bsd
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        notices.append(f"{name} {version} (npm, BSD-3-Clause; tarball sha256 {digest})")
        scripts.append(f"<script>/* {name} {version}, BSD-3-Clause, see the notice above */\n"
                       f"{code}\n</script>")
    notice = "\n".join([
        "Inlined for offline use: " + "; ".join(notices) + ".",
        BUNDLED,
        "Built by scripts/vendor-vega.py. Licence of vega, vega-lite and vega-embed:",
        bsd.strip().replace("--", "- -"),
    ])
    return PAGE.format(notice=notice, scripts="\n".join(scripts))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tarballs", type=Path, help="folder with the npm tarballs")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.tarballs
        if folder is None:
            folder = Path(tmp)
            _pack(folder)
        text = build(folder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
