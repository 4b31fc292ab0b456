"""10_hyperparameters: Hyper-parameter search and learning-rate schedules."""
