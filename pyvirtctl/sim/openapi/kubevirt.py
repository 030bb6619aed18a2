"""Schemas of KubeVirt's kinds (kubevirt.io/v1) in the model of `model.py`.

Field names and types follow KubeVirt v1.9's API; descriptions are short summaries written for
`kubectl explain`. Everything users commonly write is modelled; rarer corners are `open`
(any fields accepted) so that valid manifests are never refused.
"""

from __future__ import annotations

from pyvirtctl.sim.openapi.model import ANY, I64, SMAP, B, I, L, M, O, Q, R, S, define, described

_META = R("meta.v1.ObjectMeta", "Standard object metadata.")
_LOCAL_REF = O("Names an object in the same namespace.", {"name": S("Name of the referent.")})

# ----------------------------------------------------------------------------------------------
# devices

_BUS = "Bus the device is attached to: virtio, sata, scsi or usb."

define("kubevirt.v1.DiskTarget", O("Attaches the volume as a hard disk.", {
    "bus": S(_BUS), "readonly": B("Expose the disk read-only."),
    "pciAddress": S("PCI address of the disk in the guest, e.g. 0000:81:01.10 (virtio only)."),
}))
define("kubevirt.v1.CDRomTarget", O("Attaches the volume as a CD-ROM.", {
    "bus": S("Bus of the CD-ROM: sata or scsi."), "readonly": B("Read-only; always true for a CD-ROM."),
    "tray": S("closed or open. Defaults to closed."),
}))
define("kubevirt.v1.LunTarget", O("Attaches the volume as a SCSI LUN.", {
    "bus": S(_BUS), "readonly": B("Expose the LUN read-only."),
    "reservation": B("Allow SCSI persistent reservations."),
}))

define("kubevirt.v1.Disk", O("A disk, CD-ROM or LUN presented to the guest; its name ties it to a volume.", {
    "name": S("Name of the device; must match the name of a volume."),
    "disk": R("kubevirt.v1.DiskTarget", "Attach the volume as a hard disk (the default)."),
    "cdrom": R("kubevirt.v1.CDRomTarget", "Attach the volume as a CD-ROM."),
    "lun": R("kubevirt.v1.LunTarget", "Attach the volume as a SCSI LUN."),
    "bootOrder": I("Boot order of the device; lower boots first. Devices without one are not bootable."),
    "serial": S("Serial number the guest sees."),
    "dedicatedIOThread": B("Give the disk its own I/O thread."),
    "cache": S("Cache mode: none, writethrough or writeback."),
    "io": S("I/O mode: native or threads."),
    "tag": S("Device role tag exposed to the guest through the metadata service."),
    "blockSize": ANY("Logical and physical block sizes of the disk."),
    "shareable": B("The disk may be attached to several VMs at once."),
    "errorPolicy": S("What to do on a disk error: stop, ignore, report or enospace."),
    "changedBlockTracking": B("Track changed blocks for incremental backups."),
}, required=("name",)))

define("kubevirt.v1.Port", O("A port the interface forwards to the guest.", {
    "name": S("Name of the port."), "protocol": S("TCP or UDP. Defaults to TCP."),
    "port": I("Port number."),
}, required=("port",)))

