"""11_attention_vs_rnn: Sequences of slices: RNN, LSTM, GRU and attention."""
