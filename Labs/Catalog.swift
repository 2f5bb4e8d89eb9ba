import LabKit

/// The guided labs, in the order a learner takes them (`lab next` goes through them in this order).
public let guidedLabs: [Lab] = [pidNamespaces, utsIpcNet, mountNamespaces, cgroupsLab, capabilitiesLab, userNamespaces]