_EMPTY = ANY("No options.")
define("kubevirt.v1.Interface", O("A network interface of the guest; its name ties it to a network.", {
    "name": S("Name of the interface; must match the name of a network."),
    "model": S("Device model: virtio (default), e1000, e1000e, igb, ne2k_pci, pcnet, rtl8139."),
    "masquerade": described(_EMPTY, "Connect through NAT behind the pod IP (recommended for the pod network)."),
    "bridge": described(_EMPTY, "Connect to the network through a bridge: the guest gets the pod IP."),
    "sriov": described(_EMPTY, "Pass an SR-IOV virtual function through to the guest."),
    "slirp": described(_EMPTY, "Deprecated user-mode networking."),
    "macvtap": described(_EMPTY, "Deprecated macvtap binding."),
    "passt": described(_EMPTY, "Deprecated passt binding."),
    "passtBinding": described(_EMPTY, "Connect through the passt network binding plugin."),
    "binding": O("A network binding plugin.", {"name": S("Name of the plugin.")}, required=("name",)),
    "ports": L(R("kubevirt.v1.Port"), "Ports to forward to the guest (masquerade only); all when empty."),
    "portRanges": L(ANY("A range of ports."), "Port ranges to forward to the guest."),
    "macAddress": S("MAC address of the interface, e.g. de:ad:00:00:be:af."),
    "bootOrder": I("Boot order of the interface (network boot); lower boots first."),
    "pciAddress": S("PCI address of the interface in the guest."),
    "dhcpOptions": ANY("Extra DHCP options given to the guest."),
    "tag": S("Device role tag exposed to the guest through the metadata service."),
    "acpiIndex": I("ACPI index of the interface."),
    "state": S("up, down or absent (hot-unplug)."),
}, required=("name",)))

define("kubevirt.v1.Devices", O("The devices of the guest.", {
    "disks": L(R("kubevirt.v1.Disk"), "Disks, CD-ROMs and LUNs; each one names a volume."),
    "interfaces": L(R("kubevirt.v1.Interface"), "Network interfaces; each one names a network."),
    "autoattachPodInterface": B("Add a default interface on the pod network when none is listed. "
                                "Defaults to true."),
    "autoattachGraphicsDevice": B("Attach a VGA device (needed for VNC). Defaults to true."),
    "autoattachSerialConsole": B("Attach a serial console (needed for `virtctl console`). Defaults to true."),
    "autoattachMemBalloon": B("Attach a memory balloon device. Defaults to true."),
    "autoattachInputDevice": B("Attach a tablet input device."),
    "autoattachVSOCK": B("Attach a VSOCK device."),
    "logSerialConsole": B("Keep a log of the serial console output."),
    "rng": described(_EMPTY, "Attach a virtio random number generator."),
    "blockMultiQueue": B("Use a queue per vCPU for virtio disks."),
    "networkInterfaceMultiqueue": B("Use a queue per vCPU for virtio network interfaces."),
    "useVirtioTransitional": B("Use virtio-transitional devices for older guests."),
    "disableHotplug": B("Do not prepare the VM for disk hotplug."),
    "inputs": L(ANY("An input device."), "Input devices (tablet)."),
    "gpus": L(ANY("A GPU."), "GPUs passed through to the guest."),
    "hostDevices": L(ANY("A host device."), "Host devices passed through to the guest."),
    "filesystems": L(ANY("A virtiofs filesystem."), "Filesystems shared with the guest through virtiofs."),
    "watchdog": ANY("A watchdog device."),
    "sound": ANY("A sound device."),
    "tpm": ANY("A TPM device."),
    "video": ANY("The video device type."),
    "clientPassthrough": ANY("Enable USB redirection from a client (`virtctl usbredir`)."),
    "downwardMetrics": ANY("Expose host metrics to the guest through a virtio serial port."),
    "panicDevices": L(ANY("A panic device."), "Devices reporting guest crashes."),
}))

# ----------------------------------------------------------------------------------------------
# domain

define("kubevirt.v1.CPU", O("The guest's CPU topology and model.", {
    "cores": I64("Number of cores per socket. Defaults to 1."),
    "sockets": I64("Number of sockets. Defaults to 1."),
    "threads": I64("Number of threads per core. Defaults to 1."),
    "maxSockets": I64("Maximum sockets for CPU hotplug."),
    "model": S("CPU model (host-model by default, host-passthrough, or a named model)."),
    "features": L(O("A CPU feature.", {"name": S("Feature name."),
                                       "policy": S("force, require, optional, disable or forbid.")},
                    required=("name",)), "CPU features to enable or disable."),
    "dedicatedCpuPlacement": B("Pin each vCPU to a dedicated host CPU."),
    "isolateEmulatorThread": B("Give the emulator thread its own host CPU."),
    "numa": ANY("NUMA topology passthrough."),
    "realtime": ANY("Realtime tuning."),
}))

