"""Train the spectral embedding (``matcher/learned/embedding-v1.npz``) — reproducibly, on 2 cores.

Not imported by the package; needs the ``train`` extra (``pip install -e '.[train]'``, a CPU
build of PyTorch: ``pip install torch==2.13.0``) and the shared data (``../shared/data``).

What it does, per technique (Raman, infrared):

1. **Data, disjoint from what is evaluated.** RRUFF spectra of the TUNE-half minerals
   (``bench/accuracy.py: is_tune``) minus a validation quarter of them (``is_validation``),
   plus the single-specimen ``library_only`` minerals (distractors in the benchmark library,
   never queries). No held-out mineral, no whenfung or multi-instrument spectrum is read.
2. **Field augmentations on the raw spectrum, then the real pipeline**
   (:meth:`matcher.library.Library.prepare`, the same code a query goes through): axis shift,
   band broadening (another instrument's resolution), detector response (a smooth gain
   curve), fluorescence (a broad hump; infrared: a sloping baseline), Gaussian noise, cosmic
   spikes. ``--variants`` such copies per spectrum are made once; during training a view
   is one of them (or the clean spectrum), shifted by whole grid steps and, sometimes,
   mixed with another substance's spectrum (a minor component).
3. **Metric learning**: each batch takes ``--classes`` minerals × 2 views (two different
   specimens where the mineral has them, else two views of one), a supervised-contrastive
   (InfoNCE) loss at temperature ``--temperature`` on the unit embeddings.
4. **Export** to the NumPy model file (:func:`matcher.learned.save_model`), re-loaded and
   checked against the torch forward; the config, the data split (every training mineral
   by name), the timings and the validation figures go to ``<out>.json`` next to it.

Run: ``.venv/bin/python tools/train_embedding.py`` (defaults = the shipped model).

The second attempt of issue 14 (``docs/accuracy.md``, "Second attempt"; NOT shipped: it did
not beat classic on the validation quarter) was ``--light --real-pairs --hard-negatives
--weight-decay 0.05 --blocks 8x9,16x7,16x5,16x5 --dim 64``: no band broadening and a
≤ ±1 cm⁻¹ shift in the augmentation, the two views always two specimens (else the same
specimen under two lasers), each batch pairing minerals with their classic nearest
neighbour, 500× the weight decay and a quarter of the parameters.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from accuracy import build, is_tune, is_validation, load_ftir, load_raman  # noqa: E402

from matcher.learned import load_model, reference_inputs, save_model  # noqa: E402
from matcher.library import QueryMismatchError  # noqa: E402
from matcher.representation import Representation  # noqa: E402
from spectra import Spectrum  # noqa: E402

DEFAULT_OUT = ROOT / "matcher" / "learned" / "embedding-v1.npz"


def field_augment(s: Spectrum, rng: np.random.Generator, technique: str,
                  light: bool = False) -> Spectrum:
    """A copy of a raw spectrum as another instrument / another day might record it.

    ``light``: no band broadening and an axis shift of at most ±1 cm⁻¹ (Raman; ±0.5 infrared):
    the second attempt's setting, since members of an isomorphous series differ by band
    shifts of a few cm⁻¹ and broadening/shifting teaches the network to ignore exactly that.
    """
    x, y = s.x.copy(), s.y.astype(np.float64).copy()
    top = float(np.max(y) - np.min(y)) or 1.0
    raman = technique == "raman"
    step = float(np.median(np.diff(x))) if x.size > 1 else 1.0
    if not light and rng.random() < 0.5:  # resolution: broadening of σ up to 3 (Raman) cm⁻¹
        y = gaussian_filter1d(y, rng.uniform(0.3, 3.0 if raman else 2.0) / step)
    t = (x - x.mean()) / max(float(np.ptp(x)) / 2.0, 1e-9)
    if rng.random() < 0.7:  # detector response: smooth gain curve
        y = y * (1.0 + rng.uniform(-0.3, 0.3) * t + rng.uniform(-0.2, 0.2) * t * t)
    if rng.random() < 0.5:
        if raman:  # fluorescence hump
            c = rng.uniform(x[0], x[-1])
            w = rng.uniform(0.3, 1.0) * (x[-1] - x[0])
            y = y + rng.uniform(0.2, 5.0) * top * np.exp(-0.5 * ((x - c) / w) ** 2)
        else:  # sloping / curved baseline
            y = y + rng.uniform(0.0, 0.5) * top * (1 + t) / 2 + rng.uniform(0, 0.2) * top * t * t
    if rng.random() < 0.7:
        y = y + rng.normal(0.0, top * float(np.exp(rng.uniform(np.log(0.002), np.log(0.1)))),
                           y.size)
    if raman and rng.random() < 0.3:
        for _ in range(int(rng.integers(1, 6))):
            i = int(rng.integers(0, y.size - 2))
            y[i:i + int(rng.integers(1, 3))] += rng.uniform(0.5, 2.0) * top
    limit = (4.0 if raman else 2.0) / (4.0 if light else 1.0)
    shift = rng.uniform(-limit, limit)
    return s.replace(x=x + shift, y=y)


def dataset(technique: str, variants: int, seed: int, light: bool = False) -> dict[str, Any]:
    """Training and validation data of one technique (see the module notes)."""
    spectra, meta = load_raman() if technique == "raman" else load_ftir()
    names = np.array([m["mineral"] for m in meta])
    ids = np.array([m["rruff_id"] for m in meta])
    role = np.array([m["benchmark_role"] for m in meta])
    train = np.array([(r == "library_only") or (is_tune(n) and not is_validation(n))
                      for n, r in zip(names, role, strict=True)])
    held = np.array([not is_tune(n) and r != "library_only" for n, r in zip(names, role,
                                                                           strict=True)])
    assert not (train & held).any()
    rows = np.flatnonzero(train)
    lib = build(spectra, names, rows, technique)
    clean = np.asarray(lib.matrix, dtype=np.float32)
    rng = np.random.default_rng([seed, 1])
    aug = np.empty((variants, rows.size, clean.shape[1]), dtype=np.float32)
    failed = 0
    t0 = time.perf_counter()
    for v in range(variants):
        for j, i in enumerate(rows):
            try:
                aug[v, j] = lib.prepare(field_augment(spectra[i], rng, technique, light))
            except QueryMismatchError:
                aug[v, j] = clean[j]
                failed += 1
    prep_s = time.perf_counter() - t0
    # validation: tune-half minerals not trained on, searched in the benchmark's library
    li = np.flatnonzero(role != "query")
    vq = np.flatnonzero((role == "query") & np.array([is_validation(n) for n in names]))
    vlib = build(spectra, names, li, technique)
    vqueries = np.vstack([vlib.prepare(spectra[i]) for i in vq]).astype(np.float32)
    lasers = np.array([m.get("laser_nm", "") for m in meta])
    return {"rows": rows, "names": names[rows], "ids": ids[rows], "lasers": lasers[rows],
            "clean": clean, "aug": aug,
            "axis": lib.axis, "failed": failed, "prep_s": prep_s,
            "val_lib": np.asarray(vlib.matrix, dtype=np.float32), "val_lib_names": names[li],
            "val_q": vqueries, "val_q_names": names[vq]}


def make_net(torch: Any, points: int, convs: list[tuple[int, int]], dim: int) -> Any:
    """conv(same) → ReLU → max-pool 2 per block, flatten, linear: as the NumPy forward."""
    nn = torch.nn
    layers: list[Any] = []
    cin, length = 1, points
    for cout, k in convs:
        layers += [nn.Conv1d(cin, cout, k, padding=k // 2), nn.ReLU(), nn.MaxPool1d(2)]
        cin, length = cout, length // 2
    layers += [nn.Flatten(), nn.Linear(cin * length, dim)]
    return nn.Sequential(*layers)


def torch_reference(torch: Any, net: Any, rep: Representation, scale: float,
                    points: int) -> list[list[float]]:
    """The torch embeddings of :func:`reference_inputs` (the tests compare NumPy's with them)."""
    net.eval()
    with torch.no_grad():
        x = torch.from_numpy(rep.transform(reference_inputs(points)) * np.float32(scale))
        e = unit(torch, net(x[:, None])).numpy()
    return [[float(v) for v in row] for row in e]


def unit(torch: Any, e: Any) -> Any:
    """Mean-centred unit embeddings (so a dot product is Pearson's r), as the NumPy model."""
    e = e - e.mean(dim=1, keepdim=True)
    return e / e.norm(dim=1, keepdim=True).clamp_min(1e-12)


def evaluate(emb_lib: np.ndarray, emb_q: np.ndarray, rep_lib: np.ndarray, rep_q: np.ndarray,
             lib_names: np.ndarray, q_names: np.ndarray) -> dict[str, float]:
    """Validation top-1: embedding alone, classic r, and fused r + w·c for a few w."""
    c = emb_q @ emb_lib.T
    r = rep_q @ rep_lib.T
    out = {"classic": float(np.mean(lib_names[np.argmax(r, 1)] == q_names)),
           "learned": float(np.mean(lib_names[np.argmax(c, 1)] == q_names))}
    for w in (0.25, 0.5, 1.0, 2.0):
        out[f"fused_w{w:g}"] = float(np.mean(lib_names[np.argmax(r + w * c, 1)] == q_names))
    return out


def train(technique: str, data: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Train one technique's network; returns its weights (NumPy), header and record."""
    import torch

    torch.manual_seed(args.seed)
    rng = np.random.default_rng([args.seed, 2])
    rep = Representation()
    points = data["clean"].shape[1]
    convs = [tuple(int(v) for v in b.split("x")) for b in args.blocks.split(",")]
    net = make_net(torch, points, convs, args.dim)
    steps = args.steps if technique == "raman" else args.steps_ir
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps,
                                                pct_start=0.1)
    names = data["names"]
    ids = data["ids"]
    classes: dict[str, list[int]] = {}
    for j, n in enumerate(names):
        classes.setdefault(str(n), []).append(j)
    cls_names = sorted(classes)
    n_var = data["aug"].shape[0]
    max_roll = 2 if technique == "raman" else 1
    scale = float(np.sqrt(points))

    def view(j: int) -> np.ndarray:
        v = int(rng.integers(0, n_var + 1))
        x = data["clean"][j] if v == n_var else data["aug"][v, j]
        s = int(rng.integers(-max_roll, max_roll + 1))
        if s:
            x = np.concatenate([np.full(s, x[0]), x[:-s]]) if s > 0 else \
                np.concatenate([x[-s:], np.full(-s, x[-1])])
        if rng.random() < args.mix:
            other = int(rng.integers(0, names.size))
            if names[other] != names[j]:
                x = x + rng.uniform(0.1, 0.5) * data["clean"][other]
        return x

    lasers = data["lasers"]

    def pick(c: str) -> tuple[int, int]:
        rows = classes[c]
        specimens = sorted(set(ids[rows]))
        if len(specimens) >= 2 and (args.real_pairs or rng.random() < 0.8):
            a, b = rng.choice(len(specimens), 2, replace=False)
            ra = [r for r in rows if ids[r] == specimens[a]]
            rb = [r for r in rows if ids[r] == specimens[b]]
            return int(rng.choice(ra)), int(rng.choice(rb))
        if args.real_pairs and len(rows) >= 2:  # one specimen: two lasers where it has them
            a = int(rng.choice(rows))
            other = [r for r in rows if lasers[r] != lasers[a]] or [r for r in rows if r != a]
            return a, int(rng.choice(other))
        return int(rng.choice(rows)), int(rng.choice(rows))

    # hard negatives: each mineral's nearest OTHER training mineral by the classic score
    # (root-HQI r of the clean spectra); a batch takes half its minerals at random and adds
    # each one's neighbour, so the loss pushes apart what the classic score confuses
    neighbour: dict[str, str] = {}
    if args.hard_negatives:
        crep = rep.transform(data["clean"])
        cidx = np.array([cls_names.index(str(n)) for n in names])
        for c_i, c in enumerate(cls_names):
            own = np.array(classes[c])
            sims = crep[own] @ crep.T  # (m, N)
            sims[:, cidx == c_i] = -np.inf
            neighbour[c] = cls_names[int(cidx[int(np.argmax(sims.max(axis=0)))])]

    def choose_classes() -> list[str]:
        n_cls = min(args.classes, len(cls_names))
        if not neighbour:
            return [cls_names[c] for c in rng.choice(len(cls_names), size=n_cls, replace=False)]
        out: list[str] = []
        for c in rng.permutation(len(cls_names)):
            for name in (cls_names[c], neighbour[cls_names[c]]):
                if name not in out and len(out) < n_cls:
                    out.append(name)
            if len(out) >= n_cls:
                break
        return out

    vl_rep = rep.transform(data["val_lib"])
    vq_rep = rep.transform(data["val_q"])

    def embed_np(x: np.ndarray) -> np.ndarray:
        net.eval()
        with torch.no_grad():
            out = [unit(torch, net(torch.from_numpy(rep.transform(x[s:s + 512]) * scale)[:, None]))
                   for s in range(0, x.shape[0], 512)]
        net.train()
        return torch.cat(out).numpy()

    log = []
    t0 = time.perf_counter()
    for step in range(steps):
        pairs = [pick(c) for c in choose_classes()]
        batch = np.stack([view(j) for p in pairs for j in p]).astype(np.float32)
        x = torch.from_numpy(rep.transform(batch) * scale)[:, None]
        e = unit(torch, net(x))
        sim = e @ e.T / args.temperature
        n = e.shape[0]
        sim = sim - torch.eye(n) * 1e9
        target = torch.arange(n) ^ 1  # the other view of the same mineral
        loss = torch.nn.functional.cross_entropy(sim, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % args.every == 0 or step + 1 == steps:
            ev = evaluate(embed_np(data["val_lib"]), embed_np(data["val_q"]), vl_rep, vq_rep,
                          data["val_lib_names"], data["val_q_names"])
            rec = {"step": step + 1, "loss": round(loss.item(), 4),
                   "seconds": round(time.perf_counter() - t0, 1),
                   **{k: round(v, 4) for k, v in ev.items()}}
            log.append(rec)
            print(f"  [{technique}] {rec}", flush=True)
    train_s = time.perf_counter() - t0
    arrays: dict[str, np.ndarray] = {}
    convs_seen = 0
    for layer in net:
        if isinstance(layer, torch.nn.Conv1d):
            arrays[f"{technique}/conv{convs_seen}/weight"] = layer.weight.detach().numpy().copy()
            arrays[f"{technique}/conv{convs_seen}/bias"] = layer.bias.detach().numpy().copy()
            convs_seen += 1
        elif isinstance(layer, torch.nn.Linear):
            arrays[f"{technique}/fc/weight"] = layer.weight.detach().numpy().copy()
            arrays[f"{technique}/fc/bias"] = layer.bias.detach().numpy().copy()
    axis = data["axis"]
    header = {"axis": [float(axis[0]), float(axis[-1]), float(axis[1] - axis[0])],
              "representation": rep.model_dump(include={"power", "centred", "noise_floor"}),
              "input_scale": scale, "convs": convs_seen, "dim": args.dim,
              "blocks": [list(c) for c in convs]}
    check = embed_np(data["val_q"][:64])
    reference = torch_reference(torch, net, rep, scale, points)
    record = {"reference_embeddings": reference, "train_seconds": round(train_s, 1),
              "prep_seconds": round(data["prep_s"], 1),
              "steps": steps, "log": log, "training_spectra": int(data["rows"].size),
              "training_minerals": sorted({str(n) for n in names}),
              "augmentation_failures": data["failed"],
              "validation_queries": int(data["val_q"].shape[0])}
    return {"arrays": arrays, "header": header, "record": record, "check": check,
            "check_in": data["val_q"][:64]}


def main(argv: list[str] | None = None) -> int:
    """Train both networks, write the model file and its record."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--variants", type=int, default=4)
    p.add_argument("--steps", type=int, default=1200, help="Raman training steps")
    p.add_argument("--steps-ir", type=int, default=600, help="infrared training steps")
    p.add_argument("--classes", type=int, default=64, help="minerals per batch (2 views each)")
    p.add_argument("--temperature", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--mix", type=float, default=0.2, help="share of views given a minor part")
    p.add_argument("--every", type=int, default=200, help="validate every this many steps")
    p.add_argument("--techniques", default="raman,infrared")
    p.add_argument("--blocks", default="8x9,16x7,32x5,32x5",
                   help="conv blocks, CHANNELSxKERNEL, comma-separated")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay")
    p.add_argument("--light", action="store_true",
                   help="no band broadening, axis shift ≤ ±1 cm⁻¹ in the augmentation")
    p.add_argument("--real-pairs", action="store_true",
                   help="the two views are always two specimens (else two lasers) if there are")
    p.add_argument("--hard-negatives", action="store_true",
                   help="each batch pairs minerals with their classic nearest neighbour")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    t0 = time.perf_counter()
    results = {}
    for tech in args.techniques.split(","):
        print(f"== {tech}: preparing data", flush=True)
        data = dataset(tech, args.variants, args.seed, args.light)
        print(f"   {data['rows'].size} training spectra of {len(set(data['names']))} minerals, "
              f"{data['val_q'].shape[0]} validation queries; {args.variants} augmented "
              f"copies each in {data['prep_s']:.0f} s", flush=True)
        results[tech] = train(tech, data, args)
    arrays = {k: v for r in results.values() for k, v in r["arrays"].items()}
    digest = save_model(args.out, {t: r["header"] for t, r in results.items()}, arrays)
    model = load_model(args.out)
    checks = {}
    for tech, r in results.items():
        diff = float(np.max(np.abs(model.for_technique(tech).embed(r["check_in"]) - r["check"])))
        checks[tech] = diff
        assert diff < 1e-4, f"NumPy and torch embeddings differ by {diff}"
    record = {
        "model": args.out.name, "sha256": digest, "bytes": args.out.stat().st_size,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "split": "train = RRUFF library_only minerals + tune-half minerals "
                 "(crc32(name) % 2 == 0) except the validation quarter "
                 "(crc32(name + '/val') % 4 == 0); held-out half never read",
        "numpy_vs_torch_max_abs_diff": checks,
        "total_seconds": round(time.perf_counter() - t0, 1),
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
                   f"{args.threads} threads, numpy {np.__version__}",
        "techniques": {t: r["record"] for t, r in results.items()},
        "data_sha256": {
            "raman": hashlib.sha256(Path(ROOT.parent / "shared" / "data" / "raman"
                                         / "rruff_excellent_unoriented"
                                         / "rruff_raman_excellent_unoriented_1cm.npz")
                                    .read_bytes()).hexdigest(),
        },
    }
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n",
                                             encoding="utf-8")
    print(f"wrote {args.out} ({record['bytes']} bytes, sha256 {digest}) in "
          f"{record['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
