"""Wisedat: an ERP server the customer runs on premises (RSA login, JWT, paged lists)."""
