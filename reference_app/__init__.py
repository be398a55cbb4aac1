"""The seed's chain (API -> use case -> MessageProcessor -> service -> repository -> mapper),
small enough to read in one sitting and wirable as the two-session bug or as each fix."""
