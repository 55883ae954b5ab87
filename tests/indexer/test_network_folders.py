"""Which folders lie on network drives (engine.util.network_folders), and that the watcher lists them for changes
instead of waiting for events that changes made on other computers never raise."""
from __future__ import annotations

import time

import pytest
import watchdog.observers.polling

from engine.indexer import watch
from engine.util.network_folders import filesystem_type, is_network_folder, parse_bsd_mount, parse_mountinfo
from engine.indexer.watch import FolderWatcher

MOUNTINFO = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:45 / /mnt/nas rw,relatime - cifs //nas/Videos rw,vers=3.1.1
41 40 0:46 / /mnt/nas/local\040disk rw,relatime - ext4 /dev/sdb1 rw
42 27 0:47 / /home/me/phone rw,relatime shared:5 - fuse.sshfs me@phone:/DCIM rw
43 27 0:48 / /mnt/c rw,noatime - 9p drvfs rw,aname=drvfs
44 27 0:49 / /srv/nfs rw,relatime - nfs4 server:/export rw
"""


@pytest.mark.parametrize("path, expected", [
    ("/mnt/nas/Holidays/2024", True),               # an SMB share
    ("/mnt/nas/local disk/clips", False),           # a local disk mounted inside it (the longest mount point wins)
    ("/mnt/nasty", False),                          # a name that only begins like the share's
    ("/home/me/phone/Camera", True),                # SSHFS
    ("/mnt/c/Users/me/Videos", True),               # Windows's drive in WSL: its changes raise no events there
    ("/srv/nfs", True),                             # the mount point itself
    ("/home/me/Videos", False),
])
def test_a_folder_is_on_a_network_drive_when_its_mount_is(path, expected):
    mounts = parse_mountinfo(MOUNTINFO)
    assert ("/mnt/nas/local disk", "ext4") in mounts                 # octal escapes read back
    assert is_network_folder(path, mounts) is expected


def test_macos_mount_lines_are_read():
    listed = ("/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)\n"
              "//me@nas._smb._tcp.local/Videos on /Volumes/Videos (smbfs, nodev, nosuid, mounted by me)\n"
              "nas:/export/clips on /Volumes/on air (nfs, asynchronous)\n")
    mounts = parse_bsd_mount(listed)
    assert mounts == [("/", "apfs"), ("/Volumes/Videos", "smbfs"), ("/Volumes/on air", "nfs")]
    assert is_network_folder("/Volumes/Videos/2024", mounts) and is_network_folder("/Volumes/on air", mounts)
    assert not is_network_folder("/Users/me/Movies", mounts)


def test_nothing_known_is_no_network_drive(tmp_path):
    assert filesystem_type(str(tmp_path), []) is None and not is_network_folder(str(tmp_path), [])
    assert not is_network_folder(str(tmp_path))                     # this machine's own mounts: a local disk


def test_a_folder_on_a_network_drive_is_listed_for_changes(tmp_path, monkeypatch):
    share, disk = tmp_path / "share", tmp_path / "disk"
    share.mkdir()
    disk.mkdir()
    monkeypatch.setattr(watch, "system_mounts", lambda: [(str(share), "cifs"), (str(tmp_path), "ext4")])
    monkeypatch.setattr(watch, "NETWORK_POLL_SECONDS", 0.2)
    with FolderWatcher([str(share), str(disk)]).start() as watcher:
        assert watcher.polled == [str(share)]
        kinds = [type(o) for o in watcher._observers]
        assert watchdog.observers.polling.PollingObserver in kinds and len(kinds) == 2   # the disk keeps its events
        time.sleep(0.5)                                             # the share's first listing
        (share / "from another computer.mp4").write_bytes(b"\x00" * 512)
        deadline = time.monotonic() + 5
        while not watcher.settled(0.2) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert time.monotonic() < deadline, "the new video on the share was not seen"
    assert not watcher.running
