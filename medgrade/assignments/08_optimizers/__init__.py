"""08_optimizers: Optimizers: SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW."""
