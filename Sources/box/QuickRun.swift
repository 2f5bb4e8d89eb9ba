import ArgumentParser
import Engine

/// `box run` with only the flags most runs use (`--rm`, `-d`, `-i`, `-t` and their clusters such as `-it`,
/// `--name`, `--network`), read without ArgumentParser: its reflection over run's thirty options was 3-4 ms of
/// an 18 ms start (perf trace: the runtime is up at 3.2 ms, Run.run began at 6.9). Anything else (another flag,
/// a repeated one, `--help`, `--`, a value that looks like a flag) gives nil, and ArgumentParser reads the whole
/// line as before, so help, errors and every other flag stay its own. A test holds the two to the same result.
struct QuickRun: Equatable {
    var detach = false
    var options: CreateOptions

    /// `arguments` as the process got them (`box run ...`).
    static func parse(_ arguments: [String]) -> QuickRun? {
        guard arguments.count > 2, arguments[1] == "run" else { return nil }
        // ArgumentParser rejects some words anywhere before a `--`, the command's included ("---", "-=x"):
        // those lines get its error, as before.
        for arg in arguments.dropFirst(2).prefix(while: { $0 != "--" }) where arg.hasPrefix("-") {
            let dashes = arg.prefix(while: { $0 == "-" }).count
            if dashes >= 3 || (dashes == 1 && arg.dropFirst().hasPrefix("=")) { return nil }
        }
        var detach: Bool?, rm: Bool?, interactive: Bool?, tty: Bool?
        var name: String?, network: String?
        var i = 2
        func set(_ flag: inout Bool?) -> Bool {
            if flag != nil { return false }
            flag = true
            return true
        }
        func value(_ arg: String, _ long: String, into slot: inout String?) -> Bool? {
            if arg == long {
                guard slot == nil, i + 1 < arguments.count, !arguments[i + 1].hasPrefix("-") else { return false }
                i += 1
                slot = arguments[i]
                return true
            }
            if arg.hasPrefix(long + "=") {
                let v = String(arg.dropFirst(long.count + 1))
                guard slot == nil, !v.isEmpty, !v.hasPrefix("-") else { return false }
                slot = v
                return true
            }
            return nil  // not this option
        }
        while i < arguments.count, arguments[i].hasPrefix("-") {
            let arg = arguments[i]
            switch arg {
            case "--rm": guard set(&rm) else { return nil }
            case "--detach": guard set(&detach) else { return nil }
            case "--interactive": guard set(&interactive) else { return nil }
            case "--tty": guard set(&tty) else { return nil }
            default:
                if let ok = value(arg, "--name", into: &name) { guard ok else { return nil }; break }
                if let ok = value(arg, "--network", into: &network) { guard ok else { return nil }; break }
                // A cluster of -d, -i and -t ("-it", "-dit"), each at most once.
                let letters = arg.dropFirst()
                guard !arg.hasPrefix("--"), !letters.isEmpty else { return nil }
                for letter in letters {
                    switch letter {
                    case "d": guard set(&detach) else { return nil }
                    case "i": guard set(&interactive) else { return nil }
                    case "t": guard set(&tty) else { return nil }
                    default: return nil
                    }
                }
            }
            i += 1
        }
        guard i < arguments.count, !arguments[i].isEmpty else { return nil }
        var o = CreateOptions(image: arguments[i])
        o.command = Array(arguments[(i + 1)...])
        o.name = name
        if let network { o.network = network }
        o.autoRemove = rm ?? false
        o.interactive = interactive ?? false
        o.tty = tty ?? false
        return QuickRun(detach: detach ?? false, options: o)
    }

    func run() throws {
        try Run.run(options, detach: detach)
    }
}
