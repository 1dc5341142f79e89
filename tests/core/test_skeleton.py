import numpy as np

from fdpose import skeleton as sk


def test_order_matches_mpii():
    assert sk.JOINT_NAMES[0] == "r_ankle" and sk.JOINT_NAMES[9] == "head_top" and sk.JOINT_NAMES[15] == "l_wrist"
    assert sk.JOINT_INDEX["thorax"] == 7 == sk.CENTER_JOINT
    assert sk.NUM_JOINTS == 16


def test_flip_permutation_is_involution_and_swaps_sides():
    perm = sk.flip_permutation()
    assert np.array_equal(perm[perm], np.arange(16))
    for r, l in sk.FLIP_PAIRS:
        assert sk.JOINT_NAMES[perm[r]] == "l_" + sk.JOINT_NAMES[r][2:]
        assert perm[l] == r
    for c in (6, 7, 8, 9):
        assert perm[c] == c


def test_flip_keypoints_mirrors_x_and_twice_is_identity(rng):
    kp = np.concatenate([rng.uniform(0, 455, (16, 2)), rng.uniform(0, 1, (16, 1))], axis=1)
    f = sk.flip_keypoints(kp, 455)
    # r_ankle of the flipped pose is the mirrored l_ankle of the original
    assert np.allclose(f[0, 0], 454 - kp[5, 0]) and np.isclose(f[0, 1], kp[5, 1]) and np.isclose(f[0, 2], kp[5, 2])
    assert np.allclose(sk.flip_keypoints(f, 455), kp)


def test_bones_form_a_tree_with_symmetric_adjacency():
    adj = sk.adjacency_matrix()
    assert adj.shape == (16, 16) and np.array_equal(adj, adj.T) and adj.sum() == 2 * 15
    # connected: BFS from the thorax reaches every joint
    seen, todo = {7}, [7]
    while todo:
        j = todo.pop()
        for k in np.nonzero(adj[j])[0]:
            if k not in seen:
                seen.add(int(k))
                todo.append(int(k))
    assert seen == set(range(16))


def test_levels_and_rings_partition_the_joints():
    assert sorted(sum(sk.SEMANTIC_LEVELS.values(), ())) == list(range(16))
    rings = sk.ring_of()
    assert rings[7] == 0 and rings[0] == rings[5] == 4 and rings[9] == 2
    # every bone joins equal or adjacent rings (the hierarchy follows the body)
    for a, b in sk.BONES:
        assert abs(rings[a] - rings[b]) <= 1


def test_colors_by_side():
    assert sk.side(0) == "r" and sk.side(5) == "l" and sk.side(7) == "c"
    assert sk.joint_color(0) != sk.joint_color(5)
    assert sk.bone_color((7, 12)) == sk.joint_color(12)
