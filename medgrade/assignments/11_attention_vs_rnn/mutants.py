"""Known-wrong answers of 11_attention_vs_rnn (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`)."""
from medgrade.mutants import Mutant

LSTM = "lstm_cell_correct"
GRU = "gru_cell_correct"
SEQ = "lstm_over_slices_correct"
SDPA = "scaled_dot_product_attention_correct"
EDGE = "scaled_dot_product_attention_edge_cases"
CAUSAL = "scaled_dot_product_attention_causal"
STABLE = "scaled_dot_product_attention_stable"
EQUIV = "scaled_dot_product_attention_equivariant"
SPEED = "scaled_dot_product_attention_speed"
SPLIT = "split_heads_correct"
MERGE = "merge_heads_correct"
MHA = "multi_head_attention_correct"
PE = "sinusoidal_positional_encoding_correct"

_SOFTMAX_PLAIN = "        return torch.softmax(scores, dim=-1) @ v\n"
_SDPA_BODY = """    scores = (q @ k.transpose(-2, -1)) * scale
    if attn_mask is None and not is_causal:
        return torch.softmax(scores, dim=-1) @ v
    if is_causal:
        attn_mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
    if attn_mask.dtype == torch.bool:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    else:
        scores = scores + attn_mask
    dead = torch.isneginf(scores).all(dim=-1, keepdim=True)          # queries with no key left
    weights = torch.softmax(scores.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)
    return weights @ v
"""

