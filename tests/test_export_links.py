"""Symbolic links in an export folder: :func:`load_export` never reads a member that leads
outside the folder (refused naming the member, not where it leads); links that stay inside
are followed. ``export`` (and ``adapt --export``) never writes through a link: a link (or a
folder) where a file of the export goes is refused before any work."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from tests.conftest import refused
from xbarmem.deploy.export import export_memory
from xbarmem.deploy.reload import load_export
from xbarmem.errors import ConfigError, FileFormatError
from xbarmem.memory.io import save_memory

MEMBERS = ["manifest.json", "programmed_S.npy", "stuck_S.npy", "layer0_weights.npy",
           "layer0_bias.npy"]


@pytest.fixture(scope="module")
def memory(small_memory):
    return small_memory


@pytest.fixture(scope="module")
def exported(small_export):
    return small_export


def _copy(exported, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(exported, folder)
    return folder


def _link_outside(folder, name, tmp_path):
    """``name`` becomes a link to an identical copy of it outside ``folder``."""
    outside = tmp_path / "elsewhere" / name
    outside.parent.mkdir(exist_ok=True)
    (folder / name).rename(outside)
    (folder / name).symlink_to(outside)
    return outside


def _link_via_subfolder(folder, name, tmp_path):
    """``name`` is a link inside the folder to ``sub/name``, ``sub`` a link to a folder
    outside."""
    outside = tmp_path / "elsewhere"
    outside.mkdir(exist_ok=True)
    (folder / name).rename(outside / name)
    (folder / "sub").symlink_to(outside)
    (folder / name).symlink_to(os.path.join("sub", name))
    return outside / name


def _dangling_outside(folder, name, tmp_path):
    (folder / name).unlink()
    (folder / name).symlink_to(tmp_path / "nowhere" / name)
    return tmp_path / "nowhere" / name


@pytest.mark.parametrize("link", [_link_outside, _link_via_subfolder, _dangling_outside])
@pytest.mark.parametrize("member", MEMBERS)
def test_a_member_leading_outside_the_export_folder_is_refused(member, link, exported,
                                                               tmp_path):
    folder = _copy(exported, tmp_path)
    target = link(folder, member, tmp_path)
    with pytest.raises(FileFormatError) as info:
        load_export(folder)
    message = str(info.value)
    assert f"'{member}' leads outside the folder" in message and str(folder) in message
    assert str(target) not in message and str(target.parent) not in message


@pytest.mark.parametrize("member", MEMBERS)
def test_a_link_that_stays_inside_the_folder_is_followed(member, exported, memory, tmp_path):
    folder = _copy(exported, tmp_path)
    (folder / "kept").mkdir()
    (folder / member).rename(folder / "kept" / member)
    (folder / member).symlink_to(os.path.join("kept", member))
    rebuilt = load_export(folder)
    np.testing.assert_array_equal(rebuilt.crossbar.g_pos, memory[1].crossbar.g_pos)


def test_an_export_folder_given_through_a_link_loads(exported, memory, tmp_path):
    (tmp_path / "alias").symlink_to(exported)
    rebuilt = load_export(tmp_path / "alias")
    np.testing.assert_array_equal(rebuilt.crossbar.g_pos, memory[1].crossbar.g_pos)


def _member_link_out(folder, name, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (folder / name).symlink_to(victim)


def _member_link_in(folder, name, tmp_path):
    (folder / "other.npy").write_bytes(b"keep me")
    (folder / name).symlink_to("other.npy")


def _member_folder(folder, name, tmp_path):
    (folder / name).mkdir()


WRITES = {"link outside": (_member_link_out, "symbolic link"),
          "link inside": (_member_link_in, "symbolic link"),
          "dangling link": (lambda f, n, t: (f / n).symlink_to(t / "gone" / n), "symbolic link"),
          "folder": (_member_folder, "not a regular file")}


@pytest.mark.parametrize("member", ["manifest.json", "devices.csv", "targets_S.npy",
                                    "fault_map.npz", "patterns.npy", "layer0_weights.npy"])
@pytest.mark.parametrize("case", sorted(WRITES))
def test_export_never_writes_through_a_link_in_its_folder(case, member, memory, run_cli,
                                                          tmp_path):
    pset, mem = memory
    make, words = WRITES[case]
    folder = tmp_path / "out"
    folder.mkdir()
    make(folder, member, tmp_path)
    with pytest.raises(ConfigError, match=f"{member} .*{words}"):
        export_memory(mem, folder, patterns=pset)
    model = save_memory(mem, tmp_path / "m.safetensors", patterns=pset)
    message = refused(run_cli, tmp_path, "export", model, "-o", folder)
    words = "is a folder" if case == "folder" else words  # (the command line's one check)
    assert member in message and words in message and str(tmp_path / "victim") not in message
    expected = {member} | ({"other.npy"} if case == "link inside" else set())
    assert {p.name for p in folder.iterdir()} == expected
