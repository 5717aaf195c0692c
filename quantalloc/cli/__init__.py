"""Command-line interface: the only layer that prints, exits or reads the user's environment."""
