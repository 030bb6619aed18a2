"""Schemas of the Kubernetes types the simulator serves (meta/v1 and core/v1), in the model of
`model.py`. Field names and types follow the Kubernetes API; descriptions are short summaries."""

from __future__ import annotations

from pyvirtctl.sim.openapi.model import (
    ANY,
    I64,
    IOS,
    SET,
    SMAP,
    TIME,
    B,
    I,
    L,
    M,
    O,
    Q,
    R,
    S,
    define,
    described,
)

# ----------------------------------------------------------------------------------------------
# meta/v1

define("meta.v1.OwnerReference", O(
    "Identifies an object that owns this one; the garbage collector deletes an object whose owners are all "
    "gone.", {
        "apiVersion": S("API version of the owner."),
        "kind": S("Kind of the owner."),
        "name": S("Name of the owner."),
        "uid": S("UID of the owner."),
        "controller": B("True when the owner is the managing controller."),
        "blockOwnerDeletion": B("With foreground deletion, the owner is not deleted before this object."),
    }, required=("apiVersion", "kind", "name", "uid")))

define("meta.v1.ManagedFieldsEntry", O(
    "A workflow (field manager) and the set of fields it manages, as server-side apply records it.", {
        "manager": S("Name of the workflow managing these fields."),
        "operation": S("Apply or Update: the kind of request that last changed these fields."),
        "apiVersion": S("API version the field set is expressed in."),
        "time": TIME("When the entry was last changed."),
        "fieldsType": S("Format of fieldsV1; always FieldsV1."),
        "fieldsV1": ANY("The owned fields, as a trie of f:<name>, k:<keys>, v:<value> and i:<index> entries."),
        "subresource": S("The subresource the request was sent to, if any."),
    }))

define("meta.v1.ObjectMeta", O(
    "Metadata every persisted object has: name, namespace, labels, annotations, ownership and bookkeeping "
    "set by the server.", {
        "name": S("Unique name of the object within its namespace (or the cluster). Required on create "
                  "unless generateName is set; cannot be changed."),
        "generateName": S("Prefix from which the server generates a unique name when name is empty."),
        "namespace": S("Namespace the object lives in; empty for cluster-scoped objects."),
        "labels": SMAP("Key/value pairs used to select and group objects."),
        "annotations": SMAP("Key/value pairs for tools and controllers; not used for selection."),
        "uid": S("Server-assigned unique identity of this incarnation of the object. Read-only."),
        "resourceVersion": S("Opaque version for optimistic concurrency and watches. Read-only."),
        "generation": I64("Sequence number of spec changes. Read-only."),
        "creationTimestamp": TIME("When the object was created. Read-only."),
        "deletionTimestamp": TIME("When the object will be (or was asked to be) deleted. Read-only."),
        "deletionGracePeriodSeconds": I64("Seconds allowed for graceful termination. Read-only."),
        "finalizers": SET(S(), "Entries that must be removed before the object is deleted."),
        "ownerReferences": L(R("meta.v1.OwnerReference"), "Objects this one depends on.", keys=("uid",),
                             patch_key="uid", patch_strategy="merge"),
        "managedFields": L(R("meta.v1.ManagedFieldsEntry"), "Which field manager owns which fields."),
        "selfLink": S("Deprecated; not set."),
    }))

define("meta.v1.ListMeta", O("Metadata of a list response.", {
    "resourceVersion": S("Version of the collection the list was read at."),
    "continue": S("Token to fetch the next page of a limited list."),
    "remainingItemCount": I64("Items left after this page, when known."),
    "selfLink": S("Deprecated; not set."),
}))

define("meta.v1.LabelSelector", O("Selects objects by their labels.", {
    "matchLabels": SMAP("Labels an object must have, all of them."),
    "matchExpressions": L(O("A label requirement.", {
        "key": S("The label key."),
        "operator": S("In, NotIn, Exists or DoesNotExist."),
        "values": L(S(), "Values for In and NotIn."),
    }, required=("key", "operator")), "Requirements an object must meet, all of them."),
}))

# ----------------------------------------------------------------------------------------------
# core/v1: Namespace, Service, PersistentVolumeClaim, Secret, ConfigMap, Event, Pod, Node

