"""A Fortnox double for the tests: a real HTTP server on loopback, stateful, checked against
Fortnox's own OpenAPI description (``spec``), with data made by the demo generator (``data``)."""