define("kubevirt.v1.Memory", O("The guest's memory.", {
    "guest": Q("Memory the guest sees; defaults to the memory request."),
    "maxGuest": Q("Maximum guest memory for memory hotplug."),
    "hugepages": O("Back the guest's memory with hugepages.", {"pageSize": S("Hugepage size: 2Mi or 1Gi.")}),
    "reservedOverhead": ANY("Memory reserved for the virtualization overhead."),
}))

define("kubevirt.v1.ResourceRequirements", O("Resources requested from the node for the guest.", {
    "requests": M(Q(), "Minimum resources: memory (required unless memory.guest is set), cpu."),
    "limits": M(Q(), "Maximum resources."),
    "overcommitGuestOverhead": B("Do not request extra memory for the virtualization overhead."),
}))

define("kubevirt.v1.Firmware", O("Firmware of the guest.", {
    "uuid": S("UUID reported to the guest (SMBIOS); generated when not set."),
    "serial": S("Serial number reported to the guest (SMBIOS)."),
    "bootloader": O("BIOS or UEFI.", {
        "bios": O("Legacy BIOS.", {"useSerial": B("Print BIOS output to the serial console.")}),
        "efi": O("UEFI.", {"secureBoot": B("Enable Secure Boot (needs the SMM feature). Defaults to true."),
                           "persistent": B("Keep EFI variables across restarts.")}),
    }),
    "kernelBoot": ANY("Boot a kernel and initrd from a container image."),
    "acpi": ANY("Extra ACPI tables."),
}))

define("kubevirt.v1.DomainSpec", O("The virtual hardware of the guest.", {
    "resources": R("kubevirt.v1.ResourceRequirements", "Resources requested from the node."),
    "cpu": R("kubevirt.v1.CPU", "CPU topology and model."),
    "memory": R("kubevirt.v1.Memory", "Guest memory."),
    "machine": O("The emulated machine.", {"type": S("QEMU machine type, e.g. q35.")}),
    "firmware": R("kubevirt.v1.Firmware", "Firmware: BIOS or UEFI, UUID, serial."),
    "clock": ANY("Clock and timers of the guest."),
    "features": ANY("Hypervisor features: acpi, apic, hyperv, smm, kvm, pvspinlock."),
    "devices": R("kubevirt.v1.Devices", "Disks, interfaces and other devices."),
    "ioThreadsPolicy": S("How I/O threads are allocated: shared, auto or supplementalPool."),
    "ioThreads": ANY("I/O thread settings."),
    "chassis": ANY("Chassis information (SMBIOS)."),
    "launchSecurity": ANY("Confidential computing (SEV, TDX)."),
    "rebootPolicy": S("Reboot (default) or Terminate when the guest reboots."),
}, required=("devices",)))

# ----------------------------------------------------------------------------------------------
# volumes and networks

_CLOUD_INIT = {
    "userData": S("Cloud-init user data, inline."),
    "userDataBase64": S("Cloud-init user data, base64-encoded."),
    "secretRef": described(_LOCAL_REF, "A secret holding the user data (key userdata or userData)."),
    "networkData": S("Cloud-init network data, inline."),
    "networkDataBase64": S("Cloud-init network data, base64-encoded."),
    "networkDataSecretRef": described(_LOCAL_REF, "A secret holding the network data."),
}

