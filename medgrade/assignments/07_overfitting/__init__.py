"""07_overfitting: Overfitting: dropout, weight decay, early stopping, augmentation."""
