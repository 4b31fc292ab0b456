"""Known-wrong answers of 17_tracking (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`)."""
from medgrade.mutants import Mutant

COST = "iou_cost_matrix_correct"
OPTIMAL, FORM = "assign_optimal", "assign_contract"
KF_REF, KF_COV = "kalman_filter_reference", "kalman_filter_covariance"
LIFE, CELLS = "tracker_lifecycle", "tracker_on_cells"
COUNTS, IDSW = "clear_mot_counts", "clear_mot_id_switches"

_ASSIGN_BLOCK = '    rows, cols = cost.shape\n    values = cost.detach().double().cpu().tolist()\n    allowed = [[v <= max_cost and v < math.inf for v in row] for row in values]\n    pairs = []\n    if rows and cols and any(any(r) for r in allowed):\n        worst = max(abs(v) for row, ok in zip(values, allowed) for v, a in zip(row, ok) if a)\n        big = 1.0 + 2.0 * min(rows, cols) * (worst + 1.0)   # dearer than any set of admissible pairs\n        gated = [[v if a else big for v, a in zip(row, ok)] for row, ok in zip(values, allowed)]\n        if rows <= cols:\n            pairs = _hungarian(gated)\n        else:\n            pairs = [(i, j) for j, i in _hungarian([list(col) for col in zip(*gated)])]\n        pairs = sorted((i, j) for i, j in pairs if allowed[i][j])\n'

_LSA_ASSIGN = """    rows, cols = cost.shape
    from scipy.optimize import linear_sum_assignment
    c = cost.detach().double().cpu().numpy()
    ok = (c <= max_cost) & (c < math.inf)
    pairs = []
    if c.size and ok.any():
        r, k = linear_sum_assignment(np.where(ok, c, 1e9))
        pairs = sorted((int(i), int(j)) for i, j in zip(r, k) if ok[i, j])
"""

_LINPROG_ASSIGN = """    rows, cols = cost.shape
    from scipy.optimize import linprog
    c = cost.detach().double().cpu().numpy()
    ok = (c <= max_cost) & (c < math.inf)
    pairs = []
    if c.size and ok.any():
        idx = np.argwhere(ok)
        w = c[ok]
        big = 1.0 + 2.0 * min(rows, cols) * (np.abs(w).max() + 1.0)
        a = np.zeros((rows + cols, len(idx)))
        for k, (i, j) in enumerate(idx):
            a[i, k] = a[rows + j, k] = 1.0
        res = linprog(w - big, A_ub=a, b_ub=np.ones(rows + cols), bounds=(0, 1), method="highs")
        pairs = sorted((int(i), int(j)) for (i, j), v in zip(idx, res.x) if v > 0.5)
"""

_GREEDY_ASSIGN = """    rows, cols = cost.shape
    values = cost.detach().double().cpu().tolist()
    candidates = sorted((v, i, j) for i, row in enumerate(values) for j, v in enumerate(row)
                        if v <= max_cost and v < math.inf)
    pairs, used_rows, used_cols = [], set(), set()
    for v, i, j in candidates:                      # cheapest pair first
        if i not in used_rows and j not in used_cols:
            pairs.append((i, j))
            used_rows.add(i)
            used_cols.add(j)
    pairs.sort()
"""

