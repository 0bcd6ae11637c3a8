"""Tables, sessions and migrations. SQLite by default; DATABASE_URL for another database."""
