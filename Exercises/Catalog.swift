import LabKit

/// The unguided exercises, in the order `lab list` shows them.
public let exercises: [Lab] = [memoryHog, portOwner, cpuHog, nsKeeper, restoreFile]