MUTANTS = [
    # ---------------------------------------------------------------- iou_cost_matrix
    Mutant("iou_cost_matrix_iou_not_cost", "iou_cost_matrix",
           (("return 1.0 - torchvision.ops.box_iou(tracks, detections)", "return torchvision.ops.box_iou(tracks, detections)"),),
           breaks=(COST,), keeps=(LIFE,), why="returns the IoU itself: the assignment then prefers the boxes that do not overlap"),
    Mutant("iou_cost_matrix_transposed", "iou_cost_matrix",
           (("return 1.0 - torchvision.ops.box_iou(tracks, detections)", "return 1.0 - torchvision.ops.box_iou(detections, tracks)"),),
           breaks=(COST,), why="detections as rows: (D, T) instead of (T, D)"),
    Mutant("iou_cost_matrix_empty_square", "iou_cost_matrix",
           (("return tracks.new_zeros((len(tracks), len(detections)))", "return tracks.new_zeros((0, 0))"),),
           breaks=(COST,), why="an empty set gives a (0, 0) matrix: the tracker then loses the count of rows or columns"),
    Mutant("iou_cost_matrix_float32", "iou_cost_matrix",
           (("return 1.0 - torchvision.ops.box_iou(tracks, detections)",
             "return 1.0 - torchvision.ops.box_iou(tracks.float(), detections.float())"),),
           breaks=(COST,), why="computes in float32: float64 boxes come back in float32"),
    Mutant("iou_cost_matrix_own_iou", "iou_cost_matrix",
           (("    return 1.0 - torchvision.ops.box_iou(tracks, detections)\n",
             "    lt = torch.max(tracks[:, None, :2], detections[None, :, :2])\n"
             "    rb = torch.min(tracks[:, None, 2:], detections[None, :, 2:])\n"
             "    inter = (rb - lt).clamp(min=0).prod(dim=2)\n"
             "    area_t = (tracks[:, 2:] - tracks[:, :2]).prod(dim=1)\n"
             "    area_d = (detections[:, 2:] - detections[:, :2]).prod(dim=1)\n"
             "    return 1 - inter / (area_t[:, None] + area_d[None, :] - inter)\n"),),
           breaks=(), keeps=(COST,), why="honest: IoU written out by broadcasting (chapter 14's box_iou)"),

    # ---------------------------------------------------------------- assign
    Mutant("assign_greedy", "assign", ((_ASSIGN_BLOCK, _GREEDY_ASSIGN),),
           breaks=(OPTIMAL,), keeps=(FORM,),
           why="greedy: the cheapest pair first; not the least total cost, sometimes fewer pairs"),
    Mutant("assign_gate_after", "assign",
           (("        gated = [[v if a else big for v, a in zip(row, ok)] for row, ok in zip(values, allowed)]",
             "        gated = [[v if v < math.inf else big for v in row] for row in values]"),),
           breaks=(OPTIMAL,), keeps=(FORM, LIFE, COUNTS),
           why="SORT's order: the optimal assignment of all pairs, gated pairs dropped afterwards (fewer pairs)"),
    Mutant("assign_gate_strict", "assign",
           (("v <= max_cost and v < math.inf", "v < max_cost"),),
           breaks=(OPTIMAL,),
           why="cost < max_cost: a pair exactly at the gate is refused"),
    Mutant("assign_inf_allowed", "assign",
           (("v <= max_cost and v < math.inf", "v <= max_cost"),),
           breaks=(OPTIMAL,),
           why="with max_cost = inf, infinite costs count as admissible and get matched"),
    Mutant("assign_small_big", "assign",
           (("        big = 1.0 + 2.0 * min(rows, cols) * (worst + 1.0)", "        big = max_cost + 1e-3"),),
           breaks=(OPTIMAL,), keeps=(FORM,),
           why="the gated entries barely above the gate: the solver trades admissible pairs for cheaper totals"),
    Mutant("assign_scipy", "assign",
           ((_ASSIGN_BLOCK, _LSA_ASSIGN),),
           breaks=(OPTIMAL, FORM), why="calls scipy.optimize.linear_sum_assignment: refused"),
    Mutant("assign_linprog", "assign",
           ((_ASSIGN_BLOCK, _LINPROG_ASSIGN),),
           breaks=(OPTIMAL, FORM), why="solves the assignment as a linear program with scipy.optimize.linprog: refused"),
    Mutant("assign_unsorted", "assign",
           (("        pairs = sorted((i, j) for i, j in pairs if allowed[i][j])",
             "        pairs = sorted(((i, j) for i, j in pairs if allowed[i][j]), key=lambda p: p[1])"),),
           breaks=(FORM,), keeps=(OPTIMAL,), why="matches sorted by column instead of by row"),
    Mutant("assign_unmatched_unsorted", "assign",
           (("unmatched_cols = torch.tensor([j for j in range(cols) if j not in matched_cols], dtype=torch.int64)",
             "unmatched_cols = torch.tensor(sorted(set(range(cols)) - matched_cols, reverse=True), dtype=torch.int64)"),),
           breaks=(FORM,), keeps=(OPTIMAL,), why="unmatched columns in decreasing order"),
    Mutant("assign_all_columns_unmatched_when_empty", "assign",
           (("    matches = torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2)\n",
             "    matches = torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2)\n"
             "    if not pairs:\n"
             "        return matches, torch.arange(rows), torch.arange(0)\n"),),
           breaks=(FORM,), keeps=(OPTIMAL,), why="when nothing matches, forgets the unmatched columns"),
    Mutant("assign_in_place_gate", "assign",
           (("    values = cost.detach().double().cpu().tolist()\n",
             "    cost[cost > max_cost] = float('inf')\n    values = cost.detach().double().cpu().tolist()\n"),),
           breaks=(FORM,), keeps=(OPTIMAL,), why="writes the gate into the caller's cost matrix (the matching itself is right)"),

    # ---------------------------------------------------------------- KalmanFilter
    Mutant("kalman_no_process_noise", "KalmanFilter",
           (("        P = self.F @ self.P @ self.F.T + self.Q\n", "        P = self.F @ self.P @ self.F.T\n"),),
           breaks=(KF_REF,), keeps=(KF_COV, LIFE), why="predict() forgets Q: the filter grows overconfident"),
    Mutant("kalman_static_model", "KalmanFilter",
           (("        self.F[:4, 4:] = torch.eye(4, dtype=d)\n", ""),),
           breaks=(KF_REF,), keeps=(KF_COV,), why="F is the identity: no velocity, the box never moves on its own"),
    Mutant("kalman_gain_without_prior", "KalmanFilter",
           (("        S = self.H @ self.P @ self.H.T + self.R\n", "        S = self.R\n"),),
           breaks=(KF_REF,), why="the gain divides by R alone instead of the innovation covariance H P H^T + R"),
    Mutant("kalman_default_p0", "KalmanFilter",
           (("[10.0] * 4 + [1000.0] * 4", "[10.0] * 8"),),
           breaks=(KF_REF,), keeps=(KF_COV,), why="the velocities start as certain as the position"),
    Mutant("kalman_not_symmetrized", "KalmanFilter",
           (("        P = self.F @ self.P @ self.F.T + self.Q\n        self.P = (P + P.T) / 2\n",
             "        self.P = self.F @ self.P @ self.F.T + self.Q\n"),
            ("        P = A @ self.P @ A.T + K @ self.R @ K.T                  # Joseph form\n        self.P = (P + P.T) / 2\n",
             "        self.P = A @ self.P @ A.T + K @ self.R @ K.T\n")),
           breaks=(KF_COV,), keeps=(KF_REF,), why="P drifts from symmetry by rounding (no (P + P.T) / 2)"),
    Mutant("kalman_keeps_p0", "KalmanFilter",
           (("else P0.to(d).clone()", "else P0"),
            ("        P = self.F @ self.P @ self.F.T + self.Q\n        self.P = (P + P.T) / 2\n",
             "        P = self.F @ self.P @ self.F.T + self.Q\n        self.P.copy_((P + P.T) / 2)\n")),
           breaks=(KF_COV, KF_REF), why="stores the caller's P0 and updates it in place"),
    Mutant("kalman_minus_krk", "KalmanFilter",
           (("+ K @ self.R @ K.T", "- K @ self.R @ K.T"),),
           breaks=(KF_REF, KF_COV), why="a sign error in the Joseph form: P loses its positive definiteness"),
    Mutant("kalman_simple_form", "KalmanFilter",
           (("        P = A @ self.P @ A.T + K @ self.R @ K.T                  # Joseph form\n",
             "        P = A @ self.P\n"),),
           breaks=(), keeps=(KF_REF, KF_COV), why="honest: the short form (I - K H) P, then symmetrized"),
    Mutant("kalman_inverse", "KalmanFilter",
           (("        K = torch.linalg.solve(S, self.H @ self.P).T            # P H^T S^-1 (S and P symmetric)\n",
             "        K = self.P @ self.H.T @ torch.linalg.inv(S)\n"),),
           breaks=(), keeps=(KF_REF, KF_COV), why="honest: the gain with an explicit inverse"),

    # ---------------------------------------------------------------- Tracker
    Mutant("tracker_reuses_ids", "Tracker",
           (("            self.next_id += 1\n", "            self.next_id = len(self.tracks) + 1\n"),),
           breaks=(LIFE,), why="the next id is the number of live tracks + 1: a dead track's id comes back"),
    Mutant("tracker_dies_early", "Tracker",
           (('if t["misses"] <= self.max_age]', 'if t["misses"] < self.max_age]'),),
           breaks=(LIFE,), why="deletes a track after max_age misses instead of after more than max_age"),
    Mutant("tracker_reports_coasting", "Tracker",
           (('if t["misses"] == 0 and t["hits"] >= self.min_hits]', 'if t["hits"] >= self.min_hits]'),),
           breaks=(LIFE, CELLS), why="also reports tracks that were not matched in this frame (their prediction)"),
    Mutant("tracker_min_hits_off_by_one", "Tracker",
           (('t["hits"] >= self.min_hits', 't["hits"] > self.min_hits'),),
           breaks=(LIFE, CELLS), why="confirms a track one hit late"),
    Mutant("tracker_reports_detection", "Tracker",
           (('            t["kf"].update(_to_z(detections[j]))\n',
             '            t["kf"].update(_to_z(detections[j]))\n            t["box"] = detections[j]\n'),
            ('"hits": 1, "misses": 0})', '"hits": 1, "misses": 0, "box": detections[j]})'),
            ('return [(t["id"], _to_box(t["kf"].x[:4])) for t in self.tracks', 'return [(t["id"], t["box"]) for t in self.tracks')),
           breaks=(LIFE, CELLS), why="reports the raw detection, not the filter's estimate"),
    Mutant("tracker_gate_on_cost", "Tracker",
           (("assign(cost, 1.0 - self.iou_threshold)", "assign(cost, self.iou_threshold)"),),
           breaks=(LIFE, CELLS), why="uses iou_threshold as the largest cost: pairs need IoU >= 1 - iou_threshold"),
    Mutant("tracker_ids_from_zero", "Tracker",
           (("        self.next_id = 1\n", "        self.next_id = 0\n"),),
           breaks=(LIFE, CELLS), why="ids start at 0"),
    Mutant("tracker_no_prediction", "Tracker",
           (('        predicted = [t["kf"].predict() for t in self.tracks]\n',
             '        predicted = [t["kf"].x[:4].clone() for t in self.tracks]\n'),),
           breaks=(LIFE, CELLS), why="matches against the last estimate, never predicts: no motion model"),
    Mutant("tracker_records_misses_list", "Tracker",
           (('        for i in unmatched_tracks.tolist():\n            self.tracks[i]["misses"] += 1\n',
             '        for i in range(len(self.tracks)):\n            if i not in set(matches[:, 0].tolist()):\n'
             '                self.tracks[i]["misses"] += 1\n'),),
           breaks=(), keeps=(LIFE, CELLS), why="honest: the unmatched tracks found from the matches"),

    # ---------------------------------------------------------------- clear_mot
    Mutant("clear_mot_no_continuity", "clear_mot",
           (("            if h in h_ids:\n", "            if False:\n"),),
           breaks=(IDSW,), keeps=(COUNTS,),
           why="matches every frame from scratch: a better-overlapping hypothesis steals the object (a switch)"),
    Mutant("clear_mot_previous_frame_only", "clear_mot",
           (("        for i, j in pairs:\n            last[g_ids[i]] = h_ids[j]\n",
             "        last = {}\n        for i, j in pairs:\n            last[g_ids[i]] = h_ids[j]\n"),),
           breaks=(IDSW,), why="remembers correspondences for one frame: a switch across a gap goes uncounted"),
    Mutant("clear_mot_strict_threshold", "clear_mot",
           (("if j in free_h and float(iou[i, j]) >= iou_threshold:", "if j in free_h and float(iou[i, j]) > iou_threshold:"),
            ("            matches, _, _ = assign(cost, 1.0 - iou_threshold)",
             "            matches, _, _ = assign(cost, 1.0 - iou_threshold - 1e-12)")),
           breaks=(COUNTS,), why="IoU > 0.5 instead of >= 0.5: a hypothesis covering exactly half is a miss"),
    Mutant("clear_mot_greedy", "clear_mot",
           (("            matches, _, _ = assign(cost, 1.0 - iou_threshold)\n",
             "            matches, used = [], set()\n"
             "            for a in range(len(free_g)):\n"
             "                b = int(torch.argmin(cost[a]))\n"
             "                if float(cost[a, b]) <= 1.0 - iou_threshold and b not in used:\n"
             "                    matches.append((a, b))\n"
             "                    used.add(b)\n"
             "            matches = torch.tensor(matches, dtype=torch.int64).reshape(-1, 2)\n"),),
           breaks=(COUNTS,), why="each object takes its best hypothesis in turn (greedy), not the optimal assignment"),
    Mutant("clear_mot_mota_without_idsw", "clear_mot",
           (('    errors = counts["fn"] + counts["fp"] + counts["idsw"]', '    errors = counts["fn"] + counts["fp"]'),),
           breaks=(COUNTS,), keeps=(IDSW,), why="MOTA without the identity switches"),
    Mutant("clear_mot_switch_any_change", "clear_mot",
           (("                if g_ids[i] in last and last[g_ids[i]] != h_ids[j]:\n",
             "                if last.get(g_ids[i], h_ids[j]) != h_ids[j] or g_ids[i] not in last:\n"),),
           breaks=(IDSW,), keeps=(COUNTS,), why="counts a first match as a switch too"),
    Mutant("clear_mot_nan_as_zero", "clear_mot",
           (('if counts["gt"] else float("nan")', 'if counts["gt"] else 0.0'),),
           breaks=(COUNTS,), keeps=(IDSW,), why="MOTA 0 for a sequence without objects"),
]

