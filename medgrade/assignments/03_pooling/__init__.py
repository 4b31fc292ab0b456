"""03_pooling: Pooling: output sizes, max and average pooling, max pooling's gradient, global pooling."""
