"""SQLAlchemy storage for Finetune Arena: tables, migrations and the repository the core uses."""
