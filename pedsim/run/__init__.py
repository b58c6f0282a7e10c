"""pedsim.run."""
