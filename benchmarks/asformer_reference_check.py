"""Check our ASFormer head against HP-MCoRe's own copy of ASFormer (a developer tool).

    git -C <HP-MCoRe clone> show 6bce799:models/impl/asformer.py > /tmp/hpmcore_asformer.py
    python benchmarks/asformer_reference_check.py /tmp/hpmcore_asformer.py [--frames 96] [--batch 2]

The file (outside the repository; it needs only torch and numpy) is executed and its ``MyTransformer`` built
as the code's ``ASFormerPrediction`` builds it for the segmentation (``models/modules.py``: 3 decoders,
5 layers, r1 = r2 = 2, 64 maps, 368-d RegNet features in, 2 transition columns out, channel masking 0.3).
Its weights are randomised, its state dict is loaded into our :class:`fdpose.aqa_model.asformer.ASFormerHead`
through :func:`fdpose.aqa_model.official_checkpoint.segmenter_key_map` (the ``psnet_model`` prefix
``_pred_fine._net.`` added, as a checkpoint holds it), and both run in eval mode on the same random
features; ``ASFormerPrediction.forward``'s permutes are applied to the reference's output (stages, B, T, K-1).
Prints one JSON object: parameter counts, dropped reference tensors, and the largest absolute difference
of every stage's logits (also with ASFormer's original block window, ``asformer_window="block"``, which
should then differ). Measured results are in docs/aqa.md.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import torch

from fdpose.aqa_model.asformer import ASFormerHead, ASFormerSpec
from fdpose.aqa_model.encoders.weights import load_mapped
from fdpose.aqa_model.official_checkpoint import _one_frame_qk, segmenter_key_map


def check(path: Path, frames: int, batch: int) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "hpmcore_asformer"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - a developer tool on a local file
    torch.manual_seed(0)
    reference = namespace["MyTransformer"](3, 5, 2, 2, 64, 368, 2, channel_masking_rate=0.3).eval()
    with torch.no_grad():
        for p in reference.parameters():
            p.copy_(torch.randn_like(p) * (1.0 / math.sqrt(max(p[0].numel(), 1)) if p.dim() > 1 else 0.1))
    state = {f"_pred_fine._net.{k}": v for k, v in reference.state_dict().items()}
    x = torch.randn(batch, frames, 368)
    with torch.no_grad():
        ref_out = reference(x.permute(0, 2, 1), torch.ones(batch, 1, frames)).permute(0, 1, 3, 2)  # (S, B, T, K-1)
    result: dict[str, Any] = {"frames": frames, "batch": batch,
                              "reference_params": sum(p.numel() for p in reference.parameters())}
    for window in ("sliding", "block"):
        ours = ASFormerHead(368, 2, ASFormerSpec(64, 5, 3, window, 0.3, "columns")).eval()
        load_mapped(ours, state, segmenter_key_map(ours), str(path), "reference ASFormer", dropped=_one_frame_qk)
        with torch.no_grad():
            our_out = ours.all_stages(x).permute(1, 0, 2, 3)
        result[window] = {"our_params": sum(p.numel() for p in ours.parameters()),
                          "max_abs_diff_per_stage": [float((a - b).abs().max()) for a, b in zip(our_out, ref_out)],
                          "mean_abs_output": float(ref_out.abs().mean()),
                          "same_decoded_transitions": bool(torch.equal(our_out[-1].argmax(1), ref_out[-1].argmax(1)))}
    result["dropped_reference_tensors"] = sorted(k for k in state if _one_frame_qk(k))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reference", type=Path, help="HP-MCoRe's models/impl/asformer.py at 6bce799")
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--batch", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(json.dumps(check(args.reference, args.frames, args.batch), indent=2))


if __name__ == "__main__":
    main()