define("kubevirt.v1.Volume", O("Storage the guest can use; exactly one source is set, and a disk or "
                               "filesystem with the same name attaches it.", {
    "name": S("Name of the volume; a disk (or filesystem) refers to it by this name."),
    "containerDisk": O("An ephemeral disk from a container image; changes are lost when the VM stops.", {
        "image": S("Container image holding the disk image (in /disk)."),
        "imagePullPolicy": S("Always, Never or IfNotPresent."),
        "imagePullSecret": S("Secret to pull the image with."),
        "path": S("Path of the disk image inside the container."),
    }, required=("image",)),
    "cloudInitNoCloud": O("Cloud-init data served with the NoCloud data source.", dict(_CLOUD_INIT)),
    "cloudInitConfigDrive": O("Cloud-init data served with the ConfigDrive data source.", dict(_CLOUD_INIT)),
    "persistentVolumeClaim": O("A PersistentVolumeClaim in the VM's namespace.", {
        "claimName": S("Name of the claim."), "readOnly": B("Attach read-only."),
        "hotpluggable": B("The volume was hot-plugged (virtctl addvolume)."),
    }, required=("claimName",)),
    "dataVolume": O("A CDI DataVolume in the VM's namespace (its PVC).", {
        "name": S("Name of the DataVolume."), "hotpluggable": B("The volume was hot-plugged."),
    }, required=("name",)),
    "emptyDisk": O("A sparse, empty disk that lives as long as the VMI.", {
        "capacity": Q("Size of the disk.")}, required=("capacity",)),
    "ephemeral": ANY("A PVC used as a read-only base with a throw-away overlay."),
    "hostDisk": ANY("A disk image on the node."),
    "secret": O("A Secret presented as a disk (or virtiofs share).", {
        "secretName": S("Name of the secret."), "optional": B("Allow the secret to be missing."),
        "volumeLabel": S("Volume label of the filesystem."),
    }),
    "configMap": O("A ConfigMap presented as a disk (or virtiofs share).", {
        "name": S("Name of the config map."), "optional": B("Allow the config map to be missing."),
        "volumeLabel": S("Volume label of the filesystem."),
    }),
    "serviceAccount": O("A service account token presented as a disk.", {
        "serviceAccountName": S("Name of the service account.")}),
    "downwardAPI": ANY("Pod metadata presented as a disk."),
    "downwardMetrics": ANY("Host metrics presented as a disk."),
    "memoryDump": ANY("A PVC that receives memory dumps (virtctl memory-dump)."),
    "sysprep": ANY("Windows sysprep answer files."),
    "containerPath": ANY("A path of the virt-launcher pod shared through virtiofs."),
}, required=("name",)))

define("kubevirt.v1.Network", O("A network the guest is connected to; an interface with the same name "
                                "connects it.", {
    "name": S("Name of the network; an interface refers to it by this name."),
    "pod": O("The pod network (the cluster's default network).", {
        "vmNetworkCIDR": S("CIDR of the guest's network with masquerade (default 10.0.2.0/24)."),
        "vmIPv6NetworkCIDR": S("IPv6 CIDR of the guest's network with masquerade."),
    }),
    "multus": O("A secondary network from a Multus NetworkAttachmentDefinition.", {
        "networkName": S("Name of the NetworkAttachmentDefinition, <namespace>/<name> or <name>."),
        "default": B("Use it as the default network instead of the pod network."),
    }, required=("networkName",)),
    "resourceClaim": ANY("A network device from a dynamic resource claim."),
}, required=("name",)))

# ----------------------------------------------------------------------------------------------
# VMI / VM

define("kubevirt.v1.VirtualMachineInstanceSpec", O("What the virtual machine instance runs.", {
    "domain": R("kubevirt.v1.DomainSpec", "The virtual hardware: CPU, memory, devices, firmware."),
    "volumes": L(R("kubevirt.v1.Volume"), "Storage the disks refer to."),
    "networks": L(R("kubevirt.v1.Network"), "Networks the interfaces refer to."),
    "hostname": S("Hostname of the guest; defaults to the VMI's name."),
    "subdomain": S("Subdomain: with a headless Service of that name, the guest gets "
                   "<hostname>.<subdomain>.<namespace>.svc."),
    "nodeSelector": SMAP("Labels a node must have to run the VMI."),
    "affinity": ANY("Node and pod (anti-)affinity rules for scheduling the VMI."),
    "tolerations": L(ANY("A toleration."), "Taints the VMI tolerates."),
    "topologySpreadConstraints": L(ANY("A topology spread constraint."), "How VMIs spread across topology "
                                                                         "domains."),
    "terminationGracePeriodSeconds": I64("Seconds the guest gets to shut down before it is killed."),
    "evictionStrategy": S("What happens on node drain: LiveMigrate, LiveMigrateIfPossible, External or None."),
    "startStrategy": S("Paused: start the VMI paused (unpause with virtctl unpause)."),
    "livenessProbe": ANY("Probe that restarts the VMI when it fails."),
    "readinessProbe": ANY("Probe that marks the VMI ready."),
    "accessCredentials": L(ANY("An SSH key or user password to inject."), "Credentials injected into the "
                                                                          "guest."),
    "dnsConfig": ANY("DNS settings of the guest's pod."),
    "dnsPolicy": S("DNS policy of the guest's pod."),
    "schedulerName": S("Scheduler that places the VMI's pod."),
    "priorityClassName": S("Priority class of the VMI's pod."),
    "architecture": S("CPU architecture: amd64, arm64 or s390x."),
    "serviceAccountName": S("Service account the virt-launcher pod runs as."),
    "resourceClaims": L(ANY("A resource claim."), "Dynamic resource claims."),
    "utilityVolumes": L(ANY("A utility volume."), "Volumes mounted into the virt-launcher pod only."),
}, required=("domain",)))

