"""01_conv_arithmetic: Convolution arithmetic: output sizes, conv2d by im2col, parameter and FLOP counts."""
