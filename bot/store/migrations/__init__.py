"""Alembic's migration environment for the store: `env.py`, and one hand-written revision per
schema change in `versions/` (checked against `bot.store.schema` by tests/test_migrations.py).
`bot.store.database` runs them; `opsbot migrate` is how a user does."""
