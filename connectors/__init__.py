"""Sources that write tenant databases: ERP syncs and received supplier e-invoices.

Connectors write the tenant database; the views in ``tools`` read it. Neither imports the other's
doors, and ``tools`` never imports ``connectors``.
"""
