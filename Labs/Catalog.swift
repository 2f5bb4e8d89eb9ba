import LabKit

/// The guided labs, in the order a learner takes them (`lab next` goes through them in this order): the
/// namespaces first, then how to get into a container and how it ends, the filesystem and images, the
/// network, and the limits of cgroups and capabilities.
public let guidedLabs: [Lab] = [
    pidNamespaces, utsIpcNet, mountNamespaces, userNamespaces,
    enterAContainer, pid1AndStop,
    commitLab, overlay, imageAnatomy, loadVsImport, buildLayers, registryLab, engineSocket,
    containerNetwork, cgroupsLab, capabilitiesLab,
]
