# fdpose base config: top-down heatmap HRNet for the MPII 16-joint diver skeleton.
#
# Settings follow method.md 2.2 (the public HP-MCoRe pose model): 256x256 input, 64x64
# heatmaps, sigma 2, DARK (unbiased) decoding, flip test with the MPII flip pairs, Adam 5e-4,
# 210 epochs with LR steps at 170 and 200. Architecture files (hrnet_w32.py, hrnet_w48.py,
# hrnet_small.py) inherit this file and replace the backbone (and, for the small one, the codec).
#
# How fdpose uses it (fdpose.hrnet_finetune.config.build_config):
# * `codec` is the one place that holds input size, heatmap size and sigma; fdpose copies it
#   into the head decoder and into every pipeline step that needs it, so a child config or
#   `--input-size` changes it in one place. The effective config saved in WORK_DIR has every
#   value resolved.
# * data_root and the annotation files are filled in per run: WORK_DIR/data/{train,val}/mpii.json
#   are MPII files exported from the LabelMe folders by fdpose.annotations.convert.
# * --epochs rescales max_epochs and the LR milestones (170/210 and 200/210 of the run).
# * No download paths: backbones start from random weights unless --init gives a local file.

default_scope = 'mmpose'
# Registers DiverMpiiDataset, RandomMotionBlur, DiverPCKhMetric and TrainingHistoryHook.
custom_imports = dict(imports=['fdpose.hrnet_finetune.register'], allow_failed_imports=False)

# runtime
train_cfg = dict(by_epoch=True, max_epochs=210, val_interval=1)
val_cfg = dict()
test_cfg = dict()
randomness = dict(seed=0)

# optimizer: Adam 5e-4 (method.md 2.2); no auto LR scaling (small batches on one device)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))

# learning policy: linear warm-up, then x0.1 at epochs 170 and 200 of 210
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200], gamma=0.1, by_epoch=True),
]

# the metric key DiverPCKhMetric reports and the best checkpoint is selected on (val split)
best_metric = 'pose/PCKh@0.5'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best=best_metric, rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [dict(type='TrainingHistoryHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
# mmpose's PoseLocalVisualizer imports torchvision; fdpose keeps mmengine's own visualizer
# (built by fdpose's runner without backends) and writes its own history and curve.
visualizer = None
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True, num_digits=6)
log_level = 'WARNING'
load_from = None
resume = False
backend_args = dict(backend='local')

# codec: MSRA heatmaps with DARK (unbiased) decoding
codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2, unbiased=True)

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(type='HRNet', in_channels=3, extra=dict()),  # set by the architecture config
    head=dict(
        type='HeatmapHead',
        in_channels=32,
        out_channels=16,
        deconv_out_channels=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True),
)

dataset_type = 'DiverMpiiDataset'
data_mode = 'topdown'
data_root = ''  # WORK_DIR/data, set per run

# Augmentation for diving: divers are upside down and spinning (rotation up to +-180 deg),
# near and far from the camera (scale), mirrored (flip with left/right joint swap), blurred
# by fast rotation (motion blur), and partly out of frame at entry (half body).
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody', min_total_keypoints=8, prob=0.2),
    dict(type='RandomBBoxTransform', shift_prob=0.3, scale_factor=(0.7, 1.3), rotate_factor=180.0, rotate_prob=0.7),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='RandomMotionBlur', prob=0.3, max_length=9),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='train/mpii.json',
        data_prefix=dict(img='train/images/'),
        pipeline=train_pipeline,
    ))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='val/mpii.json',
        data_prefix=dict(img='val/images/'),
        test_mode=True,
        pipeline=val_pipeline,
    ))
test_dataloader = val_dataloader

val_evaluator = dict(type='DiverPCKhMetric')
test_evaluator = val_evaluator
