"""The baseline every other benchmark's ratio is measured against, in the same run."""

from __future__ import annotations

from bench.context import Context, Row


def run(ctx: Context) -> list[Row]:
    return [ctx.yardstick_bare(), ctx.yardstick_insert()]
