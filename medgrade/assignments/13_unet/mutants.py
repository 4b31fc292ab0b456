"""Known-wrong answers of 13_unet (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`)."""
from medgrade.mutants import Mutant

BLOCK = "double_conv_layers"
CENTRED, CROP_CONTRACT = "center_crop_centred", "center_crop_contract"
RULE = "unet_output_size_rule"
COUNT = "unet_param_count_formula"
SHAPE, LAYERS, VALUES, TRAINS = "unet_output_shape", "unet_architecture", "unet_skips_align", "unet_trains"

_FIRST_CONV = "nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=pad), nn.ReLU(),"
_SECOND_CONV = "nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=pad), nn.ReLU())"
_PADDING_CHECK = ('    if padding not in ("valid", "same"):\n'
                  '        raise ValueError(f"padding must be \'valid\' or \'same\', got {padding!r}")\n'
                  '    pad = 1')
_TOP_LEFT = "top, left = (H - height) // 2, (W - width) // 2"
_SIZE_BODY = '''    trim = 4 if padding == "valid" else 0        # two 3x3 convolutions
    side = size
    for level in range(depth):
        side -= trim
        if side < 1 or side % 2:
            raise ValueError(f"input side {size}: the map pooled at level {level} has side {side}, "
                             f"not a positive even number")
        side //= 2
    side -= trim                                 # the bottom
    if side < 1:
        raise ValueError(f"input side {size}: nothing is left at the bottom")
    for level in range(depth):
        side = 2 * side - trim
        if side < 1:
            raise ValueError(f"input side {size}: the decoder runs out of pixels")
    return side
'''
_SKIP = "skip = center_crop(skips[level], x.shape[-2], x.shape[-1])"
_CHANNELS = "c = [base_channels * 2 ** level for level in range(depth + 1)]\n        self.down"
_DOWN = "self.down = nn.ModuleList([double_conv("
_DECODE = "self.decode = nn.ModuleList([double_conv(2 * c[level], c[level], padding) for level in range(depth)])"
_HEAD = "        self.head = nn.Conv2d(c[0], num_classes, kernel_size=1)\n"

