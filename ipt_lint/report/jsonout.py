"""JSON documents written fast and still readable.

`json.dump(..., indent=2)` goes through the pure-Python encoder, which took seconds on the 20 MB
of exposures of a 100k-rule dump. Here the top level is laid out by hand and each item of a
top-level list is one compact line from json's C encoder: the same document, a line per finding
or exposure, and `jq`, `grep` and diffs stay easy.
"""

from __future__ import annotations

import json
from typing import TextIO


def write_document(doc: dict, out: TextIO, *, ensure_ascii: bool = False) -> None:
    """`doc` (a dict) as JSON on `out`, ending with a newline."""
    encode = json.JSONEncoder(ensure_ascii=ensure_ascii, separators=(", ", ": ")).encode
    out.write("{")
    for k, (key, value) in enumerate(doc.items()):
        out.write(",\n  " if k else "\n  ")
        out.write(encode(key) + ": ")
        if isinstance(value, list) and value:
            out.write("[\n    ")
            out.write(",\n    ".join(encode(item) for item in value))
            out.write("\n  ]")
        else:
            out.write(encode(value))
    out.write("\n}\n" if doc else "}\n")


def document_text(doc: dict, *, ensure_ascii: bool = False) -> str:
    """write_document() into a string (without the final newline)."""
    import io

    buf = io.StringIO()
    write_document(doc, buf, ensure_ascii=ensure_ascii)
    return buf.getvalue()[:-1]
