"""One function per user-facing action; the CLI, the service and notebooks call these."""