define("core.v1.Namespace", O("A scope for names; most objects live in one.", {
    "apiVersion": S("Version of the schema this object follows."),
    "kind": S("Kind of the object."),
    "metadata": R("meta.v1.ObjectMeta", "Standard object metadata."),
    "spec": O("What the namespace should be.", {
        "finalizers": L(S(), "Finalizers that must run before the namespace is removed."),
    }),
    "status": O("Observed state of the namespace.", {
        "phase": S("Active or Terminating.", enum=("Active", "Terminating")),
        "conditions": L(ANY("A namespace condition."), "Latest observations of the namespace's state."),
    }),
}))

define("core.v1.ServicePort", O("A port the Service exposes.", {
    "name": S("Name of the port; required when the Service has more than one."),
    "protocol": S("TCP, UDP or SCTP. Defaults to TCP.", enum=("SCTP", "TCP", "UDP")),
    "appProtocol": S("Application protocol hint (e.g. http, kubernetes.io/h2c)."),
    "port": I("Port number the Service listens on."),
    "targetPort": IOS("Port number or name on the selected pods (or VMs) that traffic goes to; defaults to "
                      "port."),
    "nodePort": I("Port on every node, for NodePort and LoadBalancer Services; allocated when not given."),
}, required=("port",)))

define("core.v1.ServiceSpec", O("How a Service routes traffic.", {
    "ports": L(R("core.v1.ServicePort"), "Ports the Service exposes.", keys=("port", "protocol"),
               patch_key="port", patch_strategy="merge"),
    "selector": SMAP("Traffic goes to pods (and VMs' virt-launcher pods) whose labels match."),
    "clusterIP": S("Virtual IP inside the cluster; allocated unless set, \"None\" for a headless Service."),
    "clusterIPs": L(S(), "The cluster IPs, one per IP family."),
    "type": S("ClusterIP, NodePort, LoadBalancer or ExternalName. Defaults to ClusterIP.",
              enum=("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")),
    "externalIPs": L(S(), "Extra IPs nodes accept traffic for."),
    "sessionAffinity": S("ClientIP or None.", enum=("ClientIP", "None")),
    "sessionAffinityConfig": ANY("Session affinity settings."),
    "loadBalancerIP": S("Deprecated: the IP to ask the load balancer for."),
    "loadBalancerSourceRanges": L(S(), "Client CIDRs allowed through the load balancer."),
    "loadBalancerClass": S("Which load balancer implementation handles the Service."),
    "externalName": S("DNS name an ExternalName Service aliases."),
    "externalTrafficPolicy": S("Cluster or Local.", enum=("Cluster", "Local")),
    "internalTrafficPolicy": S("Cluster or Local.", enum=("Cluster", "Local")),
    "healthCheckNodePort": I("Node port for load-balancer health checks."),
    "publishNotReadyAddresses": B("Publish endpoints of pods that are not ready."),
    "ipFamilies": L(S(), "IP families (IPv4, IPv6) of the Service."),
    "ipFamilyPolicy": S("SingleStack, PreferDualStack or RequireDualStack."),
    "allocateLoadBalancerNodePorts": B("Allocate node ports for LoadBalancer Services."),
    "trafficDistribution": S("Preference for routing traffic to nearby endpoints."),
}))

define("core.v1.Service", O("A stable address and port set in front of pods or virtual machines.", {
    "apiVersion": S("Version of the schema this object follows."),
    "kind": S("Kind of the object."),
    "metadata": R("meta.v1.ObjectMeta", "Standard object metadata."),
    "spec": R("core.v1.ServiceSpec", "What the Service should be."),
    "status": O("Observed state of the Service.", {
        "loadBalancer": ANY("The load balancer's ingress points."),
        "conditions": L(ANY("A service condition."), "Current conditions."),
    }),
}))

_RESOURCES = O("Compute resources.", {
    "requests": M(Q(), "Minimum amounts requested (e.g. storage: 10Gi)."),
    "limits": M(Q(), "Maximum amounts allowed."),
})

