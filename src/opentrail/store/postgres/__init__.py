"""The PostgreSQL store: several nodes on one database."""
