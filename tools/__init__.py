"""The shared query layer: ERP schema, data views, paging, demo data and matching.

Nothing here imports Starlette or MCP: a view takes a tenant connection and typed params and
returns typed rows.
"""
