"""A synthetic diving world with exact ground truth (``fdpose synth OUT --videos N --seed S``).

There is no real diving video on the development machines; every later stage (tracking, pose
estimation, HRNet fine-tuning, AQA training, the demo) is tested on this world. The structure
mirrors FineDiving: 455 x 256 RGB clips of one diver (take-off, flight, entry), spectators and
judges as distractors, FineDiving annotation pickles, and scores that follow from how well the
rendered dive was executed.

Output layout (other stages depend on these names)::

    OUT/frames/{match}/{idx}/{frame:05d}.jpg      FineDiving frame tree, frames numbered from 0
    OUT/videos/{match}__{idx}.mp4                 the same frames as one mp4 (MPEG-4, 25 fps)
    OUT/labelme/{match}/{idx}/{frame:05d}.json    LabelMe file of the diver: one `diver`
                                                  rectangle + the 16 MPII joints; occluded joints
                                                  carry the `occluded` flag, joints outside the
                                                  image are omitted; imagePath is relative
                                                  (../../../frames/{match}/{idx}/{frame:05d}.jpg),
                                                  imageData null. Written only for frames where
                                                  the diver is drawn (not once fully under water).
    OUT/gt/{match}/{idx}.json                     full ground truth (below)
    OUT/detections/{match}/{idx}.txt              simulated person detector, MOT det format
                                                  `frame,-1,x,y,w,h,score,-1,-1,-1`, frame 1-BASED
                                                  (line frame 1 = 00000.jpg), see .detections
    OUT/annotations/FineDiving_fine-grained_annotation.pkl, FineDiving_coarse_annotation.pkl,
                   train_split.pkl, test_split.pkl   exact real structure (fdpose.finediving)
    OUT/world.json                                seed, versions, generator parameters, scoring
                                                  recipe, statistics, list of clips; written
                                                  LAST: its presence marks a complete world.

Match names look like real ones (``SynthCup2026_Men3m_final_r1``; 3 m springboard or 10 m
platform events), 2-5 clips per match with ``idx`` 1, 2, ...

``gt/{match}/{idx}.json``: ``schema_version``, ``match``, ``idx``, ``image_width/height``,
``num_frames``, ``joint_names`` (MPII order), ``dive`` (number, group, somersaults, twists,
position, difficulty, event, apparatus), ``stages`` (``steps_transit_frames``,
``frames_labels``, ``sub_action_types``), ``execution`` (the parameters below), ``score``
(penalties, 7 judge scores, difficulty, dive_score), ``camera``, and ``frames[]`` with
``frame_index``, ``image`` (path relative to OUT), ``stage`` (0 take-off, 1 flight, 2 entry; more
with ``--twist-stages``), ``stage_label``, ``camera_offset``, ``motion_blur_px``,
``diver.box`` (xyxy or null), ``diver.joints`` (16 x [x, y, visibility]: 2 visible, 1 occluded
by the occluder / splash / water, 0 off-image with coordinates kept) and ``persons[]``
(``id``, ``role`` diver / spectator / judge, ``box`` xyxy clipped to the image).
Coordinates are image pixels (x right, y down, pixel centres at integers); the diver box is
the tight box of the diver's drawn silhouette at the frame time (+1 px), so every visible
joint lies inside it. Stage labels follow the real transit convention: a transit frame is the
last frame of the stage before it (:mod:`fdpose.finediving`).

Broadcast worlds (``fdpose synth --broadcast`` or any broadcast field of
:class:`~fdpose.synth.config.SynthConfig` on; :mod:`fdpose.synth.broadcast`): zoom, a cut to a
second camera, a slow-motion replay appended after the live clip, officials and coaches walking
on the deck, people in the foreground at the entry, on-screen graphics, false detections on
the splash and the graphics, and a simulated detector calibrated on a real one
(``detector_profile``, :data:`fdpose.synth.detections.PROFILES`; the preset's ``ssd-dev``).
Their ground truth adds, per frame, ``segment`` (live / cut /
replay), ``dive_time`` (the live frame shown, fractional in the replay), ``zoom``,
``graphics[]`` (name, fixed screen box), ``splash_box`` (xyxy or null) and ``detections[]``
(every MOT line of the frame in file order: ``box``, ``score``, ``role`` diver / spectator /
judge / official / coach / foreground / false_positive, ``source`` a person id or clutter /
splash / graphics / diver_duplicate); ``persons[]`` roles include official, coach and foreground; the top-level
``broadcast`` object gives the live frame count, the cut frame, the replay length and the moving
people. ``camera_offset`` is then the view's top-left canvas pixel (float, zoom-dependent).
Replay frames come after the last transit, so they carry the last stage's label. With every
broadcast field off the files are byte-identical to worlds made before these features existed.

Scoring recipe (:mod:`fdpose.synth.scoring`): per-clip execution parameters drawn from a latent
quality, each visible in the rendering (take-off height -> apex; rotation error -> body angle
from vertical at entry; kick-out delay -> opening time; leg separation -> scissored legs; knee
bend -> bent knees; splash size -> splash). Seven judges give ``10 - penalties + bias + noise``
rounded to 0.5 in 0..10; ``dive_score = sum of the middle three x difficulty``.

Determinism: every random draw comes from seeds derived from ``--seed`` and the clip number, so
the same seed gives byte-identical JSON, pickles, detections, jpgs and mp4s, whatever
``--workers``.
"""

from fdpose.synth.config import SynthConfig, WORLD_VERSION
from fdpose.synth.world import generate_world, plan_world

__all__ = ["SynthConfig", "WORLD_VERSION", "generate_world", "plan_world"]