define("kubevirt.v1.VirtualMachineInstanceTemplateSpec", O("The VirtualMachineInstance a VM or replica set "
                                                           "creates.", {
    "metadata": R("meta.v1.ObjectMeta", "Labels and annotations given to the VMI."),
    "spec": R("kubevirt.v1.VirtualMachineInstanceSpec", "What the VMI runs."),
}))

_STATUS_NOTE = " Written by KubeVirt; read-only."
define("kubevirt.v1.VirtualMachineInstance", O(
    "A running virtual machine: one guest on one node, backed by a virt-launcher pod.", {
        "apiVersion": S("Version of the schema this object follows."),
        "kind": S("Kind of the object."),
        "metadata": _META,
        "spec": R("kubevirt.v1.VirtualMachineInstanceSpec", "What the VMI runs."),
        "status": O("Observed state: phase, node, interfaces, conditions, guest info." + _STATUS_NOTE, {
            "phase": S("Pending, Scheduling, Scheduled, Running, Succeeded, Failed or Unknown."),
            "nodeName": S("The node the VMI runs on."),
            "reason": S("Why the VMI is in its phase, when it failed."),
            "conditions": L(ANY("A VMI condition."), "Ready, LiveMigratable, Paused, AgentConnected, ..."),
            "interfaces": L(ANY("A guest network interface."), "Network interfaces with their IPs."),
            "migrationState": ANY("State of the last live migration."),
            "guestOSInfo": ANY("Guest OS as reported by the guest agent."),
            "activePods": SMAP("UIDs of the virt-launcher pods, with their nodes."),
            "phaseTransitionTimestamps": L(ANY("When a phase was reached."), "Phase history."),
            "volumeStatus": L(ANY("Status of a volume."), "Status of each volume, hotplug progress."),
        }, open=True),
    }, required=("spec",)))

define("kubevirt.v1.VirtualMachineSpec", O("What the VirtualMachine should be: its VMI template and whether "
                                           "it runs.", {
    "runStrategy": S("When the VM runs: Always, RerunOnFailure, Manual, Halted or Once. Replaces running."),
    "running": B("Deprecated (use runStrategy): true keeps the VM running, false stops it."),
    "template": R("kubevirt.v1.VirtualMachineInstanceTemplateSpec", "The VMI created when the VM starts."),
    "dataVolumeTemplates": L(O("A DataVolume created with the VM and owned by it.", {
        "apiVersion": S("Version of the schema this object follows."),
        "kind": S("Kind of the object."),
        "metadata": R("meta.v1.ObjectMeta", "Name and labels of the DataVolume."),
        "spec": ANY("The DataVolume's spec (CDI): source, storage."),
        "status": ANY("Unused."),
    }, required=("spec",)), "DataVolumes created with the VM."),
    "instancetype": O("An instancetype providing CPU and memory.", {
        "name": S("Name of the instancetype."),
        "kind": S("VirtualMachineInstancetype or VirtualMachineClusterInstancetype (default)."),
        "revisionName": S("The ControllerRevision the VM is pinned to."),
        "inferFromVolume": S("Infer the instancetype from this volume's labels."),
        "inferFromVolumeFailurePolicy": S("Reject or Ignore when inference fails."),
    }),
    "preference": O("A preference providing device and feature defaults.", {
        "name": S("Name of the preference."),
        "kind": S("VirtualMachinePreference or VirtualMachineClusterPreference (default)."),
        "revisionName": S("The ControllerRevision the VM is pinned to."),
        "inferFromVolume": S("Infer the preference from this volume's labels."),
        "inferFromVolumeFailurePolicy": S("Reject or Ignore when inference fails."),
    }),
    "updateVolumesStrategy": S("Replacement or Migration: how volume changes reach a running VM."),
}, required=("template",)))