define("core.v1.PersistentVolumeClaimSpec", O("What storage the claim asks for.", {
    "accessModes": L(S(), "How the volume may be mounted: ReadWriteOnce, ReadOnlyMany, ReadWriteMany, "
                          "ReadWriteOncePod."),
    "resources": described(_RESOURCES, "Storage size requested (requests.storage)."),
    "storageClassName": S("Storage class to provision from."),
    "volumeMode": S("Filesystem or Block.", enum=("Block", "Filesystem")),
    "volumeName": S("The volume bound to this claim."),
    "selector": R("meta.v1.LabelSelector", "Restricts binding to volumes with these labels."),
    "dataSource": ANY("An object to populate the volume from (a snapshot or another claim)."),
    "dataSourceRef": ANY("An object to populate the volume from, any kind a populator supports."),
    "volumeAttributesClassName": S("VolumeAttributesClass of the claim."),
}))

define("core.v1.PersistentVolumeClaim", O("A request for storage, bound to a persistent volume.", {
    "apiVersion": S("Version of the schema this object follows."),
    "kind": S("Kind of the object."),
    "metadata": R("meta.v1.ObjectMeta", "Standard object metadata."),
    "spec": R("core.v1.PersistentVolumeClaimSpec", "What storage is requested."),
    "status": O("Observed state of the claim.", {
        "phase": S("Pending, Bound or Lost.", enum=("Bound", "Lost", "Pending")),
        "accessModes": L(S(), "Access modes of the bound volume."),
        "capacity": M(Q(), "Size of the bound volume."),
        "conditions": L(ANY("A claim condition."), "Current conditions."),
    }, open=True),
}))

define("core.v1.Secret", O("Holds sensitive data such as passwords, tokens or keys.", {
    "apiVersion": S("Version of the schema this object follows."),
    "kind": S("Kind of the object."),
    "metadata": R("meta.v1.ObjectMeta", "Standard object metadata."),
    "data": M(S(fmt="byte"), "The secret's values, base64-encoded."),
    "stringData": SMAP("Write-only convenience: plain-text values, merged into data on write."),
    "type": S("How the data is used (Opaque, kubernetes.io/ssh-auth, ...)."),
    "immutable": B("When true, data cannot be changed."),
}))

define("core.v1.ConfigMap", O("Holds non-confidential configuration as key/value pairs.", {
    "apiVersion": S("Version of the schema this object follows."),
    "kind": S("Kind of the object."),
    "metadata": R("meta.v1.ObjectMeta", "Standard object metadata."),
    "data": SMAP("The configuration values (UTF-8 text)."),
    "binaryData": M(S(fmt="byte"), "Binary values, base64-encoded."),
    "immutable": B("When true, data cannot be changed."),
}))

define("core.v1.ObjectReference", O("Points to an object.", {
    "apiVersion": S("API version of the referent."),
    "kind": S("Kind of the referent."),
    "name": S("Name of the referent."),
    "namespace": S("Namespace of the referent."),
    "uid": S("UID of the referent."),
    "resourceVersion": S("Version of the referent the reference was made at."),
    "fieldPath": S("A part of the referent (e.g. a container)."),
}))

define("core.v1.Event", O("A report of something that happened to an object.", {
    "apiVersion": S("Version of the schema this object follows."),
    "kind": S("Kind of the object."),
    "metadata": R("meta.v1.ObjectMeta", "Standard object metadata."),
    "involvedObject": R("core.v1.ObjectReference", "The object this event is about."),
    "reason": S("Short, machine-readable reason (UpperCamelCase)."),
    "message": S("Human-readable description."),
    "type": S("Normal or Warning."),
    "count": I("How many times it happened."),
    "source": O("The component that reported the event.", {"component": S("Component name."),
                                                            "host": S("Node name.")}),
    "firstTimestamp": TIME("When it first happened."),
    "lastTimestamp": TIME("When it last happened."),
    "eventTime": S("When it happened, with microseconds.", fmt="date-time"),
    "series": ANY("Data about a series of similar events."),
    "action": S("What was done (or failed)."),
    "related": R("core.v1.ObjectReference", "A second object involved."),
    "reportingComponent": S("Controller that emitted the event."),
    "reportingInstance": S("Instance of the controller that emitted the event."),
}, required=("metadata", "involvedObject")))

define("core.v1.ContainerPort", O("A port a container listens on.", {
    "name": S("Name of the port."),
    "containerPort": I("Port number."),
    "protocol": S("TCP, UDP or SCTP."),
    "hostPort": I("Port on the node."),
    "hostIP": S("Node IP to bind the host port to."),
}, required=("containerPort",)))

