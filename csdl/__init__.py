"""Supervision dashboard for a primary school's records in the sector database (CSDL ngành)."""