MUTANTS = [
    # ---------------------------------------------------------------- lstm_cell
    Mutant("lstm_cell_gate_order_ifog", "lstm_cell",
           (("i, f, g, o = gates.chunk(4, dim=1)", "i, f, o, g = gates.chunk(4, dim=1)"),),
           breaks=(LSTM,), keeps=(SEQ,),
           why="reads the gates in the order i, f, o, g: the weights load, the cell computes something else "
               "(lstm_over_slices is graded with the course's lstm_cell and keeps its points)"),
    Mutant("lstm_cell_no_tanh_on_cell", "lstm_cell",
           (("h_next = torch.sigmoid(o) * torch.tanh(c_next)", "h_next = torch.sigmoid(o) * c_next"),),
           breaks=(LSTM,), keeps=(SEQ,),
           why="h' = o * c' without the tanh"),
    Mutant("lstm_cell_one_bias", "lstm_cell",
           (("        gates = gates + bias_hh\n", "        pass\n"),),
           breaks=(LSTM,),
           why="adds bias_ih only: torch's two biases are both added"),
    Mutant("lstm_cell_returns_c_first", "lstm_cell",
           (("return h_next, c_next", "return c_next, h_next"),),
           breaks=(LSTM,),
           why="returns (c', h') instead of (h', c')"),
    Mutant("lstm_cell_no_default_state", "lstm_cell",
           (("if state is None:", "if False:"),),
           breaks=(LSTM,),
           why="does not start from zeros when state is None"),
    Mutant("lstm_cell_sigmoid_candidate", "lstm_cell",
           (("torch.sigmoid(i) * torch.tanh(g)", "torch.sigmoid(i) * torch.sigmoid(g)"),),
           breaks=(LSTM,),
           why="a sigmoid on the candidate g, which takes tanh"),
    # honest alternatives
    Mutant("lstm_cell_one_matmul", "lstm_cell",
           (("    gates = x @ weight_ih.T + h @ weight_hh.T\n",
             "    gates = torch.cat([x, h], dim=1) @ torch.cat([weight_ih, weight_hh], dim=1).T\n"),
            ("    i, f, g, o = gates.chunk(4, dim=1)\n",
             "    i, f, g, o = torch.split(gates, hidden, dim=1)\n")),
           breaks=(), keeps=(LSTM, SEQ),
           why="honest: one product of [x, h] with the stacked weights, torch.split"),
    Mutant("lstm_cell_linear", "lstm_cell",
           (("    gates = x @ weight_ih.T + h @ weight_hh.T\n    if bias_ih is not None:\n        gates = gates + bias_ih\n"
             "    if bias_hh is not None:\n        gates = gates + bias_hh\n",
             "    gates = F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)\n"),),
           breaks=(), keeps=(LSTM,),
           why="honest: F.linear with optional biases"),

    # ---------------------------------------------------------------- gru_cell
    Mutant("gru_cell_reset_before_matmul", "gru_cell",
           (("n = torch.tanh(i_n + r * h_n)",
             "hidden = h.shape[1]\n    b_hn = bias_hh[2 * hidden:] if bias_hh is not None else 0.0\n"
             "    n = torch.tanh(i_n + (r * h) @ weight_hh[2 * hidden:].T + b_hn)"),),
           breaks=(GRU,),
           why="the paper's W_hn (r * h): a different function from torch's r * (W_hn h + b_hn)"),
    Mutant("gru_cell_reset_outside_bias", "gru_cell",
           (("n = torch.tanh(i_n + r * h_n)",
             "b_hn = bias_hh.chunk(3)[2] if bias_hh is not None else 0.0\n"
             "    n = torch.tanh(i_n + r * (h_n - b_hn) + b_hn)"),),
           breaks=(GRU,),
           why="r multiplies W_hn h but not b_hn"),
    Mutant("gru_cell_update_swapped", "gru_cell",
           (("return (1 - z) * n + z * h", "return z * n + (1 - z) * h"),),
           breaks=(GRU,),
           why="z weighs the candidate instead of the old state"),
    Mutant("gru_cell_gate_order_zrn", "gru_cell",
           (("i_r, i_z, i_n = gi.chunk(3, dim=1)", "i_z, i_r, i_n = gi.chunk(3, dim=1)"),
            ("h_r, h_z, h_n = gh.chunk(3, dim=1)", "h_z, h_r, h_n = gh.chunk(3, dim=1)")),
           breaks=(GRU,),
           why="reads the gates as z, r, n"),
    # honest alternatives
    Mutant("gru_cell_lerp", "gru_cell",
           (("    gi = x @ weight_ih.T\n    gh = h @ weight_hh.T\n    if bias_ih is not None:\n        gi = gi + bias_ih\n"
             "    if bias_hh is not None:\n        gh = gh + bias_hh\n",
             "    gi = F.linear(x, weight_ih, bias_ih)\n    gh = F.linear(h, weight_hh, bias_hh)\n"),
            ("return (1 - z) * n + z * h", "return torch.lerp(n, h, z)")),
           breaks=(), keeps=(GRU,),
           why="honest: F.linear, and h' = n + z (h - n) with torch.lerp"),

    # ---------------------------------------------------------------- lstm_over_slices
    Mutant("lstm_over_slices_no_carry", "lstm_over_slices",
           (("    for x in slices:\n        state = lstm_cell(x, state,",
             "    first = state\n    for x in slices:\n        state = lstm_cell(x, first,"),),
           breaks=(SEQ,),
           why="starts every slice from the initial state: nothing is carried along the volume"),
    Mutant("lstm_over_slices_outputs_c", "lstm_over_slices",
           (("outputs.append(state[0])", "outputs.append(state[1])"),),
           breaks=(SEQ,),
           why="collects the cell states c instead of the hidden states h"),
    Mutant("lstm_over_slices_ignores_state", "lstm_over_slices",
           (("    outputs = []\n", "    outputs, state = [], None\n"),),
           breaks=(SEQ,),
           why="always starts from zeros, whatever state is given"),
    Mutant("lstm_over_slices_batch_first", "lstm_over_slices",
           (("torch.stack(outputs)", "torch.stack(outputs, dim=1)"),),
           breaks=(SEQ,),
           why="stacks the outputs as (B, T, H)"),
    Mutant("lstm_over_slices_reversed", "lstm_over_slices",
           (("for x in slices:", "for x in slices.flip(0):"),),
           breaks=(SEQ,),
           why="reads the volume from the last slice to the first"),
    # honest alternative
    Mutant("lstm_over_slices_preallocated", "lstm_over_slices",
           (("    outputs = []\n    for x in slices:\n        state = lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh)\n"
             "        outputs.append(state[0])\n    return torch.stack(outputs), state\n",
             "    outputs = slices.new_empty(slices.shape[0], slices.shape[1], weight_hh.shape[1])\n"
             "    for t in range(slices.shape[0]):\n"
             "        state = lstm_cell(slices[t], state, weight_ih, weight_hh, bias_ih, bias_hh)\n"
             "        outputs[t] = state[0]\n    return outputs, state\n"),),
           breaks=(), keeps=(SEQ,),
           why="honest: a preallocated output filled step by step"),

    # ---------------------------------------------------------------- scaled_dot_product_attention
    Mutant("scaled_dot_product_attention_scaled_by_value_size", "scaled_dot_product_attention",
           (("scale = 1.0 / math.sqrt(q.shape[-1])", "scale = 1.0 / math.sqrt(v.shape[-1])"),),
           breaks=(SDPA,), keeps=(EQUIV,),
           why="divides by sqrt of the value size Ev instead of the query size E"),
    Mutant("scaled_dot_product_attention_ignores_scale", "scaled_dot_product_attention",
           (("if scale is None:", "if True:"),),
           breaks=(SDPA,),
           why="always 1 / sqrt(E), whatever scale says"),
    Mutant("scaled_dot_product_attention_scale_falsy", "scaled_dot_product_attention",
           (("if scale is None:", "if not scale:"),),
           breaks=(SDPA,), keeps=(EQUIV,),
           why="tests `not scale`: scale=0.0 (every key weighted alike) becomes 1 / sqrt(E)"),
    Mutant("scaled_dot_product_attention_softmax_over_queries", "scaled_dot_product_attention",
           ((_SOFTMAX_PLAIN, "        return torch.softmax(scores, dim=-2) @ v\n"),
            ("torch.softmax(scores.masked_fill(dead, 0.0), dim=-1)", "torch.softmax(scores.masked_fill(dead, 0.0), dim=-2)")),
           breaks=(SDPA, STABLE, CAUSAL),
           why="normalizes over the queries instead of the keys"),
    Mutant("scaled_dot_product_attention_bool_mask_inverted", "scaled_dot_product_attention",
           (("scores.masked_fill(~attn_mask, float(\"-inf\"))", "scores.masked_fill(attn_mask, float(\"-inf\"))"),),
           breaks=(SDPA, EDGE),
           why="reads True as 'hidden' (nn.MultiheadAttention's convention) in a boolean attn_mask"),
    Mutant("scaled_dot_product_attention_float_mask_multiplied", "scaled_dot_product_attention",
           (("scores = scores + attn_mask", "scores = scores * attn_mask"),),
           breaks=(SDPA,),
           why="multiplies the scores by an additive mask"),
    Mutant("scaled_dot_product_attention_causal_upper_triangle", "scaled_dot_product_attention",
           ((".tril()", ".triu()"),),
           breaks=(SDPA, CAUSAL),
           why="keeps the upper triangle: each query sees the future instead of the past"),
    Mutant("scaled_dot_product_attention_causal_off_by_one", "scaled_dot_product_attention",
           ((".tril()", ".tril(1)"),),
           breaks=(SDPA, CAUSAL),
           why="the triangle includes one key after the query"),
    Mutant("scaled_dot_product_attention_causal_mask_after_softmax", "scaled_dot_product_attention",
           (("    if is_causal:\n        attn_mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()\n",
             "    if is_causal:\n        keep = torch.ones(q.shape[-2], k.shape[-2], dtype=q.dtype, device=q.device).tril()\n"
             "        return (torch.softmax(scores, dim=-1) * keep) @ v\n"),),
           breaks=(SDPA, CAUSAL),
           why="multiplies the weights by the triangle after the softmax: the future stays in the normalization"),
    Mutant("scaled_dot_product_attention_ignores_is_causal", "scaled_dot_product_attention",
           (("if attn_mask is None and not is_causal:", "if attn_mask is None:"),),
           breaks=(SDPA, CAUSAL),
           why="is_causal=True attends to every key"),
    Mutant("scaled_dot_product_attention_always_causal", "scaled_dot_product_attention",
           (("if attn_mask is None and not is_causal:", "if attn_mask is None and is_causal is None:"),
            ("    if is_causal:\n", "    if is_causal is not None:\n")),
           breaks=(SDPA, EQUIV), keeps=(CAUSAL,),
           why="tests `is_causal is not None`, so is_causal=False masks the future too"),
    Mutant("scaled_dot_product_attention_adds_positions", "scaled_dot_product_attention",
           (("    scores = (q @ k.transpose(-2, -1)) * scale\n",
             "    q = q + sinusoidal_positional_encoding(q.shape[-2], q.shape[-1], dtype=q.dtype)\n"
             "    k = k + sinusoidal_positional_encoding(k.shape[-2], k.shape[-1], dtype=k.dtype)\n"
             "    scores = (q @ k.transpose(-2, -1)) * scale\n"),),
           breaks=(SDPA, EQUIV),
           why="adds positional encodings inside attention: they belong to the model's input, not to this function"),
    Mutant("scaled_dot_product_attention_naive_exp", "scaled_dot_product_attention",
           ((_SOFTMAX_PLAIN, "        e = scores.exp()\n        return (e / e.sum(dim=-1, keepdim=True)) @ v\n"),),
           breaks=(STABLE,), keeps=(SDPA, EDGE, CAUSAL),
           why="exp without subtracting the maximum: inf / inf = nan for large scores"),
    Mutant("scaled_dot_product_attention_global_max", "scaled_dot_product_attention",
           ((_SOFTMAX_PLAIN,
             "        e = (scores - scores.max()).exp()\n        return (e / e.sum(dim=-1, keepdim=True)) @ v\n"),),
           breaks=(STABLE,), keeps=(SDPA, CAUSAL),
           why="subtracts one global maximum: rows far below it underflow to 0 / 0"),
    Mutant("scaled_dot_product_attention_clamped_scores", "scaled_dot_product_attention",
           ((_SOFTMAX_PLAIN, "        return torch.softmax(scores.clamp(-50.0, 50.0), dim=-1) @ v\n"),),
           breaks=(STABLE,), keeps=(SDPA,),
           why="clamps the scores to avoid overflow: large scores all become 50 and their differences are lost"),
    Mutant("scaled_dot_product_attention_nan_rows", "scaled_dot_product_attention",
           (("weights = torch.softmax(scores.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)",
             "weights = torch.softmax(scores, dim=-1)"),),
           breaks=(EDGE,), keeps=(SDPA, CAUSAL),
           why="no rule for a query with no key: softmax of a row of -inf is nan"),
    Mutant("scaled_dot_product_attention_nan_to_num_rows", "scaled_dot_product_attention",
           (("weights = torch.softmax(scores.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)",
             "weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)"),),
           breaks=(EDGE,), keeps=(SDPA, CAUSAL),
           why="replaces the nan of an empty row after the softmax: the output is right, the gradients are nan"),
    Mutant("scaled_dot_product_attention_minus_1e9", "scaled_dot_product_attention",
           (("scores.masked_fill(~attn_mask, float(\"-inf\"))", "scores.masked_fill(~attn_mask, -1e9)"),),
           breaks=(EDGE,), keeps=(SDPA, CAUSAL),
           why="masks with -1e9: a query with every key masked gets the average of the values, not zeros"),
    Mutant("scaled_dot_product_attention_ignores_dropout", "scaled_dot_product_attention",
           (("    if dropout_p != 0.0:\n", "    if False:\n"),),
           breaks=(EDGE,), keeps=(SDPA,),
           why="silently ignores dropout_p"),
    Mutant("scaled_dot_product_attention_loop_over_queries", "scaled_dot_product_attention",
           ((_SDPA_BODY,
             "    rows = []\n"
             "    for i in range(q.shape[-2]):\n"
             "        s = (k @ q[..., i, :, None])[..., 0] * scale\n"
             "        if is_causal:\n"
             "            s = s.masked_fill(torch.arange(k.shape[-2], device=q.device) > i, float(\"-inf\"))\n"
             "        elif attn_mask is not None:\n"
             "            m = attn_mask.expand(*q.shape[:-1], k.shape[-2])[..., i, :]\n"
             "            s = s.masked_fill(~m, float(\"-inf\")) if m.dtype == torch.bool else s + m\n"
             "        dead = torch.isneginf(s).all(dim=-1, keepdim=True)\n"
             "        w = torch.softmax(s.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)\n"
             "        rows.append((w[..., None, :] @ v)[..., 0, :])\n"
             "    return torch.stack(rows, dim=-2)\n"),),
           breaks=(SPEED,), keeps=(SDPA, EDGE, CAUSAL, STABLE, EQUIV),
           why="one query at a time: right, and 1,000 small steps"),
    Mutant("scaled_dot_product_attention_loop_over_keys", "scaled_dot_product_attention",
           ((_SDPA_BODY,
             "    if is_causal:\n"
             "        attn_mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()\n"
             "    additive = attn_mask\n"
             "    if attn_mask is not None and attn_mask.dtype == torch.bool:\n"
             "        additive = torch.zeros(attn_mask.shape, dtype=q.dtype, device=q.device).masked_fill(~attn_mask, float(\"-inf\"))\n"
             "    top = q.new_full(q.shape[:-1] + (1,), float(\"-inf\"))\n"
             "    total = q.new_zeros(q.shape[:-1] + (1,))\n"
             "    acc = q.new_zeros(q.shape[:-1] + (v.shape[-1],))\n"
             "    for j in range(k.shape[-2]):\n"
             "        s = (q @ k[..., j, :, None]) * scale\n"
             "        if additive is not None:\n"
             "            s = s + additive[..., j:j + 1]\n"
             "        new_top = torch.maximum(top, s)\n"
             "        safe = torch.where(torch.isinf(new_top), torch.zeros_like(new_top), new_top)\n"
             "        fix, w = torch.exp(top - safe), torch.exp(s - safe)\n"
             "        total = total * fix + w\n"
             "        acc = acc * fix + w * v[..., j:j + 1, :]\n"
             "        top = new_top\n"
             "    return acc / torch.where(total > 0, total, torch.ones_like(total))\n"),),
           breaks=(SPEED,), keeps=(SDPA,),
           why="an online softmax over the keys, one key at a time (flash attention's recurrence, in Python)"),
    # honest alternatives
    Mutant("scaled_dot_product_attention_manual_softmax", "scaled_dot_product_attention",
           ((_SDPA_BODY,
             "    scores = torch.einsum(\"...le,...se->...ls\", q, k) * scale\n"
             "    if is_causal:\n"
             "        future = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).triu(1)\n"
             "        scores = scores.masked_fill(future, float(\"-inf\"))\n"
             "    elif attn_mask is not None:\n"
             "        additive = attn_mask if attn_mask.dtype != torch.bool else \\\n"
             "            torch.zeros(attn_mask.shape, dtype=q.dtype, device=q.device).masked_fill(~attn_mask, float(\"-inf\"))\n"
             "        scores = scores + additive\n"
             "    top = scores.amax(dim=-1, keepdim=True) if scores.shape[-1] else scores.new_zeros(scores.shape[:-1] + (1,))\n"
             "    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top)).detach()\n"
             "    e = torch.exp(scores - top)\n"
             "    total = e.sum(dim=-1, keepdim=True)\n"
             "    return (e / torch.where(total > 0, total, torch.ones_like(total))) @ v\n"),),
           breaks=(), keeps=(SDPA, EDGE, CAUSAL, STABLE, EQUIV, SPEED),
           why="honest: einsum, a boolean mask turned additive, a softmax written out with each row's maximum "
               "and an empty row divided by 1"),
    Mutant("scaled_dot_product_attention_where_and_baddbmm", "scaled_dot_product_attention",
           (("    scores = (q @ k.transpose(-2, -1)) * scale\n",
             "    scores = torch.matmul(q * scale, k.transpose(-2, -1))\n"),
            ("        scores = scores.masked_fill(~attn_mask, float(\"-inf\"))\n",
             "        scores = torch.where(attn_mask, scores, torch.tensor(float(\"-inf\"), dtype=scores.dtype))\n"),
            ("    dead = torch.isneginf(scores).all(dim=-1, keepdim=True)          # queries with no key left\n"
             "    weights = torch.softmax(scores.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)\n",
             "    alive = (scores > float(\"-inf\")).any(dim=-1, keepdim=True)\n"
             "    weights = torch.softmax(torch.where(alive, scores, torch.zeros_like(scores)), dim=-1) * alive\n")),
           breaks=(), keeps=(SDPA, EDGE, CAUSAL, STABLE, EQUIV, SPEED),
           why="honest: the scale applied to q first, torch.where for the mask, rows kept by multiplying with `alive`"),

    # ---------------------------------------------------------------- split_heads / merge_heads
    Mutant("split_heads_without_transpose", "split_heads",
           (("return x.reshape(batch, length, num_heads, embed // num_heads).transpose(1, 2)",
             "return x.reshape(batch, num_heads, length, embed // num_heads)"),),
           breaks=(SPLIT,), keeps=(MHA,),
           why="reshapes to (B, h, L, d) directly: the right shape, positions mixed into the heads "
               "(multi_head_attention is graded with the course's split_heads)"),
    Mutant("split_heads_strided", "split_heads",
           (("return x.reshape(batch, length, num_heads, embed // num_heads).transpose(1, 2)",
             "return x.reshape(batch, length, embed // num_heads, num_heads).permute(0, 3, 1, 2)"),),
           breaks=(SPLIT,), keeps=(MHA,),
           why="head i takes every h-th feature instead of a block of d features"),
    Mutant("split_heads_chunks", "split_heads",
           (("return x.reshape(batch, length, num_heads, embed // num_heads).transpose(1, 2)",
             "return torch.stack(x.chunk(num_heads, dim=-1), dim=1)"),),
           breaks=(), keeps=(SPLIT,),
           why="honest: the feature dimension in num_heads chunks, stacked as heads"),
    Mutant("merge_heads_without_transpose", "merge_heads",
           (("return x.transpose(1, 2).reshape(batch, length, heads * head_dim)",
             "return x.reshape(batch, length, heads * head_dim)"),),
           breaks=(MERGE,), keeps=(MHA,),
           why="reshapes without moving the heads back behind the positions"),
    Mutant("merge_heads_view", "merge_heads",
           (("return x.transpose(1, 2).reshape(batch, length, heads * head_dim)",
             "return x.transpose(1, 2).view(batch, length, heads * head_dim)"),),
           breaks=(MERGE,), keeps=(MHA,),
           why="view instead of reshape: fails on the transposed (non-contiguous) tensor attention returns"),
    Mutant("merge_heads_cat", "merge_heads",
           (("return x.transpose(1, 2).reshape(batch, length, heads * head_dim)",
             "return torch.cat(x.unbind(dim=1), dim=-1)"),),
           breaks=(), keeps=(MERGE,),
           why="honest: the heads concatenated along the features"),

    # ---------------------------------------------------------------- multi_head_attention
    Mutant("multi_head_attention_bool_mask_inverted", "multi_head_attention",
           (("scores = scores.masked_fill(attn_mask, float(\"-inf\"))",
             "scores = scores.masked_fill(~attn_mask, float(\"-inf\"))"),),
           breaks=(MHA,),
           why="reads a boolean attn_mask as F.scaled_dot_product_attention does (True = attend)"),
    Mutant("multi_head_attention_ignores_padding", "multi_head_attention",
           (("    if key_padding_mask is not None:\n", "    if False:\n"),),
           breaks=(MHA,),
           why="ignores key_padding_mask: padded slices are attended"),
    Mutant("multi_head_attention_scaled_by_embed", "multi_head_attention",
           (("math.sqrt(embed // num_heads)", "math.sqrt(embed)"),),
           breaks=(MHA,),
           why="divides by sqrt(E) instead of sqrt(E / h), the size of one head"),
    Mutant("multi_head_attention_weights_summed", "multi_head_attention",
           (("weights.mean(dim=1)", "weights.sum(dim=1)"),),
           breaks=(MHA,),
           why="sums the heads' weights instead of averaging them"),
    Mutant("multi_head_attention_projections_k_q_v", "multi_head_attention",
           (("w_q, w_k, w_v = in_proj_weight.chunk(3)", "w_k, w_q, w_v = in_proj_weight.chunk(3)"),),
           breaks=(MHA,),
           why="takes the stacked projections in the order k, q, v"),
    Mutant("multi_head_attention_no_out_proj", "multi_head_attention",
           (("output = F.linear(merge_heads(weights @ v), out_proj_weight, out_proj_bias)",
             "output = merge_heads(weights @ v)"),),
           breaks=(MHA,),
           why="forgets the output projection"),
    # honest alternative
    Mutant("multi_head_attention_one_projection", "multi_head_attention",
           (("    w_q, w_k, w_v = in_proj_weight.chunk(3)\n"
             "    b_q, b_k, b_v = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)\n"
             "    q = split_heads(F.linear(query, w_q, b_q), num_heads)\n"
             "    k = split_heads(F.linear(key, w_k, b_k), num_heads)\n"
             "    v = split_heads(F.linear(value, w_v, b_v), num_heads)\n"
             "    scores = q @ k.transpose(-2, -1) / math.sqrt(embed // num_heads)\n",
             "    def project(x, part):\n"
             "        w = in_proj_weight[part * embed:(part + 1) * embed]\n"
             "        out = torch.einsum(\"ble,fe->blf\", x, w)\n"
             "        if in_proj_bias is not None:\n"
             "            out = out + in_proj_bias[part * embed:(part + 1) * embed]\n"
             "        return split_heads(out, num_heads)\n"
             "    q, k, v = project(query, 0), project(key, 1), project(value, 2)\n"
             "    scores = (q / math.sqrt(embed // num_heads)) @ k.transpose(-2, -1)\n"),),
           breaks=(), keeps=(MHA,),
           why="honest: slices of in_proj_weight with einsum, the scale applied to q"),

    # ---------------------------------------------------------------- sinusoidal_positional_encoding
    Mutant("sinusoidal_positional_encoding_concatenated", "sinusoidal_positional_encoding",
           (("    pe = torch.zeros(length, dim, dtype=torch.float64)\n    pe[:, 0::2] = torch.sin(angle)\n"
             "    pe[:, 1::2] = torch.cos(angle[:, : dim // 2])\n",
             "    pe = torch.cat([torch.sin(angle), torch.cos(angle[:, : dim // 2])], dim=1)\n"),),
           breaks=(PE,),
           why="all sines, then all cosines: the other layout"),
    Mutant("sinusoidal_positional_encoding_exponent_i_over_d", "sinusoidal_positional_encoding",
           (("-torch.arange(0, dim, 2, dtype=torch.float64) / dim",
             "-torch.arange(0, (dim + 1) // 2, dtype=torch.float64) / dim"),),
           breaks=(PE,),
           why="frequencies base^(-i/D) instead of base^(-2i/D)"),
    Mutant("sinusoidal_positional_encoding_sin_cos_swapped", "sinusoidal_positional_encoding",
           (("    pe[:, 0::2] = torch.sin(angle)\n    pe[:, 1::2] = torch.cos(angle[:, : dim // 2])\n",
             "    pe[:, 0::2] = torch.cos(angle)\n    pe[:, 1::2] = torch.sin(angle[:, : dim // 2])\n"),),
           breaks=(PE,),
           why="cosines in the even columns"),
    Mutant("sinusoidal_positional_encoding_float32_angles", "sinusoidal_positional_encoding",
           (("position = torch.arange(length, dtype=torch.float64)[:, None]",
             "position = torch.arange(length, dtype=torch.float32)[:, None]"),
            ("-torch.arange(0, dim, 2, dtype=torch.float64) / dim", "-torch.arange(0, dim, 2, dtype=torch.float32) / dim"),
            ("pe = torch.zeros(length, dim, dtype=torch.float64)", "pe = torch.zeros(length, dim, dtype=torch.float32)")),
           breaks=(PE,),
           why="angles in float32: off by about 1e-4 at positions in the thousands"),
    Mutant("sinusoidal_positional_encoding_even_dims_only", "sinusoidal_positional_encoding",
           (("pe[:, 1::2] = torch.cos(angle[:, : dim // 2])", "pe[:, 1::2] = torch.cos(angle)"),),
           breaks=(PE,),
           why="assumes an even dimension: an odd one fails"),
    # honest alternative
    Mutant("sinusoidal_positional_encoding_exp_log", "sinusoidal_positional_encoding",
           (("    frequency = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)\n",
             "    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(base) / dim))\n"),),
           breaks=(), keeps=(PE,),
           why="honest: the frequencies as exp(-2i log(base) / D), in float64"),
]

