"""09_gradients_init: Vanishing and exploding gradients, initialization."""
