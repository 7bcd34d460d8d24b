"""Admin for the public status page (imported by incidents.admin)."""
