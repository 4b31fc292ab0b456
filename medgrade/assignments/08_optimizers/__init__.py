"""08_optimizers: one step of SGD, Adagrad, Adadelta, RMSprop, Adam and AdamW, as torch.optim takes it."""
