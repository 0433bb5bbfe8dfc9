"""Finetune Arena core: platform-neutral domain, ports and services (no I/O frameworks)."""
