"""Grounded question answering over the Changchun investment-zone policy documents."""

__version__ = "0.1.0"
