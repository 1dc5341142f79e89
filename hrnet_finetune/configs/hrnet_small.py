# A small HRNet for CPU tests and quick synthetic-world runs: two branches (16 and 32 channels),
# one block per stage, 128x128 input, 32x32 heatmaps. mmpose's HRNet always has four stages; here
# stages 2-4 each hold one module over the same two branches, so it behaves like a 2-stage net.
_base_ = ['./base.py']

codec = dict(input_size=(128, 128), heatmap_size=(32, 32))

model = dict(
    backbone=dict(
        extra=dict(
            _delete_=True,
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ), num_channels=(16, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1), num_channels=(16, 32)),
            stage3=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1), num_channels=(16, 32)),
            stage4=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1), num_channels=(16, 32)),
        )),
    head=dict(in_channels=16),
)

train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=16)
test_dataloader = val_dataloader