MUTANTS = [
    # ---------------------------------------------------------------- double_conv
    Mutant("double_conv_always_valid", "double_conv",
           (("pad = 1 if padding == \"same\" else 0", "pad = 0"),),
           breaks=(BLOCK,),
           why="ignores padding='same': the block always shrinks the map by 4"),
    Mutant("double_conv_reflect_padding", "double_conv",
           ((_FIRST_CONV, "nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=pad, padding_mode='reflect'), "
                          "nn.ReLU(),"),),
           breaks=(BLOCK,), keeps=(SHAPE, LAYERS, VALUES),
           why="pads the first convolution by reflection: the border pixels differ from the zero-padded block "
               "(the U-Net's aspects use the course's block, so they keep their points)"),
    Mutant("double_conv_batchnorm", "double_conv",
           ((_FIRST_CONV, "nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=pad), "
                          "nn.BatchNorm2d(out_channels), nn.ReLU(),"),),
           breaks=(BLOCK,),
           why="adds batch norm, as modern variants do: not the paper's block (and the state_dict's names move)"),
    Mutant("double_conv_no_last_relu", "double_conv",
           ((_SECOND_CONV, "nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=pad))"),),
           breaks=(BLOCK,),
           why="leaves out the ReLU after the second convolution"),
    Mutant("double_conv_one_conv", "double_conv",
           ((_SECOND_CONV, ")"),),
           breaks=(BLOCK,),
           why="a single convolution per block"),
    Mutant("double_conv_accepts_any_padding", "double_conv",
           ((_PADDING_CHECK, "    pad = 1"),),
           breaks=(BLOCK,),
           why="treats every padding other than 'same' as valid, 'full' and 'SAME' included"),
    Mutant("double_conv_padding_strings", "double_conv",
           (("pad = 1 if padding == \"same\" else 0", "pad = padding"),),
           breaks=(), keeps=(BLOCK,),
           why="honest: hands 'valid' / 'same' to nn.Conv2d, which knows both"),
    Mutant("double_conv_inplace_relu", "double_conv",
           (("nn.ReLU(),\n", "nn.ReLU(inplace=True),\n"), ("padding=pad), nn.ReLU())", "padding=pad), nn.ReLU(True))")),
           breaks=(), keeps=(BLOCK,),
           why="honest: in-place ReLUs"),
    # ---------------------------------------------------------------- center_crop
    Mutant("center_crop_top_left", "center_crop",
           ((_TOP_LEFT, "top, left = 0, 0"),),
           breaks=(CENTRED,), keeps=(CROP_CONTRACT, SHAPE, VALUES),
           why="cuts the window from the top left corner (the U-Net's aspects use the course's crop)"),
    Mutant("center_crop_rounds_up", "center_crop",
           ((_TOP_LEFT, "top, left = (H - height + 1) // 2, (W - width + 1) // 2"),),
           breaks=(CENTRED,), keeps=(CROP_CONTRACT,),
           why="an odd surplus leaves its extra row at the top, its extra column at the left"),
    Mutant("center_crop_python_round", "center_crop",
           ((_TOP_LEFT, "top, left = int(round((H - height) / 2)), int(round((W - width) / 2))"),),
           breaks=(CENTRED,), keeps=(CROP_CONTRACT,),
           why="rounds half to even, as torchvision does: a surplus of 3 puts the extra row at the top"),
    Mutant("center_crop_axes_swapped", "center_crop",
           ((_TOP_LEFT, "top, left = (W - width) // 2, (H - height) // 2"),),
           breaks=(CENTRED,),
           why="takes the row offset from the widths and the column offset from the heights"),
    Mutant("center_crop_torchvision", "center_crop",
           (("    return x[..., top:top + height, left:left + width]",
             "    import torchvision.transforms.functional as TF\n"
             "    return TF.center_crop(x if x.dim() > 2 else x[None], [height, width]).reshape(*x.shape[:-2], height, width)"),),
           breaks=(CENTRED, CROP_CONTRACT),
           why="calls torchvision's center_crop (refused)"),
    Mutant("center_crop_through_numpy", "center_crop",
           (("    return x[..., top:top + height, left:left + width]",
             "    return torch.from_numpy(x.detach().numpy()[..., top:top + height, left:left + width].copy())"),),
           breaks=(CROP_CONTRACT,), keeps=(CENTRED,),
           why="a NumPy round trip: right values, but no gradient reaches x"),
    Mutant("center_crop_no_check", "center_crop",
           (("    if not (1 <= height <= H and 1 <= width <= W):\n"
             "        raise ValueError(f\"cannot cut a {height} x {width} window from a {H} x {W} map\")\n", ""),),
           breaks=(CROP_CONTRACT,), keeps=(CENTRED,),
           why="no check: a window larger than x silently comes back smaller"),
    Mutant("center_crop_narrow", "center_crop",
           (("    return x[..., top:top + height, left:left + width]",
             "    return x.narrow(-2, top, height).narrow(-1, left, width)"),),
           breaks=(), keeps=(CENTRED, CROP_CONTRACT),
           why="honest: Tensor.narrow on the last two dimensions"),
    # ---------------------------------------------------------------- unet_output_size
    Mutant("unet_output_size_no_parity_check", "unet_output_size",
           (("if side < 1 or side % 2:", "if side < 1:"),),
           breaks=(RULE,),
           why="lets the pooling floor an odd side, as PyTorch would"),
    Mutant("unet_output_size_forgets_bottom", "unet_output_size",
           (("    side -= trim                                 # the bottom\n", ""),),
           breaks=(RULE,),
           why="forgets the bottom's two convolutions: valid outputs are 4 * 2**depth too large"),
    Mutant("unet_output_size_same_shrinks_too", "unet_output_size",
           (('trim = 4 if padding == "valid" else 0', "trim = 4"),),
           breaks=(RULE,),
           why="trims 4 pixels per block whatever the padding"),
    Mutant("unet_output_size_no_decoder_check", "unet_output_size",
           (("        if side < 1:\n            raise ValueError(f\"input side {size}: the decoder runs out of pixels\")\n",
             ""),),
           breaks=(RULE,), keeps=(SHAPE,),
           why="does not see the decoder run out of pixels (16 -> 0 at depth 1); the U-Net's aspects use "
               "the course's rule"),
    Mutant("unet_output_size_one_level_short", "unet_output_size",
           (("    for level in range(depth):\n        side -= trim", "    for level in range(depth - 1):\n        side -= trim"),),
           breaks=(RULE,),
           why="one pooling fewer than the depth"),
    Mutant("unet_output_size_closed_form", "unet_output_size",
           ((_SIZE_BODY,
             "    if padding == \"same\":\n"
             "        if size % 2 ** depth:\n"
             "            raise ValueError(f\"{size} is not a multiple of {2 ** depth}\")\n"
             "        return size\n"
             "    out = size + 8 - 12 * 2 ** depth\n"
             "    if (size + 4) % 2 ** depth or out < 1:\n"
             "        raise ValueError(f\"{size} is not a legal side at depth {depth}\")\n"
             "    return out\n"),),
           breaks=(), keeps=(RULE,),
           why="honest: the closed form (n + 4 divisible by 2**depth, output n + 8 - 12 * 2**depth >= 1)"),
    # ---------------------------------------------------------------- unet_param_count
    Mutant("unet_param_count_forgets_biases", "unet_param_count",
           (("        total += 9 * 2 * c[level] * c[level] + 9 * c[level] * c[level] + 2 * c[level]",
             "        total += 9 * 2 * c[level] * c[level] + 9 * c[level] * c[level]"),),
           breaks=(COUNT,),
           why="leaves out the decoder's biases"),
    Mutant("unet_param_count_up_conv_3x3", "unet_param_count",
           (("total += 4 * c[level + 1] * c[level] + c[level]", "total += 9 * c[level + 1] * c[level] + c[level]"),),
           breaks=(COUNT,),
           why="counts the up-convolution as 3x3"),
    Mutant("unet_param_count_in_float", "unet_param_count",
           (("    return total + (c[0] + 1) * num_classes", "    return float(total + (c[0] + 1) * num_classes)"),),
           breaks=(COUNT,),
           why="a float: wrong type, and inexact beyond 2**53"),
    Mutant("unet_param_count_by_building", "unet_param_count",
           (("    c = [base_channels * 2 ** level for level in range(depth + 1)]\n    total",
             "    net = UNet(in_channels, num_classes, depth, base_channels, 'same')\n"
             "    return sum(p.numel() for p in net.parameters())\n"
             "    c = [base_channels * 2 ** level for level in range(depth + 1)]\n    total"),),
           breaks=(COUNT,),
           why="builds the network to count it: a network with 1e9 channels cannot be built"),
    Mutant("unet_param_count_summed_formula", "unet_param_count",
           (("    c = [base_channels * 2 ** level for level in range(depth + 1)]\n    total",
             "    b, K, C = base_channels, num_classes, in_channels\n"
             "    return (9 * C * b + 2 * b + 9 * b * b + (b + 1) * K\n"
             "            + sum(27 * (b * 2 ** l) ** 2 // 2 + 2 * b * 2 ** l for l in range(1, depth + 1))\n"
             "            + sum(35 * (b * 2 ** l) ** 2 + 3 * b * 2 ** l for l in range(depth)))\n"
             "    c = [base_channels * 2 ** level for level in range(depth + 1)]\n    total"),),
           breaks=(), keeps=(COUNT,),
           why="honest: the per-level terms collected (13.5 c^2 + 2c down, 35 c^2 + 3c up)"),
    # ---------------------------------------------------------------- UNet
    Mutant("unet_corner_crop", "UNet",
           ((_SKIP, "skip = skips[level][..., :x.shape[-2], :x.shape[-1]]"),),
           breaks=(VALUES,), keeps=(SHAPE, LAYERS),
           why="crops each skip from the top left corner: right shapes, misaligned features"),
    Mutant("unet_skip_second", "UNet",
           (("torch.cat([skip, x], dim=1)", "torch.cat([x, skip], dim=1)"),),
           breaks=(VALUES,), keeps=(SHAPE, LAYERS),
           why="concatenates the up-sampled map first, the skip second"),
    Mutant("unet_average_pooling", "UNet",
           (("F.max_pool2d(x, kernel_size=2, stride=2)", "F.avg_pool2d(x, kernel_size=2, stride=2)"),),
           breaks=(VALUES,), keeps=(SHAPE, LAYERS),
           why="average pooling instead of max pooling"),
    Mutant("unet_relu_on_logits", "UNet",
           (("        return self.head(x)\n", "        return F.relu(self.head(x))\n"),),
           breaks=(VALUES,), keeps=(SHAPE, LAYERS),
           why="a ReLU after the 1x1 head: logits cannot be negative"),
    Mutant("unet_softmax_head", "UNet",
           (("        return self.head(x)\n", "        return self.head(x).softmax(dim=1)\n"),),
           breaks=(VALUES,), keeps=(SHAPE, LAYERS),
           why="returns probabilities: the loss applies a second softmax on top (it still learns these tiles, "
               "more slowly)"),
    Mutant("unet_no_size_check", "UNet",
           (("            unet_output_size(side, self.depth, self.padding)       # raises ValueError for an illegal side\n",
             "            pass\n"),),
           breaks=(SHAPE,), keeps=(LAYERS, VALUES),
           why="no size check: an odd map is floored by the pooling and the crop hides the lost row"),
    Mutant("unet_no_depth_check", "UNet",
           (("        if depth < 1:\n            raise ValueError(f\"depth must be at least 1, got {depth}\")\n", ""),),
           breaks=(SHAPE,), keeps=(LAYERS, VALUES),
           why="accepts depth 0 and builds something"),
    Mutant("unet_channels_not_doubling", "UNet",
           ((_CHANNELS, "c = [base_channels * (level + 1) for level in range(depth + 1)]\n        self.down"),),
           breaks=(LAYERS, VALUES),
           why="adds base_channels per level instead of doubling"),
    Mutant("unet_python_lists", "UNet",
           ((_DOWN, "self.down = list([double_conv("), (_DECODE, _DECODE.replace("nn.ModuleList(", "list(")),),
           breaks=(LAYERS, VALUES, TRAINS),
           why="plain Python lists: the encoder and decoder blocks are not registered, never trained, not in "
               "the state_dict"),
    Mutant("unet_ignores_num_classes", "UNet",
           (("self.head = nn.Conv2d(c[0], num_classes, kernel_size=1)", "self.head = nn.Conv2d(c[0], 1, kernel_size=1)"),),
           breaks=(SHAPE, LAYERS, VALUES, TRAINS),
           why="one output channel whatever num_classes says"),
    Mutant("unet_no_skips", "UNet",
           ((_DECODE, _DECODE.replace("double_conv(2 * c[level]", "double_conv(c[level]")),
            ("x = self.decode[level](torch.cat([skip, x], dim=1))", "x = self.decode[level](x)")),
           breaks=(LAYERS, VALUES),
           why="an encoder-decoder without skip connections"),
    Mutant("unet_head_built_first", "UNet",
           ((_HEAD, ""),
            ("        c = [base_channels * 2 ** level for level in range(depth + 1)]\n",
             "        c = [base_channels * 2 ** level for level in range(depth + 1)]\n"
             "        self.head = nn.Conv2d(c[0], num_classes, kernel_size=1)\n"),
            ("F.max_pool2d(x, kernel_size=2, stride=2)", "nn.functional.max_pool2d(x, 2)"),
            ("torch.cat([skip, x], dim=1)", "torch.cat((skip, x), 1)")),
           breaks=(), keeps=(SHAPE, LAYERS, VALUES, TRAINS),
           why="honest: the head built first (so every initial weight is another draw), max_pool2d's default "
               "stride, cat of a tuple"),
]

