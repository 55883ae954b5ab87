"""Whether a folder lies on a network drive (a NAS share, NFS, SSHFS, a virtual machine's shared folder).

The system's change events do not cross the network: inotify (Linux) and FSEvents (macOS) report the changes
this computer makes through the mount, not those another computer makes on the share (a phone's backup app
writing to the NAS). ``FolderWatcher`` therefore lists such folders every so often instead of waiting for
events that never come. Windows's change notifications (ReadDirectoryChangesW) do reach SMB shares: there every
folder is watched by events.
"""
from __future__ import annotations

import os
import subprocess
import sys

# Linux (/proc/self/mountinfo) and macOS (`mount`) names of file systems whose changes come over a network, or from
# a host whose writes raise no events here (WSL's drvfs and 9p, VirtualBox and VMware shared folders).
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "afpfs", "webdav", "davfs", "coda", "ceph",
    "glusterfs", "lustre", "9p", "drvfs", "vboxsf", "fuse.sshfs", "fuse.rclone", "fuse.davfs2", "fuse.gvfsd-fuse",
    "fuse.vmhgfs-fuse", "fuse.glusterfs", "fuse.cephfs", "fuse.s3fs", "fuse.smbnetfs",
})


def is_network_folder(path: str, mounts: list[tuple[str, str]] | None = None) -> bool:
    """Whether ``path`` lies on a network file system whose changes made elsewhere raise no events here (never on
    Windows). ``mounts``: (mount point, file system type) pairs, read from the system when None."""
    fstype = filesystem_type(path, mounts if mounts is not None else system_mounts())
    return fstype is not None and fstype.lower() in NETWORK_FILESYSTEMS


def on_network_drive(path: str) -> bool:
    """Whether ``path`` lies on a network drive, Windows's mapped drives and shares included: what SQLite must
    know, whose write-ahead log needs memory shared through the file, which network file systems do not give."""
    if sys.platform == "win32":
        return _windows_remote(path)
    return is_network_folder(path)


def _windows_remote(path: str) -> bool:
    full = os.path.abspath(path)
    if full.startswith("\\\\?\\UNC\\"):
        return True
    full = full.removeprefix("\\\\?\\")
    if full.startswith("\\\\"):                    # \\server\share
        return True
    drive = os.path.splitdrive(full)[0]
    if not drive:
        return False
    import ctypes

    drive_remote = 4        # GetDriveTypeW: a mapped network drive
    return ctypes.windll.kernel32.GetDriveTypeW(drive + "\\") == drive_remote


def filesystem_type(path: str, mounts: list[tuple[str, str]]) -> str | None:
    """The type of the file system ``path`` lies on: that of the longest mount point holding it."""
    real = os.path.realpath(path)
    best, found = -1, None
    for point, fstype in mounts:
        inside = real == point or real.startswith(os.path.join(point, ""))
        if inside and len(point) > best:
            best, found = len(point), fstype
    return found


def system_mounts() -> list[tuple[str, str]]:
    """(mount point, file system type) of every mount this process sees; empty where they cannot be read."""
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
                return parse_mountinfo(fh.read())
        if sys.platform == "darwin":
            listed = subprocess.run(["/sbin/mount"], capture_output=True, text=True, timeout=5, check=False)
            return parse_bsd_mount(listed.stdout)
    except (OSError, subprocess.SubprocessError):
        pass
    return []


def parse_mountinfo(text: str) -> list[tuple[str, str]]:
    """/proc/self/mountinfo: the mount point is the 5th field (spaces and the like written as octal escapes), the
    file system type the first field after the " - " separator."""
    mounts = []
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        fields = head.split()
        if not sep or len(fields) < 5 or not tail.split():
            continue
        mounts.append((_unescape_octal(fields[4]), tail.split()[0]))
    return mounts


def parse_bsd_mount(text: str) -> list[tuple[str, str]]:
    """macOS's `mount`: "//me@nas/Videos on /Volumes/Videos (smbfs, nodev, nosuid, mounted by me)"."""
    mounts = []
    for line in text.splitlines():
        described, paren, options = line.rpartition(" (")
        _source, on, point = described.partition(" on ")
        if not paren or not on:
            continue
        mounts.append((point, options.split(",")[0].rstrip(")").strip()))
    return mounts


def _unescape_octal(field: str) -> str:
    out, i = bytearray(), 0
    raw = field.encode("utf-8", "surrogateescape")
    while i < len(raw):
        if raw[i:i + 1] == b"\\" and raw[i + 1:i + 4].isdigit() and len(raw[i + 1:i + 4]) == 3:
            out.append(int(raw[i + 1:i + 4], 8))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "surrogateescape")

