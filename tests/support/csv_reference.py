"""The CSV export as the csv module writes it, row by row from full Battle objects: the reference the fast
export (stored renderings stitched per vote) must equal byte for byte."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from bot.export import COLUMNS, ExportOptions, battle_row
from bot.ports import Battle


def reference_csv(battles: Iterable[Battle], options: ExportOptions | None = None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for battle in battles:
        row = battle_row(battle, options)
        row["conversation_a"] = json.dumps(row["conversation_a"], ensure_ascii=False)
        row["conversation_b"] = json.dumps(row["conversation_b"], ensure_ascii=False)
        row["conv_metadata"] = json.dumps(row["conv_metadata"])
        writer.writerow(row)
    return out.getvalue()