# ---- audit
_DEF_CROP = "def center_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:"
_CROP_RETURN = "    return x[..., top:top + height, left:left + width]"
_SIZE_PADDING = ('    if padding not in ("valid", "same"):\n'
                 '        raise ValueError(f"padding must be \'valid\' or \'same\', got {padding!r}")\n'
                 '    if depth < 1 or size < 1:')
_UNET_PADDING = ('        if padding not in ("valid", "same"):\n'
                 '            raise ValueError(f"padding must be \'valid\' or \'same\', got {padding!r}")\n'
                 '        self.depth, self.padding')

MUTANTS += [
    Mutant("double_conv_relu6", "double_conv",
           (("nn.ReLU(),\n", "nn.ReLU6(),\n"), ("padding=pad), nn.ReLU())", "padding=pad), nn.ReLU6())")),
           breaks=(BLOCK,),
           why="ReLU6 instead of ReLU: the same below 6, so only larger activations show it"),
    Mutant("double_conv_kaiming_init", "double_conv",
           (("    return nn.Sequential(\n", "    block = nn.Sequential(\n"),
            (_SECOND_CONV, _SECOND_CONV + "\n    for conv in (block[0], block[2]):\n"
                           "        nn.init.kaiming_normal_(conv.weight, nonlinearity='relu')\n"
                           "        nn.init.zeros_(conv.bias)\n    return block")),
           breaks=(BLOCK,),
           why="He initialization of its own: the contract keeps PyTorch's default one"),
    Mutant("double_conv_zero_biases", "double_conv",
           (("    return nn.Sequential(\n", "    block = nn.Sequential(\n"),
            (_SECOND_CONV, _SECOND_CONV + "\n    nn.init.zeros_(block[0].bias)\n    nn.init.zeros_(block[2].bias)\n"
                           "    return block")),
           breaks=(BLOCK,),
           why="zeroes the biases: not PyTorch's default initialization"),
    Mutant("double_conv_seeds_itself", "double_conv",
           (("    pad = 1 if padding", "    torch.manual_seed(0)\n    pad = 1 if padding"),),
           breaks=(BLOCK,),
           why="seeds torch's global generator in the block: every block of a shape gets the same weights, "
               "whatever the caller seeded"),
    Mutant("double_conv_second_built_first", "double_conv",
           (("    return nn.Sequential(\n"
             "        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=pad), nn.ReLU(),\n"
             "        nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=pad), nn.ReLU())",
             "    second = nn.Conv2d(out_channels, out_channels, 3, padding=pad)\n"
             "    first = nn.Conv2d(in_channels, out_channels, 3, padding=pad)\n"
             "    return nn.Sequential(first, nn.ReLU(), second, nn.ReLU())"),),
           breaks=(), keeps=(BLOCK,),
           why="honest: the second convolution built first (other draws, the same default initialization)"),
    Mutant("center_crop_torchvision_crop_alias", "center_crop",
           ((_DEF_CROP, "from torchvision.transforms.functional import crop as _tv_crop\n\n\n" + _DEF_CROP),
            (_CROP_RETURN, "    return _tv_crop(x, top, left, height, width)")),
           breaks=(CENTRED, CROP_CONTRACT),
           why="computes the offsets, then calls torchvision's crop through a name bound before the call (refused)"),
    Mutant("center_crop_torchvision_v2_crop_alias", "center_crop",
           ((_DEF_CROP, "from torchvision.transforms.v2.functional import crop as _tv_crop\n\n\n" + _DEF_CROP),
            (_CROP_RETURN, "    return _tv_crop(x, top, left, height, width)")),
           breaks=(CENTRED, CROP_CONTRACT),
           why="the same with torchvision.transforms.v2's crop (refused)"),
    Mutant("unet_output_size_numpy_int", "unet_output_size",
           (("    return side\n", "    import numpy as np\n    return np.int64(side)\n"),),
           breaks=(RULE,),
           why="returns a NumPy integer, not a Python int"),
    Mutant("unet_output_size_any_case", "unet_output_size",
           ((_SIZE_PADDING, "    padding = padding.lower()\n" + _SIZE_PADDING),),
           breaks=(RULE,),
           why="accepts 'SAME' and 'Valid': the contract names the paddings exactly"),
    Mutant("unet_padding_any_case", "UNet",
           ((_UNET_PADDING, "        padding = padding.lower()\n" + _UNET_PADDING),),
           breaks=(SHAPE,), keeps=(LAYERS, VALUES),
           why="accepts padding='SAME'"),
    Mutant("unet_dropout_at_bottom", "UNet",
           (("        x = self.bottom(x)\n", "        x = F.dropout(self.bottom(x), 0.5, self.training)\n"),),
           breaks=(VALUES,), keeps=(SHAPE, LAYERS),
           why="dropout after the bottom block (as MATLAB's unetLayers has): no parameter, so the state_dict "
               "cannot show it; the logits in train mode do"),
    Mutant("unet_softmax_when_training", "UNet",
           (("        return self.head(x)\n",
             "        return self.head(x).softmax(1) if self.training else self.head(x)\n"),),
           breaks=(VALUES,), keeps=(SHAPE, LAYERS),
           why="probabilities in train mode, logits in eval mode"),
    Mutant("unet_relu6_decoder", "UNet",
           ((_DECODE, "self.decode = nn.ModuleList([nn.Sequential(\n"
                      "            nn.Conv2d(2 * c[level], c[level], 3, padding=int(padding == 'same')), nn.ReLU6(),\n"
                      "            nn.Conv2d(c[level], c[level], 3, padding=int(padding == 'same')), nn.ReLU6())\n"
                      "            for level in range(depth)])"),),
           breaks=(VALUES,), keeps=(SHAPE, LAYERS),
           why="its own decoder blocks with ReLU6: the same as ReLU on small activations, not on inputs up to 100"),
    Mutant("unet_monai_basic_unet", "UNet",
           (("class UNet(nn.Module):", "from monai.networks.nets import BasicUNet\n\n\nclass UNet(nn.Module):"),
            ("        self.depth, self.padding = depth, padding\n",
             "        self.depth, self.padding = depth, padding\n"
             "        self.net = BasicUNet(spatial_dims=2, in_channels=in_channels, out_channels=num_classes,\n"
             "                             features=(8, 8, 16, 32, 64, 8))\n        return\n"),
            ("        for side in x.shape[-2:]:\n", "        return self.net(x)\n        for side in x.shape[-2:]:\n")),
           breaks=(SHAPE, LAYERS, VALUES, TRAINS),
           why="wraps MONAI's BasicUNet: another library's network (refused by the training check too)"),
    Mutant("unet_zero_initialized", "UNet",
           ((_HEAD, _HEAD + "        for p in self.parameters():\n            nn.init.zeros_(p)\n"),),
           breaks=(), keeps=(TRAINS,),
           why="zero weights from the constructor: the training check starts torch's layers from PyTorch's "
               "default initialization under its own seed (only the architecture is graded)"),
]

# the mistakes of the demo's buggy student: a corner crop (loses center_crop_centred only) and the
# up-sampled map concatenated first (loses unet_skips_align only)
DEMO = ("center_crop_top_left", "unet_skip_second")
