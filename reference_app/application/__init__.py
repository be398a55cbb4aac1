"""Use case, MessageProcessor and services: they depend on ports, never on a session maker."""
