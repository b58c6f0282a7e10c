"""pedsim.analysis."""
