"""Regenerate kvcore/api's Python modules from its .proto files.

Run after editing a .proto: ``python tools/gen_protos.py`` (needs grpcio-tools, in the
``test`` extra). The generated modules are committed so that installing kvcore needs
no compiler.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    protos = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "kvcore" / "api").rglob("*.proto"))
    args = ["protoc", f"-I{ROOT}", f"--python_out={ROOT}", f"--pyi_out={ROOT}"]
    args += [f"--grpc_python_out={ROOT}", *protos]
    code = protoc.main(args)
    if code:
        print(f"protoc failed with exit code {code}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