# the mistakes of the demo's buggy student: the paper's GRU, and heads split by a plain reshape
DEMO = ("gru_cell_reset_before_matmul", "split_heads_without_transpose")

# ---- audit
# Mistakes an audit of the checks found earning points, each now caught (and two honest variants that the
# stricter checks must keep paying): an input changed in place inside the state's tuple, a global setting
# changed, a result that is not new, a softmax shifted by less than each row's maximum or masked after the
# fact, a bug past some sequence length, a lean loop over the queries.


def _query_blocks(triangle: str) -> str:
    """The attention body done for blocks of 16 queries, the causal triangle of a block as ``triangle``."""
    return ("    rows = []\n"
            "    for start in range(0, q.shape[-2], 16):                 # a 16 x S block of scores at a time\n"
            "        block = q[..., start:start + 16, :]\n"
            "        scores = (block @ k.transpose(-2, -1)) * scale\n"
            "        if is_causal:\n"
            "            keep = torch.ones(block.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device)\n"
            f"            scores = scores.masked_fill(~{triangle}, float(\"-inf\"))\n"
            "        elif attn_mask is not None:\n"
            "            m = attn_mask.expand(*q.shape[:-1], k.shape[-2])[..., start:start + 16, :]\n"
            "            scores = scores.masked_fill(~m, float(\"-inf\")) if m.dtype == torch.bool else scores + m\n"
            "        dead = torch.isneginf(scores).all(dim=-1, keepdim=True)\n"
            "        rows.append(torch.softmax(scores.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0) @ v)\n"
            "    return torch.cat(rows, dim=-2)\n")


