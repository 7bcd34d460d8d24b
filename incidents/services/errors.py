"""Errors the incident services raise for bad input, naming the field so that forms and the API can
show the message next to it."""

from __future__ import annotations


class InvalidInput(ValueError):
    """`field` is wrong; `message` says why, in words for the person."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
