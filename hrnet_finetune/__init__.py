"""HRNet fine-tuning on the manual LabelMe labels (method.md 2.2, step 1), built on mmpose 1.x.

``fdpose finetune-hrnet LABELME_DIR... -o WORK_DIR`` turns LabelMe folders into MPII files
through the annotation toolkit, splits them by clip (never by frame), trains a top-down HRNet
from a readable config in ``configs/`` and writes the best checkpoint (chosen on the validation
split), the effective config, metrics, a training curve and the ``track-and-estimate`` hint.

Modules (one concept each):

* ``configs/``: mmengine config files, ``base.py`` + one per architecture
  (:data:`fdpose.hrnet_finetune.config.ARCHITECTURES`).
* :mod:`~fdpose.hrnet_finetune.data`: clip-level split and the MPII export of each split.
* :mod:`~fdpose.hrnet_finetune.config`: :class:`TrainSettings` and the effective config.
* :mod:`~fdpose.hrnet_finetune.register`: the mmpose registry extensions (dataset, motion-blur
  transform, PCKh metric, history hook), imported by the configs' ``custom_imports``.
* :mod:`~fdpose.hrnet_finetune.checkpoints`: checkpoint loading under ``torch.load(weights_only=True)``
  with a per-call allow-list, ``--init`` from a local pretrained checkpoint (COCO head re-initialised).
* :mod:`~fdpose.hrnet_finetune.resume`: exact ``--resume`` (random-generator states in every
  checkpoint, the resumed epoch validated again, atomic checkpoint writes, the newest loadable
  checkpoint chosen, changed settings refused).
* :mod:`~fdpose.hrnet_finetune.train`, :mod:`~fdpose.hrnet_finetune.evaluate`,
  :mod:`~fdpose.hrnet_finetune.bench`: the three commands' library functions.
* :mod:`~fdpose.hrnet_finetune.inference`: ``load_pose_model`` and ``estimate`` for the pipeline.

Demos and pipeline tests that need a real checkpoint train one in about half a minute with
:func:`fdpose.hrnet_finetune.train.train_small_synth` (no weights are shipped).

Nothing here imports ``mmpose.apis`` or mmpose's visualizers (they need torchvision, which this
stack deliberately does not install); models are built through the registries. Importing this
package is cheap: torch and mmpose load only when a function needs them.
"""
