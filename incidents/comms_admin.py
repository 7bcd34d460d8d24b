"""Admin for runbooks and the communication cadence (imported by incidents.admin)."""
