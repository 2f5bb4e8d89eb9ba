import Testing
@testable import Engine

// The engine's JSON model, which prints like Go's encoding/json (its files, and `box inspect`).
@Suite("JSONValue")
struct JSONValueTests {
    @Test("Pretty printing matches docker inspect's layout")
    func prettyPrinting() {
        let value: JSONValue = [
            "Id": "abc",
            "State": ["Running": true, "Pid": 42, "Error": ""],
            "Args": ["sh", "-c"],
            "Labels": .object([]),
            "Mounts": [],
            "Ratio": 0.5,
            "Gone": .null,
        ]
        #expect(value.prettyPrinted() == """
            {
                "Id": "abc",
                "State": {
                    "Running": true,
                    "Pid": 42,
                    "Error": ""
                },
                "Args": [
                    "sh",
                    "-c"
                ],
                "Labels": {},
                "Mounts": [],
                "Ratio": 0.5,
                "Gone": null
            }
            """)
    }

    @Test("Pretty printing honours a custom indent")
    func customIndent() {
        let value: JSONValue = ["a": [1, 2]]
        #expect(value.prettyPrinted(indent: "\t") == "{\n\t\"a\": [\n\t\t1,\n\t\t2\n\t]\n}")
    }

    @Test("Compact printing has no whitespace at all")
    func compactPrinting() {
        let value: JSONValue = ["a": [1, true, .null], "b": ["c": "d"], "e": [], "f": .object([])]
        #expect(value.compact() == #"{"a":[1,true,null],"b":{"c":"d"},"e":[],"f":{}}"#)
    }

    @Test("Strings are escaped like Go's encoder, including <, > and &")
    func goEscapes() {
        let value = JSONValue.string("q\"b\\n\n t\t r\r \u{01}\u{08}\u{0C}\u{1F} <a&b> \u{2028} é 😀")
        #expect(value.compact() == #""q\"b\\n\n t\t r\r \u0001\b\f\u001f \u003ca\u0026b\u003e \u2028 é 😀""#)
    }

    @Test("HTML escaping can be turned off, as docker's daemon does")
    func noHTMLEscaping() {
        let value: JSONValue = ["cmd": "a<b && c>d"]
        #expect(value.compact(escapeHTML: false) == #"{"cmd":"a<b && c>d"}"#)
        #expect(value.prettyPrinted(escapeHTML: false) == "{\n    \"cmd\": \"a<b && c>d\"\n}")
    }

    @Test("Doubles print like Go's encoder", arguments: [
        (1024.0, "1024"), (1.5, "1.5"), (-0.25, "-0.25"), (0.1, "0.1"),
        (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.5e300, "1.5e+300"),
        (0.000001, "0.000001"), (1e-7, "1e-7"), (2.5e-10, "2.5e-10"), (123456789.125, "123456789.125"),
    ])
    func doubles(value: Double, expected: String) {
        #expect(JSONValue.double(value).compact() == expected)
    }

    @Test("Parsing then printing compactly reproduces the input")
    func roundTrip() throws {
        let text = #"{"b":[1,-2,3.25,1e+21,true,false,null],"a":{"x":"\u003cé\n😀\"","":[]},"c":{}}"#
        #expect(try JSONValue.parse(text).compact() == text)
    }

    @Test("Parsing keeps key order and tells integers from doubles")
    func parseTypes() throws {
        let value = try JSONValue.parse(#" {"z": 1, "a": 2.5, "m": 9223372036854775807, "big": 9223372036854775808, "e": 1E2} "#)
        #expect(value == .object([
            ("z", .int(1)), ("a", .double(2.5)), ("m", .int(Int64.max)),
            ("big", .double(9223372036854775808)), ("e", .double(100)),
        ]))
    }

    @Test("Unicode escapes and surrogate pairs decode")
    func unicodeEscapes() throws {
        #expect(try JSONValue.parse(#""\u00e9\ud83d\ude00\/\t""#) == .string("é😀/\t"))
    }

    @Test("Parse errors give the byte offset and what was expected", arguments: [
        (#"{"a": [1, 2"#, 11, "',' or ']'", "end of input"),          // truncated
        ("[1, 2,]", 6, "value", "']'"),                                 // trailing comma in an array
        (#"{"a": 1,}"#, 8, "string key", "'}'"),                        // trailing comma in an object
        (#""bad \x escape""#, 6, #"escape character (one of " \ / b f n r t u)"#, "'x'"),
        (#""\ud83d""#, 7, #"'\u' low surrogate after high surrogate"#, "'\"'"),
        ("[1] 2", 4, "end of input", "'2'"),
        ("", 0, "value", "end of input"),
        ("tru", 3, "'true'", "end of input"),
        ("-", 1, "digit", "end of input"),
    ])
    func parseErrors(input: String, offset: Int, expected: String, found: String) {
        let error = #expect(throws: JSONParseError.self) { try JSONValue.parse(input) }
        #expect(error?.offset == offset)
        #expect(error?.expected == expected)
        #expect(error?.found == found)
    }

    @Test("A parse error describes itself in one line")
    func parseErrorDescription() {
        let error = #expect(throws: JSONParseError.self) { try JSONValue.parse("[1, 2,]") }
        #expect(error?.description == "invalid JSON at byte 6: expected value, found ']'")
    }

    @Test("Absurdly deep nesting is refused instead of overflowing the stack")
    func nestingLimit() {
        let error = #expect(throws: JSONParseError.self) {
            try JSONValue.parse(String(repeating: "[", count: 600))
        }
        #expect(error?.offset == 512)
    }

    @Test("Equality is structural and respects key order")
    func equality() {
        #expect(JSONValue(dictionaryLiteral: ("a", 1), ("b", 2)) == ["a": 1, "b": 2])
        #expect(JSONValue(dictionaryLiteral: ("a", 1), ("b", 2)) != ["b": 2, "a": 1])
        #expect(JSONValue.int(1) != .double(1))
        #expect(JSONValue.array([.null]) == [.null])
    }

    @Test("Subscripts reach into objects and arrays")
    func subscripts() {
        let sample: JSONValue = ["Id": "4f2a9c", "Args": ["-g", "daemon off;"], "State": ["Status": "running", "Pid": 4242]]
        #expect(sample["State"]?["Pid"] == 4242)
        #expect(sample["Args"]?[1] == "daemon off;")
        #expect(sample["Nope"] == nil)
        #expect(sample["Args"]?[2] == nil)
        #expect(sample["Args"]?["key"] == nil)
    }
}