define("core.v1.Container", O("A container in a pod.", {
    "name": S("Name of the container, unique in the pod."),
    "image": S("Container image."),
    "command": L(S(), "Entrypoint array."),
    "args": L(S(), "Arguments to the entrypoint."),
    "ports": L(R("core.v1.ContainerPort"), "Ports the container exposes.", keys=("containerPort", "protocol"),
               patch_key="containerPort", patch_strategy="merge"),
    "env": L(ANY("An environment variable."), "Environment variables.", keys=("name",), patch_key="name",
             patch_strategy="merge"),
    "resources": described(_RESOURCES, "Compute resources of the container."),
    "imagePullPolicy": S("Always, Never or IfNotPresent."),
}, required=("name",), open=True))

define("core.v1.PodSpec", O("What a pod runs and where.", {
    "containers": L(R("core.v1.Container"), "The containers of the pod.", keys=("name",), patch_key="name",
                    patch_strategy="merge"),
    "initContainers": L(R("core.v1.Container"), "Containers run to completion before the others.",
                        keys=("name",), patch_key="name", patch_strategy="merge"),
    "nodeName": S("The node the pod is bound to."),
    "nodeSelector": SMAP("Labels a node must have to run the pod."),
    "hostname": S("Hostname of the pod."),
    "subdomain": S("Subdomain of the pod."),
    "restartPolicy": S("Always, OnFailure or Never."),
    "terminationGracePeriodSeconds": I64("Seconds given to terminate gracefully."),
    "readinessGates": L(ANY("A condition type that must be True for readiness."), "Extra readiness conditions."),
    "volumes": L(ANY("A volume."), "Volumes the containers can mount.", keys=("name",), patch_key="name",
                 patch_strategy="merge,retainKeys"),
    "serviceAccountName": S("Service account the pod runs as."),
}, open=True))

define("core.v1.Pod", O("A group of containers scheduled together on a node; every running VirtualMachineInstance "
                        "has one (virt-launcher).", {
    "apiVersion": S("Version of the schema this object follows."),
    "kind": S("Kind of the object."),
    "metadata": R("meta.v1.ObjectMeta", "Standard object metadata."),
    "spec": R("core.v1.PodSpec", "What the pod should run."),
    "status": O("Observed state of the pod.", {
        "phase": S("Pending, Running, Succeeded, Failed or Unknown."),
        "podIP": S("IP address of the pod."),
        "podIPs": L(ANY("An IP of the pod."), "IP addresses of the pod."),
        "hostIP": S("IP address of the node."),
        "startTime": TIME("When the kubelet started the pod."),
        "conditions": L(ANY("A pod condition."), "Current conditions.", keys=("type",), patch_key="type",
                        patch_strategy="merge"),
        "containerStatuses": L(ANY("State of one container."), "State of each container."),
        "qosClass": S("Quality of service class."),
    }, open=True),
}))

define("core.v1.Node", O("A worker machine of the cluster; VirtualMachineInstances run on nodes.", {
    "apiVersion": S("Version of the schema this object follows."),
    "kind": S("Kind of the object."),
    "metadata": R("meta.v1.ObjectMeta", "Standard object metadata."),
    "spec": O("What the node should be.", {
        "podCIDR": S("Pod IP range of the node."),
        "podCIDRs": L(S(), "Pod IP ranges of the node."),
        "unschedulable": B("When true, no new pods (or VMIs) are placed on the node."),
        "taints": L(ANY("A taint."), "Taints repelling pods that do not tolerate them."),
        "providerID": S("The node's ID at the infrastructure provider."),
    }, open=True),
    "status": O("Observed state of the node.", {
        "addresses": L(ANY("An address of the node."), "Addresses of the node.", keys=("type",),
                       patch_key="type", patch_strategy="merge"),
        "allocatable": M(Q(), "Resources available to pods."),
        "capacity": M(Q(), "Total resources of the node."),
        "conditions": L(ANY("A node condition."), "Current conditions (Ready, MemoryPressure, ...).",
                        keys=("type",), patch_key="type", patch_strategy="merge"),
        "nodeInfo": ANY("Versions of the node's kubelet, kernel, OS and container runtime."),
    }, open=True),
}))

