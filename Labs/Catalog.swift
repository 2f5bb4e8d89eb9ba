import LabKit

/// The guided labs, in the order a learner takes them (`lab next` goes through them in this order): the
/// namespaces first, then the filesystem and images, the network, and the limits of cgroups and capabilities.
public let guidedLabs: [Lab] = [
    pidNamespaces, utsIpcNet, mountNamespaces, userNamespaces,
    commitLab, overlay, imageAnatomy, loadVsImport, buildLayers,
    containerNetwork, cgroupsLab, capabilitiesLab,
    enterAContainer, pid1AndStop,
]
