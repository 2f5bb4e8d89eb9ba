/// Random container names in docker's style ("focused_turing"): easier to type than an id when learners
/// switch terminals.
enum Names {
    static let adjectives = [
        "admiring", "brave", "busy", "clever", "cool", "dazzling", "eager", "elegant", "epic", "festive",
        "focused", "gallant", "gifted", "happy", "hopeful", "jolly", "keen", "kind", "loving", "lucid",
        "modest", "nifty", "optimistic", "peaceful", "quirky", "relaxed", "serene", "sharp", "stoic", "tender",
        "trusting", "vibrant", "wizardly", "youthful", "zealous", "zen",
    ]
    static let surnames = [
        "allen", "babbage", "bell", "borg", "curie", "darwin", "dijkstra", "einstein", "feynman", "franklin",
        "galileo", "goldberg", "hamilton", "hopper", "hypatia", "johnson", "kepler", "knuth", "lamport", "liskov",
        "lovelace", "mccarthy", "meitner", "noether", "pike", "ritchie", "shannon", "thompson", "torvalds", "turing",
        "wilson", "wozniak", "yalow", "zhukovsky",
    ]

    static func random<G: RandomNumberGenerator>(using rng: inout G) -> String {
        "\(adjectives.randomElement(using: &rng)!)_\(surnames.randomElement(using: &rng)!)"
    }

    /// docker's rule for user-chosen names.
    static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.count <= 128 else { return false }
        func alnum(_ c: Unicode.Scalar) -> Bool { c.isASCII && (CharacterSetLite.alnum(c)) }
        return alnum(first) && name.unicodeScalars.allSatisfy { alnum($0) || $0 == "_" || $0 == "." || $0 == "-" }
    }
}

enum CharacterSetLite {
    static func alnum(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
    }
}
