"""What every layer shares: typed events and error codes, turn marks, audio helpers, component status."""