# ---- audit
MUTANTS += [
    Mutant("assign_penalty_above_max_cost", "assign",
           (("        big = 1.0 + 2.0 * min(rows, cols) * (worst + 1.0)   # dearer than any set of admissible pairs\n",
             "        big = max_cost + 1.0 if max_cost < math.inf else 1e9\n"),),
           breaks=(OPTIMAL,), keeps=(FORM,),
           why="prices a gated pair at max_cost + 1: with negative or large costs a complete assignment trades "
               "admissible pairs for a gated one"),
    Mutant("assign_float32_values", "assign",
           (("    values = cost.detach().double().cpu().tolist()\n",
             "    values = cost.detach().float().double().cpu().tolist()\n"),),
           breaks=(OPTIMAL,), why="compares and sums in float32: a float64 cost just below max_cost is gated"),
    Mutant("assign_sparse_matching", "assign",
           ((_ASSIGN_BLOCK, """    rows, cols = cost.shape
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching
    c = cost.detach().double().cpu().numpy()
    ok = (c <= max_cost) & (c < math.inf)
    pairs = []
    if c.size and ok.any():
        padded = np.full((rows + cols, rows + cols), 1e12)
        padded[:rows, :cols] = np.where(ok, c - c[ok].min() + 1.0, 1e9)
        r, k = min_weight_full_bipartite_matching(csr_matrix(padded))
        pairs = sorted((int(i), int(j)) for i, j in zip(r, k) if i < rows and j < cols and ok[i, j])
"""),),
           breaks=(OPTIMAL, FORM), why="SciPy's sparse bipartite matching solves the assignment: refused"),
    Mutant("kalman_innovation_in_place", "KalmanFilter",
           (("        self.x = self.x + K @ (z - self.H @ self.x)\n",
             "        z -= self.H @ self.x\n        self.x = self.x + K @ z\n"),),
           breaks=(KF_COV,), why="computes the innovation in the caller's measurement z"),
    Mutant("tracker_matches_last_box", "Tracker",
           (('        predicted = [t["kf"].predict() for t in self.tracks]\n',
             '        predicted = [t["kf"].x[:4].clone() for t in self.tracks]\n'
             '        for t in self.tracks:\n            t["kf"].predict()\n'),),
           breaks=(LIFE,), why="predicts, but builds the cost from the last estimate instead of the prediction"),
    Mutant("tracker_gate_after", "Tracker",
           (("        matches, unmatched_tracks, unmatched_dets = assign(cost, 1.0 - self.iou_threshold)\n",
             "        from scipy.optimize import linear_sum_assignment\n"
             "        r, k = linear_sum_assignment(cost.numpy()) if cost.numel() else ([], [])\n"
             "        kept = [(int(i), int(j)) for i, j in zip(r, k) if cost[i, j] <= 1.0 - self.iou_threshold]\n"
             "        matches = torch.tensor(kept, dtype=torch.int64).reshape(-1, 2)\n"
             "        unmatched_tracks = torch.tensor([i for i in range(len(self.tracks)) if i not in {a for a, _ in kept}],"
             " dtype=torch.int64)\n"
             "        unmatched_dets = torch.tensor([j for j in range(len(detections)) if j not in {b for _, b in kept}],"
             " dtype=torch.int64)\n"),),
           breaks=(LIFE,), why="SORT's order inside the tracker: the full assignment, gated pairs dropped afterwards"),
    Mutant("tracker_misses_count_as_hits", "Tracker",
           (('            self.tracks[i]["misses"] += 1\n',
             '            self.tracks[i]["misses"] += 1\n            self.tracks[i]["hits"] += 1\n'),),
           breaks=(LIFE,), why="counts frames of age, not detections: a track is confirmed across its misses"),
    Mutant("tracker_strict_iou", "Tracker",
           (("assign(cost, 1.0 - self.iou_threshold)", "assign(cost, (1.0 - self.iou_threshold) * (1 - 1e-12))"),),
           breaks=(LIFE,), why="IoU > iou_threshold instead of >="),
    Mutant("tracker_fixed_threshold", "Tracker",
           (("assign(cost, 1.0 - self.iou_threshold)", "assign(cost, 0.7)"),),
           breaks=(LIFE,), why="ignores iou_threshold (the default's 0.3 hard-coded)"),
    Mutant("clear_mot_continuity_by_index", "clear_mot",
           (("        for i in sorted(free_g, key=lambda i: g_ids[i]):", "        for i in list(free_g):"),),
           breaks=(IDSW,), keeps=(COUNTS,), why="keeps correspondences in the frame's order instead of by increasing id"),
    Mutant("clear_mot_fixed_threshold", "clear_mot",
           (('    counts = {"gt": 0,', '    iou_threshold = 0.5\n    counts = {"gt": 0,'),),
           breaks=(COUNTS, IDSW), why="ignores iou_threshold (0.5 hard-coded)"),
    Mutant("clear_mot_forgets_taken_hypothesis", "clear_mot",
           (("        for i, j in pairs:\n            last[g_ids[i]] = h_ids[j]\n",
             "        for i, j in pairs:\n            last = {g: h for g, h in last.items() if h != h_ids[j]}\n"
             "            last[g_ids[i]] = h_ids[j]\n"),),
           breaks=(IDSW,), why="an object forgets its correspondence when another object takes that hypothesis"),
]

# the mistakes of the demo's buggy student
DEMO = ("assign_gate_after", "clear_mot_previous_frame_only")
