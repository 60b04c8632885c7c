"""The demo: a deterministic ERP data generator (two tenants), and the development issuer and
OAuth server it signs in with. Never imported by ``serve`` with a production configuration."""