define("kubevirt.v1.VirtualMachine", O(
    "A virtual machine that can be started and stopped; while it runs it has a VirtualMachineInstance of "
    "the same name.", {
        "apiVersion": S("Version of the schema this object follows."),
        "kind": S("Kind of the object."),
        "metadata": _META,
        "spec": R("kubevirt.v1.VirtualMachineSpec", "What the VM should be."),
        "status": O("Observed state: printable status, readiness, requests in flight." + _STATUS_NOTE, {
            "printableStatus": S("Human-readable state: Stopped, Starting, Running, Paused, Stopping, "
                                 "Migrating, ..."),
            "ready": B("The VMI is running and ready."),
            "created": B("A VMI exists for the VM."),
            "runStrategy": S("The run strategy in effect."),
            "conditions": L(ANY("A VM condition."), "Ready, Paused, ..."),
            "stateChangeRequests": L(ANY("A start or stop request."), "Start/stop requests being processed."),
            "volumeRequests": L(ANY("A hotplug request."), "Volume hotplug requests being processed."),
            "memoryDumpRequest": ANY("The memory dump in progress."),
            "observedGeneration": I64("The spec generation last seen by the controller."),
            "desiredGeneration": I64("The spec generation the VM should reach."),
        }, open=True),
    }, required=("spec",)))

define("kubevirt.v1.VirtualMachineInstanceMigration", O("A request to live-migrate a VMI to another node.", {
    "apiVersion": S("Version of the schema this object follows."),
    "kind": S("Kind of the object."),
    "metadata": _META,
    "spec": O("What to migrate.", {
        "vmiName": S("Name of the VMI to migrate."),
        "addedNodeSelector": SMAP("Extra node selector the target node must match."),
        "priority": S("Priority of the migration."),
        "sendTo": ANY("Decentralized migration: where to send the VM."),
        "receive": ANY("Decentralized migration: where to receive the VM."),
    }),
    "status": O("Progress of the migration." + _STATUS_NOTE, {
        "phase": S("Pending, Scheduling, Scheduled, PreparingTarget, TargetReady, Running, Succeeded or "
                   "Failed."),
        "migrationState": ANY("Source and target nodes, pods, timestamps."),
        "conditions": L(ANY("A migration condition."), "Current conditions."),
        "phaseTransitionTimestamps": L(ANY("When a phase was reached."), "Phase history."),
    }, open=True),
}))

define("kubevirt.v1.VirtualMachineInstanceReplicaSet", O("Keeps a number of identical VMIs running.", {
    "apiVersion": S("Version of the schema this object follows."),
    "kind": S("Kind of the object."),
    "metadata": _META,
    "spec": O("How many VMIs, from which template.", {
        "replicas": I("Number of VMIs to keep. Defaults to 1."),
        "selector": R("meta.v1.LabelSelector", "Selects the VMIs the replica set owns."),
        "template": R("kubevirt.v1.VirtualMachineInstanceTemplateSpec", "The VMIs to create."),
        "paused": B("Stop creating and deleting VMIs."),
    }, required=("selector", "template")),
    "status": O("Observed state." + _STATUS_NOTE, {
        "replicas": I("Number of VMIs."), "readyReplicas": I("Number of ready VMIs."),
        "labelSelector": S("The selector, as a string."),
        "conditions": L(ANY("A condition."), "Current conditions."),
    }, open=True),
}, required=("spec",)))

