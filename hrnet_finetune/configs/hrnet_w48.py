# HRNet-W48 + DARK, 256x256 input, 64x64 heatmaps: the public HP-MCoRe pose model (method.md 2.2).
# Pretrained weights (e.g. mmpose's MPII HRNet-W48 DARK) come only from a local file: --init.
_base_ = ['./base.py']

model = dict(
    backbone=dict(
        extra=dict(
            _delete_=True,
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ), num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4), num_channels=(48, 96)),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4), num_channels=(48, 96, 192)),
            stage4=dict(
                num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4), num_channels=(48, 96, 192, 384)),
        )),
    head=dict(in_channels=48),
)
