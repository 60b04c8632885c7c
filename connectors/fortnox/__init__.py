"""Fortnox: a tenant whose books and warehouse live in Fortnox, synced into its own database.

``auth`` (client-credentials and rotating refresh-token providers), ``client`` (the API with
its paging and error shapes), ``mapping`` (pure functions from Fortnox JSON to our rows),
``streams`` (what is fetched and how it is written), ``source`` (the streams in order).
"""
