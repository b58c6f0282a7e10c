"""pedsim.sims."""
