"""pedsim.physics."""
