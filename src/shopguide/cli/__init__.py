"""Command line interface (Typer)."""