MUTANTS += [
    Mutant("lstm_cell_cell_state_in_place", "lstm_cell",
           (("c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)",
             "c_next = c.mul_(torch.sigmoid(f)).add_(torch.sigmoid(i) * torch.tanh(g))"),),
           breaks=(LSTM,), keeps=(SEQ,),
           why="updates the given c in place: the values are right, the caller's state (a tensor inside the "
               "tuple) is overwritten"),
    Mutant("lstm_cell_sets_default_dtype", "lstm_cell",
           (("        zeros = x.new_zeros(x.shape[0], hidden)\n",
             "        torch.set_default_dtype(x.dtype)\n        zeros = torch.zeros(x.shape[0], hidden)\n"),),
           breaks=(LSTM,), keeps=(SEQ,),
           why="zeros of x's dtype by changing torch's default dtype: every later torch.zeros of the notebook "
               "is float64"),
    Mutant("gru_cell_reseeds", "gru_cell",
           (("    if h is None:\n", "    torch.manual_seed(0)                          # reproducible\n    if h is None:\n"),),
           breaks=(GRU,),
           why="seeds torch's global generator at every step: every later random draw of the notebook repeats"),
    Mutant("lstm_over_slices_state_written_back", "lstm_over_slices",
           (("    outputs = []\n", "    given, outputs = state, []\n"),
            ("    return torch.stack(outputs), state\n",
             "    if given is not None:                         # the caller's state, carried forward in place\n"
             "        given[0].copy_(state[0])\n        given[1].copy_(state[1])\n        state = given\n"
             "    return torch.stack(outputs), state\n")),
           breaks=(SEQ,),
           why="writes the final state into the initial state's tensors: the caller's (h0, c0) are lost"),
    Mutant("scaled_dot_product_attention_mean_shift", "scaled_dot_product_attention",
           ((_SOFTMAX_PLAIN,
             "        e = (scores - scores.mean(dim=-1, keepdim=True)).exp()\n"
             "        return (e / e.sum(dim=-1, keepdim=True)) @ v\n"),),
           breaks=(STABLE,), keeps=(SDPA, EDGE, CAUSAL, EQUIV),
           why="subtracts each row's mean: enough while a row's scores are close, exp overflows where they are "
               "far apart"),
    Mutant("scaled_dot_product_attention_bool_mask_after_softmax", "scaled_dot_product_attention",
           (("    if attn_mask.dtype == torch.bool:\n        scores = scores.masked_fill(~attn_mask, float(\"-inf\"))\n"
             "    else:\n        scores = scores + attn_mask\n",
             "    if attn_mask.dtype == torch.bool:             # the softmax of every key, then the kept ones\n"
             "        weights = torch.softmax(scores, dim=-1) * attn_mask\n"
             "        total = weights.sum(dim=-1, keepdim=True)\n"
             "        return (weights / torch.where(total > 0, total, torch.ones_like(total))) @ v\n"
             "    scores = scores + attn_mask\n"),),
           breaks=(STABLE, CAUSAL), keeps=(SDPA, EDGE),
           why="a boolean mask applied after the softmax and renormalized: equal in exact arithmetic, but the kept "
               "keys underflow to 0 when a masked key scores far above them, and the future's gradient is not 0"),
    Mutant("scaled_dot_product_attention_causal_per_block", "scaled_dot_product_attention",
           ((_SDPA_BODY, _query_blocks("keep.tril()")),),
           breaks=(SDPA, CAUSAL), keeps=(EDGE, STABLE, EQUIV),
           why="blocks of 16 queries, each block's causal triangle starting at its own first key instead of at "
               "the block's position: right up to 16 queries"),
    Mutant("scaled_dot_product_attention_view_of_v", "scaled_dot_product_attention",
           (("    scores = (q @ k.transpose(-2, -1)) * scale\n",
             "    if k.shape[-2] == 1 and attn_mask is None and not is_causal:     # one key: weight 1\n"
             "        return v.expand(*q.shape[:-1], v.shape[-1])\n"
             "    scores = (q @ k.transpose(-2, -1)) * scale\n"),),
           breaks=(SDPA,), keeps=(EDGE, CAUSAL, STABLE, EQUIV),
           why="with one key returns v itself, expanded: a view of the input, not a new tensor"),
    Mutant("scaled_dot_product_attention_lean_loop_over_queries", "scaled_dot_product_attention",
           ((_SOFTMAX_PLAIN,
             "        k_t = k.transpose(-2, -1) * scale\n"
             "        return torch.cat([torch.softmax(q[..., i:i + 1, :] @ k_t, dim=-1) @ v\n"
             "                          for i in range(q.shape[-2])], dim=-2)\n"),),
           breaks=(SPEED,), keeps=(SDPA, EDGE, CAUSAL, STABLE, EQUIV),
           why="three operations per query: on one CPU thread and 1,000 keys within 8x of the library's time; "
               "over 128 keys, 20x"),
    Mutant("multi_head_attention_padding_merged_in_place", "multi_head_attention",
           (("    if key_padding_mask is not None:\n        scores = scores.masked_fill(",
             "    if key_padding_mask is not None and attn_mask is not None and attn_mask.dtype == torch.bool:\n"
             "        key_padding_mask |= attn_mask.all(dim=0)          # keys no query may attend: padding too\n"
             "    if key_padding_mask is not None:\n        scores = scores.masked_fill("),),
           breaks=(MHA,),
           why="marks the keys that attn_mask hides from every query as padding, in the caller's mask: the values "
               "are right, the caller's key_padding_mask is changed"),
    Mutant("sinusoidal_positional_encoding_cached", "sinusoidal_positional_encoding",
           (("def sinusoidal_positional_encoding(",
             "import functools\n\n\n@functools.lru_cache(maxsize=None)\ndef sinusoidal_positional_encoding("),),
           breaks=(PE,),
           why="a cache returns the same tensor to every caller: one that adds to it in place changes everyone's"),
    Mutant("sinusoidal_positional_encoding_default_dtype", "sinusoidal_positional_encoding",
           (("    position = torch.arange(length, dtype=torch.float64)[:, None]\n",
             "    torch.set_default_dtype(torch.float64)        # angles in float64\n"
             "    position = torch.arange(length)[:, None]\n"),),
           breaks=(PE,),
           why="computes in float64 by changing torch's default dtype, and leaves it changed"),
    # honest alternatives
    Mutant("scaled_dot_product_attention_query_blocks", "scaled_dot_product_attention",
           ((_SDPA_BODY, _query_blocks("keep.tril(start)")),),
           breaks=(), keeps=(SDPA, EDGE, CAUSAL, STABLE, EQUIV, SPEED),
           why="honest: blocks of 16 queries (a smaller score matrix at a time), the causal triangle shifted by "
               "the block's position"),
    Mutant("scaled_dot_product_attention_masked_path_always", "scaled_dot_product_attention",
           ((_SOFTMAX_PLAIN, "        attn_mask = torch.zeros(scores.shape[-2:], dtype=q.dtype, device=q.device)\n"),),
           breaks=(), keeps=(SDPA, EDGE, CAUSAL, STABLE, EQUIV, SPEED),
           why="honest: no shortcut without a mask, a zero additive mask and the empty-row handling every time "
               "(the slowest honest version measured, 2.6-3.5x)"),
]
