"""Default guest-agent answers for a VMI whose agent is connected (a CentOS 7 guest)."""

from __future__ import annotations

import time


def default_data(name: str) -> dict:
    login = float(int(time.time()) - 3600)
    users = [{"userName": "centos", "domain": "", "loginTime": login}]
    disks = [{"diskName": "vda1", "mountPoint": "/", "fileSystemType": "xfs", "usedBytes": 1465868288,
              "totalBytes": 10724814848, "disk": [{"serial": "rootdisk", "busType": "virtio"}]}]
    return {
        "guestosinfo": {
            "guestAgentVersion": "2.12.0",
            "supportedCommands": [{"name": "guest-get-osinfo", "enabled": True},
                                  {"name": "guest-get-users", "enabled": True},
                                  {"name": "guest-get-fsinfo", "enabled": True}],
            "hostname": name,
            "os": {"name": "CentOS Linux", "kernelRelease": "3.10.0-957.27.2.el7.x86_64", "version": "7 (Core)",
                   "prettyName": "CentOS Linux 7 (Core)", "versionId": "7",
                   "kernelVersion": "#1 SMP Mon Jul 29 17:46:05 UTC 2019", "machine": "x86_64", "id": "centos"},
            "timezone": "UTC, 0",
            "userList": users,
            "fsInfo": {"disks": disks},
            "fsFreezeStatus": "thawed",
        },
        "userlist": {"metadata": {}, "items": users},
        "filesystemlist": {"metadata": {}, "items": disks},
    }
