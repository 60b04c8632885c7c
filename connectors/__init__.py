"""Sources that write tenant databases: a shared core and one sub-package per ERP or e-invoice source.

The seam with the rest of the server is the tenant database: connectors write it, the views in
``tools`` read it, and neither imports the other.
"""
