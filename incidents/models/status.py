"""The public status page: components, public incidents and their updates, scheduled maintenance,
subscribers."""
