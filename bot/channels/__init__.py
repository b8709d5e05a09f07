"""Rasa input channels of our own (loaded by Rasa, in its Python 3.10 environment)."""
