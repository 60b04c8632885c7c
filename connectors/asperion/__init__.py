"""Asperion: Dutch online accounting (OAuth 2.0, one user, several administrations)."""
